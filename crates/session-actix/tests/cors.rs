//! `Sessions::cors` with a bearer session: a preflight allows `authorization`, and responses
//! expose the session's response header.
#![cfg(feature = "cors")]

mod common;

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use common::{Cart, body, show_cart};
use session_actix::core::{MemoryStore, Sign, SigningKey};
use session_actix::{HeaderTransport, Session, SessionConfig, SessionError, Sessions};

const ORIGIN: &str = "https://app.example";

/// A bearer session read from `Authorization` and handed out in `x-session-token`, behind
/// CORS for any origin.
fn sessions() -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(HeaderTransport::bearer("x-session-token"))
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap()
}

macro_rules! app {
    () => {{
        let sessions = sessions();
        let cors = sessions.cors(Cors::default().allow_any_origin().allowed_methods(["GET"]));
        init_service(
            App::new()
                .wrap(sessions)
                .wrap(cors)
                .route("/cart", web::get().to(show_cart))
                .route(
                    "/add",
                    web::get().to(|s: Session<Cart>| async move {
                        s.set(Cart { items: vec![1] })?;
                        Ok::<_, SessionError>(HttpResponse::Ok().body("added"))
                    }),
                ),
        )
        .await
    }};
}

#[actix_rt::test]
async fn a_preflight_allows_authorization_for_a_bearer_session() {
    let app = app!();
    let preflight = TestRequest::default()
        .method(Method::OPTIONS)
        .uri("/cart")
        .insert_header((header::ORIGIN, ORIGIN))
        .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "GET"))
        .insert_header((header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization"))
        .to_request();
    let response = call_service(&app, preflight).await;
    assert!(response.status().is_success(), "{}", response.status());
    let allowed = response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        allowed, "authorization",
        "the request header, not the response one"
    );
}

#[actix_rt::test]
async fn responses_expose_the_bearer_sessions_response_header() {
    let app = app!();
    let request = TestRequest::get()
        .uri("/add")
        .insert_header((header::ORIGIN, ORIGIN))
        .to_request();
    let response = call_service(&app, request).await;
    let exposed = response
        .headers()
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        exposed, "x-session-token",
        "the response header, not authorization"
    );
    let token = response
        .headers()
        .get("x-session-token")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(body(response).await, "added");
    let request = TestRequest::get()
        .uri("/cart")
        .insert_header((header::ORIGIN, ORIGIN))
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    assert_eq!(body(call_service(&app, request).await).await, "[1]");
}
