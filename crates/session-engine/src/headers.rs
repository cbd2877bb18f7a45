//! The engine's view of HTTP headers: bytes in, [`Bytes`] out, so that it needs no HTTP crate.
//!
//! An adapter implements [`Headers`] (and [`HeadersMut`] for responses) over a thin wrapper of
//! its framework's header map. Both actix-web's `HeaderValue` (http 0.2) and http 1.x's build
//! from a [`Bytes`] without copying it.

use bytes::Bytes;

/// A header the engine reads or writes. The ones it uses on every request are variants, so
/// that an adapter maps them to its framework's constants without parsing a name; the others
/// (a header transport's name, the CSRF token header) come as text, valid and lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderKey<'a> {
    /// `Cookie`: request cookies.
    Cookie,
    /// `Set-Cookie`: response cookies.
    SetCookie,
    /// `Vary`: which request headers a response depends on.
    Vary,
    /// `Cache-Control`: response caching rules.
    CacheControl,
    /// `Origin`: where a request comes from (CSRF check).
    Origin,
    /// `Sec-Fetch-Site`: where a request comes from relative to its target (CSRF check).
    SecFetchSite,
    /// `Content-Type`: a request body's media type (CSRF form check).
    ContentType,
    /// `Content-Length`: a request body's declared size (CSRF form check).
    ContentLength,
    /// `Authorization`: the credentials a bearer session is read from.
    Authorization,
    /// `Referrer-Policy`: set to `no-referrer` on responses whose session came from the URL.
    ReferrerPolicy,
    /// Any other header, by its lower-case name.
    Other(&'a str),
}

impl<'a> HeaderKey<'a> {
    /// The header's name in lower case.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::Cookie => "cookie",
            Self::SetCookie => "set-cookie",
            Self::Vary => "vary",
            Self::CacheControl => "cache-control",
            Self::Origin => "origin",
            Self::SecFetchSite => "sec-fetch-site",
            Self::ContentType => "content-type",
            Self::ContentLength => "content-length",
            Self::Authorization => "authorization",
            Self::ReferrerPolicy => "referrer-policy",
            Self::Other(name) => name,
        }
    }
}

/// Read access to a request's or a response's headers.
///
/// # Examples
///
/// ```
/// use session_engine::{HeaderKey, Headers};
///
/// struct Pairs(Vec<(&'static str, &'static [u8])>);
///
/// impl Headers for Pairs {
///     fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
///         let name = name.as_str();
///         self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
///     }
/// }
///
/// let headers = Pairs(vec![("Cookie", b"a=1")]);
/// assert_eq!(headers.first(HeaderKey::Cookie), Some(&b"a=1"[..]));
/// ```
pub trait Headers {
    /// Every value of the header `name` (matched without regard to ASCII case), in order.
    fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a;

    /// The first value of the header `name`.
    fn first<'a>(&'a self, name: HeaderKey<'a>) -> Option<&'a [u8]> {
        self.values(name).next()
    }
}

/// Write access to a response's headers. Names are valid lower-case header names, and values
/// visible ASCII: an adapter may convert them without checking.
pub trait HeadersMut: Headers {
    /// Adds a value to the header `name`, after those it has.
    fn append(&mut self, name: HeaderKey<'_>, value: Bytes);

    /// Sets the header `name` to `value` alone.
    fn insert(&mut self, name: HeaderKey<'_>, value: Bytes);

    /// [`append`](Self::append) of a constant value, which an adapter may add without
    /// checking it again.
    fn append_static(&mut self, name: HeaderKey<'_>, value: &'static str) {
        self.append(name, Bytes::from_static(value.as_bytes()));
    }

    /// [`insert`](Self::insert) of a constant value, which an adapter may set without
    /// checking it again.
    fn insert_static(&mut self, name: HeaderKey<'_>, value: &'static str) {
        self.insert(name, Bytes::from_static(value.as_bytes()));
    }
}

/// `bytes` as text when they are visible ASCII (or tabs), as HTTP header values are meant to
/// be; `None` otherwise.
pub(crate) fn visible_ascii(bytes: &[u8]) -> Option<&str> {
    bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\t')
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten()
}

/// Whether `name` is a valid header name (an RFC 9110 token).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A plain list of headers, in order: for tests, and for adapters without a header map of
/// their own.
///
/// # Examples
///
/// ```
/// use session_engine::{HeaderKey, HeaderList, Headers, HeadersMut};
///
/// let mut headers = HeaderList::from_iter([("Set-Cookie", "a=1")]);
/// headers.append(HeaderKey::SetCookie, "b=2".into());
/// assert_eq!(headers.values(HeaderKey::SetCookie).count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    entries: Vec<(String, Bytes)>,
}

impl HeaderList {
    /// No headers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The headers in order, names as given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.entries
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }
}

impl<N: Into<String>, V: Into<Bytes>> FromIterator<(N, V)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }
}

impl Headers for HeaderList {
    fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.as_str();
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| &value[..])
    }
}

impl HeadersMut for HeaderList {
    fn append(&mut self, name: HeaderKey<'_>, value: Bytes) {
        self.entries.push((name.as_str().to_owned(), value));
    }

    fn insert(&mut self, name: HeaderKey<'_>, value: Bytes) {
        self.entries
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_str()));
        self.append(name, value);
    }
}
