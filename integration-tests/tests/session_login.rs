//! `session-login`: the whole lifecycle through a real process over HTTP.

use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::http::Method;
use integration_tests::{Example, Reply, SESSION_LOGIN, Server, Twin, fetch, fetch_form};

const NAME: &str = "__Host-session";

async fn login(server: &Server, username: &str, previous: Option<&Cookie<'_>>) -> Cookie<'static> {
    let mut request = server.request(Method::POST, "/login");
    if let Some(previous) = previous {
        request = request.insert_header(("Cookie", previous.encoded().stripped().to_string()));
    }
    let reply = fetch_form(request, &format!("username={username}")).await;
    assert_eq!(reply.status, 303, "{reply:?}");
    assert_eq!(reply.location().as_deref(), Some("/me"));
    let cookie = reply.only_cookie(NAME);
    assert_eq!(cookie.secure(), Some(true), "__Host- cookies are Secure");
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    cookie
}

async fn me(server: &Server, cookie: &Cookie<'_>) -> Reply {
    fetch(server.get_with_cookie("/me", cookie)).await
}

async fn token(server: &Server, cookie: &Cookie<'_>) -> String {
    let reply = fetch(server.get_with_cookie("/csrf", cookie)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body.len(), 43, "{reply:?}");
    reply.body
}

async fn post(
    server: &Server,
    path: &str,
    cookie: &Cookie<'_>,
    header: Option<&str>,
    form: &str,
) -> Reply {
    let mut request = server
        .request(Method::POST, path)
        .insert_header(("Cookie", cookie.encoded().stripped().to_string()));
    if let Some(token) = header {
        request = request.insert_header(("X-CSRF-Token", token.to_owned()));
    }
    fetch_form(request, form).await
}

async fn login_me_and_logout(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    assert_eq!(fetch(server.get("/me")).await.status, 401);
    let cookie = login(&server, "alice", None).await;
    let reply = me(&server, &cookie).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "Hello, alice")
    );
    assert!(
        reply.set_cookies().is_empty(),
        "a plain read sends no cookie"
    );

    let csrf = token(&server, &cookie).await;
    let reply = post(&server, "/logout", &cookie, Some(&csrf), "").await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "Logged out")
    );
    let removal = reply.only_cookie(NAME);
    assert_eq!(removal.value(), "");
    assert_eq!(
        me(&server, &cookie).await.status,
        401,
        "the old cookie is dead"
    );
}

async fn login_renews_a_planted_session_id(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    let planted = login(&server, "mallory", None).await;
    let victim = login(&server, "alice", Some(&planted)).await;
    assert_ne!(victim.value(), planted.value(), "a new ID on login");
    assert_eq!(me(&server, &victim).await.body, "Hello, alice");
    assert_eq!(
        me(&server, &planted).await.status,
        401,
        "the planted ID was invalidated"
    );
}

async fn transfer_needs_the_csrf_token(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    let cookie = login(&server, "alice", None).await;
    let csrf = token(&server, &cookie).await;
    let other = login(&server, "bob", None).await;
    let other_csrf = token(&server, &other).await;

    for (header, form) in [
        (None, "amount=5".to_owned()),
        (Some("forged"), "amount=5".to_owned()),
        (Some(other_csrf.as_str()), "amount=5".to_owned()),
        (None, format!("amount=5&csrf_token={other_csrf}")),
    ] {
        let reply = post(&server, "/transfer", &cookie, header, &form).await;
        assert_eq!(reply.status, 403, "{header:?} {form}: {reply:?}");
    }
    let reply = post(&server, "/transfer", &cookie, Some(&csrf), "amount=5").await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "Transferred 5")
    );
    let reply = post(
        &server,
        "/transfer",
        &cookie,
        None,
        &format!("amount=9&csrf_token={csrf}"),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "Transferred 9")
    );
    // Without a session there is no token to match.
    let reply = fetch_form(
        server.request(Method::POST, "/transfer"),
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(reply.status, 403);
    // Logout is protected too.
    assert_eq!(
        post(&server, "/logout", &cookie, None, "").await.status,
        403
    );
    assert_eq!(me(&server, &cookie).await.body, "Hello, alice");
}

