//! Periodic ID rotation: a new ID once the period has passed, with the same session; the old
//! ID forwards for the grace window and then dies; nobody is logged out by parallel requests.

use std::sync::Arc;
use std::time::Duration;

use cookie::Cookie;
use session_core::{DynSessionStore, ManualClock, MemoryStore, Sign, SigningKey};
use session_engine::{CookieTransport, Registry, SessionConfig};

use super::{App, MINUTE, id_of, server_side};
use crate::{Adapter, Cart, ProbeStore, TestRequest};

const GRACE: Duration = Duration::from_secs(5);

/// A server-side cart rotating its ID every 15 minutes, store and sessions on `clock`.
fn rotating(clock: &ManualClock) -> (Registry, ProbeStore) {
    let store = ProbeStore::with_store(MemoryStore::with_clock(clock.clone()));
    let registry = server_side(&store, clock, |config| {
        config.rotate_id_every(15 * MINUTE).rotation_grace(GRACE)
    });
    (registry, store)
}

/// Once the period has passed, the next request gets a new ID for the same session (value,
/// CSRF token); before it, nothing changes; the old ID leads to the session for the grace
/// window and is refused after it.
pub async fn the_id_rotates_after_its_period_and_the_old_one_dies_after_the_grace<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, store) = rotating(&clock);
    let app = App::<A>::serving(registry).await;
    let old = app.cookie_from("/login", "cart").await;
    let token = app.text("/csrf", Some(&old)).await;

    clock.advance(14 * MINUTE);
    let response = app.get("/cart", Some(&old)).await;
    assert_eq!(response.text(), "[1]");
    assert!(response.set_cookies().is_empty(), "not due yet: same ID");

    clock.advance(2 * MINUTE);
    let response = app.get("/cart", Some(&old)).await;
    assert_eq!(
        response.text(),
        "[1]",
        "the same session after the rotation"
    );
    let new = response.the_cookie("cart");
    assert_ne!(
        id_of(&new),
        id_of(&old),
        "a new ID once the period has passed"
    );
    assert_eq!(
        app.text("/csrf", Some(&new)).await,
        token,
        "the same CSRF token"
    );
    assert!(store.holds(&id_of(&new)).await);

    // Within the grace window the old ID still leads to the session, and is told the new ID.
    clock.advance(GRACE / 2);
    let late = app.get("/cart", Some(&old)).await;
    assert_eq!(late.text(), "[1]");
    assert_eq!(id_of(&late.the_cookie("cart")), id_of(&new));

    clock.advance(GRACE);
    assert_eq!(
        app.text("/cart", Some(&old)).await,
        "empty",
        "after the grace: dead"
    );
    assert_eq!(app.text("/cart", Some(&new)).await, "[1]");
}

/// Ten parallel requests that are all due to rotate produce one successor, not ten, and all
/// stay logged in; ten parallel requests carrying the old ID right after the rotation all stay
/// logged in and are all sent the one new ID. In a memory store.
pub async fn parallel_requests_across_a_rotation_stay_logged_in<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::with_clock(clock.clone());
    parallel_requests_across_a_rotation_in::<A>(Arc::new(store), clock).await;
}

/// [`parallel_requests_across_a_rotation_stay_logged_in`] in `store` (whose expiry may run on
/// the system clock: the test passes within the grace window), the sessions on `clock`.
pub async fn parallel_requests_across_a_rotation_in<A: Adapter>(
    store: Arc<dyn DynSessionStore>,
    clock: ManualClock,
) {
    let registry = Registry::builder()
        .clock(clock.clone())
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .shared_store(store)
                .transform(Sign::new(SigningKey::generate()))
                .rotate_id_every(15 * MINUTE)
                .rotation_grace(GRACE),
        )
        .build()
        .expect("a valid setup");
    let app = App::<A>::serving(registry).await;
    let old = app.cookie_from("/login", "cart").await;

    clock.advance(16 * MINUTE);
    let responses = parallel_carts(&app, &old).await;
    let successors: Vec<_> = responses.iter().map(|(_, id)| id.clone()).collect();
    assert!(
        responses.iter().all(|(text, _)| text == "[1]"),
        "{responses:?}"
    );
    assert!(
        successors
            .iter()
            .all(|id| id.is_some() && *id == successors[0])
    );

    let rotated = app.get("/cart", Some(&old)).await.the_cookie("cart");
    let responses = parallel_carts(&app, &old).await;
    assert!(
        responses.iter().all(|(text, _)| text == "[1]"),
        "{responses:?}"
    );
    let expected = Some(id_of(&rotated).as_str().to_owned());
    assert!(responses.iter().all(|(_, id)| *id == expected));
}

/// Ten `GET /cart` with `cookie` at once: each body and the ID the response sent, if any.
async fn parallel_carts<A: Adapter>(
    app: &App<A>,
    cookie: &Cookie<'_>,
) -> Vec<(String, Option<String>)> {
    let requests = (0..10).map(|_| app.send(TestRequest::get("/cart").cookie(cookie)));
    futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|response| {
            let sent = response.set_cookies().into_iter().next();
            let id = sent.map(|cookie| id_of(&cookie).as_str().to_owned());
            (response.text().to_owned(), id)
        })
        .collect()
}

