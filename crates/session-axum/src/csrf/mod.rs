//! CSRF protection tied to a session: a cheap `Sec-Fetch-Site`/`Origin` check, then the
//! synchronizer token pattern, with tokens masked per response against BREACH.

mod form;
mod origin;
mod service;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use axum_core::response::{IntoResponse, Response};
use http::HeaderName;
use session_engine::{CsrfPolicy, CsrfRefusal};
use tower_layer::Layer;

pub use self::service::CsrfService;

/// Rejects cross-site requests and unsafe requests that do not carry the CSRF token of
/// session `T`: a tower layer.
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
///      is present is compared with the request's own origin, `scheme://host[:port]` read from
///      the headers as actix-web's `ConnectionInfo` reads them (`Forwarded`'s `proto` and
///      `host`, else `X-Forwarded-Proto` and `X-Forwarded-Host`, else the `Host` header and
///      the URI), and with the allowed origins. Unlike actix-web, axum does not say whether
///      it terminated TLS itself, so the scheme defaults to `http`: an app that serves HTTPS
///      directly (not behind a proxy that sets `X-Forwarded-Proto`) names its public origin
///      with [`allowed_origin`](Self::allowed_origin). Any other origin is refused, and so is
///      `Origin: null` (sandboxed frames, some redirects, `file:` pages).
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
/// A request without a session has no token, so it is refused: layer it only on the routes
/// or nested routers that serve a session (a logged-in user's forms and actions), not on the
/// whole `Router`, or the login form itself answers 403. Forms posted before there is a
/// session (log in, sign up) get [`CsrfProtection::origin_only`]: the same origin check,
/// without the token, which stops another site from posting them in the victim's browser
/// (login CSRF). (The other way is a pre-session token: have the form's `GET` start a
/// session of its own type, for example an empty `LoginForm`, and protect the `POST` with
/// `CsrfProtection::<LoginForm>::new()`; it also covers browsers too old to send `Origin`.)
///
/// # Masking (BREACH)
///
/// The raw token is the same secret in every page; with HTTP compression, an attacker who can
/// reflect text into a page and observe response sizes can recover it byte by byte (BREACH).
/// `Session::masked_csrf_token` returns a fresh masked form on each call (a random 32-byte
/// mask and the token XORed with it, see [`mask_csrf_token`](crate::core::mask_csrf_token));
/// the check accepts the raw token and every masked form. Put a freshly masked token in each
/// response that is compressed.
///
/// # Limits of the origin check
///
/// It is defence in depth; the token check is what protects. `Sec-Fetch-Site` and `Origin`
/// are set by browsers, so they say nothing about requests from other clients (which cannot
/// ride a victim's cookies anyway). Behind a reverse proxy, the request's own origin is what
/// the proxy reports in `Forwarded` or `X-Forwarded-Proto`/`X-Forwarded-Host`, else what
/// reaches the server (for example `http://127.0.0.1:8080`): if the proxy does not forward
/// them, name the public origin with [`allowed_origin`](Self::allowed_origin), or browsers
/// without `Sec-Fetch-Site` that send `Origin` are refused. Those headers are trusted; a
/// browser page cannot set them on a cross-site request without a CORS preflight that allows
/// them.
///
/// Layer it inside the [`Sessions`](crate::Sessions) layer (the last `.layer` is the
/// outermost, so `.layer(CsrfProtection::<T>::new())` comes before `.layer(sessions)`, or
/// goes on routes or a nested router of an app layered with `sessions`).
///
/// # Examples
///
/// The account's routes are protected by the session's token; the login form, posted
/// without a session, by the origin check alone.
///
/// ```no_run
/// use axum::response::Redirect;
/// use axum::{Router, routing::{get, post}};
/// use serde::{Deserialize, Serialize};
/// use session_axum::{CsrfProtection, Session, SessionError, Sessions};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Login { user: String }
///
/// async fn log_in(session: Session<Login>) -> Result<Redirect, SessionError> {
///     // (check the password first)
///     session.renew().await?;
///     session.set(Login { user: "ada".into() })?;
///     Ok(Redirect::to("/account/form"))
/// }
///
/// async fn form(session: Session<Login>) -> Result<String, SessionError> {
///     session.require().await?; // no session: an empty 401
///     let token = session.masked_csrf_token().await?.unwrap_or_default();
///     Ok(format!(
///         r#"<form method="post" action="/account/transfer">
///         <input type="hidden" name="csrf_token" value="{token}"><button>Send</button></form>"#
///     ))
/// }
///
/// async fn transfer(session: Session<Login>) -> Result<String, SessionError> {
///     let login = session.require().await?;
///     Ok(format!("sent by {}", login.user))
/// }
///
/// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
/// let account = Router::new()
///     .route("/form", get(form))
///     .route("/transfer", post(transfer))
///     .layer(CsrfProtection::<Login>::new().allowed_origin("https://www.example.com"));
/// let app: Router = Router::new()
///     .route("/login", post(log_in).layer(CsrfProtection::origin_only()))
///     .nest("/account", account)
///     .layer(sessions());
/// ```
pub struct CsrfProtection<T> {
    policy: Arc<CsrfPolicy>,
    refuse: Option<Arc<Refuse>>,
    marker: PhantomData<fn() -> T>,
}

