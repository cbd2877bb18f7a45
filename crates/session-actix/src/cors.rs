//! Wiring header transports into actix-cors.

use actix_cors::Cors;

use crate::Sessions;

impl Sessions {
    /// Allows every session header in requests and exposes it in responses, the two halves a
    /// browser needs to carry a header session across origins.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use actix_cors::Cors;
    /// use actix_web::App;
    /// # fn sessions() -> session_actix::Sessions { unimplemented!() }
    /// let sessions = sessions();
    /// let app = App::new()
    ///     .wrap(sessions.clone())
    ///     .wrap(sessions.cors(Cors::default().allow_any_origin()));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
    pub fn cors(&self, cors: Cors) -> Cors {
        let names: Vec<String> = self.header_names().map(str::to_owned).collect();
        names
            .iter()
            .fold(cors, |cors, name| cors.allowed_header(name.as_str()))
            .expose_headers(names)
    }
}
