//! What a request carried for one session: every cookie or header of its name (or every
//! bearer token, or the query fallback's parameter), as candidates to try.

use std::sync::Arc;

use cookie::Cookie;

use crate::bearer::{self, Credentials};
use crate::escape;
use crate::headers::{HeaderKey, Headers, visible_ascii};

/// Received values longer than this are not even unsealed.
const MAX_INCOMING_LEN: usize = 8192;

/// Of several values sent under one name, only this many are tried: the first ones, and the
/// last one (browsers send cookies with longer paths first, so a cookie for `/` comes last).
const MAX_CANDIDATES: usize = 8;

/// What a request carried for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// Nothing was sent.
    Absent,
    /// A value was sent.
    Present(Arc<str>),
    /// Several values were sent under the session's name (a cookie of the same name from a
    /// sibling domain or another path, a repeated header), in the order received: each is
    /// tried, and the first that opens is the session.
    Several {
        values: Arc<[Arc<str>]>,
        /// More than [`MAX_CANDIDATES`] were sent: some in the middle were not tried.
        truncated: bool,
    },
    /// Something was sent that cannot be a value (too long, not text).
    Unusable,
    /// No cookie was sent, and the query fallback's parameter held this value
    /// ([`CookieTransport::query_fallback`](crate::CookieTransport::query_fallback)).
    Query(Arc<str>),
}

impl Incoming {
    /// The values to try, in order.
    pub(crate) fn candidates(&self) -> &[Arc<str>] {
        match self {
            Self::Present(value) | Self::Query(value) => std::slice::from_ref(value),
            Self::Several { values, .. } => values,
            Self::Absent | Self::Unusable => &[],
        }
    }

    /// Whether the value came from the URL's query rather than a cookie: the client has no
    /// cookie to drop, and the response must not hand the URL on.
    pub(crate) fn is_from_query(&self) -> bool {
        matches!(self, Self::Query(_))
    }

    /// Whether some of the values sent were not tried: then none of them is known to be bad,
    /// and the client is not told to drop its value.
    pub(crate) fn truncated(&self) -> bool {
        matches!(
            self,
            Self::Several {
                truncated: true,
                ..
            }
        )
    }
}

/// What one cookie or header of the session's name held.
enum Received {
    Value(Arc<str>),
    Empty,
    Unusable,
}

/// Collects what every cookie or header of the session's name held: the first
/// `MAX_CANDIDATES - 1` values and the last one.
#[derive(Default)]
struct Collected {
    first: Option<Arc<str>>,
    more: Vec<Arc<str>>,
    last: Option<Arc<str>>,
    truncated: bool,
    unusable: bool,
}

impl Collected {
    fn add(&mut self, received: Received) {
        match received {
            Received::Value(value) if self.first.is_none() => self.first = Some(value),
            Received::Value(value) if self.more.len() + 2 < MAX_CANDIDATES => self.more.push(value),
            Received::Value(value) => self.truncated |= self.last.replace(value).is_some(),
            Received::Empty => {}
            Received::Unusable => self.unusable = true,
        }
    }

    fn into_incoming(self) -> Incoming {
        let Some(first) = self.first else {
            return if self.unusable {
                Incoming::Unusable
            } else {
                Incoming::Absent
            };
        };
        if self.more.is_empty() && self.last.is_none() {
            return Incoming::Present(first);
        }
        let mut values = Vec::with_capacity(2 + self.more.len());
        values.push(first);
        values.extend(self.more);
        values.extend(self.last);
        Incoming::Several {
            values: values.into(),
            truncated: self.truncated,
        }
    }
}

/// Every cookie named `name` in the `Cookie` headers, looking at bytes so that another
/// cookie's non-ASCII value cannot hide it.
pub(crate) fn read_cookies(name: &str, headers: &impl Headers) -> Incoming {
    let mut collected = Collected::default();
    for header in headers.values(HeaderKey::Cookie) {
        for piece in header.split(|&b| b == b';') {
            let piece = piece.trim_ascii();
            let Some(rest) = piece.strip_prefix(name.as_bytes()) else {
                continue;
            };
            if rest.trim_ascii_start().starts_with(b"=") {
                collected.add(cookie_value(piece, rest.len()));
            }
        }
    }
    collected.into_incoming()
}

/// Every header named `name` (in lower case).
pub(crate) fn read_headers(name: &str, headers: &impl Headers) -> Incoming {
    let mut collected = Collected::default();
    for value in headers.values(HeaderKey::Other(name)) {
        collected.add(header_value(value));
    }
    collected.into_incoming()
}

