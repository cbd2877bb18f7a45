//! The harness of the black-box tests: builds the example binaries (the four actix-web
//! examples and their axum twins, in one `cargo build`) once per test binary, runs them as real
//! processes on a free port, and talks HTTP to them.
//!
//! Every scenario is written once, for a [`Twin`], and [`twin_tests!`] runs it against both:
//! `<scenario>::actix` and `<scenario>::axum`, so a failure names the twin that failed.
//!
//! ```no_run
//! use integration_tests::{COOKIE_CLIENT, Example, Twin, fetch};
//! async fn login_redirects(twin: Twin) {
//!     let server = Example::with_keys(twin.of(COOKIE_CLIENT)).start();
//!     let reply = fetch(server.get("/login")).await;
//!     assert_eq!(reply.status, 302);
//! }
//! integration_tests::twin_tests!(login_redirects);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::cookie::Cookie;
use actix_web::http::header::{HeaderMap, LOCATION, SET_COOKIE};
use actix_web::http::{Method, StatusCode};
use session_core::{EncryptionKey, SigningKey};

/// The client-side session example (encrypted cookie).
pub const COOKIE_CLIENT: &str = "session-cookie-client";
/// The server-side session example with a signed cookie.
pub const COOKIE_SERVER: &str = "session-cookie-server";
/// The server-side session example with a signed header.
pub const HEADER_SERVER: &str = "session-header-server";
/// The lifecycle example: login, timeouts, CSRF, logout everywhere.
pub const SESSION_LOGIN: &str = "session-login";
/// The axum twin of [`COOKIE_CLIENT`].
pub const AXUM_COOKIE_CLIENT: &str = "axum-session-cookie-client";
/// The axum twin of [`COOKIE_SERVER`].
pub const AXUM_COOKIE_SERVER: &str = "axum-session-cookie-server";
/// The axum twin of [`HEADER_SERVER`].
pub const AXUM_HEADER_SERVER: &str = "axum-session-header-server";
/// The axum twin of [`SESSION_LOGIN`].
pub const AXUM_SESSION_LOGIN: &str = "axum-session-login";
const EXAMPLES: [&str; 8] = [
    COOKIE_CLIENT,
    COOKIE_SERVER,
    HEADER_SERVER,
    SESSION_LOGIN,
    AXUM_COOKIE_CLIENT,
    AXUM_COOKIE_SERVER,
    AXUM_HEADER_SERVER,
    AXUM_SESSION_LOGIN,
];

/// Which implementation of the examples a scenario runs against: the actix-web originals or
/// their axum twins, which must behave the same for any client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Twin {
    /// The actix-web examples (`session-…`).
    Actix,
    /// The axum twins (`axum-session-…`).
    Axum,
}

impl Twin {
    /// This twin's binary of `example`, which is named by its actix-web original
    /// ([`COOKIE_CLIENT`], [`COOKIE_SERVER`], [`HEADER_SERVER`] or [`SESSION_LOGIN`]).
    ///
    /// # Panics
    ///
    /// For any other name.
    pub fn of(self, example: &'static str) -> &'static str {
        let index = EXAMPLES[..4]
            .iter()
            .position(|name| *name == example)
            .unwrap_or_else(|| panic!("{example} is not an actix-web example"));
        match self {
            Self::Actix => EXAMPLES[index],
            Self::Axum => EXAMPLES[index + 4],
        }
    }
}

/// Turns scenarios `async fn name(twin: Twin)` into two tests each, `name::actix` and
/// `name::axum`, so every scenario runs against both twins and a failure says which one.
#[macro_export]
macro_rules! twin_tests {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[actix_rt::test]
                async fn actix() {
                    super::$scenario($crate::Twin::Actix).await;
                }

                #[actix_rt::test]
                async fn axum() {
                    super::$scenario($crate::Twin::Axum).await;
                }
            }
        )+
    };
}

/// The variable of the encryption key.
pub const ENCRYPTION_KEY_VAR: &str = "SESSION_ENCRYPTION_KEY";
/// The variable of the signing key.
pub const SIGNING_KEY_VAR: &str = "SESSION_SIGNING_KEY";
/// The variable naming the directory of the development key files (default `build`).
pub const DEV_KEY_DIR_VAR: &str = "DEV_KEY_DIR";
/// The development key file an example uses when [`ENCRYPTION_KEY_VAR`] is not set, relative
/// to its working directory.
pub const ENCRYPTION_KEY_FILE: &str = "build/dev-session-encryption.key";
/// The development key file an example uses when [`SIGNING_KEY_VAR`] is not set, relative to
/// its working directory.
pub const SIGNING_KEY_FILE: &str = "build/dev-session-signing.key";

