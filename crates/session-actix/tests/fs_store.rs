//! The directory storage behind the middleware (feature `fs`).
#![cfg(feature = "fs")]

mod common;

use common::body;

use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use common::{Cart, get, is_removal, the_cookie};
use session_actix::core::{Sign, SigningKey};
use session_actix::{
    CookieTransport, FsSessionStore, HeaderTransport, Session, SessionConfig, SessionError,
    Sessions,
};

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/cart", web::get().to(common::show_cart))
        .route(
            "/set",
            web::get().to(|s: Session<Cart>| async move {
                s.set(Cart {
                    items: vec![1, 3, 7],
                })?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        );
}

fn entries(root: &std::path::Path) -> usize {
    std::fs::read_dir(root).unwrap().count()
}

#[actix_rt::test]
async fn sessions_live_in_files_and_hostile_values_never_touch_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    // No transformer: the ID travels bare, so hostile text reaches the ID parser directly.
    let sessions = Sessions::builder()
        .session(SessionConfig::<Cart>::new(CookieTransport::new("cart")).store(store.clone()))
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).configure(routes)).await;
    for hostile in [
        "..",
        "../../etc/passwd",
        "%2e%2e%2f%2e%2e",
        "a/b",
        "a\\b",
        "%00",
        "é",
        &"A".repeat(10_000),
        &"A".repeat(43).replacen('A', ".", 1),
    ] {
        let cookie = actix_web::cookie::Cookie::new("cart", hostile.to_owned());
        let response = get(&app, "/cart", Some(&cookie)).await;
        assert!(is_removal(&the_cookie(&response, "cart")));
        assert_eq!(body(response).await, "empty");
        let response = get(&app, "/set", Some(&cookie)).await;
        let issued = the_cookie(&response, "cart");
        assert_ne!(issued.value(), hostile, "never adopted");
    }
    // Only the issued sessions exist: one shard directory per issued ID, nothing else.
    let issued = entries(dir.path());
    assert!((1..=9).contains(&issued), "{issued} entries");
    for shard in std::fs::read_dir(dir.path()).unwrap() {
        let name = shard.unwrap().file_name();
        assert_eq!(name.len(), 2, "{name:?}");
    }
}

#[actix_rt::test]
async fn a_session_survives_a_new_store_on_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    let build = |dir: &std::path::Path| {
        Sessions::builder()
            .session(
                SessionConfig::<Cart>::new(HeaderTransport::new("cart_session"))
                    .store(FsSessionStore::new(dir).unwrap())
                    .transform(Sign::new(key.clone())),
            )
            .build()
            .unwrap()
    };
    let first = init_service(App::new().wrap(build(dir.path())).configure(routes)).await;
    let response = call_service(&first, TestRequest::get().uri("/set").to_request()).await;
    let header = response.headers().get("cart_session").unwrap().clone();
    drop(first);
    let second = init_service(App::new().wrap(build(dir.path())).configure(routes)).await;
    let response = call_service(
        &second,
        TestRequest::get()
            .uri("/cart")
            .insert_header(("cart_session", header))
            .to_request(),
    )
    .await;
    assert_eq!(body(response).await, "[1, 3, 7]");
}
