//! The service made by the [`CsrfProtection`](super::CsrfProtection) layer.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use futures::future::{BoxFuture, Either};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use session_engine::{CsrfPolicy, CsrfRefusal, TokenSource, is_safe_method};
use tower_service::Service;

use super::Refuse;
use super::form::read_form;
use super::origin::own_origin;
use crate::error::{empty, status_code};
use crate::headers::RequestHeaders;
use crate::{Session, SessionError};

/// The service produced by [`CsrfProtection`](super::CsrfProtection); not used directly.
pub struct CsrfService<S, T> {
    inner: S,
    policy: Arc<CsrfPolicy>,
    refuse: Option<Arc<Refuse>>,
    marker: PhantomData<fn() -> T>,
}

impl<S, T> CsrfService<S, T> {
    pub(super) fn new(inner: S, policy: Arc<CsrfPolicy>, refuse: Option<Arc<Refuse>>) -> Self {
        Self {
            inner,
            policy,
            refuse,
            marker: PhantomData,
        }
    }
}

impl<S: Clone, T> Clone for CsrfService<S, T> {
    fn clone(&self) -> Self {
        Self::new(
            self.inner.clone(),
            Arc::clone(&self.policy),
            self.refuse.clone(),
        )
    }
}

impl<S: fmt::Debug, T> fmt::Debug for CsrfService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfService")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .field("custom_refusal", &self.refuse.is_some())
            .finish()
    }
}

impl<S, ResBody, T> Service<Request<Body>> for CsrfService<S, T>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ResBody: From<Body> + Send + 'static,
    T: Clone + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response<ResBody>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if is_safe_method(req.method().as_str()) {
            return Either::Left(self.inner.call(req));
        }
        // The ready service answers this request; the clone waits for the next one.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let policy = Arc::clone(&self.policy);
        let refuse = self.refuse.clone();
        Either::Right(Box::pin(async move {
            match check::<T>(&policy, req).await {
                Ok(req) => inner.call(req).await,
                Err(Rejected::Refused(refusal)) => Ok(match refuse {
                    Some(refuse) => refuse(refusal).map(ResBody::from),
                    None => empty::<Body>(status_of_refusal(refusal)).map(ResBody::from),
                }),
                Err(Rejected::Failed(error)) => {
                    error.log();
                    Ok(empty::<Body>(status_code(error.status())).map(ResBody::from))
                }
            }
        }))
    }
}

/// Why [`check`] did not give the request back.
enum Rejected {
    /// The policy refused it (logged).
    Refused(CsrfRefusal),
    /// The session could not be read.
    Failed(SessionError),
}

/// Runs the policy's checks on an unsafe request: where it comes from, then its token. Gives
/// the request back, its form body intact, or why not (a refusal is logged at WARN).
async fn check<T: Clone + Send + 'static>(
    policy: &CsrfPolicy,
    req: Request<Body>,
) -> Result<Request<Body>, Rejected> {
    let (parts, body) = req.into_parts();
    let headers = RequestHeaders(&parts.headers);
    let refuse = |refusal: CsrfRefusal| refused(&parts, refusal);
    let source = policy.inspect(&headers, || own_origin(&parts));
    let (provided, body) = match source.map_err(refuse)? {
        TokenSource::NotChecked => return Ok(Request::from_parts(parts, body)),
        TokenSource::Header(token) => (Some(token), body),
        TokenSource::Form => {
            let form = read_form(body).await.map_err(refuse)?;
            (policy.token_in_form(&form), Body::from(form))
        }
        _ => (None, body),
    };
    let session = Session::<T>::from_parts(&parts.extensions, &parts.headers, &parts.uri)
        .map_err(Rejected::Failed)?;
    let expected = session.csrf_token().await.map_err(Rejected::Failed)?;
    CsrfPolicy::check_token(expected.as_deref(), provided.as_deref()).map_err(refuse)?;
    Ok(Request::from_parts(parts, body))
}

/// Logs the refusal at WARN, with the request's method and path.
fn refused(parts: &Parts, refusal: CsrfRefusal) -> Rejected {
    tracing::warn!(
        method = %parts.method,
        path = %parts.uri.path(),
        %refusal,
        "CSRF protection refused the request"
    );
    Rejected::Refused(refusal)
}

fn status_of_refusal(refusal: CsrfRefusal) -> StatusCode {
    StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN)
}