/// How long a process may take to start listening or to exit.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
const LISTENING_PREFIX: &str = "Listening on ";

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration-tests lives inside the workspace")
}

/// The example binaries, built once per test binary.
fn binaries() -> &'static HashMap<String, PathBuf> {
    static BINARIES: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    BINARIES.get_or_init(build_examples)
}

/// Runs `cargo build` for the examples and takes the executables' paths from Cargo's JSON
/// messages, so `CARGO_TARGET_DIR` and any configured target directory are respected.
fn build_examples() -> HashMap<String, PathBuf> {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(workspace_root())
        .args(["build", "--message-format=json-render-diagnostics"])
        .stdin(Stdio::null());
    for name in EXAMPLES {
        command.args(["-p", name]);
    }
    // Cargo sets these for the test process. Passed on, they would reach build scripts that
    // track them (ring's tracks CARGO_MANIFEST_DIR) and make each build undo the other's.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_by_cargo_for_tests = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_BIN_",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        if set_by_cargo_for_tests {
            command.env_remove(name);
        }
    }
    let output = command.output().expect("cargo could not be run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "building the examples failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut binaries = HashMap::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        if EXAMPLES.contains(&name) {
            binaries.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    for name in EXAMPLES {
        assert!(
            binaries.contains_key(name),
            "cargo reported no executable for {name}"
        );
    }
    binaries
}

/// A fresh encryption key as hex.
pub fn encryption_key_hex() -> String {
    EncryptionKey::generate().to_hex().to_string()
}

/// A fresh signing key as hex.
pub fn signing_key_hex() -> String {
    SigningKey::generate().to_hex().to_string()
}

/// Collects a child's output stream on a thread, so the pipe never fills.
#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<String>>);

impl Collected {
    fn push(&self, text: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(text);
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads `stream` to its end, a line at a time; `on_line` sees each line.
    fn drain(
        &self,
        stream: impl Read + Send + 'static,
        mut on_line: impl FnMut(&str) + Send + 'static,
    ) -> JoinHandle<()> {
        let collected = self.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                collected.push(&text);
                on_line(&text);
                line.clear();
            }
        })
    }
}

/// An example process to start: which binary and its environment.
///
/// The session key variables, `DEV_KEY_DIR`, `RUST_LOG`, `BIND_ADDR`, `SESSIONS_DIR` and
/// `REDIS_URL` of the test's own environment are never passed on; the process listens on
/// `127.0.0.1:0`. Its working directory is a fresh temporary directory, shared by every start
/// of the same `Example` and its clones (so files it keeps, such as `build/.sessions` and the
/// development key files in `build/`, survive a restart) and by examples given it with
/// [`Example::same_workdir`]; no other example sees it.
#[derive(Debug, Clone)]
pub struct Example {
    name: &'static str,
    env: Vec<(String, String)>,
    workdir: Arc<tempfile::TempDir>,
}

