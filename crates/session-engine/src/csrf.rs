//! The CSRF policy: which requests are checked, where they come from, where the token is and
//! whether it matches. Adapters run it as a layer and read the body when the token is in a form.

use session_core::csrf_token_matches;

use crate::headers::{HeaderKey, Headers, visible_ascii};

/// The request header read for the token by default.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field read for the token by default.
pub const CSRF_FORM_FIELD: &str = "csrf_token";
/// Form bodies larger than this are not searched for the token (`413 Payload Too Large`).
pub const MAX_FORM_LEN: usize = 64 * 1024;

/// Whether `method` is safe (`GET`, `HEAD`, `OPTIONS`): passed without any check. Every other
/// method, custom ones included, is checked.
#[must_use]
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfRefusal {
    /// From another site or origin, by the header named.
    #[error("cross-origin request refused (by its {0} header)")]
    CrossOrigin(&'static str),
    /// A URL-encoded form over [`MAX_FORM_LEN`] without the token header.
    #[error("form body too large to search for the CSRF token")]
    FormTooLarge,
    /// The body failed while it was read.
    #[error("form body could not be read")]
    FormUnreadable,
    /// No token, a wrong one, or no session to hold one.
    #[error("request without a valid CSRF token refused")]
    InvalidToken,
}

impl CsrfRefusal {
    /// The status of the empty response: 403, 413 for a form too large to search, 400 for a
    /// body that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_engine::CsrfRefusal;
    /// assert_eq!(CsrfRefusal::InvalidToken.status(), 403);
    /// assert_eq!(CsrfRefusal::FormTooLarge.status(), 413);
    /// ```
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::CrossOrigin(_) | Self::InvalidToken => 403,
            Self::FormTooLarge => 413,
            Self::FormUnreadable => 400,
        }
    }
}

/// A URL-encoded form body being read to find the token in it: at most [`MAX_FORM_LEN`]
/// bytes, then handed on intact.
///
/// # Examples
///
/// ```
/// # use session_engine::{CsrfRefusal, FormBody, MAX_FORM_LEN};
///
/// let mut form = FormBody::default();
/// form.push(b"csrf_token=abc")?;
/// assert_eq!(&form.finish()[..], b"csrf_token=abc");
///
/// let mut huge = FormBody::default();
/// assert_eq!(huge.push(&vec![b'a'; MAX_FORM_LEN + 1]), Err(CsrfRefusal::FormTooLarge));
/// # Ok::<(), CsrfRefusal>(())
/// ```
#[derive(Debug, Default)]
pub struct FormBody {
    bytes: bytes::BytesMut,
}

impl FormBody {
    /// Adds the next chunk of the body.
    ///
    /// # Errors
    ///
    /// [`CsrfRefusal::FormTooLarge`] once the body passes [`MAX_FORM_LEN`].
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CsrfRefusal> {
        if self.bytes.len() + chunk.len() > MAX_FORM_LEN {
            return Err(CsrfRefusal::FormTooLarge);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The whole body, to search and then hand on.
    #[must_use]
    pub fn finish(self) -> bytes::Bytes {
        self.bytes.freeze()
    }
}

/// Where the request's token is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// In the token header.
    Header(String),
    /// Perhaps in a URL-encoded form body: read it (up to [`MAX_FORM_LEN`]) and look with
    /// [`CsrfPolicy::token_in_form`], then hand the body on intact.
    Form,
    /// Nowhere.
    Missing,
    /// Not looked for: the policy is [`origin_only`](CsrfPolicy::origin_only) and the
    /// request passed the origin check, so it passes.
    NotChecked,
}

/// The CSRF settings of one protected scope; the adapters' `CsrfProtection` layers hold one.
/// See their docs for what is checked and why.
///
/// # Examples
///
/// ```
/// # use session_engine::{CsrfPolicy, HeaderList};
///
/// let policy = CsrfPolicy::default().allowed_origin("https://app.example.com");
/// let request = HeaderList::from_iter([("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")]);
/// assert!(policy.check_origin(&request, || "https://app.example.com".into()).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct CsrfPolicy {
    header: String,
    field: String,
    allow_same_site: bool,
    allowed_origins: Vec<String>,
    origin_only: bool,
}

