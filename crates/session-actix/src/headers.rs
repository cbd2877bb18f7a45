//! actix-web's header maps as the engine sees them.

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use session_engine::{HeaderKey, Headers, HeadersMut};

/// A request's headers, read by the engine.
pub(crate) struct RequestHeaders<'a>(pub(crate) &'a HeaderMap);

impl Headers for RequestHeaders<'_> {
    fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
        values(self.0, name)
    }
}

/// A response's headers, read and written by the engine.
pub(crate) struct ResponseHeaders<'a>(pub(crate) &'a mut HeaderMap);

impl Headers for ResponseHeaders<'_> {
    fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
        values(self.0, name)
    }
}

fn values<'a>(map: &'a HeaderMap, name: HeaderKey<'_>) -> impl Iterator<Item = &'a [u8]> + use<'a> {
    let all = header_name(name).map(|name| map.get_all(name));
    all.into_iter().flatten().map(HeaderValue::as_bytes)
}

/// The framework's constant for the headers the engine uses on every request (no parsing),
/// else the name parsed.
fn header_name(key: HeaderKey<'_>) -> Option<HeaderName> {
    Some(match key {
        HeaderKey::Cookie => header::COOKIE,
        HeaderKey::SetCookie => header::SET_COOKIE,
        HeaderKey::Vary => header::VARY,
        HeaderKey::CacheControl => header::CACHE_CONTROL,
        HeaderKey::Origin => header::ORIGIN,
        HeaderKey::ContentType => header::CONTENT_TYPE,
        HeaderKey::ContentLength => header::CONTENT_LENGTH,
        other => return HeaderName::from_bytes(other.as_str().as_bytes()).ok(),
    })
}

/// The engine hands out valid names and visible-ASCII values; anything else is dropped.
fn header(name: HeaderKey<'_>, value: Bytes) -> Option<(HeaderName, HeaderValue)> {
    Some((
        header_name(name)?,
        HeaderValue::from_maybe_shared(value).ok()?,
    ))
}

impl HeadersMut for ResponseHeaders<'_> {
    fn append(&mut self, name: HeaderKey<'_>, value: Bytes) {
        if let Some((name, value)) = header(name, value) {
            self.0.append(name, value);
        }
    }

    fn insert(&mut self, name: HeaderKey<'_>, value: Bytes) {
        if let Some((name, value)) = header(name, value) {
            self.0.insert(name, value);
        }
    }

    fn append_static(&mut self, name: HeaderKey<'_>, value: &'static str) {
        if let Some(name) = header_name(name) {
            self.0.append(name, HeaderValue::from_static(value));
        }
    }

    fn insert_static(&mut self, name: HeaderKey<'_>, value: &'static str) {
        if let Some(name) = header_name(name) {
            self.0.insert(name, HeaderValue::from_static(value));
        }
    }
}
