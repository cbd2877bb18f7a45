//! The scenarios that need a real store, run against each storage an adapter offers.

/// Runs the suite's storage-dependent scenarios against the stores the adapter crate
/// `$krate` re-exports, each behind the adapter's own feature of that store: 100 concurrent
/// `Session::update`s (directory, Redis, SQLite, PostgreSQL), parallel requests across an ID
/// rotation and the old ID's end after the grace window (directory, Redis). It makes a module
/// `stores` with one `#[test]` per scenario and store.
///
/// The expansion names the adapter's test dependencies: `tempfile` (`fs`, `sqlite`),
/// `session-redis` with `test-util` (`redis`) and `session-sql` with `test-util` (`sqlite`,
/// `postgres`). Without a `redis-server` or PostgreSQL the Redis and PostgreSQL tests are
/// skipped, and fail under `CI=true`.
///
/// ```ignore
/// session_suite::behaviour_suite!(MyAdapter);
/// session_suite::store_scenarios!(MyAdapter, my_adapter_crate);
/// ```
#[macro_export]
macro_rules! store_scenarios {
    ($adapter:ident, $krate:ident) => {
        mod stores {
            // Each store's tests are behind its feature: without them nothing here is used.
            #![allow(unused_imports)]

            use std::sync::Arc;

            use $crate::Adapter as _;
            use $crate::scenarios::{persist, rotation};

            use super::$adapter;

            /// A directory store in a fresh temporary directory (kept alive by the guard).
            #[cfg(feature = "fs")]
            fn directory_store() -> (tempfile::TempDir, Arc<dyn $krate::DynSessionStore>) {
                let dir = tempfile::tempdir().unwrap();
                let store = $krate::FsSessionStore::new(dir.path())
                    .unwrap()
                    .with_durability($krate::Durability::NoFsync);
                (dir, Arc::new(store))
            }

            /// A store under a fresh key prefix on the test's Redis (kept alive by the
            /// guard), or `None` when the test is skipped.
            #[cfg(feature = "redis")]
            async fn redis_store(
                test: &str,
            ) -> Option<(
                session_redis::test_util::TestRedis,
                Arc<dyn $krate::DynSessionStore>,
            )> {
                let name = format!("{}_{test}", stringify!($krate));
                let (redis, store) = session_redis::test_util::prefixed_store(&name).await?;
                Some((redis, Arc::new(store)))
            }

            #[cfg(feature = "fs")]
            #[test]
            fn hundred_concurrent_updates_in_the_directory_store() {
                let (_dir, store) = directory_store();
                $adapter::block_on(persist::hundred_concurrent_updates_in::<$adapter>(store));
            }

            #[cfg(feature = "fs")]
            #[test]
            fn parallel_requests_across_a_rotation_in_the_directory_store() {
                let (_dir, store) = directory_store();
                let clock = $krate::ManualClock::starting_now();
                $adapter::block_on(
                    rotation::parallel_requests_across_a_rotation_in::<$adapter>(store, clock),
                );
            }

            #[cfg(feature = "fs")]
            #[test]
            fn the_old_id_dies_after_the_grace_in_the_directory_store() {
                let (_dir, store) = directory_store();
                $adapter::block_on(rotation::the_old_id_dies_after_the_grace_in::<$adapter>(
                    store,
                ));
            }

            #[cfg(feature = "redis")]
            #[test]
            fn hundred_concurrent_updates_in_redis() {
                $adapter::block_on(async {
                    let Some((_redis, store)) = redis_store("atomic_update").await else {
                        return;
                    };
                    persist::hundred_concurrent_updates_in::<$adapter>(store).await;
                });
            }

            #[cfg(feature = "redis")]
            #[test]
            fn parallel_requests_across_a_rotation_in_redis() {
                $adapter::block_on(async {
                    let Some((_redis, store)) = redis_store("rotation").await else {
                        return;
                    };
                    let clock = $krate::ManualClock::starting_now();
                    rotation::parallel_requests_across_a_rotation_in::<$adapter>(store, clock)
                        .await;
                });
            }

            #[cfg(feature = "redis")]
            #[test]
            fn the_old_id_dies_after_the_grace_in_redis() {
                $adapter::block_on(async {
                    let Some((_redis, store)) = redis_store("grace").await else {
                        return;
                    };
                    rotation::the_old_id_dies_after_the_grace_in::<$adapter>(store).await;
                });
            }

            #[cfg(feature = "sqlite")]
            #[test]
            fn hundred_concurrent_updates_in_sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
                $adapter::block_on(async {
                    let store =
                        session_sql::test_util::migrated_store(&url, stringify!($krate)).await;
                    persist::hundred_concurrent_updates_in::<$adapter>(store).await;
                });
            }

            #[cfg(feature = "postgres")]
            #[test]
            fn hundred_concurrent_updates_in_postgres() {
                let test = concat!(stringify!($krate), "_update_postgres");
                let Some(postgres) = session_sql::test_util::postgres(test) else {
                    return;
                };
                $adapter::block_on(async {
                    let store =
                        session_sql::test_util::migrated_store(&postgres.url, stringify!($krate))
                            .await;
                    persist::hundred_concurrent_updates_in::<$adapter>(store).await;
                });
            }
        }
    };
}
