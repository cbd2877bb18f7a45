//! Load-benchmark server: one workload (a per-session counter) served with no session
//! middleware, with this workspace's sessions in every mode, and with actix-session, so
//! `scripts/bench.sh` can load them side by side (see `BENCHMARKS.md`).
//!
//! ```text
//! bench-server --mode cookie-encrypted        # BIND_ADDR=127.0.0.1:8080 by default
//! REDIS_URL=redis://127.0.0.1:6390 bench-server --mode redis
//! ```
//!
//! Every mode serves the same routes on one worker thread:
//!
//! - `GET /counter`: reads the session's counter (0 without a session), adds one, stores it
//!   and answers the new value (the first request creates the session);
//! - `GET /read`: answers the counter without writing;
//! - `GET /plain`: never touches the session (the benchmark still sends a session cookie).
//!
//! `/counter` reads then writes (`get` + `set`), the same read-modify-write actix-session
//! does; it is not atomic across concurrent requests of one session (`Session::update` is, at
//! the cost of a compare-and-swap).
//!
//! Keys come from `SESSION_SIGNING_KEY` and `SESSION_ENCRYPTION_KEY` (hex), or are generated.
//! actix-session's key is built from the same material (the first 32 bytes of the signing key,
//! then the encryption key), so every mode signs and encrypts with the same secrets.

use std::fmt;
use std::str::FromStr;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::{CookieSessionStore, RedisSessionStore as ActixRedisStore};
use actix_session::{SessionMiddleware, storage::SessionStore as ActixSessionStore};
use actix_web::App;
use actix_web::cookie::{Key, SameSite};
use example_support::StartError;
use serde::{Deserialize, Serialize};
use session_actix::core::{Encrypt, EncryptionKey, MemoryStore, SessionStore, Sign, SigningKey};
use session_actix::{CookieTransport, Durability, FsSessionStore, RedisSessionStore};
use session_actix::{SessionConfig, Sessions};

/// The cookie name of every mode, so requests and responses have the same shape.
const COOKIE_NAME: &str = "session";
/// The key of the counter in actix-session's string map.
const ACTIX_COUNTER_KEY: &str = "counter";
/// The variable naming the Redis of the `redis` and `actix-redis` modes.
const REDIS_URL_VAR: &str = "REDIS_URL";
/// The variable naming the directory of the `fs` modes (a temporary directory otherwise).
const SESSIONS_DIR_VAR: &str = "SESSIONS_DIR";

/// The session value of this workspace's modes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counter {
    value: u64,
}

/// What sits between the routes and the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No session middleware at all: the floor.
    Bare,
    /// Client-side value in a cookie, signed (HMAC-SHA256).
    CookieSigned,
    /// Client-side value in a cookie, encrypted (AES-256-GCM).
    CookieEncrypted,
    /// `MemoryStore`, signed ID cookie.
    Memory,
    /// `FsSessionStore` without fsync, signed ID cookie.
    Fs,
    /// `FsSessionStore` with fsync (the default durability), signed ID cookie.
    FsFsync,
    /// `RedisSessionStore`, signed ID cookie.
    Redis,
    /// actix-session's `CookieSessionStore`, signed.
    ActixCookieSigned,
    /// actix-session's `CookieSessionStore`, private (encrypted).
    ActixCookiePrivate,
    /// actix-session's `RedisSessionStore`, signed ID cookie.
    ActixRedis,
}

impl Mode {
    const ALL: [Mode; 10] = [
        Mode::Bare,
        Mode::CookieSigned,
        Mode::CookieEncrypted,
        Mode::Memory,
        Mode::Fs,
        Mode::FsFsync,
        Mode::Redis,
        Mode::ActixCookieSigned,
        Mode::ActixCookiePrivate,
        Mode::ActixRedis,
    ];

    fn name(self) -> &'static str {
        match self {
            Mode::Bare => "bare",
            Mode::CookieSigned => "cookie-signed",
            Mode::CookieEncrypted => "cookie-encrypted",
            Mode::Memory => "memory",
            Mode::Fs => "fs",
            Mode::FsFsync => "fs-fsync",
            Mode::Redis => "redis",
            Mode::ActixCookieSigned => "actix-cookie-signed",
            Mode::ActixCookiePrivate => "actix-cookie-private",
            Mode::ActixRedis => "actix-redis",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = BenchError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.name() == text)
            .ok_or_else(|| BenchError::Usage(format!("unknown mode `{text}`")))
    }
}

