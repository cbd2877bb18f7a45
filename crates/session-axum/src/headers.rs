//! http 1.x header maps as the engine sees them.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use session_engine::{Headers, HeadersMut, names};

/// A request's headers, read by the engine.
pub(crate) struct RequestHeaders<'a>(pub(crate) &'a HeaderMap);

impl Headers for RequestHeaders<'_> {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        values(self.0, name)
    }
}

/// A response's headers, read and written by the engine.
pub(crate) struct ResponseHeaders<'a>(pub(crate) &'a mut HeaderMap);

impl Headers for ResponseHeaders<'_> {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        values(self.0, name)
    }
}

fn values<'a>(map: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
    let all = header_name(name).map(|name| map.get_all(name));
    all.into_iter().flatten().map(HeaderValue::as_bytes)
}

/// The name as http's constant when it is one the engine uses on every request (no parsing),
/// else parsed.
fn header_name(name: &str) -> Option<HeaderName> {
    Some(match name {
        names::COOKIE => header::COOKIE,
        names::SET_COOKIE => header::SET_COOKIE,
        names::VARY => header::VARY,
        names::CACHE_CONTROL => header::CACHE_CONTROL,
        _ => return HeaderName::from_bytes(name.as_bytes()).ok(),
    })
}

/// The engine hands out valid names and visible-ASCII values; anything else is dropped.
fn header(name: &str, value: Bytes) -> Option<(HeaderName, HeaderValue)> {
    Some((
        header_name(name)?,
        HeaderValue::from_maybe_shared(value).ok()?,
    ))
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

    fn append_static(&mut self, name: &str, value: &'static str) {
        if let Some(name) = header_name(name) {
            self.0.append(name, HeaderValue::from_static(value));
        }
    }

    fn insert_static(&mut self, name: &str, value: &'static str) {
        if let Some(name) = header_name(name) {
            self.0.insert(name, HeaderValue::from_static(value));
        }
    }
}
