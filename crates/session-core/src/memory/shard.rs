//! One lock's worth of the memory store: a map of entries and, in a capped store, the same
//! entries ordered by expiry, which is what makes eviction and sweeping O(log n).

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// The 32 random bytes of a session ID.
pub(super) type Key = [u8; 32];

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

pub(super) struct Entry {
    pub(super) text: Box<str>,
    /// Milliseconds since the Unix epoch.
    pub(super) expires_at: u64,
}

/// Entries under one lock. Uncapped shards keep only the map; a capped shard also keeps
/// `(expires_at, key)` for every entry, soonest first, and never holds more than `capacity`.
#[derive(Default)]
pub(super) struct Shard {
    map: HashMap<Key, Entry, BuildHasherDefault<IdHasher>>,
    /// The expiry index and the capacity, in a capped store only.
    cap: Option<(BTreeSet<(u64, Key)>, usize)>,
}

impl Shard {
    /// A shard that holds at most `capacity` entries, evicting the soonest-expiring.
    pub(super) fn capped(capacity: usize) -> Self {
        Self {
            map: HashMap::default(),
            cap: Some((BTreeSet::new(), capacity)),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// The entry under `key` if it is live at `now`; an expired one is removed.
    pub(super) fn live(&mut self, key: &Key, now: u64) -> Option<&mut Entry> {
        let expired = self.map.get(key)?.expires_at <= now;
        if expired {
            self.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    /// Inserts or replaces the entry under `key`. In a capped shard, a new key that would
    /// exceed the capacity first evicts the entry that expires soonest (an expired one, if
    /// any is left): O(log n).
    pub(super) fn insert(&mut self, key: Key, entry: Entry) {
        let new_expiry = entry.expires_at;
        let old = self.map.insert(key, entry);
        let Some((order, capacity)) = &mut self.cap else {
            return;
        };
        match old {
            Some(old) => {
                order.remove(&(old.expires_at, key));
            }
            None if self.map.len() > *capacity => {
                // The new entry is not in the order yet, so it is never the one evicted.
                if let Some((_, victim)) = order.pop_first() {
                    self.map.remove(&victim);
                }
            }
            None => {}
        }
        order.insert((new_expiry, key));
    }

    /// Moves the live entry under `key` to `expires_at`, keeping the expiry index in order.
    pub(super) fn set_expiry(&mut self, key: &Key, expires_at: u64) {
        let Some(entry) = self.map.get_mut(key) else {
            return;
        };
        let old = std::mem::replace(&mut entry.expires_at, expires_at);
        if let Some((order, _)) = &mut self.cap {
            order.remove(&(old, *key));
            order.insert((expires_at, *key));
        }
    }

    pub(super) fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.map.remove(key)
            && let Some((order, _)) = &mut self.cap
        {
            order.remove(&(entry.expires_at, *key));
        }
    }

    /// Removes the entries expired at `now`; tells how many. A capped shard pops them off
    /// the front of its index (O(expired × log n)); an uncapped one scans its map.
    pub(super) fn sweep(&mut self, now: u64) -> usize {
        let before = self.map.len();
        match &mut self.cap {
            Some((order, _)) => {
                while let Some(&(expires_at, key)) = order.first()
                    && expires_at <= now
                {
                    order.pop_first();
                    self.map.remove(&key);
                }
            }
            None => self.map.retain(|_, entry| entry.expires_at > now),
        }
        before - self.map.len()
    }
}
