//! The state of every session of one request, shared by the handles and the middleware.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use actix_web::http::header::{HeaderMap, HeaderValue};
use session_core::{Record, SessionId};

use crate::SessionError;
use crate::incoming::Incoming;
use crate::provider::Provider;

/// What a handler changed.
#[derive(Default)]
pub(crate) enum Change {
    #[default]
    None,
    Set {
        /// The session's record, with its serialized value.
        record: Record,
        /// Set before the session was loaded (a server-side `set` without `get`): the record
        /// is provisional, and takes the start and CSRF token of the session that was there
        /// once it is known ([`Slot::settle`]).
        blind: bool,
        /// The response header of a client-side record, sealed and rendered at `set` (which
        /// checks its size).
        sealed: Option<HeaderValue>,
        /// The typed value, returned by later `get` calls.
        value: Box<dyn Any + Send>,
    },
    Clear,
}

/// What was received, once looked at.
#[derive(Default)]
pub(crate) struct Loaded {
    /// The valid ID of an existing server-side entry.
    pub(crate) id: Option<SessionId>,
    /// The live session's record.
    pub(crate) record: Option<Record>,
    /// The typed value, when the record's text deserialized.
    pub(crate) value: Option<Box<dyn Any + Send>>,
    /// The value was sealed with an older key.
    pub(crate) stale: bool,
    /// Enough of the idle window has passed to extend it.
    pub(crate) refresh: bool,
    /// A value was received but cannot be used (forged, expired, unknown): the client should
    /// drop it.
    pub(crate) unusable: bool,
    /// A stored entry that can no longer be used, to delete.
    pub(crate) discard: Option<SessionId>,
}

impl Loaded {
    /// No session: nothing was received, or nothing received opened. In the second case the
    /// client should drop its value, unless some of the values it sent were never tried (one
    /// of those may be good).
    pub(crate) fn nothing_opened(incoming: &Incoming, discard: Option<SessionId>) -> Self {
        let sent = *incoming != Incoming::Absent;
        Self {
            unusable: sent && !incoming.truncated(),
            discard,
            ..Self::default()
        }
    }

    pub(crate) fn live(id: Option<SessionId>, record: Record, stale: bool, refresh: bool) -> Self {
        Self {
            id,
            record: Some(record),
            stale,
            refresh,
            ..Self::default()
        }
    }

    /// The text did not deserialize: no session, and the entry is dropped.
    pub(crate) fn reject_text(&mut self) {
        self.record = None;
        self.value = None;
        self.refresh = false;
        self.discard = self.id.take();
        self.unusable = true;
    }
}

/// One session of one request.
pub(crate) struct Slot {
    pub(crate) incoming: Incoming,
    pub(crate) loaded: Option<Loaded>,
    pub(crate) change: Change,
    /// `renew` was called: the session moves to a new ID.
    pub(crate) renew: bool,
    /// `clear` was called: the session that came in has ended, even if a value is set later
    /// in the request (which then starts a new session under a new ID).
    pub(crate) cleared: bool,
    /// An ID chosen before persisting, so a handler can read it.
    pub(crate) pending_id: Option<SessionId>,
}

impl Slot {
    fn new(incoming: Incoming) -> Self {
        Self {
            incoming,
            loaded: None,
            change: Change::None,
            renew: false,
            cleared: false,
            pending_id: None,
        }
    }

    /// Whether a value set now must not keep the incoming session's ID (after `renew` or
    /// `clear`: session fixation).
    pub(crate) fn needs_new_id(&self) -> bool {
        self.renew || self.cleared
    }

    /// Whether a value set now is set blind: nothing is loaded yet, and the incoming session
    /// (if any) goes on.
    pub(crate) fn sets_blind(&self) -> bool {
        self.loaded.is_none()
            && !self.needs_new_id()
            && match &self.change {
                Change::None => true,
                Change::Set { blind, .. } => *blind,
                Change::Clear => false,
            }
    }

