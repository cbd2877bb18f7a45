//! Configuration, registration, scopes, guards and several session types side by side.

mod common;

use common::body;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpRequest, HttpResponse, guard, web};
use common::{Cart, User, cookie_header, is_removal, the_cookie};
use session_actix::cookie::SameSite;
use session_actix::core::{
    DeserializeError, Encrypt, EncryptionKey, MemoryStore, SerializeError, Serializer, Sign,
    SigningKey,
};
use session_actix::{
    ConfigError, CookieTransport, HeaderTransport, Session, SessionConfig, SessionError,
    SessionExt, Sessions,
};

fn user_config(name: &str) -> SessionConfig<User> {
    SessionConfig::<User>::new(CookieTransport::new(name))
        .transform(Encrypt::new(EncryptionKey::generate()))
}

#[test]
fn the_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Session<User>>();
    assert_send_sync::<Sessions>();
}

fn cart_config(name: &str) -> SessionConfig<Cart> {
    SessionConfig::<Cart>::new(CookieTransport::new(name))
        .transform(Sign::new(SigningKey::generate()))
}

/// Issue #11, item 5: a client-side value without a transformer is forgeable (its expiry and
/// CSRF token included), so building such a session needs an explicit opt-in.
#[test]
fn client_side_sessions_without_a_transformer_are_refused_unless_opted_in() {
    let bare = Sessions::builder()
        .session(SessionConfig::<Cart>::new(CookieTransport::new("cart")))
        .build();
    assert!(matches!(bare, Err(ConfigError::Unprotected { ref name }) if name == "cart"));
    let opted_in = Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart")).insecure_without_transformer(),
        )
        .build();
    assert!(opted_in.is_ok());
    let server_side = Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(HeaderTransport::new("x-cart")).store(MemoryStore::new()),
        )
        .build();
    assert!(server_side.is_ok(), "unguessable IDs need no transformer");
}

#[test]
fn duplicate_names_and_types_fail_when_the_app_is_built() {
    let same_name = Sessions::builder()
        .session(user_config("s"))
        .session(cart_config("s"))
        .build();
    assert!(matches!(same_name, Err(ConfigError::DuplicateName { ref name }) if name == "s"));

    let same_type = Sessions::builder()
        .session(user_config("a"))
        .session(user_config("b"))
        .build();
    let error = same_type.unwrap_err();
    assert!(matches!(error, ConfigError::DuplicateType { .. }));
    assert!(error.to_string().contains("User"), "{error}");

    assert!(
        Sessions::builder()
            .session(user_config("a"))
            .session(cart_config("b"))
            .build()
            .is_ok()
    );
}

#[test]
fn invalid_transports_fail_when_the_app_is_built() {
    for name in ["", "has space", "semi;colon", "é"] {
        let result = Sessions::builder().session(user_config(name)).build();
        assert!(
            matches!(result, Err(ConfigError::InvalidCookieName { .. })),
            "{name:?}"
        );
    }
    let result = Sessions::builder()
        .session(SessionConfig::<User>::new(HeaderTransport::new(
            "bad header",
        )))
        .build();
    assert!(matches!(result, Err(ConfigError::InvalidHeaderName { .. })));
    let result = Sessions::builder()
        .session(SessionConfig::<User>::new(
            CookieTransport::new("s")
                .same_site(SameSite::None)
                .secure(false),
        ))
        .build();
    assert!(matches!(
        result,
        Err(ConfigError::InvalidCookieAttributes { .. })
    ));
    let result = Sessions::builder()
        .session(SessionConfig::<User>::new(
            CookieTransport::new("s").path("relative"),
        ))
        .build();
    assert!(matches!(
        result,
        Err(ConfigError::InvalidCookieAttributes { .. })
    ));
}

