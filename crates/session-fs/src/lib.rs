//! # session-fs
//!
//! A directory storage for typed sessions that you can trust on a single host: atomic and
//! durable writes, native expiry, owner-only permissions (directories that others could write
//! into and symbolic links are refused, never used), no cache (several processes can share a
//! directory), and no way for a client to name a path.
//!
//! Use it through `session-actix` with the `fs` feature, or directly as a
//! [`SessionStore`](session_core::SessionStore).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use session_core::{SessionId, SessionStore};
//! use session_fs::{Durability, FsSessionStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = FsSessionStore::new("build/.sessions")?.with_durability(Durability::Fsync);
//! let _sweeper = store.spawn_sweeper(Duration::from_secs(300));
//! let id = SessionId::generate();
//! store.save(&id, r#"{"cart":[1,3,7]}"#, Duration::from_secs(3600)).await?;
//! assert!(store.load(&id).await?.is_some());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod layout;
mod secure;
mod store;
mod sweep;
mod upkeep;

pub use crate::error::{DirectoryProblem, FsStoreError};
pub use crate::store::{Durability, FsSessionStore};
pub use crate::sweep::SweepReport;