    /// Once the session is loaded, a blind `set` continues it: the loaded session's start
    /// (absolute timeout) and CSRF token replace the provisional ones, so that writing without
    /// reading neither extends a session's life nor breaks forms open elsewhere.
    pub(crate) fn settle(&mut self) {
        let Change::Set { record, blind, .. } = &mut self.change else {
            return;
        };
        if !*blind {
            return;
        }
        *blind = false;
        if let Some(loaded) = self.loaded.as_ref().and_then(|l| l.record.as_ref()) {
            record.created_at = loaded.created_at;
            record.csrf_token.clone_from(&loaded.csrf_token);
        }
    }

    /// What a server error response keeps of the handler's changes: the end of the session
    /// (`clear`) and its move to a new ID (`renew`) are applied, ordinary value writes are
    /// not (fail closed for logouts and logins, no half-done data).
    pub(crate) fn keep_only_session_ends(&mut self) {
        if self.cleared {
            self.change = Change::Clear;
        } else if matches!(self.change, Change::Set { .. }) {
            self.change = Change::None;
        }
    }

    /// The start and CSRF token a `set` now builds on: see [`Slot::base_record`].
    pub(crate) fn base(&self) -> Option<(SystemTime, String)> {
        self.base_record()
            .map(|record| (record.created_at, record.csrf_token.clone()))
    }

    /// The record a `set` now builds on: the one set earlier in this request (`renew` makes a
    /// fresh one), or the loaded one unless `renew` started a new session; none after `clear`.
    pub(crate) fn base_record(&self) -> Option<&Record> {
        match &self.change {
            Change::Set { record, .. } => Some(record),
            Change::Clear => None,
            Change::None if self.renew => None,
            Change::None => self.loaded.as_ref().and_then(|l| l.record.as_ref()),
        }
    }

    /// The current value when it is known without loading: `Some(answer)`, else `None`.
    pub(crate) fn current<T: Clone + 'static>(&self) -> Option<Option<T>> {
        match &self.change {
            Change::Set { value, .. } => Some(value.downcast_ref::<T>().cloned()),
            Change::Clear => Some(None),
            Change::None => self.loaded.as_ref().map(|loaded| {
                loaded
                    .value
                    .as_ref()
                    .and_then(|v| v.downcast_ref::<T>().cloned())
            }),
        }
    }
}

/// The sessions of one request under one `Sessions` middleware.
pub(crate) struct RequestState {
    pub(crate) providers: Arc<[Provider]>,
    /// One entry per provider once any session was touched; empty until then.
    slots: Mutex<Vec<Option<Slot>>>,
}

impl RequestState {
    pub(crate) fn new(providers: Arc<[Provider]>) -> Self {
        Self {
            providers,
            slots: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Option<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes sure the slot exists, reading what the request carried the first time.
    pub(crate) fn touch(&self, index: usize, headers: &HeaderMap) {
        let mut slots = self.lock();
        if slots.is_empty() {
            *slots = std::iter::repeat_with(|| None)
                .take(self.providers.len())
                .collect();
        }
        if slots[index].is_none() {
            let incoming = self.providers[index].core.transport.read(headers);
            slots[index] = Some(Slot::new(incoming));
        }
    }

    /// Runs `f` on a touched slot (every handle touched its own when it was made).
    ///
    /// # Errors
    ///
    /// [`SessionError::RequestFinished`] once the response was made and the slots taken, as
    /// by a handle used in a task that outlives its handler.
    pub(crate) fn with_slot<R>(
        &self,
        index: usize,
        f: impl FnOnce(&mut Slot) -> R,
    ) -> Result<R, SessionError> {
        let mut slots = self.lock();
        let slot = slots.get_mut(index).and_then(Option::as_mut);
        slot.map(f).ok_or_else(|| SessionError::RequestFinished {
            name: self.providers[index].core.name.clone(),
        })
    }

    /// Takes the slots, for persisting: one per provider (`None` where untouched), or none
    /// at all when no session was touched.
    pub(crate) fn take_slots(&self) -> Vec<Option<Slot>> {
        std::mem::take(&mut *self.lock())
    }
}
