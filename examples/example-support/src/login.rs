//! The session, forms, page and texts of `session-login` (and its axum twin).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_core::SessionId;

use crate::env::seconds_from_env;
use crate::error::StartError;

/// The variable of the idle timeout, in seconds.
pub const IDLE_TIMEOUT_VAR: &str = "SESSION_IDLE_TIMEOUT_SECS";
/// The variable of the absolute timeout, in seconds.
pub const ABSOLUTE_TIMEOUT_VAR: &str = "SESSION_ABSOLUTE_TIMEOUT_SECS";
/// The idle timeout when [`IDLE_TIMEOUT_VAR`] is not set: 30 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(1800);
/// The absolute timeout when [`ABSOLUTE_TIMEOUT_VAR`] is not set: 8 hours.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

/// The variable of the periodic ID rotation, in seconds: unset, IDs never rotate.
pub const ROTATE_ID_VAR: &str = "SESSION_ROTATE_ID_SECS";
/// The variable of the rotation's grace window, in seconds (default: the library's, 5 s).
pub const ROTATE_GRACE_VAR: &str = "SESSION_ROTATE_GRACE_SECS";
/// The grace window when [`ROTATE_GRACE_VAR`] is not set.
pub const DEFAULT_ROTATE_GRACE: Duration = Duration::from_secs(5);

/// The answer (with `401`) of the routes that need a session.
pub const NOT_LOGGED_IN: &str = "Not logged in";
/// The answer (with `400`) of `POST /login` with an empty or too long username.
pub const USERNAME_RULE: &str = "username must be 1 to 64 characters";
/// The answer of `POST /logout`.
pub const LOGGED_OUT: &str = "Logged out";
/// The `Content-Type` of the page at `/`.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The idle and absolute timeouts from [`IDLE_TIMEOUT_VAR`] and [`ABSOLUTE_TIMEOUT_VAR`].
///
/// # Errors
///
/// [`StartError::Seconds`] when one is set but is not a number of seconds above zero.
pub fn timeouts_from_env() -> Result<(Duration, Duration), StartError> {
    Ok((
        seconds_from_env(IDLE_TIMEOUT_VAR, DEFAULT_IDLE_TIMEOUT)?,
        seconds_from_env(ABSOLUTE_TIMEOUT_VAR, DEFAULT_ABSOLUTE_TIMEOUT)?,
    ))
}

/// The ID rotation period from [`ROTATE_ID_VAR`] (`None`: no rotation) and its grace window
/// from [`ROTATE_GRACE_VAR`].
///
/// # Errors
///
/// [`StartError::Seconds`] when one is set but is not a number of seconds above zero.
pub fn rotation_from_env() -> Result<Option<(Duration, Duration)>, StartError> {
    let grace = seconds_from_env(ROTATE_GRACE_VAR, DEFAULT_ROTATE_GRACE)?;
    if std::env::var_os(ROTATE_ID_VAR).is_none() {
        return Ok(None);
    }
    let every = seconds_from_env(ROTATE_ID_VAR, Duration::ZERO)?;
    Ok(Some((every, grace)))
}

/// Who is logged in, and how many visits they made (see `POST /visit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSession {
    /// The user's name.
    pub username: String,
    /// Visits counted by `POST /visit`.
    #[serde(default)]
    pub visits: u64,
    /// The session's ID at login: the key of its entry in the [`Devices`](crate::Devices)
    /// list, which follows the session's current ID as periodic rotation moves it.
    #[serde(default)]
    pub login_id: Option<SessionId>,
}

impl LoginSession {
    /// The answer of `GET /me`.
    pub fn greeting(&self) -> String {
        format!("Hello, {}", self.username)
    }
}

/// The form of `POST /login`.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The user's name, as typed.
    pub username: String,
}

impl LoginForm {
    /// The trimmed username if it is 1 to 64 characters long (else answer [`USERNAME_RULE`]).
    pub fn valid_username(&self) -> Option<String> {
        let username = self.username.trim();
        (!username.is_empty() && username.chars().count() <= 64).then(|| username.to_owned())
    }
}

/// The form of `POST /transfer`.
#[derive(Debug, Deserialize)]
pub struct TransferForm {
    /// The amount, `0` when missing.
    pub amount: Option<String>,
}

impl TransferForm {
    /// The answer of `POST /transfer`: `Transferred <amount>`.
    pub fn answer(self) -> String {
        format!("Transferred {}", self.amount.as_deref().unwrap_or("0"))
    }
}

/// The answer of `POST /logout-others`.
pub fn logged_out_others(count: usize) -> String {
    format!("Logged out {count} other sessions")
}

/// The small page at `/` that drives the routes from a browser: a login form without a
/// session, else the user's forms, each carrying `masked_token` (masked afresh for each page,
/// so a compressed page never repeats the secret).
pub fn page(user: Option<(&LoginSession, &str)>) -> String {
    let page = match user {
        None => r#"<form method="post" action="/login">
<input name="username" placeholder="username" autofocus> <button>Log in</button></form>"#
            .to_owned(),
        Some((user, token)) => {
            let form = |action: &str, label: &str, extra: &str| {
                format!(
                    r#"<form method="post" action="{action}">{extra}<input type="hidden" name="csrf_token" value="{token}"><button>{label}</button></form>"#
                )
            };
            format!(
                "<p>Logged in as {}.</p>{}{}{}",
                html_escape(&user.username),
                form(
                    "/transfer",
                    "Transfer",
                    r#"<input name="amount" value="10"> "#
                ),
                form("/logout-others", "Log out everywhere else", ""),
                form("/logout", "Log out", ""),
            )
        }
    };
    format!("<!doctype html><title>session-login</title>{page}")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        let form = |name: &str| LoginForm {
            username: name.to_owned(),
        };
        assert_eq!(form(" alice ").valid_username().as_deref(), Some("alice"));
        assert_eq!(form("   ").valid_username(), None);
        assert!(form(&"é".repeat(64)).valid_username().is_some());
        assert_eq!(form(&"a".repeat(65)).valid_username(), None);
    }

    #[test]
    fn the_page_escapes_the_username_and_carries_the_token() {
        let user = LoginSession {
            username: "<a&\">".to_owned(),
            visits: 0,
            login_id: None,
        };
        let page = page(Some((&user, "TOKEN")));
        assert!(
            page.contains("Logged in as &lt;a&amp;&quot;&gt;."),
            "{page}"
        );
        assert_eq!(
            page.matches(r#"name="csrf_token" value="TOKEN""#).count(),
            3
        );
        assert!(super::page(None).contains(r#"action="/login""#));
    }

    #[test]
    fn transfer_defaults_to_zero() {
        assert_eq!(TransferForm { amount: None }.answer(), "Transferred 0");
    }
}