#[actix_rt::test]
async fn unregistered_type_and_missing_middleware_are_clear_errors() {
    async fn probe(req: HttpRequest) -> HttpResponse {
        let text = match req.session::<Cart>() {
            Ok(_) => "found".to_owned(),
            Err(error) => error.to_string(),
        };
        HttpResponse::Ok().body(text)
    }
    let sessions = Sessions::builder()
        .session(user_config("user"))
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .service(
                web::scope("/with")
                    .wrap(sessions)
                    .route("", web::get().to(probe)),
            )
            .route("/without", web::get().to(probe))
            .route(
                "/extract",
                web::get().to(|_s: Session<Cart>| async { HttpResponse::Ok().finish() }),
            ),
    )
    .await;
    let text = body(call_service(&app, TestRequest::get().uri("/with").to_request()).await).await;
    assert!(
        text.contains("not registered") && text.contains("Cart"),
        "{text}"
    );
    let text =
        body(call_service(&app, TestRequest::get().uri("/without").to_request()).await).await;
    assert!(text.contains("not installed on this route"), "{text}");
    let response = call_service(&app, TestRequest::get().uri("/extract").to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body(response).await, "", "no internals in the body");
}

#[actix_rt::test]
async fn a_handle_moved_into_a_spawned_task_works_but_extraction_there_is_an_error() {
    async fn spawn_and_set(req: HttpRequest, session: Session<User>) -> HttpResponse {
        let task = actix_web::rt::spawn(async move {
            // Outside the middleware's calls: only a handle from the handler works.
            let extracted = req.session::<User>().map(drop);
            let user = User {
                name: "task".into(),
                visits: 1,
            };
            session.set(user).map(|()| extracted)
        });
        match task.await {
            Ok(Ok(Err(SessionError::MiddlewareMissing))) => HttpResponse::Ok().body("set"),
            other => HttpResponse::Ok().body(format!("unexpected: {other:?}")),
        }
    }
    let sessions = Sessions::builder()
        .session(user_config("user"))
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(sessions)
            .route("/spawn", web::get().to(spawn_and_set)),
    )
    .await;
    let response = call_service(&app, TestRequest::get().uri("/spawn").to_request()).await;
    assert!(
        !the_cookie(&response, "user").value().is_empty(),
        "set in the task, sent"
    );
    assert_eq!(body(response).await, "set");
}

