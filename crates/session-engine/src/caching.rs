//! Caching headers on responses that depend on a session or hand one out.
//!
//! - A response that carries a new session value or ID (or drops one) gets
//!   `Cache-Control: no-store`, so that no shared cache keeps one user's session for another,
//!   unless the application set its own `Cache-Control` (kept as it is, with a warning in the
//!   log when it has neither `private` nor `no-store`).
//! - A response that read a session gets `Vary: Cookie` (cookie transports) or
//!   `Vary: <header name>` (header transports), so that a cache that stores it anyway keys it
//!   by the session; added to what the application set, unless that is `Vary: *`.

use crate::headers::{HeaderKey, HeadersMut, visible_ascii};

/// Marks the response as depending on the session sent in `token` (`Cookie`, or a header's
/// name) with `add`, unless its `Vary` already says so (or says `*`).
pub(crate) fn vary_on<H: HeadersMut>(headers: &mut H, token: &str, add: impl FnOnce(&mut H)) {
    if !varies_on(headers, token) {
        add(headers);
    }
}

/// Keeps a response that hands out (or revokes) a session value or ID out of caches, unless
/// the handler chose its own `Cache-Control`.
pub(crate) fn forbid_storing(headers: &mut impl HeadersMut) {
    match headers.first(HeaderKey::CacheControl) {
        None => headers.insert_static(HeaderKey::CacheControl, "no-store"),
        Some(own) if !keeps_out_of_shared_caches(own) => tracing::warn!(
            cache_control = %String::from_utf8_lossy(own),
            "a response that hands out a session may be stored by shared caches: kept the handler's Cache-Control; add `private` or `no-store`"
        ),
        Some(_) => {}
    }
}

/// Whether a `Cache-Control` value keeps the response out of shared caches.
fn keeps_out_of_shared_caches(value: &[u8]) -> bool {
    visible_ascii(value).is_some_and(|text| {
        text.split(',').map(str::trim).any(|directive| {
            let name = directive.split('=').next().unwrap_or_default();
            name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("private")
        })
    })
}

/// Whether the response's `Vary` already covers `name` (or everything).
fn varies_on(headers: &impl HeadersMut, name: &str) -> bool {
    headers
        .values(HeaderKey::Vary)
        .filter_map(visible_ascii)
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|token| token == "*" || token.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HeaderList, Headers, HeadersMut};

    fn vary(headers: &HeaderList) -> Vec<&[u8]> {
        headers.values(HeaderKey::Vary).collect()
    }

    #[test]
    fn vary_is_added_once_and_never_beside_a_star() {
        let mut headers = HeaderList::from_iter([("vary", "accept-encoding, COOKIE")]);
        let add =
            |token: &'static str| move |h: &mut HeaderList| h.append_static(HeaderKey::Vary, token);
        vary_on(&mut headers, "Cookie", add("Cookie"));
        vary_on(&mut headers, "x-session", add("x-session"));
        vary_on(&mut headers, "x-session", add("x-session"));
        assert_eq!(
            vary(&headers),
            [&b"accept-encoding, COOKIE"[..], b"x-session"]
        );

        let mut star = HeaderList::from_iter([("vary", "*")]);
        vary_on(&mut star, "Cookie", |h| {
            h.append_static(HeaderKey::Vary, "Cookie")
        });
        assert_eq!(vary(&star), [b"*"]);
    }

    #[test]
    fn no_store_unless_the_app_set_its_own_cache_control() {
        let mut headers = HeaderList::new();
        forbid_storing(&mut headers);
        assert_eq!(
            headers.first(HeaderKey::CacheControl),
            Some(&b"no-store"[..])
        );

        let mut own = HeaderList::from_iter([("cache-control", "private, max-age=60")]);
        forbid_storing(&mut own);
        assert_eq!(
            own.first(HeaderKey::CacheControl),
            Some(&b"private, max-age=60"[..])
        );
        for (value, kept_out) in [
            ("private, max-age=60", true),
            ("No-Store", true),
            ("private=\"set-cookie\"", true),
            ("public, max-age=600", false),
            ("max-age=600", false),
        ] {
            assert_eq!(
                keeps_out_of_shared_caches(value.as_bytes()),
                kept_out,
                "{value:?}"
            );
        }
    }
}
