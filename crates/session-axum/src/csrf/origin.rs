//! The request's own origin, read from the headers as actix-web's `ConnectionInfo` reads
//! them, so that both adapters judge `Origin` headers alike (except for TLS, which axum does
//! not report: the scheme defaults to `http`).

use http::request::Parts;
use http::{HeaderMap, header};

/// `scheme://host[:port]` of the request: `Forwarded`'s first `proto` and `host`, else the
/// first value of `X-Forwarded-Proto` and `X-Forwarded-Host`, else the URI's scheme and the
/// `Host` header (then the URI's authority); the scheme defaults to `http`.
pub(super) fn own_origin(parts: &Parts) -> String {
    let (mut scheme, mut host) = (None, None);
    let forwarded = parts.headers.get_all(header::FORWARDED).iter();
    let pairs = forwarded
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .flat_map(|pairs| pairs.split(','))
        .filter_map(|pair| pair.trim().split_once('='));
    for (name, value) in pairs {
        match name.trim().to_ascii_lowercase().as_str() {
            "proto" => scheme = scheme.or(Some(unquote(value))),
            "host" => host = host.or(Some(unquote(value))),
            _ => {}
        }
    }
    let headers = &parts.headers;
    let scheme = scheme
        .or_else(|| first_value(headers, "x-forwarded-proto"))
        .or_else(|| parts.uri.scheme_str())
        .unwrap_or("http");
    let host = host
        .or_else(|| first_value(headers, "x-forwarded-host"))
        .or_else(|| headers.get(header::HOST)?.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()))
        .unwrap_or_default();
    format!("{scheme}://{host}")
}

fn unquote(value: &str) -> &str {
    value.trim().trim_start_matches('"').trim_end_matches('"')
}

/// The first of a header's comma-separated values.
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.split(',').next()?.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(uri: &str, headers: &[(&str, &str)]) -> String {
        let mut request = http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        own_origin(&request.body(()).unwrap().into_parts().0)
    }

    #[test]
    fn forwarded_wins_then_x_forwarded_then_host_then_uri() {
        let forwarded = [
            (
                "forwarded",
                r#"for=1.2.3.4, for=5.6.7.8; proto=https;host="app.example""#,
            ),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "proxy.example"),
            ("host", "internal:8080"),
        ];
        assert_eq!(origin("/", &forwarded), "https://app.example");
        let x_forwarded = [
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "www.example, other"),
            ("host", "internal:8080"),
        ];
        assert_eq!(origin("/", &x_forwarded), "https://www.example");
        assert_eq!(
            origin("/", &[("host", "localhost:3000")]),
            "http://localhost:3000"
        );
        assert_eq!(origin("https://h2.example/x", &[]), "https://h2.example");
        assert_eq!(origin("/", &[]), "http://");
    }

    #[test]
    fn forwarded_parameters_take_their_first_value_in_any_case() {
        let headers = [
            ("forwarded", "Proto=https;Host=a.example"),
            ("forwarded", "proto=http;host=b.example"),
        ];
        assert_eq!(origin("/", &headers), "https://a.example");
        let host_only = [
            ("forwarded", "host=a.example"),
            ("x-forwarded-proto", "https"),
        ];
        assert_eq!(origin("/", &host_only), "https://a.example");
    }
}