/// Why the server could not start.
#[derive(thiserror::Error)]
enum BenchError {
    #[error("{0}\n{USAGE}")]
    Usage(String),
    #[error("{REDIS_URL_VAR} must be set for this mode")]
    RedisUrlMissing,
    #[error("actix-session Redis: {0}")]
    ActixRedis(String),
    #[error(transparent)]
    Start(#[from] StartError),
}

impl fmt::Debug for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<std::io::Error> for BenchError {
    fn from(error: std::io::Error) -> Self {
        StartError::Io(error).into()
    }
}

const USAGE: &str = "usage: bench-server --mode MODE\n\
    modes: bare, cookie-signed, cookie-encrypted, memory, fs, fs-fsync, redis, \
    actix-cookie-signed, actix-cookie-private, actix-redis\n\
    environment: BIND_ADDR (default 127.0.0.1:8080), REDIS_URL, SESSIONS_DIR, \
    SESSION_SIGNING_KEY, SESSION_ENCRYPTION_KEY (hex; generated when unset)";

/// The mode from `--mode MODE` or `--mode=MODE`.
fn mode_from_args(mut args: impl Iterator<Item = String>) -> Result<Mode, BenchError> {
    let mut mode = None;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--mode" => args
                .next()
                .ok_or_else(|| BenchError::Usage("--mode needs a value".to_owned()))?,
            "-h" | "--help" => return Err(BenchError::Usage(String::new())),
            other => match other.strip_prefix("--mode=") {
                Some(value) => value.to_owned(),
                None => return Err(BenchError::Usage(format!("unexpected argument `{other}`"))),
            },
        };
        mode = Some(value.parse()?);
    }
    mode.ok_or_else(|| BenchError::Usage("--mode is required".to_owned()))
}

fn redis_url() -> Result<String, BenchError> {
    std::env::var(REDIS_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .ok_or(BenchError::RedisUrlMissing)
}

/// actix-session's key from the same material as ours: 32 signing bytes, then the 32
/// encryption bytes (the layout `Key::from` expects).
fn actix_key(signing: &SigningKey, encryption: &EncryptionKey) -> Key {
    let mut material = hex::decode(signing.to_hex().as_str()).expect("to_hex writes hex");
    material.truncate(32);
    material.extend(hex::decode(encryption.to_hex().as_str()).expect("to_hex writes hex"));
    Key::from(&material)
}

/// The cookie every one of our modes uses: the library defaults (`Secure`, `HttpOnly`,
/// `SameSite=Lax`, `Path=/`, no `Max-Age`), spelled out.
fn our_cookie() -> CookieTransport {
    CookieTransport::new(COOKIE_NAME)
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
}

/// A server-side setup of ours: the store, the ID signed.
fn server_side(store: impl SessionStore, key: SigningKey) -> Result<Sessions, BenchError> {
    let config = SessionConfig::<Counter>::new(our_cookie())
        .store(store)
        .transform(Sign::new(key));
    Ok(Sessions::builder()
        .session(config)
        .build()
        .map_err(StartError::from)?)
}

/// actix-session's middleware with cookie settings equivalent to ours.
fn actix_middleware<S: ActixSessionStore>(
    store: S,
    key: Key,
    security: CookieContentSecurity,
) -> SessionMiddleware<S> {
    SessionMiddleware::builder(store, key)
        .cookie_name(COOKIE_NAME.to_owned())
        .cookie_secure(true)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_owned())
        .cookie_domain(None)
        .cookie_content_security(security)
        .session_lifecycle(BrowserSession::default())
        .build()
}

/// One worker thread in every mode: the load is compared on a single core.
const WORKERS: Option<usize> = Some(1);

/// Serves `factory` on `BIND_ADDR` with [`WORKERS`] (see [`example_support::actix::serve`]).
macro_rules! serve {
    ($factory:expr) => {
        Ok(example_support::actix::serve_with_workers(WORKERS, $factory).await?)
    };
}

#[actix_web::main]
async fn main() -> Result<(), BenchError> {
    let mode = mode_from_args(std::env::args().skip(1))?;
    example_support::init_tracing();
    tracing::info!(%mode, "starting");
    let signing = example_support::signing_key()?;
    let encryption = example_support::encryption_key()?;
    match mode {
        Mode::Bare => serve!(|| App::new().configure(bare::routes)),
        Mode::CookieSigned | Mode::CookieEncrypted => {
            let config = SessionConfig::<Counter>::new(our_cookie());
            let config = if mode == Mode::CookieSigned {
                config.transform(Sign::new(signing))
            } else {
                config.transform(Encrypt::new(encryption))
            };
            let sessions = Sessions::builder()
                .session(config)
                .build()
                .map_err(StartError::from)?;
            serve!(move || { App::new().wrap(sessions.clone()).configure(ours::routes) })
        }
        Mode::Memory => {
            let sessions = server_side(MemoryStore::new(), signing)?;
            serve!(move || { App::new().wrap(sessions.clone()).configure(ours::routes) })
        }
        Mode::Fs | Mode::FsFsync => {
            // Kept until the server stops, then removed (unless SESSIONS_DIR names one).
            let (dir, _temporary) = match std::env::var_os(SESSIONS_DIR_VAR) {
                Some(dir) => (dir.into(), None),
                None => {
                    let temporary = tempfile::tempdir()?;
                    (temporary.path().to_owned(), Some(temporary))
                }
            };
            let durability = if mode == Mode::Fs {
                Durability::NoFsync
            } else {
                Durability::Fsync
            };
            let store = FsSessionStore::new(&dir)
                .map_err(StartError::from)?
                .with_durability(durability);
            tracing::info!(directory = %dir.display(), ?durability, "sessions are kept in a directory");
            let sessions = server_side(store, signing)?;
            serve!(move || { App::new().wrap(sessions.clone()).configure(ours::routes) })
        }
        Mode::Redis => {
            let store = RedisSessionStore::new(redis_url()?)
                .await
                .map_err(StartError::from)?;
            let sessions = server_side(store, signing)?;
            serve!(move || { App::new().wrap(sessions.clone()).configure(ours::routes) })
        }
        Mode::ActixCookieSigned | Mode::ActixCookiePrivate => {
            let key = actix_key(&signing, &encryption);
            let security = if mode == Mode::ActixCookieSigned {
                CookieContentSecurity::Signed
            } else {
                CookieContentSecurity::Private
            };
            serve!(move || {
                App::new()
                    .wrap(actix_middleware(
                        CookieSessionStore::default(),
                        key.clone(),
                        security,
                    ))
                    .configure(actix::routes)
            })
        }
        Mode::ActixRedis => {
            let key = actix_key(&signing, &encryption);
            let store = ActixRedisStore::new(redis_url()?)
                .await
                .map_err(|error| BenchError::ActixRedis(error.to_string()))?;
            serve!(move || {
                App::new()
                    .wrap(actix_middleware(
                        store.clone(),
                        key.clone(),
                        CookieContentSecurity::Signed,
                    ))
                    .configure(actix::routes)
            })
        }
    }
}

