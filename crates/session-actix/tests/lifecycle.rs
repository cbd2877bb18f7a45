//! Idle and absolute timeouts (with a manual clock), expiring client-side values, invalidation
//! by ID, and CSRF protection.

mod common;

use common::body;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use common::{Cart, ProbeStore, cookie_header, get, is_removal, set_cookies, the_cookie};
use session_actix::core::{
    Encrypt, EncryptionKey, ManualClock, MemoryStore, SessionId, Sign, SigningKey,
};
use session_actix::{
    CookieTransport, CsrfProtection, Session, SessionConfig, SessionError, Sessions,
};

const MINUTE: Duration = Duration::from_secs(60);

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/cart", web::get().to(common::show_cart))
        .route(
            "/login",
            web::get().to(|s: Session<Cart>| async move {
                s.renew().await?;
                s.set(Cart { items: vec![1] })?;
                common::id_response(&s).await
            }),
        )
        .route(
            "/renew",
            web::get().to(|s: Session<Cart>| async move {
                s.renew().await?;
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
            "/invalidate/{id}",
            web::get().to(|s: Session<Cart>, id: web::Path<String>| async move {
                let id = SessionId::parse(&id).map_err(actix_web::error::ErrorBadRequest)?;
                s.invalidate_id(&id).await?;
                Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/transfer",
            web::post().to(|form: web::Form<Vec<(String, String)>>| async move {
                let amount = form
                    .iter()
                    .find(|(k, _)| k == "amount")
                    .map(|(_, v)| v.clone());
                HttpResponse::Ok().body(format!("transferred {}", amount.unwrap_or_default()))
            }),
        );
}

struct Setup {
    clock: ManualClock,
    store: ProbeStore,
    sessions: Sessions,
}

fn server_side(idle: Duration, absolute: Option<Duration>) -> Setup {
    let clock = ManualClock::starting_now();
    let store = ProbeStore::with_store(MemoryStore::with_clock(clock.clone()));
    let mut config = SessionConfig::<Cart>::new(CookieTransport::new("cart"))
        .store(store.clone())
        .transform(Sign::new(SigningKey::generate()))
        .idle_timeout(idle);
    config = match absolute {
        Some(absolute) => config.absolute_timeout(absolute),
        None => config.without_absolute_timeout(),
    };
    let sessions = Sessions::builder()
        .clock(clock.clone())
        .session(config)
        .build()
        .unwrap();
    Setup {
        clock,
        store,
        sessions,
    }
}

macro_rules! app {
    ($sessions:expr) => {
        init_service(
            App::new()
                .wrap(CsrfProtection::<Cart>::new())
                .wrap($sessions)
                .configure(routes),
        )
        .await
    };
}

#[actix_rt::test]
async fn idle_timeout_slides_with_use_without_rewriting_the_data() {
    let Setup {
        clock,
        store,
        sessions,
    } = server_side(30 * MINUTE, None);
    let app = app!(sessions);
    let cookie = the_cookie(&get(&app, "/login", None).await, "cart");
    let saves = store.saves();

    // A use soon after: nothing to extend yet.
    clock.advance(MINUTE);
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body(response).await, "[1]");
    assert_eq!(
        store.touches(),
        0,
        "less than a quarter of the window gained: no write"
    );

    // Twenty minutes on, the window is extended by a touch, not a rewrite.
    clock.advance(20 * MINUTE);
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[1]");
    assert_eq!(store.touches(), 1);
    assert_eq!(store.saves(), saves, "the data was not rewritten");

    // Forty-one minutes after login, but twenty after the last use: still alive.
    clock.advance(20 * MINUTE);
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[1]");

    // Thirty-one idle minutes: gone, and the client is told to drop the cookie.
    clock.advance(31 * MINUTE);
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(body(response).await, "empty");
    assert!(store.inner.is_empty(), "the expired entry is gone");
}

#[actix_rt::test]
async fn absolute_timeout_ends_even_an_active_session() {
    let Setup {
        clock,
        store,
        sessions,
    } = server_side(30 * MINUTE, Some(120 * MINUTE));
    let app = app!(sessions);
    let cookie = the_cookie(&get(&app, "/login", None).await, "cart");
    for _ in 0..5 {
        clock.advance(20 * MINUTE);
        assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[1]");
    }
    // 100 minutes in; the refresh never extends past the 120-minute mark.
    clock.advance(20 * MINUTE + Duration::from_secs(1));
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(body(response).await, "empty");
    assert!(store.inner.is_empty(), "the expired entry was deleted");
}

#[actix_rt::test]
async fn renew_restarts_the_absolute_timeout_and_the_csrf_token() {
    let Setup {
        clock, sessions, ..
    } = server_side(30 * MINUTE, Some(60 * MINUTE));
    let app = app!(sessions);
    let cookie = the_cookie(&get(&app, "/login", None).await, "cart");
    let token = body(get(&app, "/csrf", Some(&cookie)).await).await;
    assert_eq!(token.len(), 43);
    clock.advance(25 * MINUTE);
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[1]");
    clock.advance(25 * MINUTE);
    let renewed = the_cookie(&get(&app, "/renew", Some(&cookie)).await, "cart");
    assert_ne!(renewed.value(), cookie.value());
    let new_token = body(get(&app, "/csrf", Some(&renewed)).await).await;
    assert_ne!(new_token, token);
    clock.advance(20 * MINUTE);
    assert_eq!(
        body(get(&app, "/cart", Some(&renewed)).await).await,
        "[1]",
        "70 minutes after the first login, 20 after the renewal"
    );
    assert_eq!(
        body(get(&app, "/cart", Some(&cookie)).await).await,
        "empty",
        "the old ID is gone"
    );
}

fn client_side(clock: &ManualClock, transport: CookieTransport, key: &EncryptionKey) -> Sessions {
    Sessions::builder()
        .clock(clock.clone())
        .session(SessionConfig::<Cart>::new(transport).transform(Encrypt::new(key.clone())))
        .build()
        .unwrap()
}

#[actix_rt::test]
async fn a_replayed_client_side_value_stops_working_when_it_expires() {
    let clock = ManualClock::starting_now();
    let key = EncryptionKey::generate();
    let app = app!(client_side(
        &clock,
        CookieTransport::new("cart").max_age(Duration::from_secs(10)),
        &key
    ));
    let cookie = the_cookie(&get(&app, "/login", None).await, "cart");
    clock.advance(Duration::from_secs(9));
    assert_eq!(body(get(&app, "/cart", Some(&cookie)).await).await, "[1]");
    clock.advance(Duration::from_secs(2));
    let response = get(&app, "/cart", Some(&cookie)).await;
    assert!(is_removal(&the_cookie(&response, "cart")));
    assert_eq!(
        body(response).await,
        "empty",
        "11 s after it was issued, the copy is dead"
    );
}

#[actix_rt::test]
async fn client_side_values_are_resealed_when_a_quarter_of_the_window_passed() {
    let clock = ManualClock::starting_now();
    let key = EncryptionKey::generate();
    let app = app!(client_side(
        &clock,
        CookieTransport::new("cart").max_age(60 * MINUTE),
        &key
    ));
    let first = the_cookie(&get(&app, "/login", None).await, "cart");
    clock.advance(5 * MINUTE);
    assert!(set_cookies(&get(&app, "/cart", Some(&first)).await).is_empty());
    clock.advance(15 * MINUTE);
    let refreshed = the_cookie(&get(&app, "/cart", Some(&first)).await, "cart");
    clock.advance(50 * MINUTE);
    assert_eq!(
        body(get(&app, "/cart", Some(&refreshed)).await).await,
        "[1]"
    );
    assert_eq!(body(get(&app, "/cart", Some(&first)).await).await, "empty");
}

#[actix_rt::test]
async fn invalidate_by_id_ends_other_sessions_only() {
    let Setup { sessions, .. } = server_side(30 * MINUTE, None);
    let app = app!(sessions.clone());
    let laptop = get(&app, "/login", None).await;
    let laptop_cookie = the_cookie(&laptop, "cart");
    let laptop_id = SessionId::parse(&body(laptop).await).unwrap();
    let phone = the_cookie(&get(&app, "/login", None).await, "cart");
    let tablet = get(&app, "/login", None).await;
    let tablet_cookie = the_cookie(&tablet, "cart");
    let tablet_id = body(tablet).await;

    // From outside any request.
    sessions.invalidate::<Cart>(&laptop_id).await.unwrap();
    assert_eq!(
        body(get(&app, "/cart", Some(&laptop_cookie)).await).await,
        "empty"
    );
    assert_eq!(body(get(&app, "/cart", Some(&phone)).await).await, "[1]");

    // From a handler of another device.
    let response = get(&app, &format!("/invalidate/{tablet_id}"), Some(&phone)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body(get(&app, "/cart", Some(&tablet_cookie)).await).await,
        "empty"
    );
    assert_eq!(body(get(&app, "/cart", Some(&phone)).await).await, "[1]");

    // Renew keeps working after invalidations.
    let renewed = the_cookie(&get(&app, "/renew", Some(&phone)).await, "cart");
    assert_eq!(body(get(&app, "/cart", Some(&renewed)).await).await, "[1]");
}

#[actix_rt::test]
async fn client_side_sessions_cannot_be_invalidated_by_id() {
    let clock = ManualClock::starting_now();
    let sessions = client_side(
        &clock,
        CookieTransport::new("cart"),
        &EncryptionKey::generate(),
    );
    let error = sessions
        .invalidate::<Cart>(&SessionId::generate())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SessionError::NotServerSide { .. }),
        "{error}"
    );
    let error = sessions
        .invalidate::<String>(&SessionId::generate())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SessionError::NotRegistered { .. }),
        "{error}"
    );
}

