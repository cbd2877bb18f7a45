//! Errors for the programmer: configuration mistakes and failures inside a handler.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};

session_engine::session_error! {
    /// An error from a session handle inside a request.
    ///
    /// As an actix-web error it answers 500 with an empty body and logs the cause, so nothing
    /// internal reaches the client: return it from a handler with `?`. A storage that is full
    /// (`SessionError::Store(StoreError::Full { .. })`, see [`SessionError::is_capacity`])
    /// answers an empty 503 Service Unavailable instead, and a session that the route
    /// requires and the request lacks ([`SessionError::Missing`], from
    /// [`require`](session_engine::SessionHandle::require)) an empty 401 Unauthorized, with
    /// `WWW-Authenticate: Bearer` for a bearer session ([`SessionError::challenge`]).
    #[non_exhaustive]
    pub enum SessionError
}

impl ResponseError for SessionError {
    /// [`SessionError::status`]: 401, 503 or 500.
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut response = HttpResponse::build(self.status_code());
        // Checked: a scheme an app put into `Missing` by hand may not be header text.
        if let Some(Ok(challenge)) = self.challenge().map(HeaderValue::from_str) {
            response.insert_header((WWW_AUTHENTICATE, challenge));
        }
        response.finish()
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody as _;

    use super::*;
    use crate::core::StoreError;

    #[test]
    fn a_missing_session_answers_401_a_full_store_503_and_other_failures_500_all_empty() {
        for (error, status) in [
            (
                SessionError::Store(StoreError::Full { capacity: 3 }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                SessionError::Store(StoreError::Timeout),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                SessionError::Missing {
                    name: "user".into(),
                    challenge: None,
                },
                StatusCode::UNAUTHORIZED,
            ),
        ] {
            let response = error.error_response();
            assert_eq!(response.status(), status);
            assert_eq!(
                response.into_body().size(),
                actix_web::body::BodySize::Sized(0)
            );
        }
    }

    /// A bearer session's 401 names its scheme; a scheme that is not header text is left out
    /// rather than failing the response.
    #[test]
    fn a_missing_bearer_session_is_challenged_and_a_bad_scheme_is_left_out() {
        let missing = |challenge| SessionError::Missing {
            name: "api".into(),
            challenge,
        };
        let response = missing(Some("Bearer")).error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
        let response = missing(Some("Bearer\n")).error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
