//! `Session::update`: concurrent requests of one session lose no update.

mod common;

use actix_web::test::{init_service, read_body};
use actix_web::{App, HttpResponse, web};
use common::{Cart, get, the_cookie};
use session_actix::core::{DynSessionStore, MemoryStore, Sign, SigningKey};
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/start",
            web::get().to(|s: Session<Cart>| async move {
                s.set(Cart { items: vec![0] })?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/visit",
            web::get().to(|s: Session<Cart>| async move {
                let cart = s.update(|cart| cart.items[0] += 1).await?;
                let count = cart.map_or(-1, |cart| cart.items[0]);
                Ok::<_, SessionError>(HttpResponse::Ok().body(count.to_string()))
            }),
        )
        .route(
            "/count",
            web::get().to(|s: Session<Cart>| async move {
                let count = s.get().await?.map_or(-1, |cart| cart.items[0]);
                Ok::<_, SessionError>(HttpResponse::Ok().body(count.to_string()))
            }),
        );
}

async fn hundred_concurrent_visits(store: std::sync::Arc<dyn DynSessionStore>) {
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .shared_store(store)
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).configure(routes)).await;
    let cookie = the_cookie(&get(&app, "/start", None).await, "cart");
    let visits = (0..100).map(|_| get(&app, "/visit", Some(&cookie)));
    let mut seen: Vec<i32> = Vec::new();
    for response in futures::future::join_all(visits).await {
        assert!(response.status().is_success());
        seen.push(
            String::from_utf8(read_body(response).await.to_vec())
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=100).collect::<Vec<_>>(),
        "every visit saw its own new count"
    );
    let response = get(&app, "/count", Some(&cookie)).await;
    assert_eq!(read_body(response).await, "100");
}

#[actix_rt::test]
async fn memory_store() {
    hundred_concurrent_visits(std::sync::Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "fs")]
#[actix_rt::test]
async fn directory_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = session_actix::FsSessionStore::new(dir.path())
        .unwrap()
        .with_durability(session_actix::Durability::NoFsync);
    hundred_concurrent_visits(std::sync::Arc::new(store)).await;
}

#[cfg(feature = "redis")]
#[actix_rt::test]
async fn redis_store() {
    let Some(redis) = session_redis::test_util::redis("session_actix_atomic_update") else {
        return;
    };
    let prefix = format!(
        "atomic-update-test:{}:",
        session_actix::core::SessionId::generate().as_str()
    );
    let store = session_actix::RedisSessionStore::builder(redis.url.clone())
        .key_prefix(prefix)
        .build()
        .await
        .unwrap();
    hundred_concurrent_visits(std::sync::Arc::new(store)).await;
}

#[actix_rt::test]
async fn update_without_a_session_does_nothing() {
    let sessions = Sessions::builder()
        .session(SessionConfig::<Cart>::new(CookieTransport::new("cart")).store(MemoryStore::new()))
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).configure(routes)).await;
    let response = get(&app, "/visit", None).await;
    assert!(common::set_cookies(&response).is_empty());
    assert_eq!(read_body(response).await, "-1");
}
