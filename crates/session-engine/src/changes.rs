//! What one request did to the sessions of one layer, and applying it to the storage and the
//! response.

use std::fmt;

use crate::headers::{HeaderKey, HeadersMut};
use crate::outgoing::Outgoing;
use crate::provider::ProviderCore;
use crate::slot::Slot;
use crate::{Registry, SessionError, caching};

/// What one request did to the sessions of one layer, to persist
/// ([`RequestState::take_changes`](crate::RequestState::take_changes); its example shows the
/// whole request).
pub struct Changes {
    registry: Registry,
    slots: Vec<Option<Slot>>,
}

impl fmt::Debug for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changes")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Changes {
    pub(crate) fn new(registry: Registry, slots: Vec<Option<Slot>>) -> Self {
        Self { registry, slots }
    }

    /// Applies every touched session's changes to the storage and adds to the response's
    /// `headers` what it must carry: cookies or session headers, `Vary`,
    /// `Cache-Control: no-store` on responses that hand out a session, and
    /// `Referrer-Policy: no-referrer` when a session's value came from the URL's query
    /// ([`CookieTransport::query_fallback`](crate::CookieTransport::query_fallback)). After a
    /// server error response (`status` 500 to 599) only the end of a session and its move to a
    /// new ID are applied: value writes are dropped.
    ///
    /// [`Changes::apply_now`] does the same without a future when no storage is involved.
    ///
    /// # Errors
    ///
    /// The first storage or sealing failure, already logged: the adapter then answers an
    /// empty `500 Internal Server Error` instead of the response. The sessions after the one
    /// that failed still get their ends and ID moves (as after a server error), so a logout
    /// never fails open because another session's write did.
    pub async fn apply(
        self,
        status: u16,
        headers: &mut impl HeadersMut,
    ) -> Result<(), SessionError> {
        let mut response = Applying::new(status);
        let Self { registry, slots } = self;
        for (index, slot) in owned(slots) {
            let core = &registry.providers()[index].core;
            let (slot, from_query) = response.begin(core, slot, headers);
            // `persist` itself takes the quick way when no storage is involved.
            let outcome = core.persist(slot).await;
            response.end(core, outcome, from_query, headers);
        }
        response.finish(headers)
    }

    /// [`Changes::apply`] when none of the sessions needs the storage (client-side sessions,
    /// and server-side sessions only read, with no idle refresh due): done at once, without
    /// building a future. Otherwise nothing is done and the changes come back, for `apply`.
    ///
    /// # Errors
    ///
    /// The inner result: as [`Changes::apply`].
    pub fn apply_now(
        self,
        status: u16,
        headers: &mut impl HeadersMut,
    ) -> Result<Result<(), SessionError>, Self> {
        let mut response = Applying::new(status);
        // After a server error (rare) the sessions' ends are persisted: always by `apply`.
        if response.failed() || !self.each().all(|(core, slot)| core.persists_now(slot)) {
            return Err(self);
        }
        let Self { registry, slots } = self;
        for (index, slot) in owned(slots) {
            let core = &registry.providers()[index].core;
            let (slot, from_query) = response.begin(core, slot, headers);
            response.end(core, core.persist_now(slot), from_query, headers);
        }
        Ok(response.finish(headers))
    }

    /// The inner service failed with an error instead of a response: nothing can be sent,
    /// but the ends and ID moves of sessions still apply to the storage, so a logout never
    /// fails open. Failures are logged.
    pub async fn apply_after_error(self) {
        let Self { registry, slots } = self;
        for (index, mut slot) in owned(slots) {
            let core = &registry.providers()[index].core;
            slot.keep_only_session_ends();
            if let Err(failure) = core.persist(slot).await {
                tracing::error!(session = %core.name, error = %failure, "session could not be ended after an error");
            }
        }
    }

    /// The touched sessions' slots, with their providers.
    fn each(&self) -> impl Iterator<Item = (&ProviderCore, &Slot)> {
        let providers = self.registry.providers();
        let slots = self.slots.iter().zip(providers);
        slots.filter_map(|(slot, provider)| Some((&provider.core, slot.as_ref()?)))
    }
}

/// The touched sessions' slots, with their providers' indexes.
fn owned(slots: Vec<Option<Slot>>) -> impl Iterator<Item = (usize, Slot)> {
    let slots = slots.into_iter().enumerate();
    slots.filter_map(|(index, slot)| Some((index, slot?)))
}

/// One response's headers being written for the touched sessions, one after the other.
struct Applying {
    status: u16,
    /// The first session that could not be persisted.
    failure: Option<SessionError>,
    /// Whether a session value or removal goes out, so the response must not be stored.
    hands_out_session: bool,
}

impl Applying {
    fn new(status: u16) -> Self {
        Self {
            status,
            failure: None,
            hands_out_session: false,
        }
    }

    /// A server error response, or a session failed before: only ends are persisted.
    fn failed(&self) -> bool {
        self.failure.is_some() || (500..600).contains(&self.status)
    }

