//! The typed session extractor.

use std::fmt;
use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::{Payload, RequestHead};
use actix_web::{FromRequest, HttpRequest};
use session_engine::SessionHandle;

use crate::{SessionError, active};

/// The session of type `T` in the current request.
///
/// Use it as a handler argument (an extractor) or get it with
/// [`SessionExt::session`](crate::SessionExt::session). Its operations (`get`, `require`,
/// `set`, `update`, `clear`, `renew`, `id`, `csrf_token`, `masked_csrf_token`,
/// `invalidate_id`) are those of the engine's [`SessionHandle`], reached through `Deref`, and
/// return [`SessionError`]. A route that needs a session calls
/// [`require`](SessionHandle::require) instead of `get`: without one it returns
/// [`SessionError::Missing`], which answers an empty `401 Unauthorized`. Nothing is unsealed or read from storage until `get` (or `id`) is
/// called, and nothing is written unless the handler changes the session.
///
/// The handle is `Send + Sync` and cheap to clone; all clones in a request share one state.
/// To use the session in a task the handler spawns, move the handle there and await the task
/// before the handler returns: a task cannot get a handle by itself
/// ([`SessionError::MiddlewareMissing`]), and once the response is made a handle only returns
/// [`SessionError::RequestFinished`].
///
/// # Examples
///
/// ```no_run
/// use actix_web::{HttpResponse, get};
/// use serde::{Deserialize, Serialize};
/// use session_actix::{Session, SessionError};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct UserSession { id: String, count: u32 }
///
/// #[get("/user")]
/// async fn user(session: Session<UserSession>) -> Result<HttpResponse, SessionError> {
///     Ok(match session.get().await? {
///         Some(user) => {
///             session.set(UserSession { count: user.count + 1, ..user.clone() })?;
///             HttpResponse::Ok().body(format!("Hello {}, visit {}", user.id, user.count))
///         }
///         None => HttpResponse::Unauthorized().finish(),
///     })
/// }
///
/// #[get("/me")]
/// async fn me(session: Session<UserSession>) -> Result<HttpResponse, SessionError> {
///     let me = session.require().await?; // no session: an empty 401
///     Ok(HttpResponse::Ok().body(me.id))
/// }
/// ```
pub struct Session<T>(SessionHandle<T, SessionError>);

impl<T> Clone for Session<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Deref for Session<T> {
    type Target = SessionHandle<T, SessionError>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T: Clone + Send + 'static> Session<T> {
    /// The handle for `T` from the innermost active `Sessions` layer that registered it.
    pub(crate) fn from_head(head: &RequestHead) -> Result<Self, SessionError> {
        active::session(head).map(Self)
    }
}

impl<T: Clone + Send + 'static> FromRequest for Session<T> {
    type Error = SessionError;
    type Future = Ready<Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Self::from_head(req.head()))
    }
}
