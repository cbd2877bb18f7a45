//! # session-redis
//!
//! A Redis storage for typed sessions: [`RedisSessionStore`] implements
//! [`SessionStore`](session_core::SessionStore), so every instance of an application behind a
//! load balancer sees the same server-side sessions, and Redis expires them by itself.
//!
//! | Feature | Description | Default |
//! |---|---|---|
//! | `tls-rustls` | `rediss://` URLs, through rustls (ring provider) and the system's root certificates | no |
//! | `tls-rustls-webpki-roots` | like `tls-rustls`, trusting Mozilla's roots compiled in instead of the system's | no |
//! | `cluster` | Redis Cluster, through `RedisSessionStore::cluster_builder` | no |
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use session_core::{SessionId, SessionStore};
//! use session_redis::RedisSessionStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // In an actix-web `main`, then handed to the session middleware as its store.
//! let store = RedisSessionStore::builder(std::env::var("REDIS_URL")?)
//!     .key_prefix("shop:session:")
//!     .build()
//!     .await?;
//!
//! let id = SessionId::generate();
//! store.save(&id, r#"{"user":"ada"}"#, Duration::from_secs(3600)).await?;
//! assert_eq!(store.load(&id).await?.as_deref(), Some(r#"{"user":"ada"}"#));
//! # Ok(())
//! # }
//! ```
//!
//! # Keys and commands
//!
//! A session lives under `<prefix><session ID>`, `session:` by default; give each application
//! its own prefix when several share a Redis database. Each operation is one command and one
//! round trip: `GET` (both loads), `SET … PX` (`save`), `SET … PX … XX` (`replace`: only over
//! a live key, so a write for a session that was logged out or expired meanwhile never brings
//! it back), `DEL`, and an `EVAL` script for `touch` and `compare_and_swap`. Expiry is Redis's
//! own: no sweeper, no stale reads. The value is
//! `@<expiry, ms since the Unix epoch> <text>`: the expiry travels with the text, so a load
//! needs no second command (`PTTL`) to report it; `touch` rewrites that prefix and the time to
//! live together, in Redis, keeping the text. A value in another form (written by someone
//! else) reads as all text of unknown expiry.
//!
//! # Connection and failures
//!
//! The store talks to Redis over [`ConnectionManager`](redis::aio::ConnectionManager)s of the
//! `redis` crate: multiplexed connections that pipeline the commands of concurrent requests,
//! and replace themselves when they break. It keeps **one per thread and Tokio runtime**,
//! shared by all clones of the store on that thread:
//!
//! - **The startup connection still checks the server.**
//!   [`build`](RedisSessionStoreBuilder::build) connects, so a wrong URL, password or an
//!   unreachable Redis fails at startup. That connection then serves the thread and runtime
//!   that built the store (in actix-web, `main`).
//! - **Each worker opens its own, on first use.** Another thread (an actix-web worker, with
//!   its own current-thread runtime) opens its connection on its first operation, within that
//!   operation's time limit. A failure to connect fails that operation as a failed command
//!   would ([`RedisStoreError::Unavailable`] when Redis cannot be reached,
//!   [`RedisStoreError::Timeout`] when it does not answer in time), and the next operation
//!   tries again. Concurrent first operations wait for the same connection. The connection's
//!   I/O task runs on the worker's runtime, so its commands never leave the worker's thread;
//!   with one connection shared by all threads, each command and each reply would hop to the
//!   thread that opened it, two wake-ups and context switches per operation.
//! - **How many connections to expect**: one per worker thread and store, plus one per store
//!   for the thread that built it (idle in an actix-web app): `workers × stores + stores`.
//!   Clones of a store share its connections; two stores built separately do not.
//! - **Nothing lingers.** A thread's connection closes when the thread ends, when its runtime
//!   shuts down (a later runtime on that thread opens a new one), or when the last clone of
//!   its store is dropped (at that thread's next operation on any store). A thread keeps at
//!   most 32 connections; beyond, the oldest is closed, and opened again if used again.
//!
//! When Redis fails:
//!
//! - **Fail fast.** Every operation is bounded by the
//!   [response timeout](RedisSessionStoreBuilder::response_timeout) (1 s by default), including
//!   any wait for a reconnection or for the thread's first connection. While Redis is down,
//!   operations fail with [`RedisStoreError::Unavailable`] (connection refused: within
//!   milliseconds) or [`RedisStoreError::Timeout`] (hung or unreachable server); the
//!   middleware answers an opaque server error and requests do not pile up.
//! - **Recover by itself.** A broken connection is replaced by a single connection attempt,
//!   without a backoff schedule; while Redis is down, each operation starts a new attempt.
//!   Once Redis is back, the next operation reconnects and succeeds: no restart, no rebuild.
//! - **RESP3 when the server has it.** Unless the URL names a protocol (`?protocol=resp2`),
//!   the store speaks RESP3, over which the connection manager hears at once that Redis
//!   closed the connection (a restart, its idle `timeout`, `CLIENT KILL`) and reconnects in
//!   the background, before the next command. A server without `HELLO` (Redis before 6, some
//!   proxies) is detected when the store is built and spoken to in RESP2.
//! - **One retry after a dropped connection.** A command that still meets a dropped
//!   connection (over RESP2, or in the instant before the background reconnection) is sent
//!   once more on the new connection, within the same time limit. Reads, `SET`, `DEL`, the
//!   `touch` script and `replace`'s `SET … XX` are idempotent, so this is safe (actix-session
//!   added the same retry after its issue #230): a second `SET … XX` writes the same value
//!   again, or nothing if the session was deleted in between, never a key that is gone.
//!   `compare_and_swap` is not, and is never sent twice: it fails with
//!   [`RedisStoreError::Unavailable`], and the next operation gets a new connection.
//! - **Dead connections are found.** The redis crate replaces a connection on connection
//!   errors, not on timeouts, so a connection whose packets vanish (a NAT or firewall forgot
//!   it, a failed-over host is gone) could otherwise time out request after request until the
//!   kernel gives up, about 15 minutes later. Connections therefore use TCP keepalive (probes
//!   after 30 s idle) and, on Linux, `TCP_USER_TIMEOUT` (10 s of unacknowledged data closes
//!   the connection), plus `TCP_NODELAY` for the small pipelined commands.
//!
//! The store must be built and used inside a Tokio runtime, such as actix-web's (`actix-rt`);
//! elsewhere it answers [`RedisStoreError::InvalidConfig`].
//!
//! ## Why `redis` with its `ConnectionManager`
//!
//! - Against a pool (`deadpool-redis`, `bb8`): session commands are small and independent,
//!   so one multiplexed connection per worker pipelines hundreds of concurrent requests
//!   without checkout, pool sizing or per-request handshakes, and there is no pool to exhaust
//!   when Redis is slow. A pool would only help with blocking commands or `WATCH`, which sessions
//!   do not use.
//! - Against `fred`: it is a fine client with reconnection policies of its own, but `redis`
//!   is the reference client (actix-session uses it), has the reconnecting multiplexed
//!   connection built in, and its time limits and retry count are all this store needs to
//!   configure.
//!
//! # TLS
//!
//! With the `tls-rustls` feature, `rediss://` URLs connect over TLS, verifying the server
//! against the system's root certificates (`tls-rustls-webpki-roots`: Mozilla's), or against
//! the CA given to `RedisSessionStoreBuilder::tls_root_certificates` for a Redis certified by a
//! private CA. Client certificates (mutual TLS) are not offered yet. If no rustls
//! crypto provider is installed when the store is built, the store installs rustls's `ring`
//! provider as the process default; an application that wants another provider installs it
//! first. Without the feature, a `rediss://` URL is refused with
//! [`RedisStoreError::InvalidUrl`] rather than silently connecting in clear text.
//!
//! # Redis Cluster
//!
//! With the `cluster` feature, `RedisSessionStore::cluster_builder` connects to a Redis
//! Cluster through the `redis` crate's asynchronous cluster client, which routes each command
//! to the node holding the key's slot, follows `MOVED`/`ASK` redirections and reconnects to
//! nodes by itself. Every command touches exactly one key, so no hash tags are needed. As with
//! a single server, each thread and runtime has its own cluster connection (one connection
//! per node it talks to), opened on first use. The same time limits apply; the cluster client
//! does its own retries within the response timeout, and this store adds none, except for
//! `compare_and_swap`.
//!
//! The cluster client's retries would send a `compare_and_swap` again after a dropped
//! connection; had the first one swapped, the second would report a conflict and the caller
//! would apply its change twice. So a thread's first `compare_and_swap` opens a second
//! cluster connection, from a client without retries, which sends each swap once: a dropped
//! connection fails it with [`RedisStoreError::Unavailable`], as on a single server. The
//! store follows the redirections itself on that connection (`MOVED`, and `ASK` with
//! `ASKING`, while slots move between nodes) and sends a swap again after a pause when the
//! cluster refused it without running it (`TRYAGAIN`, `CLUSTERDOWN`, `LOADING`,
//! `MASTERDOWN`, `READONLY`, or no connection to the node yet), within the response timeout.
//! Expect up to `2 × (workers + 1) × nodes` connections per store (threads that never swap
//! have one per node). The idempotent operations, `replace` and `touch` among them, keep the
//! cluster client's retries.
//!
//! # Concurrent requests
//!
//! [`compare_and_swap`](session_core::SessionStore::compare_and_swap) is a Lua script on the
//! session's key (`GET`, compare, `SET … PX`), which Redis runs atomically, so two requests
//! updating one session cannot both win and no update is lost. It is the only command never
//! sent again after a dropped connection, on a single server or a cluster: had the first
//! attempt swapped, the second would report a conflict and the caller would apply its change
//! twice. (`WATCH`/`MULTI` could not
//! do this on a connection multiplexed between requests: `WATCH` state belongs to the
//! connection.) A script on one key also works unchanged on a Redis Cluster.
//!
//! # Testing against Redis
//!
//! The crate's tests run against a real Redis: the one at `REDIS_URL` if set, otherwise a
//! private `redis-server` they start on a free loopback port; without either they are skipped
//! with a message, except when `CI=true`, where they fail.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
#[cfg(feature = "cluster")]
mod cluster;
mod command;
mod connection;
mod error;
mod local;
mod store;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
#[cfg(feature = "tls-rustls")]
mod tls;
mod value;

pub use crate::builder::RedisSessionStoreBuilder;
pub use crate::error::RedisStoreError;
pub use crate::store::RedisSessionStore;
