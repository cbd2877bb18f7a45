//! The scenarios, one `async fn` each, generic over the [`Adapter`]; each panics on the
//! first broken expectation. [`behaviour_suite!`](crate::behaviour_suite) runs them all.

pub mod bearer;
pub mod binding;
pub mod csrf;
pub mod lifecycle;
pub mod persist;
pub mod rotation;
pub mod tampering;
pub mod timeouts;
pub mod transport;

use std::time::Duration;

use cookie::Cookie;
use session_core::{ManualClock, SessionId, Sign, SigningKey};
use session_engine::{CookieTransport, Registry, SessionConfig};

use crate::{Adapter, AppSpec, Cart, ProbeStore, Routes, TestRequest, TestResponse};

const MINUTE: Duration = Duration::from_secs(60);

/// A started app and its routes' state.
struct App<A: Adapter> {
    app: A::App,
    routes: Routes,
}

impl<A: Adapter> App<A> {
    async fn start(spec: AppSpec) -> Self {
        let routes = spec.routes.clone();
        Self {
            app: A::start(spec).await,
            routes,
        }
    }

    /// An app serving `registry`, without CSRF protection.
    async fn serving(registry: Registry) -> Self {
        Self::start(AppSpec::new(registry)).await
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        A::send(&self.app, request).await
    }

    /// `GET uri`, with `cookie` echoed back when given.
    async fn get(&self, uri: &str, cookie: Option<&Cookie<'_>>) -> TestResponse {
        let mut request = TestRequest::get(uri);
        if let Some(cookie) = cookie {
            request = request.cookie(cookie);
        }
        self.send(request).await
    }

    /// The body of `GET uri` with `cookie`.
    async fn text(&self, uri: &str, cookie: Option<&Cookie<'_>>) -> String {
        self.get(uri, cookie).await.text().to_owned()
    }

    /// `GET uri` with `cookies` as the whole `Cookie` header.
    async fn get_with_cookies(&self, uri: &str, cookies: impl AsRef<[u8]>) -> TestResponse {
        self.send(TestRequest::get(uri).cookies(cookies)).await
    }

    /// The cookie `name` that `GET uri` (without cookies) sets.
    async fn cookie_from(&self, uri: &str, name: &str) -> Cookie<'static> {
        self.get(uri, None).await.the_cookie(name)
    }
}

/// A server-side `cart` session (signed ID cookie) in `store`, with `clock`.
fn server_side(
    store: &ProbeStore,
    clock: &ManualClock,
    change: impl FnOnce(SessionConfig<Cart>) -> SessionConfig<Cart>,
) -> Registry {
    let config = SessionConfig::<Cart>::new(CookieTransport::new("cart"))
        .store(store.clone())
        .transform(Sign::new(SigningKey::generate()));
    Registry::builder()
        .clock(clock.clone())
        .session(change(config))
        .build()
        .expect("a valid setup")
}

/// The ID in a signed ID cookie.
fn id_of(cookie: &Cookie<'_>) -> SessionId {
    let (id, mac) = cookie.value().rsplit_once('/').expect("a signed ID");
    assert_eq!(mac.len(), 64, "an HMAC-SHA256 in hex");
    SessionId::parse(id).expect("a session ID")
}
