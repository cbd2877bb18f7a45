//! A real PostgreSQL for tests (feature `test-util`), for this crate's tests and for any crate
//! that tests against PostgreSQL.
//!
//! - `DATABASE_URL`, when it is a `postgres://` or `postgresql://` URL, names a database the
//!   tests may use (they should only touch tables of their own, see [`unique_table`], and
//!   drop nothing else).
//! - Otherwise, when the PostgreSQL server programs (`initdb`, `postgres`) are on `PATH`, in
//!   `/usr/local/bin` or in `/usr/lib/postgresql/<version>/bin`, each test starts a private
//!   server on a free loopback port, with its data in a temporary directory; it is shut down
//!   and the directory removed on drop. As root (CI, containers), where PostgreSQL refuses to
//!   run, the server runs as the `postgres` user (or `nobody`) through `setpriv`, and owns
//!   its temporary directory. `initdb` runs once per machine and PostgreSQL version: later
//!   servers start from a copy of that cluster, kept in the system's temporary directory.
//! - Otherwise the test is skipped with a loud message on stderr, except when `CI=true`,
//!   where it fails: CI must run these tests (`.ci/install-postgres` installs PostgreSQL).
//!
//! # Examples
//!
//! ```no_run
//! # async fn test() {
//! let Some(postgres) = session_sql::test_util::postgres("my_test") else { return };
//! let store = session_sql::SqlSessionStore::builder(&postgres.url)
//!     .table(session_sql::test_util::unique_table("my_test"))
//!     .build()
//!     .await
//!     .unwrap();
//! store.migrate().await.unwrap();
//! # }
//! ```
#![allow(clippy::missing_panics_doc)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The variable naming a PostgreSQL the tests may use instead of a private server.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";

/// A PostgreSQL to test against: its URL, and the private server behind it, if any.
#[derive(Debug)]
pub struct TestPostgres {
    /// The URL to connect to.
    pub url: String,
    /// The private server behind it, when the test started one.
    pub server: Option<PostgresServer>,
}

/// The PostgreSQL for a test that only needs some PostgreSQL: `DATABASE_URL` when it is a
/// PostgreSQL URL, else a private server; `None` when the test is to be skipped.
pub fn postgres(test: &str) -> Option<TestPostgres> {
    if let Some(url) = std::env::var(DATABASE_URL_VAR).ok().filter(|url| {
        let url = url.to_ascii_lowercase();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }) {
        return Some(TestPostgres { url, server: None });
    }
    let server = private_server(test)?;
    Some(TestPostgres {
        url: server.url(),
        server: Some(server),
    })
}

/// A private server, for tests that stop or freeze it; `None` when the test is to be
/// skipped.
pub fn private_server(test: &str) -> Option<PostgresServer> {
    match find_binaries() {
        Some(bin) => Some(PostgresServer::start(&bin)),
        None => {
            skip(
                test,
                "no PostgreSQL server programs (initdb, postgres) found",
            );
            None
        }
    }
}

/// A table name no other test (or earlier run on a shared database) uses:
/// `t_<test>_<random>`, cut to fit the store's limit.
pub fn unique_table(test: &str) -> String {
    let random = session_core::SessionId::generate();
    let random: String = random
        .as_str()
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| char::from(b.to_ascii_lowercase()))
        .take(10)
        .collect();
    let test: String = test
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b.to_ascii_lowercase())
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    format!("t_{test}_{random}")
}

/// A store on `url` with a table of its own ([`unique_table`] of `test`), migrated, shared
/// as the adapters take stores.
///
/// # Panics
///
/// When the database cannot be reached or migrated.
///
/// # Examples
///
/// ```no_run
/// # async fn test() {
/// let store = session_sql::test_util::migrated_store("sqlite://sessions.db", "my_test").await;
/// # }
/// ```
pub async fn migrated_store(
    url: &str,
    test: &str,
) -> std::sync::Arc<dyn session_core::DynSessionStore> {
    let store = crate::SqlSessionStore::builder(url)
        .table(unique_table(test))
        .build()
        .await
        .expect("the test database is reachable");
    store.migrate().await.expect("the test table is created");
    std::sync::Arc::new(store)
}

fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "{test}: {why}, and CI=true requires the PostgreSQL tests to run: \
             install PostgreSQL (.ci/install-postgres) or set DATABASE_URL"
        );
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: {why} (install PostgreSQL or set DATABASE_URL) ***\n"
    );
}

/// The directory holding `initdb` and `postgres`: on `PATH`, in `/usr/local/bin`, or the
/// newest `/usr/lib/postgresql/<version>/bin`.
fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|dir| has_both(dir)) {
        return Some(dir);
    }
    let local = PathBuf::from("/usr/local/bin");
    if has_both(&local) {
        return Some(local);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A port on the loopback interface that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// Who the server runs as: the user and group IDs to switch to when this process is root
/// (PostgreSQL refuses to run as root), else `None`.
fn server_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 3 && fields[0] == name)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
    };
    Some(
        find("postgres")
            .or_else(|| find("nobody"))
            .unwrap_or((65_534, 65_534)),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A command that runs `program` as the server's user, and dies with the thread that
/// started it (`setpriv --pdeathsig`), so no server outlives a test killed mid-way.
fn as_server_user(program: &Path, user: Option<(u32, u32)>) -> Command {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_file());
    match (setpriv, user) {
        (Some(setpriv), user) => {
            let mut command = Command::new(setpriv);
            if let Some((uid, gid)) = user {
                command.arg(format!("--reuid={uid}"));
                command.arg(format!("--regid={gid}"));
                command.arg("--clear-groups");
            }
            command.args(["--pdeathsig", "KILL", "--"]).arg(program);
            command
        }
        (None, None) => Command::new(program),
        (None, Some(_)) => panic!("running as root, and setpriv (util-linux) is missing"),
    }
}

