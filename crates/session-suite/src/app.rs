//! The app the suite talks to, written once: every adapter's one handler calls
//! [`Routes::respond`] with a [`SessionSource`] of its own.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use session_core::SessionId;
use session_engine::{SessionError, SessionHandle};

use crate::{Auth, Cart, Guest, OldUser, User};

/// Where the handler gets its session handles: the adapter's extractor, for any type.
///
/// # Examples
///
/// For an adapter whose extractor reads from a request type `Request`:
///
/// ```no_run
/// # use session_engine::{SessionError, SessionHandle};
/// # struct Request;
/// # struct Session<T>(SessionHandle<T>);
/// # impl<T: Clone + Send + 'static> Session<T> {
/// #     async fn extract(_: &Request) -> Result<Self, SessionError> { Err(SessionError::MiddlewareMissing) }
/// # }
/// struct Source<'a>(&'a Request);
///
/// impl session_suite::SessionSource for Source<'_> {
///     type Error = SessionError;
///
///     async fn session<T: Clone + Send + Sync + 'static>(
///         &self,
///     ) -> Result<SessionHandle<T, SessionError>, SessionError> {
///         Ok(Session::<T>::extract(self.0).await?.0)
///     }
/// }
/// ```
pub trait SessionSource {
    /// The adapter's error, which its framework answers with an empty 500.
    type Error: From<SessionError> + fmt::Debug;

    /// The handle of session type `T` in this request, through the adapter's extractor.
    fn session<T: Clone + Send + Sync + 'static>(
        &self,
    ) -> impl Future<Output = Result<SessionHandle<T, Self::Error>, Self::Error>>;
}

/// What the handler answers, for the adapter to turn into its framework's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers the handler sets itself (such as its own `Cache-Control`).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    fn ok(body: impl Into<String>) -> Self {
        Self::status(200, body)
    }

    fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

/// What of the request the handler reads.
#[derive(Debug, Clone, Copy)]
pub struct AppRequest<'a> {
    /// The method, upper case.
    pub method: &'a str,
    /// The path and query.
    pub uri: &'a str,
    /// The body (a form for `POST /transfer`).
    pub body: &'a [u8],
}

/// The suite app's routes and the state they share (how many requests reached the
/// CSRF-protected route). Cloning is cheap; clones share the state.
///
/// Every route answers `200` unless said otherwise; session errors are returned as the
/// adapter's error (an empty 500 from its framework). Routes without a prefix use [`Cart`]:
///
/// | route | what it does | body |
/// |---|---|---|
/// | `/cart` | `get` | the items (`[1, 3]`) or `empty` |
/// | `/add/{n}` | `get`, push `n`, `set` | the `id` (empty without one) |
/// | `/blind/{n}` | `set` `[n]` without a `get` | empty |
/// | `/login` | `renew`, `set` `[1]` | the `id` |
/// | `/renew` | `renew` | the `id` |
/// | `/id` | `id` | the ID or `none` |
/// | `/require` | `require` (no session: the adapter's error, an empty `401`) | the items |
/// | `/csrf`, `/masked` | `csrf_token`, `masked_csrf_token` | the token or `none` |
/// | `/invalidate/{id}` | `invalidate_id` (`400` for a malformed ID) | empty |
/// | `/logout` | `clear` | empty |
/// | `/clear-then-login` | `clear`, `set` `[42]` | the `id` |
/// | `/logout-fails`, `/login-fails`, `/write-fails` | `clear`; `renew` and `set` `[99]`; `set` `[99]`: then `500` | empty |
/// | `/cached` | `set` `[7]`, with `Cache-Control: private, max-age=5` | empty |
/// | `/write-after-logout/{renew}` | `get`, `invalidate_id` of its own ID, `renew` if `true`, `set` with `2` pushed | empty |
/// | `/visit` | `update` (first item + 1) | the new first item or `-1` |
/// | `/plain` | nothing | `plain` |
/// | `POST /transfer` | counts the call, reads the form | `transferred {amount}` |
/// | `TRACE /transfer` | counts the call | `traced` |
/// | `/user/get` | `get` of [`User`] | `name:visits` or `none` |
/// | `/user/set/{name}` | `set` (percent-decoded name, 0 visits) | `set` |
/// | `/user/set-twice` | `set` `first`, `set` `second`, `get` | the name |
/// | `/user/clear` | `clear` | `cleared` |
/// | `/user/set-then-fail` | `set`, then `500` | `boom` |
/// | `/user/big` | `set` a 5000-byte name | `too large: {error:?}`, `accepted` or `other error: {error:?}` |
/// | `/old-user/set` | `set` an [`OldUser`] | empty |
/// | `/guest/{user}` | `set` a [`Guest`] | empty |
/// | `/whoami` | `get` of [`Auth`] | the user or `nobody` |
///
/// Anything else answers `404`.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    calls: Arc<AtomicUsize>,
}

