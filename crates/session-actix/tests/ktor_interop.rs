//! Sharing sessions with a Ktor service (feature `ktor`): Ktor's encrypted format and bare
//! JSON values.
#![cfg(feature = "ktor")]

mod common;

use actix_web::test::{init_service, read_body};
use actix_web::{App, HttpResponse, web};
use common::{get, the_cookie};
use serde::{Deserialize, Serialize};
use session_actix::core::{
    KtorEncrypt, MemoryStore, SessionId, SessionStore, Sign, SigningKey, Transformer,
};
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

/// Ktor's `TestUserSession`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestUserSession {
    user_id: String,
    cart: Vec<String>,
}

/// Ktor's test vector: `{"userId":"id2","cart":[]}` sealed with its keys and a fixed IV.
const KTOR_SEALED: &str = "00112233445566778899aabbccddeeff/9b8cf9900ff0f63849cb7a2ad71ed8a1ac9f0e2735492d2a5129cf278d70ab27:40af9f393a00034b53d2267251047259005bdf5ff104eede599149e80e6fee13";

fn ktor_encrypt() -> KtorEncrypt {
    let aes = hex::decode("00112233445566778899aabbccddeeff").unwrap();
    let mac = hex::decode("02030405060708090a0b0c").unwrap();
    KtorEncrypt::new(&aes, SigningKey::from_bytes_for_interop(&mac).unwrap()).unwrap()
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/get",
            web::get().to(|s: Session<TestUserSession>| async move {
                let user = s.get().await?.map_or("none".to_owned(), |u| u.user_id);
                Ok::<_, SessionError>(HttpResponse::Ok().body(user))
            }),
        )
        .route(
            "/set",
            web::get().to(|s: Session<TestUserSession>| async move {
                s.set(TestUserSession {
                    user_id: "id 2".into(),
                    cart: vec!["a".into()],
                })?;
                let csrf = s.csrf_token().await?;
                Ok::<_, SessionError>(HttpResponse::Ok().body(format!("{csrf:?}")))
            }),
        );
}

#[actix_rt::test]
async fn reads_and_writes_ktors_encrypted_client_side_sessions() {
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<TestUserSession>::new(CookieTransport::new("user_session"))
                .transform(ktor_encrypt())
                .without_envelope(),
        )
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).configure(routes)).await;

    let ktor_cookie = actix_web::cookie::Cookie::new("user_session", KTOR_SEALED);
    assert_eq!(
        read_body(get(&app, "/get", Some(&ktor_cookie)).await).await,
        "id2"
    );

    let response = get(&app, "/set", None).await;
    let written = the_cookie(&response, "user_session");
    assert_eq!(
        read_body(response).await,
        "None",
        "no CSRF token without the envelope"
    );
    // What Ktor's transformer reads back: the bare JSON of the session class.
    let opened = ktor_encrypt()
        .unseal("user_session", written.value())
        .unwrap();
    assert_eq!(opened.value, r#"{"userId":"id 2","cart":["a"]}"#);
}

#[actix_rt::test]
async fn server_side_sessions_in_ktors_format() {
    let store = MemoryStore::new();
    let key =
        SigningKey::from_bytes_for_interop(&hex::decode("6819b57a326945c1968f45236589").unwrap())
            .unwrap();
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<TestUserSession>::new(CookieTransport::new("cart_session"))
                .store(store.clone())
                .transform(Sign::ktor_compatible(key.clone()))
                .without_envelope(),
        )
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).configure(routes)).await;

    // A session that Ktor stored: bare JSON under an ID, the cookie `id/hex(hmac(id))`.
    let id = SessionId::generate();
    store
        .save(
            &id,
            r#"{"userId":"from-ktor","cart":[]}"#,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    // Ktor's format, pinned by the known answer in session-core's `Sign` tests.
    let value = Sign::ktor_compatible(key)
        .seal("cart_session", id.as_str())
        .unwrap();
    let cookie = actix_web::cookie::Cookie::new("cart_session", value);
    assert_eq!(
        read_body(get(&app, "/get", Some(&cookie)).await).await,
        "from-ktor"
    );

    let response = get(&app, "/set", None).await;
    let written = the_cookie(&response, "cart_session");
    let new_id = SessionId::parse(written.value().rsplit_once('/').unwrap().0).unwrap();
    assert_eq!(
        store.load(&new_id).await.unwrap().as_deref(),
        Some(r#"{"userId":"id 2","cart":["a"]}"#),
        "stored as Ktor stores it"
    );
}
