//! Keys from the environment: a fixed key keeps sessions across restarts; a missing one is
//! replaced by a development key file in `build/` (made once with mode 0600, reused by later
//! starts and by other processes in the same directory, with a warning), which a set variable
//! always overrides; an invalid variable or key file stops the process at start without
//! printing the key.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use integration_tests::{
    AXUM_COOKIE_CLIENT, COOKIE_CLIENT, COOKIE_SERVER, DEV_KEY_DIR_VAR, ENCRYPTION_KEY_FILE,
    ENCRYPTION_KEY_VAR, Example, Exited, HEADER_SERVER, SESSION_LOGIN, SIGNING_KEY_FILE,
    SIGNING_KEY_VAR, Server, Twin, assert_removal, encryption_key_hex, fetch, signing_key_hex,
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

/// The line of stderr that warns about a development key file (waiting for it).
fn dev_key_warning(server: &Server) -> String {
    let stderr = server.wait_for_stderr("development key file");
    let warning = stderr
        .lines()
        .find(|line| line.contains("development key file"))
        .expect("found")
        .to_owned();
    assert!(warning.contains("WARN"), "{warning}");
    warning
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Writes `text` to the development key file `file` of `example`, with `mode`.
fn write_key_file(example: &Example, file: &str, text: &str, mode: u32) -> PathBuf {
    let path = example.workdir().join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

async fn without_key_variables_a_development_key_file_is_made_with_a_warning(twin: Twin) {
    for (name, variable, file, other_file, session) in [
        (
            COOKIE_CLIENT,
            ENCRYPTION_KEY_VAR,
            ENCRYPTION_KEY_FILE,
            SIGNING_KEY_FILE,
            Some(("/user", "Session ID is 123abc. Reload count is 0.")),
        ),
        (
            COOKIE_SERVER,
            SIGNING_KEY_VAR,
            SIGNING_KEY_FILE,
            ENCRYPTION_KEY_FILE,
            Some(("/cart", "Product IDs: [1, 3, 7]")),
        ),
        (
            HEADER_SERVER,
            SIGNING_KEY_VAR,
            SIGNING_KEY_FILE,
            ENCRYPTION_KEY_FILE,
            None,
        ),
        (
            SESSION_LOGIN,
            SIGNING_KEY_VAR,
            SIGNING_KEY_FILE,
            ENCRYPTION_KEY_FILE,
            None,
        ),
    ] {
        let example = Example::new(twin.of(name));
        let server = example.start();
        let warning = dev_key_warning(&server);
        for needle in [variable, file, "created", "0600", "development only"] {
            assert!(
                warning.contains(needle),
                "{name}: no {needle:?} in {warning}"
            );
        }

        let path = example.workdir().join(file);
        assert_eq!(mode(&path), 0o600, "{name}: {}", path.display());
        let text = fs::read_to_string(&path).unwrap();
        let hex = text.trim_end();
        assert_eq!(hex.len(), 64, "{name}: 32 bytes as hex");
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert!(
            !example.workdir().join(other_file).exists(),
            "{name} made a key it does not use"
        );

        if let Some((path, text)) = session {
            let reply = fetch(server.get("/login")).await;
            let cookie = reply.set_cookies().into_iter().next().expect("a cookie");
            let reply = fetch(server.get_with_cookie(path, &cookie)).await;
            assert_eq!(reply.body, text);
        }
        let stderr = server.stderr();
        assert!(
            !stderr.contains(&hex[..16]),
            "{name}: the key leaked: {stderr}"
        );
        assert!(
            !server.stdout().contains(&hex[..16]),
            "{name}: the key leaked"
        );
    }
}

async fn the_development_key_is_reused_on_the_next_start(twin: Twin) {
    let example = Example::new(twin.of(COOKIE_CLIENT));
    let server = example.start();
    dev_key_warning(&server);
    let cookie = fetch(server.get("/login")).await.only_cookie(NAME);
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
    let cookie = reply.only_cookie(NAME);
    server.stop();
    let path = example.workdir().join(ENCRYPTION_KEY_FILE);
    let key = fs::read_to_string(&path).unwrap();

    let server = example.start();
    let warning = dev_key_warning(&server);
    assert!(
        warning.contains("using the development key file"),
        "{warning}"
    );
    assert!(warning.contains(ENCRYPTION_KEY_FILE), "{warning}");
    assert!(!warning.contains("created"), "{warning}");
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 1.");
    assert_eq!(fs::read_to_string(&path).unwrap(), key, "the file is kept");
    assert_eq!(mode(&path), 0o600);
}

/// What `session-header-server` exists to show, now out of the box: the cart survives a
/// restart with no variable set.
async fn a_cart_survives_a_restart_without_key_variables(twin: Twin) {
    const HEADER: &str = "cart_session";
    let example = Example::new(twin.of(HEADER_SERVER));
    let server = example.start();
    let value = fetch(server.get("/login"))
        .await
        .header(HEADER)
        .expect("the session header");
    server.stop();

    let server = example.start();
    let reply = fetch(server.get("/cart").insert_header((HEADER, value))).await;
    assert_eq!(reply.body, "Product IDs: [1, 3, 7]");
}

/// Two processes started at once in one directory end up with one key: a cookie sealed by
/// either opens in the other.
async fn processes_starting_together_share_one_development_key(twin: Twin) {
    let first = Example::new(twin.of(COOKIE_CLIENT));
    let second = Example::new(twin.of(COOKIE_CLIENT)).same_workdir(&first);
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| first.start());
        let second = scope.spawn(|| second.start());
        (first.join().unwrap(), second.join().unwrap())
    });
    let warnings = [dev_key_warning(&first), dev_key_warning(&second)];
    assert_eq!(
        warnings.iter().filter(|w| w.contains("created")).count(),
        1,
        "{warnings:?}"
    );
    let cookie = fetch(first.get("/login")).await.only_cookie(NAME);
    let reply = fetch(second.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
    let cookie = reply.only_cookie(NAME);
    let reply = fetch(first.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 1.");
}

async fn a_key_variable_wins_over_the_development_key_file(twin: Twin) {
    let example = Example::new(twin.of(COOKIE_CLIENT));
    let server = example.start();
    dev_key_warning(&server);
    let from_file = fetch(server.get("/login")).await.only_cookie(NAME);
    server.stop();
    let path = example.workdir().join(ENCRYPTION_KEY_FILE);
    let file_key = fs::read_to_string(&path).unwrap();

    // The variable's key, not the file's: the file's cookie does not open.
    let with_variable = example
        .clone()
        .env(ENCRYPTION_KEY_VAR, encryption_key_hex());
    let server = with_variable.start();
    let stderr = server.wait_for_stderr("listening");
    assert!(!stderr.contains("development key"), "{stderr}");
    let reply = fetch(server.get_with_cookie("/user", &from_file)).await;
    assert_eq!(reply.body, "Session doesn't exist or is expired.");
    let from_variable = fetch(server.get("/login")).await.only_cookie(NAME);
    server.stop();
    assert_eq!(fs::read_to_string(&path).unwrap(), file_key, "untouched");

    // A file that would stop the start is not even read when the variable is set.
    write_key_file(&example, ENCRYPTION_KEY_FILE, "garbage", 0o644);
    let server = with_variable.start();
    let reply = fetch(server.get_with_cookie("/user", &from_variable)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");

    // And a set variable that is invalid is still an error, whatever the file holds.
    write_key_file(&example, ENCRYPTION_KEY_FILE, &file_key, 0o600);
    let exited = example
        .clone()
        .env(ENCRYPTION_KEY_VAR, "abcd")
        .run_to_exit();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains("invalid SESSION_ENCRYPTION_KEY"),
        "{exited:?}"
    );
}

/// Runs `example`, expects it to refuse its development key file `file` at start as it
/// refuses a bad variable (one `Error:` line naming the variable and the file, exit code 1),
/// and returns that line.
fn refuses_key_file(example: &Example, variable: &str, file: &str) -> String {
    let exited = example.run_to_exit();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(!exited.stdout.contains("Listening on"), "{exited:?}");
    let errors: Vec<_> = exited
        .stderr
        .lines()
        .filter(|line| line.starts_with("Error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{exited:?}");
    let error = errors[0].to_owned();
    assert!(error.contains(variable), "{error}");
    assert!(error.contains(file), "{error}");
    error
}

async fn a_loose_or_invalid_development_key_file_stops_the_start(twin: Twin) {
    for (name, variable, file, key) in [
        (
            COOKIE_CLIENT,
            ENCRYPTION_KEY_VAR,
            ENCRYPTION_KEY_FILE,
            encryption_key_hex(),
        ),
        (
            COOKIE_SERVER,
            SIGNING_KEY_VAR,
            SIGNING_KEY_FILE,
            signing_key_hex(),
        ),
        (
            HEADER_SERVER,
            SIGNING_KEY_VAR,
            SIGNING_KEY_FILE,
            signing_key_hex(),
        ),
    ] {
        let example = Example::new(twin.of(name));

        // A valid key that group and others may read: refused, and left as it is.
        let path = write_key_file(&example, file, &key, 0o644);
        let error = refuses_key_file(&example, variable, file);
        assert!(error.contains("mode 0644, must be 0600"), "{error}");
        assert!(!error.contains(&key[..16]), "the key leaked: {error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), key);
        assert_eq!(mode(&path), 0o644);

        write_key_file(&example, file, "secret garbage", 0o600);
        let error = refuses_key_file(&example, variable, file);
        assert!(error.contains("does not hold a valid key"), "{error}");
        assert!(error.contains("hexadecimal"), "{error}");
        assert!(!error.contains("secret"), "the contents leaked: {error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "secret garbage");

        // Valid hex, but three keys long.
        let long = format!("{key}{key}{key}");
        write_key_file(&example, file, &long, 0o600);
        let error = refuses_key_file(&example, variable, file);
        assert!(error.contains("got"), "{error}");
        assert!(!error.contains(&key[..16]), "the key leaked: {error}");
    }
}

async fn dev_key_dir_moves_the_development_key_files(twin: Twin) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let first = Example::new(twin.of(COOKIE_CLIENT)).env(DEV_KEY_DIR_VAR, keys.to_str().unwrap());
    let server = first.start();
    let warning = dev_key_warning(&server);
    let path = keys.join("dev-session-encryption.key");
    assert!(warning.contains(path.to_str().unwrap()), "{warning}");
    assert_eq!(mode(&path), 0o600);
    assert!(!first.workdir().join("build").exists());
    let cookie = fetch(server.get("/login")).await.only_cookie(NAME);

    // Another directory, the same key directory: the same key.
    let second = Example::new(twin.of(COOKIE_CLIENT)).env(DEV_KEY_DIR_VAR, keys.to_str().unwrap());
    let server = second.start();
    let reply = fetch(server.get_with_cookie("/user", &cookie)).await;
    assert_eq!(reply.body, "Session ID is 123abc. Reload count is 0.");
}

async fn a_key_variable_that_is_set_is_not_warned_about(twin: Twin) {
    let example = Example::with_keys(twin.of(COOKIE_CLIENT));
    let server = example.start();
    // The warning would come before the `Listening on` line; wait for a later log line.
    let stderr = server.wait_for_stderr("listening");
    assert!(!stderr.contains("development key"), "{stderr}");
    assert!(!example.workdir().join(ENCRYPTION_KEY_FILE).exists());
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

/// Both twins refuse a bad development key file with the same one-line error and exit code 1.
#[test]
fn the_twins_refuse_bad_key_files_alike() {
    for (example, variable, file, text, mode) in [
        (
            COOKIE_CLIENT,
            ENCRYPTION_KEY_VAR,
            ENCRYPTION_KEY_FILE,
            encryption_key_hex(),
            0o640,
        ),
        (
            COOKIE_SERVER,
            SIGNING_KEY_VAR,
            SIGNING_KEY_FILE,
            "zz".to_owned(),
            0o600,
        ),
    ] {
        let [actix, axum] = [Twin::Actix, Twin::Axum].map(|twin| {
            let example = Example::new(twin.of(example));
            write_key_file(&example, file, &text, mode);
            refuses_key_file(&example, variable, file)
        });
        assert_eq!(actix, axum);
    }
}

integration_tests::twin_tests!(
    a_fixed_key_keeps_sessions_across_restarts,
    uppercase_hex_keys_are_accepted,
    an_invalid_encryption_key_stops_the_start_without_printing_it,
    an_invalid_signing_key_stops_the_start_without_printing_it,
    without_key_variables_a_development_key_file_is_made_with_a_warning,
    a_key_variable_that_is_set_is_not_warned_about,
    the_development_key_is_reused_on_the_next_start,
    a_cart_survives_a_restart_without_key_variables,
    processes_starting_together_share_one_development_key,
    a_key_variable_wins_over_the_development_key_file,
    a_loose_or_invalid_development_key_file_stops_the_start,
    dev_key_dir_moves_the_development_key_files,
);
