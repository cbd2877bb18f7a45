//! [`http_headers!`](crate::http_headers): the header wrappers of an adapter over the `http`
//! crate's `HeaderMap`, written once for every adapter.

/// Defines `RequestHeaders<'a>(&'a HeaderMap)` (implementing [`Headers`](crate::Headers)) and
/// `ResponseHeaders<'a>(&'a mut HeaderMap)` (implementing [`Headers`](crate::Headers) and
/// [`HeadersMut`](crate::HeadersMut)) in the invoking module, over the `header` module of an
/// `http` crate: http 1.x (`http::header`, axum, hyper) or http 0.2 as actix-web re-exports it
/// (`actix_web::http::header`). Their APIs match, and both build values from the engine's
/// [`Bytes`](bytes::Bytes) without copying.
///
/// The headers the engine uses on every request map to the crate's constants (no parsing);
/// the engine hands out valid names and visible-ASCII values, and anything else is dropped.
///
/// Invoke it in a module of its own (as both adapters' `headers.rs` do): besides the two
/// wrappers it brings private helpers (`values`, `header_name`, `header`) and imports into
/// that module.
///
/// # Examples
///
/// ```
/// // In an adapter over http 1.x:
/// mod headers {
///     session_engine::http_headers!(http::header);
/// }
///
/// use session_engine::{HeaderKey, Headers};
///
/// let mut map = http::HeaderMap::new();
/// map.insert(http::header::COOKIE, "a=1".parse().unwrap());
/// let headers = headers::RequestHeaders(&map);
/// assert_eq!(headers.first(HeaderKey::Cookie), Some(&b"a=1"[..]));
/// ```
#[macro_export]
macro_rules! http_headers {
    ($($header:ident)::+) => {
        use $($header)::+ as __header;
        use $crate::{HeaderKey, Headers, HeadersMut};
        use $crate::bytes::Bytes;

        /// A request's headers, read by the engine.
        pub(crate) struct RequestHeaders<'a>(pub(crate) &'a __header::HeaderMap);

        impl Headers for RequestHeaders<'_> {
            fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
                values(self.0, name)
            }
        }

        /// A response's headers, read and written by the engine.
        pub(crate) struct ResponseHeaders<'a>(pub(crate) &'a mut __header::HeaderMap);

        impl Headers for ResponseHeaders<'_> {
            fn values<'a>(&'a self, name: HeaderKey<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
                values(self.0, name)
            }
        }

        fn values<'a>(
            map: &'a __header::HeaderMap,
            name: HeaderKey<'_>,
        ) -> impl Iterator<Item = &'a [u8]> + use<'a> {
            let all = header_name(name).map(|name| map.get_all(name));
            all.into_iter().flatten().map(__header::HeaderValue::as_bytes)
        }

        /// The crate's constant for the headers the engine uses on every request, else the
        /// name parsed.
        fn header_name(key: HeaderKey<'_>) -> Option<__header::HeaderName> {
            Some(match key {
                HeaderKey::Cookie => __header::COOKIE,
                HeaderKey::SetCookie => __header::SET_COOKIE,
                HeaderKey::Vary => __header::VARY,
                HeaderKey::CacheControl => __header::CACHE_CONTROL,
                HeaderKey::Origin => __header::ORIGIN,
                HeaderKey::ContentType => __header::CONTENT_TYPE,
                HeaderKey::ContentLength => __header::CONTENT_LENGTH,
                HeaderKey::Authorization => __header::AUTHORIZATION,
                HeaderKey::ReferrerPolicy => __header::REFERRER_POLICY,
                other => return __header::HeaderName::from_bytes(other.as_str().as_bytes()).ok(),
            })
        }

        fn header(
            name: HeaderKey<'_>,
            value: Bytes,
        ) -> Option<(__header::HeaderName, __header::HeaderValue)> {
            Some((
                header_name(name)?,
                __header::HeaderValue::from_maybe_shared(value).ok()?,
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
                    self.0.append(name, __header::HeaderValue::from_static(value));
                }
            }

            fn insert_static(&mut self, name: HeaderKey<'_>, value: &'static str) {
                if let Some(name) = header_name(name) {
                    self.0.insert(name, __header::HeaderValue::from_static(value));
                }
            }
        }
    };
}
