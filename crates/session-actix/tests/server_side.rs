//! Server-side sessions: only a sealed ID travels; the value lives in a storage.

mod common;

use common::body;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use common::{
    Cart, ProbeStore, cookie_header, get, is_removal, set_cookies, stored_value, the_cookie,
};
use session_actix::core::{SessionId, SessionStore, Sign, SigningKey};
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/cart", web::get().to(common::show_cart))
        .route(
            "/add/{item}",
            web::get().to(|s: Session<Cart>, item: web::Path<i32>| async move {
                let mut cart = s.get().await?.unwrap_or(Cart { items: vec![] });
                cart.items.push(item.into_inner());
                s.set(cart)?;
                common::id_response(&s).await
            }),
        )
        .route(
            "/blind-set",
            web::get().to(|s: Session<Cart>| async move {
                s.set(Cart { items: vec![42] })?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/login",
            web::get().to(|s: Session<Cart>| async move {
                s.renew().await?;
                common::id_response(&s).await
            }),
        )
        .route(
            "/id",
            web::get().to(|s: Session<Cart>| async move {
                let id = s.id().await?.map(|id| id.as_str().to_owned());
                Ok::<_, SessionError>(HttpResponse::Ok().body(id.unwrap_or_else(|| "none".into())))
            }),
        )
        .route(
            "/logout",
            web::get().to(|s: Session<Cart>| async move {
                s.clear();
                HttpResponse::Ok().finish()
            }),
        )
        .route(
            "/plain",
            web::get().to(|| async { HttpResponse::Ok().body("plain") }),
        );
}

fn sessions(store: &ProbeStore, key: &SigningKey) -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(store.clone())
                .transform(Sign::new(key.clone())),
        )
        .build()
        .unwrap()
}

macro_rules! service {
    ($store:expr) => {
        init_service(
            App::new()
                .wrap(sessions(&$store, &SigningKey::generate()))
                .configure(routes),
        )
        .await
    };
    ($store:expr, $key:expr) => {
        init_service(App::new().wrap(sessions(&$store, &$key)).configure(routes)).await
    };
}

fn id_of(cookie: &actix_web::cookie::Cookie<'_>) -> SessionId {
    let (id, mac) = cookie.value().rsplit_once('/').unwrap();
    assert_eq!(mac.len(), 64);
    SessionId::parse(id).unwrap()
}

#[actix_rt::test]
async fn only_a_signed_id_travels_and_the_handler_can_read_it() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/1", None).await;
    let cookie = the_cookie(&response, "cart");
    let id = id_of(&cookie);
    assert_eq!(
        body(response).await,
        id.as_str(),
        "id() before persisting is the ID sent"
    );
    assert_eq!(
        stored_value(&store.inner, &id).await.as_deref(),
        Some(r#"{"items":[1]}"#)
    );

    let loads = store.loads();
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert!(set_cookies(&response).is_empty(), "plain read: no cookie");
    assert_eq!(body(response).await, "[1]");
    assert_eq!(store.loads(), loads + 1, "one storage read");

    let saves = store.saves();
    let response = get(&app, "/add/3", Some(&cookie)).await;
    assert!(
        set_cookies(&response).is_empty(),
        "same ID, browser-session cookie: nothing to resend"
    );
    assert_eq!(body(response).await, id.as_str());
    assert_eq!(store.saves(), saves + 1);
    assert_eq!(
        stored_value(&store.inner, &id).await.as_deref(),
        Some(r#"{"items":[1,3]}"#)
    );
}

#[actix_rt::test]
async fn lazy_no_storage_access_unless_asked() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/1", None).await;
    let cookie = the_cookie(&response, "cart");
    let (loads, saves) = (store.loads(), store.saves());
    let response = get(&app, "/plain", Some(&cookie)).await;
    assert_eq!(body(response).await, "plain");
    assert_eq!(
        (store.loads(), store.saves(), store.deletes()),
        (loads, saves, 0)
    );
}

#[actix_rt::test]
async fn clear_deletes_the_entry_and_expires_the_cookie() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/1", None).await;
    let cookie = the_cookie(&response, "cart");
    let response = get(&app, "/logout", Some(&cookie)).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(store.inner.load(&id_of(&cookie)).await.unwrap(), None);
    assert!(store.inner.is_empty());

    // The replayed cookie is a valid signature of an ID that no longer exists.
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(body(response).await, "empty");
}

