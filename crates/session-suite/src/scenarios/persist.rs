//! What is written, and when: plain reads, laziness, server errors, storage failures, a full
//! storage, caching headers, the cookie size limit and atomic updates.

use std::sync::Arc;

use std::time::Duration;

use session_core::test_util::NoSwapStore;
use session_core::{
    DynSessionStore, ManualClock, MemoryStore, SessionId, SessionStore, Sign, SigningKey,
    StoreCapabilities, StoreError, StoredEntry,
};
use session_engine::{CookieTransport, Registry, SessionConfig};

use super::lifecycle::users;
use super::{App, id_of, server_side};
use crate::{Adapter, Cart, ProbeStore, TestRequest, is_removal};

fn carts(store: &ProbeStore) -> Registry {
    server_side(store, &ManualClock::starting_now(), |config| config)
}

/// Only a signed ID travels and `id` reports it before it is sent; a plain read sends no
/// cookie and reads the storage once; a change of the same session resends nothing.
pub async fn only_a_signed_id_travels_and_the_handler_can_read_it<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let response = app.get("/add/1", None).await;
    let cookie = response.the_cookie("cart");
    let id = id_of(&cookie);
    assert_eq!(
        response.text(),
        id.as_str(),
        "id() before persisting is the ID sent"
    );
    assert_eq!(
        store.stored_value(&id).await.as_deref(),
        Some(r#"{"items":[1]}"#)
    );

    let loads = store.loads();
    let response = app.get("/cart", Some(&cookie)).await;
    assert!(response.set_cookies().is_empty(), "plain read: no cookie");
    assert_eq!(response.text(), "[1]");
    assert_eq!(store.loads(), loads + 1, "one storage read");

    let saves = store.saves();
    let response = app.get("/add/3", Some(&cookie)).await;
    assert!(
        response.set_cookies().is_empty(),
        "same ID, browser-session cookie: nothing to resend"
    );
    assert_eq!(response.text(), id.as_str());
    assert_eq!(store.saves(), saves + 1);
    assert_eq!(
        store.stored_value(&id).await.as_deref(),
        Some(r#"{"items":[1,3]}"#)
    );
}

/// A route that never asks for the session costs no storage access.
pub async fn lazy_no_storage_access_unless_asked<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let (loads, saves) = (store.loads(), store.saves());
    assert_eq!(app.text("/plain", Some(&cookie)).await, "plain");
    assert_eq!(
        (store.loads(), store.saves(), store.deletes()),
        (loads, saves, 0)
    );
}

/// A session never looked at is never expired, even when its cookie is forged.
pub async fn untouched_session_costs_nothing_even_with_a_bad_cookie<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let response = app.get_with_cookies("/plain", "user=forged").await;
    assert!(
        response.set_cookies().is_empty(),
        "never looked at, never expired"
    );
    assert_eq!(response.text(), "plain");
    // The same cookie on a route that reads the session: expired.
    let response = app.get_with_cookies("/user/get", "user=forged").await;
    assert!(is_removal(&response.the_cookie("user")));
}

/// A server error (5xx) drops the request's value writes.
pub async fn server_error_responses_do_not_persist_changes<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let response = app.get("/user/set-then-fail", None).await;
    assert_eq!(response.status, 500);
    assert!(response.set_cookies().is_empty());
}

/// A logout whose handler fails later still ends the session (issue #11, item 10).
pub async fn a_failing_logout_still_ends_the_session<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let response = app.get("/logout-fails", Some(&cookie)).await;
    assert_eq!(response.status, 500);
    assert!(is_removal(&response.the_cookie("cart")));
    assert!(!store.holds(&id_of(&cookie)).await);
}

/// When one session's write fails, the response is a 500, but the other sessions of the
/// request still get their ends: a logout never fails open because another session's store
/// is down.
pub async fn a_failing_write_of_one_session_still_ends_another<A: Adapter>() {
    let (carts, users) = (ProbeStore::default(), ProbeStore::default());
    let sign = || Sign::new(SigningKey::generate());
    let registry = Registry::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(carts.clone())
                .transform(sign()),
        )
        .session(
            SessionConfig::<crate::User>::new(CookieTransport::new("user"))
                .store(users.clone())
                .transform(sign()),
        )
        .build()
        .expect("a valid setup");
    let app = App::<A>::serving(registry).await;
    let cart = app.cookie_from("/add/1", "cart").await;
    let user = app.cookie_from("/user/set/ada", "user").await;
    assert!(users.holds(&id_of(&user)).await);
    carts.fail(true);
    let both = format!("{}; {}", cart.stripped(), user.stripped());
    let response = app.get_with_cookies("/cart-write-user-logout", both).await;
    assert_eq!(response.status, 500);
    assert!(
        !users.holds(&id_of(&user)).await,
        "the user's logout happened although the cart's write failed"
    );
}

