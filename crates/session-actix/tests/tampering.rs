//! Every single-character change of a sealed value, in every mode, is rejected.
//!
//! Each character of the transported value is replaced by another character of the same
//! alphabet (so the value still decodes and the authenticity check is what must refuse it),
//! and the result is sent back: the handler must see no session, every time.

mod common;

use actix_web::test::{init_service, read_body};
use actix_web::{App, HttpResponse, web};
use common::{User, get};
use session_actix::cookie::Cookie;
use session_actix::core::{Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/set",
            web::get().to(|s: Session<User>| async move {
                s.set(User {
                    name: "ada lovelace".into(),
                    visits: 1815,
                })?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/get",
            web::get().to(|s: Session<User>| async move {
                let name = s.get().await?.map_or("none".to_owned(), |u| u.name);
                Ok::<_, SessionError>(HttpResponse::Ok().body(name))
            }),
        );
}

/// Another character that the same encoding would accept at this place.
fn substitute(c: char) -> char {
    match c {
        '0'..='8' | 'a'..='y' | 'A'..='Y' => char::from(c as u8 + 1),
        '9' => '0',
        'z' => 'a',
        'Z' => 'A',
        '-' => '_',
        '_' => '-',
        '"' => '\'',
        other => {
            if other == 'x' {
                'y'
            } else {
                'x'
            }
        }
    }
}

fn modes() -> Vec<(&'static str, SessionConfig<User>)> {
    let cookie = || CookieTransport::new("s");
    vec![
        (
            "client-side signed",
            SessionConfig::new(cookie()).transform(Sign::new(SigningKey::generate())),
        ),
        (
            "client-side encrypted",
            SessionConfig::new(cookie()).transform(Encrypt::new(EncryptionKey::generate())),
        ),
        (
            "client-side encrypted then signed",
            SessionConfig::new(cookie())
                .transform(Encrypt::new(EncryptionKey::generate()))
                .transform(Sign::new(SigningKey::generate())),
        ),
        (
            "server-side, signed ID",
            SessionConfig::new(cookie())
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::generate())),
        ),
        (
            "server-side, encrypted ID",
            SessionConfig::new(cookie())
                .store(MemoryStore::new())
                .transform(Encrypt::new(EncryptionKey::generate())),
        ),
        (
            "rotated keys (old key still accepted)",
            SessionConfig::new(cookie()).transform(
                Encrypt::new(EncryptionKey::generate())
                    .with_previous_key(EncryptionKey::generate()),
            ),
        ),
    ]
}

#[actix_rt::test]
async fn every_single_character_change_is_rejected_in_every_mode() {
    let mut checked = 0;
    for (mode, config) in modes() {
        let sessions = Sessions::builder().session(config).build().unwrap();
        let app = init_service(App::new().wrap(sessions).configure(routes)).await;
        let response = get(&app, "/set", None).await;
        let sealed = common::the_cookie(&response, "s").value().to_owned();
        let good = Cookie::new("s", sealed.clone());
        assert_eq!(
            read_body(get(&app, "/get", Some(&good)).await).await,
            "ada lovelace",
            "{mode}"
        );
        for (index, original) in sealed.char_indices() {
            let mut tampered = sealed.clone();
            let replacement = substitute(original);
            tampered.replace_range(
                index..index + original.len_utf8(),
                replacement.encode_utf8(&mut [0; 4]),
            );
            let response = get(&app, "/get", Some(&Cookie::new("s", tampered.clone()))).await;
            assert!(response.status().is_success(), "{mode}: {tampered}");
            assert_eq!(
                read_body(response).await,
                "none",
                "{mode}: changing character {index} ({original:?} to {replacement:?}) was accepted"
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} changes checked");
}