/// `GET /plain`, identical in every mode: never touches a session.
#[actix_web::get("/plain")]
async fn plain() -> actix_web::HttpResponse {
    example_support::actix::text("plain")
}

/// No sessions: a process-wide counter stands in for the session's.
mod bare {
    use std::sync::atomic::{AtomicU64, Ordering};

    use actix_web::{HttpResponse, get, web};

    static COUNTER: AtomicU64 = AtomicU64::new(0);

    #[get("/counter")]
    async fn counter() -> HttpResponse {
        let value = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        example_support::actix::text(value.to_string())
    }

    #[get("/read")]
    async fn read() -> HttpResponse {
        example_support::actix::text(COUNTER.load(Ordering::Relaxed).to_string())
    }

    pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
        cfg.service(counter).service(read).service(super::plain);
    }
}

/// This workspace's `Session<Counter>`.
mod ours {
    use actix_web::{HttpResponse, get, web};
    use session_actix::{Session, SessionError};

    use super::Counter;

    #[get("/counter")]
    async fn counter(session: Session<Counter>) -> Result<HttpResponse, SessionError> {
        // get + set, like actix-session's get + insert (Session::update would be atomic).
        let value = session.get().await?.map_or(0, |stored| stored.value) + 1;
        session.set(Counter { value })?;
        Ok(example_support::actix::text(value.to_string()))
    }

    #[get("/read")]
    async fn read(session: Session<Counter>) -> Result<HttpResponse, SessionError> {
        let value = session.get().await?.map_or(0, |stored| stored.value);
        Ok(example_support::actix::text(value.to_string()))
    }

    pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
        cfg.service(counter).service(read).service(super::plain);
    }
}

/// actix-session's `Session`, the counter under one key of its string map.
mod actix {
    use actix_session::Session;
    use actix_web::{HttpResponse, get, web};

    use super::ACTIX_COUNTER_KEY;

    #[get("/counter")]
    async fn counter(session: Session) -> actix_web::Result<HttpResponse> {
        let value = session.get::<u64>(ACTIX_COUNTER_KEY)?.unwrap_or(0) + 1;
        session.insert(ACTIX_COUNTER_KEY, value)?;
        Ok(example_support::actix::text(value.to_string()))
    }

    #[get("/read")]
    async fn read(session: Session) -> actix_web::Result<HttpResponse> {
        let value = session.get::<u64>(ACTIX_COUNTER_KEY)?.unwrap_or(0);
        Ok(example_support::actix::text(value.to_string()))
    }

    pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
        cfg.service(counter).service(read).service(super::plain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|arg| (*arg).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn every_mode_parses_from_its_name() {
        for mode in Mode::ALL {
            assert_eq!(mode.name().parse::<Mode>().unwrap(), mode);
            assert_eq!(
                mode_from_args(args(&["--mode", mode.name()])).unwrap(),
                mode
            );
            let joined = format!("--mode={mode}");
            assert_eq!(mode_from_args(args(&[&joined])).unwrap(), mode);
        }
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for bad in [&[][..], &["--mode"], &["--mode", "nope"], &["--other"]] {
            let error = mode_from_args(args(bad)).unwrap_err();
            assert!(matches!(error, BenchError::Usage(_)), "{bad:?}");
            assert!(error.to_string().contains("usage:"), "{error}");
        }
    }

    #[test]
    fn actix_key_is_built_from_both_keys() {
        let signing = SigningKey::from_bytes(&[1; 64]).unwrap();
        let encryption = EncryptionKey::from_bytes(&[2; 32]).unwrap();
        let key = actix_key(&signing, &encryption);
        assert_eq!(key.signing(), &[1; 32]);
        assert_eq!(key.encryption(), &[2; 32]);
    }
}
