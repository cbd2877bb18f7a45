//! The cheap check in front of the token: where a request comes from, by `Sec-Fetch-Site`
//! or `Origin`.

use actix_web::dev::ServiceRequest;
use actix_web::http::header::ORIGIN;

use super::{CsrfProtection, SEC_FETCH_SITE};

impl<T> CsrfProtection<T> {
    /// Why the request must be refused as coming from elsewhere, if it must.
    pub(super) fn cross_origin_refusal(&self, req: &ServiceRequest) -> Option<&'static str> {
        let origin = req
            .headers()
            .get(ORIGIN)
            .map(|value| value.to_str().map(normalize_origin).unwrap_or_default());
        // An unreadable `Origin` (empty here) or `null` is never an allowed origin.
        let allowed = origin.as_deref().is_some_and(|origin| {
            !origin.is_empty()
                && origin != "null"
                && self.allowed_origins.iter().any(|a| **a == *origin)
        });
        if let Some(site) = req.headers().get(&SEC_FETCH_SITE) {
            return match site.as_bytes() {
                b"same-origin" | b"none" => None,
                b"same-site" if self.allow_same_site => None,
                _ if allowed => None,
                _ => Some("Sec-Fetch-Site"),
            };
        }
        match origin {
            Some(origin) if !allowed && origin != own_origin(req) => Some("Origin"),
            _ => None,
        }
    }
}

/// `scheme://host[:port]` in ASCII lower case, without a trailing `/` or the default port.
pub(super) fn normalize_origin(origin: &str) -> String {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("http://", ":80"), ("https://", ":443")] {
        if origin.starts_with(scheme) && origin.ends_with(port) {
            return origin[..origin.len() - port.len()].to_owned();
        }
    }
    origin
}

/// The request's own origin as actix-web's `ConnectionInfo` sees it.
fn own_origin(req: &ServiceRequest) -> String {
    let info = req.connection_info();
    normalize_origin(&format!("{}://{}", info.scheme(), info.host()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_in_their_serialized_form() {
        for (written, normal) in [
            ("https://Example.COM", "https://example.com"),
            ("https://example.com/", "https://example.com"),
            ("https://example.com:443", "https://example.com"),
            ("http://example.com:80", "http://example.com"),
            ("http://example.com:8080", "http://example.com:8080"),
            ("http://example.com:180", "http://example.com:180"),
            ("https://example.com:80", "https://example.com:80"),
            ("http://[::1]:80", "http://[::1]"),
            ("null", "null"),
        ] {
            assert_eq!(normalize_origin(written), normal, "{written}");
        }
    }
}