impl Routes {
    /// How many requests reached `/transfer`.
    #[must_use]
    pub fn protected_calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Answers `request`, getting session handles from `sessions`.
    ///
    /// # Errors
    ///
    /// The session errors of the handles; the adapter's framework answers them with an empty
    /// 500.
    pub async fn respond<S: SessionSource>(
        &self,
        request: AppRequest<'_>,
        sessions: &S,
    ) -> Result<Reply, S::Error> {
        let path = request.uri.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method, segments.as_slice()) {
            ("POST", ["transfer"]) => {
                self.calls.fetch_add(1, Ordering::SeqCst);
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(request.body).unwrap_or_default();
                let amount = form.into_iter().find(|(k, _)| k == "amount");
                let amount = amount.map(|(_, v)| v).unwrap_or_default();
                Ok(Reply::ok(format!("transferred {amount}")))
            }
            ("TRACE", ["transfer"]) => {
                self.calls.fetch_add(1, Ordering::SeqCst);
                Ok(Reply::ok("traced"))
            }
            ("GET", ["plain"]) => Ok(Reply::ok("plain")),
            ("GET", ["user", rest @ ..]) => user(rest, &sessions.session::<User>().await?).await,
            ("GET", ["old-user", "set"]) => {
                let login = "ada".to_owned();
                sessions
                    .session::<OldUser>()
                    .await?
                    .set(OldUser { login })?;
                Ok(Reply::ok(""))
            }
            ("GET", ["guest", user_id]) => {
                let user_id = (*user_id).to_owned();
                sessions.session::<Guest>().await?.set(Guest { user_id })?;
                Ok(Reply::ok(""))
            }
            ("GET", ["cart-write-user-logout"]) => {
                sessions.session::<Cart>().await?.set(items(&[5]))?;
                sessions.session::<User>().await?.clear();
                Ok(Reply::ok(""))
            }
            ("GET", ["whoami"]) => {
                let auth = sessions.session::<Auth>().await?.get().await?;
                Ok(Reply::ok(auth.map_or("nobody".to_owned(), |a| a.user_id)))
            }
            ("GET", segments) => cart(segments, &sessions.session::<Cart>().await?).await,
            _ => Ok(Reply::status(404, "")),
        }
    }
}

/// The body of routes that report the session's ID: the ID, or empty without one.
async fn id_body<E: From<SessionError>>(session: &SessionHandle<Cart, E>) -> Result<Reply, E> {
    let id = session.id().await?;
    Ok(Reply::ok(
        id.map(|id| id.as_str().to_owned()).unwrap_or_default(),
    ))
}

fn items(items: &[i32]) -> Cart {
    Cart {
        items: items.to_vec(),
    }
}

