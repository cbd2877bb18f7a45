//! How a session's value travels: a cookie or a custom header.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::time::{Duration as CookieDuration, OffsetDateTime};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::ConfigError;

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
}

impl Incoming {
    /// The values to try, in order.
    pub(crate) fn candidates(&self) -> &[Arc<str>] {
        match self {
            Self::Present(value) => std::slice::from_ref(value),
            Self::Several { values, .. } => values,
            Self::Absent | Self::Unusable => &[],
        }
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

/// A session carried in a cookie. Secure defaults: `Path=/`, no `Domain`, `Secure`,
/// `HttpOnly`, `SameSite=Lax`, and no `Max-Age` (the cookie ends with the browser session).
///
/// Browsers treat `http://localhost` and `http://127.0.0.1` as secure, so `Secure` cookies work
/// in local development too.
///
/// Names with the `__Host-` prefix (the strongest choice: `Secure`, `Path=/`, no `Domain`, so
/// no subdomain can plant or overwrite the cookie) and `__Secure-` prefix are checked against
/// their rules when the app is built.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use session_actix::CookieTransport;
/// use session_actix::cookie::SameSite;
///
/// let transport = CookieTransport::new("user_session")
///     .max_age(Duration::from_secs(3600))
///     .same_site(SameSite::Strict);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CookieTransport {
    name: String,
    path: String,
    domain: Option<String>,
    max_age: Option<Duration>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    attributes: Vec<String>,
}

impl CookieTransport {
    /// A cookie named `name` with the secure defaults.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: "/".to_owned(),
            domain: None,
            max_age: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            attributes: Vec::new(),
        }
    }

    /// The `Path` attribute (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The `Domain` attribute (default none: only the host that set the cookie gets it).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// `Max-Age` (and `Expires`) of the cookie; without it the cookie ends with the browser
    /// session. It is refreshed each time the session is written.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The `Secure` attribute (default on).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `HttpOnly` attribute (default on: scripts cannot read the cookie).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The `SameSite` attribute (default `Lax`). `None` requires `Secure`.
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// An extra attribute appended as written, such as `Partitioned` or `Priority=High`.
    pub fn attribute(mut self, attribute: impl Into<String>) -> Self {
        self.attributes.push(attribute.into());
        self
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn has_max_age(&self) -> bool {
        self.max_age.is_some()
    }

    pub(crate) fn max_age_value(&self) -> Option<Duration> {
        self.max_age
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // RFC 6265 token characters, less those the `cookie` crate percent-encodes in names
        // (`#`, `%`, `^`, `` ` ``, `|`): the name must be sent and read back as it is.
        let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!$&'*+-._~".contains(&b);
        if self.name.is_empty() || !self.name.bytes().all(is_token) {
            return Err(ConfigError::InvalidCookieName {
                name: self.name.clone(),
            });
        }
        let invalid = |reason| ConfigError::InvalidCookieAttributes {
            name: self.name.clone(),
            reason,
        };
        if self.same_site == SameSite::None && !self.secure {
            return Err(invalid("SameSite=None requires Secure"));
        }
        // Cookie prefixes (RFC 6265bis): browsers drop cookies that break their rules.
        let lowercase = self.name.to_ascii_lowercase();
        if lowercase.starts_with("__secure-") && !self.secure {
            return Err(invalid("a __Secure- cookie requires Secure"));
        }
        if lowercase.starts_with("__host-") {
            if !self.secure {
                return Err(invalid("a __Host- cookie requires Secure"));
            }
            if self.path != "/" {
                return Err(invalid("a __Host- cookie requires Path=/"));
            }
            if self.domain.is_some() {
                return Err(invalid("a __Host- cookie cannot have a Domain"));
            }
        }
        if !self.path.starts_with('/') {
            return Err(invalid("Path must start with '/'"));
        }
        let is_attribute_text =
            |text: &str| text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';');
        if !is_attribute_text(&self.path)
            || !self.domain.as_deref().is_none_or(is_attribute_text)
            || !self
                .attributes
                .iter()
                .all(|a| !a.is_empty() && is_attribute_text(a))
        {
            return Err(invalid("attributes must be printable ASCII without ';'"));
        }
        Ok(())
    }

    fn cookie<'a>(&'a self, value: &'a str) -> Cookie<'a> {
        let mut cookie = Cookie::build(self.name.as_str(), value)
            .path(self.path.as_str())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(self.same_site)
            .finish();
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.as_str());
        }
        cookie
    }

    pub(crate) fn render(&self, cookie: &Cookie<'_>) -> String {
        // Sealed IDs and encrypted values (URL-safe base64, hex, `/`) need no escaping, and
        // decode to themselves; anything else (a signed JSON value) is percent-encoded.
        let mut text = if is_cookie_safe(cookie.value()) {
            cookie.to_string()
        } else {
            cookie.encoded().to_string()
        };
        for attribute in &self.attributes {
            text.push_str("; ");
            text.push_str(attribute);
        }
        text
    }

    /// What every `Set-Cookie` of a value carries after `name=value` when there is no
    /// `Max-Age` (which adds a per-response `Expires`): the attributes as the `cookie` crate
    /// renders them, then the extra ones. `None` with a `Max-Age`.
    pub(crate) fn fixed_attributes(&self) -> Option<String> {
        if self.max_age.is_some() {
            return None;
        }
        let rendered = self.render(&self.cookie(""));
        Some(rendered[self.name.len() + 1..].to_owned())
    }

    pub(crate) fn rendered(&self, value: &str) -> String {
        let mut cookie = self.cookie(value);
        if let Some(max_age) = self.max_age {
            let seconds = i64::try_from(max_age.as_secs())
                .unwrap_or(i64::MAX)
                .min(i64::from(i32::MAX));
            cookie.set_max_age(CookieDuration::seconds(seconds));
            if let Some(expires) =
                OffsetDateTime::now_utc().checked_add(CookieDuration::seconds(seconds))
            {
                cookie.set_expires(expires);
            }
        }
        self.render(&cookie)
    }

    pub(crate) fn removal(&self) -> String {
        let mut cookie = self.cookie("");
        cookie.make_removal();
        self.render(&cookie)
    }

    /// Finds every cookie of this name in the `Cookie` headers, looking at bytes so that
    /// another cookie's non-ASCII value cannot hide it.
    fn read(&self, headers: &HeaderMap) -> Incoming {
        let mut collected = Collected::default();
        for header in headers.get_all(actix_web::http::header::COOKIE) {
            for piece in header.as_bytes().split(|&b| b == b';') {
                let piece = piece.trim_ascii();
                let Some(rest) = piece.strip_prefix(self.name.as_bytes()) else {
                    continue;
                };
                if rest.trim_ascii_start().starts_with(b"=") {
                    collected.add(cookie_value(piece, rest.len()));
                }
            }
        }
        collected.into_incoming()
    }
}