#[actix_rt::test]
async fn a_handle_kept_past_its_response_is_an_error_not_a_panic() {
    type Kept = std::sync::Arc<std::sync::Mutex<Option<Session<User>>>>;
    let kept: Kept = Default::default();
    let sessions = Sessions::builder()
        .session(user_config("user"))
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .app_data(web::Data::new(kept.clone()))
            .wrap(sessions)
            .route(
                "/keep",
                web::get().to(|session: Session<User>, kept: web::Data<Kept>| async move {
                    *kept.lock().unwrap() = Some(session);
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let response = call_service(&app, TestRequest::get().uri("/keep").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let late = kept.lock().unwrap().take().expect("kept by the handler");
    let user = User {
        name: "late".into(),
        visits: 0,
    };
    assert!(matches!(
        late.set(user),
        Err(SessionError::RequestFinished { ref name }) if name == "user"
    ));
    assert!(matches!(
        late.get().await,
        Err(SessionError::RequestFinished { .. })
    ));
    late.clear();
}

#[actix_rt::test]
async fn several_session_types_in_one_request() {
    let sessions = Sessions::builder()
        .session(user_config("user"))
        .session(
            SessionConfig::<Cart>::new(CookieTransport::new("cart"))
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).route(
        "/",
        web::get().to(|user: Session<User>, cart: Session<Cart>| async move {
            let visits = user.get().await?.map_or(0, |u| u.visits + 1);
            user.set(User {
                name: "ada".into(),
                visits,
            })?;
            let mut items = cart.get().await?.map(|c| c.items).unwrap_or_default();
            items.push(visits as i32);
            cart.set(Cart {
                items: items.clone(),
            })?;
            Ok::<_, SessionError>(HttpResponse::Ok().body(format!("{visits} {items:?}")))
        }),
    ))
    .await;
    let response = call_service(&app, TestRequest::get().uri("/").to_request()).await;
    let user = the_cookie(&response, "user");
    let cart = the_cookie(&response, "cart");
    assert_eq!(body(response).await, "0 [0]");
    let header = format!("{}; {}", cookie_header(&user).1, cookie_header(&cart).1);
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/")
            .insert_header(("cookie", header))
            .to_request(),
    )
    .await;
    assert_eq!(body(response).await, "1 [0, 1]");
}

#[actix_rt::test]
async fn each_scope_has_its_own_setup_and_scopes_nest() {
    let outer = Sessions::builder()
        .session(user_config("user"))
        .build()
        .unwrap();
    let inner = Sessions::builder()
        .session(
            SessionConfig::<Cart>::new(HeaderTransport::new("x-cart"))
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(outer)
            .service(web::scope("/shop").wrap(inner).route(
                "",
                web::get().to(|user: Session<User>, cart: Session<Cart>| async move {
                    user.set(User {
                        name: "ada".into(),
                        visits: 0,
                    })?;
                    cart.set(Cart { items: vec![1] })?;
                    Ok::<_, SessionError>(HttpResponse::Ok().finish())
                }),
            ))
            .route(
                "/cart",
                web::get().to(|req: HttpRequest| async move {
                    HttpResponse::Ok().body(match req.session::<Cart>() {
                        Ok(_) => "visible".to_owned(),
                        Err(error) => error.to_string(),
                    })
                }),
            ),
    )
    .await;
    let response = call_service(&app, TestRequest::get().uri("/shop").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().contains_key("x-cart"),
        "inner scope's session written"
    );
    the_cookie(&response, "user"); // the outer middleware's session written too
    let text = body(call_service(&app, TestRequest::get().uri("/cart").to_request()).await).await;
    assert!(
        text.contains("not registered"),
        "the inner setup does not leak out: {text}"
    );
}

#[actix_rt::test]
async fn guards_can_use_sessions() {
    let sessions = Sessions::builder()
        .session(user_config("user"))
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(sessions)
            .route(
                "/",
                web::get()
                    .guard(guard::fn_guard(|ctx| ctx.session::<User>().is_ok()))
                    .to(|| async { HttpResponse::Ok().body("guarded") }),
            )
            .route(
                "/",
                web::get()
                    .guard(guard::fn_guard(|ctx| ctx.session::<Cart>().is_ok()))
                    .to(|| async { HttpResponse::Ok().body("wrong") }),
            ),
    )
    .await;
    let text = body(call_service(&app, TestRequest::get().uri("/").to_request()).await).await;
    assert_eq!(text, "guarded");
}

#[actix_rt::test]
async fn removal_cookie_repeats_domain_path_and_flags() {
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<User>::new(
                CookieTransport::new("user")
                    .domain("example.com")
                    .path("/app")
                    .same_site(SameSite::Strict)
                    .attribute("Partitioned"),
            )
            .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).route(
        "/app/logout",
        web::get().to(|s: Session<User>| async move {
            s.clear();
            HttpResponse::Ok().finish()
        }),
    ))
    .await;
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/app/logout")
            .insert_header(("cookie", "user=anything"))
            .to_request(),
    )
    .await;
    let raw = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(raw.ends_with("; Partitioned"), "{raw}");
    let removal = the_cookie(&response, "user");
    assert!(is_removal(&removal));
    assert_eq!(removal.domain(), Some("example.com"));
    assert_eq!(removal.path(), Some("/app"));
    assert_eq!(removal.secure(), Some(true));
    assert_eq!(removal.http_only(), Some(true));
    assert_eq!(removal.same_site(), Some(SameSite::Strict));
}