/// The routes of [`Cart`].
async fn cart<E: From<SessionError>>(
    segments: &[&str],
    session: &SessionHandle<Cart, E>,
) -> Result<Reply, E> {
    let none = |token: Option<String>| token.unwrap_or_else(|| "none".to_owned());
    match segments {
        ["cart"] => Ok(Reply::ok(match session.get().await? {
            Some(cart) => format!("{:?}", cart.items),
            None => "empty".to_owned(),
        })),
        ["add", n] => {
            let Ok(n) = n.parse() else {
                return Ok(Reply::status(400, ""));
            };
            let mut cart = session.get().await?.unwrap_or_else(|| items(&[]));
            cart.items.push(n);
            session.set(cart)?;
            id_body(session).await
        }
        ["blind", n] => {
            let Ok(n) = n.parse() else {
                return Ok(Reply::status(400, ""));
            };
            session.set(items(&[n]))?;
            Ok(Reply::ok(""))
        }
        ["login"] => {
            session.renew().await?;
            session.set(items(&[1]))?;
            id_body(session).await
        }
        ["renew"] => {
            session.renew().await?;
            id_body(session).await
        }
        ["require"] => Ok(Reply::ok(format!("{:?}", session.require().await?.items))),
        ["id"] => Ok(Reply::ok(none(
            session.id().await?.map(|id| id.as_str().to_owned()),
        ))),
        ["csrf"] => Ok(Reply::ok(none(session.csrf_token().await?))),
        ["masked"] => Ok(Reply::ok(none(session.masked_csrf_token().await?))),
        ["invalidate", id] => {
            let Ok(id) = SessionId::parse(id) else {
                return Ok(Reply::status(400, ""));
            };
            session.invalidate_id(&id).await?;
            Ok(Reply::ok(""))
        }
        ["logout"] => {
            session.clear();
            Ok(Reply::ok(""))
        }
        ["clear-then-login"] => {
            session.clear();
            session.set(items(&[42]))?;
            id_body(session).await
        }
        ["logout-fails"] => {
            session.clear();
            Ok(Reply::status(500, ""))
        }
        ["login-fails"] => {
            session.renew().await?;
            session.set(items(&[99]))?;
            Ok(Reply::status(500, ""))
        }
        ["write-fails"] => {
            session.set(items(&[99]))?;
            Ok(Reply::status(500, ""))
        }
        ["cached"] => {
            session.set(items(&[7]))?;
            let mut reply = Reply::ok("");
            reply
                .headers
                .push(("cache-control", "private, max-age=5".to_owned()));
            Ok(reply)
        }
        ["write-after-logout", renew] => {
            let cart = session.get().await?.unwrap_or_else(|| items(&[]));
            // Meanwhile, the user logs out elsewhere.
            let id = session.id().await?.expect("a session");
            session.invalidate_id(&id).await?;
            if *renew == "true" {
                session.renew().await?;
            }
            session.set(items(&[cart.items, vec![2]].concat()))?;
            Ok(Reply::ok(""))
        }
        ["visit"] => {
            let cart = session.update(|cart| cart.items[0] += 1).await?;
            Ok(Reply::ok(cart.map_or(-1, |cart| cart.items[0]).to_string()))
        }
        _ => Ok(Reply::status(404, "")),
    }
}

/// The routes of [`User`], after `/user/`.
async fn user<E: From<SessionError> + fmt::Debug>(
    segments: &[&str],
    session: &SessionHandle<User, E>,
) -> Result<Reply, E> {
    let named = |name: &str, visits| User {
        name: name.to_owned(),
        visits,
    };
    match segments {
        ["get"] => Ok(Reply::ok(match session.get().await? {
            Some(user) => format!("{}:{}", user.name, user.visits),
            None => "none".to_owned(),
        })),
        ["set", name] => {
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            session.set(named(&name, 0))?;
            Ok(Reply::ok("set"))
        }
        ["set-twice"] => {
            session.set(named("first", 1))?;
            session.set(named("second", 2))?;
            let now = session.get().await?.map(|u| u.name).unwrap_or_default();
            Ok(Reply::ok(now))
        }
        ["clear"] => {
            session.clear();
            Ok(Reply::ok("cleared"))
        }
        ["set-then-fail"] => {
            session.set(named("ghost", 0))?;
            Ok(Reply::status(500, "boom"))
        }
        ["big"] => Ok(Reply::ok(match session.set(named(&"x".repeat(5000), 0)) {
            Err(error) if format!("{error:?}").starts_with("CookieTooLarge") => {
                format!("too large: {error:?}")
            }
            Err(error) => format!("other error: {error:?}"),
            Ok(()) => "accepted".to_owned(),
        })),
        _ => Ok(Reply::status(404, "")),
    }
}
