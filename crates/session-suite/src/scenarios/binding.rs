//! A value is bound to its session's name: what one session issued is no session under
//! another name, whatever the mode (issue #11, item 1).

use std::sync::Arc;

use cookie::Cookie;
use session_core::{DynSessionStore, Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};
use session_engine::{CookieTransport, Registry, SessionConfig};

use super::App;
use crate::{Adapter, Auth, Guest, TestRequest, User};

/// Issues a guest value for `admin` and presents it as the `auth` session: who is it?
async fn guest_presented_as_auth<A: Adapter>(registry: Registry) -> String {
    let app = App::<A>::serving(registry).await;
    let guest = app.cookie_from("/guest/admin", "guest").await;
    let forged = Cookie::new("auth", guest.value().to_owned());
    app.text("/whoami", Some(&forged)).await
}

fn two(guest: SessionConfig<Guest>, auth: SessionConfig<Auth>) -> Registry {
    Registry::builder()
        .session(guest)
        .session(auth)
        .build()
        .expect("a valid setup")
}

/// An encrypted value presented under another name (same key) is no session.
pub async fn encrypted_value_is_bound_to_the_session_name<A: Adapter>() {
    let key = EncryptionKey::generate();
    let named = |name: &str| {
        Registry::builder()
            .session(
                SessionConfig::<User>::new(CookieTransport::new(name))
                    .transform(Encrypt::new(key.clone())),
            )
            .build()
            .expect("a valid setup")
    };
    let app = App::<A>::serving(named("user")).await;
    let value = app
        .cookie_from("/user/set/ada", "user")
        .await
        .value()
        .to_owned();
    let renamed = App::<A>::serving(named("admin")).await;
    let request = TestRequest::get("/user/get").cookies(format!("admin={value}"));
    assert_eq!(renamed.send(request).await.text(), "none");
    // The same value under its own name opens, in the app that issued it.
    let request = TestRequest::get("/user/get").cookies(format!("user={value}"));
    assert_eq!(app.send(request).await.text(), "ada:0");
}

/// One signing key for two client-side session types: a signed value of one is not read
/// as the other.
pub async fn a_signed_value_of_one_session_is_not_read_as_another<A: Adapter>() {
    let key = SigningKey::generate();
    let registry = two(
        SessionConfig::new(CookieTransport::new("guest")).transform(Sign::new(key.clone())),
        SessionConfig::new(CookieTransport::new("auth")).transform(Sign::new(key)),
    );
    assert_eq!(guest_presented_as_auth::<A>(registry).await, "nobody");
}

/// The same without the envelope (no record names the session): the signature alone binds
/// the value to its session.
pub async fn a_bare_signed_value_of_one_session_is_not_read_as_another<A: Adapter>() {
    let key = SigningKey::generate();
    let registry = two(
        SessionConfig::new(CookieTransport::new("guest"))
            .transform(Sign::new(key.clone()))
            .without_envelope(),
        SessionConfig::new(CookieTransport::new("auth"))
            .transform(Sign::new(key))
            .without_envelope(),
    );
    assert_eq!(guest_presented_as_auth::<A>(registry).await, "nobody");
}

/// Server-side, one key and one shared store: even with Ktor's signature, which does not
/// bind the name, the stored record's own name keeps the types apart.
pub async fn a_stored_session_of_one_type_is_not_read_as_another<A: Adapter>() {
    for sign in [Sign::new, Sign::ktor_compatible] {
        let key = SigningKey::generate();
        let store: Arc<dyn DynSessionStore> = Arc::new(MemoryStore::new());
        let registry = two(
            SessionConfig::new(CookieTransport::new("guest"))
                .shared_store(store.clone())
                .transform(sign(key.clone())),
            SessionConfig::new(CookieTransport::new("auth"))
                .shared_store(store)
                .transform(sign(key)),
        );
        assert_eq!(guest_presented_as_auth::<A>(registry).await, "nobody");
    }
}
