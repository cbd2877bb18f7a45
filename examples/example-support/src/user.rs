//! The client-side session of `session-cookie-client` (and its axum twin).

use serde::{Deserialize, Serialize};

/// The answer of `/user` without a session.
pub const NO_USER_SESSION: &str = "Session doesn't exist or is expired.";

/// The user of Ktor's `session-cookie-client` sample, and how often `/user` was reloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSession {
    /// The user's ID.
    pub id: String,
    /// Reloads of `/user` so far.
    pub count: u32,
}

impl UserSession {
    /// The session that logging in starts.
    pub fn login() -> Self {
        Self {
            id: "123abc".to_owned(),
            count: 0,
        }
    }

    /// The session after one more reload.
    #[must_use]
    pub fn reloaded(&self) -> Self {
        Self {
            id: self.id.clone(),
            count: self.count.saturating_add(1),
        }
    }

    /// The answer of `/user`: `Session ID is 123abc. Reload count is 0.`, or
    /// [`NO_USER_SESSION`] without a session.
    pub fn page(user: Option<&Self>) -> String {
        match user {
            Some(user) => format!("Session ID is {}. Reload count is {}.", user.id, user.count),
            None => NO_USER_SESSION.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_texts() {
        let user = UserSession::login();
        assert_eq!(
            UserSession::page(Some(&user.reloaded())),
            "Session ID is 123abc. Reload count is 1."
        );
        assert_eq!(UserSession::page(None), NO_USER_SESSION);
    }
}
