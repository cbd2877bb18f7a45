//! Tampered, foreign, oversized and malformed session values: every example answers 200 with
//! its "no session" text, never a server error, and cookie transports tell the browser to drop
//! the unusable cookie.

use actix_web::cookie::Cookie;
use actix_web::http::header::{COOKIE, HeaderValue};
use integration_tests::{
    COOKIE_CLIENT, COOKIE_SERVER, Example, HEADER_SERVER, Reply, SIGNING_KEY_VAR, Server, Twin,
    fetch, flip_last_char, is_removal, random_garbage, signing_key_hex, truncate_one,
};

const CLIENT_COOKIE: &str = "user_session";
const CLIENT_NO_SESSION: &str = "Session doesn't exist or is expired.";
const CART_NAME: &str = "cart_session";
const EMPTY: &str = "Your basket is empty.";

/// One hostile input: a label and the raw bytes of the header that carries it.
struct Case {
    label: String,
    raw: Vec<u8>,
}

impl Case {
    fn raw(label: &str, raw: impl Into<Vec<u8>>) -> Self {
        Self {
            label: label.to_owned(),
            raw: raw.into(),
        }
    }

    /// A cookie pair with the value percent-encoded as a server would have sent it.
    fn cookie(label: &str, name: &str, value: &str) -> Self {
        Self::raw(
            label,
            Cookie::new(name, value).encoded().stripped().to_string(),
        )
    }
}

/// The cases every transport gets, for a session named `name` whose valid value is `valid`;
/// `pair` turns a value into the header's raw text (a cookie pair or the value itself).
fn cases(valid: &str, foreign: &[(&str, String)], pair: impl Fn(&str) -> String) -> Vec<Case> {
    let mut cases = vec![
        Case::raw("last character flipped", pair(&flip_last_char(valid))),
        Case::raw("truncated by one character", pair(&truncate_one(valid))),
        Case::raw("10 000 characters", pair(&"A".repeat(10_000))),
        Case::raw("random garbage", pair(&random_garbage())),
        Case::raw("percent-encoded junk", pair("%FF%FE%00%zz%")),
        Case::raw("non-ASCII (raw UTF-8) value", pair("h\u{e9}llo-\u{2603}")),
    ];
    let mut non_utf8 = pair("").into_bytes();
    non_utf8.extend_from_slice(b"\xff\xfe\x80junk");
    cases.push(Case::raw("raw non-UTF-8 bytes", non_utf8));
    for (label, value) in foreign {
        cases.push(Case::raw(label, pair(value)));
    }
    cases
}

/// Sends each case in `header` to `path`; returns a description of every failed expectation.
async fn check(
    server: &Server,
    path: &str,
    header: &str,
    cases: &[Case],
    expect: impl Fn(&Reply) -> Result<(), String>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let value = HeaderValue::from_bytes(&case.raw).expect("a sendable header value");
        let reply = fetch(server.get(path).insert_header((header, value))).await;
        if let Err(problem) = expect(&reply) {
            failures.push(format!("{}: {problem}", case.label));
        }
    }
    failures
}

/// 200, the "no session" text, and a removal of cookie `name` as the only Set-Cookie.
fn no_session_and_removal(text: &str, name: &str) -> impl Fn(&Reply) -> Result<(), String> {
    move |reply| {
        if reply.status != 200 || reply.body != text {
            return Err(format!("answered {} {:?}", reply.status, reply.body));
        }
        let cookies = reply.set_cookies();
        match cookies.as_slice() {
            [cookie] if cookie.name() == name && is_removal(cookie) => Ok(()),
            _ => Err(format!(
                "expected one removal cookie, got {:?}",
                reply.raw_set_cookies()
            )),
        }
    }
}

async fn cookie_client_login(server: &Server) -> Cookie<'static> {
    fetch(server.get("/login")).await.only_cookie(CLIENT_COOKIE)
}

async fn cookie_server_login(server: &Server) -> Cookie<'static> {
    fetch(server.get("/login")).await.only_cookie(CART_NAME)
}

async fn header_server_login(server: &Server) -> String {
    fetch(server.get("/login"))
        .await
        .header(CART_NAME)
        .expect("the session header")
}

async fn cookie_client_treats_hostile_cookies_as_no_session(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let other_key = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let cart_server = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    let valid = cookie_client_login(&server).await;
    let foreign = [
        (
            "valid value of another key",
            cookie_client_login(&other_key).await.value().to_owned(),
        ),
        (
            "cart_session value of cookie-server",
            cookie_server_login(&cart_server).await.value().to_owned(),
        ),
    ];
    let cases = cases(valid.value(), &foreign, |value| {
        format!("{CLIENT_COOKIE}={value}")
    });
    let failures = check(
        &server,
        "/user",
        COOKIE.as_str(),
        &cases,
        no_session_and_removal(CLIENT_NO_SESSION, CLIENT_COOKIE),
    )
    .await;
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));

    // The genuine cookie still works.
    let reply = fetch(server.get_with_cookie("/user", &valid)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
}

