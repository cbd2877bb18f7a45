//! Load-benchmark server: one workload (a per-session counter) served with no session
//! middleware, with this workspace's sessions in every mode (on actix-web and on axum), with
//! actix-session (on actix-web) and with tower-sessions (on axum), so `scripts/bench.sh` and `scripts/callgrind.sh` can measure them side by
//! side (see `BENCHMARKS.md`).
//!
//! ```text
//! bench-server --mode cookie-encrypted        # BIND_ADDR=127.0.0.1:8080 by default
//! bench-server --mode axum-cookie-encrypted   # the same on axum
//! REDIS_URL=redis://127.0.0.1:6390 bench-server --mode redis
//! bench-server --mode tower-memory            # tower-sessions 0.14, MemoryStore, on axum
//! REDIS_URL=redis://127.0.0.1:6390 bench-server --mode tower-redis
//! ```
//!
//! Every mode serves the same routes on one thread (actix-web: one worker; axum: a
//! current-thread Tokio runtime):
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
//! actix-session's and tower-sessions' keys are built from the same material (the first 32
//! bytes of the signing key, then the encryption key: [`peer_key_material`]), so every mode
//! signs and encrypts with the same secrets.

mod actix_modes;
mod axum_modes;

use std::fmt;
use std::str::FromStr;

use example_support::StartError;
use serde::{Deserialize, Serialize};
use session_actix::CookieTransport;
use session_actix::cookie::SameSite;
use session_actix::{EncryptionKey, SigningKey};

/// The cookie name of every mode, so requests and responses have the same shape.
const COOKIE_NAME: &str = "session";
/// The variable naming the Redis of the Redis modes.
const REDIS_URL_VAR: &str = "REDIS_URL";

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
    /// A bare axum `Router`: the axum floor.
    AxumBare,
    /// [`Mode::CookieSigned`] on axum, the layer added with `Router::layer`.
    AxumCookieSigned,
    /// [`Mode::CookieEncrypted`] on axum, the layer added with `Router::layer`.
    AxumCookieEncrypted,
    /// [`Mode::CookieEncrypted`] on axum, the layer wrapped around the whole `Router`.
    AxumCookieEncryptedOuter,
    /// [`Mode::Memory`] on axum.
    AxumMemory,
    /// [`Mode::Redis`] on axum.
    AxumRedis,
    /// tower-sessions 0.14 on axum: its `MemoryStore`, signed ID cookie.
    TowerMemory,
    /// tower-sessions 0.14 on axum: tower-sessions-redis-store 0.16 (fred), signed ID cookie.
    TowerRedis,
}

impl Mode {
    const ALL: [Mode; 18] = [
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
        Mode::AxumBare,
        Mode::AxumCookieSigned,
        Mode::AxumCookieEncrypted,
        Mode::AxumCookieEncryptedOuter,
        Mode::AxumMemory,
        Mode::AxumRedis,
        Mode::TowerMemory,
        Mode::TowerRedis,
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
            Mode::AxumBare => "axum-bare",
            Mode::AxumCookieSigned => "axum-cookie-signed",
            Mode::AxumCookieEncrypted => "axum-cookie-encrypted",
            Mode::AxumCookieEncryptedOuter => "axum-cookie-encrypted-outer",
            Mode::AxumMemory => "axum-memory",
            Mode::AxumRedis => "axum-redis",
            Mode::TowerMemory => "tower-memory",
            Mode::TowerRedis => "tower-redis",
        }
    }

    /// Whether the mode is served by axum (ours and tower-sessions'; otherwise by actix-web).
    fn is_axum(self) -> bool {
        self.name().starts_with("axum-") || self.name().starts_with("tower-")
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
    #[error("tower-sessions Redis: {0}")]
    TowerRedis(String),
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
    actix-cookie-signed, actix-cookie-private, actix-redis, \
    axum-bare, axum-cookie-signed, axum-cookie-encrypted, axum-cookie-encrypted-outer, \
    axum-memory, axum-redis, tower-memory, tower-redis\n\
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

/// The cookie every one of our modes uses, on either framework: the library defaults
/// (`Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Max-Age`), spelled out.
fn our_cookie() -> CookieTransport {
    CookieTransport::new(COOKIE_NAME)
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
}

/// The 64 bytes the peers' keys (actix-session's and tower-sessions' `cookie::Key`) are built
/// from: the first 32 bytes of our signing key, then our 32-byte encryption key (the layout
/// `Key::from` expects: signing half first, encryption half second).
fn peer_key_material(signing: &SigningKey, encryption: &EncryptionKey) -> Vec<u8> {
    let mut material = hex::decode(signing.to_hex().as_str()).expect("to_hex writes hex");
    material.truncate(32);
    material.extend(hex::decode(encryption.to_hex().as_str()).expect("to_hex writes hex"));
    material
}

/// The keys every mode signs and encrypts with.
struct Keys {
    signing: SigningKey,
    encryption: EncryptionKey,
}

fn main() -> Result<(), BenchError> {
    let mode = mode_from_args(std::env::args().skip(1))?;
    example_support::init_tracing();
    tracing::info!(%mode, "starting");
    let keys = Keys {
        signing: example_support::signing_key()?,
        encryption: example_support::encryption_key()?,
    };
    if mode.is_axum() {
        axum_modes::run(mode, keys)
    } else {
        actix_modes::run(mode, keys)
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
            assert!(USAGE.contains(mode.name()), "{mode} missing from USAGE");
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
    fn every_mode_is_served_by_one_framework() {
        let axum: Vec<_> = Mode::ALL.into_iter().filter(|m| m.is_axum()).collect();
        assert_eq!(axum.len(), 8);
        assert!(Mode::TowerMemory.is_axum() && Mode::TowerRedis.is_axum());
        assert!(!Mode::Bare.is_axum() && !Mode::ActixRedis.is_axum());
    }
}