/// The value of one `name=value` piece of a `Cookie` header, `rest_len` being the length of
/// what follows the name.
fn cookie_value(piece: &[u8], rest_len: usize) -> Received {
    if piece.len() > MAX_INCOMING_LEN {
        return Received::Unusable;
    }
    let Ok(piece) = std::str::from_utf8(piece) else {
        return Received::Unusable;
    };
    // What this library sends needs no decoding: take it as the `cookie` crate would (it
    // trims, unquotes and percent-decodes, none of which applies).
    let value = piece[piece.len() - rest_len..].trim_ascii_start()[1..].trim_ascii_start();
    if !value.is_empty() && is_cookie_safe(value) {
        return Received::Value(value.into());
    }
    match Cookie::parse_encoded(piece) {
        Ok(cookie) if cookie.value().is_empty() => Received::Empty,
        Ok(cookie) => Received::Value(cookie.value().into()),
        Err(_) => Received::Unusable,
    }
}

/// The value of one session header.
fn header_value(value: &HeaderValue) -> Received {
    if value.len() > MAX_INCOMING_LEN {
        return Received::Unusable;
    }
    match value.to_str() {
        Ok("") => Received::Empty,
        Ok(text) if text.contains('%') => {
            match percent_encoding::percent_decode_str(text).decode_utf8() {
                Ok(decoded) => Received::Value(decoded.into()),
                Err(_) => Received::Unusable,
            }
        }
        Ok(text) => Received::Value(text.into()),
        Err(_) => Received::Unusable,
    }
}

/// Whether a cookie value goes on the wire as it is: URL-safe base64, hex and `/`, which
/// [`Cookie::parse_encoded`] reads back unchanged. Anything else is percent-encoded.
pub(crate) fn is_cookie_safe(value: &str) -> bool {
    /// The bytes above, as a table: this runs over every value received and sent.
    const SAFE: [bool; 256] = {
        let mut table = [false; 256];
        let mut byte = 0;
        while byte < 256 {
            let b = byte as u8;
            table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.');
            byte += 1;
        }
        table
    };
    value.bytes().all(|b| SAFE[usize::from(b)])
}

