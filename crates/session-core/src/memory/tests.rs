//! The memory store's unit tests.

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

fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[cfg(feature = "test-util")]
#[test]
fn conformance_of_a_capped_store() {
    let store = MemoryStore::with_capacity(cap(64));
    block_on(crate::test_util::run_conformance_suite(&store));
    block_on(crate::test_util::run_concurrent_update_check(
        &store, 10, 20,
    ));
    // Even a store that holds one entry keeps the contract for that entry.
    block_on(crate::test_util::run_concurrent_update_check(
        &MemoryStore::with_capacity(cap(1)),
        10,
        5,
    ));
}

#[test]
fn a_capped_store_never_holds_more_than_its_capacity() {
    block_on(async {
        let store = MemoryStore::with_capacity(cap(100));
        let mut ids = Vec::new();
        for n in 0..1000_u64 {
            let id = SessionId::generate();
            // Varied lifetimes, so evictions come from all over the index.
            let ttl = Duration::from_secs(60 + (n * 7919) % 1000);
            store.save(&id, "x", ttl).await.unwrap();
            ids.push(id);
            assert!(
                store.len() <= 100,
                "{} entries after {n} saves",
                store.len()
            );
        }
        assert_eq!(store.len(), 100);
        let mut live = 0;
        for id in &ids {
            live += usize::from(store.load(id).await.unwrap().is_some());
        }
        assert_eq!(live, 100, "what len() counts is what can be loaded");
        assert_eq!(store.capacity(), Some(cap(100)));
        assert_eq!(MemoryStore::new().capacity(), None);
    });
}

#[test]
fn concurrent_inserts_never_exceed_the_capacity() {
    let store = MemoryStore::with_capacity(cap(50));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..2000 {
                    let id = SessionId::generate();
                    block_on(store.save(&id, "x", Duration::from_secs(60))).unwrap();
                    assert!(store.len() <= 50);
                }
            });
        }
    });
    assert_eq!(store.len(), 50);
}

#[test]
fn of_entries_expiring_together_the_first_written_is_evicted_first() {
    block_on(async {
        // One clock reading for all: every entry expires in the same millisecond.
        let clock = ManualClock::starting_now();
        let store = MemoryStore::with_capacity_and_clock(cap(8), clock);
        let ttl = Duration::from_secs(60);
        let ids: Vec<SessionId> = (0..16).map(|_| SessionId::generate()).collect();
        for (written, id) in ids.iter().enumerate() {
            store.save(id, "x", ttl).await.unwrap();
            let evicted = written.checked_sub(8).map(|oldest| &ids[oldest]);
            if let Some(evicted) = evicted {
                assert_eq!(store.load(evicted).await.unwrap(), None, "{written}");
            }
        }
        for kept in &ids[8..] {
            assert!(store.load(kept).await.unwrap().is_some());
        }
    });
}

#[test]
fn a_new_entry_is_kept_even_when_it_expires_soonest() {
    block_on(async {
        let store = MemoryStore::with_capacity_and_clock(cap(2), ManualClock::starting_now());
        let (a, b, c) = (
            SessionId::generate(),
            SessionId::generate(),
            SessionId::generate(),
        );
        store.save(&a, "a", Duration::from_secs(300)).await.unwrap();
        store.save(&b, "b", Duration::from_secs(200)).await.unwrap();
        store.save(&c, "c", Duration::from_secs(1)).await.unwrap();
        assert_eq!(store.load(&c).await.unwrap().as_deref(), Some("c"));
        assert_eq!(store.load(&b).await.unwrap(), None);
        assert_eq!(store.len(), 2);
    });
}

#[test]
fn the_entry_that_expires_soonest_is_evicted_first() {
    block_on(async {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::with_capacity_and_clock(cap(3), clock.clone());
        let secs = Duration::from_secs;
        let (a, b, c) = (
            SessionId::generate(),
            SessionId::generate(),
            SessionId::generate(),
        );
        store.save(&a, "a", secs(300)).await.unwrap();
        store.save(&b, "b", secs(100)).await.unwrap();
        store.save(&c, "c", secs(200)).await.unwrap();

        // Not the oldest (a) but the one closest to its end (b).
        let d = SessionId::generate();
        store.save(&d, "d", secs(400)).await.unwrap();
        assert_eq!(store.load(&b).await.unwrap(), None);
        assert!(
            !store.replace(&b, "b2", secs(100)).await.unwrap(),
            "logged out"
        );
        assert!(!store.touch(&b, secs(100)).await.unwrap());
        assert_eq!(store.load(&b).await.unwrap(), None, "never brought back");

        // A touch moves an entry to the back: c now outlives a.
        assert!(store.touch(&c, secs(500)).await.unwrap());
        let e = SessionId::generate();
        store.save(&e, "e", secs(400)).await.unwrap();
        assert_eq!(store.load(&a).await.unwrap(), None);
        assert_eq!(store.load(&c).await.unwrap().as_deref(), Some("c"));

        // Rewriting an existing entry never evicts anything.
        store.save(&d, "d2", secs(10)).await.unwrap();
        assert!(store.replace(&e, "e2", secs(10)).await.unwrap());
        assert_eq!(store.len(), 3);

        // An expired entry goes before any live one, whatever its original lifetime.
        clock.advance(secs(20));
        let f = SessionId::generate();
        store.save(&f, "f", secs(1)).await.unwrap();
        assert_eq!(store.load(&c).await.unwrap().as_deref(), Some("c"));
        assert_eq!(store.load(&f).await.unwrap().as_deref(), Some("f"));
        assert_eq!(store.len(), 3, "one of the expired d and e made room");
        assert_eq!(store.load(&d).await.unwrap(), None);
        assert_eq!(store.load(&e).await.unwrap(), None);
        assert_eq!(store.len(), 2);
    });
}

#[test]
fn a_capped_store_sweeps_through_its_expiry_index() {
    block_on(async {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::with_capacity_and_clock(cap(1000), clock.clone());
        for n in 0..100_u64 {
            let id = SessionId::generate();
            store
                .save(&id, "x", Duration::from_secs(1 + n % 2 * 100))
                .await
                .unwrap();
        }
        clock.advance(Duration::from_secs(10));
        assert_eq!(store.sweep_expired(), 50);
        assert_eq!(store.len(), 50);
        // And writes sweep by themselves: one shard, swept every sixteenth write.
        clock.advance(Duration::from_secs(1000));
        for _ in 0..SWEEP_EVERY {
            let id = SessionId::generate();
            store.save(&id, "y", Duration::from_secs(60)).await.unwrap();
        }
        assert_eq!(store.len(), SWEEP_EVERY, "the 50 expired entries are gone");
    });
}
