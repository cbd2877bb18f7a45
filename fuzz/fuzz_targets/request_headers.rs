//! Whole requests through the middleware with arbitrary `Cookie` and session header bytes:
//! the answer is always the handler's (never a 5xx), with or without a session.
#![no_main]

use actix_web::dev::Service;
use actix_web::http::header::HeaderValue;
use actix_web::test::{TestRequest, init_service};
use actix_web::{App, HttpResponse, web};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use session_actix::core::{Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};
use session_actix::{
    CookieTransport, HeaderTransport, Session, SessionConfig, SessionError, Sessions,
};

#[derive(Clone, Serialize, Deserialize)]
struct Client {
    name: String,
}

#[derive(Clone, Serialize, Deserialize)]
struct Server {
    items: Vec<i32>,
}

async fn read(client: Session<Client>, server: Session<Server>) -> Result<HttpResponse, SessionError> {
    let a = client.get().await?.is_some();
    let b = server.get().await?.is_some();
    Ok(HttpResponse::Ok().body(format!("{a} {b}")))
}

fn sessions() -> Sessions {
    Sessions::builder()
        .session(
            SessionConfig::<Client>::new(CookieTransport::new("c"))
                .transform(Encrypt::new(EncryptionKey::from_bytes(&[1; 32]).expect("key"))),
        )
        .session(
            SessionConfig::<Server>::new(HeaderTransport::new("x-s"))
                .store(MemoryStore::new())
                .transform(Sign::new(SigningKey::from_bytes(&[2; 32]).expect("key"))),
        )
        .build()
        .expect("valid setup")
}

thread_local! {
    static RUNTIME: actix_rt::SystemRunner = actix_rt::System::new();
    static SESSIONS: Sessions = sessions();
}

fuzz_target!(|input: (&[u8], &[u8])| {
    let (cookie, header) = input;
    let mut request = TestRequest::get().uri("/");
    if let Ok(value) = HeaderValue::from_bytes(cookie) {
        request = request.insert_header(("cookie", value));
    }
    if let Ok(value) = HeaderValue::from_bytes(header) {
        request = request.insert_header(("x-s", value));
    }
    let sessions = SESSIONS.with(Sessions::clone);
    let status = RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let app = init_service(App::new().wrap(sessions).route("/", web::get().to(read))).await;
            app.call(request.to_request()).await.map(|response| response.status())
        })
    });
    let status = status.expect("no error escapes the middleware");
    assert!(status.is_success(), "bad input gave {status}");
});
