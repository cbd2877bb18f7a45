//! The typed session handle: an extractor and the way handlers read and change a session.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpRequest};
use session_core::{Record, SessionId};

use crate::provider::{Provider, SerializerBox};
use crate::slot::{Change, Loaded, RequestState};
use crate::{SessionError, active};

/// The session of type `T` in the current request.
///
/// Use it as a handler argument (an extractor) or get it with
/// [`SessionExt::session`](crate::SessionExt::session). Nothing is unsealed or read from
/// storage until [`Session::get`] (or [`Session::id`]) is called, and nothing is written unless
/// the handler changes the session. The handle is `Send + Sync` and cheap to clone; all clones
/// in a request share one state. To use the session in a task the handler spawns, move the
/// handle there and await the task before the handler returns: a task cannot get a handle by
/// itself ([`SessionError::MiddlewareMissing`]), and once the response is made a handle only
/// returns [`SessionError::RequestFinished`].
///
/// # Examples
///
/// ```no_run
/// use actix_web::{HttpResponse, get};
/// use serde::{Deserialize, Serialize};
/// use session_actix::{Session, SessionError};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct UserSession { id: String, count: u32 }
///
/// #[get("/user")]
/// async fn user(session: Session<UserSession>) -> Result<HttpResponse, SessionError> {
///     Ok(match session.get().await? {
///         Some(user) => {
///             session.set(UserSession { count: user.count + 1, ..user.clone() })?;
///             HttpResponse::Ok().body(format!("Hello {}, visit {}", user.id, user.count))
///         }
///         None => HttpResponse::Unauthorized().finish(),
///     })
/// }
/// ```
pub struct Session<T> {
    state: Arc<RequestState>,
    index: usize,
    marker: PhantomData<fn() -> T>,
}

impl<T> Clone for Session<T> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            index: self.index,
            marker: PhantomData,
        }
    }
}

impl<T> Session<T> {
    fn provider(&self) -> &Provider {
        &self.state.providers[self.index]
    }
}

