//! Regression tests for the holes of the adversarial review (issue #11), each through the
//! public API: name binding, fixation after `clear`, logouts undone by requests in flight,
//! blind writes that extend a session, shadowing cookies, caching, and server errors.

mod common;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, COOKIE, VARY};
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use common::{Cart, ProbeStore, body, get, is_removal, set_cookies, the_cookie};
use serde::{Deserialize, Serialize};
use session_actix::core::{
    Encrypt, EncryptionKey, ManualClock, MemoryStore, SessionId, SessionStore, Sign, SigningKey,
};
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

const MINUTE: Duration = Duration::from_secs(60);

/// Two session types of the same shape: only the name tells a guest from a login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Guest {
    user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Auth {
    user_id: String,
}

fn name_routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/guest/{user}",
            web::get().to(|s: Session<Guest>, user: web::Path<String>| async move {
                s.set(Guest {
                    user_id: user.into_inner(),
                })?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/whoami",
            web::get().to(|s: Session<Auth>| async move {
                let user = s.get().await?.map(|a| a.user_id);
                Ok::<_, SessionError>(HttpResponse::Ok().body(user.unwrap_or("nobody".into())))
            }),
        );
}

/// Issues a guest value for `admin` and presents it as the `auth` session.
async fn guest_presented_as_auth(sessions: Sessions) -> String {
    let app = init_service(App::new().wrap(sessions).configure(name_routes)).await;
    let guest = the_cookie(&get(&app, "/guest/admin", None).await, "guest");
    let forged = actix_web::cookie::Cookie::new("auth", guest.value().to_owned());
    body(get(&app, "/whoami", Some(&forged)).await).await
}

/// Item 1: one signing key for two client-side session types.
#[actix_rt::test]
async fn a_signed_value_of_one_session_is_not_read_as_another() {
    let key = SigningKey::generate();
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<Guest>::new(CookieTransport::new("guest"))
                .transform(Sign::new(key.clone())),
        )
        .session(SessionConfig::<Auth>::new(CookieTransport::new("auth")).transform(Sign::new(key)))
        .build()
        .unwrap();
    assert_eq!(guest_presented_as_auth(sessions).await, "nobody");
}

/// Item 1 without the envelope (no record to name the session): the signature alone must bind
/// the value to its session.
#[actix_rt::test]
async fn a_bare_signed_value_of_one_session_is_not_read_as_another() {
    let key = SigningKey::generate();
    let bare = |name: &str, key: SigningKey| {
        SessionConfig::<Guest>::new(CookieTransport::new(name))
            .transform(Sign::new(key))
            .without_envelope()
    };
    let sessions = Sessions::builder()
        .session(bare("guest", key.clone()))
        .session(
            SessionConfig::<Auth>::new(CookieTransport::new("auth"))
                .transform(Sign::new(key))
                .without_envelope(),
        )
        .build()
        .unwrap();
    assert_eq!(guest_presented_as_auth(sessions).await, "nobody");
}

/// Item 1, server-side: one key and one shared store; with Ktor's unbound signature the
/// record's own name check still keeps the types apart.
#[actix_rt::test]
async fn a_stored_session_of_one_type_is_not_read_as_another() {
    for sign in [Sign::new, Sign::ktor_compatible] {
        let key = SigningKey::generate();
        let store: std::sync::Arc<dyn session_actix::core::DynSessionStore> =
            std::sync::Arc::new(MemoryStore::new());
        let sessions = Sessions::builder()
            .session(
                SessionConfig::<Guest>::new(CookieTransport::new("guest"))
                    .shared_store(store.clone())
                    .transform(sign(key.clone())),
            )
            .session(
                SessionConfig::<Auth>::new(CookieTransport::new("auth"))
                    .shared_store(store)
                    .transform(sign(key)),
            )
            .build()
            .unwrap();
        assert_eq!(guest_presented_as_auth(sessions).await, "nobody");
    }
}

