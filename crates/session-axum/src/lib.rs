//! # session-axum
//!
//! Typed, secure and lazy sessions for axum, modelled on Ktor's `Sessions` plugin.
//!
//! Each session is a serde type of your own, registered once with a name, a **transport** (a
//! [`CookieTransport`] or a [`HeaderTransport`]) and a **mode**: client-side (the whole value
//! travels, sealed by [`Encrypt`] or [`Sign`]) or server-side (only
//! an unguessable ID travels; the value lives in a [`SessionStore`]).
//! The framework-free logic lives in [`engine`] (`session-engine`); this crate is the axum
//! adapter: a tower layer, an extractor, errors as responses and CORS wiring. It behaves as
//! `session-actix` does, byte for byte. Handlers read and change sessions through the
//! [`Session`] extractor.
//!
//! - **Lazy**: nothing is unsealed or read from storage until a handler asks.
//! - **Writes only what changed**: a plain read sends no cookie and writes nothing.
//! - **Bad input is no session**: forged, truncated, oversized, unknown or old-schema values
//!   give `None` (and an expiring cookie), never an error page.
//! - **Secure defaults**: `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`,
//!   browser-session cookies; server-side IDs of 256 bits; `Session::renew` on login.
//!
//! **One import path**: everything an app names (configuration, transports, keys,
//! transformers, stores, IDs, errors) is at this crate's root: `use session_axum::{…};`. The
//! examples on the items it re-exports from the engine and the core hide their imports (one
//! text serves both adapters): the names they use are at this crate's root, except the
//! engine's `Registry` and CSRF policy types, under [`engine`], and `Record`, under
//! [`core`](mod@core).
//!
//! | Feature | Description | Default |
//! |---|---|---|
//! | `cors` | `Sessions::cors`, wiring header transports into tower-http 0.6's `CorsLayer`, re-exported as `cors` | no |
//! | `fs` | `FsSessionStore`, the directory storage of `session-fs` | no |
//! | `redis` | `RedisSessionStore`, the Redis storage of `session-redis` | no |
//! | `postgres` | `SqlSessionStore` on PostgreSQL, the SQL storage of `session-sql` | no |
//! | `sqlite` | `SqlSessionStore` on an SQLite file, the SQL storage of `session-sql` | no |
//! | `ktor` | `KtorEncrypt`, Ktor's encrypted-session format | no |
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use serde::{Deserialize, Serialize};
//! use session_axum::{
//!     CookieTransport, Encrypt, EncryptionKey, Session, SessionConfig, SessionError, Sessions,
//! };
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Visits { count: u32 }
//!
//! async fn index(session: Session<Visits>) -> Result<String, SessionError> {
//!     let count = session.get().await?.map_or(0, |v| v.count) + 1;
//!     session.set(Visits { count })?;
//!     Ok(format!("visit {count}"))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let key = EncryptionKey::from_env("SESSION_ENCRYPTION_KEY")?;
//!     let sessions = Sessions::builder()
//!         .session(
//!             SessionConfig::<Visits>::new(
//!                 CookieTransport::new("visits").max_age(Duration::from_secs(3600)),
//!             )
//!             .transform(Encrypt::new(key)),
//!         )
//!         .build()?;
//!     let app = Router::new().route("/", get(index)).layer(sessions);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "cors")]
#[path = "cors.rs"]
mod cors_wiring;
mod csrf;
mod error;
mod ext;
mod future;
mod headers;
mod service;
mod session;
mod sessions;

// The configuration, transports, keys, transformers, serializers, IDs and storages, with a
// page each in this crate's docs, and the `core` and `engine` modules: the same in every
// adapter.
session_engine::adapter_reexports!();

pub use crate::csrf::CsrfProtection;
#[doc(hidden)]
pub use crate::csrf::CsrfService;
pub use crate::error::SessionError;
pub use crate::ext::SessionExt;
#[doc(hidden)]
pub use crate::future::SessionsFuture;
#[doc(hidden)]
pub use crate::service::SessionsService;
pub use crate::session::Session;
pub use crate::sessions::Sessions;
#[doc(inline)]
pub use session_engine::CsrfRefusal;
#[cfg(feature = "fs")]
#[cfg_attr(docsrs, doc(cfg(feature = "fs")))]
#[doc(inline)]
pub use session_fs::{DirectoryProblem, Durability, FsSessionStore, FsStoreError, SweepReport};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(inline)]
pub use session_redis::{RedisSessionStore, RedisSessionStoreBuilder, RedisStoreError};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "sqlite"))))]
#[doc(inline)]
pub use session_sql::{SqlPool, SqlSessionStore, SqlSessionStoreBuilder, SqlStoreError};
/// tower-http's (0.6) CORS layer, which [`Sessions::cors`] takes. Import it from here: a
/// `CorsLayer` of another tower-http version is a different type.
#[cfg(feature = "cors")]
#[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
#[doc(no_inline)]
pub use tower_http::cors;

/// Collects session registrations for [`Sessions`]; [`build`](session_engine::SessionsBuilder::build)
/// checks them.
///
/// # Examples
///
/// ```no_run
/// use session_axum::{
///     CookieTransport, MemoryStore, SessionConfig, Sessions, SessionsBuilder, Sign, SigningKey,
/// };
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let builder: SessionsBuilder = Sessions::builder().session(
///     SessionConfig::<Cart>::new(CookieTransport::new("cart"))
///         .store(MemoryStore::new())
///         .transform(Sign::new(SigningKey::from_env("SESSION_SIGNING_KEY")?)),
/// );
/// let sessions: Sessions = builder.build()?;
/// # Ok(()) }
/// ```
pub type SessionsBuilder = session_engine::SessionsBuilder<Sessions>;
