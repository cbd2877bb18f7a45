//! Access to sessions from code that is not a handler argument.

use http::Request;
use http::request::Parts;

use crate::{Session, SessionError};

/// Gets a [`Session`] handle from a request, in middleware or helper functions.
///
/// # Examples
///
/// ```no_run
/// use axum::extract::Request;
/// use serde::{Deserialize, Serialize};
/// use session_axum::{SessionError, SessionExt};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct UserSession { name: String }
///
/// async fn user_name(req: &Request) -> Result<Option<String>, SessionError> {
///     Ok(req.session::<UserSession>()?.get().await?.map(|user| user.name))
/// }
/// ```
pub trait SessionExt {
    /// The handle for session type `T`.
    ///
    /// # Errors
    ///
    /// [`SessionError::MiddlewareMissing`] when no `Sessions` layer wraps the route, and
    /// [`SessionError::NotRegistered`] when `T` was not registered.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::{extract::Request, middleware::Next, response::Response};
    /// use session_axum::{SessionError, SessionExt};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct UserSession;
    ///
    /// // An `axum::middleware::from_fn` middleware, inside the `Sessions` layer.
    /// async fn log_user(req: Request, next: Next) -> Result<Response, SessionError> {
    ///     let signed_in = req.session::<UserSession>()?.get().await?.is_some();
    ///     tracing::info!(signed_in, "request");
    ///     Ok(next.run(req).await)
    /// }
    /// ```
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError>;
}

impl<B> SessionExt for Request<B> {
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError> {
        Session::from_parts(self.extensions(), self.headers(), self.uri())
    }
}

impl SessionExt for Parts {
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError> {
        Session::from_parts(&self.extensions, &self.headers, &self.uri)
    }
}