impl<T> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("name", &self.provider().core.name)
            .field("type", &self.provider().type_name)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> Session<T> {
    /// The handle for `T` from the innermost active `Sessions` layer that registered it
    /// (see [`crate::active`]), reading what the request carried on first use.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, SessionError> {
        let (state, index) = active::state_for(
            std::any::TypeId::of::<T>(),
            std::any::type_name::<T>(),
            headers,
        )?;
        state.touch(index, headers);
        Ok(Self {
            state,
            index,
            marker: PhantomData,
        })
    }

    fn serializer(&self) -> &SerializerBox<T> {
        self.provider()
            .serializer
            .downcast_ref::<SerializerBox<T>>()
            .expect("registered with the serializer of its type")
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
    pub async fn get(&self) -> Result<Option<T>, SessionError> {
        if let Some(answer) = self
            .state
            .with_slot(self.index, |slot| slot.current::<T>())?
        {
            return Ok(answer);
        }
        self.ensure_loaded().await?;
        self.state
            .with_slot(self.index, |slot| slot.current::<T>().flatten())
    }

    /// Loads and deserializes what the request carried, once.
    async fn ensure_loaded(&self) -> Result<(), SessionError> {
        let incoming = self.state.with_slot(self.index, |slot| {
            slot.loaded.is_none().then(|| slot.incoming.clone())
        })?;
        let Some(incoming) = incoming else {
            return Ok(());
        };
        let loaded = self.provider().core.load(&incoming).await?;
        self.keep_loaded(loaded)
    }

    /// Loads a client-side session now (nothing to wait for), when it is not loaded yet.
    fn ensure_loaded_client_side(&self) -> Result<(), SessionError> {
        let core = &self.provider().core;
        let loaded = self.state.with_slot(self.index, |slot| {
            slot.loaded
                .is_none()
                .then(|| core.load_client_side(&slot.incoming))
        })?;
        loaded.map_or(Ok(()), |loaded| self.keep_loaded(loaded))
    }

    /// Deserializes a loaded record's text and keeps the result in the slot (unless another
    /// clone of the handle got there first).
    fn keep_loaded(&self, mut loaded: Loaded) -> Result<(), SessionError> {
        if let Some(record) = &loaded.record {
            match self.serializer().0.deserialize(&record.text) {
                Ok(value) => loaded.value = Some(Box::new(value)),
                Err(error) => {
                    tracing::debug!(session = %self.name(), %error, "session text no longer deserializes");
                    loaded.reject_text();
                }
            }
        }
        self.state.with_slot(self.index, |slot| {
            if slot.loaded.is_none() {
                slot.loaded = Some(loaded);
                slot.settle();
            }
        })
    }

    /// Replaces the session's value; the last `set` of a request wins. The change is written
    /// when the response is sent, unless the response is a server error (5xx).
    ///
    /// A session that goes on keeps its start time (for the absolute timeout) and its CSRF
    /// token, whether or not it was read first: writing never extends a session's absolute
    /// lifetime. After [`Session::clear`] or [`Session::renew`] in the same request, `set`
    /// starts a new session under a new ID, and the old ID is dead (session fixation
    /// defence: "clear, then set the user" is a safe way to log in).
    ///
    /// # Errors
    ///
    /// [`SessionError::CookieTooLarge`] when a client-side cookie would exceed 4096 bytes
    /// (nothing is changed), and [`SessionError::Serialize`] or [`SessionError::Seal`].
    pub fn set(&self, value: T) -> Result<(), SessionError> {
        let core = &self.provider().core;
        let text = self.serializer().0.serialize(&value)?;
        if !core.is_server_side() {
            // The sealed value is made now: the session it continues must be known now.
            self.ensure_loaded_client_side()?;
        }
        let (base, blind) = self
            .state
            .with_slot(self.index, |slot| (slot.base(), slot.sets_blind()))?;
        let record = self.record_for(base, text);
        let sealed = core.seal_record(&record)?;
        self.state.with_slot(self.index, |slot| {
            slot.change = Change::Set {
                record,
                blind,
                sealed,
                value: Box::new(value),
            };
        })?;
        Ok(())
    }

    /// The record holding `text`: the session of `base` (its start and CSRF token) continued,
    /// or a new one.
    fn record_for(&self, base: Option<(SystemTime, String)>, text: String) -> Record {
        let lifetime = &self.provider().core.lifetime;
        let now = lifetime.now();
        let server_side = self.provider().core.is_server_side();
        let expiry = |created_at| {
            // A client-side copy carries its expiry; a server-side one lives in a store.
            (!server_side)
                .then(|| lifetime.deadline(created_at, now))
                .flatten()
        };
        match base.filter(|(created_at, _)| lifetime.deadline(*created_at, now).is_some()) {
            Some((created_at, csrf_token)) => {
                Record::continued(created_at, csrf_token, text, expiry(created_at))
            }
            None => Record::new(text, now, expiry(now)),
        }
    }

    /// Changes the session's value atomically: `change` is applied to the value in the storage
    /// and the result is written only if nobody wrote the session meanwhile; otherwise the
    /// latest value is read and `change` runs again. So concurrent requests of one session
    /// (two tabs, parallel API calls) lose no update. The write happens now, not when the
    /// response is sent, so it stays even if the response turns out a server error (5xx),
    /// unlike [`Session::set`]. Returns the new value, or `None` when there is no session (and
    /// `change` is not called).
    ///
    /// `change` may run several times: keep it free of side effects. For client-side sessions
    /// there is nothing shared to update atomically; this is `get`, `change` and `set`.
    ///
    /// # Errors
    ///
    /// [`SessionError::UpdateConflict`] after 100 conflicting attempts in a row,
    /// [`SessionError::Store`] (including [`StoreError::Unsupported`] from a store without
    /// `compare_and_swap`), and the errors of [`Session::set`].
    ///
    /// [`StoreError::Unsupported`]: session_core::StoreError::Unsupported
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_actix::{Session, SessionError};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Visits { count: u32 }
    /// async fn visit(session: Session<Visits>) -> Result<String, SessionError> {
    ///     let visits = session.update(|v| v.count += 1).await?;
    ///     Ok(visits.map_or("no session".to_owned(), |v| v.count.to_string()))
    /// }
    /// ```
    pub async fn update<F>(&self, mut change: F) -> Result<Option<T>, SessionError>
    where
        F: FnMut(&mut T) + Send,
    {
        const MAX_ATTEMPTS: usize = 100;
        let core = &self.provider().core;
        let pending_change = self.state.with_slot(self.index, |slot| {
            !matches!(slot.change, Change::None) || slot.needs_new_id()
        })?;
        let Some(store) = core.store.as_deref().filter(|_| !pending_change) else {
            // Client-side, or already changed in this request: the change is this request's.
            let Some(mut value) = self.get().await? else {
                return Ok(None);
            };
            change(&mut value);
            self.set(value.clone())?;
            return Ok(Some(value));
        };
        self.ensure_loaded().await?;
        let Some(id) = self.state.with_slot(self.index, |slot| {
            slot.loaded.as_ref().and_then(|l| l.id.clone())
        })?
        else {
            return Ok(None);
        };
        for _ in 0..MAX_ATTEMPTS {
            let Some(entry) = store.load_entry(&id).await? else {
                return Ok(None);
            };
            let Some(record) = core.decode_record(&entry.text) else {
                return Ok(None);
            };
            let Ok(mut value) = self.serializer().0.deserialize(&record.text) else {
                return Ok(None);
            };
            change(&mut value);
            let text = self.serializer().0.serialize(&value)?;
            let updated = record.with_text(text, None);
            let ttl = core.server_ttl(&updated);
            if store
                .compare_and_swap(&id, &entry.text, &core.encode_record(&updated), ttl)
                .await?
            {
                let kept = value.clone();
                self.state.with_slot(self.index, |slot| {
                    if let Some(loaded) = slot.loaded.as_mut() {
                        loaded.record = Some(updated);
                        loaded.value = Some(Box::new(kept));
                        loaded.refresh = false;
                    }
                })?;
                return Ok(Some(value));
            }
            actix_web::rt::task::yield_now().await;
        }
        Err(SessionError::UpdateConflict {
            name: core.name.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Ends the session: the storage entry is deleted and a cookie transport sends an expired
    /// cookie with the same `Path`, `Domain`, `Secure` and `SameSite`. A value
    /// [`set`](Session::set) later in the same request starts a new session under a new ID.
    /// The end is applied even when the response is a server error (5xx). Used after the
    /// response was made (from a task that outlived the handler), it does nothing: the other
    /// methods return [`SessionError::RequestFinished`] then.
    pub fn clear(&self) {
        // After the response nothing can be sent any more: there is nothing left to clear.
        let _finished = self.state.with_slot(self.index, |slot| {
            slot.change = Change::Clear;
            slot.cleared = true;
            slot.renew = false;
            slot.pending_id = None;
        });
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
    /// errors of [`Session::set`] when re-sealing a client-side value.
    pub async fn renew(&self) -> Result<(), SessionError> {
        self.ensure_loaded().await?;
        let current = self.state.with_slot(self.index, |slot| {
            slot.renew = true;
            slot.pending_id = None;
            match &slot.change {
                Change::Set { record, value, .. } => value
                    .downcast_ref::<T>()
                    .cloned()
                    .map(|v| (record.text.clone(), v)),
                Change::Clear => None,
                Change::None => slot.loaded.as_ref().and_then(|loaded| {
                    let text = loaded.record.as_ref()?.text.clone();
                    let value = loaded.value.as_ref()?.downcast_ref::<T>()?.clone();
                    Some((text, value))
                }),
            }
        })?;
        let Some((text, value)) = current else {
            return Ok(());
        };
        let record = self.record_for(None, text);
        let sealed = self.provider().core.seal_record(&record)?;
        self.state.with_slot(self.index, |slot| {
            slot.change = Change::Set {
                record,
                blind: false,
                sealed,
                value: Box::new(value),
            };
        })?;
        Ok(())
    }

    /// The session's CSRF token (256 random bits, URL-safe), for a hidden form field or a
    /// request header checked by [`CsrfProtection`](crate::CsrfProtection); `None` without a
    /// session. It stays the same for the whole session and changes with [`Session::renew`].
    /// Sessions configured [`without_envelope`](crate::SessionConfig::without_envelope) have
    /// none.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session.
    pub async fn csrf_token(&self) -> Result<Option<String>, SessionError> {
        if !self.provider().core.envelope {
            return Ok(None);
        }
        self.ensure_loaded().await?;
        self.state.with_slot(self.index, |slot| {
            slot.base_record().map(|record| record.csrf_token.clone())
        })
    }

    /// Ends another server-side session of this type by its ID (for example the user's
    /// sessions on other devices, whose IDs the app recorded with [`Session::id`]). The current
    /// session is not affected unless `id` is its own.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotServerSide`] for a client-side session, and [`SessionError::Store`].
    pub async fn invalidate_id(&self, id: &SessionId) -> Result<(), SessionError> {
        self.provider().invalidate(id).await
    }

    /// The ID of a server-side session: the current one, or the one that the response will
    /// carry after [`Session::set`] or [`Session::renew`]. `None` for client-side sessions and
    /// when there is no session.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the storage failed while loading the session.
    pub async fn id(&self) -> Result<Option<SessionId>, SessionError> {
        if !self.provider().core.is_server_side() {
            return Ok(None);
        }
        self.ensure_loaded().await?;
        self.state.with_slot(self.index, |slot| {
            let current = slot.loaded.as_ref().and_then(|l| l.id.clone());
            let has_set = matches!(slot.change, Change::Set { .. });
            let needs_new = (slot.needs_new_id() && (current.is_some() || has_set))
                || (has_set && current.is_none());
            match slot.change {
                Change::Clear => None,
                _ if needs_new => Some(
                    slot.pending_id
                        .get_or_insert_with(SessionId::generate)
                        .clone(),
                ),
                _ => current,
            }
        })
    }
}

impl<T: Clone + Send + 'static> FromRequest for Session<T> {
    type Error = SessionError;
    type Future = Ready<Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Self::from_headers(req.headers()))
    }
}
