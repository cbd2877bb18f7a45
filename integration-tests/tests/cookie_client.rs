//! `session-cookie-client`: the whole session in an encrypted cookie (Ktor's flow).

use actix_web::cookie::time::Duration;
use integration_tests::{
    COOKIE_CLIENT, Example, Reply, Server, Twin, assert_removal, assert_secure_attributes, fetch,
};

const NAME: &str = "user_session";
const NO_SESSION: &str = "Session doesn't exist or is expired.";

fn reload_text(count: u32) -> String {
    format!("Session ID is 123abc. Reload count is {count}.")
}

/// Asserts the cookie a session write sends: encrypted value, Max-Age=10, secure defaults.
fn assert_session_cookie(reply: &Reply) -> actix_web::cookie::Cookie<'static> {
    let cookie = reply.only_cookie(NAME);
    assert_eq!(cookie.max_age(), Some(Duration::seconds(10)), "{cookie}");
    assert!(
        cookie.expires().is_some(),
        "Max-Age comes with Expires: {cookie}"
    );
    assert_secure_attributes(&cookie);
    assert!(!cookie.value().is_empty());
    cookie
}

async fn login(server: &Server) -> actix_web::cookie::Cookie<'static> {
    let reply = fetch(server.get("/login")).await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(reply.location().as_deref(), Some("/user"));
    assert_session_cookie(&reply)
}

async fn ktor_flow_login_reload_logout(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let mut cookie = login(&server).await;

    for count in 0..4 {
        let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, reload_text(count));
        let next = assert_session_cookie(&reply);
        assert_ne!(next.value(), cookie.value(), "each write seals anew");
        cookie = next;
    }

    let reply = fetch(server.get_with_cookie("/logout", &cookie)).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location().as_deref(), Some("/user"));
    assert_removal(&reply, NAME);

    let reply = fetch(server.get("/user")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, NO_SESSION);
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );
}

async fn the_cookie_is_encrypted_and_fresh_per_login(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let first = login(&server).await;
    let second = login(&server).await;
    assert_ne!(first.value(), second.value());
    for cookie in [&first, &second] {
        let value = cookie.value();
        assert!(!value.contains("123abc"), "plaintext in {value}");
        assert!(!value.contains("count"), "plaintext in {value}");
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not URL-safe base64: {value}"
        );
    }
    // Both logins are valid sessions of their own.
    for cookie in [&first, &second] {
        let reply = fetch(server.get_with_cookie("/user", cookie)).await;
        assert_eq!(reply.body, reload_text(0));
    }
}

async fn user_writes_a_cookie_only_when_there_is_a_session(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();

    let reply = fetch(server.get("/user")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, NO_SESSION);
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );

    let cookie = login(&server).await;
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, reload_text(0));
    assert_session_cookie(&reply);
}

async fn logout_without_a_cookie_sends_no_cookie(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let reply = fetch(server.get("/logout")).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location().as_deref(), Some("/user"));
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );
}

async fn stdout_is_only_the_listening_line(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let _ = login(&server).await;
    let _ = fetch(server.get("/user")).await;
    assert_eq!(
        server.stdout(),
        format!("Listening on {}/\n", server.base())
    );
}

async fn a_cookie_replayed_after_its_max_age_is_expired(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let cookie = login(&server).await;
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, reload_text(0));
    // The browser would have dropped it after Max-Age=10; a client that keeps it anyway finds
    // the sealed expiry enforced by the server.
    actix_rt::time::sleep(std::time::Duration::from_secs(11)).await;
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, NO_SESSION);
    assert_eq!(reply.only_cookie(NAME).value(), "", "told to drop it");
}

integration_tests::twin_tests!(
    ktor_flow_login_reload_logout,
    the_cookie_is_encrypted_and_fresh_per_login,
    user_writes_a_cookie_only_when_there_is_a_session,
    logout_without_a_cookie_sends_no_cookie,
    stdout_is_only_the_listening_line,
    a_cookie_replayed_after_its_max_age_is_expired,
);
