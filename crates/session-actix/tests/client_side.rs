//! Client-side sessions: the whole value travels in a cookie or header, sealed.

mod common;

use common::body;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use common::{User, cookie_header, get, is_removal, set_cookies, the_cookie};
use session_actix::cookie::SameSite;
use session_actix::core::{Encrypt, EncryptionKey, Sign, SigningKey};
use session_actix::{
    CookieTransport, HeaderTransport, Session, SessionConfig, SessionError, Sessions,
};

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/get",
            web::get().to(|s: Session<User>| async move {
                let user = s.get().await?;
                Ok::<_, SessionError>(HttpResponse::Ok().body(match user {
                    Some(user) => format!("{}:{}", user.name, user.visits),
                    None => "none".to_owned(),
                }))
            }),
        )
        .route(
            "/set/{name}",
            web::get().to(|s: Session<User>, name: web::Path<String>| async move {
                s.set(User {
                    name: name.into_inner(),
                    visits: 0,
                })?;
                Ok::<_, SessionError>(HttpResponse::Ok().body("set"))
            }),
        )
        .route(
            "/set-twice",
            web::get().to(|s: Session<User>| async move {
                s.set(User {
                    name: "first".into(),
                    visits: 1,
                })?;
                s.set(User {
                    name: "second".into(),
                    visits: 2,
                })?;
                let now = s.get().await?.map(|u| u.name).unwrap_or_default();
                Ok::<_, SessionError>(HttpResponse::Ok().body(now))
            }),
        )
        .route(
            "/clear",
            web::get().to(|s: Session<User>| async move {
                s.clear();
                HttpResponse::Ok().body("cleared")
            }),
        )
        .route(
            "/set-then-fail",
            web::get().to(|s: Session<User>| async move {
                s.set(User {
                    name: "ghost".into(),
                    visits: 0,
                })?;
                Ok::<_, SessionError>(HttpResponse::InternalServerError().body("boom"))
            }),
        )
        .route(
            "/plain",
            web::get().to(|| async { HttpResponse::Ok().body("plain") }),
        )
        .route(
            "/big",
            web::get().to(|s: Session<User>| async move {
                let result = s.set(User {
                    name: "x".repeat(5000),
                    visits: 0,
                });
                HttpResponse::Ok().body(match result {
                    Err(SessionError::CookieTooLarge { size, limit, .. }) => {
                        format!("too large {size} > {limit}")
                    }
                    Err(other) => format!("other error {other}"),
                    Ok(()) => "accepted".to_owned(),
                })
            }),
        );
}

fn encrypted(key: EncryptionKey) -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<User>::new(
                CookieTransport::new("user").max_age(Duration::from_secs(60)),
            )
            .transform(Encrypt::new(key)),
        )
        .build()
        .unwrap()
}

macro_rules! service {
    ($sessions:expr) => {
        init_service(App::new().wrap($sessions).configure(routes)).await
    };
}

#[actix_rt::test]
async fn set_get_clear_round_trip_with_secure_cookie_defaults() {
    let app = service!(encrypted(EncryptionKey::generate()));

    let response = get(&app, "/get", None).await;
    assert!(set_cookies(&response).is_empty(), "no session, no cookie");
    assert_eq!(body(response).await, "none");

    let response = get(&app, "/set/ada", None).await;
    let cookie = the_cookie(&response, "user");
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::seconds(60))
    );
    assert!(cookie.expires().is_some());
    assert!(!cookie.value().contains("ada"), "encrypted");

    let response = get(&app, "/get", Some(&cookie)).await;
    assert!(
        set_cookies(&response).is_empty(),
        "a plain read writes nothing"
    );
    assert_eq!(body(response).await, "ada:0");

    let response = get(&app, "/clear", Some(&cookie)).await;
    let removal = the_cookie(&response, "user");
    assert!(is_removal(&removal), "{removal:?}");
    assert_eq!(removal.path(), Some("/"));
    assert_eq!(removal.secure(), Some(true));
    assert_eq!(removal.same_site(), Some(SameSite::Lax));
}

#[actix_rt::test]
async fn browser_session_cookie_without_max_age() {
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<User>::new(CookieTransport::new("user"))
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    let app = service!(sessions);
    let response = get(&app, "/set/ada", None).await;
    let cookie = the_cookie(&response, "user");
    assert_eq!(cookie.max_age(), None);
    assert_eq!(cookie.expires(), None);
}

