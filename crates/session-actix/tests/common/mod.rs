//! Helpers shared by the in-process tests: a store that counts and can fail, and cookie helpers.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};
use session_actix::core::{MemoryStore, SessionId, SessionStore, StoreError, StoredEntry};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub visits: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub items: Vec<i32>,
}

/// A memory store that counts its calls and fails on demand.
#[derive(Clone)]
pub struct ProbeStore {
    pub inner: MemoryStore,
    pub loads: Arc<AtomicUsize>,
    pub saves: Arc<AtomicUsize>,
    pub deletes: Arc<AtomicUsize>,
    pub touches: Arc<AtomicUsize>,
    pub failing: Arc<AtomicBool>,
}

impl Default for ProbeStore {
    fn default() -> Self {
        Self::with_store(MemoryStore::new())
    }
}

impl ProbeStore {
    pub fn with_store(inner: MemoryStore) -> Self {
        Self {
            inner,
            loads: Arc::default(),
            saves: Arc::default(),
            deletes: Arc::default(),
            touches: Arc::default(),
            failing: Arc::default(),
        }
    }
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }
    pub fn deletes(&self) -> usize {
        self.deletes.load(Ordering::SeqCst)
    }
    pub fn touches(&self) -> usize {
        self.touches.load(Ordering::SeqCst)
    }
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

impl SessionStore for ProbeStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }
    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.load_entry(id).await
    }
    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        self.touches.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.touch(id, ttl).await
    }
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.save(id, text, ttl).await
    }
    /// Counted as a save: it is the write of an existing session.
    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.replace(id, text, ttl).await
    }
    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.compare_and_swap(id, expected, new, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.deletes.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.delete(id).await
    }
}

/// The Set-Cookie headers of a response, parsed by the cookie crate.
pub fn set_cookies<B>(response: &ServiceResponse<B>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .map(|value| Cookie::parse_encoded(value.to_str().unwrap().to_owned()).unwrap())
        .collect()
}

/// The one Set-Cookie named `name`; panics unless there is exactly one.
pub fn the_cookie<B>(response: &ServiceResponse<B>, name: &str) -> Cookie<'static> {
    let mut found: Vec<_> = set_cookies(response)
        .into_iter()
        .filter(|c| c.name() == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one Set-Cookie {name}: {found:?}");
    found.remove(0)
}

pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO)
}

/// A `Cookie` request header carrying one value, percent-encoded like a browser would echo it.
pub fn cookie_header(cookie: &Cookie<'_>) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::COOKIE,
        Cookie::new(cookie.name().to_owned(), cookie.value().to_owned())
            .encoded()
            .to_string(),
    )
}

/// `GET uri`, with the cookie echoed back when given.
pub async fn get<S, B>(app: &S, uri: &str, cookie: Option<&Cookie<'_>>) -> ServiceResponse<B>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let mut request = actix_web::test::TestRequest::get().uri(uri);
    if let Some(cookie) = cookie {
        request = request.insert_header(cookie_header(cookie));
    }
    actix_web::test::call_service(app, request.to_request()).await
}

/// The session value stored under `id`, without its record header.
pub async fn stored_value(store: &impl SessionStore, id: &SessionId) -> Option<String> {
    let text = store.load(id).await.unwrap()?;
    let (header, value) = text.split_once('\n').expect("a session record");
    assert!(header.starts_with("s2 "), "a session record: {header}");
    Some(value.to_owned())
}

/// The response body as text.
pub async fn body<B: actix_web::body::MessageBody>(response: ServiceResponse<B>) -> String {
    String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap()
}

/// `GET /cart` in the tests: the cart's items, or `empty`.
pub async fn show_cart(
    session: session_actix::Session<Cart>,
) -> Result<actix_web::HttpResponse, session_actix::SessionError> {
    Ok(
        actix_web::HttpResponse::Ok().body(match session.get().await? {
            Some(cart) => format!("{:?}", cart.items),
            None => "empty".to_owned(),
        }),
    )
}

/// A response whose body is the session's ID (empty without one), as login routes answer.
pub async fn id_response(
    session: &session_actix::Session<Cart>,
) -> Result<actix_web::HttpResponse, session_actix::SessionError> {
    let id = session.id().await?;
    Ok(actix_web::HttpResponse::Ok().body(id.map(|id| id.as_str().to_owned()).unwrap_or_default()))
}
