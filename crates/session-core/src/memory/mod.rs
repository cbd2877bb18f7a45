//! An in-process session storage with native expiry.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use self::shard::{Entry, Key, Shard};
use crate::{
    Clock, SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry, SystemClock,
};

mod shard;

/// Shards of an uncapped store: few enough to be a small fixed cost, many enough that a sweep
/// of one is short. A capped store has one, whose expiry index makes eviction exact.
const SHARDS: usize = 4096;
/// Every this many writes, one shard (in turn) is swept of expired entries: the cost of expiry
/// is spread over writes instead of piling up in one request.
const SWEEP_EVERY: usize = 16;

/// Sessions in this process's memory, with native expiry and an optional capacity.
///
/// For development, tests and single-process deployments: the sessions are lost on restart
/// and are not shared between processes (use a directory or Redis storage for that).
///
/// Entries expire after the time to live given on save: an expired entry is never returned;
/// every sixteenth write sweeps one shard in turn, so expired entries are removed without any
/// single request paying for all of them; [`MemoryStore::sweep_expired`] removes all of them
/// at once. Cloning is cheap and shares the sessions.
///
/// # Bounded or not
///
/// [`MemoryStore::new`] is unbounded: every new session, including every anonymous visitor
/// whose request writes one, stays until it expires, so a flood of requests grows the
/// process without limit. [`MemoryStore::with_capacity`] never holds more than its capacity
/// and makes room for a new session by **evicting the one that expires soonest** (see there
/// for why). Use it whenever the server is reachable by clients you do not control.
///
/// # Memory per session
///
/// Measured with `cargo run --release -p session-core --example memory_footprint`: the growth
/// of the process's resident memory for 100,000 sessions whose value is 100 bytes (168 bytes
/// stored with the middleware's record header), Linux x86-64, glibc: **275 bytes per
/// session** unbounded and **330 bytes** with a capacity (the eviction order: 40 bytes per
/// entry plus its B-tree nodes); for 1,000,000 (`SESSIONS=1000000`), 296 and 375. So a
/// capacity of 100,000 such sessions bounds the store at about 33 MB; larger values add
/// their length.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # use session_core::{MemoryStore, SessionId, SessionStore};
///
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new();
/// let id = SessionId::generate();
/// store.save(&id, r#"{"cart":[1]}"#, Duration::from_secs(60)).await?;
/// assert_eq!(store.load(&id).await?.as_deref(), Some(r#"{"cart":[1]}"#));
/// store.delete(&id).await?;
/// assert_eq!(store.load(&id).await?, None);
/// # Ok::<(), session_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    capacity: Option<NonZeroUsize>,
    writes: AtomicUsize,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_clock(SystemClock)
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding the lock cannot leave a shard half-updated in a way that matters
    // more than losing the store, so keep serving.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty, unbounded store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty, unbounded store whose entries expire by `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests of timeouts).
    pub fn with_clock(clock: impl Clock) -> Self {
        Self::build((0..SHARDS).map(|_| Mutex::default()).collect(), None, clock)
    }

    /// An empty store that never holds more than `capacity` sessions.
    ///
    /// Saving a new session into a full store evicts the session that **expires soonest**
    /// (expired entries not yet swept go first, since they expire soonest of all; of
    /// sessions expiring in the same millisecond, the one that got its expiry first). That
    /// policy rather than least-recently-used, because:
    ///
    /// - it never evicts a session with more life left before one with less: a fresh login
    ///   (a full idle window ahead) outlives a session idle for most of its window, and
    ///   under one idle timeout "expires soonest" *is* "used least recently" (up to the
    ///   quarter of the window within which the middleware does not refresh expiry);
    /// - it needs no bookkeeping on reads: a `load` stays a lookup, where LRU would reorder
    ///   a list on every request;
    /// - an index ordered by expiry also finds expired entries without a scan, so eviction
    ///   and sweeping are O(log n).
    ///
    /// All entries of a capped store sit under one lock (the index is global, so eviction
    /// is exact); each operation holds it for a hash lookup and at most a few B-tree steps.
    ///
    /// An evicted session is gone as if it had expired: its next request has no session,
    /// and a write to it through [`replace`](SessionStore::replace),
    /// [`compare_and_swap`](SessionStore::compare_and_swap) or
    /// [`touch`](SessionStore::touch) answers `false`, which the middleware treats as a
    /// logout (the cookie is removed); it is never brought back. The new session is always
    /// stored. A capacity bounds memory; it does not stop a flood from evicting real
    /// users' sessions: rate-limit anonymous session creation in front of it.
    ///
    /// With periodic ID rotation, the forward entry an old ID leaves for the grace window
    /// expires within seconds, so a full store evicts it first: a request still carrying the
    /// old ID then has no session, as after the grace window. The session itself, under its
    /// new ID, is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// # use session_core::{MemoryStore, SessionId, SessionStore};
    ///
    /// # futures::executor::block_on(async {
    /// let store = MemoryStore::with_capacity(NonZeroUsize::new(2).unwrap());
    /// let (soon, later, newest) = (SessionId::generate(), SessionId::generate(), SessionId::generate());
    /// store.save(&soon, "a", Duration::from_secs(60)).await?;
    /// store.save(&later, "b", Duration::from_secs(3600)).await?;
    /// store.save(&newest, "c", Duration::from_secs(3600)).await?;
    /// assert_eq!(store.len(), 2);
    /// assert_eq!(store.load(&soon).await?, None, "evicted: it expired soonest");
    /// assert!(!store.replace(&soon, "a2", Duration::from_secs(60)).await?, "and stays gone");
    /// assert!(store.load(&later).await?.is_some());
    /// # Ok::<(), session_core::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub fn with_capacity(capacity: NonZeroUsize) -> Self {
        Self::with_capacity_and_clock(capacity, SystemClock)
    }

    /// [`MemoryStore::with_capacity`] with entries expiring by `clock`.
    pub fn with_capacity_and_clock(capacity: NonZeroUsize, clock: impl Clock) -> Self {
        let shard = Mutex::new(Shard::capped(capacity.get()));
        Self::build(Box::new([shard]), Some(capacity), clock)
    }

    fn build(
        shards: Box<[Mutex<Shard>]>,
        capacity: Option<NonZeroUsize>,
        clock: impl Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards,
                capacity,
                writes: AtomicUsize::new(0),
                clock: Arc::new(clock),
            }),
        }
    }

    /// The most sessions this store holds, or `None` when it is unbounded.
    pub fn capacity(&self) -> Option<NonZeroUsize> {
        self.inner.capacity
    }

    fn now(&self) -> u64 {
        millis(self.inner.clock.now())
    }

    fn deadline(&self, now: u64, ttl: Duration) -> u64 {
        now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        let shards = &self.inner.shards;
        let index = usize::from(u16::from_le_bytes([key[8], key[9]])) % shards.len();
        lock(&shards[index])
    }

    /// Runs `change` on the live entry under `id` and, when it accepts the entry, gives the
    /// entry `ttl` from now; tells whether it did. An expired entry is removed instead.
    fn change_live(
        &self,
        id: &SessionId,
        ttl: Duration,
        change: impl FnOnce(&mut Entry) -> bool,
    ) -> bool {
        let key = id.to_bytes();
        let now = self.now();
        let mut shard = self.shard(&key);
        let accepted = shard.live(&key, now).is_some_and(change);
        if accepted {
            shard.set_expiry(&key, self.deadline(now, ttl));
        }
        accepted
    }

    /// Sweeps the next shard in turn on every sixteenth write.
    fn sweep_some(&self, now: u64) {
        let writes = self.inner.writes.fetch_add(1, Ordering::Relaxed);
        if writes.is_multiple_of(SWEEP_EVERY) {
            let shards = &self.inner.shards;
            lock(&shards[(writes / SWEEP_EVERY) % shards.len()]).sweep(now);
        }
    }

    /// Removes every expired entry and returns how many there were.
    pub fn sweep_expired(&self) -> usize {
        let now = self.now();
        let shards = self.inner.shards.iter();
        shards.map(|shard| lock(shard).sweep(now)).sum()
    }

    /// The number of entries, including expired ones not yet removed.
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| lock(shard).len())
            .sum()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.len())
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl SessionStore for MemoryStore {
    /// Every ability: compare-and-swap and touch under the shard lock; entries know their expiry.
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::ALL
    }

    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let key = id.to_bytes();
        let now = self.now();
        let mut shard = self.shard(&key);
        Ok(shard.live(&key, now).map(|entry| {
            StoredEntry::new(
                entry.text.to_string(),
                Some(UNIX_EPOCH + Duration::from_millis(entry.expires_at)),
            )
        }))
    }

    /// Inserts or replaces the entry; in a full capped store, a new entry first evicts the
    /// one that expires soonest ([`MemoryStore::with_capacity`]). Never fails.
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = id.to_bytes();
        let now = self.now();
        self.sweep_some(now);
        let entry = Entry::new(text.into(), self.deadline(now, ttl));
        self.shard(&key).insert(key, entry);
        Ok(())
    }

    /// `false` for an entry that was deleted, expired or evicted.
    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.change_live(id, ttl, |entry| {
            entry.text = text.into();
            true
        }))
    }

    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.change_live(id, ttl, |entry| {
            let matches = &*entry.text == expected;
            if matches {
                entry.text = new.into();
            }
            matches
        }))
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let key = id.to_bytes();
        self.shard(&key).remove(&key);
        Ok(())
    }

    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.change_live(id, ttl, |_| true))
    }
}

#[cfg(test)]
mod tests;