/// A session carried in a custom request and response header, for API clients.
///
/// The client sends back the value it received in the same header. Clearing cannot make a
/// client forget a header: for server-side sessions the storage entry is deleted; a
/// client-side header session stays valid as long as the client keeps it.
///
/// Sealed IDs and encrypted values travel as they are. A value that is not valid header text
/// (a signed client-side value, whose header line ends in a line break) is percent-encoded,
/// and a received value with `%` in it is percent-decoded.
///
/// From another origin, browsers send the header only if CORS allows it and show it to scripts
/// only if CORS exposes it: see `Sessions::cors` (feature `cors`).
///
/// # Examples
///
/// ```
/// use session_actix::HeaderTransport;
/// let transport = HeaderTransport::new("cart_session");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HeaderTransport {
    name: String,
}

impl HeaderTransport {
    /// A header named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// A session's transport: a cookie or a header.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Transport {
    /// See [`CookieTransport`].
    Cookie(CookieTransport),
    /// See [`HeaderTransport`].
    Header(HeaderTransport),
}

impl From<CookieTransport> for Transport {
    fn from(cookie: CookieTransport) -> Self {
        Self::Cookie(cookie)
    }
}

impl From<HeaderTransport> for Transport {
    fn from(header: HeaderTransport) -> Self {
        Self::Header(header)
    }
}

impl Transport {
    /// The session's name: the cookie or header name.
    pub fn name(&self) -> &str {
        match self {
            Self::Cookie(cookie) => cookie.name(),
            Self::Header(header) => header.name(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Cookie(cookie) => cookie.validate(),
            Self::Header(header) => HeaderName::from_bytes(header.name.as_bytes())
                .map(drop)
                .map_err(|_| ConfigError::InvalidHeaderName {
                    name: header.name.clone(),
                }),
        }
    }

    pub(crate) fn read(&self, headers: &HeaderMap) -> Incoming {
        match self {
            Self::Cookie(cookie) => cookie.read(headers),
            Self::Header(header) => {
                let mut collected = Collected::default();
                for value in headers.get_all(header.name.as_str()) {
                    collected.add(header_value(value));
                }
                collected.into_incoming()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{COOKIE, HeaderMap, HeaderName, HeaderValue};
    use proptest::prelude::*;

    use super::*;

    fn headers(name: HeaderName, bytes: &[u8]) -> Option<HeaderMap> {
        let value = HeaderValue::from_bytes(bytes).ok()?;
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        Some(headers)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn any_cookie_header_has_a_defined_outcome(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let transport = Transport::from(CookieTransport::new("s"));
            if let Some(headers) = headers(COOKIE, &bytes) {
                let _ = transport.read(&headers);
            }
            let header = Transport::from(HeaderTransport::new("x-s"));
            if let Some(headers) = headers(HeaderName::from_static("x-s"), &bytes) {
                let _ = header.read(&headers);
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
            prop_assert_eq!(transport.read(&headers), expected);
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
            let first = transport.read(&headers).candidates().first().cloned();
            prop_assert_eq!(first.as_deref(), Some(value.as_str()));
        }
    }

    /// Issue #11, item 6: a shadowing cookie of the same name must not hide the real one.
    #[test]
    fn every_value_of_the_name_is_a_candidate_in_order() {
        let transport = Transport::from(CookieTransport::new("s"));
        let sent = headers(COOKIE, b"s=garbage; other=1; s=real").unwrap();
        let incoming = transport.read(&sent);
        let values: Vec<&str> = incoming.candidates().iter().map(|v| &**v).collect();
        assert_eq!(values, ["garbage", "real"]);

        let mut two_headers = sent.clone();
        two_headers.append(COOKIE, HeaderValue::from_static("s=third"));
        assert_eq!(transport.read(&two_headers).candidates().len(), 3);

        // Unusable pieces are skipped when another value is there, and counted otherwise.
        let bad_then_good = headers_from(&[b"s=\"\xff\"; s=good"]);
        assert_eq!(
            transport.read(&bad_then_good),
            Incoming::Present("good".into())
        );
        let only_bad = headers_from(&[b"s=\xff"]);
        assert_eq!(transport.read(&only_bad), Incoming::Unusable);

        let many = (0..20)
            .map(|i| format!("s=v{i}"))
            .collect::<Vec<_>>()
            .join("; ");
        let many = headers(COOKIE, many.as_bytes()).unwrap();
        assert_eq!(transport.read(&many).candidates().len(), MAX_CANDIDATES);

        let header = Transport::from(HeaderTransport::new("x-s"));
        let mut repeated = HeaderMap::new();
        repeated.append(
            HeaderName::from_static("x-s"),
            HeaderValue::from_static("a"),
        );
        repeated.append(
            HeaderName::from_static("x-s"),
            HeaderValue::from_static("b"),
        );
        assert_eq!(header.read(&repeated).candidates().len(), 2);
    }

    fn headers_from(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(COOKIE, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }
}
