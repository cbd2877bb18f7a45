//! CSRF protection tied to a session: a cheap `Sec-Fetch-Site`/`Origin` check, then the
//! synchronizer token pattern, with tokens masked per response against BREACH.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::HeaderName;
use actix_web::http::{Method, StatusCode};
use actix_web::{Error, HttpResponse};
use futures::future::LocalBoxFuture;
use session_core::{csrf_token_matches, mask_csrf_token};

use self::origin::normalize_origin;
use crate::{Session, SessionError, SessionExt as _};

mod form;
mod origin;

/// The request header read for the token by default.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field read for the token by default.
pub const CSRF_FORM_FIELD: &str = "csrf_token";
/// Form bodies larger than this are not searched for the token (`413 Payload Too Large`).
const MAX_FORM_LEN: usize = 64 * 1024;
/// Set by browsers on every request: where it comes from, relative to the target.
static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Rejects cross-site requests and unsafe requests that do not carry the CSRF token of
/// session `T`.
///
/// # What is checked
///
/// `GET`, `HEAD` and `OPTIONS` are safe and pass untouched; every other method (`POST`,
/// `PUT`, `PATCH`, `DELETE`, `TRACE`, anything custom) is checked. Handlers of safe methods
/// must not change state. Two checks run, in this order, and a request must pass both:
///
/// 1. **Where the request comes from**, from headers alone, before any session is loaded:
///    - `Sec-Fetch-Site` (sent by every current browser, and not settable by page scripts):
///      `same-origin` and `none` (typed URL, bookmark) go on; `same-site` is refused unless
///      [`allow_same_site`](Self::allow_same_site) was called (a sibling subdomain is another
///      party, and may be compromised); `cross-site` and any other value are refused, unless
///      the request's `Origin` is one of the [`allowed_origin`](Self::allowed_origin)s.
///    - Without `Sec-Fetch-Site` (older browsers, non-browser clients): an `Origin` header that
///      is present is compared with the request's own origin, `scheme://host[:port]` as
///      actix-web's [`ConnectionInfo`](actix_web::dev::ConnectionInfo) sees it, and with the
///      allowed origins; any other origin is refused, and so is `Origin: null` (sandboxed
///      frames, some redirects, `file:` pages).
///    - Neither header: the token check alone decides.
/// 2. **The token** of the session, from [`Session::csrf_token`] or
///    [`Session::masked_csrf_token`]: put it in a hidden `csrf_token` form field or an
///    `X-CSRF-Token` header. A request without a session has no token and is refused. The
///    check is constant-time. A URL-encoded form body is read (up to 64 KiB) to find the field
///    and then handed on intact to the handler; multipart forms must send the header.
///
/// Refusals answer with an empty body: `403 Forbidden` for a cross-site request or a missing
/// or wrong token, `413 Payload Too Large` for a URL-encoded form over 64 KiB without the
/// header (too large to search, which says nothing about forgery), and `400 Bad Request` when
/// the body fails while it is read: the handler never sees a truncated form.
///
/// # Masking (BREACH)
///
/// The raw token is the same secret in every page; with HTTP compression, an attacker who can
/// reflect text into a page and observe response sizes can recover it byte by byte (BREACH).
/// [`Session::masked_csrf_token`] returns a fresh masked form on each call (a random 32-byte
/// mask and the token XORed with it, see [`mask_csrf_token`]); the check accepts the raw
/// token and every masked form. Put a freshly masked token in each response that is
/// compressed.
///
/// # Limits of the origin check
///
/// It is defence in depth; the token check is what protects. `Sec-Fetch-Site` and `Origin`
/// are set by browsers, so they say nothing about requests from other clients (which cannot
/// ride a victim's cookies anyway). Behind a reverse proxy, the request's own origin is what
/// the proxy reports in `Forwarded` or `X-Forwarded-Proto`/`X-Forwarded-Host`, else what
/// reaches actix-web (for example `http://127.0.0.1:8080`): if the proxy does not forward them,
/// name the public origin with [`allowed_origin`](Self::allowed_origin), or browsers without
/// `Sec-Fetch-Site` that send `Origin` are refused. Those headers are trusted as actix-web
/// reads them; a browser page cannot set them on a cross-site request without a CORS
/// preflight that allows them.
///
/// Wrap it inside the [`Sessions`](crate::Sessions) middleware (in actix-web the last `wrap`
/// is the outermost, so `.wrap(CsrfProtection::<T>::new())` comes before `.wrap(sessions)`).
///
/// # Examples
///
/// ```no_run
/// use actix_web::{App, HttpResponse, web};
/// use serde::{Deserialize, Serialize};
/// use session_actix::{CsrfProtection, Session, SessionError, Sessions};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Login { user: String }
///
/// async fn form(session: Session<Login>) -> Result<HttpResponse, SessionError> {
///     let token = session.masked_csrf_token().await?.unwrap_or_default();
///     Ok(HttpResponse::Ok().body(format!(
///         r#"<form method="post" action="/transfer">
///         <input type="hidden" name="csrf_token" value="{token}"><button>Send</button></form>"#
///     )))
/// }
///
/// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
/// let app = App::new()
///     .wrap(CsrfProtection::<Login>::new().allowed_origin("https://www.example.com"))
///     .wrap(sessions())
///     .route("/form", web::get().to(form))
///     .route("/transfer", web::post().to(|| async { HttpResponse::Ok().finish() }));
/// ```
pub struct CsrfProtection<T> {
    header: HeaderName,
    field: Rc<str>,
    allow_same_site: bool,
    allowed_origins: Rc<[Box<str>]>,
    marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for CsrfProtection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfProtection")
            .field("session", &std::any::type_name::<T>())
            .field("header", &self.header)
            .field("field", &self.field)
            .field("allow_same_site", &self.allow_same_site)
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

impl<T> Clone for CsrfProtection<T> {
    fn clone(&self) -> Self {
        Self {
            header: self.header.clone(),
            field: Rc::clone(&self.field),
            allow_same_site: self.allow_same_site,
            allowed_origins: Rc::clone(&self.allowed_origins),
            marker: PhantomData,
        }
    }
}

impl<T> Default for CsrfProtection<T> {
    fn default() -> Self {
        Self {
            header: HeaderName::from_static(CSRF_HEADER),
            field: CSRF_FORM_FIELD.into(),
            allow_same_site: false,
            allowed_origins: Rc::new([]),
            marker: PhantomData,
        }
    }
}

impl<T> CsrfProtection<T> {
    /// Reads the token from [`CSRF_HEADER`] or the form field [`CSRF_FORM_FIELD`]; refuses
    /// `same-site` and `cross-site` requests and foreign origins.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the token from another header.
    #[must_use]
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// Reads the token from another form field.
    #[must_use]
    pub fn form_field(mut self, field: &str) -> Self {
        self.field = field.into();
        self
    }