/// Where the servers' directories go: the system's temporary directory, or `/tmp` when the
/// server runs as another user (who may not reach a `TMPDIR` under root's home).
fn base_dir(user: Option<(u32, u32)>) -> PathBuf {
    if user.is_some() {
        PathBuf::from("/tmp")
    } else {
        std::env::temp_dir()
    }
}

fn chown(path: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to the server user");
    }
}

/// A cluster made by `initdb` once per machine, user and PostgreSQL version, copied for each
/// server (an `initdb` takes seconds, a copy milliseconds).
fn template(bin: &Path, user: Option<(u32, u32)>) -> PathBuf {
    let version = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    let tag: String = format!("{}-{version}", bin.display())
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect();
    let uid = user.map_or_else(|| "self".to_owned(), |(uid, _)| uid.to_string());
    let root = base_dir(user).join(format!("session-sql-pg-template-{uid}-{tag}"));
    if root.join("ready").is_file() {
        return root.join("data");
    }
    // Made aside, then renamed into place: concurrent tests race harmlessly.
    let staging = tempfile::Builder::new()
        .prefix("session-sql-pg-initdb-")
        .tempdir_in(base_dir(user))
        .expect("temporary directory");
    chown(staging.path(), user);
    let data = staging.path().join("data");
    let output = as_server_user(&bin.join("initdb"), user)
        .current_dir(staging.path())
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
        .arg("--no-sync")
        .stdin(Stdio::null())
        .output()
        .expect("run initdb");
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(staging.path().join("ready"), "").expect("mark the template ready");
    let staging = staging.keep();
    if std::fs::rename(&staging, &root).is_err() {
        // Another test made it first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    root.join("data")
}

/// A `postgres` server of this test's own, shut down on drop.
#[derive(Debug)]
pub struct PostgresServer {
    child: Option<Child>,
    port: u16,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    dir: TempDir,
}

impl PostgresServer {
    /// Starts a server on a free port, with a fresh cluster (user `postgres`, no password,
    /// database `postgres`), trying other ports if one was taken meanwhile.
    fn start(bin: &Path) -> Self {
        let user = server_user();
        let template = template(bin, user);
        let dir = tempfile::Builder::new()
            .prefix("session-sql-pg-")
            .tempdir_in(base_dir(user))
            .expect("temporary directory");
        chown(dir.path(), user);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&template)
            .arg(dir.path().join("data"))
            .status()
            .expect("run cp");
        assert!(status.success(), "could not copy the template cluster");
        std::fs::create_dir(dir.path().join("socket")).expect("socket directory");
        chown(&dir.path().join("socket"), user);
        let mut server = Self {
            child: None,
            port: 0,
            bin: bin.to_owned(),
            user,
            dir,
        };
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(error) => last_error = error,
            }
        }
        panic!("could not start postgres: {last_error}");
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let start = std::fs::metadata(self.log_path()).map_or(0, |m| m.len());
        let child = as_server_user(&self.bin.join("postgres"), self.user)
            .current_dir(self.dir.path())
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().join("socket").display()
            ))
            // A test server: no fsync (speed), but commits reach the kernel before they
            // return (`synchronous_commit` stays on), so data survives a killed server.
            .args(["-c", "fsync=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=100"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .map_err(|error| error.to_string())?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let log = std::fs::read(self.log_path()).unwrap_or_default();
            let log = String::from_utf8_lossy(
                log.get(usize::try_from(start).unwrap_or(0)..)
                    .unwrap_or_default(),
            );
            if log.contains("ready to accept connections") {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(format!("exited with {status}: {log}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Err("not ready within 30 s".to_owned())
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`, without a password.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the server at once, as a crash would (SIGKILL of every process of it, then
    /// `postmaster.pid` cleaned up by the next start): connections drop, new ones are refused.
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Starts the stopped server again, on the same port and with the same data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        self.spawn()
            .unwrap_or_else(|error| panic!("could not restart postgres: {error}"));
    }

    /// Sends a signal (`STOP`, `CONT`) to the server and every process it started (its
    /// backends): `STOP` freezes it, as a hung host would.
    pub fn signal(&self, signal: &str) {
        let Some(child) = &self.child else { return };
        let mut pids = children_of(child.id());
        pids.push(child.id());
        for pid in pids {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status();
        }
    }

    fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let backends = children_of(child.id());
        // A frozen process still dies of SIGKILL.
        let _ = child.kill();
        let _ = child.wait();
        for pid in &backends {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        // Until every backend is gone (a zombie is: it no longer holds shared memory), or
        // the next start would find the old shared memory still in use.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && backends.iter().any(|pid| is_alive(*pid)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Wait until the port is free again, so a restart can take it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The processes whose parent is `pid`, from `/proc`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (name) state ppid …`: the name may hold spaces and parentheses.
            let after_name = &stat[stat.rfind(')')? + 1..];
            let parent: u32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            (parent == pid).then_some(child)
        })
        .collect()
}

/// Whether `pid` is a process that has not exited (a zombie has).
fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}
