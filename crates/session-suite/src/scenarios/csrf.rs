//! CSRF protection: the session's token (raw or masked, in a header or a form field) on
//! every unsafe method, the `Sec-Fetch-Site` and `Origin` checks in front of it, and form
//! bodies that are too large or fail.

use cookie::Cookie;
use session_core::{ManualClock, mask_csrf_token};
use session_engine::CsrfRefusal;

use super::{App, server_side};
use crate::{Adapter, AppSpec, CsrfSettings, ProbeStore, TestRequest};

/// An app whose `/transfer` is protected by `settings`, and its store.
async fn protected<A: Adapter>(settings: CsrfSettings) -> (App<A>, ProbeStore) {
    let store = ProbeStore::default();
    let registry = server_side(&store, &ManualClock::starting_now(), |c| c);
    (
        App::start(AppSpec::new(registry).csrf(settings)).await,
        store,
    )
}

/// A logged-in session's cookie and CSRF token.
async fn login<A: Adapter>(app: &App<A>) -> (Cookie<'static>, String) {
    let cookie = app.cookie_from("/login", "cart").await;
    let token = app.text("/csrf", Some(&cookie)).await;
    assert_eq!(token.len(), 43);
    (cookie, token)
}

/// `POST /transfer` with the session cookie (if any) and `headers`, no body yet.
fn transfer(cookie: Option<&Cookie<'_>>, headers: &[(&str, &str)]) -> TestRequest {
    let mut request = TestRequest::post("/transfer");
    if let Some(cookie) = cookie {
        request = request.cookie(cookie);
    }
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request
}

/// Posts `amount=1` with the session's cookie, `token` in the header and `headers`; the
/// response status.
async fn status_with<A: Adapter>(
    app: &App<A>,
    cookie: &Cookie<'_>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> u16 {
    let mut headers = headers.to_vec();
    if let Some(token) = token {
        headers.push(("x-csrf-token", token));
    }
    let request = transfer(Some(cookie), &headers).form("amount=1");
    app.send(request).await.status
}

/// Unsafe methods need the session's own token, in the header or the form (handed on
/// intact); other sessions' tokens, wrong ones and requests without a session are refused
/// with an empty 403; safe methods pass.
pub async fn csrf_protection_needs_the_sessions_token_on_unsafe_methods<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let (_, other_token) = login(&app).await;
    let forbidden = [
        transfer(Some(&cookie), &[]).form("amount=5"),
        transfer(Some(&cookie), &[("x-csrf-token", "wrong")]).form("amount=5"),
        transfer(Some(&cookie), &[("x-csrf-token", &other_token)]).form("amount=5"),
        transfer(Some(&cookie), &[]).form(&format!("amount=5&csrf_token={other_token}")),
        transfer(None, &[("x-csrf-token", &token)]).form("amount=5"),
    ];
    for request in forbidden {
        let response = app.send(request).await;
        assert_eq!(response.status, 403);
        assert_eq!(response.text(), "");
    }
    assert_eq!(
        app.routes.protected_calls(),
        0,
        "no refused request reached the handler"
    );

    let response = app
        .send(transfer(Some(&cookie), &[("x-csrf-token", &token)]).form("amount=5"))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "transferred 5");
    let form = format!("amount=7&csrf_token={token}");
    let response = app.send(transfer(Some(&cookie), &[]).form(&form)).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.text(),
        "transferred 7",
        "the form reached the handler intact"
    );

    assert_eq!(
        app.get("/cart", Some(&cookie)).await.status,
        200,
        "safe methods pass"
    );
    assert_eq!(app.text("/csrf", None).await, "none");
}

/// `TRACE` is checked like any unsafe method.
pub async fn trace_is_not_a_safe_method<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let trace = || TestRequest::new("TRACE", "/transfer").cookie(&cookie);
    assert_eq!(app.send(trace()).await.status, 403);
    assert_eq!(
        app.routes.protected_calls(),
        0,
        "the handler was not called"
    );
    let response = app.send(trace().header("x-csrf-token", token)).await;
    assert_eq!(response.text(), "traced", "with the token it passes");
}

/// A form body that fails while it is read answers an empty 400; no truncated form
/// reaches the handler.
pub async fn a_form_body_that_fails_midway_answers_400_and_never_reaches_the_handler<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let first = format!("csrf_token={token}&amount=1").into_bytes();
    let request = transfer(Some(&cookie), &[]).streamed_form(vec![first, b"000000".to_vec()], true);
    let response = app.send(request).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), "");
    assert_eq!(
        app.routes.protected_calls(),
        0,
        "no truncated form reached the handler"
    );
}

