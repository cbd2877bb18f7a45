//! The typed session extractor.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use http::request::Parts;
use http::{Extensions, HeaderMap, Uri};
use session_engine::{RequestState, SessionHandle};

use crate::SessionError;
use crate::headers::RequestHeaders;

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
/// before the handler returns: once the response is made a handle only returns
/// [`SessionError::RequestFinished`]. Without a [`Sessions`](crate::Sessions) layer around
/// the route, extracting it fails with [`SessionError::MiddlewareMissing`] (an empty 500).
///
/// # Examples
///
/// ```no_run
/// use axum::http::StatusCode;
/// use axum::response::{IntoResponse, Response};
/// use serde::{Deserialize, Serialize};
/// use session_axum::{Session, SessionError};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct UserSession { id: String, count: u32 }
///
/// async fn user(session: Session<UserSession>) -> Result<Response, SessionError> {
///     Ok(match session.get().await? {
///         Some(user) => {
///             session.set(UserSession { count: user.count + 1, ..user.clone() })?;
///             format!("Hello {}, visit {}", user.id, user.count).into_response()
///         }
///         None => StatusCode::UNAUTHORIZED.into_response(),
///     })
/// }
///
/// async fn me(session: Session<UserSession>) -> Result<String, SessionError> {
///     let user = session.require().await?; // no session: an empty 401
///     Ok(user.id)
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
    /// The handle for `T` from the innermost `Sessions` layer around the request that
    /// registered it; the engine reads the request's `headers` and its `uri`'s query.
    pub(crate) fn from_parts(
        extensions: &Extensions,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Self, SessionError> {
        let state = extensions
            .get::<Arc<RequestState>>()
            .ok_or(SessionError::MiddlewareMissing)?;
        state
            .session(&RequestHeaders(headers), uri.query())
            .map(Self)
    }
}

impl<T, S> FromRequestParts<S> for Session<T>
where
    T: Clone + Send + 'static,
    S: Send + Sync,
{
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(&parts.extensions, &parts.headers, &parts.uri)
    }
}
