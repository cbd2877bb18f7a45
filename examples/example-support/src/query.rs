//! The opt-in query fallback of `session-login` and its twin, from [`QUERY_FALLBACK_VAR`].

use session_engine::CookieTransport;

use crate::error::StartError;

/// The variable naming the query parameter that a session's signed ID may also come in
/// (`/me?NAME=<signed id>`) when the request carries no session cookie. Not set: off, the
/// default, because an ID in a URL leaks through links, logs and `Referer`.
pub const QUERY_FALLBACK_VAR: &str = "SESSION_QUERY_FALLBACK";

/// `transport` with [`CookieTransport::query_fallback`] on the parameter that
/// [`QUERY_FALLBACK_VAR`] names, and a warning that says so; `transport` unchanged when the
/// variable is not set.
///
/// # Errors
///
/// [`StartError::QueryFallback`] when the variable is set but is not valid Unicode. A name
/// that is not a plain parameter name (letters, digits and `-._~`) stops the start when the
/// sessions are built ([`StartError::Config`]).
///
/// # Examples
///
/// ```no_run
/// use session_engine::CookieTransport;
///
/// # fn main() -> Result<(), example_support::StartError> {
/// let transport = example_support::query_fallback_from_env(CookieTransport::new("session"))?;
/// # Ok(()) }
/// ```
pub fn query_fallback_from_env(transport: CookieTransport) -> Result<CookieTransport, StartError> {
    let variable = QUERY_FALLBACK_VAR;
    match std::env::var(variable) {
        Err(std::env::VarError::NotPresent) => Ok(transport),
        Err(std::env::VarError::NotUnicode(_)) => Err(StartError::QueryFallback { variable }),
        Ok(parameter) => {
            tracing::warn!(
                "{variable} is set: session IDs are also read from the query parameter \
                 {parameter:?} when no cookie is sent; IDs in URLs leak through links, logs and \
                 Referer, so use it only for clients that cannot keep cookies"
            );
            Ok(transport.query_fallback(parameter))
        }
    }
}
