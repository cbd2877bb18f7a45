//! `session-cookie-server`: the cart in server memory, its signed ID in a cookie.

use actix_web::cookie::Cookie;
use integration_tests::{
    COOKIE_SERVER, Example, Server, Twin, assert_removal, assert_secure_attributes, fetch,
};

const NAME: &str = "cart_session";
const CART: &str = "Product IDs: [1, 3, 7]";
const EMPTY: &str = "Your basket is empty.";

/// Splits a signed ID, asserting its shape: 43 URL-safe characters, `/`, 64 lowercase hex.
fn session_id(value: &str) -> &str {
    let (id, mac) = value
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("unsigned: {value}"));
    assert_eq!(id.len(), 43, "ID length in {value}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "ID alphabet in {value}"
    );
    assert_eq!(mac.len(), 64, "MAC length in {value}");
    assert!(
        mac.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "MAC is not lowercase hex in {value}"
    );
    id
}

async fn login(server: &Server, cookie: Option<&Cookie<'_>>) -> Cookie<'static> {
    let request = match cookie {
        Some(cookie) => server.get_with_cookie("/login", cookie),
        None => server.get("/login"),
    };
    let reply = fetch(request).await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(reply.location().as_deref(), Some("/cart"));
    let cookie = reply.only_cookie(NAME);
    assert_eq!(cookie.max_age(), None, "a browser-session cookie: {cookie}");
    assert_eq!(cookie.expires(), None, "a browser-session cookie: {cookie}");
    assert_secure_attributes(&cookie);
    session_id(cookie.value());
    cookie
}

async fn cart(server: &Server, cookie: &Cookie<'_>) -> integration_tests::Reply {
    let reply = fetch(server.get_with_cookie("/cart", cookie)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
}

async fn ktor_flow_login_cart_logout(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    let cookie = login(&server, None).await;

    let reply = cart(&server, &cookie).await;
    assert_eq!(reply.body, CART);
    assert!(
        reply.set_cookies().is_empty(),
        "a plain read writes nothing: {:?}",
        reply.raw_set_cookies()
    );

    let reply = fetch(server.get_with_cookie("/logout", &cookie)).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location().as_deref(), Some("/cart"));
    assert_removal(&reply, NAME);

    // The entry is gone: replaying the old cookie finds nothing and drops it.
    let reply = cart(&server, &cookie).await;
    assert_eq!(reply.body, EMPTY);
    assert_removal(&reply, NAME);
}

async fn cart_without_a_cookie_is_empty_and_sets_nothing(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    let reply = fetch(server.get("/cart")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, EMPTY);
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );

    let reply = fetch(server.get("/logout")).await;
    assert_eq!(reply.status, 302);
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );
}

async fn login_again_renews_the_id_and_invalidates_the_old_one(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    let first = login(&server, None).await;
    let second = login(&server, Some(&first)).await;
    assert_ne!(session_id(first.value()), session_id(second.value()));

    let reply = cart(&server, &second).await;
    assert_eq!(reply.body, CART);

    let reply = cart(&server, &first).await;
    assert_eq!(reply.body, EMPTY, "the old ID still works after renew");
    assert_removal(&reply, NAME);

    // The new one is untouched by the failed replay.
    assert_eq!(cart(&server, &second).await.body, CART);
}

async fn logins_from_different_clients_get_different_ids(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    let a = login(&server, None).await;
    let b = login(&server, None).await;
    assert_ne!(session_id(a.value()), session_id(b.value()));

    // Logging one out leaves the other.
    let reply = fetch(server.get_with_cookie("/logout", &a)).await;
    assert_removal(&reply, NAME);
    assert_eq!(cart(&server, &b).await.body, CART);
    assert_eq!(cart(&server, &a).await.body, EMPTY);
}

/// `MEMORY_STORE_CAPACITY=2`: a third login evicts the cart that expires soonest, the first
/// one, and the memory store never holds more than two (issue #13, item 5).
async fn memory_store_capacity_bounds_the_carts(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_SERVER))
        .env("MEMORY_STORE_CAPACITY", "2")
        .start();
    let first = login(&server, None).await;
    let second = login(&server, None).await;
    assert_eq!(cart(&server, &first).await.body, CART, "room for two");
    let third = login(&server, None).await;

    let reply = cart(&server, &first).await;
    assert_eq!(reply.body, EMPTY, "the first cart was evicted");
    assert_removal(&reply, NAME);
    assert_eq!(cart(&server, &second).await.body, CART);
    assert_eq!(cart(&server, &third).await.body, CART);
}

/// A capacity that is not a whole number above zero stops the start, naming the variable.
async fn an_invalid_memory_store_capacity_stops_the_start(twin: Twin) {
    for value in ["0", "-3", "many", ""] {
        let exited = Example::with_keys(twin.of(COOKIE_SERVER))
            .env("MEMORY_STORE_CAPACITY", value)
            .run_to_exit();
        assert_eq!(exited.status.code(), Some(1), "{value:?}: {exited:?}");
        assert!(
            exited
                .stderr
                .contains("Error: MEMORY_STORE_CAPACITY must be a whole number greater than zero"),
            "{value:?}: {}",
            exited.stderr
        );
    }
}

integration_tests::twin_tests!(
    ktor_flow_login_cart_logout,
    cart_without_a_cookie_is_empty_and_sets_nothing,
    login_again_renews_the_id_and_invalidates_the_old_one,
    logins_from_different_clients_get_different_ids,
    memory_store_capacity_bounds_the_carts,
    an_invalid_memory_store_capacity_stops_the_start,
);
