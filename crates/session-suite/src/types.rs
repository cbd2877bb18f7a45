//! The session types the suite's app serves. An adapter registers nothing itself: each
//! scenario builds the [`Registry`](session_engine::Registry) it needs from these.

use serde::{Deserialize, Serialize};

/// The main session type: a cart of item numbers (routes without a type prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// The items, in the order they were added.
    pub items: Vec<i32>,
}

/// A second shape, for client-side scenarios (routes under `/user/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// A counter.
    pub visits: u32,
}

/// An earlier schema of a `user` session (routes under `/old-user/`): what an app stored
/// before `User` took its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldUser {
    /// The user's login.
    pub login: String,
}

/// A guest's session, of the same shape as [`Auth`]: only the session's name tells them
/// apart (name-binding scenarios).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guest {
    /// Who the guest says they are.
    pub user_id: String,
}

/// A logged-in session, of the same shape as [`Guest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// The user logged in.
    pub user_id: String,
}
