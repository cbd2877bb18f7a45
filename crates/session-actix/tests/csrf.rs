//! `CsrfProtection`'s refusals answered with the app's own response, whatever `Responder` it
//! is, and `origin_only` on a login resource. (The WARN log line: `tests/csrf_log.rs`.)

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, web};
use session_actix::core::{Encrypt, EncryptionKey};
use session_actix::{CookieTransport, CsrfProtection, CsrfRefusal, SessionConfig, Sessions};

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Cart {
    items: Vec<u32>,
}

fn sessions() -> Sessions {
    Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .transform(Encrypt::new(EncryptionKey::generate())),
    )
    .expect("a valid setup")
}

#[actix_rt::test]
async fn a_custom_refusal_may_be_any_responder_and_origin_only_needs_no_session() {
    let login = CsrfProtection::origin_only().refusal(|refusal: CsrfRefusal| {
        (format!("login refused: {refusal}"), StatusCode::BAD_REQUEST)
    });
    let app = App::new()
        .service(
            web::resource("/login")
                .wrap(login)
                .route(web::post().to(|| async { "welcome" })),
        )
        .wrap(sessions());
    let app = init_service(app).await;
    let post = |site: &'static str| {
        TestRequest::post()
            .uri("/login")
            .insert_header(("sec-fetch-site", site))
            .to_request()
    };
    let response = call_service(&app, post("cross-site")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        read_body(response).await,
        "login refused: cross-origin request refused (by its Sec-Fetch-Site header)"
    );
    let response = call_service(&app, post("same-origin")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(read_body(response).await, "welcome");
}
