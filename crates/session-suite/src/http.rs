//! The HTTP exchanges of the suite: plain requests and responses, with the cookie helpers a
//! browser would need.

use cookie::Cookie;

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The whole body at once. A non-empty one also carries its `Content-Length` header
    /// among the request's headers.
    Full(Vec<u8>),
    /// A body streamed in `chunks` without a `Content-Length`; when `fails`, the stream ends
    /// with a read error (a client that went away) instead of its end.
    Streamed {
        /// The chunks, in order.
        chunks: Vec<Vec<u8>>,
        /// Whether the stream fails after the last chunk.
        fails: bool,
    },
}

/// A request the suite sends through [`Adapter::send`](crate::Adapter::send).
///
/// Headers are raw bytes (some scenarios send bytes that are not UTF-8) and keep their
/// order; a name may repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRequest {
    /// The method, upper case: `GET`, `POST`, `TRACE`…
    pub method: String,
    /// The path and query, as in a request line: `/add/1`, `/user/set/zo%C3%AB`.
    pub uri: String,
    /// The headers, in order, names in lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Body,
}

impl TestRequest {
    /// A request without headers or body.
    #[must_use]
    pub fn new(method: &str, uri: &str) -> Self {
        Self {
            method: method.to_owned(),
            uri: uri.to_owned(),
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
        }
    }

    /// `GET uri`.
    #[must_use]
    pub fn get(uri: &str) -> Self {
        Self::new("GET", uri)
    }

    /// `POST uri`.
    #[must_use]
    pub fn post(uri: &str) -> Self {
        Self::new("POST", uri)
    }

    /// Adds a header (the name is lower-cased).
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds `cookie` to the `Cookie` header, percent-encoded as a browser echoes it back.
    #[must_use]
    pub fn cookie(self, cookie: &Cookie<'_>) -> Self {
        let pair = Cookie::new(cookie.name().to_owned(), cookie.value().to_owned())
            .encoded()
            .to_string();
        self.cookies(&pair)
    }

    /// Adds `pairs` (`a=1; b=2`, sent as they are) to the `Cookie` header.
    #[must_use]
    pub fn cookies(mut self, pairs: impl AsRef<[u8]>) -> Self {
        let pairs = pairs.as_ref();
        match self.headers.iter_mut().find(|(name, _)| name == "cookie") {
            Some((_, value)) => {
                value.extend_from_slice(b"; ");
                value.extend_from_slice(pairs);
            }
            None => self.headers.push(("cookie".to_owned(), pairs.to_vec())),
        }
        self
    }

    /// A URL-encoded form body, with its `Content-Type` and `Content-Length`.
    #[must_use]
    pub fn form(mut self, form: &str) -> Self {
        self = self.header("content-type", "application/x-www-form-urlencoded");
        self.headers.push((
            "content-length".to_owned(),
            form.len().to_string().into_bytes(),
        ));
        self.body = Body::Full(form.as_bytes().to_vec());
        self
    }

    /// A URL-encoded form body streamed in `chunks` without a `Content-Length`, failing at
    /// the end when `fails`.
    #[must_use]
    pub fn streamed_form(mut self, chunks: Vec<Vec<u8>>, fails: bool) -> Self {
        self = self.header("content-type", "application/x-www-form-urlencoded");
        self.body = Body::Streamed { chunks, fails };
        self
    }
}

/// The response an adapter's app gave, as [`Adapter::send`](crate::Adapter::send) returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The headers, in order; names in any case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The values of the headers named `name` (any case), as text.
    ///
    /// # Panics
    ///
    /// When a value is not UTF-8.
    #[must_use]
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| std::str::from_utf8(value).expect("a UTF-8 header value"))
            .collect()
    }

    /// The value of the header `name`, if there is one.
    ///
    /// # Panics
    ///
    /// When there are several, or it is not UTF-8.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        let values = self.headers(name);
        assert!(values.len() < 2, "more than one {name} header: {values:?}");
        values.first().copied()
    }

    /// The body as text.
    ///
    /// # Panics
    ///
    /// When it is not UTF-8.
    #[must_use]
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    /// The `Set-Cookie` headers, parsed.
    ///
    /// # Panics
    ///
    /// When one does not parse.
    #[must_use]
    pub fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers("set-cookie")
            .into_iter()
            .map(|value| Cookie::parse_encoded(value.to_owned()).expect("a valid Set-Cookie"))
            .collect()
    }

    /// The one `Set-Cookie` named `name`.
    ///
    /// # Panics
    ///
    /// Unless there is exactly one.
    #[must_use]
    pub fn the_cookie(&self, name: &str) -> Cookie<'static> {
        let mut found: Vec<_> = self
            .set_cookies()
            .into_iter()
            .filter(|c| c.name() == name)
            .collect();
        assert_eq!(found.len(), 1, "expected one Set-Cookie {name}: {found:?}");
        found.remove(0)
    }
}

/// Whether `cookie` tells the browser to drop its cookie: empty and `Max-Age=0`.
#[must_use]
pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(cookie::time::Duration::ZERO)
}
