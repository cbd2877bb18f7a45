//! The store on SQLite files: the contract, atomic updates across pools and processes, the
//! file's settings, expiry and sweeping, URL handling.

mod common;

use std::time::Duration;

use session_core::{SessionId, SessionStore};
use session_sql::{SqlPool, SqlSessionStore, SqlStoreError};

use common::{hundred_concurrent_increments, increment, migrated, sqlite_url};

/// Set in the child process of `two_processes_share_one_file`: the file to increment in.
const CHILD_DB_VAR: &str = "SESSION_SQL_TEST_CHILD_DB";
/// The counter's session ID, for the child.
const CHILD_ID_VAR: &str = "SESSION_SQL_TEST_CHILD_ID";
const INCREMENTS_PER_PROCESS: usize = 50;

fn sqlite(store: &SqlSessionStore) -> &session_sql::sqlx::SqlitePool {
    match store.pool() {
        SqlPool::Sqlite(pool) => pool,
        other => panic!("not SQLite: {other:?}"),
    }
}

async fn row_count(store: &SqlSessionStore) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{}\"", store.table());
    session_sql::sqlx::query_scalar(&sql)
        .fetch_one(sqlite(store))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated(&sqlite_url(dir.path(), "sessions.db"), "sessions").await;
    session_core::test_util::run_conformance_suite(&store).await;
    session_core::test_util::run_concurrent_update_check(&store, 8, 10).await;
}

/// Two pools on one file (two app instances on one host), 100 tasks, one counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_increments_end_at_100_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "sessions.db");
    let first = migrated(&url, "sessions").await;
    let second = migrated(&url, "sessions").await;
    let conflicts = hundred_concurrent_increments(&[first, second]).await;
    eprintln!("sqlite: 100 increments, {conflicts} lost swaps retried");
}

/// Two processes on one file: this test runs its own binary again as the second process,
/// and both increment one counter at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_file() {
    if std::env::var_os(CHILD_DB_VAR).is_some() {
        return; // In the child, this test is not the one to run.
    }
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "shared.db");
    let store = migrated(&url, "sessions").await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "0", ttl).await.unwrap();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_increments", "--nocapture"])
        .env(CHILD_DB_VAR, &url)
        .env(CHILD_ID_VAR, id.as_str())
        .spawn()
        .unwrap();
    for _ in 0..INCREMENTS_PER_PROCESS {
        increment(&store, &id, ttl).await.unwrap();
    }
    assert!(child.wait().unwrap().success(), "the child process failed");
    assert_eq!(
        store.load(&id).await.unwrap(),
        Some((2 * INCREMENTS_PER_PROCESS).to_string()),
        "updates were lost between processes"
    );
}

/// The second process of `two_processes_share_one_file`; does nothing on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_increments() {
    let (Ok(url), Ok(id)) = (std::env::var(CHILD_DB_VAR), std::env::var(CHILD_ID_VAR)) else {
        return;
    };
    let store = migrated(&url, "sessions").await;
    let id = SessionId::parse(&id).unwrap();
    for _ in 0..INCREMENTS_PER_PROCESS {
        increment(&store, &id, Duration::from_secs(60))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_is_created_in_wal_mode_with_full_sync_and_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = SqlSessionStore::builder(sqlite_url(dir.path(), "new.db"))
        .statement_timeout(Duration::from_millis(1500))
        .build()
        .await
        .unwrap();
    assert!(path.is_file(), "created if missing");
    let pool = sqlite(&store);
    let mode: String = session_sql::sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let synchronous: i64 = session_sql::sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(synchronous, 2, "FULL");
    let busy: i64 = session_sql::sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(busy, 1500);
}