#[actix_rt::test]
async fn clear_without_incoming_value_sends_nothing() {
    let app = service!(encrypted(EncryptionKey::generate()));
    let response = get(&app, "/clear", None).await;
    assert!(set_cookies(&response).is_empty());
}

#[actix_rt::test]
async fn forged_and_garbled_values_are_no_session_and_get_expired() {
    let key = EncryptionKey::generate();
    let app = service!(encrypted(key.clone()));
    let response = get(&app, "/set/ada", None).await;
    let good = the_cookie(&response, "user").value().to_owned();
    let other_key = {
        let other = service!(encrypted(EncryptionKey::generate()));
        let response = call_service(&other, TestRequest::get().uri("/set/ada").to_request()).await;
        the_cookie(&response, "user").value().to_owned()
    };
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let hostile = [
        String::from_utf8(flipped).unwrap(),
        good[..good.len() - 1].to_owned(),
        "x".repeat(10_000),
        "%00%ff%fe garbage ; ,".to_owned(),
        other_key,
        "é☃".to_owned(),
    ];
    for value in hostile {
        let header = format!(
            "user={}",
            actix_web::cookie::Cookie::new("v", value.clone())
                .encoded()
                .to_string()
                .trim_start_matches("v=")
        );
        let response = call_service(
            &app,
            TestRequest::get()
                .uri("/get")
                .insert_header(("cookie", header))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{value:.40}");
        let removal = the_cookie(&response, "user");
        assert!(
            is_removal(&removal),
            "unusable value is expired: {value:.40}"
        );
        assert_eq!(body(response).await, "none", "{value:.40}");
    }
}

#[actix_rt::test]
async fn set_twice_keeps_the_last_value_and_sends_one_cookie() {
    let app = service!(encrypted(EncryptionKey::generate()));
    let response = get(&app, "/set-twice", None).await;
    let cookie = the_cookie(&response, "user");
    assert_eq!(body(response).await, "second");
    let response = get(&app, "/get", Some(&cookie)).await;
    assert_eq!(body(response).await, "second:2");
}

#[actix_rt::test]
async fn server_error_responses_do_not_persist_changes() {
    let app = service!(encrypted(EncryptionKey::generate()));
    let response = get(&app, "/set-then-fail", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
}

#[actix_rt::test]
async fn oversized_cookie_is_an_error_from_set() {
    let app = service!(encrypted(EncryptionKey::generate()));
    let response = get(&app, "/big", None).await;
    assert!(set_cookies(&response).is_empty(), "nothing was set");
    let text = body(response).await;
    assert!(text.starts_with("too large"), "{text}");
    assert!(text.ends_with("> 4096"), "{text}");
}

#[actix_rt::test]
async fn rotated_key_still_reads_and_reseals_with_the_current_key() {
    let old = EncryptionKey::generate();
    let new = EncryptionKey::generate();
    let before = service!(encrypted(old.clone()));
    let response = call_service(&before, TestRequest::get().uri("/set/ada").to_request()).await;
    let old_cookie = the_cookie(&response, "user");

    let rotated = Sessions::builder()
        .session(
            SessionConfig::<User>::new(CookieTransport::new("user"))
                .transform(Encrypt::new(new.clone()).with_previous_key(old)),
        )
        .build()
        .unwrap();
    let app = service!(rotated);
    let response = get(&app, "/get", Some(&old_cookie)).await;
    let resealed = the_cookie(&response, "user");
    assert_eq!(
        body(response).await,
        "ada:0",
        "nobody is logged out by a rotation"
    );

    // The re-sealed cookie opens with the new key alone.
    let after = service!(encrypted(new));
    let response = call_service(
        &after,
        TestRequest::get()
            .uri("/get")
            .insert_header(cookie_header(&resealed))
            .to_request(),
    )
    .await;
    assert_eq!(body(response).await, "ada:0");
}

#[actix_rt::test]
async fn old_schema_payload_is_no_session() {
    #[derive(serde::Serialize, serde::Deserialize, Clone)]
    struct OldUser {
        login: String,
    }
    let key = EncryptionKey::generate();
    let old_app = init_service(
        App::new()
            .wrap(
                Sessions::builder()
                    .session(
                        SessionConfig::<OldUser>::new(CookieTransport::new("user"))
                            .transform(Encrypt::new(key.clone())),
                    )
                    .build()
                    .unwrap(),
            )
            .route(
                "/",
                web::get().to(|s: Session<OldUser>| async move {
                    s.set(OldUser {
                        login: "ada".into(),
                    })?;
                    Ok::<_, SessionError>(HttpResponse::Ok().finish())
                }),
            ),
    )
    .await;
    let response = call_service(&old_app, TestRequest::get().uri("/").to_request()).await;
    let cookie = the_cookie(&response, "user");

    let app = service!(encrypted(key));
    let response = get(&app, "/get", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(is_removal(&the_cookie(&response, "user")));
    assert_eq!(body(response).await, "none");
}

#[actix_rt::test]
async fn encrypted_value_is_bound_to_the_session_name() {
    let key = EncryptionKey::generate();
    let app = service!(encrypted(key.clone()));
    let response = get(&app, "/set/ada", None).await;
    let value = the_cookie(&response, "user").value().to_owned();
    let renamed = Sessions::builder()
        .session(
            SessionConfig::<User>::new(CookieTransport::new("admin")).transform(Encrypt::new(key)),
        )
        .build()
        .unwrap();
    let app = service!(renamed);
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/get")
            .insert_header(("cookie", format!("admin={value}")))
            .to_request(),
    )
    .await;
    assert_eq!(body(response).await, "none");
}

#[actix_rt::test]
async fn header_transport_carries_the_value_and_never_a_cookie() {
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<User>::new(HeaderTransport::new("x-user-session"))
                .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .build()
        .unwrap();
    let app = service!(sessions);
    let response = get(&app, "/set/ada", None).await;
    assert!(set_cookies(&response).is_empty());
    let value = response
        .headers()
        .get("x-user-session")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();

    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/get")
            .insert_header(("x-user-session", value.clone()))
            .to_request(),
    )
    .await;
    assert!(
        response.headers().get("x-user-session").is_none(),
        "plain read sends nothing"
    );
    assert_eq!(body(response).await, "ada:0");

    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/get")
            .insert_header((
                "x-user-session",
                actix_web::http::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
            ))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "none");

    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/clear")
            .insert_header(("x-user-session", value))
            .to_request(),
    )
    .await;
    assert!(response.headers().get("x-user-session").is_none());
    assert!(set_cookies(&response).is_empty());
}

