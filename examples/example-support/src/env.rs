//! Keys, storage, timeouts and the address, from environment variables.

use std::sync::Arc;

use session_core::{DynSessionStore, EncryptionKey, KeyError, SigningKey};
use session_fs::FsSessionStore;
use session_redis::RedisSessionStore;
use session_sql::SqlSessionStore;
use zeroize::Zeroizing;

use crate::dev_key::{self, ENCRYPTION_KEY_FILE, KeyKind, Origin, SIGNING_KEY_FILE};
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
/// The variable naming the database that [`store_from_env`] uses: `postgres://…` or
/// `sqlite://FILE`.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";
/// The variable naming the directory of [`directory_store`].
pub const SESSIONS_DIR_VAR: &str = "SESSIONS_DIR";
/// The directory used when [`SESSIONS_DIR_VAR`] is not set (relative to the working
/// directory, as in Ktor's sample).
pub const DEFAULT_SESSIONS_DIR: &str = "build/.sessions";

/// Reads a key from `variable` as hex. When the variable is not set, the key comes from the
/// development key file `file`, created on the first start, and a warning says so.
fn key_from_env<K>(
    variable: &'static str,
    file: &'static str,
    kind: &KeyKind<K>,
) -> Result<K, StartError> {
    let invalid = |source| StartError::Key { variable, source };
    match std::env::var(variable) {
        Ok(text) => (kind.from_hex)(&Zeroizing::new(text)).map_err(invalid),
        Err(std::env::VarError::NotPresent) => {
            let path = dev_key::path(file);
            let (key, origin) =
                dev_key::load_or_create(&path, kind).map_err(|problem| StartError::KeyFile {
                    variable,
                    path: path.clone(),
                    problem,
                })?;
            let path = path.display();
            match origin {
                Origin::Created => tracing::warn!(
                    "{variable} is not set: created the development key file {path} (mode 0600), \
                     which later starts reuse; it is for development only, set {variable} \
                     anywhere else"
                ),
                Origin::Found => tracing::warn!(
                    "{variable} is not set: using the development key file {path}; it is for \
                     development only, set {variable} anywhere else"
                ),
            }
            Ok(key)
        }
        Err(std::env::VarError::NotUnicode(_)) => Err(invalid(KeyError::NotUnicode {
            variable: variable.to_owned(),
        })),
    }
}

/// The encryption key from [`ENCRYPTION_KEY_VAR`]; when it is not set, the development key in
/// [`ENCRYPTION_KEY_FILE`], created on the first start, in the directory
/// [`DEV_KEY_DIR_VAR`](crate::DEV_KEY_DIR_VAR) names or
/// [`DEFAULT_DEV_KEY_DIR`](crate::DEFAULT_DEV_KEY_DIR), with a warning.
///
/// # Errors
///
/// [`StartError::Key`] when the variable is set but is not 32 bytes of hex;
/// [`StartError::KeyFile`] when it is not set and the file cannot be used.
pub fn encryption_key() -> Result<EncryptionKey, StartError> {
    key_from_env(
        ENCRYPTION_KEY_VAR,
        ENCRYPTION_KEY_FILE,
        &KeyKind {
            from_hex: EncryptionKey::from_hex,
            generate: EncryptionKey::generate,
            to_hex: EncryptionKey::to_hex,
        },
    )
}

/// The signing key from [`SIGNING_KEY_VAR`]; when it is not set, the development key in
/// [`SIGNING_KEY_FILE`], created on the first start, in the directory
/// [`DEV_KEY_DIR_VAR`](crate::DEV_KEY_DIR_VAR) names or
/// [`DEFAULT_DEV_KEY_DIR`](crate::DEFAULT_DEV_KEY_DIR), with a warning.
///
/// # Errors
///
/// [`StartError::Key`] when the variable is set but is not 32 to 64 bytes of hex;
/// [`StartError::KeyFile`] when it is not set and the file cannot be used.
pub fn signing_key() -> Result<SigningKey, StartError> {
    key_from_env(
        SIGNING_KEY_VAR,
        SIGNING_KEY_FILE,
        &KeyKind {
            from_hex: SigningKey::from_hex,
            generate: SigningKey::generate,
            to_hex: SigningKey::to_hex,
        },
    )
}

