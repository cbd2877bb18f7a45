//! The state of one session of one request: what came in, what was loaded, what changed.

use std::any::Any;
use std::time::SystemTime;

use bytes::Bytes;
use session_core::{Record, SessionId};

use crate::incoming::Incoming;

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
        sealed: Option<Bytes>,
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
    pub(crate) fn new(incoming: Incoming) -> Self {
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
