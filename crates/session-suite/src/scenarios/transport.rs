//! Cookies and headers: attributes, the header transport, what clients really send
//! (repeated, shadowing, non-ASCII and non-UTF-8 values), and the opt-in query fallback.

use cookie::SameSite;
use session_core::{Encrypt, EncryptionKey, ManualClock, Sign, SigningKey};
use session_engine::{ConfigError, CookieTransport, HeaderTransport, Registry, SessionConfig};

use super::lifecycle::users;
use super::{App, id_of, server_side};
use crate::{Adapter, Cart, ProbeStore, TestRequest, TestResponse, User, is_removal};

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

/// A server-side `cart` session whose signed ID may also come from `?sid=`, in `store`.
fn with_query_fallback(store: &ProbeStore) -> Registry {
    registry(
        SessionConfig::<Cart>::new(CookieTransport::new("cart").query_fallback("sid"))
            .store(store.clone())
            .transform(Sign::new(SigningKey::generate())),
    )
}

/// An ID read from `?sid=` is never turned into a cookie, even when the cookie has a
/// `max_age` (whose refresh resends the ID to cookie clients): a link must not plant a session
/// in the browser that follows it.
pub async fn an_id_from_the_query_never_becomes_a_cookie<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let registry = Registry::builder()
        .clock(clock.clone())
        .session(
            SessionConfig::<Cart>::new(
                CookieTransport::new("cart")
                    .max_age(std::time::Duration::from_secs(3600))
                    .query_fallback("sid"),
            )
            .store(session_core::MemoryStore::with_clock(clock.clone()))
            .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .expect("a valid setup");
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/add/3", "cart").await;
    clock.advance(std::time::Duration::from_secs(1800));
    let with_cookie = app.get("/cart", Some(&cookie)).await;
    assert!(
        !with_cookie.set_cookies().is_empty(),
        "a cookie client's refresh resends the cookie"
    );
    clock.advance(std::time::Duration::from_secs(1800));
    let signed = cookie.value();
    for uri in [
        format!("/cart?sid={signed}"),
        format!("/add/4?sid={signed}"),
    ] {
        let response = app.get(&uri, None).await;
        assert_eq!(response.status, 200, "{uri}");
        assert!(
            response.set_cookies().is_empty(),
            "{uri}: no cookie from a URL"
        );
    }
}

/// The `Referrer-Policy` of a response.
fn referrer_policy(response: &TestResponse) -> Option<&str> {
    response.header("referrer-policy")
}

/// Issue #13, item 2: without a cookie, the signed ID in `?sid=` (as sent, or
/// percent-encoded) opens the session, for reads and writes; those responses carry
/// `Referrer-Policy: no-referrer` and no cookie, and a new ID (a login) is sent only as a
/// cookie, never in the body's URL or a redirect.
pub async fn the_query_fallback_opens_the_session_without_a_cookie<A: Adapter>() {
    let app = App::<A>::serving(with_query_fallback(&ProbeStore::default())).await;
    let cookie = app.cookie_from("/add/3", "cart").await;
    let signed = cookie.value();

    let response = app.get(&format!("/cart?sid={signed}"), None).await;
    assert_eq!(response.text(), "[3]");
    assert_eq!(
        referrer_policy(&response),
        Some("no-referrer"),
        "a plain read"
    );
    assert!(
        response.set_cookies().is_empty(),
        "the ID stays where it was"
    );

    let encoded = format!("/add/4?page=2&sid={}", signed.replace('/', "%2F"));
    let response = app.get(&encoded, None).await;
    assert_eq!(response.text(), id_of(&cookie).as_str(), "the same session");
    assert_eq!(referrer_policy(&response), Some("no-referrer"), "a write");
    assert!(response.set_cookies().is_empty());
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[3, 4]");

    let response = app.get(&format!("/login?sid={signed}"), None).await;
    assert_eq!(referrer_policy(&response), Some("no-referrer"));
    let renewed = response.the_cookie("cart");
    assert_eq!(id_of(&renewed).as_str(), response.text());
    assert_ne!(renewed.value(), signed, "a new ID, as a cookie");
    let old = app.get(&format!("/cart?sid={signed}"), None).await;
    assert_eq!(old.text(), "empty", "the old ID died with the login");

    let response = app.get("/cart", None).await;
    assert_eq!(response.text(), "empty");
    assert_eq!(
        referrer_policy(&response),
        None,
        "nothing came from the URL"
    );
}

