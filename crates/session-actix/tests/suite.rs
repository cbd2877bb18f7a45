//! The workspace's behaviour suite (`session-suite`), run on actix-web in-process.

use actix_http::Request;
use actix_http::error::PayloadError;
use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::test::{call_service, init_service};
use actix_web::web::Bytes;
use actix_web::{App, FromRequest as _, HttpRequest, HttpResponse, web};
use session_actix::engine::SessionHandle;
use session_actix::{CsrfProtection, CsrfRefusal, Session, SessionError, Sessions};
use session_suite::{
    Adapter, AppRequest, AppSpec, Body, Cart, CsrfSettings, Routes, SessionSource, TestRequest,
    TestResponse,
};

/// The handles of one request, through the `Session<T>` extractor.
struct Source<'a>(&'a HttpRequest);

impl SessionSource for Source<'_> {
    type Error = SessionError;

    async fn session<T: Clone + Send + Sync + 'static>(
        &self,
    ) -> Result<SessionHandle<T, SessionError>, SessionError> {
        Ok((*Session::<T>::extract(self.0).await?).clone())
    }
}

/// The suite app's one handler.
async fn handle(
    routes: web::Data<Routes>,
    request: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, SessionError> {
    let uri = request.uri().to_string();
    let app_request = AppRequest {
        method: request.method().as_str(),
        uri: &uri,
        body: &body,
    };
    let reply = routes.respond(app_request, &Source(&request)).await?;
    let status = actix_web::http::StatusCode::from_u16(reply.status).expect("a status");
    let mut response = HttpResponse::build(status);
    for header in reply.headers {
        response.insert_header(header);
    }
    Ok(response.body(reply.body))
}

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
            HttpResponse::build(status).body(CsrfSettings::custom_refusal_body(refusal))
        });
    }
    csrf
}

/// The suite app on a service made by `actix_web::test::init_service`.
type Svc = actix_service::boxed::BoxService<Request, ServiceResponse<BoxBody>, actix_web::Error>;

struct Actix;

impl Adapter for Actix {
    type App = Svc;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        actix_rt::System::new().block_on(future)
    }

    async fn start(spec: AppSpec) -> Svc {
        let app = App::new()
            .app_data(web::Data::new(spec.routes))
            .default_service(web::to(handle));
        let sessions = Sessions::from(spec.registry);
        match spec.csrf {
            Some(settings) if settings.origin_only => {
                let csrf = configured(CsrfProtection::origin_only(), &settings);
                boxed(init_service(app.wrap(csrf).wrap(sessions)).await)
            }
            Some(settings) => {
                let csrf = configured(CsrfProtection::<Cart>::new(), &settings);
                boxed(init_service(app.wrap(csrf).wrap(sessions)).await)
            }
            None => boxed(init_service(app.wrap(sessions)).await),
        }
    }

    async fn send(app: &Svc, request: TestRequest) -> TestResponse {
        let method = Method::from_bytes(request.method.as_bytes()).expect("a method");
        let mut test = actix_web::test::TestRequest::default()
            .method(method)
            .uri(&request.uri);
        for (name, value) in request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            let value = HeaderValue::from_bytes(&value).expect("a header value");
            test = test.append_header((name, value));
        }
        let request = match request.body {
            Body::Full(body) => test.set_payload(body).to_request(),
            Body::Streamed { chunks, fails } => {
                let mut items: Vec<Result<Bytes, PayloadError>> =
                    chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
                if fails {
                    items.push(Err(PayloadError::Incomplete(None)));
                }
                let stream: actix_http::BoxedPayloadStream = Box::pin(futures::stream::iter(items));
                test.to_request()
                    .replace_payload(actix_http::Payload::from(stream))
                    .0
            }
        };
        let response = call_service(app, request).await;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect();
        let body = actix_web::test::read_body(response).await.to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

/// The service with its body boxed, so that both stacks have one type.
fn boxed<S, B>(service: S) -> Svc
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    actix_service::boxed::service(actix_service::ServiceExt::map(
        service,
        ServiceResponse::map_into_boxed_body,
    ))
}

session_suite::behaviour_suite!(Actix);
session_suite::store_scenarios!(Actix, session_actix);
