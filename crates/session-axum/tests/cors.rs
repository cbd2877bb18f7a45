//! `Sessions::cors`: a preflight allows the session header, and responses expose it.
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
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(HeaderTransport::new("x-cart-session"))
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

#[tokio::test]
async fn a_preflight_allows_the_session_header() {
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/cart")
        .header(header::ORIGIN, "https://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "x-cart-session")
        .body(Body::empty())
        .unwrap();
    let response = send(&app(), preflight).await;
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
