//! Errors for the programmer, and how they answer: an empty 500, the cause only in the log.

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

session_engine::session_error! {
    /// An error from a session handle inside a request.
    ///
    /// As an axum response it answers 500 with an empty body and logs the cause, so nothing
    /// internal reaches the client: return it from a handler with `?`. A storage that is full
    /// (`SessionError::Store(StoreError::Full { .. })`, see [`SessionError::is_capacity`])
    /// answers an empty 503 Service Unavailable instead, and a session that the route
    /// requires and the request lacks ([`SessionError::Missing`], from
    /// [`require`](session_engine::SessionHandle::require)) an empty 401 Unauthorized, with
    /// `WWW-Authenticate: Bearer` for a bearer session ([`SessionError::challenge`]).
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

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        self.log();
        let mut response: Response = empty(status_code(self.status()));
        // `from_str`: a scheme an app put into `Missing` by hand may not be header text.
        if let Some(Ok(challenge)) = self.challenge().map(http::HeaderValue::from_str) {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// The `StatusCode` of a session error's [`SessionError::status`].
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response with `status` and an empty body.
pub(crate) fn empty<B: Default>(status: StatusCode) -> http::Response<B> {
    let mut response = http::Response::new(B::default());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
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
            let response = error.into_response();
            assert_eq!(response.status(), status);
            let body = axum_core::body::Body::new(response.into_body());
            let mut stream = body.into_data_stream();
            let first = futures::executor::block_on(futures::StreamExt::next(&mut stream));
            assert!(first.is_none(), "an empty body");
        }
    }

    /// A bearer session's 401 names its scheme; a scheme that is not header text is left out
    /// rather than panicking.
    #[test]
    fn a_missing_bearer_session_is_challenged_and_a_bad_scheme_is_left_out() {
        let missing = |challenge| SessionError::Missing {
            name: "api".into(),
            challenge,
        };
        let response = missing(Some("Bearer")).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers().get(http::header::WWW_AUTHENTICATE);
        assert_eq!(challenge.unwrap(), "Bearer");
        let response = missing(Some("Bearer\n")).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response
                .headers()
                .get(http::header::WWW_AUTHENTICATE)
                .is_none()
        );
    }
}
