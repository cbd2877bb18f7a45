//! Cookies and headers: attributes, the header transport, and what clients really send
//! (repeated, shadowing, non-ASCII and non-UTF-8 values).

use cookie::SameSite;
use session_core::{Encrypt, EncryptionKey, ManualClock, Sign, SigningKey};
use session_engine::{CookieTransport, HeaderTransport, Registry, SessionConfig};

use super::lifecycle::users;
use super::{App, server_side};
use crate::{Adapter, Cart, ProbeStore, TestRequest, User, is_removal};

fn registry<T: 'static>(config: SessionConfig<T>) -> Registry {
    Registry::builder()
        .session(config)
        .build()
        .expect("a valid setup")
}

/// Set, get and clear with the secure cookie defaults: `Path=/`, no `Domain`, `Secure`,
/// `HttpOnly`, `SameSite=Lax`, and `Max-Age` with `Expires` when configured; the removal
/// repeats them.
pub async fn set_get_clear_round_trip_with_secure_cookie_defaults<A: Adapter>() {
    let app = App::<A>::serving(users()).await;

    let response = app.get("/user/get", None).await;
    assert!(response.set_cookies().is_empty(), "no session, no cookie");
    assert_eq!(response.text(), "none");

    let cookie = app.cookie_from("/user/set/ada", "user").await;
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.max_age(), Some(cookie::time::Duration::seconds(60)));
    assert!(cookie.expires().is_some());
    assert!(!cookie.value().contains("ada"), "encrypted");

    let response = app.get("/user/get", Some(&cookie)).await;
    assert!(
        response.set_cookies().is_empty(),
        "a plain read writes nothing"
    );
    assert_eq!(response.text(), "ada:0");

    let removal = app
        .get("/user/clear", Some(&cookie))
        .await
        .the_cookie("user");
    assert!(is_removal(&removal), "{removal:?}");
    assert_eq!(removal.path(), Some("/"));
    assert_eq!(removal.secure(), Some(true));
    assert_eq!(removal.same_site(), Some(SameSite::Lax));
}

/// Without `max_age`, a browser-session cookie: neither `Max-Age` nor `Expires`.
pub async fn browser_session_cookie_without_max_age<A: Adapter>() {
    let app = App::<A>::serving(registry(
        SessionConfig::<User>::new(CookieTransport::new("user"))
            .transform(Sign::new(SigningKey::generate())),
    ))
    .await;
    let cookie = app.cookie_from("/user/set/ada", "user").await;
    assert_eq!(cookie.max_age(), None);
    assert_eq!(cookie.expires(), None);
}

/// `clear` without a session sends nothing.
pub async fn clear_without_incoming_value_sends_nothing<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let response = app.get("/user/clear", None).await;
    assert_eq!(response.text(), "cleared");
    assert!(response.set_cookies().is_empty());
}

/// The header transport carries the value in a header and never a cookie; a plain read
/// sends nothing; a non-UTF-8 value is no session; clearing sends nothing.
pub async fn header_transport_carries_the_value_and_never_a_cookie<A: Adapter>() {
    let app = App::<A>::serving(registry(
        SessionConfig::<User>::new(HeaderTransport::new("x-user-session"))
            .transform(Encrypt::new(EncryptionKey::generate())),
    ))
    .await;
    let response = app.get("/user/set/ada", None).await;
    assert!(response.set_cookies().is_empty());
    let value = response
        .header("x-user-session")
        .expect("the value")
        .to_owned();

    let with = |value: &[u8], uri: &str| TestRequest::get(uri).header("x-user-session", value);
    let response = app.send(with(value.as_bytes(), "/user/get")).await;
    assert_eq!(
        response.header("x-user-session"),
        None,
        "plain read sends nothing"
    );
    assert_eq!(response.text(), "ada:0");

    let response = app.send(with(b"\xff\xfe", "/user/get")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "none");

    let response = app.send(with(value.as_bytes(), "/user/clear")).await;
    assert_eq!(response.header("x-user-session"), None);
    assert!(response.set_cookies().is_empty());
}

/// A signed value (readable text, with spaces and line breaks) travels in a header
/// percent-encoded, and comes back intact.
pub async fn signed_values_travel_in_a_header_percent_encoded<A: Adapter>() {
    let app = App::<A>::serving(registry(
        SessionConfig::<User>::new(HeaderTransport::new("x-user-session"))
            .transform(Sign::new(SigningKey::generate())),
    ))
    .await;
    let response = app.get("/user/set/zo%C3%AB", None).await;
    let value = response
        .header("x-user-session")
        .expect("the value is sent");
    assert!(value.contains('%'), "{value:?}");
    let request = TestRequest::get("/user/get").header("x-user-session", value);
    assert_eq!(app.send(request).await.text(), "zoë:0");
}

/// Other cookies with non-ASCII or non-UTF-8 values do not hide the session; the session's
/// own cookie with non-UTF-8 bytes is no session, and expired.
pub async fn a_non_ascii_neighbour_cookie_does_not_hide_the_session<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let cookie = app.cookie_from("/user/set/ada", "user").await;
    let request = TestRequest::get("/user/get")
        .cookies(b"theme=caf\xc3\xa9; junk=\xff\xfe")
        .cookie(&cookie);
    assert_eq!(app.send(request).await.text(), "ada:0");

    let response = app.get_with_cookies("/user/get", b"user=\xff\xfe").await;
    assert!(is_removal(&response.the_cookie("user")));
    assert_eq!(response.text(), "none");
}

/// A garbage cookie of the same name (planted by a sibling subdomain) ahead of the real one
/// neither hides the session nor makes the server drop it; with nothing that opens, the
/// cookie is dropped (issue #11, item 6).
pub async fn a_shadowing_cookie_does_not_hide_the_session<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let client_side = registry(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .transform(Encrypt::new(EncryptionKey::generate())),
    );
    for registry in [
        server_side(&ProbeStore::default(), &clock, |c| c),
        client_side,
    ] {
        let app = App::<A>::serving(registry).await;
        let cookie = app.cookie_from("/add/3", "cart").await;
        let header = format!("cart=garbage; cart={}", cookie.value());
        let response = app.get_with_cookies("/cart", header).await;
        assert!(
            response.set_cookies().is_empty(),
            "no removal of the real cookie"
        );
        assert_eq!(response.text(), "[3]");
        let response = app
            .get_with_cookies("/cart", "cart=garbage; cart=more-garbage")
            .await;
        assert!(is_removal(&response.the_cookie("cart")));
        assert_eq!(response.text(), "empty");
    }
}

/// The real cookie for `/` comes last behind many shadows and is still tried; when some
/// values are never tried, nothing tells the client to drop its cookie.
pub async fn many_shadowing_cookies_neither_hide_nor_remove_the_session<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let app = App::<A>::serving(server_side(&ProbeStore::default(), &clock, |c| c)).await;
    let cookie = app.cookie_from("/add/3", "cart").await;
    let planted = |n: usize| {
        (0..n)
            .map(|i| format!("cart=planted{i}; "))
            .collect::<String>()
    };
    let last = format!("{}cart={}", planted(12), cookie.value());
    let response = app.get_with_cookies("/cart", last).await;
    assert!(response.set_cookies().is_empty());
    assert_eq!(response.text(), "[3]");

    let middle = format!("{}cart={}; {}", planted(9), cookie.value(), planted(3));
    let response = app
        .get_with_cookies("/cart", middle.trim_end_matches("; "))
        .await;
    assert!(
        response.set_cookies().is_empty(),
        "no removal: not every value was tried"
    );
}
