//! The actix-web modes: `bare`, ours (`cookie-signed`, `cookie-encrypted`, `memory`, `fs`,
//! `fs-fsync`, `redis`) and actix-session's (`actix-cookie-signed`, `actix-cookie-private`,
//! `actix-redis`), each on one worker thread.

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::{CookieSessionStore, RedisSessionStore as ActixRedisStore};
use actix_session::{SessionMiddleware, storage::SessionStore as ActixSessionStore};
use actix_web::App;
use actix_web::cookie::{Key, SameSite};
use example_support::StartError;
use session_actix::{Durability, FsSessionStore, RedisSessionStore};
use session_actix::{Encrypt, EncryptionKey, MemoryStore, SessionStore, Sign, SigningKey};
use session_actix::{SessionConfig, Sessions};

use crate::{
    BenchError, COOKIE_NAME, Counter, Keys, Mode, our_cookie, peer_key_material, redis_url,
};

/// The key of the counter in actix-session's string map.
const ACTIX_COUNTER_KEY: &str = "counter";
/// The variable naming the directory of the `fs` modes (a temporary directory otherwise).
const SESSIONS_DIR_VAR: &str = "SESSIONS_DIR";

/// actix-session's key from the same material as ours ([`peer_key_material`]).
fn actix_key(signing: &SigningKey, encryption: &EncryptionKey) -> Key {
    Key::from(&peer_key_material(signing, encryption))
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

/// Serves an actix-web `mode` until the process is stopped (what `#[actix_web::main]` does).
pub(crate) fn run(mode: Mode, keys: Keys) -> Result<(), BenchError> {
    actix_web::rt::System::new().block_on(serve(mode, keys))
}

async fn serve(mode: Mode, keys: Keys) -> Result<(), BenchError> {
    let Keys {
        signing,
        encryption,
    } = keys;
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
        Mode::AxumBare
        | Mode::AxumCookieSigned
        | Mode::AxumCookieEncrypted
        | Mode::AxumCookieEncryptedOuter
        | Mode::AxumMemory
        | Mode::AxumRedis
        | Mode::TowerMemory
        | Mode::TowerRedis => unreachable!("{mode} is served by axum_modes"),
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

    #[test]
    fn actix_key_is_built_from_both_keys() {
        let signing = SigningKey::from_bytes(&[1; 64]).unwrap();
        let encryption = EncryptionKey::from_bytes(&[2; 32]).unwrap();
        let key = actix_key(&signing, &encryption);
        assert_eq!(key.signing(), &[1; 32]);
        assert_eq!(key.encryption(), &[2; 32]);
    }
}