#[actix_rt::test]
async fn signed_values_travel_in_a_header_percent_encoded() {
    // A signed value is readable text with spaces and a line break: not header text as it is.
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<User>::new(HeaderTransport::new("x-user-session"))
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    let app = service!(sessions);
    let response = get(&app, "/set/zo%C3%AB", None).await;
    let value = response
        .headers()
        .get("x-user-session")
        .expect("the value is sent")
        .clone();
    assert!(value.to_str().unwrap().contains('%'), "{value:?}");

    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/get")
            .insert_header(("x-user-session", value))
            .to_request(),
    )
    .await;
    assert_eq!(body(response).await, "zoë:0");
}

#[actix_rt::test]
async fn untouched_session_costs_nothing_even_with_a_bad_cookie() {
    let app = service!(encrypted(EncryptionKey::generate()));
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/plain")
            .insert_header(("cookie", "user=forged"))
            .to_request(),
    )
    .await;
    assert!(
        set_cookies(&response).is_empty(),
        "never looked at, never expired"
    );
    assert_eq!(body(response).await, "plain");
}

#[actix_rt::test]
async fn a_non_ascii_neighbour_cookie_does_not_hide_the_session() {
    let app = service!(encrypted(EncryptionKey::generate()));
    let response = get(&app, "/set/ada", None).await;
    let cookie = the_cookie(&response, "user");
    let mut header = b"theme=caf\xc3\xa9; junk=\xff\xfe; ".to_vec();
    header.extend_from_slice(cookie_header(&cookie).1.as_bytes());
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/get")
            .insert_header((
                "cookie",
                actix_web::http::header::HeaderValue::from_bytes(&header).unwrap(),
            ))
            .to_request(),
    )
    .await;
    assert_eq!(body(response).await, "ada:0");

    // Our own cookie with raw non-UTF-8 bytes is unusable: no session, and expired.
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/get")
            .insert_header((
                "cookie",
                actix_web::http::header::HeaderValue::from_bytes(b"user=\xff\xfe").unwrap(),
            ))
            .to_request(),
    )
    .await;
    assert!(is_removal(&the_cookie(&response, "user")));
    assert_eq!(body(response).await, "none");
}
