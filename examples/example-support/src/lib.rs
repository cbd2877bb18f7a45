//! What the session examples share, so each `main` shows only its sessions and routes, and so
//! each actix-web example and its axum twin (`axum-session-…`) behave the same by construction:
//!
//! - keys read from environment variables as hex ([`encryption_key`], [`signing_key`]), or,
//!   when the variable is not set, from a development key file under `build/` made on the first
//!   start (mode 0600, one per kind of key, reused by later starts and by other processes in the
//!   same directory; a warning says so); the storage ([`store_from_env`]: Redis from
//!   `REDIS_URL`, PostgreSQL or SQLite from `DATABASE_URL`,
//!   [`directory_store`], [`memory_store`] bounded by `MEMORY_STORE_CAPACITY`), timeouts
//!   ([`seconds_from_env`]), the opt-in query fallback ([`query_fallback_from_env`]) and
//!   address ([`bind_addr`]) from the environment; why a start
//!   failed ([`StartError`], one line, exit code 1);
//! - logging to stderr ([`init_tracing`]);
//! - the session types, forms and texts of the examples: [`CartSession`] (the two cart
//!   examples), [`UserSession`] (the client-side one), [`LoginSession`] and the device list
//!   [`Devices`] (the lifecycle one);
//! - per framework, behind a feature: starting the server on `BIND_ADDR` and announcing the
//!   bound address, and the text and redirect responses ([`actix`] with feature `actix`,
//!   [`axum`] with feature `axum`).
//!
//! One crate with a module per framework rather than a support crate per framework: the
//! framework-free part is most of it and both glues are a page each, so one place reads best;
//! an example enables only its own framework's feature, so the actix examples never compile
//! axum and the other way round.

mod cart;
mod dev_key;
mod devices;
mod env;
mod error;
mod logging;
mod login;
mod memory;
mod query;
mod user;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

pub use crate::cart::{CART_EMPTY, CartSession, LOGIN_DONE, LOGOUT_DONE};
pub use crate::dev_key::{
    DEFAULT_DEV_KEY_DIR, DEV_KEY_DIR_VAR, ENCRYPTION_KEY_FILE, KeyFileProblem, SIGNING_KEY_FILE,
};
pub use crate::devices::{CAPACITY, Devices};
pub use crate::env::{
    BIND_ADDR_VAR, DATABASE_URL_VAR, DEFAULT_BIND_ADDR, DEFAULT_SESSIONS_DIR, ENCRYPTION_KEY_VAR,
    REDIS_URL_VAR, SESSIONS_DIR_VAR, SIGNING_KEY_VAR, bind_addr, directory_store, encryption_key,
    seconds_from_env, signing_key, store_from_env,
};
pub use crate::error::StartError;
pub use crate::logging::init_tracing;
pub use crate::login::{
    ABSOLUTE_TIMEOUT_VAR, DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_ROTATE_GRACE,
    HTML_CONTENT_TYPE, IDLE_TIMEOUT_VAR, LOGGED_OUT, LoginForm, LoginSession, NOT_LOGGED_IN,
    ROTATE_GRACE_VAR, ROTATE_ID_VAR, TransferForm, USERNAME_RULE, logged_out_others, page,
    rotation_from_env, timeouts_from_env,
};
pub use crate::memory::{DEFAULT_MEMORY_STORE_CAPACITY, MEMORY_STORE_CAPACITY_VAR, memory_store};
pub use crate::query::{QUERY_FALLBACK_VAR, query_fallback_from_env};
pub use crate::user::{NO_USER_SESSION, UserSession};

/// `text/plain; charset=utf-8`, the type of every text answer (actix-web's
/// `ContentType::plaintext()`).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";
