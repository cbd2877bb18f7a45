//! The typed session handle: how handlers read and change a session.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::Poll;

use session_core::{Record, Serializer, SessionId, mask_csrf_token};

use crate::SessionError;
use crate::provider::Provider;
use crate::request::RequestState;
use crate::slot::{Base, Loaded, NewValue, Slot};

/// The session of type `T` in the current request: the engine's handle, which each adapter
/// wraps in its `Session<T>` extractor (`E` is the adapter's error type, see
/// [`session_error!`](crate::session_error)).
///
/// Nothing is unsealed or read from storage until [`get`](Self::get) (or [`id`](Self::id))
/// is called, and nothing is written unless the handler changes the session. The handle is
/// `Send + Sync` and cheap to clone; all clones in a request share one state. Once the
/// response is made a handle only returns [`SessionError::RequestFinished`].
///
/// # Examples
///
/// ```no_run
/// # use session_engine::{SessionError, SessionHandle};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Visits { count: u32 }
///
/// async fn visit(session: &SessionHandle<Visits>) -> Result<u32, SessionError> {
///     let count = session.get().await?.map_or(0, |v| v.count) + 1;
///     session.set(Visits { count })?;
///     Ok(count)
/// }
/// ```
pub struct SessionHandle<T, E = SessionError> {
    state: Arc<RequestState>,
    index: usize,
    serializer: Arc<dyn Serializer<T>>,
    marker: PhantomData<fn() -> E>,
}

impl<T, E> Clone for SessionHandle<T, E> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            index: self.index,
            serializer: Arc::clone(&self.serializer),
            marker: PhantomData,
        }
    }
}

impl<T, E> SessionHandle<T, E> {
    fn provider(&self) -> &Provider {
        &self.state.registry().providers()[self.index]
    }
}

