//! Errors for the programmer: configuration mistakes and failures inside a handler.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

session_engine::session_error! {
    /// An error from a session handle inside a request.
    ///
    /// As an actix-web error it answers 500 with an empty body and logs the cause, so nothing
    /// internal reaches the client: return it from a handler with `?`.
    #[non_exhaustive]
    pub enum SessionError
}

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!(error = %self, source = ?std::error::Error::source(self), "session error");
        HttpResponse::InternalServerError().finish()
    }
}
