//! # session-sql
//!
//! A PostgreSQL and SQLite storage for typed sessions, for the many applications whose only
//! server is a database: [`SqlSessionStore`] implements
//! [`SessionStore`](session_core::SessionStore) on a table of its own, through sqlx's async
//! drivers (no ORM, no compile-time database, no migration framework).
//!
//! | Feature | Description | Default |
//! |---|---|---|
//! | `postgres` | PostgreSQL: `postgres://` URLs and `PgPool`s | no |
//! | `sqlite` | SQLite, bundled: `sqlite://FILE` URLs and `SqlitePool`s | no |
//! | `test-util` | a private PostgreSQL server for tests, [`test_util`] | no |
//!
//! Enable at least one backend. (MySQL and MariaDB are not offered: their upsert and
//! conditional-update semantics differ enough to need a third set of statements and tests.)
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use session_core::{SessionId, SessionStore};
//! use session_sql::SqlSessionStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // In an actix-web or axum `main`, then handed to the session middleware as its store.
//! let store = SqlSessionStore::new(std::env::var("DATABASE_URL")?).await?;
//! store.migrate().await?; // CREATE TABLE IF NOT EXISTS …, at every start
//! let _sweeper = store.spawn_sweeper(Duration::from_secs(300));
//!
//! let id = SessionId::generate();
//! store.save(&id, r#"{"user":"ada"}"#, Duration::from_secs(3600)).await?;
//! assert_eq!(store.load(&id).await?.as_deref(), Some(r#"{"user":"ada"}"#));
//! # Ok(())
//! # }
//! ```
//!
//! # Schema
//!
//! [`SqlSessionStore::migrate`] runs this (for the default table, `sessions`; another name
//! from [`SqlSessionStoreBuilder::table`] replaces it, and
//! [`SqlSessionStore::schema_sql`] gives the SQL for yours). Teams that run their own
//! migrations can run it instead:
//!
//! PostgreSQL:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS "sessions" (
//!     id TEXT COLLATE "C" PRIMARY KEY,
//!     data TEXT NOT NULL,
//!     expires_at TIMESTAMPTZ NOT NULL
//! );
//! CREATE INDEX IF NOT EXISTS "sessions_expires_at_idx" ON "sessions" (expires_at);
//! ```
//!
//! SQLite (`expires_at` in milliseconds since the Unix epoch):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS "sessions" (
//!     id TEXT PRIMARY KEY NOT NULL,
//!     data TEXT NOT NULL,
//!     expires_at INTEGER NOT NULL
//! );
//! CREATE INDEX IF NOT EXISTS "sessions_expires_at_idx" ON "sessions" (expires_at);
//! ```
//!
//! `id` is the session ID (43 URL-safe characters, a bearer secret: treat the table like a
//! password table), `data` the session text as the middleware wrote it. The store never
//! alters or drops the table; a later version that needs a change will say so and give the
//! SQL.
//!
//! # Expiry and sweeping
//!
//! Every statement checks `expires_at`, so an expired row is never returned, replaced,
//! swapped or touched; it only takes room until it is deleted.
//! [`SqlSessionStore::sweep_expired`] deletes expired rows in batches of
//! [`sweep_batch_size`](SqlSessionStoreBuilder::sweep_batch_size) (1,000) rows, each batch
//! its own short statement found through the index, and
//! [`SqlSessionStore::spawn_sweeper`] runs it periodically on the Tokio runtime. Every app
//! instance may run one: on PostgreSQL they skip rows another is deleting
//! (`FOR UPDATE SKIP LOCKED`), and a row refreshed by a request meanwhile is kept.
//!
//! # Connections and failures
//!
//! The store runs on an sqlx pool: made from a URL by [`SqlSessionStore::new`] and
//! [`SqlSessionStore::builder`], or one of the application's own through
//! [`SqlSessionStore::with_pool`] (`PgPool`, `SqlitePool`; this crate re-exports [`sqlx`]
//! so the versions match).
//!
//! - **Fail fast.** A pool made from a URL waits at most the
//!   [acquire timeout](SqlSessionStoreBuilder::acquire_timeout) (1 s) for a connection,
//!   opening one included, and PostgreSQL connections get `statement_timeout` (1 s) when they
//!   open, so the server cancels a statement stuck on a lock. On top of that the store
//!   bounds every operation to the sum of both on its side, whatever the pool, so a server
//!   that stopped answering (frozen, or behind a network that drops packets) costs a request
//!   two seconds and an empty 500, not a hang: [`SqlStoreError::Timeout`], or
//!   [`SqlStoreError::Unavailable`] when the connection is refused or drops.
//! - **Recover by itself.** The pool checks each connection before lending it (sqlx's
//!   `test_before_acquire`, one round trip) and replaces the broken ones, so once the database
//!   is back the next request gets a new connection: no restart, no new store.
//! - **SQLite** files are opened in WAL mode (readers never wait for the writer), with
//!   `synchronous = FULL` (a committed session survives a power loss), the busy timeout
//!   (a write waits up to the statement timeout for another's lock, then fails with
//!   [`SqlStoreError::Timeout`]) and created if missing. A store's writes take turns in order
//!   (a fair queue in the store, as SQLite has one writer at a time), so under load no write
//!   starves in SQLite's busy handler, which polls. Several processes on one host may
//!   share a file: writes are serialized by SQLite's lock, so
//!   [`compare_and_swap`](session_core::SessionStore::compare_and_swap) stays atomic across
//!   them. Not on a network file system.
//!
//! The store must be built and used inside a Tokio runtime, such as actix-web's (`actix-rt`)
//! or axum's.
//!
//! # Testing against PostgreSQL
//!
//! The crate's tests run against a real PostgreSQL: the one at `DATABASE_URL` if it is a
//! `postgres://` URL (each test uses tables of its own), otherwise a private server they
//! start on a free loopback port ([`test_util`]); without either they are skipped with a
//! message, except when `CI=true`, where they fail.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "postgres", feature = "sqlite")))]
compile_error!("session-sql needs a backend: enable the feature `postgres`, `sqlite` or both");

mod builder;
mod error;
mod pool;
mod store;
mod table;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use crate::builder::SqlSessionStoreBuilder;
pub use crate::error::SqlStoreError;
pub use crate::pool::SqlPool;
pub use crate::store::SqlSessionStore;
/// The sqlx this crate runs on, for the pools given to [`SqlSessionStore::with_pool`].
#[doc(no_inline)]
pub use sqlx;
