//! `CsrfProtection` inside `Sessions`: the token from a header or a form field (whose body
//! reaches the handler intact), refusals as empty responses, the origin check.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use common::{Cart, body, get as get_with, send, the_cookie, with_cookies};
use session_axum::cookie::Cookie;
use session_axum::core::{MemoryStore, Sign, SigningKey};
use session_axum::{
    CookieTransport, CsrfProtection, CsrfRefusal, Session, SessionConfig, SessionError, Sessions,
};

fn app(protection: CsrfProtection<Cart>) -> Router {
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .store(MemoryStore::new())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
    Router::new()
        .route(
            "/login",
            get(|s: Session<Cart>| async move {
                s.renew().await?;
                s.set(Cart { items: vec![1] })?;
                Ok::<_, SessionError>(s.masked_csrf_token().await?.unwrap_or_default())
            }),
        )
        // The handler echoes the body it got.
        .route(
            "/transfer",
            axum::routing::post(|form: String| async move { form }),
        )
        .layer(protection)
        .layer(sessions)
}

/// A logged-in session's cookie and (masked) CSRF token.
async fn login(app: &Router) -> (Cookie<'static>, String) {
    let response = get_with(app, "/login", &[]).await;
    let cookie = the_cookie(&response, "cart");
    (cookie, body(response).await)
}

fn post(cookie: &Cookie<'_>) -> axum::http::request::Builder {
    with_cookies(Request::post("/transfer"), &[cookie]).header(header::HOST, "bank.example")
}

#[tokio::test]
async fn an_unsafe_request_without_the_token_is_refused() {
    let app = app(CsrfProtection::new());
    let (cookie, _) = login(&app).await;
    let response = send(&app, post(&cookie).body(Body::from("amount=5")).unwrap()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        body(response).await,
        "",
        "refusals are empty; the handler never ran"
    );

    let no_session = Request::post("/transfer").header("x-csrf-token", "guess");
    let response = send(&app, no_session.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_token_in_the_header_is_accepted() {
    let app = app(CsrfProtection::new());
    let (cookie, token) = login(&app).await;
    let request = post(&cookie)
        .header("x-csrf-token", &token)
        .body(Body::from("amount=5"));
    let response = send(&app, request.unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "amount=5");

    let wrong = post(&cookie)
        .header("x-csrf-token", "AAAA")
        .body(Body::empty());
    assert_eq!(
        send(&app, wrong.unwrap()).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_token_in_a_form_field_is_accepted_and_the_body_reaches_the_handler_intact() {
    let app = app(CsrfProtection::new());
    let (cookie, token) = login(&app).await;
    let form = format!("amount=5&csrf_token={token}&memo=caf%C3%A9+%26+more");
    let request = post(&cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.clone()));
    let response = send(&app, request.unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, form);

    let too_large = format!("csrf_token={token}&pad={}", "x".repeat(70 * 1024));
    let request = post(&cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(too_large));
    let response = send(&app, request.unwrap()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_form_body_that_fails_while_read_is_refused_with_400() {
    let app = app(CsrfProtection::new());
    let (cookie, token) = login(&app).await;
    let chunks: Vec<Result<String, std::io::Error>> = vec![
        Ok(format!("amount=5&csrf_token={token}")),
        Err(std::io::Error::other("connection reset")),
    ];
    let request = post(&cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(futures::stream::iter(chunks)));
    let response = send(&app, request.unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(response).await, "");
}

#[tokio::test]
async fn a_cross_site_request_is_refused_even_with_the_token() {
    let app = app(CsrfProtection::new().allowed_origin("https://partner.example"));
    let (cookie, token) = login(&app).await;
    let with = |name: &'static str, value: &'static str| {
        let request = post(&cookie)
            .header("x-csrf-token", &token)
            .header(name, value);
        request.body(Body::empty()).unwrap()
    };
    let status = |request| async { send(&app, request).await.status() };
    assert_eq!(
        status(with("sec-fetch-site", "cross-site")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(with("sec-fetch-site", "same-site")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(with("origin", "https://evil.example")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(with("origin", "null")).await, StatusCode::FORBIDDEN);
    // The request's own origin (Host header, scheme http), and an allowed one, go on.
    assert_eq!(
        status(with("origin", "http://bank.example")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(with("origin", "https://partner.example")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(with("sec-fetch-site", "same-origin")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_request_origin_follows_forwarded_headers() {
    let app = app(CsrfProtection::new());
    let (cookie, token) = login(&app).await;
    let request = post(&cookie)
        .header("x-csrf-token", &token)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "www.bank.example")
        .header("origin", "https://www.bank.example");
    assert_eq!(
        send(&app, request.body(Body::empty()).unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn safe_methods_pass_and_custom_settings_apply() {
    let protection = CsrfProtection::new()
        .header(header::HeaderName::from_static("x-xsrf"))
        .form_field("authenticity")
        .allow_same_site();
    let app = app(protection);
    let (cookie, token) = login(&app).await;
    let request = post(&cookie)
        .header("x-xsrf", &token)
        .header("sec-fetch-site", "same-site")
        .body(Body::empty());
    assert_eq!(send(&app, request.unwrap()).await.status(), StatusCode::OK);
    let request = post(&cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("authenticity={token}")));
    assert_eq!(send(&app, request.unwrap()).await.status(), StatusCode::OK);
    let head = with_cookies(
        Request::builder().method(Method::GET).uri("/login"),
        &[&cookie],
    );
    assert_eq!(
        send(&app, head.body(Body::empty()).unwrap()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_custom_refusal_may_be_any_into_response_and_origin_only_needs_no_session() {
    let login = CsrfProtection::origin_only().refusal(|refusal: CsrfRefusal| {
        (StatusCode::BAD_REQUEST, format!("login refused: {refusal}"))
    });
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .store(MemoryStore::new())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
    let app = Router::new()
        .route(
            "/login",
            axum::routing::post(|| async { "welcome" }).layer(login),
        )
        .layer(sessions);
    let post = |site: &str| {
        Request::post("/login")
            .header("sec-fetch-site", site)
            .body(Body::empty())
            .unwrap()
    };
    let response = send(&app, post("cross-site")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body(response).await,
        "login refused: cross-origin request refused (by its Sec-Fetch-Site header)"
    );
    let response = send(&app, post("same-origin")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "welcome");
}
