//! Keys from the environment: a fixed key keeps sessions across restarts, a missing one is
//! replaced by a random key with a warning, an invalid one stops the process at start without
//! printing the key.

use integration_tests::{
    AXUM_COOKIE_CLIENT, COOKIE_CLIENT, COOKIE_SERVER, ENCRYPTION_KEY_VAR, Example, Exited,
    HEADER_SERVER, SESSION_LOGIN, SIGNING_KEY_VAR, Twin, assert_removal, encryption_key_hex, fetch,
};

const NAME: &str = "user_session";

async fn a_fixed_key_keeps_sessions_across_restarts(twin: Twin) {
    let key = encryption_key_hex();
    let example = Example::new(twin.of(COOKIE_CLIENT)).env(ENCRYPTION_KEY_VAR, key);

    let server = example.start();
    let cookie = fetch(server.get("/login")).await.only_cookie(NAME);
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
    let cookie = reply.only_cookie(NAME);
    server.stop();

    let server = example.start();
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 1.");
    let cookie = reply.only_cookie(NAME);
    server.stop();

    let server = Example::new(twin.of(COOKIE_CLIENT))
        .env(ENCRYPTION_KEY_VAR, encryption_key_hex())
        .start();
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "Session doesn't exist or is expired.");
    assert_removal(&reply, NAME);
}

