//! http 1.x header maps as the engine sees them.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use session_engine::{Headers, HeadersMut};

/// A request's headers, read by the engine.
pub(crate) struct RequestHeaders<'a>(pub(crate) &'a HeaderMap);

impl Headers for RequestHeaders<'_> {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.get_all(name).into_iter().map(HeaderValue::as_bytes)
    }
}

/// A response's headers, read and written by the engine.
pub(crate) struct ResponseHeaders<'a>(pub(crate) &'a mut HeaderMap);

impl Headers for ResponseHeaders<'_> {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.get_all(name).into_iter().map(HeaderValue::as_bytes)
    }
}

/// The engine hands out valid names and visible-ASCII values; anything else is dropped.
fn header(name: &str, value: Bytes) -> Option<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
    Some((name, HeaderValue::from_maybe_shared(value).ok()?))
}

impl HeadersMut for ResponseHeaders<'_> {
    fn append(&mut self, name: &str, value: Bytes) {
        if let Some((name, value)) = header(name, value) {
            self.0.append(name, value);
        }
    }

    fn insert(&mut self, name: &str, value: Bytes) {
        if let Some((name, value)) = header(name, value) {
            self.0.insert(name, value);
        }
    }
}
