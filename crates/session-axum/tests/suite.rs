//! The workspace's behaviour suite (`session-suite`), run on axum in-process
//! (`tower::ServiceExt::oneshot`).

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, StatusCode};
use session_axum::engine::SessionHandle;
use session_axum::{CsrfProtection, CsrfRefusal, Session, SessionError, Sessions};
use session_suite::{
    Adapter, AppRequest, AppSpec, Body, Cart, CsrfSettings, Routes, SessionSource, TestRequest,
    TestResponse,
};
use tower::ServiceExt as _;

/// The handles of one request, through the `Session<T>` extractor.
struct Source(Parts);

impl SessionSource for Source {
    type Error = SessionError;

    async fn session<T: Clone + Send + Sync + 'static>(
        &self,
    ) -> Result<SessionHandle<T, SessionError>, SessionError> {
        let mut parts = self.0.clone();
        Ok((*Session::<T>::from_request_parts(&mut parts, &()).await?).clone())
    }
}

/// The suite app's one handler.
async fn handle(State(routes): State<Routes>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (method, uri) = (parts.method.to_string(), parts.uri.to_string());
    let app_request = AppRequest {
        method: &method,
        uri: &uri,
        body: &body,
    };
    match routes.respond(app_request, &Source(parts)).await {
        Ok(reply) => {
            let status = StatusCode::from_u16(reply.status).expect("a status");
            let mut response = (status, reply.body).into_response();
            for (name, value) in reply.headers {
                let value = HeaderValue::from_str(&value).expect("a header value");
                response.headers_mut().insert(name, value);
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

struct Axum;

/// `csrf` with the builder calls `settings` asks for.
fn configured<T>(mut csrf: CsrfProtection<T>, settings: &CsrfSettings) -> CsrfProtection<T> {
    if settings.allow_same_site {
        csrf = csrf.allow_same_site();
    }
    for origin in &settings.allowed_origins {
        csrf = csrf.allowed_origin(origin);
    }
    if settings.custom_refusal {
        csrf = csrf.refusal(|refusal: CsrfRefusal| {
            let status =
                StatusCode::from_u16(CsrfSettings::CUSTOM_REFUSAL_STATUS).expect("a status");
            (status, CsrfSettings::custom_refusal_body(refusal))
        });
    }
    csrf
}

impl Adapter for Axum {
    type App = Router;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    async fn start(spec: AppSpec) -> Router {
        let mut app = Router::new().fallback(handle).with_state(spec.routes);
        match spec.csrf {
            Some(settings) if settings.origin_only => {
                app = app.layer(configured(CsrfProtection::origin_only(), &settings));
            }
            Some(settings) => {
                app = app.layer(configured(CsrfProtection::<Cart>::new(), &settings));
            }
            None => {}
        }
        app.layer(Sessions::from(spec.registry))
    }

    async fn send(app: &Router, request: TestRequest) -> TestResponse {
        let method = Method::from_bytes(request.method.as_bytes()).expect("a method");
        let mut builder = http::Request::builder().method(method).uri(&request.uri);
        for (name, value) in request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            let value = HeaderValue::from_bytes(&value).expect("a header value");
            builder = builder.header(name, value);
        }
        let body = match request.body {
            Body::Full(body) => AxumBody::from(body),
            Body::Streamed { chunks, fails } => {
                let mut items: Vec<Result<Bytes, std::io::Error>> =
                    chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
                if fails {
                    items.push(Err(std::io::Error::other("the client went away")));
                }
                AxumBody::from_stream(futures::stream::iter(items))
            }
        };
        let request = builder.body(body).expect("a request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body")
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

session_suite::behaviour_suite!(Axum);
session_suite::store_scenarios!(Axum, session_axum);
