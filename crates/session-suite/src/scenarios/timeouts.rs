//! Idle and absolute timeouts with a manual clock, server-side and client-side.

use std::time::Duration;

use session_core::{Encrypt, EncryptionKey, ManualClock, MemoryStore};
use session_engine::{CookieTransport, Registry, SessionConfig};

use super::{App, MINUTE, server_side};
use crate::{Adapter, Cart, ProbeStore, is_removal};

/// A server-side cart whose store runs on `clock`, with the given timeouts.
fn timed(
    clock: &ManualClock,
    idle: Duration,
    absolute: Option<Duration>,
) -> (Registry, ProbeStore) {
    let store = ProbeStore::with_store(MemoryStore::with_clock(clock.clone()));
    let registry = server_side(&store, clock, |config| {
        let config = config.idle_timeout(idle);
        match absolute {
            Some(absolute) => config.absolute_timeout(absolute),
            None => config.without_absolute_timeout(),
        }
    });
    (registry, store)
}

/// An encrypted client-side cart carried by `transport`, on `clock`.
fn client_side(
    clock: &ManualClock,
    transport: CookieTransport,
    change: impl FnOnce(SessionConfig<Cart>) -> SessionConfig<Cart>,
) -> Registry {
    let config =
        SessionConfig::<Cart>::new(transport).transform(Encrypt::new(EncryptionKey::generate()));
    Registry::builder()
        .clock(clock.clone())
        .session(change(config))
        .build()
        .expect("a valid setup")
}

/// The idle timeout slides with each use; the store's entry is touched, not rewritten, once
/// a quarter of the window passed; after the window without use the session is gone.
pub async fn idle_timeout_slides_with_use_without_rewriting_the_data<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, store) = timed(&clock, 30 * MINUTE, None);
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/login", "cart").await;
    let saves = store.saves();

    // A use soon after: nothing to extend yet.
    clock.advance(MINUTE);
    let response = app.get("/cart", Some(&cookie)).await;
    assert!(response.set_cookies().is_empty());
    assert_eq!(response.text(), "[1]");
    assert_eq!(
        store.touches(),
        0,
        "less than a quarter of the window gained: no write"
    );

    // Twenty minutes on, the window is extended by a touch, not a rewrite.
    clock.advance(20 * MINUTE);
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");
    assert_eq!(store.touches(), 1);
    assert_eq!(store.saves(), saves, "the data was not rewritten");

    // Forty-one minutes after login, but twenty after the last use: still alive.
    clock.advance(20 * MINUTE);
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");

    // Thirty-one idle minutes: gone, and the client is told to drop the cookie.
    clock.advance(31 * MINUTE);
    let response = app.get("/cart", Some(&cookie)).await;
    assert!(is_removal(&response.the_cookie("cart")));
    assert_eq!(response.text(), "empty");
    assert!(store.inner.is_empty(), "the expired entry is gone");
}

/// The absolute timeout ends a session however active it is.
pub async fn absolute_timeout_ends_even_an_active_session<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, store) = timed(&clock, 30 * MINUTE, Some(120 * MINUTE));
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/login", "cart").await;
    for _ in 0..5 {
        clock.advance(20 * MINUTE);
        assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");
    }
    // 100 minutes in; the refresh never extends past the 120-minute mark.
    clock.advance(20 * MINUTE + Duration::from_secs(1));
    let response = app.get("/cart", Some(&cookie)).await;
    assert!(is_removal(&response.the_cookie("cart")));
    assert_eq!(response.text(), "empty");
    assert!(store.inner.is_empty(), "the expired entry was deleted");
}

/// `renew` starts the absolute timeout and the CSRF token anew; the old ID is gone.
pub async fn renew_restarts_the_absolute_timeout_and_the_csrf_token<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, _) = timed(&clock, 30 * MINUTE, Some(60 * MINUTE));
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/login", "cart").await;
    let token = app.text("/csrf", Some(&cookie)).await;
    assert_eq!(token.len(), 43);
    clock.advance(25 * MINUTE);
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");
    clock.advance(25 * MINUTE);
    let renewed = app.get("/renew", Some(&cookie)).await.the_cookie("cart");
    assert_ne!(renewed.value(), cookie.value());
    let new_token = app.text("/csrf", Some(&renewed)).await;
    assert_ne!(new_token, token);
    clock.advance(20 * MINUTE);
    assert_eq!(
        app.text("/cart", Some(&renewed)).await,
        "[1]",
        "70 minutes after the first login, 20 after the renewal"
    );
    assert_eq!(
        app.text("/cart", Some(&cookie)).await,
        "empty",
        "the old ID is gone"
    );
}

