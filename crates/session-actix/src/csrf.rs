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
use actix_web::{Error, HttpMessage as _, HttpRequest, HttpResponse, Responder};
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
/// the body fails while it is read: the handler never sees a truncated form. Each refusal is
/// logged at WARN with the method, the path and the reason ([`CsrfRefusal`]'s text, never
/// the token). [`refusal`](Self::refusal) answers with a response of the app's instead.
///
/// # Layouts
///
/// A request without a session has no token, so it is refused: wrap only the scopes or
/// resources that serve a session (a logged-in user's forms and actions), not the whole
/// `App`, or the login form itself answers 403. Forms posted before there is a session (log
/// in, sign up) get [`CsrfProtection::origin_only`]: the same origin check, without the token,
/// which stops another site from posting them in the victim's browser (login CSRF). (The
/// other way is a pre-session token: have the form's `GET` start a session of its own type,
/// for example an empty `LoginForm`, and protect the `POST` with
/// `CsrfProtection::<LoginForm>::new()`; it also covers browsers too old to send `Origin`.)
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
/// is the outermost, so `.wrap(CsrfProtection::<T>::new())` comes before `.wrap(sessions)`,
/// or goes on a scope or resource of an app wrapped in `sessions`).
///
/// # Examples
///
/// The account's scope is protected by the session's token; the login form, posted without
/// a session, by the origin check alone.
///
/// ```no_run
/// use actix_web::{App, HttpResponse, web};
/// use serde::{Deserialize, Serialize};
/// use session_actix::{CsrfProtection, Session, SessionError, Sessions};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Login { user: String }
///
/// async fn log_in(session: Session<Login>) -> Result<HttpResponse, SessionError> {
///     // (check the password first)
///     session.renew().await?;
///     session.set(Login { user: "ada".into() })?;
///     Ok(HttpResponse::SeeOther().insert_header(("location", "/account/form")).finish())
/// }
///
/// async fn form(session: Session<Login>) -> Result<HttpResponse, SessionError> {
///     session.require().await?; // no session: an empty 401
///     let token = session.masked_csrf_token().await?.unwrap_or_default();
///     Ok(HttpResponse::Ok().body(format!(
///         r#"<form method="post" action="/account/transfer">
///         <input type="hidden" name="csrf_token" value="{token}"><button>Send</button></form>"#
///     )))
/// }
///
/// async fn transfer(session: Session<Login>) -> Result<HttpResponse, SessionError> {
///     let login = session.require().await?;
///     Ok(HttpResponse::Ok().body(format!("sent by {}", login.user)))
/// }
///
/// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
/// let app = App::new()
///     .service(
///         web::resource("/login")
///             .wrap(CsrfProtection::origin_only())
///             .route(web::post().to(log_in)),
///     )
///     .service(
///         web::scope("/account")
///             .wrap(CsrfProtection::<Login>::new().allowed_origin("https://www.example.com"))
///             .route("/form", web::get().to(form))
///             .route("/transfer", web::post().to(transfer)),
///     )
///     .wrap(sessions());
/// ```
pub struct CsrfProtection<T> {
    policy: Rc<CsrfPolicy>,
    refuse: Option<Rc<Refuse>>,
    marker: PhantomData<fn() -> T>,
}

/// Makes the response to a refused request.
type Refuse = dyn Fn(CsrfRefusal, &HttpRequest) -> HttpResponse;

impl<T> fmt::Debug for CsrfProtection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfProtection")
            .field("session", &std::any::type_name::<T>())
            .field("policy", &self.policy)
            .field("custom_refusal", &self.refuse.is_some())
            .finish()
    }
}

impl<T> Clone for CsrfProtection<T> {
    fn clone(&self) -> Self {
        Self {
            policy: Rc::clone(&self.policy),
            refuse: self.refuse.clone(),
            marker: PhantomData,
        }
    }
}

impl<T> Default for CsrfProtection<T> {
    fn default() -> Self {
        Self {
            policy: Rc::default(),
            refuse: None,
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
            ..self
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

    /// Answers refused requests with what `respond` makes of the refusal, instead of an
    /// empty response with [`refusal.status()`](CsrfRefusal::status). The response is sent as
    /// it is, status included: keep a 4xx (or redirect to the form) so that clients do not
    /// take a refusal for success. The refusal is still logged at WARN; don't echo the
    /// request's token in the response.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use actix_web::HttpResponse;
    /// use actix_web::http::StatusCode;
    /// use session_actix::{CsrfProtection, CsrfRefusal};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    ///
    /// let csrf = CsrfProtection::<Login>::new().refusal(|refusal: CsrfRefusal| {
    ///     let status = StatusCode::from_u16(refusal.status()).expect("a valid status");
    ///     HttpResponse::build(status).body(format!("Refused: {refusal}. Reload the form and try again."))
    /// });
    /// ```
    #[must_use]
    pub fn refusal<F, R>(self, respond: F) -> Self
    where
        F: Fn(CsrfRefusal) -> R + 'static,
        R: Responder,
        R::Body: 'static,
    {
        let refuse = move |refusal, req: &HttpRequest| {
            respond(refusal).respond_to(req).map_into_boxed_body()
        };
        Self {
            refuse: Some(Rc::new(refuse)),
            ..self
        }
    }
}

impl CsrfProtection<()> {
    /// Checks where unsafe requests come from (`Sec-Fetch-Site`, else `Origin`, exactly as
    /// [`new`](Self::new) does) and nothing else: no session and no token are needed. For a
    /// login form, which is posted before there is a session to hold a token: it stops
    /// another site from posting the form in the victim's browser (login CSRF), which is
    /// all a form without a session needs. Requests that carry neither header pass (other
    /// clients, and browsers too old to send `Origin` on a `POST`).
    ///
    /// The builder methods about origins ([`allow_same_site`](Self::allow_same_site),
    /// [`allowed_origin`](Self::allowed_origin)) and [`refusal`](Self::refusal) apply; those
    /// about the token have nothing to do.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use actix_web::{App, HttpResponse, web};
    /// use session_actix::{CsrfProtection, Sessions};
    /// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
    /// let app = App::new()
    ///     .service(
    ///         web::resource("/login")
    ///             .wrap(CsrfProtection::origin_only())
    ///             .route(web::post().to(|| async { HttpResponse::SeeOther().finish() })),
    ///     )
    ///     .wrap(sessions());
    /// ```
    #[must_use]
    pub fn origin_only() -> Self {
        Self::default().with(CsrfPolicy::origin_only)
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
        let config = self.config.clone();
        Box::pin(async move {
            if is_safe_method(req.method().as_str()) {
                return Ok(service.call(req).await?.map_into_left_body());
            }
            match check::<T>(&config.policy, &mut req).await? {
                Ok(()) => Ok(service.call(req).await?.map_into_left_body()),
                Err(refusal) => {
                    tracing::warn!(
                        method = %req.method(),
                        path = %req.path(),
                        %refusal,
                        "CSRF protection refused the request"
                    );
                    let response = match &config.refuse {
                        Some(refuse) => refuse(refusal, req.request()),
                        None => HttpResponse::new(
                            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN),
                        ),
                    };
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
        Ok(TokenSource::NotChecked) => return Ok(Ok(())),
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
