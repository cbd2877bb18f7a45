//! Wiring header transports into tower-http's CORS layer.

use http::HeaderName;
use tower_http::cors::CorsLayer;

use crate::Sessions;

impl Sessions {
    /// Allows the session headers in requests ([`allowed_headers`](Self::allowed_headers):
    /// header sessions' names, and `authorization` for bearer sessions) and exposes them in
    /// responses ([`exposed_headers`](Self::exposed_headers): header sessions' names, a bearer
    /// session's response header), the two halves a browser needs to carry a header session
    /// across origins.
    ///
    /// **What it replaces**: tower-http's `allow_headers` and `expose_headers` each set a
    /// whole list (there is no "add one"), so when some session travels in a header this sets
    /// them to exactly those lists: whatever `cors` had for those two (a list, `Any`, or
    /// `mirror_request`) is replaced. Without header sessions `cors` is returned as it is.
    /// Everything else (origins, methods, credentials, max age, `Vary`) is kept. To allow or
    /// expose more headers, call `allow_headers` or `expose_headers` on the result with the
    /// full list, the session headers included. (`Any` would not do for a bearer session
    /// anyway: the CORS wildcard never covers `Authorization`.)
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::{Router, http::Method, routing::get};
    /// use session_axum::{HeaderTransport, MemoryStore, SessionConfig, Sessions};
    /// use session_axum::cors::{Any, CorsLayer};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Api;
    /// # fn main() -> Result<(), session_axum::ConfigError> {
    /// let sessions = Sessions::builder()
    ///     .session(
    ///         SessionConfig::<Api>::new(HeaderTransport::new("x-api-session"))
    ///             .store(MemoryStore::new()),
    ///     )
    ///     .build()?;
    /// // The last `layer` is the outermost: CORS answers preflights before sessions run.
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .layer(sessions.clone())
    ///     .layer(sessions.cors(CorsLayer::new().allow_origin(Any).allow_methods([Method::GET])));
    /// # Ok(()) }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
    pub fn cors(&self, cors: CorsLayer) -> CorsLayer {
        let allowed = header_names(self.allowed_headers());
        if allowed.is_empty() {
            return cors;
        }
        cors.allow_headers(allowed)
            .expose_headers(header_names(self.exposed_headers()))
    }
}

/// The names as tower-http takes them (the engine's are valid already).
fn header_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<HeaderName> {
    names
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .collect()
}