/// Issue #13, item 2: a session cookie wins over the query, even one that opens nothing; the
/// response then carries no `Referrer-Policy` of the library's. Without the cookie, the same
/// query opens its own session.
pub async fn a_session_cookie_wins_over_the_query<A: Adapter>() {
    let app = App::<A>::serving(with_query_fallback(&ProbeStore::default())).await;
    let first = app.cookie_from("/add/1", "cart").await;
    let second = app.cookie_from("/add/2", "cart").await;

    let uri = format!("/cart?sid={}", second.value());
    let response = app.get(&uri, Some(&first)).await;
    assert_eq!(response.text(), "[1]");
    assert_eq!(referrer_policy(&response), None);

    let response = app.get_with_cookies(&uri, "cart=garbage").await;
    assert_eq!(
        response.text(),
        "empty",
        "the cookie was there: no fallback"
    );
    assert!(is_removal(&response.the_cookie("cart")));

    let response = app.get(&uri, None).await;
    assert_eq!(response.text(), "[2]", "without a cookie, the query counts");
    assert_eq!(referrer_policy(&response), Some("no-referrer"));
}

/// Issue #13, item 2: a forged, garbled, unknown or empty query value is no session, never an
/// error; forged values never reach the storage, and no cookie is sent (there is none to
/// drop).
pub async fn a_forged_or_garbled_query_value_is_no_session<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(with_query_fallback(&store)).await;
    let cookie = app.cookie_from("/add/3", "cart").await;
    let signed = cookie.value();
    let genuine = app.get(&format!("/cart?sid={signed}"), None).await;
    assert_eq!(
        genuine.text(),
        "[3]",
        "the authentic value opens the session"
    );
    let (kept, last) = signed.split_at(signed.len() - 1);
    let forged = format!("{kept}{}", if last == "0" { "1" } else { "0" });
    let unknown_id = {
        let other = app.cookie_from("/add/9", "cart").await;
        app.get("/logout", Some(&other)).await;
        other.value().to_owned()
    };
    let loads = store.loads();
    let long = "a".repeat(10_000);
    for value in [&forged, "garbage", "%ff%fe", "", "a/b", long.as_str()] {
        let response = app.get(&format!("/cart?sid={value}"), None).await;
        assert_eq!(response.status, 200, "{value:?}");
        assert_eq!(response.text(), "empty", "{value:?}");
        assert!(response.set_cookies().is_empty(), "{value:?}");
    }
    assert_eq!(store.loads(), loads, "nothing forged reached the storage");

    let response = app.get(&format!("/cart?sid={unknown_id}"), None).await;
    assert_eq!((response.status, response.text()), (200, "empty"));
    assert!(response.set_cookies().is_empty());
}

/// Issue #13, item 2: without `query_fallback` (the default) the query is ignored, and
/// nothing about the URL reaches the response; with it, only its parameter is read.
pub async fn without_query_fallback_the_query_is_ignored<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let app = App::<A>::serving(server_side(&ProbeStore::default(), &clock, |c| c)).await;
    let cookie = app.cookie_from("/add/3", "cart").await;
    for name in ["cart", "sid"] {
        let response = app
            .get(&format!("/cart?{name}={}", cookie.value()), None)
            .await;
        assert_eq!(response.text(), "empty");
        assert_eq!(referrer_policy(&response), None);
    }

    let app = App::<A>::serving(with_query_fallback(&ProbeStore::default())).await;
    let cookie = app.cookie_from("/add/3", "cart").await;
    let read = |name: &str| format!("/cart?{name}={}", cookie.value());
    assert_eq!(app.get(&read("cart"), None).await.text(), "empty");
    assert_eq!(app.get(&read("sid"), None).await.text(), "[3]");
}

/// Issue #13, item 2: a client-side session never falls back to the query: `build` refuses
/// `query_fallback` on one, and a client-side value in the URL opens nothing.
pub async fn client_side_sessions_never_fall_back_to_the_query<A: Adapter>() {
    let refused = Registry::builder()
        .session(
            SessionConfig::<User>::new(CookieTransport::new("user").query_fallback("user"))
                .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .build();
    assert!(
        matches!(refused, Err(ConfigError::QueryFallbackClientSide { ref name }) if name == "user"),
        "{refused:?}"
    );

    let app = App::<A>::serving(users()).await;
    let cookie = app.cookie_from("/user/set/ada", "user").await;
    let response = app
        .get(&format!("/user/get?user={}", cookie.value()), None)
        .await;
    assert_eq!(response.text(), "none");
    assert_eq!(referrer_policy(&response), None);
}
