//! A PostgreSQL that stops or freezes: operations fail fast, and the same store works again
//! once the server is back.

mod common;

use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore, StoreError};
use session_sql::SqlSessionStore;

use common::{private_server, unique_table};

/// 1 s to acquire a connection plus 1 s per statement: the store's own bound.
const BOUND: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_millis(750);

async fn store_on(url: &str, test: &str) -> SqlSessionStore {
    let store = SqlSessionStore::builder(url)
        .table(unique_table(test))
        .build()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Waits until the store answers again, returning how long that took.
async fn until_it_works(store: &SqlSessionStore, id: &SessionId) -> Duration {
    let started = Instant::now();
    loop {
        match store.load(id).await {
            Ok(_) => return started.elapsed(),
            Err(error) => {
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "no recovery: {error:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_operations_fast_and_a_restarted_one_serves_the_same_store() {
    let Some(mut server) = private_server("a_stopped_server_fails_fast") else {
        return;
    };
    let store = store_on(&server.url(), "stopped").await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(600);
    store.save(&id, "before", ttl).await.unwrap();

    server.stop();
    let mut slowest = Duration::ZERO;
    for attempt in 0..4 {
        let started = Instant::now();
        let result = match attempt % 4 {
            0 => store.load(&id).await.map(drop),
            1 => store.save(&id, "during", ttl).await,
            2 => store.touch(&id, ttl).await.map(drop),
            _ => store
                .compare_and_swap(&id, "before", "x", ttl)
                .await
                .map(drop),
        };
        let took = started.elapsed();
        slowest = slowest.max(took);
        let error = result.expect_err("the server is down");
        assert!(
            matches!(error, StoreError::Timeout | StoreError::Unavailable(_)),
            "{error:?}"
        );
    }
    eprintln!("postgres stopped: slowest failed operation took {slowest:?}");
    assert!(slowest < BOUND + SLACK, "must fail fast, took {slowest:?}");

    server.restart();
    let took = until_it_works(&store, &id).await;
    eprintln!("postgres restarted: the same store served again after {took:?}");
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("before"));
    assert!(
        store
            .compare_and_swap(&id, "before", "after", ttl)
            .await
            .unwrap()
    );
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_one_bounded_timeout_not_a_hang() {
    let Some(server) = private_server("a_frozen_server_costs_one_timeout") else {
        return;
    };
    let store = store_on(&server.url(), "frozen").await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(600);
    store.save(&id, "kept", ttl).await.unwrap();

    server.signal("STOP");
    let mut slowest = Duration::ZERO;
    for _ in 0..2 {
        let started = Instant::now();
        let error = store.load(&id).await.unwrap_err();
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(matches!(error, StoreError::Timeout), "{error:?}");
    }
    server.signal("CONT");
    eprintln!("postgres frozen: slowest failed operation took {slowest:?}");
    assert!(
        slowest < BOUND + SLACK,
        "bounded by the store, took {slowest:?}"
    );

    let took = until_it_works(&store, &id).await;
    eprintln!("postgres thawed: served again after {took:?}");
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("kept"));
}
