//! Nested setups (issue #16, item 5): the lookup rule documented on `Sessions`. The innermost
//! `Sessions` around a route that registered a type serves it; a type registered only outside
//! is served from outside; a type registered on both is the inner one's inside its scope.

mod common;

use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpRequest, HttpResponse, web};
use common::{Cart, User, body, cookie_header, set_cookies, the_cookie};
use session_actix::{
    CookieTransport, Encrypt, EncryptionKey, MemoryStore, Session, SessionConfig, SessionError,
    SessionExt, Sessions, Sign, SigningKey,
};

/// Adds an item to the cart and counts the user's visits; answers both.
async fn both(user: Session<User>, cart: Session<Cart>) -> Result<HttpResponse, SessionError> {
    let mut items = cart.get().await?.map_or_else(Vec::new, |cart| cart.items);
    items.push(1);
    cart.set(Cart {
        items: items.clone(),
    })?;
    let visits = user.get().await?.map_or(0, |user| user.visits) + 1;
    user.set(User {
        name: "ada".into(),
        visits,
    })?;
    Ok(HttpResponse::Ok().body(format!("{items:?} {visits}")))
}

#[actix_rt::test]
async fn the_innermost_registration_serves_a_type_and_outer_types_reach_inner_scopes() {
    let outer = Sessions::builder()
        .session(
            SessionConfig::<User>::new(CookieTransport::new("user"))
                .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("outer-cart"))
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Coupon;
    let inner = Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .session(
            SessionConfig::<Coupon>::new(CookieTransport::new("coupon"))
                .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(outer)
            .service(
                web::scope("/shop")
                    .wrap(inner)
                    .route("/both", web::get().to(both)),
            )
            .route("/both", web::get().to(both))
            .route(
                "/coupon",
                web::get().to(|req: HttpRequest| async move {
                    match req.session::<Coupon>() {
                        Ok(_) => "registered".to_owned(),
                        Err(error) => error.to_string(),
                    }
                }),
            ),
    )
    .await;

    // Inside the scope: Cart is the inner one's ("cart"), User the outer one's.
    let first = call_service(&app, TestRequest::get().uri("/shop/both").to_request()).await;
    let names: Vec<String> = set_cookies(&first)
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert!(
        !names.contains(&"outer-cart".to_owned()),
        "the inner registration serves Cart inside its scope: {names:?}"
    );
    let (cart, user) = (the_cookie(&first, "cart"), the_cookie(&first, "user"));
    assert_eq!(body(first).await, "[1] 1");
    let second = call_service(
        &app,
        TestRequest::get()
            .uri("/shop/both")
            .append_header(cookie_header(&cart))
            .append_header(cookie_header(&user))
            .to_request(),
    )
    .await;
    assert_eq!(body(second).await, "[1, 1] 2", "both read back inside");

    // Outside the scope: the outer registration serves Cart, and does not see the inner cart.
    let outside = call_service(
        &app,
        TestRequest::get()
            .uri("/both")
            .append_header(cookie_header(&cart))
            .append_header(cookie_header(&user))
            .to_request(),
    )
    .await;
    the_cookie(&outside, "outer-cart");
    assert_eq!(
        body(outside).await,
        "[1] 2",
        "the outer Cart is another session"
    );

    // A type registered only inside is not registered outside.
    let text = body(call_service(&app, TestRequest::get().uri("/coupon").to_request()).await).await;
    assert!(text.contains("not registered"), "{text}");
}
