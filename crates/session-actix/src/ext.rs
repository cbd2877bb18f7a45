//! Access to sessions from code that is not a handler argument.

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::guard::GuardContext;

use crate::{Session, SessionError};

/// Gets a [`Session`] handle from a request, in middleware, guards or helper functions.
///
/// # Examples
///
/// ```no_run
/// use actix_web::HttpRequest;
/// use serde::{Deserialize, Serialize};
/// use session_actix::{SessionError, SessionExt};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct UserSession { name: String }
///
/// async fn user_name(req: &HttpRequest) -> Result<Option<String>, SessionError> {
///     Ok(req.session::<UserSession>()?.get().await?.map(|user| user.name))
/// }
/// ```
pub trait SessionExt {
    /// The handle for session type `T`.
    ///
    /// # Errors
    ///
    /// [`SessionError::MiddlewareMissing`] when no `Sessions` middleware wraps the route, and
    /// [`SessionError::NotRegistered`] when `T` was not registered.
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError>;
}

impl SessionExt for HttpRequest {
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError> {
        Session::from_head(self.head())
    }
}

impl SessionExt for ServiceRequest {
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError> {
        Session::from_head(self.head())
    }
}

impl SessionExt for GuardContext<'_> {
    fn session<T: Clone + Send + 'static>(&self) -> Result<Session<T>, SessionError> {
        Session::from_head(self.head())
    }
}