impl Default for CsrfPolicy {
    fn default() -> Self {
        Self {
            header: CSRF_HEADER.to_owned(),
            field: CSRF_FORM_FIELD.to_owned(),
            allow_same_site: false,
            allowed_origins: Vec::new(),
            origin_only: false,
        }
    }
}

impl CsrfPolicy {
    /// Reads the token from another header.
    #[must_use]
    pub fn header(mut self, header: &str) -> Self {
        self.header = header.to_ascii_lowercase();
        self
    }

    /// Reads the token from another form field.
    #[must_use]
    pub fn form_field(mut self, field: &str) -> Self {
        self.field = field.to_owned();
        self
    }

    /// Lets requests marked `Sec-Fetch-Site: same-site` go on to the token check.
    #[must_use]
    pub fn allow_same_site(mut self) -> Self {
        self.allow_same_site = true;
        self
    }

    /// Lets requests from `origin` go on to the token check, whatever their
    /// `Sec-Fetch-Site`, and when they name it in `Origin` without `Sec-Fetch-Site`.
    /// Comparison ignores ASCII case, a trailing `/` and the default port. With
    /// [`origin_only`](Self::origin_only) there is no token check after it: requests from
    /// `origin` pass, so name only origins trusted to post the form (a login form's included).
    #[must_use]
    pub fn allowed_origin(mut self, origin: &str) -> Self {
        self.allowed_origins.push(normalize_origin(origin));
        self
    }

    /// Checks where requests come from and nothing else: no session token is asked for, so
    /// a request without a session (a login form) can pass. [`inspect`](Self::inspect)
    /// answers [`TokenSource::NotChecked`] for a request that passes the origin check.
    ///
    /// Requests that carry neither `Sec-Fetch-Site` nor `Origin` pass: every current browser
    /// sends one of them on a `POST`, so such a request comes from another kind of client
    /// (which cannot ride a victim's cookies) or a browser too old to say (the same rule as
    /// Go's `http.CrossOriginProtection`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_engine::{CsrfPolicy, CsrfRefusal, HeaderList, TokenSource};
    ///
    /// let policy = CsrfPolicy::default().origin_only();
    /// let own = || "https://app.example.com".to_owned();
    /// let login = HeaderList::from_iter([("sec-fetch-site", "same-origin")]);
    /// assert_eq!(policy.inspect(&login, own), Ok(TokenSource::NotChecked));
    /// let forged = HeaderList::from_iter([("sec-fetch-site", "cross-site")]);
    /// assert_eq!(policy.inspect(&forged, own), Err(CsrfRefusal::CrossOrigin("Sec-Fetch-Site")));
    /// ```
    #[must_use]
    pub fn origin_only(mut self) -> Self {
        self.origin_only = true;
        self
    }

    /// Whether the policy checks origins only ([`origin_only`](Self::origin_only)).
    #[must_use]
    pub fn is_origin_only(&self) -> bool {
        self.origin_only
    }

    /// The first check, from headers alone: `Sec-Fetch-Site`, else `Origin` compared with
    /// the request's own origin (`own_origin`, `scheme://host[:port]`, asked only when
    /// needed) and the allowed ones.
    ///
    /// # Errors
    ///
    /// [`CsrfRefusal::CrossOrigin`] naming the header that refused it.
    pub fn check_origin(
        &self,
        headers: &impl Headers,
        own_origin: impl FnOnce() -> String,
    ) -> Result<(), CsrfRefusal> {
        let origin = headers.first(HeaderKey::Origin).map(|value| {
            visible_ascii(value)
                .map(normalize_origin)
                .unwrap_or_default()
        });
        // An unreadable `Origin` (empty here) or `null` is never an allowed origin.
        let allowed = origin.as_deref().is_some_and(|origin| {
            !origin.is_empty()
                && origin != "null"
                && self.allowed_origins.iter().any(|a| a == origin)
        });
        if let Some(site) = headers.first(HeaderKey::SecFetchSite) {
            return match site {
                b"same-origin" | b"none" => Ok(()),
                b"same-site" if self.allow_same_site => Ok(()),
                _ if allowed => Ok(()),
                _ => Err(CsrfRefusal::CrossOrigin("Sec-Fetch-Site")),
            };
        }
        match origin {
            Some(origin) if !allowed && origin != normalize_origin(&own_origin()) => {
                Err(CsrfRefusal::CrossOrigin("Origin"))
            }
            _ => Ok(()),
        }
    }

