//! Real `redis-server`s for tests (feature `test-util`), for this crate's tests and for any
//! crate that tests against Redis.
//!
//! - `REDIS_URL`, when set, names a Redis the tests may use (they should only touch keys under
//!   prefixes of their own, with random parts, and never flush).
//! - Otherwise, when `redis-server` is on `PATH`, each test starts a private server on a free
//!   loopback port, without persistence, in a temporary directory; it is killed on drop.
//! - Otherwise the test is skipped with a loud message on stderr, except when `CI=true`, where
//!   it fails: CI must run these tests (`.ci/install-redis` installs `redis-server`).
//!
//! # Examples
//!
//! ```no_run
//! # async fn test() {
//! let Some(redis) = session_redis::test_util::redis("my_test") else { return };
//! let store = session_redis::RedisSessionStore::new(redis.url.clone()).await.unwrap();
//! # }
//! ```
#![allow(clippy::missing_panics_doc)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A Redis to test against: its URL, and the private server behind it, if any.
#[derive(Debug)]
pub struct TestRedis {
    /// The URL to connect to.
    pub url: String,
    /// The private server behind it, when the test started one.
    pub server: Option<RedisServer>,
}

/// The Redis for a test that only needs some Redis; `None` when the test is to be skipped.
pub fn redis(test: &str) -> Option<TestRedis> {
    if let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        return Some(TestRedis { url, server: None });
    }
    let server = private_server(test, &[])?;
    Some(TestRedis {
        url: server.url(),
        server: Some(server),
    })
}

/// A store on the test's Redis ([`redis()`]) under a key prefix of its own (the test's name and
/// a random part), so tests sharing a `REDIS_URL` never meet; `None` when the test is to be
/// skipped. Keep the [`TestRedis`] alive as long as the store.
pub async fn prefixed_store(test: &str) -> Option<(TestRedis, crate::RedisSessionStore)> {
    let redis = redis(test)?;
    let prefix = format!("{test}:{}:", session_core::SessionId::generate().as_str());
    let store = crate::RedisSessionStore::builder(redis.url.clone())
        .key_prefix(prefix)
        .build()
        .await
        .expect("a store on the test's Redis");
    Some((redis, store))
}

/// A private server started with `extra` arguments; `None` when the test is to be skipped.
pub fn private_server(test: &str, extra: &[&str]) -> Option<RedisServer> {
    if !redis_server_available() {
        skip(test, "no redis-server on PATH");
        return None;
    }
    Some(RedisServer::start(extra))
}

fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "{test}: {why}, and CI=true requires the Redis tests to run: \
             install redis-server (.ci/install-redis) or set REDIS_URL"
        );
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: {why} (install redis-server or set REDIS_URL) ***\n"
    );
}

fn redis_server_available() -> bool {
    command_available("redis-server", "--version")
}

fn command_available(program: &str, version_arg: &str) -> bool {
    Command::new(program)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A port on the loopback interface that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A private TLS server, certified by a fresh CA (`ca.crt` in [`RedisServer::dir`]) for
/// `127.0.0.1` only; `None` when the test is to be skipped.
pub fn private_tls_server(test: &str) -> Option<RedisServer> {
    if !redis_server_available() {
        skip(test, "no redis-server on PATH");
        return None;
    }
    if !command_available("openssl", "version") {
        skip(test, "no openssl on PATH to make test certificates");
        return None;
    }
    Some(RedisServer::start_tls())
}

/// A `redis-server` of this test's own, killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    extra: Vec<String>,
    tls: bool,
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server on a free port, trying other ports if one was taken meanwhile.
    pub fn start(extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|arg| (*arg).to_owned()).collect();
        let mut last_error = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temporary directory");
            match Self::spawn(free_port(), extra.clone(), false, dir) {
                Ok(server) => return server,
                Err(error) => last_error = error,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    /// Starts a server that speaks only TLS, with certificates made by `openssl`.
    fn start_tls() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        make_certificates(dir.path());
        let extra: Vec<String> = [
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.crt",
            "--tls-auth-clients",
            "no",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        Self::spawn(free_port(), extra, true, dir)
            .unwrap_or_else(|error| panic!("could not start a TLS redis-server: {error}"))
    }

    /// Starts a server again on the port of a killed one, with the same arguments.
    pub fn restart_on(port: u16, extra: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::spawn(port, extra.to_vec(), false, dir)
            .unwrap_or_else(|error| panic!("could not restart redis-server: {error}"))
    }

    fn spawn(port: u16, extra: Vec<String>, tls: bool, dir: TempDir) -> Result<Self, String> {
        let log = std::fs::File::create(dir.path().join("redis.log")).expect("log file");
        let mut command = Command::new("redis-server");
        let port_arg = port.to_string();
        let listen: &[&str] = if tls {
            &["--port", "0", "--tls-port", &port_arg]
        } else {
            &["--port", &port_arg]
        };
        command
            .current_dir(dir.path())
            .args(listen)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        let child = command.spawn().map_err(|error| error.to_string())?;
        let mut server = Self {
            child,
            port,
            extra,
            tls,
            dir,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            // A TLS port cannot be asked in plain text; Redis listens once it is ready.
            let ready = if self.tls {
                TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            } else {
                is_served_by(self.port, self.child.id())
            };
            if ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("no answer to PING within 10 s: {}", self.log()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The extra arguments it was started with.
    pub fn extra_args(&self) -> &[String] {
        &self.extra
    }

    /// Its working directory (log, certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `redis://127.0.0.1:<port>`, without credentials.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends a signal (`STOP`, `CONT`) to the server process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A stopped process still dies of SIGKILL.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA (`ca.crt`) and a server certificate it signed (`server.crt`, `server.key`) for
/// `127.0.0.1` only, in `dir`.
fn make_certificates(dir: &Path) {
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n")
        .expect("write extensions");
    let steps = [
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
         -keyout ca.key -out ca.crt -days 2 -subj /CN=session-redis-test-ca",
        "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
         -keyout server.key -out server.csr -subj /CN=session-redis-test-server",
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
         -out server.crt -days 2 -extfile server.ext",
    ];
    for step in steps {
        let args: Vec<&str> = step.split_whitespace().collect();
        let output = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// True when the server on `port` answers and is the process `pid`: another test's server
/// (or a proxy) that took the port first, while this one failed to bind it, is not ready. A
/// server that asks for a password first cannot tell its process: it counts as ready.
fn is_served_by(port: u16, pid: u32) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return false;
    }
    if line.starts_with("-NOAUTH") {
        return true;
    }
    // A bulk string: `$<length>`, then that many bytes of `field:value` lines.
    let Some(Ok(length)) = line.trim_end().strip_prefix('$').map(str::parse::<usize>) else {
        return false;
    };
    let mut info = vec![0; length];
    if reader.read_exact(&mut info).is_err() {
        return false;
    }
    let expected = format!("process_id:{pid}");
    String::from_utf8_lossy(&info)
        .lines()
        .any(|line| line == expected)
}
