//! CSRF protection tied to a session: a cheap `Sec-Fetch-Site`/`Origin` check, then the
//! synchronizer token pattern, with tokens masked per response against BREACH.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderName;
use actix_web::{Error, HttpMessage as _, HttpResponse};
use futures::StreamExt as _;
use futures::future::LocalBoxFuture;
use session_engine::{CsrfPolicy, CsrfRefusal, FormBody, TokenSource, is_safe_method};

use crate::SessionExt as _;
use crate::headers::RequestHeaders;

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
/// 2. **The token** of the session, from `Session::csrf_token` or
///    `Session::masked_csrf_token`: put it in a hidden `csrf_token` form field or an
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
/// `Session::masked_csrf_token` returns a fresh masked form on each call (a random 32-byte
/// mask and the token XORed with it, see [`mask_csrf_token`](crate::core::mask_csrf_token)); the check accepts the raw
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
    policy: Rc<CsrfPolicy>,
    marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for CsrfProtection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfProtection")
            .field("session", &std::any::type_name::<T>())
            .field("policy", &self.policy)
            .finish()
    }
}

impl<T> Clone for CsrfProtection<T> {
    fn clone(&self) -> Self {
        Self {
            policy: Rc::clone(&self.policy),
            marker: PhantomData,
        }
    }
}

impl<T> Default for CsrfProtection<T> {
    fn default() -> Self {
        Self {
            policy: Rc::default(),
            marker: PhantomData,
        }
    }
}

impl<T> CsrfProtection<T> {
    /// Reads the token from [`CSRF_HEADER`](crate::CSRF_HEADER) or the form field
    /// [`CSRF_FORM_FIELD`](crate::CSRF_FORM_FIELD); refuses `same-site` and `cross-site`
    /// requests and foreign origins.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with(self, change: impl FnOnce(CsrfPolicy) -> CsrfPolicy) -> Self {
        Self {
            policy: Rc::new(change(Rc::unwrap_or_clone(self.policy))),
            marker: PhantomData,
        }
    }

    /// Reads the token from another header.
    #[must_use]
    pub fn header(self, header: HeaderName) -> Self {
        self.with(|policy| policy.header(header.as_str()))
    }

    /// Reads the token from another form field.
    #[must_use]
    pub fn form_field(self, field: &str) -> Self {
        self.with(|policy| policy.form_field(field))
    }

    /// Lets requests marked `Sec-Fetch-Site: same-site` (from another subdomain of the same
    /// registrable domain) go on to the token check, instead of refusing them.
    #[must_use]
    pub fn allow_same_site(self) -> Self {
        self.with(CsrfPolicy::allow_same_site)
    }

    /// Lets requests from `origin`, written as browsers send it (`https://app.example.com`,
    /// with a port unless it is the scheme's default), go on to the token check: whatever
    /// their `Sec-Fetch-Site`, and when they name it in `Origin` without `Sec-Fetch-Site`.
    /// Comparison ignores ASCII case, a trailing `/` and the default port. Call it once per
    /// origin; an origin written otherwise (no scheme, a path) matches nothing, and `null`
    /// is never allowed.
    #[must_use]
    pub fn allowed_origin(self, origin: &str) -> Self {
        self.with(|policy| policy.allowed_origin(origin))
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
        let policy = Rc::clone(&self.config.policy);
        Box::pin(async move {
            if is_safe_method(req.method().as_str()) {
                return Ok(service.call(req).await?.map_into_left_body());
            }
            match check::<T>(&policy, &mut req).await? {
                Ok(()) => Ok(service.call(req).await?.map_into_left_body()),
                Err(refusal) => {
                    tracing::debug!(path = %req.path(), %refusal, "request refused");
                    let status =
                        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
                    let response = HttpResponse::build(status).finish();
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

/// Runs the policy's checks on an unsafe request: where it comes from, then its token.
async fn check<T: Clone + Send + 'static>(
    policy: &CsrfPolicy,
    req: &mut ServiceRequest,
) -> Result<Result<(), CsrfRefusal>, Error> {
    let headers = RequestHeaders(req.headers());
    let own_origin = || {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let provided = match policy.inspect(&headers, own_origin) {
        Err(refusal) => return Ok(Err(refusal)),
        Ok(TokenSource::Header(token)) => Some(token),
        Ok(TokenSource::Form) => match read_form(req).await {
            Ok(body) => policy.token_in_form(&body),
            Err(refusal) => return Ok(Err(refusal)),
        },
        Ok(_) => None,
    };
    let expected = req.session::<T>()?.csrf_token().await?;
    Ok(CsrfPolicy::check_token(
        expected.as_deref(),
        provided.as_deref(),
    ))
}

/// Reads the whole form body (up to [`MAX_FORM_LEN`](session_engine::MAX_FORM_LEN)) and puts
/// it back for the handler.
async fn read_form(req: &mut ServiceRequest) -> Result<actix_web::web::Bytes, CsrfRefusal> {
    let mut payload = req.take_payload();
    let mut form = FormBody::default();
    while let Some(chunk) = payload.next().await {
        form.push(&chunk.map_err(|error| {
            tracing::debug!(%error, "form body could not be read");
            CsrfRefusal::FormUnreadable
        })?)?;
    }
    let body = form.finish();
    req.set_payload(Payload::from(body.clone()));
    Ok(body)
}