async fn uppercase_hex_keys_are_accepted(twin: Twin) {
    let key = encryption_key_hex();
    let lower = Example::new(twin.of(COOKIE_CLIENT))
        .env(ENCRYPTION_KEY_VAR, key.clone())
        .start();
    let upper = Example::new(twin.of(COOKIE_CLIENT))
        .env(ENCRYPTION_KEY_VAR, key.to_uppercase())
        .start();
    let cookie = fetch(lower.get("/login")).await.only_cookie(NAME);
    let reply = fetch(upper.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
}

/// Starts `example` with `variable=value`, expects it to fail and returns its stderr.
fn start_fails(name: &'static str, variable: &str, value: &str) -> String {
    let exited = Example::with_keys(name).env(variable, value).run_to_exit();
    assert!(
        !exited.status.success(),
        "{name} started with {variable}={value:?}"
    );
    assert!(
        !exited.stdout.contains("Listening on"),
        "{name} listened: {}",
        exited.stdout
    );
    assert!(
        exited.stderr.contains(variable),
        "the error does not name {variable}: {}",
        exited.stderr
    );
    exited.stderr
}

async fn an_invalid_encryption_key_stops_the_start_without_printing_it(twin: Twin) {
    let stderr = start_fails(twin.of(COOKIE_CLIENT), ENCRYPTION_KEY_VAR, "abcd");
    assert!(stderr.contains("32 bytes"), "{stderr}");
    assert!(!stderr.contains("abcd"), "the key leaked: {stderr}");

    let secret = "not-hex-but-secret";
    let stderr = start_fails(twin.of(COOKIE_CLIENT), ENCRYPTION_KEY_VAR, secret);
    assert!(stderr.contains("hexadecimal"), "{stderr}");
    assert!(!stderr.contains("secret"), "the key leaked: {stderr}");

    // 33 bytes: valid hex, wrong length.
    let long = format!("{}ee", encryption_key_hex());
    let stderr = start_fails(twin.of(COOKIE_CLIENT), ENCRYPTION_KEY_VAR, &long);
    assert!(stderr.contains("got 33"), "{stderr}");
    assert!(!stderr.contains(&long[..16]), "the key leaked: {stderr}");
}

async fn an_invalid_signing_key_stops_the_start_without_printing_it(twin: Twin) {
    for name in [COOKIE_SERVER, HEADER_SERVER].map(|name| twin.of(name)) {
        // 16 bytes: too short for HMAC-SHA256.
        let short = "0123456789abcdef0123456789abcdef";
        let stderr = start_fails(name, SIGNING_KEY_VAR, short);
        assert!(stderr.contains("32 to 64"), "{stderr}");
        assert!(
            !stderr.contains("0123456789abcdef"),
            "the key leaked: {stderr}"
        );

        let stderr = start_fails(name, SIGNING_KEY_VAR, "zz-secret-zz");
        assert!(stderr.contains("hexadecimal"), "{stderr}");
        assert!(!stderr.contains("secret"), "the key leaked: {stderr}");
    }
}

async fn without_key_variables_a_random_key_is_used_with_a_warning(twin: Twin) {
    for (name, variable, path, text) in [
        (
            COOKIE_CLIENT,
            ENCRYPTION_KEY_VAR,
            "/user",
            "Session ID is 123abc. Reload count is 0.",
        ),
        (
            COOKIE_SERVER,
            SIGNING_KEY_VAR,
            "/cart",
            "Product IDs: [1, 3, 7]",
        ),
    ] {
        let server = Example::new(twin.of(name)).start();
        let stderr = server.wait_for_stderr("won't survive a restart");
        let warning = stderr
            .lines()
            .find(|line| line.contains("won't survive a restart"))
            .expect("found");
        assert!(warning.contains("WARN"), "{warning}");
        assert!(warning.contains(variable), "{warning}");

        // Sessions work with the random key.
        let reply = fetch(server.get("/login")).await;
        let cookie = reply.set_cookies().into_iter().next().expect("a cookie");
        let reply = fetch(server.get_with_cookie(path, &cookie)).await;
        assert_eq!(reply.body, text);
    }

    let server = Example::new(twin.of(HEADER_SERVER)).start();
    let stderr = server.wait_for_stderr("won't survive a restart");
    assert!(stderr.contains(SIGNING_KEY_VAR), "{stderr}");
    let reply = fetch(server.get("/login")).await;
    let value = reply.header("cart_session").expect("the session header");
    let reply = fetch(server.get("/cart").insert_header(("cart_session", value))).await;
    assert_eq!(reply.body, "Product IDs: [1, 3, 7]");
}

async fn a_key_variable_that_is_set_is_not_warned_about(twin: Twin) {
    let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
    // The warning would come before the `Listening on` line; wait for a later log line.
    let stderr = server.wait_for_stderr("listening");
    assert!(!stderr.contains("won't survive a restart"), "{stderr}");
}

/// A cookie sealed by one twin opens in the other when both have the key.
#[actix_rt::test]
async fn the_twins_read_each_others_cookies() {
    let key = encryption_key_hex();
    let actix = Example::new(COOKIE_CLIENT)
        .env(ENCRYPTION_KEY_VAR, key.clone())
        .start();
    let axum = Example::new(AXUM_COOKIE_CLIENT)
        .env(ENCRYPTION_KEY_VAR, key)
        .start();
    let cookie = fetch(actix.get("/login")).await.only_cookie(NAME);
    let reply = fetch(axum.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
    let cookie = reply.only_cookie(NAME);
    let reply = fetch(actix.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 1.");
}

/// Both twins refuse a bad variable at start with the same one-line error and exit code 1.
#[test]
fn the_twins_refuse_bad_variables_alike() {
    fn error_lines(exited: &Exited) -> Vec<&str> {
        exited
            .stderr
            .lines()
            .filter(|line| line.starts_with("Error: "))
            .collect()
    }
    for (example, variable, value) in [
        (COOKIE_CLIENT, ENCRYPTION_KEY_VAR, "abcd"),
        (COOKIE_SERVER, SIGNING_KEY_VAR, "zz-secret-zz"),
        (SESSION_LOGIN, "SESSION_IDLE_TIMEOUT_SECS", "soon"),
        (SESSION_LOGIN, "SESSION_ABSOLUTE_TIMEOUT_SECS", "0"),
        (HEADER_SERVER, "BIND_ADDR", "not an address"),
        (COOKIE_SERVER, "REDIS_URL", "redis://127.0.0.1:1"),
    ] {
        let [actix, axum] = [Twin::Actix, Twin::Axum].map(|twin| {
            Example::with_keys(twin.of(example))
                .env(variable, value)
                .run_to_exit()
        });
        for exited in [&actix, &axum] {
            assert_eq!(
                exited.status.code(),
                Some(1),
                "{variable}={value}: {exited:?}"
            );
            assert_eq!(
                error_lines(exited).len(),
                1,
                "{variable}={value}: {exited:?}"
            );
        }
        assert_eq!(
            error_lines(&actix),
            error_lines(&axum),
            "{variable}={value}"
        );
    }
}

integration_tests::twin_tests!(
    a_fixed_key_keeps_sessions_across_restarts,
    uppercase_hex_keys_are_accepted,
    an_invalid_encryption_key_stops_the_start_without_printing_it,
    an_invalid_signing_key_stops_the_start_without_printing_it,
    without_key_variables_a_random_key_is_used_with_a_warning,
    a_key_variable_that_is_set_is_not_warned_about,
);
