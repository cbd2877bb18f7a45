//! CSRF protection hardening: TRACE is unsafe, a failing or oversized form body never reaches
//! the handler, masked tokens (BREACH), and the `Sec-Fetch-Site`/`Origin` check in front of the
//! token check. The basic token checks live in `lifecycle.rs`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_http::error::PayloadError;
use actix_http::{BoxedPayloadStream, Payload};
use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::web::Bytes;
use actix_web::{App, HttpResponse, web};
use common::{Cart, ProbeStore, body, cookie_header, get, the_cookie};
use session_actix::core::{Sign, SigningKey, mask_csrf_token};
use session_actix::{
    CookieTransport, CsrfProtection, Session, SessionConfig, SessionError, Sessions,
};

/// How many requests reached a protected handler.
#[derive(Default)]
struct Calls(AtomicUsize);

impl Calls {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

async fn transfer(calls: web::Data<Calls>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    calls.0.fetch_add(1, Ordering::SeqCst);
    let amount = form
        .iter()
        .find(|(k, _)| k == "amount")
        .map(|(_, v)| v.clone());
    HttpResponse::Ok().body(format!("transferred {}", amount.unwrap_or_default()))
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/login",
            web::get().to(|s: Session<Cart>| async move {
                s.renew().await?;
                s.set(Cart { items: vec![1] })?;
                common::id_response(&s).await
            }),
        )
        .route(
            "/csrf",
            web::get().to(|s: Session<Cart>| async move {
                let token = s.csrf_token().await?.unwrap_or_default();
                Ok::<_, SessionError>(HttpResponse::Ok().body(token))
            }),
        )
        .route(
            "/masked",
            web::get().to(|s: Session<Cart>| async move {
                let token = s.masked_csrf_token().await?.unwrap_or_default();
                Ok::<_, SessionError>(HttpResponse::Ok().body(token))
            }),
        )
        .route("/transfer", web::post().to(transfer))
        .route(
            "/transfer",
            web::method(Method::TRACE).to(|calls: web::Data<Calls>| async move {
                calls.0.fetch_add(1, Ordering::SeqCst);
                HttpResponse::Ok().body("traced")
            }),
        );
}

fn sessions(store: &ProbeStore) -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(store.clone())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap()
}

macro_rules! app {
    ($protection:expr, $store:expr, $calls:expr) => {
        init_service(
            App::new()
                .app_data($calls.clone())
                .wrap($protection)
                .wrap(sessions(&$store))
                .configure(routes),
        )
        .await
    };
}

/// A logged-in session's cookie and CSRF token.
async fn login<S, B>(app: &S) -> (Cookie<'static>, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let cookie = the_cookie(&get(app, "/login", None).await, "cart");
    let token = body(get(app, "/csrf", Some(&cookie)).await).await;
    assert_eq!(token.len(), 43);
    (cookie, token)
}

/// `POST /transfer` with a URL-encoded form, the session cookie and extra headers.
fn form_post(cookie: &Cookie<'_>, headers: &[(&str, &str)], form: &str) -> TestRequest {
    let mut request = TestRequest::post()
        .uri("/transfer")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(cookie_header(cookie))
        .set_payload(form.to_owned());
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    request
}

/// A body stream that yields `chunks` and then, if `fail`, a read error.
fn streamed(chunks: Vec<String>, fail: bool) -> Payload {
    let mut items: Vec<Result<Bytes, PayloadError>> =
        chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
    if fail {
        items.push(Err(PayloadError::Incomplete(None)));
    }
    let stream: BoxedPayloadStream = Box::pin(futures::stream::iter(items));
    Payload::from(stream)
}

#[actix_rt::test]
async fn trace_is_not_a_safe_method() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let trace = || {
        TestRequest::default()
            .method(Method::TRACE)
            .uri("/transfer")
            .insert_header(cookie_header(&cookie))
    };
    let response = call_service(&app, trace().to_request()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.count(), 0, "the handler was not called");

    let request = trace().insert_header(("x-csrf-token", token)).to_request();
    let response = call_service(&app, request).await;
    assert_eq!(body(response).await, "traced", "with the token it passes");
}

#[actix_rt::test]
async fn a_form_body_that_fails_midway_answers_400_and_never_reaches_the_handler() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let first = format!("csrf_token={token}&amount=1");
    let (request, _) = form_post(&cookie, &[], "")
        .to_request()
        .replace_payload(streamed(vec![first, "000000".into()], true));
    let response = call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(response).await, "");
    assert_eq!(calls.count(), 0, "no truncated form reached the handler");
}

#[actix_rt::test]
async fn an_oversized_form_answers_413_and_never_reaches_the_handler() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let form = format!("csrf_token={token}&amount=1&pad={}", "x".repeat(70_000));
    // With a Content-Length (refused before reading) and streamed without one.
    let declared = form_post(&cookie, &[], &form).to_request();
    let (chunked, _) = form_post(&cookie, &[], "")
        .to_request()
        .replace_payload(streamed(
            form.as_bytes()
                .chunks(1000)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect(),
            false,
        ));
    for request in [declared, chunked] {
        let response = call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(calls.count(), 0);
}

