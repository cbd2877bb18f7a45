//! Caching headers on responses that depend on a session or hand one out.
//!
//! - A response that carries a new session value or ID (or drops one) gets
//!   `Cache-Control: no-store`, so that no shared cache keeps one user's session for another,
//!   unless the application set its own `Cache-Control` (kept as it is, with a warning in the
//!   log when it has neither `private` nor `no-store`).
//! - A response that read a session gets `Vary: Cookie` (cookie transports) or
//!   `Vary: <header name>` (header transports), so that a cache that stores it anyway keys it
//!   by the session; added to what the application set, unless that is `Vary: *`.

use actix_web::http::header::{CACHE_CONTROL, HeaderMap, HeaderValue, VARY};

/// Marks the response as depending on the session sent in `token` (`Cookie`, or a header's
/// name), unless its `Vary` already says so (or says `*`).
pub(crate) fn vary_on(headers: &mut HeaderMap, token: HeaderValue) {
    if let Ok(name) = token.to_str()
        && !varies_on(headers, name)
    {
        headers.append(VARY, token);
    }
}

/// Keeps a response that hands out (or revokes) a session value or ID out of caches, unless
/// the handler chose its own `Cache-Control`.
pub(crate) fn forbid_storing(headers: &mut HeaderMap) {
    match headers.get(CACHE_CONTROL) {
        None => {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Some(own) if !keeps_out_of_shared_caches(own) => tracing::warn!(
            cache_control = ?own,
            "a response that hands out a session may be stored by shared caches: kept the handler's Cache-Control; add `private` or `no-store`"
        ),
        Some(_) => {}
    }
}

/// Whether a `Cache-Control` value keeps the response out of shared caches.
fn keeps_out_of_shared_caches(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|text| {
        text.split(',').map(str::trim).any(|directive| {
            let name = directive.split('=').next().unwrap_or_default();
            name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("private")
        })
    })
}

/// Whether the response's `Vary` already covers `name` (or everything).
fn varies_on(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(VARY)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|token| token == "*" || token.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary(headers: &HeaderMap) -> Vec<&str> {
        headers.get_all(VARY).map(|v| v.to_str().unwrap()).collect()
    }

    #[test]
    fn vary_is_added_once_and_never_beside_a_star() {
        let mut headers = HeaderMap::new();
        headers.append(VARY, HeaderValue::from_static("accept-encoding, COOKIE"));
        vary_on(&mut headers, HeaderValue::from_static("Cookie"));
        vary_on(&mut headers, HeaderValue::from_static("x-session"));
        vary_on(&mut headers, HeaderValue::from_static("x-session"));
        assert_eq!(vary(&headers), ["accept-encoding, COOKIE", "x-session"]);

        let mut star = HeaderMap::new();
        star.insert(VARY, HeaderValue::from_static("*"));
        vary_on(&mut star, HeaderValue::from_static("Cookie"));
        assert_eq!(vary(&star), ["*"]);
    }

    #[test]
    fn no_store_unless_the_app_set_its_own_cache_control() {
        let mut headers = HeaderMap::new();
        forbid_storing(&mut headers);
        assert_eq!(headers.get(CACHE_CONTROL).unwrap(), "no-store");

        let mut own = HeaderMap::new();
        own.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=60"),
        );
        forbid_storing(&mut own);
        assert_eq!(own.get(CACHE_CONTROL).unwrap(), "private, max-age=60");
        for (value, kept_out) in [
            ("private, max-age=60", true),
            ("No-Store", true),
            ("private=\"set-cookie\"", true),
            ("public, max-age=600", false),
            ("max-age=600", false),
        ] {
            let value = HeaderValue::from_static(value);
            assert_eq!(keeps_out_of_shared_caches(&value), kept_out, "{value:?}");
        }
    }
}
