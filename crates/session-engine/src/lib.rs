//! # session-engine
//!
//! The framework-free engine of typed sessions: what [`session-actix`] and [`session-axum`]
//! share, so that both behave the same, byte for byte. Apps use an adapter; this crate is for
//! the adapters, and for whoever writes the next one.
//!
//! It holds the configuration and registry ([`SessionConfig`], [`SessionsBuilder`],
//! [`Registry`]), the transports ([`CookieTransport`], [`HeaderTransport`] and its bearer
//! form: their rules, reading values from raw header bytes, rendering `Set-Cookie` and header
//! values, the opt-in query fallback), the timeouts, loading and unsealing, the per-request
//! state ([`RequestState`]), the persist decision ([`Changes`]), the handle's operations
//! ([`SessionHandle`]), the CSRF policy ([`CsrfPolicy`]) and the errors. It depends on no
//! web framework, no HTTP crate and no async runtime: headers come in as bytes ([`Headers`]),
//! with the URL's raw query as text, and go out as [`bytes::Bytes`] ([`HeadersMut`]), and
//! time comes only from the registry's [`Clock`](core::Clock).
//!
//! Why a crate of its own rather than more of `session-core`: `session-core` is the storage
//! and codec layer that store crates (`session-fs`, `session-redis`) build on; they need
//! neither transports nor request lifecycles. Each crate keeps one concept.
//!
//! [`session-actix`]: https://docs.rs/session-actix
//! [`session-axum`]: https://docs.rs/session-axum
//!
//! # Writing an adapter
//!
//! An adapter is a layer (middleware), an extractor and an error type. Its parts:
//!
//! 1. **Headers.** Wrap the framework's header map in a type of your own and implement
//!    [`Headers`] (read) and [`HeadersMut`] (write) for it; over an `http` crate's
//!    `HeaderMap` (0.2 or 1.x), [`http_headers!`] writes both.
//! 2. **Errors.** Define the app-facing error with [`session_error!`], and implement the
//!    framework's error-to-response trait for it: every variant answers an empty
//!    `500 Internal Server Error` (the cause is logged, never sent), except
//!    [`SessionError::Missing`] (an empty `401 Unauthorized`, with a `WWW-Authenticate`
//!    header when [`SessionError::challenge`] names a scheme) and a full store
//!    ([`SessionError::is_capacity`]: an empty `503 Service Unavailable`).
//! 3. **The layer**, built from a [`Registry`] (`SessionsBuilder<YourSessions>::build`
//!    makes your type through `From<Registry>`). For each request:
//!    - make a [`RequestState::new`], passing the state of an enclosing layer of the same
//!      request if there is one (nested layers: a type registered only outside is served
//!      from there), and make it reachable by the extractor: the request's extensions
//!      (session-axum), or anything that costs less and cannot hand one request's state to
//!      another (session-actix keeps a per-thread stack of the layers whose request is being
//!      polled, and tells requests apart by their header map's address);
//!    - call the inner service;
//!    - take [`RequestState::take_changes`]: `None` (no session touched) means nothing to do;
//!      otherwise [`Changes::apply`] with the response's status and headers, and answer an
//!      empty 500 instead if it fails ([`Changes::apply_now`] first spares the future when no
//!      storage is involved). If the inner service failed without a response, call
//!      [`Changes::apply_after_error`] and pass the error on.
//! 4. **The extractor** `Session<T>`: a newtype over [`SessionHandle<T, YourError>`] (with
//!    `Deref`), made by [`RequestState::session`] from the request's headers and its raw
//!    query: the URL's part after `?`, as received (still percent-encoded; `None` without
//!    one), which only a cookie's opt-in [`CookieTransport::query_fallback`] reads (actix-web:
//!    `head.uri.query()`; http 1.x: `parts.uri.query()`). Pass the real query, never `None`
//!    for convenience: an app that turns the fallback on would silently get no session. Outside
//!    a layer it fails with [`SessionError::MiddlewareMissing`].
//! 5. **CSRF**: a layer holding a [`CsrfPolicy`]: pass [`is_safe_method`]s, then
//!    [`CsrfPolicy::inspect`] (origin, then where the token is), read a form body into a
//!    [`FormBody`] when the token is there (and hand it on intact), and
//!    [`CsrfPolicy::check_token`] against [`SessionHandle::csrf_token`]; an
//!    [`origin_only`](CsrfPolicy::origin_only) policy's [`TokenSource::NotChecked`] passes at
//!    once. Log a refusal at WARN with its reason and refuse with an empty
//!    [`CsrfRefusal::status`], or with the app's own response if it gave one.
//! 6. **CORS** (optional): allow [`Registry::allowed_headers`] in requests and expose
//!    [`Registry::exposed_headers`] in responses (bearer sessions are read from
//!    `Authorization` and handed out in another header, so the two lists differ).
//!
//! **The suite it must pass.** [`session-suite`] states the lifecycle, persistence,
//! transport, tampering and CSRF behaviours once, as HTTP exchanges against an app whose
//! logic it owns. An adapter implements its one trait, `session_suite::Adapter` (run a
//! future, start the suite's app with the adapter's layers, send a request in-process), and
//! `session_suite::behaviour_suite!(MyAdapter)` makes one test per scenario;
//! `session_suite::store_scenarios!(MyAdapter, my_crate)` adds those that need a real store
//! (directory, Redis, SQL). session-actix and session-axum run both in their `tests/suite.rs`
//! (about 150 lines each); a new adapter is done when every scenario passes.
//!
//! [`session-suite`]: https://docs.rs/session-suite
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bearer;
mod caching;
mod changes;
mod config;
mod csrf;
mod error;
mod escape;
mod handle;
mod headers;
mod http_headers;
mod incoming;
mod lifetime;
mod outgoing;
mod persist;
mod provider;
mod reexports;
mod registry;
mod request;
mod rotation;
mod slot;
mod transport;

pub use bytes;
pub use cookie;
/// The storage and codec layer: keys, transformers, serializers, IDs and storages.
pub use session_core as core;
#[doc(hidden)]
pub use tracing as __tracing;

pub use crate::changes::Changes;
pub use crate::config::{
    DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, SessionConfig, SessionsBuilder,
};
pub use crate::csrf::{
    CSRF_FORM_FIELD, CSRF_HEADER, CsrfPolicy, CsrfRefusal, FormBody, MAX_FORM_LEN, TokenSource,
    is_safe_method,
};
pub use crate::error::{ConfigError, SessionError};
pub use crate::handle::SessionHandle;
pub use crate::headers::{HeaderKey, HeaderList, Headers, HeadersMut};
pub use crate::registry::Registry;
pub use crate::request::RequestState;
pub use crate::rotation::DEFAULT_ROTATION_GRACE;
pub use crate::transport::{CookieTransport, HeaderTransport, Transport};