async fn logout_everywhere_else(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    let laptop = login(&server, "alice", None).await;
    let phone = login(&server, "alice", None).await;
    let tablet = login(&server, "alice", None).await;
    let bob = login(&server, "bob", None).await;
    let csrf = token(&server, &phone).await;
    let reply = post(&server, "/logout-others", &phone, Some(&csrf), "").await;
    assert_eq!(reply.body, "Logged out 2 other sessions");
    assert_eq!(me(&server, &laptop).await.status, 401);
    assert_eq!(me(&server, &tablet).await.status, 401);
    assert_eq!(me(&server, &phone).await.body, "Hello, alice");
    assert_eq!(me(&server, &bob).await.body, "Hello, bob");
}

/// With periodic ID rotation, "log out everywhere else" ends the other devices' sessions
/// under the IDs they have now, and keeps the caller's own, though both moved since login.
async fn logout_everywhere_else_follows_rotated_ids(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_ROTATE_ID_SECS", "2")
        .env("SESSION_ROTATE_GRACE_SECS", "1")
        .start();
    let laptop = login(&server, "alice", None).await;
    let phone = login(&server, "alice", None).await;
    actix_rt::time::sleep(Duration::from_millis(2200)).await;
    let laptop = me(&server, &laptop).await.only_cookie(NAME);
    let reply = fetch(server.get_with_cookie("/csrf", &phone)).await;
    let phone = reply.only_cookie(NAME);
    actix_rt::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(me(&server, &laptop).await.body, "Hello, alice", "rotated");
    let reply = post(&server, "/logout-others", &phone, Some(&reply.body), "").await;
    assert_eq!(reply.body, "Logged out 1 other sessions");
    assert_eq!(
        me(&server, &laptop).await.status,
        401,
        "the laptop's new ID"
    );
    assert_eq!(me(&server, &phone).await.body, "Hello, alice");
}

async fn idle_timeout_from_the_environment(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_IDLE_TIMEOUT_SECS", "2")
        .start();
    let cookie = login(&server, "alice", None).await;
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        me(&server, &cookie).await.body,
        "Hello, alice",
        "used within the window"
    );
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        me(&server, &cookie).await.body,
        "Hello, alice",
        "the use above extended it"
    );
    actix_rt::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(
        me(&server, &cookie).await.status,
        401,
        "idle for longer than the window"
    );
}

async fn absolute_timeout_from_the_environment(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_IDLE_TIMEOUT_SECS", "2")
        .env("SESSION_ABSOLUTE_TIMEOUT_SECS", "3")
        .start();
    let cookie = login(&server, "alice", None).await;
    for _ in 0..2 {
        actix_rt::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(me(&server, &cookie).await.body, "Hello, alice");
    }
    actix_rt::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        me(&server, &cookie).await.status,
        401,
        "3.3 s after login, however active"
    );
}

/// `SESSION_ROTATE_ID_SECS`: once the ID is older, the next request gets a new one for the
/// same session; the old ID still works for `SESSION_ROTATE_GRACE_SECS`, then not.
async fn id_rotation_from_the_environment(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_ROTATE_ID_SECS", "2")
        .env("SESSION_ROTATE_GRACE_SECS", "1")
        .start();
    let old = login(&server, "alice", None).await;
    assert!(
        me(&server, &old).await.set_cookies().is_empty(),
        "not due yet"
    );
    actix_rt::time::sleep(Duration::from_millis(2200)).await;
    let reply = me(&server, &old).await;
    assert_eq!(reply.body, "Hello, alice");
    let new = reply.only_cookie("__Host-session");
    assert_ne!(
        new.value(),
        old.value(),
        "a new ID once the period has passed"
    );
    assert_eq!(
        me(&server, &old).await.body,
        "Hello, alice",
        "within the grace"
    );
    actix_rt::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(me(&server, &old).await.status, 401, "after the grace");
    let reply = me(&server, &new).await;
    assert_eq!(reply.body, "Hello, alice");
    let invalid = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_ROTATE_ID_SECS", "0")
        .run_to_exit();
    assert!(!invalid.status.success());
    assert!(
        invalid.stderr.contains("SESSION_ROTATE_ID_SECS"),
        "{}",
        invalid.stderr
    );
    let grace_too_long = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_ROTATE_ID_SECS", "3")
        .env("SESSION_ROTATE_GRACE_SECS", "3")
        .run_to_exit();
    assert!(
        !grace_too_long.status.success(),
        "a grace as long as the period"
    );
}

