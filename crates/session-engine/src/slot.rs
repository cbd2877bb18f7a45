//! The state of one session of one request: what came in, what was loaded, what changed.

use std::any::Any;
use std::time::SystemTime;

use bytes::Bytes;
use session_core::{Record, SessionId};

use crate::incoming::Incoming;

/// A value set by a handler.
pub(crate) struct NewValue {
    /// The session's record, with the serialized value.
    pub(crate) record: Record,
    /// The response header of a client-side record, sealed and rendered at `set` (which
    /// checks its size).
    pub(crate) sealed: Option<Bytes>,
    /// The typed value, returned by later `get` calls.
    pub(crate) value: Box<dyn Any + Send>,
}

/// What the request did to the session.
#[derive(Default)]
pub(crate) enum Status {
    /// Nothing (it may have been read).
    #[default]
    Unchanged,
    /// A new value for the session that goes on, or that starts if there was none.
    Changed {
        value: NewValue,
        /// Set before the session was loaded (a server-side `set` without `get`): the record
        /// is provisional, and takes the start and CSRF token of the session that was there
        /// once it is known ([`Slot::settle`]).
        blind: bool,
    },
    /// `renew`: the session moves to a new ID with a new start and CSRF token, carrying the
    /// value given, or (`None`) the loaded one.
    Renewed(Option<NewValue>),
    /// `clear`: the session that came in has ended; a value set afterwards starts a new
    /// session under a new ID.
    Cleared(Option<NewValue>),
}

impl Status {
    /// The value set in this request, if any.
    pub(crate) fn new_value(&self) -> Option<&NewValue> {
        match self {
            Self::Changed { value, .. } => Some(value),
            Self::Renewed(value) | Self::Cleared(value) => value.as_ref(),
            Self::Unchanged => None,
        }
    }

    /// The one rule for a new ID: a session that was renewed or cleared never keeps the ID
    /// it came with (session fixation); a changed one keeps it unless it had none.
    pub(crate) fn needs_new_id(&self, has_id: bool) -> bool {
        match self {
            Self::Unchanged => false,
            Self::Changed { .. } => !has_id,
            Self::Renewed(value) => has_id || value.is_some(),
            Self::Cleared(value) => value.is_some(),
        }
    }
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
    incoming: Incoming,
    loaded: Option<Loaded>,
    status: Status,
    /// An ID chosen before persisting, so a handler can read it.
    pending_id: Option<SessionId>,
}

/// What a value set now continues: the session's start, CSRF token and ID issue time.
pub(crate) struct Base {
    pub(crate) created_at: SystemTime,
    pub(crate) csrf_token: String,
    pub(crate) id_issued_at: SystemTime,
}

/// A slot's parts, for persisting.
pub(crate) struct Settled {
    pub(crate) incoming: Incoming,
    pub(crate) loaded: Loaded,
    pub(crate) status: Status,
    pub(crate) pending_id: Option<SessionId>,
}

impl Slot {
    pub(crate) fn new(incoming: Incoming) -> Self {
        Self {
            incoming,
            loaded: None,
            status: Status::Unchanged,
            pending_id: None,
        }
    }

    /// What the request carried.
    pub(crate) fn incoming(&self) -> &Incoming {
        &self.incoming
    }

    /// What the request carried, when the session is not loaded yet.
    pub(crate) fn to_load(&self) -> Option<&Incoming> {
        self.loaded.is_none().then_some(&self.incoming)
    }

    /// Keeps what was loaded (unless another handle got there first).
    pub(crate) fn keep_loaded(&mut self, loaded: Loaded) {
        if self.loaded.is_none() {
            self.loaded = Some(loaded);
            self.settle();
        }
    }

    /// The loaded session's ID, if it has one.
    pub(crate) fn loaded_id(&self) -> Option<&SessionId> {
        self.loaded.as_ref()?.id.as_ref()
    }

    /// Whether the handler read or changed the session (its response depends on it).
    pub(crate) fn used(&self) -> bool {
        self.loaded.is_some() || !matches!(self.status, Status::Unchanged)
    }

    /// Whether the handler changed the session in any way.
    pub(crate) fn changed(&self) -> bool {
        !matches!(self.status, Status::Unchanged)
    }

    /// Whether a value set now is set blind: nothing is loaded yet, and the incoming session
    /// (if any) goes on.
    fn sets_blind(&self) -> bool {
        self.loaded.is_none()
            && match &self.status {
                Status::Unchanged => true,
                Status::Changed { blind, .. } => *blind,
                Status::Renewed(_) | Status::Cleared(_) => false,
            }
    }

    /// Once the session is loaded, a blind `set` continues it: the loaded session's start
    /// (absolute timeout) and CSRF token replace the provisional ones, so that writing without
    /// reading neither extends a session's life nor breaks forms open elsewhere.
    fn settle(&mut self) {
        let Status::Changed { value, blind } = &mut self.status else {
            return;
        };
        if !std::mem::take(blind) {
            return;
        }
        if let Some(loaded) = self.loaded.as_ref().and_then(|l| l.record.as_ref()) {
            value.record.created_at = loaded.created_at;
            value.record.csrf_token.clone_from(&loaded.csrf_token);
            value.record.id_issued_at = loaded.id_issued_at;
        }
    }

    /// What a `set` now builds on ([`Slot::base_record`]), and whether it is blind.
    pub(crate) fn base(&self) -> (Option<Base>, bool) {
        let base = self.base_record().map(|record| Base {
            created_at: record.created_at,
            csrf_token: record.csrf_token.clone(),
            id_issued_at: record.id_issued_at,
        });
        (base, self.sets_blind())
    }