impl Example {
    /// The example `name` with no key variables set (so it uses, and on its first start
    /// creates, the development key files in its working directory).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            env: Vec::new(),
            workdir: Arc::new(tempfile::tempdir().expect("a temporary working directory")),
        }
    }

    /// The process's working directory.
    pub fn workdir(&self) -> &Path {
        self.workdir.path()
    }

    /// Runs in `other`'s working directory, as a second process started in the same directory
    /// would (sharing its files, such as the development key files).
    #[must_use]
    pub fn same_workdir(mut self, other: &Example) -> Self {
        self.workdir = Arc::clone(&other.workdir);
        self
    }

    /// The example `name` with fresh random keys in both key variables.
    pub fn with_keys(name: &'static str) -> Self {
        Self::new(name)
            .env(ENCRYPTION_KEY_VAR, encryption_key_hex())
            .env(SIGNING_KEY_VAR, signing_key_hex())
    }

    /// Sets an environment variable of the process.
    #[must_use]
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.retain(|(existing, _)| existing != name);
        self.env.push((name.to_owned(), value.into()));
        self
    }

    fn spawn(&self) -> Child {
        let binary = &binaries()[self.name];
        let mut command = Command::new(binary);
        command
            .env_remove(ENCRYPTION_KEY_VAR)
            .env_remove(SIGNING_KEY_VAR)
            .env_remove(DEV_KEY_DIR_VAR)
            .env_remove("RUST_LOG")
            .env_remove("SESSIONS_DIR")
            .env_remove("SESSION_IDLE_TIMEOUT_SECS")
            .env_remove("SESSION_ABSOLUTE_TIMEOUT_SECS")
            .env_remove("REDIS_URL")
            .env_remove("DATABASE_URL")
            .current_dir(self.workdir.path())
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
            .spawn()
            .unwrap_or_else(|error| panic!("{} could not be started: {error}", binary.display()))
    }

    /// Starts the process and waits until it prints its `Listening on` line.
    ///
    /// # Panics
    ///
    /// When the process exits or stays silent for 60 seconds; the message shows its stderr.
    pub fn start(&self) -> Server {
        let mut child = self.spawn();
        let stdout = Collected::default();
        let stderr = Collected::default();
        let (first_line, listening) = mpsc::channel();
        let mut sent = false;
        let stdout_thread = stdout.drain(child.stdout.take().expect("piped"), move |line| {
            if !sent {
                sent = true;
                let _ = first_line.send(line.trim_end().to_owned());
            }
        });
        let stderr_thread = stderr.drain(child.stderr.take().expect("piped"), |_| {});
        let line = listening.recv_timeout(PROCESS_TIMEOUT);
        let base = line
            .as_deref()
            .ok()
            .and_then(|line| line.strip_prefix(LISTENING_PREFIX))
            .and_then(|url| url.strip_suffix('/'))
            .filter(|base| base.starts_with("http://"))
            .map(str::to_owned);
        let Some(base) = base else {
            let _ = child.kill();
            let status = child.wait();
            let _ = stderr_thread.join();
            panic!(
                "{} did not announce its address (first stdout line: {line:?}, exit: {status:?})\n\
                 --- stderr ---\n{}",
                self.name,
                stderr.text()
            );
        };
        Server {
            name: self.name,
            child,
            base,
            stdout,
            stderr,
            threads: vec![stdout_thread, stderr_thread],
            _workdir: Arc::clone(&self.workdir),
        }
    }

    /// Runs the process to its end, for processes expected to fail at start.
    ///
    /// # Panics
    ///
    /// When the process still runs after 60 seconds.
    pub fn run_to_exit(&self) -> Exited {
        let mut child = self.spawn();
        let stdout = Collected::default();
        let stderr = Collected::default();
        let threads = [
            stdout.drain(child.stdout.take().expect("piped"), |_| {}),
            stderr.drain(child.stderr.take().expect("piped"), |_| {}),
        ];
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting on the child failed") {
                break status;
            }
            if started.elapsed() > PROCESS_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} was expected to exit but still runs\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.name,
                    stdout.text(),
                    stderr.text()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for thread in threads {
            let _ = thread.join();
        }
        Exited {
            status,
            stdout: stdout.text(),
            stderr: stderr.text(),
        }
    }
}

/// A process that ended.
#[derive(Debug)]
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

/// A running example; killed when dropped.
pub struct Server {
    name: &'static str,
    child: Child,
    base: String,
    stdout: Collected,
    stderr: Collected,
    threads: Vec<JoinHandle<()>>,
    /// Kept alive as long as the process runs in it.
    _workdir: Arc<tempfile::TempDir>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.name)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// `http://127.0.0.1:<port>`, as announced.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path` from a client that does not follow redirects.
    pub fn request(&self, method: Method, path: &str) -> awc::ClientRequest {
        awc::Client::builder()
            .disable_redirects()
            .finish()
            .request(method, self.url(path))
    }

    /// A GET request to `path` (redirects are not followed).
    pub fn get(&self, path: &str) -> awc::ClientRequest {
        self.request(Method::GET, path)
    }

    /// A GET request to `path` sending `cookie` back as a browser would (`name=value`).
    pub fn get_with_cookie(&self, path: &str, cookie: &Cookie<'_>) -> awc::ClientRequest {
        self.get(path)
            .insert_header(("Cookie", cookie.encoded().stripped().to_string()))
    }

    /// Everything the process printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything the process printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Waits (up to 10 seconds) until stderr contains `needle`; the collected stderr.
    ///
    /// # Panics
    ///
    /// When it does not.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} never logged {needle:?}; stderr:\n{text}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A received response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

/// Sends `request` and reads the whole response.
///
/// # Panics
///
/// When the request fails or the body is not UTF-8.
pub async fn fetch(request: awc::ClientRequest) -> Reply {
    let description = format!("{} {}", request.get_method(), request.get_uri());
    read_reply(description, request.send().await).await
}