/// Makes the response to a refused request.
pub(crate) type Refuse = dyn Fn(CsrfRefusal) -> Response + Send + Sync;

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
            policy: Arc::clone(&self.policy),
            refuse: self.refuse.clone(),
            marker: PhantomData,
        }
    }
}

impl<T> Default for CsrfProtection<T> {
    fn default() -> Self {
        Self {
            policy: Arc::default(),
            refuse: None,
            marker: PhantomData,
        }
    }
}

impl<T> CsrfProtection<T> {
    /// Reads the token from [`CSRF_HEADER`](crate::CSRF_HEADER) or the form field
    /// [`CSRF_FORM_FIELD`](crate::CSRF_FORM_FIELD); refuses `same-site` and `cross-site`
    /// requests and foreign origins.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::Router;
    /// use session_axum::{CsrfProtection, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    /// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
    /// let app: Router = Router::new()
    ///     .layer(CsrfProtection::<Login>::new())
    ///     .layer(sessions());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with(self, change: impl FnOnce(CsrfPolicy) -> CsrfPolicy) -> Self {
        Self {
            policy: Arc::new(change(Arc::unwrap_or_clone(self.policy))),
            ..self
        }
    }

    /// Reads the token from another header.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::http::HeaderName;
    /// use session_axum::CsrfProtection;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    /// let csrf = CsrfProtection::<Login>::new().header(HeaderName::from_static("x-xsrf-token"));
    /// ```
    #[must_use]
    pub fn header(self, header: HeaderName) -> Self {
        self.with(|policy| policy.header(header.as_str()))
    }

    /// Reads the token from another form field.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_axum::CsrfProtection;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    /// let csrf = CsrfProtection::<Login>::new().form_field("authenticity_token");
    /// ```
    #[must_use]
    pub fn form_field(self, field: &str) -> Self {
        self.with(|policy| policy.form_field(field))
    }

    /// Lets requests marked `Sec-Fetch-Site: same-site` (from another subdomain of the same
    /// registrable domain) go on to the token check, instead of refusing them.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_axum::CsrfProtection;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    /// let csrf = CsrfProtection::<Login>::new().allow_same_site();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_axum::CsrfProtection;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    /// let csrf = CsrfProtection::<Login>::new()
    ///     .allowed_origin("https://www.example.com")
    ///     .allowed_origin("https://admin.example.com:8443");
    /// ```
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
    /// use axum::http::StatusCode;
    /// use session_axum::{CsrfProtection, CsrfRefusal};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Login;
    ///
    /// let csrf = CsrfProtection::<Login>::new().refusal(|refusal: CsrfRefusal| {
    ///     let status = StatusCode::from_u16(refusal.status()).expect("a valid status");
    ///     (status, format!("Refused: {refusal}. Reload the form and try again."))
    /// });
    /// ```
    #[must_use]
    pub fn refusal<F, R>(self, respond: F) -> Self
    where
        F: Fn(CsrfRefusal) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        let refuse = move |refusal| respond(refusal).into_response();
        Self {
            refuse: Some(Arc::new(refuse)),
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
    /// use axum::{Router, routing::post};
    /// use session_axum::{CsrfProtection, Sessions};
    /// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
    /// let app: Router = Router::new()
    ///     .route("/login", post(|| async { "logged in" }).layer(CsrfProtection::origin_only()))
    ///     .layer(sessions());
    /// ```
    #[must_use]
    pub fn origin_only() -> Self {
        Self::default().with(CsrfPolicy::origin_only)
    }
}

impl<S, T> Layer<S> for CsrfProtection<T> {
    type Service = CsrfService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService::new(inner, Arc::clone(&self.policy), self.refuse.clone())
    }
}
