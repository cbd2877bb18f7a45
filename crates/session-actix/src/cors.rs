//! Wiring header transports into actix-cors.

use actix_cors::Cors;

use crate::Sessions;

impl Sessions {
    /// Allows the session headers in requests ([`allowed_headers`](Self::allowed_headers):
    /// header sessions' names, and `authorization` for bearer sessions) and exposes them in
    /// responses ([`exposed_headers`](Self::exposed_headers): header sessions' names, a bearer
    /// session's response header), the two halves a browser needs to carry a header session
    /// across origins.
    ///
    /// The headers are added to `cors`'s lists. actix-cors narrows "any header" to a list when a
    /// header is added, so to allow or expose any header, call `allow_any_header` or
    /// `expose_any_header` on the result rather than before.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_actix::Cors;
    /// use actix_web::App;
    /// use session_actix::{HeaderTransport, MemoryStore, SessionConfig, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Api;
    /// # fn main() -> Result<(), session_actix::ConfigError> {
    /// let sessions = Sessions::builder()
    ///     .session(
    ///         SessionConfig::<Api>::new(HeaderTransport::new("x-api-session"))
    ///             .store(MemoryStore::new()),
    ///     )
    ///     .build()?;
    /// // The last `wrap` is the outermost: CORS answers preflights before sessions run.
    /// let app = App::new()
    ///     .wrap(sessions.clone())
    ///     .wrap(sessions.cors(Cors::default().allow_any_origin().allowed_methods(["GET"])));
    /// # Ok(()) }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
    pub fn cors(&self, cors: Cors) -> Cors {
        let exposed: Vec<String> = self.exposed_headers().map(str::to_owned).collect();
        self.allowed_headers()
            .fold(cors, |cors, name| cors.allowed_header(name))
            .expose_headers(exposed)
    }
}
