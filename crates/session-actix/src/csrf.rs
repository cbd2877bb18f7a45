//! CSRF protection tied to a session: the synchronizer token pattern.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{CONTENT_TYPE, HeaderName};
use actix_web::web::BytesMut;
use actix_web::{Error, HttpMessage as _, HttpResponse};
use futures::StreamExt as _;
use futures::future::LocalBoxFuture;
use subtle::ConstantTimeEq as _;

use crate::SessionExt as _;

/// The request header read for the token by default.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field read for the token by default.
pub const CSRF_FORM_FIELD: &str = "csrf_token";
/// Form bodies larger than this are not searched for the token (the request is refused).
const MAX_FORM_LEN: usize = 64 * 1024;

/// Rejects unsafe requests (`POST`, `PUT`, `PATCH`, `DELETE` and any other method but `GET`,
/// `HEAD`, `OPTIONS` and `TRACE`) that do not carry the CSRF token of session `T`, with `403
/// Forbidden` and an empty body. A request without a session is rejected too.
///
/// The token comes from [`Session::csrf_token`](crate::Session::csrf_token): put it in a
/// hidden `csrf_token` field of your forms or an `X-CSRF-Token` header of your scripts. The
/// comparison is constant-time. A URL-encoded form body is read to find the field and then
/// handed on intact to the handler; multipart forms must send the header.
///
/// Wrap it inside the [`Sessions`](crate::Sessions) middleware (in actix-web the last `wrap`
/// is the outermost, so `.wrap(CsrfProtection::<T>::new())` comes before `.wrap(sessions)`).
///
/// # Examples
///
/// ```no_run
/// use actix_web::{App, HttpResponse, web};
/// use serde::{Deserialize, Serialize};
/// use session_actix::{CsrfProtection, Sessions};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Login { user: String }
///
/// # fn sessions() -> Sessions { Sessions::builder().build().expect("valid") }
/// let app = App::new()
///     .wrap(CsrfProtection::<Login>::new())
///     .wrap(sessions())
///     .route("/transfer", web::post().to(|| async { HttpResponse::Ok().finish() }));
/// ```
pub struct CsrfProtection<T> {
    header: HeaderName,
    field: Rc<str>,
    marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for CsrfProtection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfProtection")
            .field("session", &std::any::type_name::<T>())
            .field("header", &self.header)
            .field("field", &self.field)
            .finish()
    }
}

impl<T> Clone for CsrfProtection<T> {
    fn clone(&self) -> Self {
        Self {
            header: self.header.clone(),
            field: Rc::clone(&self.field),
            marker: PhantomData,
        }
    }
}

impl<T> Default for CsrfProtection<T> {
    fn default() -> Self {
        Self {
            header: HeaderName::from_static(CSRF_HEADER),
            field: CSRF_FORM_FIELD.into(),
            marker: PhantomData,
        }
    }
}

impl<T> CsrfProtection<T> {
    /// Reads the token from [`CSRF_HEADER`] or the form field [`CSRF_FORM_FIELD`].
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
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Reads the form body (up to the limit), finds `field`, and puts the body back.
async fn token_from_form(req: &mut ServiceRequest, field: &str) -> Option<String> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else { break };
        if body.len() + chunk.len() > MAX_FORM_LEN {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == field))
        .map(|(_, value)| value);
    req.set_payload(Payload::from(body));
    token
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
            let expected = req.session::<T>()?.csrf_token().await?;
            let mut provided = req
                .headers()
                .get(&config.header)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            if provided.is_none() && is_form(&req) {
                provided = token_from_form(&mut req, &config.field).await;
            }
            let valid = match (expected, provided) {
                (Some(expected), Some(provided)) => {
                    bool::from(expected.as_bytes().ct_eq(provided.as_bytes()))
                }
                _ => false,
            };
            if valid {
                Ok(service.call(req).await?.map_into_left_body())
            } else {
                tracing::debug!(path = %req.path(), "request without a valid CSRF token refused");
                Ok(req
                    .into_response(HttpResponse::Forbidden().finish())
                    .map_into_right_body())
            }
        })
    }
}