    /// The checks that headers alone decide, in their order: where the request comes from
    /// ([`check_origin`](Self::check_origin)), then where its token is
    /// ([`token_source`](Self::token_source)). What is left is reading a form body if the
    /// token is there, and [`check_token`](Self::check_token). An
    /// [`origin_only`](Self::origin_only) policy stops after the first check, with
    /// [`TokenSource::NotChecked`].
    ///
    /// # Errors
    ///
    /// The refusal of the first check that fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_engine::{CsrfPolicy, CsrfRefusal, HeaderList, TokenSource};
    ///
    /// let policy = CsrfPolicy::default();
    /// let request = HeaderList::from_iter([("sec-fetch-site", "same-origin"), ("x-csrf-token", "t")]);
    /// let own = || "https://app.example.com".to_owned();
    /// assert_eq!(policy.inspect(&request, own), Ok(TokenSource::Header("t".into())));
    /// let forged = HeaderList::from_iter([("sec-fetch-site", "cross-site"), ("x-csrf-token", "t")]);
    /// assert!(matches!(policy.inspect(&forged, own), Err(CsrfRefusal::CrossOrigin(_))));
    /// ```
    pub fn inspect(
        &self,
        headers: &impl Headers,
        own_origin: impl FnOnce() -> String,
    ) -> Result<TokenSource, CsrfRefusal> {
        self.check_origin(headers, own_origin)?;
        if self.origin_only {
            return Ok(TokenSource::NotChecked);
        }
        self.token_source(headers)
    }

    /// Where the request's token is: the header, else a URL-encoded form body.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_engine::{CsrfPolicy, HeaderList, TokenSource};
    ///
    /// let policy = CsrfPolicy::default();
    /// let form = HeaderList::from_iter([("content-type", "application/x-www-form-urlencoded")]);
    /// assert_eq!(policy.token_source(&form), Ok(TokenSource::Form));
    /// assert_eq!(policy.token_in_form(b"csrf_token=abc&amount=5"), Some("abc".to_owned()));
    /// ```
    ///
    /// # Errors
    ///
    /// [`CsrfRefusal::FormTooLarge`] for a form declared larger than [`MAX_FORM_LEN`].
    pub fn token_source(&self, headers: &impl Headers) -> Result<TokenSource, CsrfRefusal> {
        // A header that is not text is no token: the form may still hold one.
        let header = headers.first(HeaderKey::Other(&self.header));
        if let Some(token) = header.and_then(visible_ascii) {
            return Ok(TokenSource::Header(token.to_owned()));
        }
        if !is_form(headers) {
            return Ok(TokenSource::Missing);
        }
        let declared = headers
            .first(HeaderKey::ContentLength)
            .and_then(visible_ascii)
            .and_then(|len| len.parse::<usize>().ok());
        if declared.is_some_and(|len| len > MAX_FORM_LEN) {
            return Err(CsrfRefusal::FormTooLarge);
        }
        Ok(TokenSource::Form)
    }

