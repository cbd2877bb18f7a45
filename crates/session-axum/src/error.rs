//! Errors for the programmer, and how they answer: an empty 500, the cause only in the log.

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

session_engine::session_error! {
    /// An error from a session handle inside a request.
    ///
    /// As an axum response it answers 500 with an empty body and logs the cause, so nothing
    /// internal reaches the client: return it from a handler with `?`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_axum::{Session, SessionError};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart { items: Vec<i32> }
    ///
    /// async fn count(session: Session<Cart>) -> Result<String, SessionError> {
    ///     let items = session.get().await?.map_or(0, |cart| cart.items.len());
    ///     Ok(items.to_string())
    /// }
    /// ```
    #[non_exhaustive]
    pub enum SessionError
}

impl SessionError {
    /// Logs the error: its text and its source go to the log, never to the client.
    pub(crate) fn log(&self) {
        tracing::error!(error = %self, source = ?std::error::Error::source(self), "session error");
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        self.log();
        empty(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A response with `status` and an empty body.
pub(crate) fn empty<B: Default>(status: StatusCode) -> http::Response<B> {
    let mut response = http::Response::new(B::default());
    *response.status_mut() = status;
    response
}
