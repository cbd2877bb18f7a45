//! `CsrfProtection` logs each refusal at WARN with the method, the path and the reason, never
//! the token. Alone in its test binary: a thread-local subscriber sees a callsite reliably
//! only when no other test's thread hits it first.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use session_axum::core::{MemoryStore, Sign, SigningKey};
use session_axum::{CookieTransport, CsrfProtection, SessionConfig, Sessions};
use tower::ServiceExt as _;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Cart {
    items: Vec<u32>,
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

fn app() -> Router {
    let sessions = Sessions::new(
        SessionConfig::<Cart>::new(CookieTransport::new("cart"))
            .store(MemoryStore::new())
            .transform(Sign::new(SigningKey::generate())),
    )
    .unwrap();
    Router::new()
        .route("/transfer", axum::routing::post(|| async { "sent" }))
        .layer(CsrfProtection::<Cart>::new())
        .layer(sessions)
}

#[tokio::test]
async fn a_refusal_is_logged_at_warn_with_the_method_path_and_reason() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let app = app();
    let request = Request::post("/transfer")
        .header("sec-fetch-site", "cross-site")
        .header("x-csrf-token", "the-secret-token");
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
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