    /// The token field of a URL-encoded form `body`.
    #[must_use]
    pub fn token_in_form(&self, body: &[u8]) -> Option<String> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .ok()?
            .into_iter()
            .find(|(name, _)| *name == self.field)
            .map(|(_, value)| value)
    }

    /// The last check: the `provided` token is the session's (`expected`, `None` without a
    /// session), raw or masked, compared in constant time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_engine::core::mask_csrf_token;
    /// # use session_engine::{CsrfPolicy, CsrfRefusal};
    ///
    /// let token = "4bJbJqRkY3Xo0zQy4oFq1QmXc1lR1vX8kA2pN6sT9uE";
    /// let masked = mask_csrf_token(token).expect("a token of the right shape");
    /// assert_eq!(CsrfPolicy::check_token(Some(token), Some(&masked)), Ok(()));
    /// assert_eq!(CsrfPolicy::check_token(None, Some(token)), Err(CsrfRefusal::InvalidToken));
    /// ```
    ///
    /// # Errors
    ///
    /// [`CsrfRefusal::InvalidToken`].
    pub fn check_token(expected: Option<&str>, provided: Option<&str>) -> Result<(), CsrfRefusal> {
        match (expected, provided) {
            (Some(expected), Some(provided)) if csrf_token_matches(expected, provided) => Ok(()),
            _ => Err(CsrfRefusal::InvalidToken),
        }
    }
}

fn is_form(headers: &impl Headers) -> bool {
    headers
        .first(HeaderKey::ContentType)
        .and_then(visible_ascii)
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// `scheme://host[:port]` in ASCII lower case, without a trailing `/` or the default port.
fn normalize_origin(origin: &str) -> String {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("http://", ":80"), ("https://", ":443")] {
        if origin.starts_with(scheme) && origin.ends_with(port) {
            return origin[..origin.len() - port.len()].to_owned();
        }
    }
    origin
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderList;

    #[test]
    fn only_get_head_and_options_are_safe() {
        for method in ["GET", "HEAD", "OPTIONS"] {
            assert!(is_safe_method(method), "{method}");
        }
        for method in [
            "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND", "get",
        ] {
            assert!(!is_safe_method(method), "{method}");
        }
    }

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

    #[test]
    fn the_token_is_in_the_header_else_in_a_form_not_too_large() {
        let policy = CsrfPolicy::default();
        let header = HeaderList::from_iter([("X-CSRF-Token", "abc")]);
        assert_eq!(
            policy.token_source(&header),
            Ok(TokenSource::Header("abc".into()))
        );
        let form = HeaderList::from_iter([("content-type", "application/x-www-form-urlencoded")]);
        assert_eq!(policy.token_source(&form), Ok(TokenSource::Form));
        let huge = HeaderList::from_iter([
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-length", "70000"),
        ]);
        assert_eq!(policy.token_source(&huge), Err(CsrfRefusal::FormTooLarge));
        assert_eq!(
            policy.token_source(&HeaderList::new()),
            Ok(TokenSource::Missing)
        );
        assert_eq!(
            policy.token_in_form(b"a=1&csrf_token=x%2By"),
            Some("x+y".into())
        );
    }

    #[test]
    fn an_origin_only_policy_checks_origins_and_asks_for_no_token() {
        let policy = CsrfPolicy::default().origin_only();
        assert!(policy.is_origin_only() && !CsrfPolicy::default().is_origin_only());
        let own = || "http://shop.test".to_owned();
        for passing in [
            HeaderList::from_iter([("sec-fetch-site", "same-origin")]),
            HeaderList::from_iter([("origin", "http://shop.test")]),
            HeaderList::from_iter([("content-type", "application/x-www-form-urlencoded")]),
        ] {
            assert_eq!(policy.inspect(&passing, own), Ok(TokenSource::NotChecked));
        }
        for refused in [
            HeaderList::from_iter([("sec-fetch-site", "cross-site"), ("x-csrf-token", "t")]),
            HeaderList::from_iter([("sec-fetch-site", "same-site")]),
            HeaderList::from_iter([("origin", "https://evil.test")]),
            HeaderList::from_iter([("origin", "null")]),
        ] {
            assert!(matches!(
                policy.inspect(&refused, own),
                Err(CsrfRefusal::CrossOrigin(_))
            ));
        }
    }
}