#[actix_rt::test]
async fn custom_serializer() {
    /// Ktor's test serializer: `name;visits`.
    struct Compact;
    impl Serializer<User> for Compact {
        fn serialize(&self, value: &User) -> Result<String, SerializeError> {
            Ok(format!("{};{}", value.name, value.visits))
        }
        fn deserialize(&self, text: &str) -> Result<User, DeserializeError> {
            let (name, visits) = text
                .split_once(';')
                .ok_or_else(|| DeserializeError("no ';'".into()))?;
            let visits = visits.parse().map_err(|e| DeserializeError(Box::new(e)))?;
            Ok(User {
                name: name.to_owned(),
                visits,
            })
        }
    }
    let store = MemoryStore::new();
    let sessions = Sessions::builder()
        .session(
            SessionConfig::with_serializer(CookieTransport::new("user"), Compact)
                .store(store.clone())
                .transform(Sign::new(SigningKey::generate())),
        )
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(sessions).route(
        "/",
        web::get().to(|s: Session<User>| async move {
            s.set(User {
                name: "ada".into(),
                visits: 3,
            })?;
            let id = s.id().await?.expect("server-side");
            Ok::<_, SessionError>(HttpResponse::Ok().body(id.as_str().to_owned()))
        }),
    ))
    .await;
    let response = call_service(&app, TestRequest::get().uri("/").to_request()).await;
    let id = session_actix::core::SessionId::parse(&body(response).await).unwrap();
    assert_eq!(
        common::stored_value(&store, &id).await.as_deref(),
        Some("ada;3")
    );
}

#[cfg(feature = "cors")]
#[actix_rt::test]
async fn cors_wiring_allows_and_exposes_session_headers() {
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<User>::new(HeaderTransport::new("x-user"))
                .transform(Encrypt::new(EncryptionKey::generate())),
        )
        .session(cart_config("cart"))
        .build()
        .unwrap();
    assert_eq!(sessions.allowed_headers().collect::<Vec<_>>(), ["x-user"]);
    assert_eq!(sessions.exposed_headers().collect::<Vec<_>>(), ["x-user"]);
    let cors = sessions.cors(
        actix_cors::Cors::default()
            .allow_any_origin()
            .allowed_methods(["GET"]),
    );
    let app = init_service(App::new().wrap(sessions).wrap(cors).route(
        "/",
        web::get().to(|s: Session<User>| async move {
            s.set(User {
                name: "ada".into(),
                visits: 0,
            })?;
            Ok::<_, SessionError>(HttpResponse::Ok().finish())
        }),
    ))
    .await;
    let preflight = call_service(
        &app,
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/")
            .insert_header(("origin", "http://other.example"))
            .insert_header(("access-control-request-method", "GET"))
            .insert_header(("access-control-request-headers", "x-user"))
            .to_request(),
    )
    .await;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .unwrap();
    assert!(allowed.to_str().unwrap().contains("x-user"));
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/")
            .insert_header(("origin", "http://other.example"))
            .to_request(),
    )
    .await;
    let exposed = response
        .headers()
        .get("access-control-expose-headers")
        .unwrap();
    assert!(exposed.to_str().unwrap().contains("x-user"));
    assert!(response.headers().contains_key("x-user"));
}

#[test]
fn cookie_prefix_rules_are_enforced_when_the_app_is_built() {
    let build = |transport: CookieTransport| {
        Sessions::builder()
            .session(
                SessionConfig::<User>::new(transport)
                    .transform(Encrypt::new(EncryptionKey::generate())),
            )
            .build()
    };
    let reason = |result: Result<Sessions, ConfigError>| match result {
        Err(ConfigError::InvalidCookieAttributes { reason, .. }) => reason,
        other => panic!("expected an attribute error, got {other:?}"),
    };
    assert!(build(CookieTransport::new("__Host-id")).is_ok());
    assert!(build(CookieTransport::new("__Secure-id").domain("example.com")).is_ok());
    assert!(reason(build(CookieTransport::new("__Host-id").secure(false))).contains("Secure"));
    assert!(reason(build(CookieTransport::new("__host-id").path("/app"))).contains("Path"));
    assert!(
        reason(build(
            CookieTransport::new("__Host-id").domain("example.com")
        ))
        .contains("Domain")
    );
    assert!(reason(build(CookieTransport::new("__Secure-id").secure(false))).contains("Secure"));
}