impl<T, E> fmt::Debug for SessionHandle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("name", &self.provider().core.name)
            .field("type", &self.provider().type_name)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static, E: From<SessionError>> SessionHandle<T, E> {
    /// The handle of the session registered at `index` of `state`'s registry, which is `T`'s.
    pub(crate) fn new(state: Arc<RequestState>, index: usize) -> Result<Self, SessionError> {
        let provider = &state.registry().providers()[index];
        let serializer = provider
            .serializer::<T>()
            .ok_or_else(|| SessionError::NotRegistered {
                type_name: std::any::type_name::<T>(),
            })?;
        Ok(Self {
            state,
            index,
            serializer,
            marker: PhantomData,
        })
    }

    /// Runs `f` on this session's slot ([`RequestState::with_slot`]).
    fn slot<R>(&self, f: impl FnOnce(&mut crate::slot::Slot) -> R) -> Result<R, E> {
        Ok(self.state.with_slot(self.index, f)?)
    }

    /// The session's name (its cookie or header name).
    pub fn name(&self) -> &str {
        &self.provider().core.name
    }

    /// The session's value, or `None` when there is none.
    ///
    /// A value that is forged, truncated, sealed with an unknown key, of an unknown ID, expired
    /// or of an old schema is `None` (and a cookie transport tells the client to drop it).
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed; returned from a handler with `?` it
    /// answers an empty 500.
    pub async fn get(&self) -> Result<Option<T>, E> {
        if let Some(answer) = self.slot(|slot| slot.current::<T>())? {
            return Ok(answer);
        }
        self.ensure_loaded().await?;
        self.slot(|slot| slot.current::<T>().flatten())
    }

    /// The session's value, which the route requires: [`get`](Self::get) without the
    /// `None => 401` every handler would write.
    ///
    /// # Errors
    ///
    /// [`SessionError::Missing`] when there is no session (none sent, or one that
    /// [`get`](Self::get) finds forged, expired or gone): returned from a handler with `?`,
    /// the adapters answer it with an empty `401 Unauthorized` (with `WWW-Authenticate: Bearer`
    /// for a bearer session). [`SessionError::Store`] when
    /// the storage failed (an empty 500).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_engine::{SessionError, SessionHandle};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { name: String }
    ///
    /// async fn greet(session: &SessionHandle<User>) -> Result<String, SessionError> {
    ///     let user = session.require().await?; // no session: SessionError::Missing, a 401
    ///     Ok(format!("Hello {}", user.name))
    /// }
    /// ```
    pub async fn require(&self) -> Result<T, E> {
        match self.get().await? {
            Some(value) => Ok(value),
            None => Err(SessionError::Missing {
                name: self.name().to_owned(),
                challenge: self.provider().core.transport.challenge(),
            }
            .into()),
        }
    }

    /// Loads and deserializes what the request carried, once.
    async fn ensure_loaded(&self) -> Result<(), E> {
        let incoming = self.slot(|slot| slot.to_load().cloned())?;
        let Some(incoming) = incoming else {
            return Ok(());
        };
        let loaded = self.provider().core.load(&incoming).await?;
        self.keep_loaded(loaded)
    }

    /// Loads a client-side session now (nothing to wait for), when it is not loaded yet.
    fn ensure_loaded_client_side(&self) -> Result<(), E> {
        let core = &self.provider().core;
        let loaded = self.slot(|slot| {
            slot.to_load()
                .map(|incoming| core.load_client_side(incoming))
        })?;
        loaded.map_or(Ok(()), |loaded| self.keep_loaded(loaded))
    }

    /// Deserializes a loaded record's text and keeps the result in the slot (unless another
    /// clone of the handle got there first).
    fn keep_loaded(&self, mut loaded: Loaded) -> Result<(), E> {
        if let Some(record) = &loaded.record {
            match self.serializer.deserialize(&record.text) {
                Ok(value) => loaded.value = Some(Box::new(value)),
                Err(error) => {
                    tracing::debug!(session = %self.name(), %error, "session text no longer deserializes");
                    loaded.reject_text();
                }
            }
        }
        self.slot(|slot| slot.keep_loaded(loaded))
    }

    /// Replaces the session's value; the last `set` of a request wins. The change is written
    /// when the response is sent, unless the response is a server error (5xx).
    ///
    /// A session that goes on keeps its start time (for the absolute timeout) and its CSRF
    /// token, whether or not it was read first: writing never extends a session's absolute
    /// lifetime. After [`Self::clear`] or [`Self::renew`] in the same request, `set`
    /// starts a new session under a new ID, and the old ID is dead (session fixation
    /// defence: "clear, then set the user" is a safe way to log in).
    ///
    /// # Errors
    ///
    /// [`SessionError::CookieTooLarge`] when a client-side cookie would exceed 4096 bytes
    /// (nothing is changed), and [`SessionError::Serialize`] or [`SessionError::Seal`].
    pub fn set(&self, value: T) -> Result<(), E> {
        let core = &self.provider().core;
        let text = self
            .serializer
            .serialize(&value)
            .map_err(SessionError::from)?;
        if !core.is_server_side() {
            // The sealed value is made now: the session it continues must be known now.
            self.ensure_loaded_client_side()?;
        }
        let (base, blind) = self.slot(|slot| slot.base())?;
        let record = self.record_for(base, text);
        let sealed = core.seal_record(&record)?;
        let value = NewValue {
            record,
            sealed,
            value: Box::new(value),
        };
        self.slot(|slot| slot.set(value, blind))
    }

    /// The record holding `text`: the session of `base` (its start and CSRF token) continued,
    /// or a new one.
    fn record_for(&self, base: Option<Base>, text: String) -> Record {
        let lifetime = &self.provider().core.lifetime;
        let now = lifetime.now();
        let server_side = self.provider().core.is_server_side();
        let expiry = |created_at| {
            // A client-side copy carries its expiry; a server-side one lives in a store.
            (!server_side)
                .then(|| lifetime.deadline(created_at, now))
                .flatten()
        };
        match base.filter(|base| lifetime.deadline(base.created_at, now).is_some()) {
            Some(base) => {
                let expires_at = expiry(base.created_at);
                Record::continued(base.created_at, base.csrf_token, text, expires_at)
                    .issued_at(base.id_issued_at)
            }
            None => Record::new(text, now, expiry(now)),
        }
    }

    /// Changes the session's value atomically: `change` is applied to the value in the storage
    /// and the result is written only if nobody wrote the session meanwhile; otherwise the
    /// latest value is read and `change` runs again. So concurrent requests of one session
    /// (two tabs, parallel API calls) lose no update. The write happens now, not when the
    /// response is sent, so it stays even if the response turns out a server error (5xx),
    /// unlike [`Self::set`]. Returns the new value, or `None` when there is no session (and
    /// `change` is not called).
    ///
    /// `change` may run several times: keep it free of side effects. For client-side sessions
    /// there is nothing shared to update atomically; this is `get`, `change` and `set`.
    ///
    /// It needs a store with compare-and-swap: [`SessionsBuilder::build`] refuses a store that
    /// does not declare it ([`ConfigError::StoreWithoutCompareAndSwap`]) unless the session
    /// opted out with [`SessionConfig::without_atomic_update`]; on such a store `update` is
    /// `get`, `change` and `set` too (written with the response, last writer wins).
    ///
    /// # Errors
    ///
    /// [`SessionError::UpdateConflict`] after 100 conflicting attempts in a row,
    /// [`SessionError::Store`] (including [`StoreError::Unsupported`] from a store that
    /// declares `compare_and_swap` but does not implement it), and the errors of
    /// [`Self::set`].
    ///
    /// [`StoreError::Unsupported`]: session_core::StoreError::Unsupported
    /// [`SessionsBuilder::build`]: crate::SessionsBuilder::build
    /// [`ConfigError::StoreWithoutCompareAndSwap`]: crate::ConfigError::StoreWithoutCompareAndSwap
    /// [`SessionConfig::without_atomic_update`]: crate::SessionConfig::without_atomic_update
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_engine::{SessionError, SessionHandle};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Visits { count: u32 }
    /// async fn visit(session: SessionHandle<Visits>) -> Result<String, SessionError> {
    ///     let visits = session.update(|v| v.count += 1).await?;
    ///     Ok(visits.map_or("no session".to_owned(), |v| v.count.to_string()))
    /// }
    /// ```
    pub async fn update<F>(&self, mut change: F) -> Result<Option<T>, E>
    where
        F: FnMut(&mut T) + Send,
    {
        const MAX_ATTEMPTS: usize = 100;
        let core = &self.provider().core;
        let pending_change = self.slot(|slot| slot.changed())?;
        let atomic = |store: &&dyn session_core::DynSessionStore| {
            !pending_change && store.capabilities().compare_and_swap
        };
        let Some(store) = core.store.as_deref().filter(atomic) else {
            // Client-side, already changed in this request (the change is this request's), or
            // a store without compare-and-swap that the app accepted (`without_atomic_update`).
            let Some(mut value) = self.get().await? else {
                return Ok(None);
            };
            change(&mut value);
            self.set(value.clone())?;
            return Ok(Some(value));
        };
        self.ensure_loaded().await?;
        let Some(id) = self.slot(|slot| slot.loaded_id().cloned())? else {
            return Ok(None);
        };
        for _ in 0..MAX_ATTEMPTS {
            // Following a rotation another request made meanwhile.
            let Some((current, entry, _)) = core.load_current(store, &id).await? else {
                return Ok(None);
            };
            let Some(record) = core.decode_record(&entry.text) else {
                return Ok(None);
            };
            let Ok(mut value) = self.serializer.deserialize(&record.text) else {
                return Ok(None);
            };
            change(&mut value);
            let text = self
                .serializer
                .serialize(&value)
                .map_err(SessionError::from)?;
            let updated = record.with_text(text, None);
            let ttl = core.server_ttl(&updated);
            if store
                .compare_and_swap(&current, &entry.text, &core.encode_record(&updated), ttl)
                .await
                .map_err(SessionError::from)?
            {
                let kept = value.clone();
                self.slot(|slot| slot.updated(current, updated, Box::new(kept)))?;
                return Ok(Some(value));
            }
            yield_now().await;
        }
        Err(E::from(SessionError::UpdateConflict {
            name: core.name.clone(),
            attempts: MAX_ATTEMPTS,
        }))
    }

    /// Ends the session: the storage entry is deleted and a cookie transport sends an expired
    /// cookie with the same `Path`, `Domain`, `Secure` and `SameSite`. A value
    /// [`set`](Self::set) later in the same request starts a new session under a new ID.
    /// The end is applied even when the response is a server error (5xx). Used after the
    /// response was made (from a task that outlived the handler), it does nothing: the other
    /// methods return [`SessionError::RequestFinished`] then.
    pub fn clear(&self) {
        // After the response nothing can be sent any more: there is nothing left to clear.
        let _finished = self.slot(Slot::clear);
    }

    /// Starts the session anew, as on login (session fixation defence): a server-side session
    /// moves to a new ID when the response is sent and its old ID is invalidated; the session's
    /// start time (absolute timeout) and CSRF token are new too. A value set later in the
    /// request goes to the new session. Without a session, the next `set` starts one anyway.
    /// The move to a new ID is applied even when the response is a server error (5xx), with
    /// the value the session had before the request.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session, and the
    /// errors of [`Self::set`] when re-sealing a client-side value.
    pub async fn renew(&self) -> Result<(), E> {
        self.ensure_loaded().await?;
        let Some((text, value)) = self.slot(|slot| slot.renewed_value::<T>())? else {
            return self.slot(|slot| slot.renew(None));
        };
        let record = self.record_for(None, text);
        let sealed = self.provider().core.seal_record(&record)?;
        let value = NewValue {
            record,
            sealed,
            value: Box::new(value),
        };
        self.slot(|slot| slot.renew(Some(value)))
    }

    /// The session's CSRF token (256 random bits, URL-safe), for a hidden form field or a
    /// request header checked by the adapters' `CsrfProtection` ([`CsrfPolicy`](crate::CsrfPolicy)); `None` without a
    /// session. It stays the same for the whole session and changes with [`renew`](Self::renew).
    /// Sessions configured [`without_envelope`](crate::SessionConfig::without_envelope) have
    /// none.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session.
    pub async fn csrf_token(&self) -> Result<Option<String>, E> {
        if !self.provider().core.envelope {
            return Ok(None);
        }
        self.ensure_loaded().await?;
        self.slot(|slot| slot.base_record().map(|record| record.csrf_token.clone()))
    }

    /// A masked form of the session's CSRF token, different on every call and accepted by
    /// the CSRF check like the token itself ([`mask_csrf_token`]): hand out a fresh one with
    /// each page, so that compressed responses never repeat the secret (BREACH). `None`
    /// without a session, and for sessions configured
    /// [`without_envelope`](crate::SessionConfig::without_envelope).
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session.
    pub async fn masked_csrf_token(&self) -> Result<Option<String>, E> {
        Ok(self
            .csrf_token()
            .await?
            .as_deref()
            .and_then(mask_csrf_token))
    }

    /// Ends another server-side session of this type by its ID (for example the user's
    /// sessions on other devices, whose IDs the app recorded with [`Self::id`]). The current
    /// session is not affected unless `id` is its own. With
    /// [`rotate_id_every`](crate::SessionConfig::rotate_id_every), an ID that was rotated away
    /// within the grace window leads to its session, which ends too (unless it is this
    /// request's own: a list may still hold the asking device's previous ID).
    ///
    /// # Errors
    ///
    /// [`SessionError::NotServerSide`] for a client-side session, and [`SessionError::Store`].
    pub async fn invalidate_id(&self, id: &SessionId) -> Result<(), E> {
        // Only a rotation leaves forwards that could lead back to this request's session.
        let own = if self.provider().core.rotates() {
            self.id().await?
        } else {
            None
        };
        Ok(self.provider().invalidate(id, own.as_ref()).await?)
    }

    /// The ID of a server-side session: the current one, or the one that the response will
    /// carry after [`Self::set`] or [`Self::renew`]. `None` for client-side sessions and
    /// when there is no session.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session.
    pub async fn id(&self) -> Result<Option<SessionId>, E> {
        if !self.provider().core.is_server_side() {
            return Ok(None);
        }
        self.ensure_loaded().await?;
        self.slot(Slot::id)
    }
}

/// Lets other tasks run once before the next attempt, without a runtime of its own.
fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}