/// A client-side value carries its expiry: a copy replayed after it is no session.
pub async fn a_replayed_client_side_value_stops_working_when_it_expires<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let transport = CookieTransport::new("cart").max_age(Duration::from_secs(10));
    let app = App::<A>::serving(client_side(&clock, transport, |config| config)).await;
    let cookie = app.cookie_from("/login", "cart").await;
    clock.advance(Duration::from_secs(9));
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");
    clock.advance(Duration::from_secs(2));
    let response = app.get("/cart", Some(&cookie)).await;
    assert!(is_removal(&response.the_cookie("cart")));
    assert_eq!(
        response.text(),
        "empty",
        "11 s after it was issued, the copy is dead"
    );
}

/// A client-side value is re-sealed (with a later expiry) once a quarter of its window
/// passed; the copy that was not refreshed dies on time.
pub async fn client_side_values_are_resealed_when_a_quarter_of_the_window_passed<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let transport = CookieTransport::new("cart").max_age(60 * MINUTE);
    let app = App::<A>::serving(client_side(&clock, transport, |config| config)).await;
    let first = app.cookie_from("/login", "cart").await;
    clock.advance(5 * MINUTE);
    assert!(
        app.get("/cart", Some(&first))
            .await
            .set_cookies()
            .is_empty()
    );
    clock.advance(15 * MINUTE);
    let refreshed = app.get("/cart", Some(&first)).await.the_cookie("cart");
    clock.advance(50 * MINUTE);
    assert_eq!(app.text("/cart", Some(&refreshed)).await, "[1]");
    assert_eq!(app.text("/cart", Some(&first)).await, "empty");
}

/// Writing without reading, server-side, neither restarts the absolute timeout nor replaces
/// the CSRF token (issue #11, item 4).
pub async fn a_blind_set_keeps_the_start_and_the_token_server_side<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, _) = timed(&clock, 30 * MINUTE, Some(60 * MINUTE));
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let token = app.text("/csrf", Some(&cookie)).await;
    for _ in 0..2 {
        clock.advance(25 * MINUTE);
        let response = app.get("/blind/5", Some(&cookie)).await;
        assert!(
            response.set_cookies().is_empty(),
            "same ID, nothing to send"
        );
        assert_eq!(app.text("/csrf", Some(&cookie)).await, token);
    }
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[5]");
    clock.advance(15 * MINUTE);
    assert_eq!(app.text("/cart", Some(&cookie)).await, "empty");
}

/// The same for a client-side value, whose record travels with it.
pub async fn a_blind_set_keeps_the_start_and_the_token_client_side<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let app = App::<A>::serving(client_side(
        &clock,
        CookieTransport::new("cart"),
        |config| {
            config
                .idle_timeout(30 * MINUTE)
                .absolute_timeout(60 * MINUTE)
        },
    ))
    .await;
    let mut cookie = app.cookie_from("/add/1", "cart").await;
    let token = app.text("/csrf", Some(&cookie)).await;
    assert_eq!(token.len(), 43);
    for _ in 0..2 {
        clock.advance(25 * MINUTE);
        cookie = app.get("/blind/5", Some(&cookie)).await.the_cookie("cart");
        assert_eq!(app.text("/csrf", Some(&cookie)).await, token);
    }
    clock.advance(15 * MINUTE);
    assert_eq!(app.text("/cart", Some(&cookie)).await, "empty");
}

/// Without an idle timeout or a cookie `Max-Age`, a session ends after 1,440 seconds (PHP's
/// `session.gc_maxlifetime`, inside OWASP's 15 to 30 minutes) without use, and not before:
/// server-side and client-side (issue #13, item 4).
pub async fn a_default_session_ends_after_1440_idle_seconds<A: Adapter>() {
    let second = Duration::from_secs(1);
    let clock = ManualClock::starting_now();
    let store = ProbeStore::with_store(MemoryStore::with_clock(clock.clone()));
    let client = client_side(&clock, CookieTransport::new("cart"), |config| config);
    for registry in [server_side(&store, &clock, |config| config), client] {
        let app = App::<A>::serving(registry).await;
        let mut cookie = app.cookie_from("/login", "cart").await;
        clock.advance(1439 * second);
        let response = app.get("/cart", Some(&cookie)).await;
        assert_eq!(response.text(), "[1]", "1,439 s without use: alive");
        // The use extends the window: a client-side copy is re-sealed, a server-side ID stays.
        if let Some(refreshed) = response.set_cookies().into_iter().next() {
            cookie = refreshed;
        }
        clock.advance(1441 * second);
        let response = app.get("/cart", Some(&cookie)).await;
        assert_eq!(response.text(), "empty", "1,441 s without use: ended");
        assert!(is_removal(&response.the_cookie("cart")));
    }
}