/// A login (`renew`) whose handler fails later still moves the ID; the value written in
/// the failed request is not kept, and neither is a plain write (issue #11, item 10).
pub async fn a_failing_login_still_moves_the_id_but_writes_no_value<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    let response = app.get("/write-fails", Some(&cookie)).await;
    assert_eq!(response.status, 500);
    assert!(response.set_cookies().is_empty());
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1]");

    let response = app.get("/login-fails", Some(&cookie)).await;
    assert_eq!(response.status, 500);
    let moved = response.the_cookie("cart");
    assert_ne!(moved.value(), cookie.value());
    assert!(!store.holds(&id_of(&cookie)).await);
    assert_eq!(app.text("/cart", Some(&moved)).await, "[1]");
}

/// A failing storage answers an empty 500 that sends nothing, whether it fails while the
/// handler loads or while the change is written; routes that never ask are unaffected.
pub async fn storage_failure_is_an_opaque_500<A: Adapter>() {
    let store = ProbeStore::default();
    let app = App::<A>::serving(carts(&store)).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    store.fail(true);

    for (uri, cookie) in [("/cart", Some(&cookie)), ("/blind/42", None)] {
        let response = app.get(uri, cookie).await;
        assert_eq!(response.status, 500, "{uri}");
        assert!(response.set_cookies().is_empty(), "{uri}");
        assert_eq!(response.text(), "", "{uri}: nothing internal is sent");
    }
    assert_eq!(app.get("/plain", Some(&cookie)).await.status, 200);
}

/// Responses that hand out a session are not cacheable; those that read or write one vary
/// on it; the handler's own `Cache-Control` is kept (issue #11, item 7).
pub async fn session_responses_carry_caching_headers<A: Adapter>() {
    let app = App::<A>::serving(carts(&ProbeStore::default())).await;
    let response = app.get("/add/1", None).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let cookie = response.the_cookie("cart");
    let response = app.get("/cart", Some(&cookie)).await;
    assert_eq!(response.header("vary"), Some("Cookie"));
    assert_eq!(response.header("cache-control"), None);
    let response = app.get("/blind/4", Some(&cookie)).await;
    assert_eq!(
        response.header("vary"),
        Some("Cookie"),
        "a blind write varies too"
    );
    let response = app.get("/cached", None).await;
    assert_eq!(response.header("cache-control"), Some("private, max-age=5"));
    assert_eq!(app.get("/plain", Some(&cookie)).await.header("vary"), None);
}

/// A memory store that refuses new sessions past `capacity` with [`StoreError::Full`], as
/// a capped directory store does.
#[derive(Clone)]
struct CappedStore {
    inner: MemoryStore,
    capacity: usize,
}

impl SessionStore for CappedStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        SessionStore::load(&self.inner, id).await
    }
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        if SessionStore::load(&self.inner, id).await?.is_none() && self.inner.len() >= self.capacity
        {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        SessionStore::save(&self.inner, id, text, ttl).await
    }
    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        SessionStore::replace(&self.inner, id, text, ttl).await
    }
    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        SessionStore::compare_and_swap(&self.inner, id, expected, new, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        SessionStore::delete(&self.inner, id).await
    }
    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        SessionStore::load_entry(&self.inner, id).await
    }
    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        SessionStore::touch(&self.inner, id, ttl).await
    }
    fn capabilities(&self) -> StoreCapabilities {
        SessionStore::capabilities(&self.inner)
    }
}

