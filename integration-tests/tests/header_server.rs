//! `session-header-server`: the cart in a session directory, its signed ID in the `cart_session`
//! header, with CORS for other origins.

use actix_web::http::Method;
use integration_tests::{Example, HEADER_SERVER, Reply, Server, Twin, fetch};

const NAME: &str = "cart_session";
const CART: &str = "Product IDs: [1, 3, 7]";
const EMPTY: &str = "Your basket is empty.";
const ORIGIN: &str = "http://other.example";

fn assert_no_session_header(reply: &Reply) {
    assert!(
        reply.header_values(NAME).is_empty(),
        "unexpected {NAME}: {:?}",
        reply.header_values(NAME)
    );
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );
}

/// Logs in (sending `previous` if given) and returns the `cart_session` value.
async fn login(server: &Server, previous: Option<&str>) -> String {
    let mut request = server.get("/login");
    if let Some(previous) = previous {
        request = request.insert_header((NAME, previous));
    }
    let reply = fetch(request).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "Successful login");
    assert!(
        reply.set_cookies().is_empty(),
        "{:?}",
        reply.raw_set_cookies()
    );
    let value = reply
        .header(NAME)
        .unwrap_or_else(|| panic!("no {NAME} header in {reply:?}"));
    let (id, mac) = value.rsplit_once('/').expect("a signed ID");
    assert_eq!(id.len(), 43, "{value}");
    assert_eq!(mac.len(), 64, "{value}");
    value
}

async fn get(server: &Server, path: &str, header: Option<&str>) -> Reply {
    let mut request = server.get(path);
    if let Some(header) = header {
        request = request.insert_header((NAME, header));
    }
    let reply = fetch(request).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
}

async fn ktor_flow_login_cart_logout(twin: Twin) {
    let server = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let value = login(&server, None).await;

    let reply = get(&server, "/cart", Some(&value)).await;
    assert_eq!(reply.body, CART);
    assert_no_session_header(&reply);

    let reply = get(&server, "/logout", Some(&value)).await;
    assert_eq!(reply.body, "Successful logout");
    assert_no_session_header(&reply);

    let reply = get(&server, "/cart", Some(&value)).await;
    assert_eq!(reply.body, EMPTY, "the old header still works after logout");
    assert_no_session_header(&reply);
}

async fn cart_without_a_header_is_empty(twin: Twin) {
    let server = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let reply = get(&server, "/cart", None).await;
    assert_eq!(reply.body, EMPTY);
    assert_no_session_header(&reply);

    let reply = get(&server, "/logout", None).await;
    assert_eq!(reply.body, "Successful logout");
    assert_no_session_header(&reply);
}

async fn login_again_renews_the_id_and_invalidates_the_old_one(twin: Twin) {
    let server = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let first = login(&server, None).await;
    let second = login(&server, Some(&first)).await;
    assert_ne!(first.split('/').next(), second.split('/').next());
    assert_eq!(get(&server, "/cart", Some(&second)).await.body, CART);
    assert_eq!(get(&server, "/cart", Some(&first)).await.body, EMPTY);
}

async fn cors_preflight_allows_the_session_header(twin: Twin) {
    let server = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let reply = fetch(
        server
            .request(Method::OPTIONS, "/cart")
            .insert_header(("Origin", ORIGIN))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", NAME)),
    )
    .await;
    assert!(reply.status.is_success(), "{reply:?}");
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.split(',').any(|h| h.trim() == NAME),
        "Access-Control-Allow-Headers: {allowed:?}"
    );
    let origin = reply.header("access-control-allow-origin");
    assert!(
        origin.as_deref() == Some(ORIGIN) || origin.as_deref() == Some("*"),
        "Access-Control-Allow-Origin: {origin:?}"
    );
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(
        methods.contains("GET"),
        "Access-Control-Allow-Methods: {methods:?}"
    );
    assert_no_session_header(&reply);
}

async fn cors_preflight_refuses_other_headers(twin: Twin) {
    let server = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let reply = fetch(
        server
            .request(Method::OPTIONS, "/cart")
            .insert_header(("Origin", ORIGIN))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", "x-something-else")),
    )
    .await;
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        !reply.status.is_success() || !allowed.contains("x-something-else"),
        "an unrelated header was allowed: {reply:?}"
    );
}

async fn cors_responses_expose_the_session_header(twin: Twin) {
    let server = Example::with_keys(twin.of(HEADER_SERVER)).start();
    let reply = fetch(server.get("/login").insert_header(("Origin", ORIGIN))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "Successful login");
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        exposed.split(',').any(|h| h.trim() == NAME),
        "Access-Control-Expose-Headers: {exposed:?}"
    );
    assert!(
        reply.header("access-control-allow-origin").is_some(),
        "{reply:?}"
    );
    let value = reply.header(NAME).expect("the session header");

    // The cross-origin client sends it back.
    let reply = fetch(
        server
            .get("/cart")
            .insert_header(("Origin", ORIGIN))
            .insert_header((NAME, value)),
    )
    .await;
    assert_eq!(reply.body, CART);
    assert!(reply.header("access-control-allow-origin").is_some());
}

async fn a_session_survives_a_server_restart(twin: Twin) {
    let example = Example::with_keys(twin.of(HEADER_SERVER));
    let server = example.start();
    let header = login(&server, None).await;
    server.stop();

    let sessions = example.workdir().join("build/.sessions");
    let shards: Vec<_> = std::fs::read_dir(&sessions)
        .expect("build/.sessions in the working directory")
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(shards.len(), 1, "{shards:?}");
    let id = header.rsplit_once('/').unwrap().0;
    let file = shards[0].join(id);
    assert!(file.is_file(), "{} is the session file", file.display());
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);

    let server = example.start();
    assert_eq!(get(&server, "/cart", Some(&header)).await.body, CART);
    assert_eq!(
        get(&server, "/logout", Some(&header)).await.body,
        "Successful logout"
    );
    assert!(!file.exists(), "logout deleted the session file");
    server.stop();

    let server = example.start();
    assert_eq!(get(&server, "/cart", Some(&header)).await.body, EMPTY);
}

async fn sessions_dir_overrides_the_directory(twin: Twin) {
    let dir = tempfile::tempdir().unwrap();
    let server = Example::with_keys(twin.of(HEADER_SERVER))
        .env("SESSIONS_DIR", dir.path().to_str().unwrap())
        .start();
    let header = login(&server, None).await;
    let id = header.rsplit_once('/').unwrap().0;
    assert!(dir.path().join(&id[..2]).join(id).is_file());
}

integration_tests::twin_tests!(
    ktor_flow_login_cart_logout,
    cart_without_a_header_is_empty,
    login_again_renews_the_id_and_invalidates_the_old_one,
    cors_preflight_allows_the_session_header,
    cors_preflight_refuses_other_headers,
    cors_responses_expose_the_session_header,
    a_session_survives_a_server_restart,
    sessions_dir_overrides_the_directory,
);
