//! An in-process session storage with native expiry.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Clock, SessionId, SessionStore, StoreError, StoredEntry, SystemClock};

/// Shards: few enough to be a small fixed cost, many enough that a sweep of one is short.
const SHARDS: usize = 4096;
/// Every this many writes, one shard (in turn) is swept of expired entries: the cost of expiry
/// is spread over writes instead of piling up in one request.
const SWEEP_EVERY: usize = 16;

/// The 32 random bytes of a session ID.
type Key = [u8; 32];

/// Session IDs are 256 random bits that only this server generates (client-chosen IDs are
/// never stored), so their first bytes already are a uniform hash: no hashing work, and no
/// way for a client to aim entries at one bucket.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
}

struct Entry {
    text: Box<str>,
    /// Milliseconds since the Unix epoch.
    expires_at: u64,
}

type Shard = HashMap<Key, Entry, BuildHasherDefault<IdHasher>>;

/// Sessions in this process's memory, with native expiry.
///
/// For development, tests and single-process deployments: the sessions are lost on restart
/// and are not shared between processes (use a directory or Redis storage for that).
///
/// Entries expire after the time to live given on save: an expired entry is never returned;
/// every sixteenth write sweeps one of 4096 shards in turn, so expired entries are removed
/// without any single request paying for all of them; [`MemoryStore::sweep_expired`] removes
/// all of them at once. An entry costs its text plus about 100 bytes. Cloning is cheap and
/// shares the sessions.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use session_core::{MemoryStore, SessionId, SessionStore};
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
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose entries expire by `clock` (a [`ManualClock`](crate::ManualClock)
    /// in tests of timeouts).
    pub fn with_clock(clock: impl Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
                writes: AtomicUsize::new(0),
                clock: Arc::new(clock),
            }),
        }
    }

    fn now(&self) -> u64 {
        millis(self.inner.clock.now())
    }

    fn deadline(&self, now: u64, ttl: Duration) -> u64 {
        now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        let index = usize::from(u16::from_le_bytes([key[8], key[9]])) % SHARDS;
        lock(&self.inner.shards[index])
    }

    /// Sweeps the next shard in turn on every sixteenth write.
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
        let expires_at = self.deadline(now, ttl);
        let mut shard = self.shard(&key);
        match shard.get_mut(&key) {
            Some(entry) if entry.expires_at > now => {
                let accepted = change(entry);
                if accepted {
                    entry.expires_at = expires_at;
                }
                accepted
            }
            Some(_) => {
                shard.remove(&key);
                false
            }
            None => false,
        }
    }

    fn sweep_some(&self, now: u64) {
        let writes = self.inner.writes.fetch_add(1, Ordering::Relaxed);
        if writes.is_multiple_of(SWEEP_EVERY) {
            let index = (writes / SWEEP_EVERY) % SHARDS;
            lock(&self.inner.shards[index]).retain(|_, entry| entry.expires_at > now);
        }
    }

    /// Removes every expired entry and returns how many there were.
    pub fn sweep_expired(&self) -> usize {
        let now = self.now();
        self.inner
            .shards
            .iter()
            .map(|shard| {
                let mut shard = lock(shard);
                let before = shard.len();
                shard.retain(|_, entry| entry.expires_at > now);
                before - shard.len()
            })
            .sum()
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
            .finish()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let key = id.to_bytes();
        let now = self.now();
        let mut shard = self.shard(&key);
        match shard.get(&key) {
            Some(entry) if entry.expires_at > now => Ok(Some(StoredEntry::new(
                entry.text.to_string(),
                Some(UNIX_EPOCH + Duration::from_millis(entry.expires_at)),
            ))),
            Some(_) => {
                shard.remove(&key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = id.to_bytes();
        let now = self.now();
        self.sweep_some(now);
        let entry = Entry {
            text: text.into(),
            expires_at: self.deadline(now, ttl),
        };
        self.shard(&key).insert(key, entry);
        Ok(())
    }

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
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::ManualClock;

    #[cfg(feature = "test-util")]
    #[test]
    fn conformance() {
        block_on(crate::test_util::run_conformance_suite(&MemoryStore::new()));
    }

    #[cfg(feature = "test-util")]
    #[test]
    fn concurrent_updates_lose_nothing() {
        block_on(crate::test_util::run_concurrent_update_check(
            &MemoryStore::new(),
            100,
            1,
        ));
        block_on(crate::test_util::run_concurrent_update_check(
            &MemoryStore::new(),
            10,
            20,
        ));
    }

    #[test]
    fn entries_expire_and_are_removed_on_read() {
        block_on(async {
            let clock = ManualClock::starting_now();
            let store = MemoryStore::with_clock(clock.clone());
            let short = SessionId::generate();
            let long = SessionId::generate();
            store
                .save(&short, "a", Duration::from_secs(20))
                .await
                .unwrap();
            store
                .save(&long, "b", Duration::from_secs(60))
                .await
                .unwrap();
            assert_eq!(store.load(&short).await.unwrap().as_deref(), Some("a"));
            clock.advance(Duration::from_secs(40));
            assert_eq!(store.load(&short).await.unwrap(), None);
            assert_eq!(store.len(), 1, "the expired entry was removed on read");
            assert_eq!(store.load(&long).await.unwrap().as_deref(), Some("b"));
        });
    }

    #[test]
    fn sweep_removes_only_expired_entries() {
        block_on(async {
            let clock = ManualClock::starting_now();
            let store = MemoryStore::with_clock(clock.clone());
            for _ in 0..50 {
                store
                    .save(&SessionId::generate(), "x", Duration::from_secs(1))
                    .await
                    .unwrap();
            }
            let kept = SessionId::generate();
            store
                .save(&kept, "k", Duration::from_secs(60))
                .await
                .unwrap();
            clock.advance(Duration::from_secs(10));
            assert_eq!(store.sweep_expired(), 50);
            assert_eq!(store.len(), 1);
            assert_eq!(store.load(&kept).await.unwrap().as_deref(), Some("k"));
        });
    }

    #[test]
    fn writes_sweep_expired_entries_shard_by_shard() {
        block_on(async {
            let clock = ManualClock::starting_now();
            let store = MemoryStore::with_clock(clock.clone());
            for _ in 0..1000 {
                store
                    .save(&SessionId::generate(), "x", Duration::from_secs(1))
                    .await
                    .unwrap();
            }
            clock.advance(Duration::from_secs(10));
            // One full turn over the shards: every shard swept once.
            for _ in 0..SHARDS * SWEEP_EVERY {
                store
                    .save(&SessionId::generate(), "y", Duration::from_secs(60))
                    .await
                    .unwrap();
            }
            assert_eq!(
                store.len(),
                SHARDS * SWEEP_EVERY,
                "all 1000 expired entries are gone"
            );
        });
    }

    #[test]
    fn touch_extends_without_rewriting() {
        block_on(async {
            let clock = ManualClock::starting_now();
            let store = MemoryStore::with_clock(clock.clone());
            let id = SessionId::generate();
            assert!(!store.touch(&id, Duration::from_secs(1)).await.unwrap());
            store.save(&id, "t", Duration::from_secs(30)).await.unwrap();
            assert!(store.touch(&id, Duration::from_secs(60)).await.unwrap());
            clock.advance(Duration::from_secs(50));
            assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("t"));
            assert_eq!(store.sweep_expired(), 0);
        });
    }

    #[test]
    fn huge_ttl_does_not_overflow() {
        block_on(async {
            let store = MemoryStore::new();
            let id = SessionId::generate();
            store.save(&id, "t", Duration::MAX).await.unwrap();
            assert!(store.load(&id).await.unwrap().is_some());
        });
    }
}
