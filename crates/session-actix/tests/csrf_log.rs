//! `CsrfProtection` logs each refusal at WARN with the method, the path and the reason, never
//! the token. Alone in its test binary: a thread-local subscriber sees a callsite reliably
//! only when no other test's thread hits it first.

use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use session_actix::core::{Encrypt, EncryptionKey};
use session_actix::{CookieTransport, CsrfProtection, SessionConfig, Sessions};

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

/// The events logged while it is the default subscriber: level and fields, one line each.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl Capture {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={value}", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[actix_rt::test]
async fn a_refusal_is_logged_at_warn_with_the_method_path_and_reason() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let app = App::new()
        .service(
            web::resource("/transfer")
                .wrap(CsrfProtection::<Cart>::new())
                .route(web::post().to(HttpResponse::Ok)),
        )
        .wrap(sessions());
    let app = init_service(app).await;
    let request = TestRequest::post()
        .uri("/transfer")
        .insert_header(("sec-fetch-site", "cross-site"))
        .insert_header(("x-csrf-token", "the-secret-token"))
        .to_request();
    let response = call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let lines = capture.lines();
    let warning = lines
        .iter()
        .find(|line| line.contains("CSRF protection refused the request"))
        .unwrap_or_else(|| panic!("no refusal logged: {lines:?}"));
    assert!(warning.starts_with("WARN "), "{warning}");
    for part in [
        "method=POST",
        "path=/transfer",
        "refusal=cross-origin request refused (by its Sec-Fetch-Site header)",
    ] {
        assert!(warning.contains(part), "{part} in {warning}");
    }
    assert!(
        !lines.iter().any(|line| line.contains("the-secret-token")),
        "the token is never logged"
    );
}
