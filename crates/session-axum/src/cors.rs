//! Wiring header transports into tower-http's CORS layer.

use http::HeaderName;
use tower_http::cors::CorsLayer;

use crate::Sessions;

impl Sessions {
    /// Allows every session header in requests and exposes it in responses, the two halves a
    /// browser needs to carry a header session across origins.
    ///
    /// **What it replaces**: tower-http's `allow_headers` and `expose_headers` each set a
    /// whole list (there is no "add one"), so when some session travels in a header this sets
    /// both to exactly the session header names: whatever `cors` had for those two (a list,
    /// `Any`, or `mirror_request`) is replaced. Without header sessions `cors` is returned
    /// as it is. Everything else (origins, methods, credentials, max age, `Vary`) is kept.
    /// To allow or expose more headers, call `allow_headers` or `expose_headers` on the
    /// result with the full list, the session names ([`header_names`](Self::header_names))
    /// included.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::{Router, http::Method, routing::get};
    /// use session_axum::core::MemoryStore;
    /// use session_axum::{HeaderTransport, SessionConfig, Sessions};
    /// use tower_http::cors::{Any, CorsLayer};
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
        let names: Vec<HeaderName> = self
            .header_names()
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        if names.is_empty() {
            return cors;
        }
        cors.allow_headers(names.clone()).expose_headers(names)
    }
}