    /// The record a `set` now builds on: the one set earlier in this request, else the
    /// loaded one unless `renew` or `clear` ended it.
    pub(crate) fn base_record(&self) -> Option<&Record> {
        match &self.status {
            Status::Changed { value, .. } => Some(&value.record),
            Status::Unchanged => self.loaded.as_ref()?.record.as_ref(),
            Status::Renewed(value) | Status::Cleared(value) => value.as_ref().map(|v| &v.record),
        }
    }

    /// Sets a new value (`blind` from [`Slot::base`]).
    pub(crate) fn set(&mut self, value: NewValue, blind: bool) {
        self.status = match std::mem::take(&mut self.status) {
            Status::Renewed(_) => Status::Renewed(Some(value)),
            Status::Cleared(_) => Status::Cleared(Some(value)),
            Status::Unchanged | Status::Changed { .. } => Status::Changed { value, blind },
        };
    }

    /// Ends the session that came in.
    pub(crate) fn clear(&mut self) {
        self.status = Status::Cleared(None);
        self.pending_id = None;
    }

    /// The value that `renew` carries to the new ID: the one set in this request, else the
    /// loaded one (`None` after `clear` or without a session).
    pub(crate) fn renewed_value<T: Clone + 'static>(&self) -> Option<(String, T)> {
        let (record, value) = match &self.status {
            Status::Cleared(None) => return None,
            status => match status.new_value() {
                Some(new) => (&new.record, &new.value),
                None => {
                    let loaded = self.loaded.as_ref()?;
                    (loaded.record.as_ref()?, loaded.value.as_ref()?)
                }
            },
        };
        Some((record.text.clone(), value.downcast_ref::<T>()?.clone()))
    }

    /// Moves the session to a new ID with `value` (fresh start and CSRF token); after
    /// `clear`, the value set since then is renewed instead.
    pub(crate) fn renew(&mut self, value: Option<NewValue>) {
        self.status = match std::mem::take(&mut self.status) {
            Status::Cleared(old) => Status::Cleared(value.or(old)),
            _ => Status::Renewed(value),
        };
        self.pending_id = None;
    }

    /// The ID the response will carry: the loaded one, or a new one chosen now (kept for the
    /// response) when [`Status::needs_new_id`]; `None` after a plain `clear` and without a
    /// session.
    pub(crate) fn id(&mut self) -> Option<SessionId> {
        let current = self.loaded_id().cloned();
        if matches!(self.status, Status::Cleared(None)) {
            return None;
        }
        if self.status.needs_new_id(current.is_some()) {
            return Some(
                self.pending_id
                    .get_or_insert_with(SessionId::generate)
                    .clone(),
            );
        }
        current
    }

    /// After a successful atomic update: the stored record and value are now these, under
    /// `id` (the loaded ID, or the one another request rotated it to meanwhile: then the
    /// client is sent it).
    pub(crate) fn updated(&mut self, id: SessionId, record: Record, value: Box<dyn Any + Send>) {
        if let Some(loaded) = self.loaded.as_mut() {
            loaded.stale |= loaded.id.as_ref() != Some(&id);
            loaded.id = Some(id);
            loaded.record = Some(record);
            loaded.value = Some(value);
            loaded.refresh = false;
        }
    }

    /// What a server error response keeps of the handler's changes: the end of the session
    /// (`clear`) and its move to a new ID (`renew`, with the value it had) are applied,
    /// ordinary value writes are not (fail closed for logouts and logins, no half-done data).
    pub(crate) fn keep_only_session_ends(&mut self) {
        self.status = match std::mem::take(&mut self.status) {
            Status::Cleared(_) => Status::Cleared(None),
            Status::Renewed(_) => Status::Renewed(None),
            Status::Unchanged | Status::Changed { .. } => Status::Unchanged,
        };
    }

    /// Whether persisting this server-side session needs no storage: it was not changed, and
    /// if it was read, it has no dead ID to discard and no idle refresh due.
    pub(crate) fn persists_without_storage(&self) -> bool {
        matches!(self.status, Status::Unchanged)
            && self.loaded.as_ref().is_none_or(|loaded| {
                loaded.discard.is_none() && !(loaded.refresh && loaded.record.is_some())
            })
    }

    /// Whether persisting needs the session loaded first (a server-side write whose base is
    /// not known yet).
    pub(crate) fn needs_load_to_persist(&self) -> bool {
        self.loaded.is_none() && matches!(self.status, Status::Changed { .. } | Status::Renewed(_))
    }

    /// The slot's parts, for persisting.
    pub(crate) fn settled(self) -> Settled {
        Settled {
            incoming: self.incoming,
            loaded: self.loaded.unwrap_or_default(),
            status: self.status,
            pending_id: self.pending_id,
        }
    }

    /// The current value when it is known without loading: `Some(answer)`, else `None`.
    pub(crate) fn current<T: Clone + 'static>(&self) -> Option<Option<T>> {
        if let Some(new) = self.status.new_value() {
            return Some(new.value.downcast_ref::<T>().cloned());
        }
        match &self.status {
            Status::Cleared(_) => Some(None),
            Status::Renewed(_) | Status::Unchanged | Status::Changed { .. } => {
                self.loaded.as_ref().map(|loaded| {
                    loaded
                        .value
                        .as_ref()
                        .and_then(|v| v.downcast_ref::<T>().cloned())
                })
            }
        }
    }
}