fn server_side(store: ProbeStore, clock: &ManualClock) -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(store)
                .transform(Sign::new(SigningKey::generate()))
                .idle_timeout(30 * MINUTE)
                .absolute_timeout(60 * MINUTE),
        )
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn client_side(clock: &ManualClock) -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .transform(Encrypt::new(EncryptionKey::generate()))
                .idle_timeout(30 * MINUTE)
                .absolute_timeout(60 * MINUTE),
        )
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/cart", web::get().to(common::show_cart))
        .route(
            "/add/{item}",
            web::get().to(|s: Session<Cart>, item: web::Path<i32>| async move {
                let mut cart = s.get().await?.unwrap_or(Cart { items: vec![] });
                cart.items.push(*item);
                s.set(cart)?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/blind/{item}",
            web::get().to(|s: Session<Cart>, item: web::Path<i32>| async move {
                s.set(Cart { items: vec![*item] })?;
                Ok::<_, SessionError>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/csrf",
            web::get().to(|s: Session<Cart>| async move {
                let token = s.csrf_token().await?.unwrap_or_else(|| "none".into());
                Ok::<_, SessionError>(HttpResponse::Ok().body(token))
            }),
        )
        .route(
            "/clear-then-login",
            web::get().to(|s: Session<Cart>| async move {
                s.clear();
                s.set(Cart { items: vec![42] })?;
                common::id_response(&s).await
            }),
        )
        .route(
            "/logout",
            web::get().to(|s: Session<Cart>| async move {
                s.clear();
                HttpResponse::Ok().finish()
            }),
        )
        .route(
            "/logout-fails",
            web::get().to(|s: Session<Cart>| async move {
                s.clear();
                Ok::<_, SessionError>(HttpResponse::InternalServerError().finish())
            }),
        )
        .route(
            "/login-fails",
            web::get().to(|s: Session<Cart>| async move {
                s.renew().await?;
                s.set(Cart { items: vec![99] })?;
                Ok::<_, SessionError>(HttpResponse::InternalServerError().finish())
            }),
        )
        .route(
            "/write-fails",
            web::get().to(|s: Session<Cart>| async move {
                s.set(Cart { items: vec![99] })?;
                Ok::<_, SessionError>(HttpResponse::InternalServerError().finish())
            }),
        )
        .route(
            "/cached",
            web::get().to(|s: Session<Cart>| async move {
                s.set(Cart { items: vec![7] })?;
                Ok::<_, SessionError>(
                    HttpResponse::Ok()
                        .insert_header((CACHE_CONTROL, "private, max-age=5"))
                        .finish(),
                )
            }),
        );
}

/// `GET uri` with `cookies` as the whole `Cookie` header.
async fn get_with_cookies<S, B>(app: &S, uri: &str, cookies: impl Into<String>) -> S::Response
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let request = TestRequest::get()
        .uri(uri)
        .insert_header((COOKIE, cookies.into()));
    call_service(app, request.to_request()).await
}

/// The app of these tests under `sessions`.
macro_rules! app {
    ($sessions:expr) => {
        init_service(App::new().wrap($sessions).configure(routes)).await
    };
}

fn id_of(cookie: &actix_web::cookie::Cookie<'_>) -> SessionId {
    SessionId::parse(cookie.value().rsplit_once('/').unwrap().0).unwrap()
}

/// Item 2: "clear, then set the user" must not keep a planted ID.
#[actix_rt::test]
async fn clear_then_set_moves_to_a_new_id_and_deletes_the_old() {
    let clock = ManualClock::starting_now();
    let store = ProbeStore::default();
    let app = app!(server_side(store.clone(), &clock));
    // The attacker's own session, planted in the victim's browser.
    let planted = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let response = get(&app, "/clear-then-login", Some(&planted)).await;
    let issued = the_cookie(&response, "cart");
    let reported = body(response).await;
    assert_ne!(issued.value(), planted.value(), "a new ID is sent");
    assert_eq!(id_of(&issued).as_str(), reported, "id() told the new ID");
    assert_eq!(store.inner.load(&id_of(&planted)).await.unwrap(), None);
    assert_eq!(body(get(&app, "/cart", Some(&issued)).await).await, "[42]");
    let old = get(&app, "/cart", Some(&planted)).await;
    assert_eq!(body(old).await, "empty");
}

/// Item 3: a request that loaded the session before a logout must bring it back neither by
/// writing its value nor by moving it to a new ID (`renew`).
#[actix_rt::test]
async fn a_logout_is_not_undone_by_a_request_in_flight() {
    for renew in [false, true] {
        let clock = ManualClock::starting_now();
        let store = ProbeStore::default();
        let sessions = server_side(store.clone(), &clock);
        let logout = sessions.clone();
        let app = init_service(App::new().wrap(sessions).configure(routes).route(
            "/write-after-logout/{renew}",
            web::get().to(move |s: Session<Cart>, renew: web::Path<bool>| {
                let logout = logout.clone();
                async move {
                    let cart = s.get().await?.unwrap_or(Cart { items: vec![] });
                    // Meanwhile, the user logs out elsewhere.
                    let id = s.id().await?.expect("a session");
                    logout.invalidate::<Cart>(&id).await?;
                    if *renew {
                        s.renew().await?;
                    }
                    s.set(Cart {
                        items: [cart.items, vec![2]].concat(),
                    })?;
                    Ok::<_, SessionError>(HttpResponse::Ok().finish())
                }
            }),
        ))
        .await;
        let cookie = the_cookie(&get(&app, "/add/1", None).await, "cart");
        let uri = format!("/write-after-logout/{renew}");
        let response = get(&app, &uri, Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let sent = the_cookie(&response, "cart");
        assert!(is_removal(&sent), "renew {renew}: the session has ended");
        assert_eq!(
            store.inner.len(),
            0,
            "renew {renew}: nothing written under any ID"
        );
    }
}

/// Item 4, server-side: writing without reading neither restarts the absolute timeout nor
/// replaces the CSRF token.
#[actix_rt::test]
async fn a_blind_set_keeps_the_start_and_the_token_server_side() {
    let clock = ManualClock::starting_now();
    let store = ProbeStore::with_store(MemoryStore::with_clock(clock.clone()));
    let app = app!(server_side(store, &clock));
    let cookie = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let token = body(get(&app, "/csrf", Some(&cookie)).await).await;
    for _ in 0..2 {
        clock.advance(25 * MINUTE);
        let response = get(&app, "/blind/5", Some(&cookie)).await;
        assert!(
            set_cookies(&response).is_empty(),
            "same ID, nothing to send"
        );
        assert_eq!(body(get(&app, "/csrf", Some(&cookie)).await).await, token);
    }
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[5]");
    clock.advance(15 * MINUTE);
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "empty");
}

/// Item 4, client-side: the same for a value whose record travels with it.
#[actix_rt::test]
async fn a_blind_set_keeps_the_start_and_the_token_client_side() {
    let clock = ManualClock::starting_now();
    let app = app!(client_side(&clock));
    let mut cookie = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let token = body(get(&app, "/csrf", Some(&cookie)).await).await;
    for _ in 0..2 {
        clock.advance(25 * MINUTE);
        cookie = the_cookie(&get(&app, "/blind/5", Some(&cookie)).await, "cart");
        assert_eq!(body(get(&app, "/csrf", Some(&cookie)).await).await, token);
    }
    clock.advance(15 * MINUTE);
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "empty");
}

/// Item 6: a garbage cookie of the same name (planted by a sibling subdomain) ahead of the
/// real one neither hides the session nor makes the server drop it.
#[actix_rt::test]
async fn a_shadowing_cookie_does_not_hide_the_session() {
    let clock = ManualClock::starting_now();
    for sessions in [
        server_side(ProbeStore::default(), &clock),
        client_side(&clock),
    ] {
        let app = app!(sessions);
        let cookie = the_cookie(&get(&app, "/add/3", None).await, "cart");
        let header = format!("cart=garbage; cart={}", cookie.value());
        let response = get_with_cookies(&app, "/cart", header).await;
        assert!(
            set_cookies(&response).is_empty(),
            "no removal of the real cookie"
        );
        assert_eq!(body(response).await, "[3]");
        // Nothing that opens: the cookie is dropped as before.
        let response = get_with_cookies(&app, "/cart", "cart=garbage; cart=more-garbage").await;
        assert!(is_removal(&the_cookie(&response, "cart")));
    }
}

/// Item 7: responses that hand out a session are not cacheable; responses that read one vary
/// on it; the application's own `Cache-Control` is kept.
#[actix_rt::test]
async fn session_responses_carry_caching_headers() {
    let clock = ManualClock::starting_now();
    let app = app!(server_side(ProbeStore::default(), &clock));
    let response = get(&app, "/add/1", None).await;
    assert_eq!(response.headers().get(CACHE_CONTROL).unwrap(), "no-store");
    let cookie = the_cookie(&response, "cart");
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert_eq!(response.headers().get(VARY).unwrap(), "Cookie");
    assert!(response.headers().get(CACHE_CONTROL).is_none());
    let response = get(&app, "/blind/4", Some(&cookie)).await;
    assert_eq!(
        response.headers().get(VARY).unwrap(),
        "Cookie",
        "a blind write varies too"
    );
    let response = get(&app, "/cached", None).await;
    assert_eq!(
        response.headers().get(CACHE_CONTROL).unwrap(),
        "private, max-age=5"
    );
}

/// Item 10: a logout whose handler fails later still ends the session.
#[actix_rt::test]
async fn a_failing_logout_still_ends_the_session() {
    let clock = ManualClock::starting_now();
    let store = ProbeStore::default();
    let app = app!(server_side(store.clone(), &clock));
    let cookie = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let response = get(&app, "/logout-fails", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(store.inner.load(&id_of(&cookie)).await.unwrap(), None);
}

/// Item 10: a login (renew) whose handler fails later still moves the ID; the value written
/// in the failed request is not kept, and neither is a plain write.
#[actix_rt::test]
async fn a_failing_login_still_moves_the_id_but_writes_no_value() {
    let clock = ManualClock::starting_now();
    let store = ProbeStore::default();
    let app = app!(server_side(store.clone(), &clock));
    let cookie = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let response = get(&app, "/write-fails", Some(&cookie)).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[1]");

    let response = get(&app, "/login-fails", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let moved = the_cookie(&response, "cart");
    assert_ne!(moved.value(), cookie.value());
    assert_eq!(store.inner.load(&id_of(&cookie)).await.unwrap(), None);
    assert_eq!(body(get(&app, "/cart", Some(&moved)).await).await, "[1]");
}

/// Item 10 for errors that are not responses: an inner middleware fails after the handler
/// cleared the session; the logout still happens.
#[actix_rt::test]
async fn an_inner_error_after_a_logout_still_ends_the_session() {
    use actix_web::middleware::{Next, from_fn};
    let clock = ManualClock::starting_now();
    let store = ProbeStore::default();
    let app = init_service(
        App::new()
            .wrap(from_fn(
                |req: actix_web::dev::ServiceRequest,
                 next: Next<actix_web::body::BoxBody>| async move {
                    let response = next.call(req).await?;
                    if response.request().path() == "/logout" {
                        return Err(actix_web::error::ErrorInternalServerError("failed later"));
                    }
                    Ok(response)
                },
            ))
            .wrap(server_side(store.clone(), &clock))
            .configure(routes)
    )
    .await;
    let cookie = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let request = TestRequest::get()
        .uri("/logout")
        .insert_header(common::cookie_header(&cookie));
    let result = actix_web::test::try_call_service(&app, request.to_request()).await;
    assert!(
        result.is_err(),
        "the inner middleware's error comes through"
    );
    assert_eq!(store.inner.load(&id_of(&cookie)).await.unwrap(), None);
}

/// Item 6 past the number of values tried: the real cookie for `/` comes last behind many
/// longer-path shadows, and is still tried; when some values are never tried, nothing tells
/// the client to drop its cookie.
#[actix_rt::test]
async fn many_shadowing_cookies_neither_hide_nor_remove_the_session() {
    let clock = ManualClock::starting_now();
    let app = app!(server_side(ProbeStore::default(), &clock));
    let cookie = the_cookie(&get(&app, "/add/3", None).await, "cart");
    let planted = |n: usize| {
        (0..n)
            .map(|i| format!("cart=planted{i}; "))
            .collect::<String>()
    };
    let last = format!("{}cart={}", planted(12), cookie.value());
    let response = get_with_cookies(&app, "/cart", last).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body(response).await, "[3]");

    let middle = format!("{}cart={}; {}", planted(9), cookie.value(), planted(3));
    let response = get_with_cookies(&app, "/cart", middle).await;
    assert!(
        set_cookies(&response).is_empty(),
        "no removal: not every value was tried"
    );
}

/// Item 6 for logouts: `clear` ends every authentic session the request carried, not only
/// the first.
#[actix_rt::test]
async fn clear_ends_every_session_the_request_carried() {
    let clock = ManualClock::starting_now();
    let store = ProbeStore::default();
    let app = app!(server_side(store.clone(), &clock));
    let first = the_cookie(&get(&app, "/add/1", None).await, "cart");
    let second = the_cookie(&get(&app, "/add/2", None).await, "cart");
    let both = format!("cart={}; cart={}", first.value(), second.value());
    let response = get_with_cookies(&app, "/logout", both).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(store.inner.load(&id_of(&first)).await.unwrap(), None);
    assert_eq!(store.inner.load(&id_of(&second)).await.unwrap(), None);
}
