//! Which session IDs each user has, so "log out everywhere else" knows what to invalidate.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use session_actix::core::SessionId;

/// The live session IDs of each user (this process only; with several instances keep it in
/// the same shared store as the sessions).
#[derive(Debug, Default)]
pub(crate) struct Devices {
    by_user: Mutex<HashMap<String, HashSet<SessionId>>>,
}

impl Devices {
    pub(crate) fn add(&self, username: &str, id: SessionId) {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        by_user.entry(username.to_owned()).or_default().insert(id);
    }

    pub(crate) fn remove(&self, username: &str, id: &SessionId) {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ids) = by_user.get_mut(username) {
            ids.remove(id);
            if ids.is_empty() {
                by_user.remove(username);
            }
        }
    }

    /// Forgets and returns every ID of `username` but `keep`.
    pub(crate) fn take_others(&self, username: &str, keep: &SessionId) -> Vec<SessionId> {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ids) = by_user.get_mut(username) else {
            return Vec::new();
        };
        let others: Vec<SessionId> = ids.iter().filter(|id| *id != keep).cloned().collect();
        ids.retain(|id| id == keep);
        others
    }
}