/// Every bearer token in the `Authorization` headers; other schemes are not session values.
pub(crate) fn read_bearer(headers: &impl Headers) -> Incoming {
    let mut collected = Collected::default();
    for value in headers.values(HeaderKey::Authorization) {
        collected.add(if value.len() > MAX_INCOMING_LEN {
            Received::Unusable
        } else {
            match bearer::credentials(value) {
                Credentials::Token(sealed) => Received::Value(sealed.into()),
                Credentials::OtherScheme => Received::Empty,
                Credentials::Malformed => Received::Unusable,
            }
        });
    }
    collected.into_incoming()
}

/// The first parameter named exactly `name` in a raw `query` (`a=1&b=2`, without `?`), both
/// percent-decoded with `+` as a space, as forms encode them. A parameter without a value,
/// an empty one, or one too long or not UTF-8 once decoded is no value: the fallback never
/// produces something to drop.
pub(crate) fn read_query(name: &str, query: Option<&str>) -> Incoming {
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(std::borrow::Cow::into_owned)
    };
    let Some(query) = query else {
        return Incoming::Absent;
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(key).is_ok_and(|key| key == name) {
            return match decode(value) {
                Ok(value) if !value.is_empty() && value.len() <= MAX_INCOMING_LEN => {
                    Incoming::Query(value.into())
                }
                _ => Incoming::Absent,
            };
        }
    }
    Incoming::Absent
}

/// The value of one `name=value` piece of a `Cookie` header, `rest_len` being the length of
/// what follows the name.
fn cookie_value(piece: &[u8], rest_len: usize) -> Received {
    if piece.len() > MAX_INCOMING_LEN {
        return Received::Unusable;
    }
    // What this library sends (cookie octets, so ASCII, percent-encoded where needed): read
    // as the `cookie` crate would (it trims, unquotes and percent-decodes), without its parser.
    let value = piece[piece.len() - rest_len..].trim_ascii_start()[1..].trim_ascii_start();
    if !value.is_empty()
        && escape::COOKIE_OCTET.all(value)
        && let Ok(value) = std::str::from_utf8(value)
    {
        return escape::decode(value).map_or(Received::Unusable, |v| Received::Value(v.into()));
    }
    let Ok(piece) = std::str::from_utf8(piece) else {
        return Received::Unusable;
    };
    match Cookie::parse_encoded(piece) {
        Ok(cookie) if cookie.value().is_empty() => Received::Empty,
        Ok(cookie) => Received::Value(cookie.value().into()),
        Err(_) => Received::Unusable,
    }
}