/// A write waits for another process's lock up to the busy timeout, then fails as a timeout
/// (an empty 500), not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_too_long_fails_the_write_within_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "locked.db");
    let store = SqlSessionStore::builder(&url)
        .statement_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let other = migrated(&url, "sessions").await;
    let mut holder = sqlite(&other).acquire().await.unwrap();
    session_sql::sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let id = SessionId::generate();
    let started = std::time::Instant::now();
    let error = store
        .save(&id, "blocked", Duration::from_secs(60))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, session_core::StoreError::Timeout),
        "{error:?}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // Readers do not wait for the writer (WAL).
    assert_eq!(store.load(&id).await.unwrap(), None);
    session_sql::sqlx::query("ROLLBACK")
        .execute(&mut *holder)
        .await
        .unwrap();
    store
        .save(&id, "written", Duration::from_secs(60))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeping_deletes_expired_rows_in_batches_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlSessionStore::builder(sqlite_url(dir.path(), "sweep.db"))
        .sweep_batch_size(4)
        .build()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for _ in 0..9 {
        store
            .save(&SessionId::generate(), "short", Duration::from_millis(10))
            .await
            .unwrap();
    }
    let live = SessionId::generate();
    store
        .save(&live, "live", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(row_count(&store).await, 10);
    assert_eq!(store.sweep_expired().await.unwrap(), 9);
    assert_eq!(row_count(&store).await, 1);
    assert_eq!(store.load(&live).await.unwrap().as_deref(), Some("live"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_name_is_configurable_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "tables.db");
    let a = migrated(&url, "app_a").await;
    let b = migrated(&url, "app_b").await;
    let id = SessionId::generate();
    a.save(&id, "a", Duration::from_secs(60)).await.unwrap();
    assert_eq!(b.load(&id).await.unwrap(), None, "tables keep stores apart");
    assert!(a.schema_sql().contains("\"app_a_expires_at_idx\""));

    for name in ["", "Sessions", "x\"; DROP TABLE app_a; --", "1st", "a.b"] {
        let error = SqlSessionStore::builder(&url)
            .table(name)
            .build()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, SqlStoreError::InvalidTableName { name: refused } if refused == name),
            "{error:?}"
        );
    }
    assert_eq!(a.load(&id).await.unwrap().as_deref(), Some("a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_and_options_are_checked_and_never_printed() {
    for url in [
        "mysql://root:hunter2@db/app",
        "redis://:hunter2@127.0.0.1",
        "hunter2",
        "postgres://user:hunter2@host:notaport/db",
    ] {
        let error = SqlSessionStore::new(url).await.unwrap_err();
        assert!(
            matches!(error, SqlStoreError::InvalidUrl { .. }),
            "{error:?}"
        );
        assert!(
            !format!("{error} {error:?}").contains("hunter2"),
            "{error:?}"
        );
    }
    let builder = SqlSessionStore::builder("postgres://user:hunter2@db/app").table("t");
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("postgres URL"),
        "{debug}"
    );

    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "options.db");
    for builder in [
        SqlSessionStore::builder(&url).acquire_timeout(Duration::ZERO),
        SqlSessionStore::builder(&url).statement_timeout(Duration::ZERO),
        SqlSessionStore::builder(&url).max_connections(0),
        SqlSessionStore::builder(&url).sweep_batch_size(0),
    ] {
        let error = builder.build().await.unwrap_err();
        assert!(
            matches!(error, SqlStoreError::InvalidConfig { .. }),
            "{error:?}"
        );
    }
    let store = SqlSessionStore::new(&url).await.unwrap();
    let debug = format!("{store:?}");
    assert!(
        debug.contains("sqlite") && debug.contains("sessions"),
        "{debug}"
    );
}

#[test]
fn building_outside_a_tokio_runtime_is_a_configuration_error() {
    let error = futures::executor::block_on(SqlSessionStore::new("sqlite://x.db")).unwrap_err();
    assert!(
        matches!(error, SqlStoreError::InvalidConfig { .. }),
        "{error:?}"
    );
}

/// The crate docs' SQLite SQL is what `migrate` runs, and running it by hand instead leaves a
/// table the store uses as its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_schema_is_the_one_migrate_runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlSessionStore::new(sqlite_url(dir.path(), "docs.db"))
        .await
        .unwrap();
    let sql = store.schema_sql();
    let documented: String = sql.lines().map(|line| format!("//! {line}\n")).collect();
    assert!(
        include_str!("../src/lib.rs").contains(&documented),
        "not in the docs:\n{sql}"
    );
    for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
        session_sql::sqlx::query(statement)
            .execute(sqlite(&store))
            .await
            .unwrap();
    }
    store
        .migrate()
        .await
        .expect("idempotent over the hand-made table");
    let id = SessionId::generate();
    store
        .save(&id, "by hand", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("by hand"));
}

/// Many writers of one process on one file: they take turns in the store's queue, so none
/// waits out its busy timeout in SQLite's polling busy handler (a timeout, a 500) while the
/// others keep winning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_concurrent_writes_fails_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated(&sqlite_url(dir.path(), "burst.db"), "sessions").await;
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = SessionId::generate();
                for n in 0..20 {
                    store
                        .save(&id, &n.to_string(), Duration::from_secs(60))
                        .await
                        .expect("no write times out");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(row_count(&store).await, 16);
}
