//! Helpers shared by the in-process tests: requests through `oneshot`, cookies, a store that
//! fails on demand.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{Request, Response};
use serde::{Deserialize, Serialize};
use session_axum::Session;
use session_axum::SessionError;
use session_axum::cookie::Cookie;
use session_axum::core::{
    MemoryStore, SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry,
};
use tower::ServiceExt as _;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub items: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visits {
    pub count: u32,
}

/// Sends one request through a clone of the app, as a server would.
pub async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.unwrap()
}

/// `GET uri`, with the cookies echoed back as a browser would.
pub async fn get(app: &Router, uri: &str, cookies: &[&Cookie<'_>]) -> Response<Body> {
    send(
        app,
        with_cookies(Request::get(uri), cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Adds a `Cookie` header carrying `cookies`, percent-encoded like a browser echoes them.
pub fn with_cookies(
    request: axum::http::request::Builder,
    cookies: &[&Cookie<'_>],
) -> axum::http::request::Builder {
    if cookies.is_empty() {
        return request;
    }
    let header: Vec<String> = cookies
        .iter()
        .map(|c| {
            Cookie::new(c.name().to_owned(), c.value().to_owned())
                .encoded()
                .to_string()
        })
        .collect();
    request.header(COOKIE, header.join("; "))
}

/// The Set-Cookie headers of a response, parsed.
pub fn set_cookies(response: &Response<Body>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| Cookie::parse_encoded(value.to_str().unwrap().to_owned()).unwrap())
        .collect()
}

/// The one Set-Cookie named `name`; panics unless there is exactly one.
pub fn the_cookie(response: &Response<Body>, name: &str) -> Cookie<'static> {
    let mut found: Vec<_> = set_cookies(response)
        .into_iter()
        .filter(|c| c.name() == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one Set-Cookie {name}: {found:?}");
    found.remove(0)
}

/// An expiring, empty cookie: the client is told to drop what it has.
pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty()
        && cookie.max_age() == Some(session_axum::cookie::time::Duration::ZERO)
}

/// The response body as text.
pub async fn body(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// `GET /cart` in the tests: the cart's items, or `empty`.
pub async fn show_cart(session: Session<Cart>) -> Result<String, SessionError> {
    Ok(match session.get().await? {
        Some(cart) => format!("{:?}", cart.items),
        None => "empty".to_owned(),
    })
}

/// A memory store that fails every call while `failing` is set.
#[derive(Clone, Default)]
pub struct FlakyStore {
    pub inner: MemoryStore,
    pub failing: Arc<AtomicBool>,
}

impl FlakyStore {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::backend(std::io::Error::other(
                "secret internal detail: db at 10.0.0.7",
            )))
        } else {
            Ok(())
        }
    }
}

impl SessionStore for FlakyStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.check()?;
        self.inner.load(id).await
    }
    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        self.check()?;
        self.inner.load_entry(id).await
    }
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save(id, text, ttl).await
    }
    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.replace(id, text, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete(id).await
    }
    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.touch(id, ttl).await
    }
    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.compare_and_swap(id, expected, new, ttl).await
    }
    fn capabilities(&self) -> StoreCapabilities {
        self.inner.capabilities()
    }
}