#[actix_rt::test]
async fn masked_tokens_differ_on_every_call_and_are_accepted() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let first = body(get(&app, "/masked", Some(&cookie)).await).await;
    let second = body(get(&app, "/masked", Some(&cookie)).await).await;
    assert_ne!(first, second);
    for masked in [&first, &second] {
        assert_ne!(masked, &token);
        assert!(!masked.contains(&token), "the raw token does not appear");
        let by_header = form_post(&cookie, &[("x-csrf-token", masked)], "amount=3").to_request();
        assert_eq!(
            body(call_service(&app, by_header).await).await,
            "transferred 3"
        );
        let by_form =
            form_post(&cookie, &[], &format!("amount=4&csrf_token={masked}")).to_request();
        assert_eq!(
            body(call_service(&app, by_form).await).await,
            "transferred 4"
        );
    }
    assert_eq!(calls.count(), 4);
}

#[actix_rt::test]
async fn a_wrong_masked_token_is_refused() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let (_, other_token) = login(&app).await;
    let masked = body(get(&app, "/masked", Some(&cookie)).await).await;
    let mut altered = masked.clone();
    let flipped = if altered.starts_with('A') { "B" } else { "A" };
    altered.replace_range(0..1, flipped);
    for wrong in [
        mask_csrf_token(&other_token).unwrap(),
        altered,
        masked[..85].to_owned(),
        format!("{masked}A"),
        format!("{token}{token}"),
    ] {
        let request = form_post(&cookie, &[("x-csrf-token", &wrong)], "amount=3").to_request();
        let response = call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{wrong}");
    }
    assert_eq!(calls.count(), 0);
}

/// Posts with the session's token in the header plus `headers`; the response status.
async fn status_with<S, B>(
    app: &S,
    cookie: &Cookie<'_>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> StatusCode
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let mut headers = headers.to_vec();
    if let Some(token) = token {
        headers.push(("x-csrf-token", token));
    }
    call_service(app, form_post(cookie, &headers, "amount=1").to_request())
        .await
        .status()
}

#[actix_rt::test]
async fn cross_site_requests_are_refused_before_the_session_is_loaded() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let loads = store.loads();
    for site in ["cross-site", "same-site", "something-new"] {
        let status = status_with(&app, &cookie, Some(&token), &[("sec-fetch-site", site)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{site}");
    }
    assert_eq!(store.loads(), loads, "refused from the headers alone");
    assert_eq!(calls.count(), 0);

    for site in ["same-origin", "none"] {
        let headers = [
            ("sec-fetch-site", site),
            ("origin", "https://elsewhere.test"),
        ];
        let status = status_with(&app, &cookie, Some(&token), &headers).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{site}: the browser's word is taken over Origin"
        );
        let status = status_with(&app, &cookie, None, &headers).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{site}: the token is still needed"
        );
    }
}

#[actix_rt::test]
async fn same_site_requests_pass_when_the_app_allows_them() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(
        CsrfProtection::<Cart>::new().allow_same_site(),
        store,
        calls
    );
    let (cookie, token) = login(&app).await;
    let same_site = [("sec-fetch-site", "same-site")];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &same_site).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&app, &cookie, None, &same_site).await,
        StatusCode::FORBIDDEN
    );
    let cross_site = [("sec-fetch-site", "cross-site")];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &cross_site).await,
        StatusCode::FORBIDDEN
    );
}

#[actix_rt::test]
async fn without_sec_fetch_site_a_foreign_origin_is_refused() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let app = app!(CsrfProtection::<Cart>::new(), store, calls);
    let (cookie, token) = login(&app).await;
    let host = ("host", "shop.test");
    let loads = store.loads();
    for origin in [
        "https://evil.test",
        "http://shop.test.evil.test",
        "https://shop.test",
        "null",
        "http://shop.test:8080",
    ] {
        let status = status_with(&app, &cookie, Some(&token), &[host, ("origin", origin)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
    }
    assert_eq!(store.loads(), loads, "refused from the headers alone");
    assert_eq!(calls.count(), 0);

    for origin in ["http://shop.test", "http://SHOP.test:80"] {
        let own = [host, ("origin", origin)];
        assert_eq!(
            status_with(&app, &cookie, Some(&token), &own).await,
            StatusCode::OK,
            "{origin}"
        );
        assert_eq!(
            status_with(&app, &cookie, None, &own).await,
            StatusCode::FORBIDDEN,
            "{origin}"
        );
    }
    // Behind a proxy that says so, the public origin is the request's own.
    let proxied = [
        host,
        ("x-forwarded-proto", "https"),
        ("origin", "https://shop.test"),
    ];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &proxied).await,
        StatusCode::OK
    );
}

#[actix_rt::test]
async fn allowed_origins_go_on_to_the_token_check() {
    let (store, calls) = (ProbeStore::default(), web::Data::new(Calls::default()));
    let protection = CsrfProtection::<Cart>::new().allowed_origin("https://WWW.shop.test/");
    let app = app!(protection, store, calls);
    let (cookie, token) = login(&app).await;
    let allowed = ("origin", "https://www.shop.test");
    for headers in [
        vec![allowed],
        vec![allowed, ("sec-fetch-site", "cross-site")],
    ] {
        assert_eq!(
            status_with(&app, &cookie, Some(&token), &headers).await,
            StatusCode::OK
        );
        assert_eq!(
            status_with(&app, &cookie, None, &headers).await,
            StatusCode::FORBIDDEN
        );
    }
    let other = [
        ("origin", "https://evil.test"),
        ("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &other).await,
        StatusCode::FORBIDDEN
    );
    let null = [("origin", "null")];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &null).await,
        StatusCode::FORBIDDEN
    );
}
