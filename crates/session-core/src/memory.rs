//! An in-process session storage with native expiry.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::{Clock, SessionId, SessionStore, StoreError, StoredEntry, SystemClock};

const SHARDS: usize = 16;
/// Expired entries removed per write, so the cost of expiry is spread over requests and never
/// grows with the number of sessions.
const SWEEP_PER_WRITE: usize = 4;

struct Entry {
    text: Box<str>,
    expires_at: SystemTime,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<SessionId, Entry>,
    /// The same entries ordered by expiry, so expired ones are found without a scan.
    by_expiry: BTreeSet<(SystemTime, SessionId)>,
}

impl Shard {
    fn remove(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.by_expiry.remove(&(entry.expires_at, id.clone()));
        Some(entry)
    }

    /// Removes up to `limit` expired entries (all of them for `usize::MAX`).
    fn sweep(&mut self, now: SystemTime, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            match self.by_expiry.first() {
                Some((expires_at, _)) if *expires_at <= now => {
                    let (_, id) = self.by_expiry.pop_first().expect("first exists");
                    self.entries.remove(&id);
                    removed += 1;
                }
                _ => break,
            }
        }
        removed
    }

    fn set_expiry(&mut self, id: &SessionId, expires_at: SystemTime) {
        if let Some(entry) = self.entries.get_mut(id) {
            self.by_expiry.remove(&(entry.expires_at, id.clone()));
            entry.expires_at = expires_at;
            self.by_expiry.insert((expires_at, id.clone()));
        }
    }
}

/// Sessions in this process's memory, with native expiry.
///
/// For development, tests and single-process deployments: the sessions are lost on restart
/// and are not shared between processes (use a directory or Redis storage for that).
///
/// Entries expire after the time to live given on save: an expired entry is never returned,
/// every write removes a few expired entries, and [`MemoryStore::sweep_expired`] removes all of
/// them (call it from a periodic task if sessions are created in bursts and then go quiet).
/// The store is sharded so concurrent requests rarely wait on each other. Cloning is cheap and
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
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    shards: [Mutex<Shard>; SHARDS],
    hasher: RandomState,
    clock: std::sync::Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_clock(SystemClock)
    }
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
            inner: std::sync::Arc::new(Inner {
                shards: Default::default(),
                hasher: RandomState::new(),
                clock: std::sync::Arc::new(clock),
            }),
        }
    }

    fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    fn shard(&self, id: &SessionId) -> MutexGuard<'_, Shard> {
        let index = (self.inner.hasher.hash_one(id) as usize) % SHARDS;
        // A panic while holding the lock cannot leave a shard half-updated in a way that
        // matters more than losing the store, so keep serving.
        self.inner.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes every expired entry and returns how many there were.
    pub fn sweep_expired(&self) -> usize {
        let now = self.now();
        self.inner
            .shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .sweep(now, usize::MAX)
            })
            .sum()
    }

    /// The number of entries, including expired ones not yet removed.
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entries
                    .len()
            })
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

fn deadline(now: SystemTime, ttl: Duration) -> SystemTime {
    // A TTL too large to represent means "practically never".
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl SessionStore for MemoryStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let now = self.now();
        let mut shard = self.shard(id);
        match shard.entries.get(id) {
            Some(entry) if entry.expires_at > now => Ok(Some(StoredEntry::new(
                entry.text.to_string(),
                Some(entry.expires_at),
            ))),
            Some(_) => {
                shard.remove(id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        let expires_at = deadline(now, ttl);
        let mut shard = self.shard(id);
        shard.sweep(now, SWEEP_PER_WRITE);
        shard.remove(id);
        shard.entries.insert(
            id.clone(),
            Entry {
                text: text.into(),
                expires_at,
            },
        );
        shard.by_expiry.insert((expires_at, id.clone()));
        Ok(())
    }

    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut shard = self.shard(id);
        let current = shard
            .entries
            .get(id)
            .filter(|entry| entry.expires_at > now && &*entry.text == expected);
        if current.is_none() {
            return Ok(false);
        }
        let expires_at = deadline(now, ttl);
        shard.set_expiry(id, expires_at);
        if let Some(entry) = shard.entries.get_mut(id) {
            entry.text = new.into();
        }
        Ok(true)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.shard(id).remove(id);
        Ok(())
    }

    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.now();
        let mut shard = self.shard(id);
        match shard.entries.get(id) {
            Some(entry) if entry.expires_at > now => {
                shard.set_expiry(id, deadline(now, ttl));
                Ok(true)
            }
            Some(_) => {
                shard.remove(id);
                Ok(false)
            }
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

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
    fn entries_expire_and_are_removed() {
        block_on(async {
            let store = MemoryStore::new();
            let short = SessionId::generate();
            let long = SessionId::generate();
            store
                .save(&short, "a", Duration::from_millis(20))
                .await
                .unwrap();
            store
                .save(&long, "b", Duration::from_secs(60))
                .await
                .unwrap();
            assert_eq!(store.load(&short).await.unwrap().as_deref(), Some("a"));
            std::thread::sleep(Duration::from_millis(40));
            assert_eq!(store.load(&short).await.unwrap(), None);
            assert_eq!(store.len(), 1, "the expired entry was removed on read");
            assert_eq!(store.load(&long).await.unwrap().as_deref(), Some("b"));
        });
    }

    #[test]
    fn sweep_removes_only_expired_entries() {
        block_on(async {
            let store = MemoryStore::new();
            for _ in 0..50 {
                store
                    .save(&SessionId::generate(), "x", Duration::from_millis(1))
                    .await
                    .unwrap();
            }
            let kept = SessionId::generate();
            store
                .save(&kept, "k", Duration::from_secs(60))
                .await
                .unwrap();
            std::thread::sleep(Duration::from_millis(10));
            let swept = store.sweep_expired();
            assert!(swept > 0 && swept <= 50);
            assert_eq!(store.len(), 1);
            assert_eq!(store.load(&kept).await.unwrap().as_deref(), Some("k"));
        });
    }

    #[test]
    fn writes_remove_expired_entries_a_few_at_a_time() {
        block_on(async {
            let store = MemoryStore::new();
            for _ in 0..200 {
                store
                    .save(&SessionId::generate(), "x", Duration::from_millis(1))
                    .await
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(10));
            for _ in 0..200 {
                store
                    .save(&SessionId::generate(), "y", Duration::from_secs(60))
                    .await
                    .unwrap();
            }
            // 200 writes over 16 shards sweep up to 800 expired entries: all 200 are gone.
            assert_eq!(store.len(), 200);
        });
    }

    #[test]
    fn touch_extends_without_rewriting() {
        block_on(async {
            let store = MemoryStore::new();
            let id = SessionId::generate();
            assert!(!store.touch(&id, Duration::from_secs(1)).await.unwrap());
            store
                .save(&id, "t", Duration::from_millis(30))
                .await
                .unwrap();
            assert!(store.touch(&id, Duration::from_secs(60)).await.unwrap());
            std::thread::sleep(Duration::from_millis(50));
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
