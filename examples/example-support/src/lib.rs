//! What the session examples share, so each `main` shows only its sessions and routes:
//!
//! - keys read from environment variables as hex ([`encryption_key`], [`signing_key`]), with a
//!   random key (and a warning) when the variable is not set;
//! - logging to stderr ([`init_tracing`]);
//! - starting the server on `BIND_ADDR` and announcing the bound address ([`serve`]);
//! - the [`CartSession`] type of the two cart examples and tiny response helpers.

use std::fmt;
use std::io::{IsTerminal as _, Write as _};

use actix_http::Request;
use actix_service::IntoServiceFactory;
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Response, Service, ServiceFactory};
use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};
use session_actix::core::{EncryptionKey, KeyError, SigningKey};
use std::sync::Arc;

use session_actix::core::DynSessionStore;
use session_actix::{
    ConfigError, FsSessionStore, FsStoreError, RedisSessionStore, RedisStoreError,
};
use zeroize::Zeroizing;

/// The variable holding the [`EncryptionKey`]: 32 bytes as hex.
pub const ENCRYPTION_KEY_VAR: &str = "SESSION_ENCRYPTION_KEY";
/// The variable holding the [`SigningKey`]: 32 to 64 bytes as hex.
pub const SIGNING_KEY_VAR: &str = "SESSION_SIGNING_KEY";
/// The variable holding the address to listen on.
pub const BIND_ADDR_VAR: &str = "BIND_ADDR";
/// The address used when [`BIND_ADDR_VAR`] is not set.
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";
/// The variable naming the Redis that [`store_from_env`] uses, such as `redis://127.0.0.1:6379`.
pub const REDIS_URL_VAR: &str = "REDIS_URL";
/// The variable naming the directory of [`directory_store`].
pub const SESSIONS_DIR_VAR: &str = "SESSIONS_DIR";
/// The directory used when [`SESSIONS_DIR_VAR`] is not set (relative to the working
/// directory, as in Ktor's sample).
pub const DEFAULT_SESSIONS_DIR: &str = "build/.sessions";

/// Why an example could not start. `main` returns it; its `Debug` is its message, so the
/// process prints one readable line (and never key material: [`KeyError`] carries none).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A key variable is set but does not hold a valid key.
    #[error("invalid {variable}: {source} (expected hex, e.g. from `openssl rand -hex 32`)")]
    Key {
        /// The variable's name.
        variable: &'static str,
        /// What is wrong with its value.
        source: KeyError,
    },
    /// [`BIND_ADDR_VAR`] is set but is not valid Unicode.
    #[error("{BIND_ADDR_VAR} is not valid Unicode")]
    BindAddrNotUnicode,
    /// The session setup was rejected.
    #[error("invalid session configuration: {0}")]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address from [`BIND_ADDR_VAR`] or the default.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A variable that must hold a whole number of seconds does not.
    #[error("{variable} must be a whole number of seconds greater than zero")]
    Seconds {
        /// The variable's name.
        variable: &'static str,
    },
    /// Redis could not be reached or configured (the message never contains the URL).
    #[error("Redis: {0}")]
    Redis(#[from] RedisStoreError),
    /// The session directory could not be used.
    #[error("session directory: {0}")]
    Directory(#[from] FsStoreError),
    /// The server failed while starting or running.
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Logs to stderr (stdout carries only the `Listening on` line), filtered by `RUST_LOG` and
/// at `info` by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Reads a key from `variable` as hex. When the variable is not set, a random key is generated
/// and a warning logged: sessions then end when the process does.
fn key_from_env<K>(
    variable: &'static str,
    from_hex: fn(&str) -> Result<K, KeyError>,
    generate: fn() -> K,
) -> Result<K, StartError> {
    let invalid = |source| StartError::Key { variable, source };
    match std::env::var(variable) {
        Ok(text) => from_hex(&Zeroizing::new(text)).map_err(invalid),
        Err(std::env::VarError::NotPresent) => {
            tracing::warn!(
                "{variable} is not set: using a random key, so sessions won't survive a restart"
            );
            Ok(generate())
        }
        Err(std::env::VarError::NotUnicode(_)) => Err(invalid(KeyError::NotUnicode {
            variable: variable.to_owned(),
        })),
    }
}

/// The encryption key from [`ENCRYPTION_KEY_VAR`], or a random one when it is not set.
///
/// # Errors
///
/// [`StartError::Key`] when the variable is set but is not 32 bytes of hex.
pub fn encryption_key() -> Result<EncryptionKey, StartError> {
    key_from_env(
        ENCRYPTION_KEY_VAR,
        EncryptionKey::from_hex,
        EncryptionKey::generate,
    )
}

/// The signing key from [`SIGNING_KEY_VAR`], or a random one when it is not set.
///
/// # Errors
///
/// [`StartError::Key`] when the variable is set but is not 32 to 64 bytes of hex.
pub fn signing_key() -> Result<SigningKey, StartError> {
    key_from_env(SIGNING_KEY_VAR, SigningKey::from_hex, SigningKey::generate)
}

/// The session storage: Redis when [`REDIS_URL_VAR`] is set (so several instances of the app
/// share sessions), otherwise `local()`.
///
/// # Errors
///
/// [`StartError::Redis`] when Redis cannot be reached at start, and the errors of `local`.
pub async fn store_from_env(
    local: impl FnOnce() -> Result<Arc<dyn DynSessionStore>, StartError>,
) -> Result<Arc<dyn DynSessionStore>, StartError> {
    match std::env::var(REDIS_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => {
            let store = RedisSessionStore::new(url).await?;
            tracing::info!(prefix = store.key_prefix(), "sessions are kept in Redis");
            Ok(Arc::new(store))
        }
        _ => local(),
    }
}

/// A directory storage at [`SESSIONS_DIR_VAR`], or [`DEFAULT_SESSIONS_DIR`], swept of expired
/// sessions every five minutes (call it inside the Tokio runtime, as in `main`).
///
/// # Errors
///
/// [`StartError::Directory`] when the directory cannot be created.
pub fn directory_store() -> Result<FsSessionStore, StartError> {
    let dir = std::env::var_os(SESSIONS_DIR_VAR).unwrap_or_else(|| DEFAULT_SESSIONS_DIR.into());
    let store = FsSessionStore::new(&dir)?;
    tracing::info!(directory = %store.root().display(), "sessions are kept in a directory");
    // Runs for the life of the process.
    drop(store.spawn_sweeper(std::time::Duration::from_secs(300)));
    Ok(store)
}

/// A duration read from `variable` as whole seconds, or `default` when it is not set.
///
/// # Errors
///
/// [`StartError::Seconds`] when the variable is set but is not a number above zero.
pub fn seconds_from_env(
    variable: &'static str,
    default: std::time::Duration,
) -> Result<std::time::Duration, StartError> {
    match std::env::var(variable) {
        Err(std::env::VarError::NotPresent) => Ok(default),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(std::time::Duration::from_secs(seconds)),
            _ => Err(StartError::Seconds { variable }),
        },
        Err(std::env::VarError::NotUnicode(_)) => Err(StartError::Seconds { variable }),
    }
}

/// The address to listen on: [`BIND_ADDR_VAR`], or [`DEFAULT_BIND_ADDR`].
///
/// # Errors
///
/// [`StartError::BindAddrNotUnicode`].
pub fn bind_addr() -> Result<String, StartError> {
    match std::env::var(BIND_ADDR_VAR) {
        Ok(addr) => Ok(addr),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_BIND_ADDR.to_owned()),
        Err(std::env::VarError::NotUnicode(_)) => Err(StartError::BindAddrNotUnicode),
    }
}

