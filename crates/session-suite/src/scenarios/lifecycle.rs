//! Starting, changing, renewing, clearing and invalidating sessions.

use session_core::{Encrypt, EncryptionKey, ManualClock, SessionId};
use session_engine::{CookieTransport, Registry, SessionConfig};

use super::{App, MINUTE, id_of, server_side};
use crate::{Adapter, Cart, ProbeStore, User, is_removal};

/// A server-side cart in `store`, with default timeouts.
fn carts(store: &ProbeStore) -> Registry {
    server_side(store, &ManualClock::starting_now(), |config| config)
}

/// An encrypted client-side `user` cookie of a minute.
pub(super) fn users() -> Registry {
    Registry::builder()
        .session(
            SessionConfig::<User>::new(
                CookieTransport::new("user").max_age(std::time::Duration::from_secs(60)),
            )
            .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .build()
        .expect("a valid setup")
}

/// `clear` deletes the entry and expires the cookie; the replayed cookie (authentic, of an
/// ID that no longer exists) is no session, and is expired again.
pub async fn clear_deletes_the_entry_and_expires_the_cookie<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let response = app.get("/logout", Some(&cookie)).await;
    assert!(is_removal(&response.the_cookie("cart")));
    assert!(!store.holds(&id_of(&cookie)).await);
    assert!(store.inner.is_empty());

    let response = app.get("/cart", Some(&cookie)).await;
    assert!(is_removal(&response.the_cookie("cart")));
    assert_eq!(response.text(), "empty");
}

/// `renew` moves the value to a new ID, which `id` reports; the old ID is deleted.
pub async fn renew_moves_the_data_to_a_new_id_and_invalidates_the_old<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let old_cookie = app.cookie_from("/add/7", "cart").await;
    let response = app.get("/renew", Some(&old_cookie)).await;
    let new_cookie = response.the_cookie("cart");
    let new_id = id_of(&new_cookie);
    assert_ne!(new_id, id_of(&old_cookie));
    assert_eq!(
        response.text(),
        new_id.as_str(),
        "id() reports the renewed ID"
    );
    assert!(!store.holds(&id_of(&old_cookie)).await);
    assert_eq!(
        store.stored_value(&new_id).await.as_deref(),
        Some(r#"{"items":[7]}"#)
    );
    assert_eq!(app.text("/cart", Some(&new_cookie)).await, "[7]");
}

/// `renew` without a session starts none; a `set` after it does (as on a first login).
pub async fn renew_without_a_session_sends_nothing<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let response = app.get("/renew", None).await;
    assert_eq!(response.status, 200);
    assert!(response.set_cookies().is_empty());
    assert_eq!(response.text(), "");
    assert!(store.inner.is_empty());

    let response = app.get("/login", None).await;
    let cookie = response.the_cookie("cart");
    assert_eq!(response.text(), id_of(&cookie).as_str());
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");
}

/// A `set` without a `get` writes over the session that came in: no new ID, no orphan.
pub async fn set_without_reading_reuses_a_valid_existing_id<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let response = app.get("/blind/42", Some(&cookie)).await;
    assert_eq!(response.status, 200);
    assert!(response.set_cookies().is_empty());
    assert_eq!(store.inner.len(), 1, "no orphaned entry");
    assert_eq!(
        store.stored_value(&id_of(&cookie)).await.as_deref(),
        Some(r#"{"items":[42]}"#)
    );
}

/// `id` is `None` without a session.
pub async fn id_is_none_without_a_session<A: Adapter>() {
    let app = App::<A>::serving(carts(&ProbeStore::default())).await;
    assert_eq!(app.text("/id", None).await, "none");
}

/// `require` answers an empty 401 without a session (none sent, a forged one, one logged
/// out) and the value with one. A cookie session's 401 carries no `WWW-Authenticate`
/// challenge: no authentication scheme is registered for cookies.
pub async fn require_answers_401_without_a_session<A: Adapter>() {
    let app = App::<A>::serving(carts(&ProbeStore::default())).await;
    let response = app.get("/require", None).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.text(), "", "an empty body");
    assert_eq!(response.header("www-authenticate"), None);
    let cookie = app.cookie_from("/login", "cart").await;
    let response = app.get("/require", Some(&cookie)).await;
    assert_eq!((response.status, response.text()), (200, "[1]"));
    let mut forged = cookie.clone();
    forged.set_value(format!("{}A", cookie.value()));
    assert_eq!(app.get("/require", Some(&forged)).await.status, 401);
    app.get("/logout", Some(&cookie)).await;
    assert_eq!(app.get("/require", Some(&cookie)).await.status, 401);
}

