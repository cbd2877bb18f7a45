//! What only this adapter has, beyond the behaviour suite (`suite.rs`): `Sessions::invalidate`
//! outside any request, and an inner middleware's error (not a response) after a logout.

mod common;

use actix_web::middleware::{Next, from_fn};
use actix_web::test::{TestRequest, init_service, try_call_service};
use actix_web::{App, HttpResponse, web};
use common::{Cart, cookie_header, get, the_cookie};
use session_actix::core::{Encrypt, EncryptionKey, SessionId, Sign, SigningKey};
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};
use session_suite::ProbeStore;

#[actix_rt::test]
async fn client_side_sessions_cannot_be_invalidated_by_id() {
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .transform(Encrypt::new(EncryptionKey::generate())),
    )
    .unwrap();
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

/// Issue #11, item 10, for errors that are not responses: an inner middleware fails after
/// the handler cleared the session; the logout still happens.
#[actix_rt::test]
async fn an_inner_error_after_a_logout_still_ends_the_session() {
    let store = ProbeStore::default();
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .store(store.clone())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
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
            .wrap(sessions)
            .route(
                "/login",
                web::get().to(|s: Session<Cart>| async move {
                    s.set(Cart { items: vec![1] })?;
                    Ok::<_, SessionError>(HttpResponse::Ok().finish())
                }),
            )
            .route(
                "/logout",
                web::get().to(|s: Session<Cart>| async move {
                    s.clear();
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let cookie = the_cookie(&get(&app, "/login", None).await, "cart");
    assert_eq!(store.inner.len(), 1);
    let request = TestRequest::get()
        .uri("/logout")
        .insert_header(cookie_header(&cookie));
    let result = try_call_service(&app, request.to_request()).await;
    assert!(
        result.is_err(),
        "the inner middleware's error comes through"
    );
    assert!(store.inner.is_empty(), "the session was deleted");
}