/// Starts an `HttpServer` with `factory` on [`bind_addr`], prints
/// `Listening on http://<bound address>/` as the only line on stdout (so `BIND_ADDR=…:0` shows
/// the port chosen), then serves until the process is stopped.
///
/// # Errors
///
/// [`StartError::Bind`] when the address cannot be bound, and [`StartError::Io`].
pub async fn serve<F, I, S, B>(factory: F) -> Result<(), StartError>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    serve_with_workers(None, factory).await
}

/// [`serve`] with `workers` worker threads (actix-web's default, one per core, when `None`).
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_with_workers<F, I, S, B>(
    workers: Option<usize>,
    factory: F,
) -> Result<(), StartError>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = bind_addr()?;
    let mut server = HttpServer::new(factory);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(addr.as_str())
        .map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let bound = server.addrs();
    let first = bound.first().ok_or_else(|| StartError::Bind {
        addr,
        source: std::io::Error::other("no address was bound"),
    })?;
    tracing::info!(addresses = ?bound, "listening");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "Listening on http://{first}/")?;
    stdout.flush()?;
    drop(stdout);
    server.run().await?;
    Ok(())
}

/// `200 OK` with a plain-text body, like Ktor's `respondText`.
pub fn text(body: impl Into<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(body.into())
}

/// `302 Found` to `location`, like Ktor's `respondRedirect`.
pub fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, location))
        .finish()
}

/// The cart of the two cart examples, with the JSON names of Ktor's sample:
/// `{"userID":"123","productIDs":[1,3,7]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartSession {
    /// The user's ID.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The products in the cart.
    #[serde(rename = "productIDs")]
    pub product_ids: Vec<i32>,
}

impl CartSession {
    /// The cart that logging in puts in the session.
    pub fn sample() -> Self {
        Self {
            user_id: "123".to_owned(),
            product_ids: vec![1, 3, 7],
        }
    }

    /// The product IDs as Kotlin prints a list: `[1, 3, 7]`.
    pub fn product_list(&self) -> String {
        let items: Vec<String> = self.product_ids.iter().map(i32::to_string).collect();
        format!("[{}]", items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_json_uses_ktor_names() {
        let json = serde_json::to_string(&CartSession::sample()).unwrap();
        assert_eq!(json, r#"{"userID":"123","productIDs":[1,3,7]}"#);
        let back: CartSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, CartSession::sample());
    }

    #[test]
    fn product_list_is_kotlin_list_text() {
        assert_eq!(CartSession::sample().product_list(), "[1, 3, 7]");
        let empty = CartSession {
            user_id: String::new(),
            product_ids: vec![],
        };
        assert_eq!(empty.product_list(), "[]");
        let one = CartSession {
            user_id: String::new(),
            product_ids: vec![-4],
        };
        assert_eq!(one.product_list(), "[-4]");
    }

    #[test]
    fn key_errors_name_the_variable_but_not_the_key() {
        let error = StartError::Key {
            variable: ENCRYPTION_KEY_VAR,
            source: EncryptionKey::from_hex("abcd").unwrap_err(),
        };
        let text = format!("{error:?}");
        assert!(text.contains(ENCRYPTION_KEY_VAR), "{text}");
        assert!(text.contains("32 bytes"), "{text}");
        assert!(!text.contains("abcd"), "{text}");
    }
}
