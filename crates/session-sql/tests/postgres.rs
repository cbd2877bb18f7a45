//! The store against a real PostgreSQL: the contract, atomic updates, the table, expiry and
//! sweeping, the connection settings.

mod common;

use std::time::{Duration, SystemTime};

use session_core::{SessionId, SessionStore, StoreError};
use session_sql::{SqlPool, SqlSessionStore, SqlStoreError};

use common::{hundred_concurrent_increments, migrated, postgres, postgres_store, unique_table};

fn pg(store: &SqlSessionStore) -> &session_sql::sqlx::PgPool {
    match store.pool() {
        SqlPool::Postgres(pool) => pool,
        other => panic!("not PostgreSQL: {other:?}"),
    }
}

/// The row as PostgreSQL has it: data and seconds until it expires.
async fn raw_row(store: &SqlSessionStore, id: &SessionId) -> Option<(String, f64)> {
    let sql = format!(
        "SELECT data, EXTRACT(EPOCH FROM expires_at - now())::float8 FROM \"{}\" WHERE id = $1",
        store.table()
    );
    session_sql::sqlx::query_as(&sql)
        .bind(id.as_str())
        .fetch_optional(pg(store))
        .await
        .unwrap()
}

async fn row_count(store: &SqlSessionStore) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{}\"", store.table());
    session_sql::sqlx::query_scalar(&sql)
        .fetch_one(pg(store))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_on_postgres() {
    let Some((_postgres, store)) = postgres_store("conformance_suite_passes_on_postgres").await
    else {
        return;
    };
    session_core::test_util::run_conformance_suite(&store).await;
    session_core::test_util::run_concurrent_update_check(&store, 8, 10).await;
}

/// `Session::update` across app instances: two stores (two pools), 100 tasks, one counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_increments_end_at_100_on_postgres() {
    let Some((postgres, first)) = postgres_store("hundred_increments_postgres").await else {
        return;
    };
    let second = migrated(&postgres.url, first.table()).await;
    let conflicts = hundred_concurrent_increments(&[first, second]).await;
    eprintln!("postgres: 100 increments, {conflicts} lost swaps retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_even_when_instances_start_together() {
    let Some(postgres) = postgres("migrate_is_idempotent") else {
        return;
    };
    let table = unique_table("migrate_is_idempotent");
    let stores: Vec<SqlSessionStore> = futures::future::join_all((0..4).map(|_| {
        SqlSessionStore::builder(&postgres.url)
            .table(&table)
            .build()
    }))
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    // Before the table exists, operations fail as backend errors (an empty 500), not as "no
    // session".
    let id = SessionId::generate();
    let missing = stores[0].load(&id).await.unwrap_err();
    assert!(matches!(missing, StoreError::Backend(_)), "{missing:?}");

    let results = futures::future::join_all(stores.iter().map(SqlSessionStore::migrate)).await;
    for result in results {
        result.expect("concurrent migrate");
    }
    let ttl = Duration::from_secs(60);
    stores[0].save(&id, "kept", ttl).await.unwrap();
    stores[1].migrate().await.expect("again");
    assert_eq!(stores[2].load(&id).await.unwrap().as_deref(), Some("kept"));

    let index: Option<String> = session_sql::sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2",
    )
    .bind(&table)
    .bind(format!("{table}_expires_at_idx"))
    .fetch_optional(pg(&stores[0]))
    .await
    .unwrap();
    assert!(index.expect("index on the expiry").contains("(expires_at)"));
}