async fn cookie_server_treats_hostile_cookies_as_no_session(twin: Twin) {
    let key = signing_key_hex();
    let server = Example::with_keys(twin.of(COOKIE_SERVER))
        .env(SIGNING_KEY_VAR, key.clone())
        .start();
    // Same key, another store: an authentic signature over an ID this server never issued.
    let same_key = Example::with_keys(twin.of(HEADER_SERVER))
        .env(SIGNING_KEY_VAR, key)
        .start();
    let other_key = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    let client = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let valid = cookie_server_login(&server).await;
    let foreign = [
        (
            "authentic ID of another store",
            header_server_login(&same_key).await,
        ),
        (
            "valid value of another key",
            cookie_server_login(&other_key).await.value().to_owned(),
        ),
        (
            "user_session value of cookie-client",
            cookie_client_login(&client).await.value().to_owned(),
        ),
    ];
    let mut cases = cases(valid.value(), &foreign, |value| {
        format!("{CART_NAME}={value}")
    });
    // The signed value contains '/', which travels percent-encoded: tamper with the encoded
    // form too.
    cases.push(Case::cookie(
        "encoded value with flipped MAC",
        CART_NAME,
        &flip_last_char(valid.value()),
    ));
    let failures = check(
        &server,
        "/cart",
        COOKIE.as_str(),
        &cases,
        no_session_and_removal(EMPTY, CART_NAME),
    )
    .await;
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));

    let reply = fetch(server.get_with_cookie("/cart", &valid)).await;
    assert_eq!(reply.body, "Product IDs: [1, 3, 7]");
}

async fn header_server_treats_hostile_headers_as_no_session(twin: Twin) {
    let key = signing_key_hex();
    let server = Example::with_keys(twin.of(HEADER_SERVER))
        .env(SIGNING_KEY_VAR, key.clone())
        .start();
    let same_key = Example::with_keys(twin.of(COOKIE_SERVER))
        .env(SIGNING_KEY_VAR, key)
        .start();
    let other_key = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let valid = header_server_login(&server).await;
    let foreign = [
        (
            "authentic ID of another store",
            cookie_server_login(&same_key).await.value().to_owned(),
        ),
        (
            "valid value of another key",
            header_server_login(&other_key).await,
        ),
    ];
    let cases = cases(&valid, &foreign, str::to_owned);
    let failures = check(&server, "/cart", CART_NAME, &cases, |reply| {
        if reply.status != 200 || reply.body != EMPTY {
            return Err(format!("answered {} {:?}", reply.status, reply.body));
        }
        if !reply.header_values(CART_NAME).is_empty() || !reply.set_cookies().is_empty() {
            return Err(format!("sent a session back: {:?}", reply.headers));
        }
        Ok(())
    })
    .await;
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));

    let reply = fetch(server.get("/cart").insert_header((CART_NAME, valid))).await;
    assert_eq!(reply.body, "Product IDs: [1, 3, 7]");
}

async fn logging_in_over_a_hostile_cookie_starts_a_fresh_session(twin: Twin) {
    let client = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let cart = Example::with_keys(twin.of(COOKIE_SERVER)).start();
    for (server, name, next, text) in [
        (
            &client,
            CLIENT_COOKIE,
            "/user",
            "Session ID is 123abc. Reload count is 0.",
        ),
        (&cart, CART_NAME, "/cart", "Product IDs: [1, 3, 7]"),
    ] {
        let hostile = format!("{name}={}", random_garbage());
        let reply = fetch(server.get("/login").insert_header((COOKIE, hostile))).await;
        assert_eq!(reply.status, 302, "{reply:?}");
        let cookie = reply.only_cookie(name);
        assert!(!is_removal(&cookie), "{cookie}");
        let reply = fetch(server.get_with_cookie(next, &cookie)).await;
        assert_eq!(reply.body, text);
    }
}

/// A browser sends every cookie of the site in one `Cookie` header; a cookie of some other
/// part of the site with non-ASCII bytes must not hide the session cookie next to it.
async fn a_non_ascii_neighbour_cookie_does_not_hide_the_session(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    let valid = cookie_client_login(&server).await;
    let header = format!("theme=caf\u{e9}; {}", valid.encoded().stripped());
    let value = HeaderValue::from_bytes(header.as_bytes()).expect("sendable");
    let reply = fetch(server.get("/user").insert_header((COOKIE, value))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body, "Session ID is 123abc. Reload count is 0.",
        "the session cookie was ignored because of its neighbour"
    );
}

integration_tests::twin_tests!(
    cookie_client_treats_hostile_cookies_as_no_session,
    cookie_server_treats_hostile_cookies_as_no_session,
    header_server_treats_hostile_headers_as_no_session,
    logging_in_over_a_hostile_cookie_starts_a_fresh_session,
    a_non_ascii_neighbour_cookie_does_not_hide_the_session,
);