/// The session storage: Redis when [`REDIS_URL_VAR`] is set, PostgreSQL or an SQLite file
/// when [`DATABASE_URL_VAR`] is (`postgres://…`, `sqlite://FILE`), so several instances of
/// the app share sessions; otherwise `local()`. The SQL table (`sessions`) is created if
/// missing, and expired rows are swept every five minutes (call it inside the Tokio runtime,
/// as in `main`).
///
/// # Errors
///
/// [`StartError::Redis`] when Redis cannot be reached at start, [`StartError::Sql`] when the
/// database cannot be reached or the table created, [`StartError::TwoStores`] when both
/// variables are set, and the errors of `local`.
pub async fn store_from_env(
    local: impl FnOnce() -> Result<Arc<dyn DynSessionStore>, StartError>,
) -> Result<Arc<dyn DynSessionStore>, StartError> {
    let set = |variable| {
        std::env::var(variable)
            .ok()
            .filter(|url| !url.trim().is_empty())
    };
    store_from(set(REDIS_URL_VAR), set(DATABASE_URL_VAR), local).await
}

/// [`store_from_env`] with the variables' values given.
async fn store_from(
    redis_url: Option<String>,
    database_url: Option<String>,
    local: impl FnOnce() -> Result<Arc<dyn DynSessionStore>, StartError>,
) -> Result<Arc<dyn DynSessionStore>, StartError> {
    match (redis_url, database_url) {
        (Some(_), Some(_)) => Err(StartError::TwoStores),
        (Some(url), None) => {
            let store = RedisSessionStore::new(url).await?;
            tracing::info!(prefix = store.key_prefix(), "sessions are kept in Redis");
            Ok(Arc::new(store))
        }
        (None, Some(url)) => {
            let store = SqlSessionStore::new(url).await?;
            store.migrate().await?;
            // Runs for the life of the process.
            drop(store.spawn_sweeper(std::time::Duration::from_secs(300)));
            tracing::info!(
                backend = store.pool().backend(),
                table = store.table(),
                "sessions are kept in a database"
            );
            Ok(Arc::new(store))
        }
        (None, None) => local(),
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

#[cfg(test)]
mod tests {
    use session_core::{MemoryStore, SessionId};

    use super::*;

    fn memory() -> Result<Arc<dyn DynSessionStore>, StartError> {
        Ok(Arc::new(MemoryStore::new()))
    }

    #[tokio::test]
    async fn a_database_url_picks_the_sql_store_and_creates_its_table() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
        let store = store_from(None, Some(url.clone()), memory).await.unwrap();
        assert!(
            store.type_name().ends_with("SqlSessionStore"),
            "{}",
            store.type_name()
        );
        let id = SessionId::generate();
        let ttl = std::time::Duration::from_secs(60);
        store.save(&id, "cart", ttl).await.unwrap();
        // A second instance on the same file sees it (and migrating again is harmless).
        let other = store_from(None, Some(url), memory).await.unwrap();
        assert_eq!(other.load(&id).await.unwrap().as_deref(), Some("cart"));
    }

    #[tokio::test]
    async fn no_url_keeps_the_local_store_and_two_urls_are_refused() {
        let local = store_from(None, None, memory).await.unwrap();
        assert!(
            local.type_name().ends_with("MemoryStore"),
            "{}",
            local.type_name()
        );
        let both = store_from(
            Some("redis://127.0.0.1:1".into()),
            Some("sqlite://x.db".into()),
            memory,
        )
        .await;
        assert!(matches!(both, Err(StartError::TwoStores)));
    }

    #[tokio::test]
    async fn a_bad_database_url_stops_the_start_without_printing_it() {
        let error = store_from(None, Some("mysql://root:hunter2@db/app".into()), memory)
            .await
            .err()
            .expect("refused");
        let text = format!("{error:?}");
        assert!(text.starts_with("database: invalid database URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
