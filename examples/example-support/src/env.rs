//! Keys, storage, timeouts and the address, from environment variables.

use std::sync::Arc;

use session_core::{DynSessionStore, EncryptionKey, KeyError, SigningKey};
use session_fs::FsSessionStore;
use session_redis::RedisSessionStore;
use zeroize::Zeroizing;

use crate::error::StartError;

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