/// The value of one session header.
fn header_value(value: &[u8]) -> Received {
    if value.len() > MAX_INCOMING_LEN {
        return Received::Unusable;
    }
    match visible_ascii(value) {
        Some("") => Received::Empty,
        Some(text) => {
            escape::decode(text).map_or(Received::Unusable, |v| Received::Value(v.into()))
        }
        None => Received::Unusable,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::HeaderList;
    use crate::headers::HeadersMut;
    use crate::transport::{CookieTransport, HeaderTransport, Transport};

    const COOKIE: &str = "cookie";

    fn headers(name: &str, bytes: &[u8]) -> Option<HeaderList> {
        Some(HeaderList::from_iter([(name, bytes.to_vec())]))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn any_cookie_header_has_a_defined_outcome(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let transport = Transport::from(CookieTransport::new("s"));
            if let Some(headers) = headers(COOKIE, &bytes) {
                let _ = transport.read(&headers, None);
            }
            let header = Transport::from(HeaderTransport::new("x-s"));
            if let Some(headers) = headers("x-s", &bytes) {
                let _ = header.read(&headers, None);
            }
        }

        #[test]
        fn values_read_as_the_cookie_crate_reads_them(value in "[ -:<-~]{0,40}") {
            let transport = Transport::from(CookieTransport::new("s"));
            let text = format!("s={value}");
            let headers = headers(COOKIE, text.as_bytes()).unwrap();
            let expected = match Cookie::parse_encoded(text.trim()) {
                Ok(cookie) if cookie.value().is_empty() => Incoming::Absent,
                Ok(cookie) => Incoming::Present(cookie.value().into()),
                Err(_) => Incoming::Unusable,
            };
            prop_assert_eq!(transport.read(&headers, None), expected);
        }

        #[test]
        fn our_cookie_is_found_among_any_others(
            before in "[ -:<-~]{0,40}",
            value in "[A-Za-z0-9_-]{1,60}",
            after in "[ -:<-~]{0,40}",
        ) {
            let transport = Transport::from(CookieTransport::new("s"));
            let text = format!("{before}; s={value}; {after}");
            let headers = headers(COOKIE, text.as_bytes()).unwrap();
            // An earlier cookie named `s` in the noise wins, as in browsers' order.
            let earlier = before.split(';').any(|piece| {
                piece.trim().strip_prefix('s').is_some_and(|rest| rest.trim_start().starts_with('='))
            });
            prop_assume!(!earlier);
            let first = transport.read(&headers, None).candidates().first().cloned();
            prop_assert_eq!(first.as_deref(), Some(value.as_str()));
        }
    }

    /// Issue #11, item 6: a shadowing cookie of the same name must not hide the real one.
    #[test]
    fn every_value_of_the_name_is_a_candidate_in_order() {
        let transport = Transport::from(CookieTransport::new("s"));
        let sent = headers(COOKIE, b"s=garbage; other=1; s=real").unwrap();
        let incoming = transport.read(&sent, None);
        let values: Vec<&str> = incoming.candidates().iter().map(|v| &**v).collect();
        assert_eq!(values, ["garbage", "real"]);

        let mut two_headers = sent.clone();
        two_headers.append(HeaderKey::Cookie, "s=third".into());
        assert_eq!(transport.read(&two_headers, None).candidates().len(), 3);

        // Unusable pieces are skipped when another value is there, and counted otherwise.
        let bad_then_good = headers_from(&[b"s=\"\xff\"; s=good"]);
        assert_eq!(
            transport.read(&bad_then_good, None),
            Incoming::Present("good".into())
        );
        let only_bad = headers_from(&[b"s=\xff"]);
        assert_eq!(transport.read(&only_bad, None), Incoming::Unusable);

        let many = (0..20)
            .map(|i| format!("s=v{i}"))
            .collect::<Vec<_>>()
            .join("; ");
        let many = headers(COOKIE, many.as_bytes()).unwrap();
        assert_eq!(
            transport.read(&many, None).candidates().len(),
            MAX_CANDIDATES
        );

        let header = Transport::from(HeaderTransport::new("x-s"));
        let repeated = HeaderList::from_iter([("x-s", "a"), ("x-s", "b")]);
        assert_eq!(header.read(&repeated, None).candidates().len(), 2);

        // Bearer tokens: other schemes are skipped, a malformed token alone is unusable.
        let bearer = Transport::from(HeaderTransport::bearer("x-s"));
        let sent = HeaderList::from_iter([
            ("authorization", "Basic YTpi"),
            ("authorization", "Bearer a"),
            ("x-s", "c"),
            ("authorization", "bearer b"),
        ]);
        let incoming = bearer.read(&sent, None);
        let values: Vec<&str> = incoming.candidates().iter().map(|v| &**v).collect();
        assert_eq!(values, ["a", "b"]);
        let basic = HeaderList::from_iter([("authorization", "Basic YTpi")]);
        assert_eq!(bearer.read(&basic, None), Incoming::Absent);
        let malformed = HeaderList::from_iter([("authorization", "Bearer  a")]);
        assert_eq!(bearer.read(&malformed, None), Incoming::Unusable);
    }

    /// The query fallback: the first parameter of the exact name, decoded; only without a
    /// cookie of the session's name; never without `query_fallback`.
    #[test]
    fn the_query_fallback_reads_the_first_exact_parameter_without_a_cookie() {
        let query = |text: &str| read_query("sid", Some(text));
        let value = |v: &str| Incoming::Query(v.into());
        assert_eq!(query("sid=abc/123"), value("abc/123"));
        assert_eq!(query("a=1&sid=x%2Fy&sid=second"), value("x/y"));
        assert_eq!(query("s%69d=a+b"), value("a b"));
        assert_eq!(
            query("SID=upper&sids=longer&xsid=prefixed"),
            Incoming::Absent
        );
        assert_eq!(
            query("sid&sid=later"),
            Incoming::Absent,
            "the first one counts"
        );
        assert_eq!(query("sid=%ff"), Incoming::Absent);
        assert_eq!(
            query(&format!("sid={}", "a".repeat(MAX_INCOMING_LEN + 1))),
            Incoming::Absent
        );
        assert_eq!(read_query("sid", None), Incoming::Absent);

        let plain = Transport::from(CookieTransport::new("s"));
        let fallback = Transport::from(CookieTransport::new("s").query_fallback("sid"));
        let none = HeaderList::new();
        assert_eq!(plain.read(&none, Some("sid=v")), Incoming::Absent);
        assert_eq!(fallback.read(&none, Some("sid=v")), value("v"));
        assert!(fallback.read(&none, Some("sid=v")).is_from_query());
        let cookie = headers(COOKIE, b"s=c").unwrap();
        assert_eq!(
            fallback.read(&cookie, Some("sid=v")),
            Incoming::Present("c".into())
        );
        let empty_cookie = headers(COOKIE, b"s=").unwrap();
        assert_eq!(fallback.read(&empty_cookie, Some("sid=v")), value("v"));
    }

    fn headers_from(values: &[&'static [u8]]) -> HeaderList {
        values.iter().map(|value| (COOKIE, *value)).collect()
    }
}
