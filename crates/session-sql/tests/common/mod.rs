//! Stores on a real PostgreSQL (see `session_sql::test_util`) and on SQLite files.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::time::Duration;

use session_core::{SessionId, SessionStore, StoreError};
use session_sql::SqlSessionStore;
pub use session_sql::test_util::*;

/// A migrated store on a table of its own.
pub async fn migrated(url: &str, table: &str) -> SqlSessionStore {
    let store = SqlSessionStore::builder(url)
        .table(table)
        .build()
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// A PostgreSQL for `test` and a migrated store on a table of its own; `None` to skip.
pub async fn postgres_store(test: &str) -> Option<(TestPostgres, SqlSessionStore)> {
    let postgres = postgres(test)?;
    let store = migrated(&postgres.url, &unique_table(test)).await;
    Some((postgres, store))
}

/// `sqlite://<dir>/<name>`.
pub fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// What `Session::update` does to a counter: read it, add one, swap; again on a conflict.
pub async fn increment<S: SessionStore>(
    store: &S,
    id: &SessionId,
    ttl: Duration,
) -> Result<u32, StoreError> {
    let mut conflicts = 0;
    loop {
        let current = store.load(id).await?.expect("counter exists");
        let next = (current.parse::<u64>().expect("a number") + 1).to_string();
        if store.compare_and_swap(id, &current, &next, ttl).await? {
            return Ok(conflicts);
        }
        conflicts += 1;
    }
}

/// 100 tasks on a multi-thread runtime, alternating between `stores` (two pools are two app
/// instances), each adding 1 to one counter with compare-and-swap: it must end at 100.
/// Returns how many swaps lost to another (so the test shows they did race).
pub async fn hundred_concurrent_increments(stores: &[SqlSessionStore]) -> u32 {
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    stores[0].save(&id, "0", ttl).await.expect("save");
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let store = stores[n % stores.len()].clone();
            let id = id.clone();
            tokio::spawn(async move { increment(&store, &id, ttl).await.expect("increment") })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.expect("task");
    }
    assert_eq!(
        stores[0].load(&id).await.unwrap().as_deref(),
        Some("100"),
        "concurrent updates were lost"
    );
    conflicts
}
