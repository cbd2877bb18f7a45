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

use crate::transport::Transport;

/// What the sessions of one response call for.
#[derive(Debug, Default)]
pub(crate) struct Caching<'a> {
    no_store: bool,
    vary: Vec<&'a str>,
}

impl<'a> Caching<'a> {
    /// The response depends on the session carried by `transport`.
    pub(crate) fn vary_on(&mut self, transport: &'a Transport) {
        let name = match transport {
            Transport::Cookie(_) => "Cookie",
            Transport::Header(header) => header.name(),
        };
        if !self.vary.iter().any(|v| v.eq_ignore_ascii_case(name)) {
            self.vary.push(name);
        }
    }

    /// The response hands out (or revokes) a session value or ID.
    pub(crate) fn hands_out_session(&mut self) {
        self.no_store = true;
    }

    /// Adds the headers to the response.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        if self.no_store {
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
        for name in self.vary {
            if !varies_on(headers, name) {
                // Names are validated header names or "Cookie": always a valid value.
                if let Ok(value) = HeaderValue::from_str(name) {
                    headers.append(VARY, value);
                }
            }
        }
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
    use crate::{CookieTransport, HeaderTransport};

    fn vary(headers: &HeaderMap) -> Vec<&str> {
        headers.get_all(VARY).map(|v| v.to_str().unwrap()).collect()
    }

    #[test]
    fn adds_no_store_and_vary_unless_the_app_set_them() {
        let cookie = Transport::from(CookieTransport::new("a"));
        let header = Transport::from(HeaderTransport::new("x-session"));
        let mut caching = Caching::default();
        caching.vary_on(&cookie);
        caching.vary_on(&cookie);
        caching.vary_on(&header);
        caching.hands_out_session();
        let mut headers = HeaderMap::new();
        headers.append(VARY, HeaderValue::from_static("accept-encoding, COOKIE"));
        caching.apply(&mut headers);
        assert_eq!(headers.get(CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(vary(&headers), ["accept-encoding, COOKIE", "x-session"]);

        let mut own = HeaderMap::new();
        own.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=60"),
        );
        own.insert(VARY, HeaderValue::from_static("*"));
        let mut caching = Caching::default();
        caching.vary_on(&cookie);
        caching.hands_out_session();
        caching.apply(&mut own);
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
        assert_eq!(vary(&own), ["*"]);

        let mut read_only = HeaderMap::new();
        let mut caching = Caching::default();
        caching.vary_on(&cookie);
        caching.apply(&mut read_only);
        assert!(read_only.get(CACHE_CONTROL).is_none());
        assert_eq!(vary(&read_only), ["Cookie"]);
    }
}