/// A URL-encoded form over 64 KiB answers 413, declared or streamed, and never reaches
/// the handler.
pub async fn an_oversized_form_answers_413_and_never_reaches_the_handler<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let form = format!("csrf_token={token}&amount=1&pad={}", "x".repeat(70_000));
    let declared = transfer(Some(&cookie), &[]).form(&form);
    let chunks = form.as_bytes().chunks(1000).map(<[u8]>::to_vec).collect();
    let streamed = transfer(Some(&cookie), &[]).streamed_form(chunks, false);
    for request in [declared, streamed] {
        assert_eq!(app.send(request).await.status, 413);
    }
    assert_eq!(app.routes.protected_calls(), 0);
}

/// Masked tokens differ on every call, never contain the raw token, and are accepted in
/// the header and the form.
pub async fn masked_tokens_differ_on_every_call_and_are_accepted<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let first = app.text("/masked", Some(&cookie)).await;
    let second = app.text("/masked", Some(&cookie)).await;
    assert_ne!(first, second);
    for masked in [&first, &second] {
        assert_ne!(masked, &token);
        assert!(!masked.contains(&token), "the raw token does not appear");
        let by_header = transfer(Some(&cookie), &[("x-csrf-token", masked)]).form("amount=3");
        assert_eq!(app.send(by_header).await.text(), "transferred 3");
        let by_form = transfer(Some(&cookie), &[]).form(&format!("amount=4&csrf_token={masked}"));
        assert_eq!(app.send(by_form).await.text(), "transferred 4");
    }
    assert_eq!(app.routes.protected_calls(), 4);
    let without = transfer(Some(&cookie), &[]).form("amount=5");
    assert_eq!(
        app.send(without).await.status,
        403,
        "the route is protected"
    );
}

/// Another session's masked token, an altered, truncated or extended masked token, and a
/// doubled raw token are refused.
pub async fn a_wrong_masked_token_is_refused<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let (_, other_token) = login(&app).await;
    let masked = app.text("/masked", Some(&cookie)).await;
    let mut altered = masked.clone();
    altered.replace_range(0..1, if altered.starts_with('A') { "B" } else { "A" });
    for wrong in [
        mask_csrf_token(&other_token).expect("a token"),
        altered,
        masked[..85].to_owned(),
        format!("{masked}A"),
        format!("{token}{token}"),
    ] {
        let request = transfer(Some(&cookie), &[("x-csrf-token", &wrong)]).form("amount=3");
        assert_eq!(app.send(request).await.status, 403, "{wrong}");
    }
    assert_eq!(app.routes.protected_calls(), 0);
    let request = transfer(Some(&cookie), &[("x-csrf-token", &masked)]).form("amount=3");
    assert_eq!(
        app.send(request).await.status,
        200,
        "the masked token itself passes"
    );
}

/// `Sec-Fetch-Site: cross-site`, `same-site` and unknown values are refused from the headers
/// alone, before the session is loaded; `same-origin` and `none` are taken over `Origin`,
/// and still need the token.
pub async fn cross_site_requests_are_refused_before_the_session_is_loaded<A: Adapter>() {
    let (app, store) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let loads = store.loads();
    for site in ["cross-site", "same-site", "something-new"] {
        let status = status_with(&app, &cookie, Some(&token), &[("sec-fetch-site", site)]).await;
        assert_eq!(status, 403, "{site}");
    }
    assert_eq!(store.loads(), loads, "refused from the headers alone");
    assert_eq!(app.routes.protected_calls(), 0);

    for site in ["same-origin", "none"] {
        let headers = [
            ("sec-fetch-site", site),
            ("origin", "https://elsewhere.test"),
        ];
        let status = status_with(&app, &cookie, Some(&token), &headers).await;
        assert_eq!(
            status, 200,
            "{site}: the browser's word is taken over Origin"
        );
        let status = status_with(&app, &cookie, None, &headers).await;
        assert_eq!(status, 403, "{site}: the token is still needed");
    }
}

/// With `allow_same_site`, same-site requests go on to the token check; cross-site ones
/// are still refused.
pub async fn same_site_requests_pass_when_the_app_allows_them<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new().allow_same_site()).await;
    let (cookie, token) = login(&app).await;
    let same_site = [("sec-fetch-site", "same-site")];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &same_site).await,
        200
    );
    assert_eq!(status_with(&app, &cookie, None, &same_site).await, 403);
    let cross_site = [("sec-fetch-site", "cross-site")];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &cross_site).await,
        403
    );
}

