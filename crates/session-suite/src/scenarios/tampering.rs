//! Values the server did not seal: byte flips in every mode, forged and garbled values,
//! unknown IDs, old schemas, other keys and other sessions' values.

use cookie::Cookie;
use session_core::{
    Encrypt, EncryptionKey, ManualClock, MemoryStore, Record, SessionId, SessionStore, Sign,
    SigningKey, Transformer,
};
use session_engine::{CookieTransport, Registry, SessionConfig};

use super::lifecycle::users;
use super::{App, id_of, server_side};
use crate::{Adapter, ProbeStore, TestRequest, User, is_removal};

fn registry<T: 'static>(config: SessionConfig<T>) -> Registry {
    Registry::builder()
        .session(config)
        .build()
        .expect("a valid setup")
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
        _ => 'x',
    }
}

fn modes() -> Vec<(&'static str, SessionConfig<User>)> {
    let cookie = || CookieTransport::new("user");
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

/// Every single-character change of a sealed value, in every mode, is no session: each
/// character is replaced by another of the same alphabet, so the value still decodes and the
/// authenticity check is what must refuse it.
pub async fn every_single_character_change_is_rejected_in_every_mode<A: Adapter>() {
    let mut checked = 0;
    for (mode, config) in modes() {
        let app = App::<A>::serving(registry(config)).await;
        let sealed = app.cookie_from("/user/set/ada%20lovelace", "user").await;
        let sealed = sealed.value().to_owned();
        let good = Cookie::new("user", sealed.clone());
        assert_eq!(
            app.text("/user/get", Some(&good)).await,
            "ada lovelace:0",
            "{mode}"
        );
        for (index, original) in sealed.char_indices() {
            let mut tampered = sealed.clone();
            let replacement = substitute(original);
            tampered.replace_range(
                index..index + original.len_utf8(),
                replacement.encode_utf8(&mut [0; 4]),
            );
            let response = app
                .get("/user/get", Some(&Cookie::new("user", tampered.clone())))
                .await;
            assert_eq!(response.status, 200, "{mode}: {tampered}");
            assert_eq!(
                response.text(),
                "none",
                "{mode}: changing character {index} ({original:?} to {replacement:?}) was accepted"
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} changes checked");
}

/// Flipped, truncated, oversized, garbled, non-ASCII values and values sealed with another
/// key are no session, and the cookie is expired.
pub async fn forged_and_garbled_values_are_no_session_and_get_expired<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let good = app
        .cookie_from("/user/set/ada", "user")
        .await
        .value()
        .to_owned();
    let other_key = App::<A>::serving(users()).await;
    let other_key = other_key
        .cookie_from("/user/set/ada", "user")
        .await
        .value()
        .to_owned();
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let hostile = [
        String::from_utf8(flipped).expect("ASCII"),
        good[..good.len() - 1].to_owned(),
        "x".repeat(10_000),
        "%00%ff%fe garbage ; ,".to_owned(),
        other_key,
        "é☃".to_owned(),
    ];
    for value in hostile {
        let response = app
            .get("/user/get", Some(&Cookie::new("user", value.clone())))
            .await;
        assert_eq!(response.status, 200, "{value:.40}");
        assert!(
            is_removal(&response.the_cookie("user")),
            "unusable value is expired: {value:.40}"
        );
        assert_eq!(response.text(), "none", "{value:.40}");
    }
}

/// Forged and hostile IDs are refused before any storage access.
pub async fn forged_and_hostile_ids_never_reach_the_storage<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(server_side(&store, &ManualClock::starting_now(), |c| c)).await;
    for value in [
        "../../etc/passwd".to_owned(),
        format!("{}/{}", "a".repeat(43), "0".repeat(64)),
        "x".repeat(10_000),
        "%2e%2e%2f".to_owned(),
    ] {
        let response = app.get("/cart", Some(&Cookie::new("cart", value))).await;
        assert_eq!(response.status, 200);
        assert!(is_removal(&response.the_cookie("cart")));
        assert_eq!(response.text(), "empty");
    }
    assert_eq!(store.loads(), 0, "rejected before any storage access");
}

/// A correctly signed ID that the server never issued (as if the signing key had leaked)
/// is never adopted: a write starts a new ID.
pub async fn an_id_the_server_did_not_issue_is_never_adopted<A: Adapter>() {
    let store = ProbeStore::default();
    let key = SigningKey::generate();
    let config = SessionConfig::<crate::Cart>::new(CookieTransport::new("cart"))
        .store(store.clone())
        .transform(Sign::new(key.clone()));
    let app = App::<A>::serving(registry(config)).await;
    let planted = SessionId::generate();
    let value = Sign::new(key)
        .seal("cart", planted.as_str())
        .expect("sealed");
    let response = app
        .get("/blind/42", Some(&Cookie::new("cart", value)))
        .await;
    let cookie = response.the_cookie("cart");
    assert_ne!(id_of(&cookie), planted);
    assert!(!store.holds(&planted).await);
    assert_eq!(store.inner.len(), 1);
}

/// Stored text of an old schema is no session, and is deleted and expired.
pub async fn stored_text_of_an_old_schema_is_no_session_and_is_removed<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(server_side(&store, &ManualClock::starting_now(), |c| c)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let id = id_of(&cookie);
    let old = Record::new(
        r#"{"products":"old"}"#.to_owned(),
        std::time::SystemTime::now(),
        None,
    );
    store
        .inner
        .save(&id, &old.encode("cart"), std::time::Duration::from_secs(60))
        .await
        .expect("saved");
    let response = app.get("/cart", Some(&cookie)).await;
    assert_eq!(response.status, 200);
    assert!(is_removal(&response.the_cookie("cart")));
    assert_eq!(response.text(), "empty");
    assert!(!store.holds(&id).await);
}

/// A client-side value of an old schema (sealed with the same key and name) is no session,
/// and is expired.
pub async fn old_schema_payload_is_no_session<A: Adapter>() {
    let key = EncryptionKey::generate();
    let old = App::<A>::serving(registry(
        SessionConfig::<crate::OldUser>::new(CookieTransport::new("user"))
            .transform(Encrypt::new(key.clone())),
    ))
    .await;
    let cookie = old.cookie_from("/old-user/set", "user").await;
    let app = App::<A>::serving(registry(
        SessionConfig::<User>::new(CookieTransport::new("user")).transform(Encrypt::new(key)),
    ))
    .await;
    let response = app.get("/user/get", Some(&cookie)).await;
    assert_eq!(response.status, 200);
    assert!(is_removal(&response.the_cookie("user")));
    assert_eq!(response.text(), "none");
}

/// A value sealed with the old key still opens after a rotation and is re-sealed with the
/// new key, which alone then opens it.
pub async fn rotated_key_still_reads_and_reseals_with_the_current_key<A: Adapter>() {
    let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
    let encrypted = |encrypt: Encrypt| {
        registry(SessionConfig::<User>::new(CookieTransport::new("user")).transform(encrypt))
    };
    let before = App::<A>::serving(encrypted(Encrypt::new(old.clone()))).await;
    let old_cookie = before.cookie_from("/user/set/ada", "user").await;

    let rotated = Encrypt::new(new.clone()).with_previous_key(old);
    let app = App::<A>::serving(encrypted(rotated)).await;
    let response = app.get("/user/get", Some(&old_cookie)).await;
    let resealed = response.the_cookie("user");
    assert_eq!(
        response.text(),
        "ada:0",
        "nobody is logged out by a rotation"
    );

    let after = App::<A>::serving(encrypted(Encrypt::new(new))).await;
    let request = TestRequest::get("/user/get").cookie(&resealed);
    assert_eq!(after.send(request).await.text(), "ada:0");
}