/// A store that is full refuses a new session: that request answers an empty 503 (not a
/// 500: the server is not broken, only busy) that sends no cookie; sessions it already holds
/// are still read and written, and once one ends a new one is accepted (issue #13, item 5).
pub async fn a_full_store_answers_an_empty_503_without_a_cookie<A: Adapter>() {
    let store = CappedStore {
        inner: MemoryStore::new(),
        capacity: 1,
    };
    let registry = Registry::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(store.clone())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .expect("a valid setup");
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/add/1", "cart").await;

    for uri in ["/add/2", "/login", "/blind/3"] {
        let response = app.get(uri, None).await;
        assert_eq!(response.status, 503, "{uri}: a new session past the cap");
        assert!(response.set_cookies().is_empty(), "{uri}: no cookie");
        assert_eq!(response.text(), "", "{uri}: nothing internal is sent");
    }
    assert_eq!(store.inner.len(), 1, "nothing was added");

    let response = app.get("/add/3", Some(&cookie)).await;
    assert_eq!(response.status, 200, "an existing session is still written");
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[1, 3]");

    assert_eq!(app.get("/logout", Some(&cookie)).await.status, 200);
    let response = app.get("/add/4", None).await;
    assert_eq!(response.status, 200, "room again after a logout");
    assert!(
        !is_removal(&response.the_cookie("cart")),
        "a new session's cookie"
    );
}

/// A value too large for a cookie is an error from `set`, and nothing is sent.
pub async fn oversized_cookie_is_an_error_from_set<A: Adapter>() {
    let app = App::<A>::serving(users()).await;
    let response = app.get("/user/big", None).await;
    assert!(response.set_cookies().is_empty(), "nothing was set");
    let text = response.text();
    assert!(text.starts_with("too large"), "{text}");
    assert!(text.contains("limit: 4096"), "{text}");
}

/// A hundred concurrent `update`s of one session lose nothing, each seeing its own count,
/// with the server-side `store` given. Public so that store crates and adapters can run it
/// on other stores.
///
/// # Panics
///
/// When an update is lost.
pub async fn hundred_concurrent_updates_in<A: Adapter>(store: Arc<dyn DynSessionStore>) {
    let registry = Registry::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .shared_store(store)
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .expect("a valid setup");
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/blind/0", "cart").await;
    let visits = (0..100).map(|_| app.get("/visit", Some(&cookie)));
    let mut seen: Vec<i32> = Vec::new();
    for response in futures::future::join_all(visits).await {
        assert_eq!(response.status, 200);
        seen.push(response.text().parse().expect("a count"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=100).collect::<Vec<_>>(),
        "every visit saw its own new count"
    );
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[100]");
}

/// [`hundred_concurrent_updates_in`] a [`MemoryStore`].
pub async fn hundred_concurrent_updates_lose_nothing<A: Adapter>() {
    hundred_concurrent_updates_in::<A>(Arc::new(MemoryStore::new())).await;
}

/// A store without compare-and-swap is refused for `update` when the app is built
/// ([`ConfigError::StoreWithoutCompareAndSwap`]); with
/// `without_atomic_update` it is accepted and `update` is `get`, the change and `set`,
/// written with the response: it works, sends the session on, and is never a 500
/// (issue #16, item 1).
///
/// [`ConfigError::StoreWithoutCompareAndSwap`]: session_engine::ConfigError::StoreWithoutCompareAndSwap
pub async fn update_without_compare_and_swap_is_a_plain_write_when_opted_out<A: Adapter>() {
    let store = NoSwapStore::default();
    let config = || {
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .store(store.clone())
            .transform(Sign::new(SigningKey::generate()))
    };
    let refused = Registry::builder().session(config()).build();
    assert!(
        matches!(
            refused,
            Err(session_engine::ConfigError::StoreWithoutCompareAndSwap { .. })
        ),
        "{refused:?}"
    );
    let registry = Registry::builder()
        .session(config().without_atomic_update())
        .build()
        .expect("accepted with the opt-out");
    let app = App::<A>::serving(registry).await;
    let cookie = app.cookie_from("/add/1", "cart").await;
    for expected in ["2", "3"] {
        let response = app.get("/visit", Some(&cookie)).await;
        assert_eq!(response.status, 200, "never a 500");
        assert_eq!(response.text(), expected);
    }
    assert_eq!(app.text("/cart", Some(&cookie)).await, "[3]");
    assert_eq!(store.0.len(), 1, "the same session, updated in place");
}

/// `update` without a session changes nothing and sends nothing.
pub async fn update_without_a_session_does_nothing<A: Adapter>() {
    let app = App::<A>::serving(carts(&ProbeStore::default())).await;
    let response = app.send(TestRequest::get("/visit")).await;
    assert!(response.set_cookies().is_empty());
    assert_eq!(response.text(), "-1");
}