    /// The headers due before persisting `slot`, which comes back ready to persist, with
    /// whether its value came from the URL.
    fn begin(
        &self,
        core: &ProviderCore,
        mut slot: Slot,
        headers: &mut impl HeadersMut,
    ) -> (Slot, bool) {
        // The response depends on a session that was read or written, not on one whose
        // handle was merely extracted.
        if slot.used() {
            core.writer.vary(headers);
        }
        // The page's URL holds an ID: it must not travel on in `Referer`.
        let from_query = slot.incoming().is_from_query();
        if from_query {
            headers.insert_static(HeaderKey::ReferrerPolicy, "no-referrer");
        }
        if self.failed() {
            slot.keep_only_session_ends();
        }
        (slot, from_query)
    }

    /// What persisting a session gave: its header, or its failure, logged.
    fn end(
        &mut self,
        core: &ProviderCore,
        outcome: Result<Outgoing, SessionError>,
        from_query: bool,
        headers: &mut impl HeadersMut,
    ) {
        match outcome {
            Err(error) => {
                tracing::error!(session = %core.name, %error, source = ?std::error::Error::source(&error), "session could not be persisted");
                self.failure.get_or_insert(error);
            }
            Ok(Outgoing::Nothing) => {}
            Ok(Outgoing::Send(value)) => {
                self.hands_out_session = true;
                core.writer.send(value, headers);
            }
            // No cookie came in: none to drop, and the URL is the app's.
            Ok(Outgoing::Remove) if from_query => {}
            Ok(Outgoing::Remove) => {
                self.hands_out_session = true;
                core.writer.send_removal(headers, core.lifetime.now());
            }
        }
    }

    fn finish(self, headers: &mut impl HeadersMut) -> Result<(), SessionError> {
        if self.hands_out_session {
            caching::forbid_storing(headers);
        }
        self.failure.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use session_core::{Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};

    use super::*;
    use crate::{CookieTransport, HeaderList, Headers, RequestState, SessionConfig, SessionHandle};

    type Handle = SessionHandle<u32, SessionError>;

    fn client_side() -> Registry {
        let config = SessionConfig::<u32>::new(CookieTransport::new("c"))
            .transform(Encrypt::new(EncryptionKey::generate()));
        Registry::builder().session(config).build().unwrap()
    }

    fn server_side() -> Registry {
        let config = SessionConfig::<u32>::new(CookieTransport::new("s"))
            .store(MemoryStore::new())
            .transform(Sign::new(SigningKey::generate()));
        Registry::builder().session(config).build().unwrap()
    }

    /// One request to `registry` carrying `cookie`, running `handler`: the changes it made.
    fn request(registry: &Registry, cookie: &[u8], handler: impl FnOnce(Handle)) -> Changes {
        let request = HeaderList::from_iter([("cookie", cookie.to_vec())]);
        let state = RequestState::new(registry, None);
        handler(state.session(&request, None).unwrap());
        state.take_changes().expect("a session was touched")
    }

    fn set_cookie(response: &HeaderList) -> Vec<u8> {
        let value = response
            .first(HeaderKey::SetCookie)
            .expect("a cookie is sent");
        value.split(|&b| b == b';').next().unwrap().to_vec()
    }

    #[test]
    fn client_side_changes_are_applied_without_a_future() {
        let registry = client_side();
        let changes = request(&registry, b"", |session| session.set(7).unwrap());
        let mut response = HeaderList::new();
        changes.apply_now(200, &mut response).unwrap().unwrap();
        let cookie = set_cookie(&response);
        assert_eq!(
            response.first(HeaderKey::CacheControl),
            Some(&b"no-store"[..])
        );

        // The next request reads it back, and sends nothing new.
        let changes = request(&registry, &cookie, |session| {
            assert_eq!(block_on(session.get()).unwrap(), Some(7));
        });
        let mut response = HeaderList::new();
        changes.apply_now(200, &mut response).unwrap().unwrap();
        assert!(response.first(HeaderKey::SetCookie).is_none());
        assert!(response.first(HeaderKey::Vary).is_some());
    }

    #[test]
    fn storage_writes_and_server_errors_are_left_to_apply() {
        let registry = server_side();
        let changes = request(&registry, b"", |session| session.set(7).unwrap());
        let mut response = HeaderList::new();
        let changes = changes.apply_now(200, &mut response).unwrap_err();
        assert!(
            response.first(HeaderKey::SetCookie).is_none(),
            "nothing done"
        );
        block_on(changes.apply(200, &mut response)).unwrap();
        let cookie = set_cookie(&response);

        // A read with no refresh due needs no storage: applied at once.
        let changes = request(&registry, &cookie, |session| {
            assert_eq!(block_on(session.get()).unwrap(), Some(7));
        });
        let mut response = HeaderList::new();
        changes.apply_now(200, &mut response).unwrap().unwrap();
        assert!(response.first(HeaderKey::SetCookie).is_none());

        // After a server error, only `apply` decides what still holds.
        let changes = request(&registry, &cookie, |session| session.set(8).unwrap());
        assert!(changes.apply_now(500, &mut HeaderList::new()).is_err());
    }
}