async fn post<S, B>(
    app: &S,
    cookie: Option<&actix_web::cookie::Cookie<'_>>,
    header: Option<&str>,
    form: &str,
) -> actix_web::dev::ServiceResponse<B>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let mut request = TestRequest::post()
        .uri("/transfer")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(form.to_owned());
    if let Some(cookie) = cookie {
        request = request.insert_header(cookie_header(cookie));
    }
    if let Some(token) = header {
        request = request.insert_header(("x-csrf-token", token.to_owned()));
    }
    call_service(app, request.to_request()).await
}

#[actix_rt::test]
async fn csrf_protection_needs_the_sessions_token_on_unsafe_methods() {
    let Setup { sessions, .. } = server_side(30 * MINUTE, None);
    let app = app!(sessions);
    let cookie = the_cookie(&get(&app, "/login", None).await, "cart");
    let token = body(get(&app, "/csrf", Some(&cookie)).await).await;
    let other = the_cookie(&get(&app, "/login", None).await, "cart");
    let other_token = body(get(&app, "/csrf", Some(&other)).await).await;

    let forbidden = [
        post(&app, Some(&cookie), None, "amount=5").await,
        post(&app, Some(&cookie), Some("wrong"), "amount=5").await,
        post(&app, Some(&cookie), Some(&other_token), "amount=5").await,
        post(
            &app,
            Some(&cookie),
            None,
            &format!("amount=5&csrf_token={other_token}"),
        )
        .await,
        post(&app, None, Some(&token), "amount=5").await,
    ];
    for response in forbidden {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(body(response).await, "");
    }

    let response = post(&app, Some(&cookie), Some(&token), "amount=5").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "transferred 5");
    let response = post(
        &app,
        Some(&cookie),
        None,
        &format!("amount=7&csrf_token={token}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body(response).await,
        "transferred 7",
        "the form reached the handler intact"
    );

    assert_eq!(
        get(&app, "/cart", Some(&cookie)).await.status(),
        StatusCode::OK,
        "safe methods pass"
    );
    assert_eq!(body(get(&app, "/csrf", None).await).await, "none");
}