/// Without `Sec-Fetch-Site`, an `Origin` other than the request's own (scheme, host and
/// port; `X-Forwarded-Proto` from a proxy counts) is refused before the session is loaded,
/// and so is `Origin: null`; the request's own origin goes on to the token check.
pub async fn without_sec_fetch_site_a_foreign_origin_is_refused<A: Adapter>() {
    let (app, store) = protected::<A>(CsrfSettings::new()).await;
    let (cookie, token) = login(&app).await;
    let host = ("host", "shop.test");
    let loads = store.loads();
    for origin in [
        "https://evil.test",
        "http://shop.test.evil.test",
        "https://shop.test",
        "null",
        "http://shop.test:8080",
    ] {
        let status = status_with(&app, &cookie, Some(&token), &[host, ("origin", origin)]).await;
        assert_eq!(status, 403, "{origin}");
    }
    assert_eq!(store.loads(), loads, "refused from the headers alone");
    assert_eq!(app.routes.protected_calls(), 0);

    for origin in ["http://shop.test", "http://SHOP.test:80"] {
        let own = [host, ("origin", origin)];
        assert_eq!(
            status_with(&app, &cookie, Some(&token), &own).await,
            200,
            "{origin}"
        );
        assert_eq!(
            status_with(&app, &cookie, None, &own).await,
            403,
            "{origin}"
        );
    }
    let proxied = [
        host,
        ("x-forwarded-proto", "https"),
        ("origin", "https://shop.test"),
    ];
    assert_eq!(
        status_with(&app, &cookie, Some(&token), &proxied).await,
        200,
        "behind a proxy that says so, the public origin is the request's own"
    );
}

/// Allowed origins go on to the token check whatever their `Sec-Fetch-Site`; other origins
/// and `null` are refused.
pub async fn allowed_origins_go_on_to_the_token_check<A: Adapter>() {
    let settings = CsrfSettings::new().allowed_origin("https://WWW.shop.test/");
    let (app, _) = protected::<A>(settings).await;
    let (cookie, token) = login(&app).await;
    let allowed = ("origin", "https://www.shop.test");
    for headers in [
        vec![allowed],
        vec![allowed, ("sec-fetch-site", "cross-site")],
    ] {
        assert_eq!(
            status_with(&app, &cookie, Some(&token), &headers).await,
            200
        );
        assert_eq!(status_with(&app, &cookie, None, &headers).await, 403);
    }
    let other = [
        ("origin", "https://evil.test"),
        ("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(status_with(&app, &cookie, Some(&token), &other).await, 403);
    let null = [("origin", "null")];
    assert_eq!(status_with(&app, &cookie, Some(&token), &null).await, 403);
}

/// A custom refusal answers what the app makes of the refusal (here 419 and the refusal's
/// text) for every kind of refusal; accepted requests are untouched.
pub async fn a_custom_refusal_answers_what_the_app_makes_of_the_refusal<A: Adapter>() {
    let (app, _) = protected::<A>(CsrfSettings::new().custom_refusal()).await;
    let (cookie, token) = login(&app).await;
    let big = format!("csrf_token={token}&pad={}", "x".repeat(70_000));
    for (request, refusal) in [
        (
            transfer(Some(&cookie), &[]).form("amount=5"),
            CsrfRefusal::InvalidToken,
        ),
        (
            transfer(Some(&cookie), &[("sec-fetch-site", "cross-site")]).form("amount=5"),
            CsrfRefusal::CrossOrigin("Sec-Fetch-Site"),
        ),
        (
            transfer(Some(&cookie), &[]).form(&big),
            CsrfRefusal::FormTooLarge,
        ),
    ] {
        let response = app.send(request).await;
        assert_eq!(response.status, CsrfSettings::CUSTOM_REFUSAL_STATUS);
        assert_eq!(response.text(), CsrfSettings::custom_refusal_body(refusal));
    }
    assert_eq!(app.routes.protected_calls(), 0);
    let response = app
        .send(transfer(Some(&cookie), &[("x-csrf-token", &token)]).form("amount=5"))
        .await;
    assert_eq!((response.status, response.text()), (200, "transferred 5"));
}

/// `origin_only` lets a same-origin POST without a session (a login form) through, by
/// `Sec-Fetch-Site` or by the request's own `Origin`, and one with neither header; it
/// refuses cross-site and same-site ones and foreign origins with an empty 403, without
/// loading a session.
pub async fn origin_only_lets_a_same_origin_login_post_pass_without_a_session<A: Adapter>() {
    let (app, store) = protected::<A>(CsrfSettings::new().origin_only()).await;
    let host = ("host", "shop.test");
    for headers in [
        vec![("sec-fetch-site", "same-origin")],
        vec![host, ("origin", "http://shop.test")],
        vec![],
    ] {
        let response = app.send(transfer(None, &headers).form("amount=2")).await;
        assert_eq!(
            (response.status, response.text()),
            (200, "transferred 2"),
            "{headers:?}"
        );
    }
    assert_eq!(app.routes.protected_calls(), 3);
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![host, ("origin", "https://evil.test")],
        vec![host, ("origin", "null")],
    ] {
        let response = app.send(transfer(None, &headers).form("amount=2")).await;
        assert_eq!(response.status, 403, "{headers:?}");
        assert_eq!(response.text(), "");
    }
    assert_eq!(
        app.routes.protected_calls(),
        3,
        "refused before the handler"
    );
    assert_eq!(store.loads(), 0, "no session was loaded");
}