    /// Lets requests marked `Sec-Fetch-Site: same-site` (from another subdomain of the same
    /// registrable domain) go on to the token check, instead of refusing them.
    #[must_use]
    pub fn allow_same_site(mut self) -> Self {
        self.allow_same_site = true;
        self
    }

    /// Lets requests from `origin`, written as browsers send it (`https://app.example.com`,
    /// with a port unless it is the scheme's default), go on to the token check: whatever
    /// their `Sec-Fetch-Site`, and when they name it in `Origin` without `Sec-Fetch-Site`.
    /// Comparison ignores ASCII case, a trailing `/` and the default port. Call it once per
    /// origin; an origin written otherwise (no scheme, a path) matches nothing, and `null`
    /// is never allowed.
    #[must_use]
    pub fn allowed_origin(mut self, origin: &str) -> Self {
        let mut origins = self.allowed_origins.to_vec();
        origins.push(normalize_origin(origin).into());
        self.allowed_origins = origins.into();
        self
    }
}

impl<S, B, T> Transform<S, ServiceRequest> for CsrfProtection<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    T: Clone + Send + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CsrfMiddleware<S, T>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CsrfMiddleware {
            service: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The service produced by [`CsrfProtection`]; not used directly.
#[doc(hidden)]
#[derive(Debug)]
pub struct CsrfMiddleware<S, T> {
    service: Rc<S>,
    config: CsrfProtection<T>,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn refuse<B>(req: ServiceRequest, status: StatusCode) -> ServiceResponse<EitherBody<B>> {
    req.into_response(HttpResponse::build(status).finish())
        .map_into_right_body()
}

impl<S, B, T> Service<ServiceRequest> for CsrfMiddleware<S, T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    T: Clone + Send + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = self.config.clone();
        Box::pin(async move {
            if is_safe(req.method()) {
                return Ok(service.call(req).await?.map_into_left_body());
            }
            if let Some(header) = config.cross_origin_refusal(&req) {
                tracing::debug!(path = %req.path(), header, "cross-origin request refused");
                return Ok(refuse(req, StatusCode::FORBIDDEN));
            }
            let provided = match config.provided_token(&mut req).await {
                Ok(provided) => provided,
                Err(refusal) => {
                    tracing::debug!(path = %req.path(), error = %refusal, "request refused");
                    return Ok(refuse(req, refusal.status()));
                }
            };
            let expected = req.session::<T>()?.csrf_token().await?;
            let valid = match (expected, provided) {
                (Some(expected), Some(provided)) => csrf_token_matches(&expected, &provided),
                _ => false,
            };
            if valid {
                Ok(service.call(req).await?.map_into_left_body())
            } else {
                tracing::debug!(path = %req.path(), "request without a valid CSRF token refused");
                Ok(refuse(req, StatusCode::FORBIDDEN))
            }
        })
    }
}

impl<T: Clone + Send + 'static> Session<T> {
    /// A masked form of the session's CSRF token, different on every call and accepted by
    /// [`CsrfProtection`] like the token itself: hand out a fresh one with each page, so that
    /// compressed responses never repeat the secret (BREACH). `None` without a session, and
    /// for sessions configured [`without_envelope`](crate::SessionConfig::without_envelope).
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use actix_web::HttpResponse;
    /// use session_actix::{Session, SessionError};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    ///
    /// async fn form(session: Session<Login>) -> Result<HttpResponse, SessionError> {
    ///     let Some(token) = session.masked_csrf_token().await? else {
    ///         return Ok(HttpResponse::Unauthorized().finish());
    ///     };
    ///     Ok(HttpResponse::Ok().body(format!(
    ///         r#"<input type="hidden" name="csrf_token" value="{token}">"#
    ///     )))
    /// }
    /// ```
    pub async fn masked_csrf_token(&self) -> Result<Option<String>, SessionError> {
        Ok(self
            .csrf_token()
            .await?
            .as_deref()
            .and_then(mask_csrf_token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_head_and_options_are_safe() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(is_safe(&method), "{method}");
        }
        for method in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::TRACE,
            Method::CONNECT,
            Method::from_bytes(b"PROPFIND").unwrap(),
        ] {
            assert!(!is_safe(&method), "{method}");
        }
    }
}
