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

impl Entry {
    pub(super) fn new(text: Box<str>, expires_at: u64) -> Self {
        Self { text, expires_at }
    }
}

/// Where an entry stands in a capped shard's eviction order: its [`rank`], then its key.
type Position = (u64, Key);

/// Bits of a rank that count the shard's writes.
const STAMP_BITS: u32 = 20;
/// The last millisecond a rank tells apart (in the year 2527); later expiries rank together.
const LAST_RANKED_MS: u64 = u64::MAX >> STAMP_BITS;

/// An entry's rank in the eviction order: its expiry, then `stamp`, a count of the shard's
/// writes, so that of entries expiring in the same millisecond the one that got its expiry
/// first goes first. One `u64`, so a position takes 40 bytes, not 48. The stamp wraps after
/// 2²⁰ writes, which only blurs the order within a millisecond of that many writes.
fn rank(expires_at: u64, stamp: u32) -> u64 {
    expires_at.min(LAST_RANKED_MS) << STAMP_BITS | u64::from(stamp & ((1 << STAMP_BITS) - 1))
}

/// The expiry, to the millisecond, of an entry of rank `rank`.
fn expiry_of(rank: u64) -> u64 {
    rank >> STAMP_BITS
}

/// The eviction order of a capped shard and what it needs.
struct Cap {
    order: BTreeSet<Position>,
    capacity: usize,
    /// The next position's stamp ([`rank`]).
    next_stamp: u32,
}

impl Cap {
    /// Places `key`, expiring at `expires_at`, after every entry expiring then.
    fn place(&mut self, key: Key, expires_at: u64) {
        self.order.insert((rank(expires_at, self.next_stamp), key));
        self.next_stamp = self.next_stamp.wrapping_add(1);
    }

    /// Takes `key`, expiring at `expires_at`, out of the order. The stamp is not kept with
    /// the entry (8 bytes per entry, capped or not): the entries of that millisecond are
    /// searched, which are few.
    fn displace(&mut self, key: Key, expires_at: u64) {
        let millisecond =
            (rank(expires_at, 0), [0; 32])..=(rank(expires_at, u32::MAX), [u8::MAX; 32]);
        let position = self.order.range(millisecond).find(|p| p.1 == key).copied();
        if let Some(position) = position {
            self.order.remove(&position);
        }
    }
}

/// Entries under one lock. Uncapped shards keep only the map; a capped shard also keeps every
/// entry's position (expiry, then stamp), soonest first, and never holds more than `capacity`.
#[derive(Default)]
pub(super) struct Shard {
    map: HashMap<Key, Entry, BuildHasherDefault<IdHasher>>,
    /// The eviction order and the capacity, in a capped store only.
    cap: Option<Cap>,
}

impl Shard {
    /// A shard that holds at most `capacity` entries, evicting the soonest-expiring.
    pub(super) fn capped(capacity: usize) -> Self {
        Self {
            map: HashMap::default(),
            cap: Some(Cap {
                order: BTreeSet::new(),
                capacity,
                next_stamp: 0,
            }),
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
    /// any is left; of several expiring in the same millisecond, the one written first):
    /// O(log n).
    pub(super) fn insert(&mut self, key: Key, entry: Entry) {
        let Some(cap) = &mut self.cap else {
            self.map.insert(key, entry);
            return;
        };
        cap.place(key, entry.expires_at);
        if let Some(old) = self.map.insert(key, entry) {
            cap.displace(key, old.expires_at);
        }
        if self.map.len() > cap.capacity {
            // Never the new entry itself, even when it expires soonest.
            let victim = cap.order.iter().find(|position| position.1 != key).copied();
            if let Some(position) = victim {
                cap.order.remove(&position);
                self.map.remove(&position.1);
            }
        }
    }

    /// Moves the live entry under `key` to `expires_at`, keeping the eviction order.
    pub(super) fn set_expiry(&mut self, key: &Key, expires_at: u64) {
        let Some(entry) = self.map.get_mut(key) else {
            return;
        };
        match &mut self.cap {
            Some(cap) => {
                cap.displace(*key, entry.expires_at);
                entry.expires_at = expires_at;
                cap.place(*key, expires_at);
            }
            None => entry.expires_at = expires_at,
        }
    }

    pub(super) fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.map.remove(key)
            && let Some(cap) = &mut self.cap
        {
            cap.displace(*key, entry.expires_at);
        }
    }

    /// Removes the entries expired at `now`; tells how many. A capped shard pops them off
    /// the front of its index (O(expired × log n)); an uncapped one scans its map.
    pub(super) fn sweep(&mut self, now: u64) -> usize {
        let before = self.map.len();
        match &mut self.cap {
            Some(cap) => {
                while let Some(&(rank, key)) = cap.order.first()
                    && expiry_of(rank) <= now
                {
                    cap.order.pop_first();
                    self.map.remove(&key);
                }
            }
            None => self.map.retain(|_, entry| entry.expires_at > now),
        }
        before - self.map.len()
    }
}
