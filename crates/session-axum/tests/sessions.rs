//! The `Sessions` layer and the `Session` extractor through axum's public API, one request at
//! a time with `oneshot`: lifecycle, persistence rules, failures, nesting and transports.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use common::{
    Cart, FlakyStore, Visits, body, get as get_with, is_removal, send, show_cart, the_cookie,
};
use session_axum::cookie::Cookie;
use session_axum::core::{
    Encrypt, EncryptionKey, MemoryStore, SessionId, SessionStore as _, Sign, SigningKey,
};
use session_axum::{
    CookieTransport, HeaderTransport, Session, SessionConfig, SessionError, SessionExt as _,
    Sessions,
};
use tower::{Layer as _, ServiceExt as _};

async fn add(session: Session<Cart>, Path(item): Path<i32>) -> Result<String, SessionError> {
    let mut cart = session.get().await?.unwrap_or(Cart { items: vec![] });
    cart.items.push(item);
    session.set(cart)?;
    Ok(session
        .id()
        .await?
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default())
}

/// The server-side app: a signed ID in the `cart` cookie, the value in `store`.
fn server_side(store: &FlakyStore) -> (Router, Sessions) {
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .store(store.clone())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
    let app = Router::new()
        .route("/cart", get(show_cart))
        .route("/add/{item}", get(add))
        .route("/plain", get(|| async { "plain" }))
        .route("/extract-only", get(|_: Session<Cart>| async { "unused" }))
        .route(
            "/fail-set",
            get(|s: Session<Cart>| async move {
                s.set(Cart { items: vec![99] })?;
                Ok::<_, SessionError>(StatusCode::INTERNAL_SERVER_ERROR)
            }),
        )
        .route(
            "/fail-clear",
            get(|s: Session<Cart>| async move {
                s.clear();
                StatusCode::SERVICE_UNAVAILABLE
            }),
        )
        .layer(sessions.clone());
    (app, sessions)
}

/// The client-side app: the whole value, encrypted, in the `visits` cookie.
fn client_side() -> Router {
    let config = SessionConfig::<Visits>::new(CookieTransport::new("visits"))
        .transform(Encrypt::new(EncryptionKey::generate()));
    Router::new()
        .route(
            "/visit",
            get(|s: Session<Visits>| async move {
                let count = s.get().await?.map_or(0, |v| v.count) + 1;
                s.set(Visits { count })?;
                Ok::<_, SessionError>(count.to_string())
            }),
        )
        .route(
            "/read",
            get(|s: Session<Visits>| async move {
                let count = s.get().await?.map(|v| v.count.to_string());
                Ok::<_, SessionError>(count.unwrap_or_else(|| "none".into()))
            }),
        )
        .layer(Sessions::new(config).unwrap())
}