/// Sends `request` with a URL-encoded form body and reads the whole response.
///
/// # Panics
///
/// When the request fails or the body is not UTF-8.
pub async fn fetch_form(request: awc::ClientRequest, form: &str) -> Reply {
    let description = format!("{} {}", request.get_method(), request.get_uri());
    let sent = request
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .send_body(form.to_owned())
        .await;
    read_reply(description, sent).await
}

async fn read_reply<S>(
    description: String,
    sent: Result<awc::ClientResponse<S>, awc::error::SendRequestError>,
) -> Reply
where
    S: futures::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let mut response = sent.unwrap_or_else(|error| panic!("{description} failed: {error}"));
    let body = response
        .body()
        .await
        .unwrap_or_else(|error| panic!("{description}: reading the body failed: {error}"));
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        body: String::from_utf8(body.to_vec())
            .unwrap_or_else(|_| panic!("{description}: body is not UTF-8")),
    }
}

impl Reply {
    /// Every `Set-Cookie` header, parsed (percent-decoded) by the cookie crate.
    ///
    /// # Panics
    ///
    /// When a `Set-Cookie` header is not a valid cookie.
    pub fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .get_all(SET_COOKIE)
            .map(|value| {
                let text = value.to_str().expect("Set-Cookie is ASCII").to_owned();
                Cookie::parse_encoded(text.clone())
                    .unwrap_or_else(|error| panic!("invalid Set-Cookie {text:?}: {error}"))
            })
            .collect()
    }

    /// The only `Set-Cookie` of the response, which must be named `name`.
    ///
    /// # Panics
    ///
    /// Unless the response sets exactly one cookie, named `name`.
    pub fn only_cookie(&self, name: &str) -> Cookie<'static> {
        let cookies = self.set_cookies();
        assert_eq!(
            cookies.len(),
            1,
            "expected exactly one Set-Cookie, got {:?}",
            self.raw_set_cookies()
        );
        let cookie = cookies.into_iter().next().expect("one cookie");
        assert_eq!(cookie.name(), name);
        cookie
    }

    /// The `Set-Cookie` headers as text, for messages.
    pub fn raw_set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect()
    }

    /// Every value of header `name` as text.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect()
    }

    /// The single value of header `name`, if any.
    ///
    /// # Panics
    ///
    /// When the header appears more than once.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self.header_values(name);
        assert!(values.len() <= 1, "header {name} repeated: {values:?}");
        values.pop()
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<String> {
        self.header(LOCATION.as_str())
    }
}

/// True for a cookie that tells the browser to drop it: `Max-Age=0`.
pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO)
}

/// Asserts the secure defaults every session cookie of the examples has.
///
/// # Panics
///
/// When an attribute differs.
pub fn assert_secure_attributes(cookie: &Cookie<'_>) {
    assert_eq!(cookie.path(), Some("/"), "Path of {cookie}");
    assert_eq!(cookie.http_only(), Some(true), "HttpOnly of {cookie}");
    assert_eq!(cookie.secure(), Some(true), "Secure of {cookie}");
    assert_eq!(
        cookie.same_site(),
        Some(actix_web::cookie::SameSite::Lax),
        "SameSite of {cookie}"
    );
    assert_eq!(cookie.domain(), None, "Domain of {cookie}");
}

/// Asserts that `reply` tells the browser to drop cookie `name`, with the same attributes.
///
/// # Panics
///
/// Unless the response's only `Set-Cookie` is such a removal.
pub fn assert_removal(reply: &Reply, name: &str) {
    let cookie = reply.only_cookie(name);
    assert!(is_removal(&cookie), "not a removal cookie: {cookie}");
    assert_eq!(
        cookie.value(),
        "",
        "removal cookie carries a value: {cookie}"
    );
    assert_secure_attributes(&cookie);
}

/// The value with its last character replaced by another of the same alphabet (hex and
/// URL-safe base64 both contain `a` and `b`).
pub fn flip_last_char(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let last = chars.last_mut().expect("a non-empty value");
    *last = if *last == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

/// The value without its last character.
pub fn truncate_one(value: &str) -> String {
    let mut text = value.to_owned();
    text.pop();
    text
}

/// Random URL-safe text that is not a session value.
pub fn random_garbage() -> String {
    session_core::SessionId::generate().as_str().to_owned()
}