/// `POST /login` is behind the origin check: another site cannot log a visitor into an
/// account of its choosing (login CSRF); same-origin and header-less clients log in.
async fn a_cross_site_login_is_refused(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    for (name, value) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Origin", "https://evil.example"),
    ] {
        let request = server
            .request(Method::POST, "/login")
            .insert_header((name, value));
        let reply = fetch_form(request, "username=mallory").await;
        assert_eq!(reply.status, 403, "{name}: {reply:?}");
        assert!(reply.set_cookies().is_empty(), "{name}: no session");
    }
    let request = server
        .request(Method::POST, "/login")
        .insert_header(("Sec-Fetch-Site", "same-origin"));
    let reply = fetch_form(request, "username=alice").await;
    assert_eq!(reply.status, 303, "{reply:?}");
    login(&server, "bob", None).await;
}

async fn invalid_timeout_stops_the_start(twin: Twin) {
    let exited = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_IDLE_TIMEOUT_SECS", "soon")
        .run_to_exit();
    assert!(!exited.status.success());
    assert!(
        exited.stderr.contains("SESSION_IDLE_TIMEOUT_SECS"),
        "{}",
        exited.stderr
    );
}

async fn a_hundred_concurrent_visits_count_to_a_hundred(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    let cookie = login(&server, "alice", None).await;
    let csrf = token(&server, &cookie).await;
    let visits = (0..100).map(|_| post(&server, "/visit", &cookie, Some(&csrf), ""));
    let mut counts: Vec<u64> = futures::future::join_all(visits)
        .await
        .into_iter()
        .map(|reply| {
            assert_eq!(reply.status, 200, "{reply:?}");
            reply.body.parse().expect("a count")
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=100).collect::<Vec<_>>(),
        "each visit got its own increment"
    );
    let reply = post(&server, "/visit", &cookie, Some(&csrf), "").await;
    assert_eq!(reply.body, "101");
    // Unsafe like every other route with effects: no token, no visit.
    assert_eq!(post(&server, "/visit", &cookie, None, "").await.status, 403);
}

async fn the_device_list_forgets_sessions_that_ended(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_IDLE_TIMEOUT_SECS", "1")
        .start();
    let laptop = login(&server, "alice", None).await;
    actix_rt::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(
        me(&server, &laptop).await.status,
        401,
        "the laptop's session idled out"
    );
    let phone = login(&server, "alice", None).await;
    let csrf = token(&server, &phone).await;
    let reply = post(&server, "/logout-others", &phone, Some(&csrf), "").await;
    assert_eq!(
        reply.body, "Logged out 0 other sessions",
        "the ended session's entry was dropped"
    );
}

async fn the_device_list_keeps_sessions_in_use(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_IDLE_TIMEOUT_SECS", "2")
        .start();
    let laptop = login(&server, "alice", None).await;
    let laptop_csrf = token(&server, &laptop).await;
    // Used through routes of every kind, for longer than one idle window (plus its grace).
    for path in ["/me", "/csrf", "/transfer"] {
        actix_rt::time::sleep(Duration::from_millis(1200)).await;
        let reply = if path == "/transfer" {
            post(&server, path, &laptop, Some(&laptop_csrf), "amount=1").await
        } else {
            fetch(server.get_with_cookie(path, &laptop)).await
        };
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
    }
    let phone = login(&server, "alice", None).await;
    let csrf = token(&server, &phone).await;
    let reply = post(&server, "/logout-others", &phone, Some(&csrf), "").await;
    assert_eq!(reply.body, "Logged out 1 other sessions");
    assert_eq!(
        me(&server, &laptop).await.status,
        401,
        "still listed, so ended"
    );
}