#[tokio::test]
async fn client_side_set_then_get_with_the_cookie() {
    let app = client_side();
    let first = get_with(&app, "/visit", &[]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cookie = the_cookie(&first, "visits");
    assert!(cookie.secure() == Some(true) && cookie.http_only() == Some(true));
    assert_eq!(first.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(body(first).await, "1");

    let second = get_with(&app, "/visit", &[&cookie]).await;
    let cookie = the_cookie(&second, "visits");
    assert_eq!(body(second).await, "2");
    assert_eq!(body(get_with(&app, "/read", &[&cookie]).await).await, "2");
}

#[tokio::test]
async fn server_side_set_then_get_with_the_cookie() {
    let store = FlakyStore::default();
    let (app, _) = server_side(&store);
    let first = get_with(&app, "/add/1", &[]).await;
    let cookie = the_cookie(&first, "cart");
    let id = SessionId::parse(&body(first).await).unwrap();
    assert!(!cookie.value().contains("items"), "only the ID travels");
    assert!(
        store.inner.load(&id).await.unwrap().is_some(),
        "the value is stored"
    );

    let second = get_with(&app, "/add/2", &[&cookie]).await;
    assert!(
        second.headers().get(SET_COOKIE).is_none(),
        "same ID: nothing to resend"
    );
    let read = get_with(&app, "/cart", &[&cookie]).await;
    assert!(
        read.headers().get(SET_COOKIE).is_none(),
        "a plain read sends no cookie"
    );
    assert_eq!(body(read).await, "[1, 2]");
}

#[tokio::test]
async fn a_route_that_never_touches_the_session_sends_nothing() {
    let store = FlakyStore::default();
    let (app, _) = server_side(&store);
    let cookie = the_cookie(&get_with(&app, "/add/1", &[]).await, "cart");
    // Lazy: with the storage down, a route that never asks still works.
    store.fail(true);
    let response = get_with(&app, "/plain", &[&cookie]).await;
    assert_eq!(response.status(), StatusCode::OK);
    for header in [SET_COOKIE, VARY, CACHE_CONTROL] {
        assert!(response.headers().get(&header).is_none(), "{header}");
    }
    assert_eq!(body(response).await, "plain");
    // Lazy: a handle that is extracted but never asked reads nothing either.
    let response = get_with(&app, "/extract-only", &[&cookie]).await;
    assert_eq!(response.status(), StatusCode::OK);
    for header in [SET_COOKIE, VARY, CACHE_CONTROL] {
        assert!(response.headers().get(&header).is_none(), "{header}");
    }
}

#[tokio::test]
async fn an_inner_service_error_still_ends_the_session_and_is_passed_on() {
    let store = FlakyStore::default();
    let (app, sessions) = server_side(&store);
    let first = get_with(&app, "/add/1", &[]).await;
    let cookie = the_cookie(&first, "cart");
    let id = SessionId::parse(&body(first).await).unwrap();
    // A plain tower service under the layer, failing with an error instead of a response.
    let failing = sessions.layer(tower::service_fn(|req: Request<Body>| async move {
        req.session::<Cart>().expect("the layer is there").clear();
        Err::<axum::response::Response, _>("inner failure")
    }));
    let request = common::with_cookies(Request::get("/"), &[&cookie]).body(Body::empty());
    assert_eq!(
        failing.oneshot(request.unwrap()).await.unwrap_err(),
        "inner failure"
    );
    assert!(
        store.inner.load(&id).await.unwrap().is_none(),
        "the logout was applied"
    );
}

#[tokio::test]
async fn a_server_error_drops_the_set_but_applies_the_clear() {
    let store = FlakyStore::default();
    let (app, _) = server_side(&store);
    let cookie = the_cookie(&get_with(&app, "/add/1", &[]).await, "cart");

    let failed = get_with(&app, "/fail-set", &[&cookie]).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(failed.headers().get(SET_COOKIE).is_none());
    assert_eq!(body(get_with(&app, "/cart", &[&cookie]).await).await, "[1]");

    let cleared = get_with(&app, "/fail-clear", &[&cookie]).await;
    assert_eq!(cleared.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(is_removal(&the_cookie(&cleared, "cart")));
    assert_eq!(
        body(get_with(&app, "/cart", &[&cookie]).await).await,
        "empty"
    );
}

#[tokio::test]
async fn a_failing_store_answers_an_empty_500() {
    let store = FlakyStore::default();
    let (app, _) = server_side(&store);
    let cookie = the_cookie(&get_with(&app, "/add/1", &[]).await, "cart");
    store.fail(true);

    // Persisting fails after the handler answered.
    let write = get_with(&app, "/add/2", &[]).await;
    assert_eq!(write.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(write.headers().get(SET_COOKIE).is_none());
    assert_eq!(body(write).await, "", "nothing internal is sent");

    // Loading fails inside the handler: its `?` answers.
    let read = get_with(&app, "/cart", &[&cookie]).await;
    assert_eq!(read.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body(read).await, "");
}

#[tokio::test]
async fn a_forged_cookie_is_no_session_and_is_dropped() {
    let app = client_side();
    let forged = Cookie::new("visits", "AAAAforged-value");
    let response = get_with(&app, "/read", &[&forged]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(is_removal(&the_cookie(&response, "visits")));
    assert_eq!(body(response).await, "none");

    let (app, _) = server_side(&FlakyStore::default());
    let forged = Cookie::new("cart", SessionId::generate().as_str().to_owned());
    let response = get_with(&app, "/cart", &[&forged]).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(body(response).await, "empty");
}

#[tokio::test]
async fn invalidate_ends_a_session_outside_its_request() {
    let store = FlakyStore::default();
    let (app, sessions) = server_side(&store);
    let first = get_with(&app, "/add/1", &[]).await;
    let cookie = the_cookie(&first, "cart");
    let id = SessionId::parse(&body(first).await).unwrap();
    sessions.invalidate::<Cart>(&id).await.unwrap();
    assert_eq!(
        body(get_with(&app, "/cart", &[&cookie]).await).await,
        "empty"
    );
    assert!(matches!(
        sessions.invalidate::<Visits>(&id).await,
        Err(SessionError::NotRegistered { .. })
    ));
}

#[tokio::test]
async fn nested_layers_serve_each_type_from_the_innermost_that_registered_it() {
    let key = EncryptionKey::generate();
    let outer = Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::generate())),
        )
        .session(
            SessionConfig::<Visits>::new(CookieTransport::new("outer-visits"))
                .transform(Encrypt::new(key.clone())),
        )
        .build()
        .unwrap();
    let inner = Sessions::new(
        SessionConfig::<Visits>::new(CookieTransport::new("visits")).transform(Encrypt::new(key)),
    )
    .unwrap();
    let both = |cart: Session<Cart>, visits: Session<Visits>| async move {
        let mut items = cart.get().await?.map_or(vec![], |c| c.items);
        items.push(1);
        cart.set(Cart {
            items: items.clone(),
        })?;
        let count = visits.get().await?.map_or(0, |v| v.count) + 1;
        visits.set(Visits { count })?;
        Ok::<_, SessionError>(format!("{items:?} {count}"))
    };
    let shop = Router::new().route("/both", get(both)).layer(inner);
    let app = Router::new().nest("/shop", shop).layer(outer);

    let first = get_with(&app, "/shop/both", &[]).await;
    let (cart, visits) = (the_cookie(&first, "cart"), the_cookie(&first, "visits"));
    let names: Vec<_> = common::set_cookies(&first)
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert!(
        !names.contains(&"outer-visits".to_owned()),
        "the inner layer serves Visits"
    );
    assert_eq!(body(first).await, "[1] 1");
    let second = get_with(&app, "/shop/both", &[&cart, &visits]).await;
    assert_eq!(body(second).await, "[1, 1] 2");
}

#[tokio::test]
async fn the_extractor_without_a_layer_answers_an_empty_500() {
    let app = Router::new().route("/cart", get(show_cart));
    let response = get_with(&app, "/cart", &[]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body(response).await, "");
}

#[tokio::test]
async fn a_handle_moved_into_a_spawned_task_works_until_the_response_is_made() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let stash: Arc<Mutex<Option<Session<Cart>>>> = Arc::default();
    let kept = Arc::clone(&stash);
    let app = Router::new()
        .route(
            "/spawn",
            get(move |session: Session<Cart>| async move {
                assert_send_sync(&session);
                let handle = session.clone();
                tokio::spawn(async move {
                    let mut cart = handle.get().await?.unwrap_or(Cart { items: vec![] });
                    cart.items.push(7);
                    handle.set(cart)
                })
                .await
                .expect("the task ran")?;
                *kept.lock().unwrap() = Some(session);
                Ok::<_, SessionError>("spawned")
            }),
        )
        .route("/cart", get(show_cart))
        .layer(
            Sessions::new(
                SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                    .store(MemoryStore::new())
                    .transform(Sign::new(SigningKey::generate())),
            )
            .unwrap(),
        );
    let cookie = the_cookie(&get_with(&app, "/spawn", &[]).await, "cart");
    assert_eq!(body(get_with(&app, "/cart", &[&cookie]).await).await, "[7]");

    let late = stash.lock().unwrap().take().unwrap();
    assert!(matches!(
        late.get().await,
        Err(SessionError::RequestFinished { .. })
    ));
}

/// A request kept past its response (its extensions hold the request state) cannot make a
/// handle that would accept changes no response will carry.
#[tokio::test]
async fn a_handle_made_after_the_response_is_an_error() {
    let stash: Arc<Mutex<Option<axum::extract::Request>>> = Arc::default();
    let kept = Arc::clone(&stash);
    let app = Router::new()
        .route(
            "/keep",
            get(move |request: axum::extract::Request| async move {
                *kept.lock().unwrap() = Some(request);
                "kept"
            }),
        )
        .layer(
            Sessions::new(
                SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                    .store(MemoryStore::new())
                    .transform(Sign::new(SigningKey::generate())),
            )
            .unwrap(),
        );
    assert_eq!(body(get_with(&app, "/keep", &[]).await).await, "kept");
    let request = stash.lock().unwrap().take().unwrap();
    assert!(matches!(
        request.session::<Cart>(),
        Err(SessionError::RequestFinished { .. })
    ));
}

#[tokio::test]
async fn header_transport_round_trip() {
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(HeaderTransport::new("x-cart-session"))
            .store(MemoryStore::new())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
    assert_eq!(
        sessions.allowed_headers().collect::<Vec<_>>(),
        ["x-cart-session"]
    );
    assert_eq!(
        sessions.exposed_headers().collect::<Vec<_>>(),
        ["x-cart-session"]
    );
    let app = Router::new()
        .route("/add/{item}", get(add))
        .route("/cart", get(show_cart))
        .layer(sessions);
    let first = get_with(&app, "/add/3", &[]).await;
    let value = first.headers()["x-cart-session"].clone();
    assert!(first.headers().get(SET_COOKIE).is_none());

    let request = |uri: &str| {
        Request::get(uri)
            .header("x-cart-session", value.clone())
            .body(Body::empty())
            .unwrap()
    };
    let second = send(&app, request("/add/4")).await;
    assert!(
        second.headers().get("x-cart-session").is_none(),
        "same ID: nothing to resend"
    );
    let read = send(&app, request("/cart")).await;
    assert!(
        read.headers()[VARY]
            .to_str()
            .unwrap()
            .contains("x-cart-session")
    );
    assert_eq!(body(read).await, "[3, 4]");
}