/// A session only ever changed with `update` rotates too, and an update through the old ID
/// inside the grace window reaches the session under its new ID instead of finding none.
pub async fn updates_rotate_and_follow_a_rotation<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, store) = rotating(&clock);
    let app = App::<A>::serving(registry).await;
    let old = app.cookie_from("/login", "cart").await;
    clock.advance(16 * MINUTE);
    let response = app.get("/visit", Some(&old)).await;
    assert_eq!(response.text(), "2");
    let new = response.the_cookie("cart");
    assert_ne!(id_of(&new), id_of(&old), "an update-only request rotates");
    let response = app.get("/visit", Some(&old)).await;
    assert_eq!(
        response.text(),
        "3",
        "the old ID's update reaches the session"
    );
    assert_eq!(id_of(&response.the_cookie("cart")), id_of(&new));
    assert_eq!(app.text("/visit", Some(&new)).await, "4");
    assert!(store.holds(&id_of(&new)).await);
}

/// A logout with the old ID inside the grace window ends the session under the new ID too;
/// a login (`renew`) after a rotation still kills the ID it came with at once.
pub async fn a_logout_or_login_across_a_rotation_ends_both_ids<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, store) = rotating(&clock);
    let app = App::<A>::serving(registry).await;
    let old = app.cookie_from("/login", "cart").await;
    clock.advance(16 * MINUTE);
    let new = app.get("/cart", Some(&old)).await.the_cookie("cart");
    app.get("/logout", Some(&old)).await;
    assert!(
        !store.holds(&id_of(&new)).await,
        "the successor ended with the old ID"
    );
    assert_eq!(app.text("/cart", Some(&new)).await, "empty");

    let old = app.cookie_from("/login", "cart").await;
    clock.advance(16 * MINUTE);
    let new = app.get("/cart", Some(&old)).await.the_cookie("cart");
    let renewed = app.get("/login", Some(&new)).await.the_cookie("cart");
    assert_eq!(
        app.text("/cart", Some(&new)).await,
        "empty",
        "renew is immediate"
    );
    assert_eq!(app.text("/cart", Some(&renewed)).await, "[1]");
}

/// [`the_id_rotates_after_its_period_and_the_old_one_dies_after_the_grace`] in `store`, on
/// the system clock (a store whose entries expire by its own clock, as the directory store's
/// and Redis's do): a period of 1 s and a grace of 600 ms, slept through. The forward entry
/// the old ID leaves dies with the grace in the store itself.
pub async fn the_old_id_dies_after_the_grace_in<A: Adapter>(store: Arc<dyn DynSessionStore>) {
    let registry = Registry::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .shared_store(store)
                .transform(Sign::new(SigningKey::generate()))
                .rotate_id_every(Duration::from_secs(1))
                .rotation_grace(Duration::from_millis(600)),
        )
        .build()
        .expect("a valid setup");
    let app = App::<A>::serving(registry).await;
    let old = app.cookie_from("/login", "cart").await;
    // Blocking sleeps: the app is served in-process, nothing else needs the thread meanwhile.
    std::thread::sleep(Duration::from_millis(1100));
    let response = app.get("/cart", Some(&old)).await;
    assert_eq!(response.text(), "[1]");
    let new = response.the_cookie("cart");
    assert_ne!(id_of(&new), id_of(&old), "a new ID once the period passed");
    assert_eq!(
        app.text("/cart", Some(&old)).await,
        "[1]",
        "within the grace"
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        app.text("/cart", Some(&old)).await,
        "empty",
        "after the grace: dead"
    );
    assert_eq!(app.text("/cart", Some(&new)).await, "[1]");
}

/// `invalidate_id` of an ID that a rotation moved a moment ago (the app's list of a user's
/// IDs has not heard of the new one yet) ends the session under its new ID too; an ID that
/// leads to the asking request's own session does not log the asker out.
pub async fn invalidating_a_rotated_away_id_ends_its_session<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let (registry, _store) = rotating(&clock);
    let app = App::<A>::serving(registry).await;
    let laptop = app.get("/login", None).await;
    let laptop_id = laptop.text().to_owned();
    let phone = app.get("/login", None).await;
    let phone_id = phone.text().to_owned();
    let phone = phone.the_cookie("cart");

    clock.advance(16 * MINUTE);
    let laptop = app.get("/cart", Some(&laptop.the_cookie("cart"))).await;
    let laptop = laptop.the_cookie("cart");
    let response = app
        .get(&format!("/invalidate/{laptop_id}"), Some(&phone))
        .await;
    assert_eq!(response.status, 200);
    let phone = response.the_cookie("cart");
    assert_eq!(
        app.text("/cart", Some(&laptop)).await,
        "empty",
        "the laptop's new ID"
    );

    let uri = format!("/invalidate/{phone_id}");
    assert_eq!(app.get(&uri, Some(&phone)).await.status, 200);
    assert_eq!(
        app.text("/cart", Some(&phone)).await,
        "[1]",
        "the asker stays"
    );
}