/// The `csrf_token` values of the page's forms.
fn page_tokens(page: &str) -> Vec<String> {
    page.split(r#"name="csrf_token" value=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

async fn the_page_hands_out_masked_tokens_that_transfer_accepts(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    let cookie = login(&server, "alice", None).await;
    let raw = token(&server, &cookie).await;
    let first = page_tokens(&fetch(server.get_with_cookie("/", &cookie)).await.body);
    let second = page_tokens(&fetch(server.get_with_cookie("/", &cookie)).await.body);
    assert_eq!((first.len(), second.len()), (3, 3), "three forms per page");
    assert_ne!(first[0], second[0], "masked afresh for each page");
    assert!(!first[0].contains(&raw), "the raw token is not on the page");
    for masked in [&first[0], &second[0]] {
        let form = format!("amount=2&csrf_token={masked}");
        let reply = post(&server, "/transfer", &cookie, None, &form).await;
        assert_eq!(
            (reply.status.as_u16(), reply.body.as_str()),
            (200, "Transferred 2")
        );
    }
}

/// Issue #13, item 2: with `SESSION_QUERY_FALLBACK=sid`, a request without the cookie that
/// carries the signed ID as `?sid=` is logged in, and its response carries
/// `Referrer-Policy: no-referrer` and no cookie; the cookie still wins; without the variable
/// the query is ignored.
async fn query_fallback_from_the_environment(twin: Twin) {
    let server = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_QUERY_FALLBACK", "sid")
        .start();
    let alice = login(&server, "alice", None).await;
    let bob = login(&server, "bob", None).await;
    let by_query = |cookie: &Cookie<'_>| format!("/me?sid={}", cookie.value());

    let reply = fetch(server.get(&by_query(&alice))).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "Hello, alice")
    );
    assert_eq!(
        reply.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert!(reply.raw_set_cookies().is_empty(), "{reply:?}");

    let reply = fetch(server.get_with_cookie(&by_query(&alice), &bob)).await;
    assert_eq!(reply.body, "Hello, bob", "the cookie wins");
    assert_eq!(reply.header("referrer-policy"), None);

    let forged = format!(
        "/me?sid={}",
        integration_tests::flip_last_char(alice.value())
    );
    assert_eq!(fetch(server.get(&forged)).await.status, 401);
    server.stop();

    let off = Example::with_keys(twin.of(SESSION_LOGIN)).start();
    let alice = login(&off, "alice", None).await;
    let reply = fetch(off.get(&by_query(&alice))).await;
    assert_eq!(reply.status, 401, "off by default");
    assert_eq!(reply.header("referrer-policy"), None);
}

async fn invalid_query_fallback_stops_the_start(twin: Twin) {
    let exited = Example::with_keys(twin.of(SESSION_LOGIN))
        .env("SESSION_QUERY_FALLBACK", "session id")
        .run_to_exit();
    assert!(!exited.status.success());
    assert!(
        exited.stderr.contains("query_fallback"),
        "{}",
        exited.stderr
    );
}

integration_tests::twin_tests!(
    login_me_and_logout,
    login_renews_a_planted_session_id,
    transfer_needs_the_csrf_token,
    logout_everywhere_else,
    logout_everywhere_else_follows_rotated_ids,
    idle_timeout_from_the_environment,
    absolute_timeout_from_the_environment,
    invalid_timeout_stops_the_start,
    a_cross_site_login_is_refused,
    id_rotation_from_the_environment,
    a_hundred_concurrent_visits_count_to_a_hundred,
    the_device_list_forgets_sessions_that_ended,
    the_device_list_keeps_sessions_in_use,
    the_page_hands_out_masked_tokens_that_transfer_accepts,
    query_fallback_from_the_environment,
    invalid_query_fallback_stops_the_start,
);
