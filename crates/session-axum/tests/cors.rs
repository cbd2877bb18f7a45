//! `Sessions::cors`: a preflight allows the session header (`authorization` for a bearer
//! session), and responses expose it (a bearer session's response header).
#![cfg(feature = "cors")]

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use common::{Cart, body, send, show_cart};
use session_axum::core::{MemoryStore, Sign, SigningKey};
use session_axum::{HeaderTransport, Session, SessionConfig, SessionError, Sessions};
use tower_http::cors::{Any, CorsLayer};

fn app() -> Router {
    app_with(HeaderTransport::new("x-cart-session"))
}

/// A bearer session read from `Authorization` and handed out in `x-session-token`.
fn bearer_app() -> Router {
    app_with(HeaderTransport::bearer("x-session-token"))
}

fn app_with(transport: HeaderTransport) -> Router {
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(transport)
            .store(MemoryStore::new())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
    let cors = sessions.cors(
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET]),
    );
    Router::new()
        .route("/cart", get(show_cart))
        .route(
            "/add",
            get(|s: Session<Cart>| async move {
                s.set(Cart { items: vec![1] })?;
                Ok::<_, SessionError>("added")
            }),
        )
        .layer(sessions)
        .layer(cors)
}

/// A preflight asking to send `headers` to `GET /cart`.
fn preflight(headers: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/cart")
        .header(header::ORIGIN, "https://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_preflight_allows_the_session_header() {
    let response = send(&app(), preflight("x-cart-session")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let allowed = response.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert!(allowed.contains("x-cart-session"), "{allowed}");
}

#[tokio::test]
async fn responses_expose_the_session_header() {
    let request = Request::get("/add")
        .header(header::ORIGIN, "https://app.example")
        .body(Body::empty())
        .unwrap();
    let response = send(&app(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let exposed = response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-cart-session"), "{exposed}");
    assert!(response.headers().contains_key("x-cart-session"));
    assert_eq!(body(response).await, "added");
}

#[tokio::test]
async fn a_preflight_allows_authorization_for_a_bearer_session() {
    let response = send(&bearer_app(), preflight("authorization")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let allowed = response.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert_eq!(
        allowed, "authorization",
        "the request header, not the response one"
    );
}

#[tokio::test]
async fn responses_expose_the_bearer_sessions_response_header() {
    let app = bearer_app();
    let request = Request::get("/add")
        .header(header::ORIGIN, "https://app.example")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    let exposed = response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    assert_eq!(
        exposed, "x-session-token",
        "the response header, not authorization"
    );
    let token = response.headers()["x-session-token"].to_str().unwrap();
    let request = Request::get("/cart")
        .header(header::ORIGIN, "https://app.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(send(&app, request).await).await, "[1]");
}