#[actix_rt::test]
async fn renew_moves_the_data_to_a_new_id_and_invalidates_the_old() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/7", None).await;
    let old_cookie = the_cookie(&response, "cart");
    let response = get(&app, "/login", Some(&old_cookie)).await;
    let new_cookie = the_cookie(&response, "cart");
    let new_id = id_of(&new_cookie);
    assert_ne!(new_id, id_of(&old_cookie));
    assert_eq!(
        body(response).await,
        new_id.as_str(),
        "id() reports the renewed ID"
    );
    assert_eq!(store.inner.load(&id_of(&old_cookie)).await.unwrap(), None);
    assert_eq!(
        stored_value(&store.inner, &new_id).await.as_deref(),
        Some(r#"{"items":[7]}"#)
    );

    let response = get(&app, "/cart", Some(&new_cookie)).await;
    assert_eq!(body(response).await, "[7]");
}

#[actix_rt::test]
async fn renew_without_a_session_sends_nothing() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/login", None).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body(response).await, "");
    assert!(store.inner.is_empty());
}

#[actix_rt::test]
async fn an_id_the_server_did_not_issue_is_never_adopted() {
    let store = ProbeStore::default();
    let key = SigningKey::generate();
    let app = service!(store, key);
    // A correctly signed but never issued ID (as if the signing key had leaked).
    let planted = SessionId::generate();
    let value =
        session_actix::core::Transformer::seal(&Sign::new(key), "cart", planted.as_str()).unwrap();
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/blind-set")
            .insert_header(cookie_header(&actix_web::cookie::Cookie::new(
                "cart", value,
            )))
            .to_request(),
    )
    .await;
    let cookie = the_cookie(&response, "cart");
    assert_ne!(id_of(&cookie), planted);
    assert_eq!(store.inner.load(&planted).await.unwrap(), None);
    assert_eq!(store.inner.len(), 1);
}

#[actix_rt::test]
async fn set_without_reading_reuses_a_valid_existing_id() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/1", None).await;
    let cookie = the_cookie(&response, "cart");
    let response = get(&app, "/blind-set", Some(&cookie)).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(store.inner.len(), 1, "no orphaned entry");
    assert_eq!(
        stored_value(&store.inner, &id_of(&cookie)).await.as_deref(),
        Some(r#"{"items":[42]}"#)
    );
}

#[actix_rt::test]
async fn forged_and_hostile_ids_never_reach_the_storage() {
    let store = ProbeStore::default();
    let app = service!(store);
    for value in [
        "../../etc/passwd".to_owned(),
        format!("{}/{}", "a".repeat(43), "0".repeat(64)),
        "x".repeat(10_000),
        "%2e%2e%2f".to_owned(),
    ] {
        let response = call_service(
            &app,
            TestRequest::get()
                .uri("/cart")
                .insert_header(cookie_header(&actix_web::cookie::Cookie::new(
                    "cart", value,
                )))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(is_removal(&the_cookie(&response, "cart")));
        assert_eq!(body(response).await, "empty");
    }
    assert_eq!(store.loads(), 0, "rejected before any storage access");
}

#[actix_rt::test]
async fn stored_text_of_an_old_schema_is_no_session_and_is_removed() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/1", None).await;
    let cookie = the_cookie(&response, "cart");
    let id = id_of(&cookie);
    store
        .inner
        .save(
            &id,
            &session_actix::core::Record::new(
                r#"{"products":"old"}"#.to_owned(),
                std::time::SystemTime::now(),
                None,
            )
            .encode("cart"),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(body(response).await, "empty");
    assert_eq!(store.inner.load(&id).await.unwrap(), None);
}

#[actix_rt::test]
async fn storage_failure_is_an_opaque_500() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/add/1", None).await;
    let cookie = the_cookie(&response, "cart");
    store.fail(true);

    // Failure while loading inside the handler.
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body(response).await, "");

    // Failure while persisting after the handler.
    let response = get(&app, "/blind-set", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body(response).await, "");

    // A route that never touches the session is unaffected.
    let response = get(&app, "/plain", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_rt::test]
async fn id_is_none_without_a_session() {
    let store = ProbeStore::default();
    let app = service!(store);
    let response = get(&app, "/id", None).await;
    assert_eq!(body(response).await, "none");
}