/// The last `set` of a request wins, and one cookie is sent.
pub async fn set_twice_keeps_the_last_value_and_sends_one_cookie<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let response = app.get("/user/set-twice", None).await;
    let cookie = response.the_cookie("user");
    assert_eq!(response.text(), "second");
    assert_eq!(app.text("/user/get", Some(&cookie)).await, "second:2");
}

/// "Clear, then set the user" never keeps a planted ID (issue #11, item 2).
pub async fn clear_then_set_moves_to_a_new_id_and_deletes_the_old<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    // The attacker's own session, planted in the victim's browser.
    let planted = app.cookie_from("/add/1", "cart").await;
    let response = app.get("/clear-then-login", Some(&planted)).await;
    let issued = response.the_cookie("cart");
    assert_ne!(issued.value(), planted.value(), "a new ID is sent");
    assert_eq!(
        id_of(&issued).as_str(),
        response.text(),
        "id() told the new ID"
    );
    assert!(!store.holds(&id_of(&planted)).await);
    assert_eq!(app.text("/cart", Some(&issued)).await, "[42]");
    assert_eq!(app.text("/cart", Some(&planted)).await, "empty");
}

/// A request that loaded the session before a logout brings it back neither by writing its
/// value nor by moving it to a new ID (issue #11, item 3).
pub async fn a_logout_is_not_undone_by_a_request_in_flight<A: Adapter>() {
    for renew in [false, true] {
        let store = ProbeStore::default();
        let app = App::<A>::serving(carts(&store)).await;
        let cookie = app.cookie_from("/add/1", "cart").await;
        let uri = format!("/write-after-logout/{renew}");
        let response = app.get(&uri, Some(&cookie)).await;
        assert_eq!(response.status, 200);
        let sent = response.the_cookie("cart");
        assert!(is_removal(&sent), "renew {renew}: the session has ended");
        assert_eq!(
            store.inner.len(),
            0,
            "renew {renew}: nothing written under any ID"
        );
    }
}

/// `clear` ends every authentic session the request carried, not only the first (issue
/// #11, item 6).
pub async fn clear_ends_every_session_the_request_carried<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let first = app.cookie_from("/add/1", "cart").await;
    let second = app.cookie_from("/add/2", "cart").await;
    let both = format!("cart={}; cart={}", first.value(), second.value());
    let response = app.get_with_cookies("/logout", both).await;
    assert!(is_removal(&response.the_cookie("cart")));
    assert!(!store.holds(&id_of(&first)).await);
    assert!(!store.holds(&id_of(&second)).await);
}

/// Sessions end by ID from outside any request ([`Registry::invalidate`], what the
/// adapter's `Sessions::invalidate` calls) and from a handler of another session; the
/// others go on, and can still be renewed.
pub async fn invalidate_by_id_ends_other_sessions_only<A: Adapter>() {
    let clock = ManualClock::starting_now();
    let registry = server_side(&ProbeStore::default(), &clock, |c| {
        c.idle_timeout(30 * MINUTE)
    });
    let app = App::<A>::serving(registry.clone()).await;
    let laptop = app.get("/login", None).await;
    let laptop_cookie = laptop.the_cookie("cart");
    let laptop_id = SessionId::parse(laptop.text()).expect("the ID");
    let phone = app.cookie_from("/login", "cart").await;
    let tablet = app.get("/login", None).await;
    let tablet_cookie = tablet.the_cookie("cart");

    registry
        .invalidate::<Cart>(&laptop_id)
        .await
        .expect("invalidated");
    assert_eq!(app.text("/cart", Some(&laptop_cookie)).await, "empty");
    assert_eq!(app.text("/cart", Some(&phone)).await, "[1]");

    let uri = format!("/invalidate/{}", tablet.text());
    assert_eq!(app.get(&uri, Some(&phone)).await.status, 200);
    assert_eq!(app.text("/cart", Some(&tablet_cookie)).await, "empty");
    assert_eq!(app.text("/cart", Some(&phone)).await, "[1]");

    let renewed = app.get("/renew", Some(&phone)).await.the_cookie("cart");
    assert_eq!(app.text("/cart", Some(&renewed)).await, "[1]");
}