/// The crate docs' SQL is what `migrate` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_schema_is_the_one_migrate_runs() {
    let Some(postgres) = postgres("the_documented_schema") else {
        return;
    };
    let store = SqlSessionStore::new(&postgres.url).await.unwrap();
    let docs = include_str!("../src/lib.rs");
    let sql = store.schema_sql();
    let documented: String = sql.lines().map(|line| format!("//! {line}\n")).collect();
    let documented = documented.replace("//! \n", "//!\n");
    assert!(docs.contains(&documented), "not in the docs:\n{sql}");
    assert_eq!(store.table(), "sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touch_moves_only_the_expiry_and_expired_rows_are_never_returned() {
    let Some((_postgres, store)) = postgres_store("touch_moves_only_the_expiry").await else {
        return;
    };
    let id = SessionId::generate();
    store
        .save(&id, "text", Duration::from_secs(10))
        .await
        .unwrap();
    let (_, left) = raw_row(&store, &id).await.unwrap();
    assert!((9.0..=10.0).contains(&left), "{left}");
    assert!(store.touch(&id, Duration::from_secs(3600)).await.unwrap());
    let (data, left) = raw_row(&store, &id).await.unwrap();
    assert_eq!(data, "text");
    assert!((3599.0..=3600.0).contains(&left), "{left}");
    let entry = store.load_entry(&id).await.unwrap().unwrap();
    let reported = entry
        .expires_at
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(reported > Duration::from_secs(3590), "{reported:?}");

    // Expired but still in the table: invisible to every operation.
    store
        .save(&id, "old", Duration::from_millis(20))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(raw_row(&store, &id).await.is_some(), "still in the table");
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert_eq!(store.load_entry(&id).await.unwrap(), None);
    assert!(!store.touch(&id, Duration::from_secs(60)).await.unwrap());
    assert!(
        !store
            .replace(&id, "new", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .compare_and_swap(&id, "old", "new", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(raw_row(&store, &id).await.unwrap().0, "old");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeping_deletes_expired_rows_in_batches_and_keeps_live_ones() {
    let Some(postgres) = postgres("sweeping_deletes_expired_rows") else {
        return;
    };
    let store = SqlSessionStore::builder(&postgres.url)
        .table(unique_table("sweeping"))
        .sweep_batch_size(3)
        .build()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for _ in 0..10 {
        let id = SessionId::generate();
        store
            .save(&id, "short", Duration::from_millis(10))
            .await
            .unwrap();
    }
    let live = SessionId::generate();
    store
        .save(&live, "live", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(row_count(&store).await, 11);
    assert_eq!(
        store.sweep_expired().await.unwrap(),
        10,
        "4 batches: 3 + 3 + 3 + 1"
    );
    assert_eq!(row_count(&store).await, 1);
    assert_eq!(store.sweep_expired().await.unwrap(), 0);
    assert_eq!(store.load(&live).await.unwrap().as_deref(), Some("live"));

    // The sweeper does the same every period, until aborted.
    let gone = SessionId::generate();
    store
        .save(&gone, "short", Duration::from_millis(10))
        .await
        .unwrap();
    let sweeper = store.spawn_sweeper(Duration::from_millis(50));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while row_count(&store).await > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweeper did not sweep"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.abort();
    assert!(sweeper.await.unwrap_err().is_cancelled());
    store
        .save(&gone, "short", Duration::from_millis(10))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        row_count(&store).await,
        2,
        "an aborted sweeper sweeps no more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_from_a_url_carry_the_statement_timeout() {
    let Some(postgres) = postgres("connections_carry_the_statement_timeout") else {
        return;
    };
    let store = SqlSessionStore::builder(&postgres.url)
        .statement_timeout(Duration::from_millis(250))
        .build()
        .await
        .unwrap();
    let setting: String = session_sql::sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(pg(&store))
        .await
        .unwrap();
    assert_eq!(setting, "250ms");
    // A statement stuck past it (here, on a lock another connection holds) is cancelled by
    // the server, and the operation fails as a timeout.
    let store = SqlSessionStore::builder(&postgres.url)
        .table(unique_table("statement_timeout"))
        .statement_timeout(Duration::from_millis(250))
        .build()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "locked", ttl).await.unwrap();
    let mut holder = pg(&store).begin().await.unwrap();
    session_sql::sqlx::query(&format!(
        "SELECT 1 FROM \"{}\" WHERE id = $1 FOR UPDATE",
        store.table()
    ))
    .bind(id.as_str())
    .execute(&mut *holder)
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let error = store.touch(&id, ttl).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, StoreError::Timeout), "{error:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    holder.rollback().await.unwrap();
    assert!(store.touch(&id, ttl).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_the_application_serves_the_store_too() {
    let Some(postgres) = postgres("a_pool_of_the_application") else {
        return;
    };
    let pool = session_sql::sqlx::PgPool::connect(&postgres.url)
        .await
        .unwrap();
    let store = SqlSessionStore::with_pool(pool.clone())
        .table(unique_table("own_pool"))
        .build()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let id = SessionId::generate();
    store
        .save(&id, "shared", Duration::from_secs(60))
        .await
        .unwrap();
    let data: String = session_sql::sqlx::query_scalar(&format!(
        "SELECT data FROM \"{}\" WHERE id = $1",
        store.table()
    ))
    .bind(id.as_str())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(data, "shared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_the_build_without_echoing_the_url() {
    let Some(postgres) = postgres("wrong_credentials_fail_the_build") else {
        return;
    };
    let Some(_server) = &postgres.server else {
        // A shared server may well accept any database name; nothing to check.
        return;
    };
    let url = postgres
        .url
        .replace("postgres@", "postgres:hunter2-secret@")
        .replace("/postgres", "/no_such_database");
    let error = SqlSessionStore::new(&url).await.unwrap_err();
    assert!(matches!(error, SqlStoreError::Connect(_)), "{error:?}");
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    assert!(!text.contains("hunter2"), "{text}");
}
