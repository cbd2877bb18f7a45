//! How a session's value travels: a cookie, a custom header, or a bearer token.

use std::time::{Duration, SystemTime};

use cookie::time::{Duration as CookieDuration, OffsetDateTime};
use cookie::{Cookie, SameSite};

use crate::headers::{HeaderKey, Headers, is_header_name};
use crate::incoming::{self, Incoming};
use crate::{ConfigError, escape};

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
/// # use session_engine::CookieTransport;
/// # use session_engine::cookie::SameSite;
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
    /// The query parameter read when no cookie is sent ([`CookieTransport::query_fallback`]).
    query_fallback: Option<String>,
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
            query_fallback: None,
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

    /// **Off by default, and best left off.** Also reads the session's signed ID from the
    /// query parameter `parameter` (`/page?parameter=<signed id>`) when the request carries no
    /// cookie of the session's name, for clients that do not keep cookies (PHP's
    /// `session.use_only_cookies = 0`). Only for server-side sessions: a client-side value in a
    /// URL would be a replayable copy of the whole session, so
    /// [`SessionsBuilder::build`](crate::SessionsBuilder::build) refuses it
    /// ([`ConfigError::QueryFallbackClientSide`]).
    ///
    /// **Why it is off.** An ID in a URL leaks: through links people copy and share, server
    /// and proxy access logs, browser history, and the `Referer` header that the page's
    /// requests and outgoing links send to other sites. Whoever has the URL has the session.
    /// So the library reads IDs from URLs but never writes them there: new IDs (a login's
    /// `renew`, a first value) are sent only as cookies, and putting an ID into a link is left
    /// to the app, deliberately. Every response to a request whose session came from the
    /// query carries `Referrer-Policy: no-referrer`, so the page does not hand its own URL on.
    /// A route that never asks for the session does not read the query (that is what keeps
    /// untouched routes free): if links with IDs may reach such routes, send the header from
    /// every route.
    ///
    /// **How it reads.** The first parameter named exactly `parameter` (after
    /// percent-decoding; `+` is a space) holds the value, which must be a signed ID that
    /// unseals like the cookie's: a forged, garbled or unknown one is no session, never an
    /// error. When the request has a cookie of the session's name, the query is ignored.
    /// `parameter` is made of letters, digits and `-._~` (checked by `build`, as
    /// [`ConfigError::InvalidCookieAttributes`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_engine::core::{Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};
    /// # use session_engine::{ConfigError, CookieTransport, Registry, SessionConfig};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    ///
    /// // A server-side session may fall back to `?sid=<signed id>`.
    /// let registry = Registry::builder()
    ///     .session(
    ///         SessionConfig::<Cart>::new(CookieTransport::new("cart").query_fallback("sid"))
    ///             .store(MemoryStore::new())
    ///             .transform(Sign::new(SigningKey::generate())),
    ///     )
    ///     .build();
    /// assert!(registry.is_ok());
    ///
    /// // A client-side one may not.
    /// let refused = Registry::builder()
    ///     .session(
    ///         SessionConfig::<Cart>::new(CookieTransport::new("cart").query_fallback("sid"))
    ///             .transform(Encrypt::new(EncryptionKey::generate())),
    ///     )
    ///     .build();
    /// assert!(matches!(refused, Err(ConfigError::QueryFallbackClientSide { .. })));
    /// ```
    pub fn query_fallback(mut self, parameter: impl Into<String>) -> Self {
        self.query_fallback = Some(parameter.into());
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
        let is_unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if let Some(parameter) = &self.query_fallback
            && (parameter.is_empty() || !parameter.bytes().all(is_unreserved))
        {
            return Err(invalid(
                "the query_fallback parameter must be letters, digits and '-._~'",
            ));
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

    /// `cookie` as a `Set-Cookie` value, its value already encoded ([`escape::COOKIE`]).
    fn render(&self, cookie: &Cookie<'_>) -> String {
        let mut text = cookie.to_string();
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

    /// The whole `Set-Cookie` value carrying `value`; `now` (from the session's clock) dates
    /// its `Expires` when the cookie has a `Max-Age`.
    pub(crate) fn rendered(&self, value: &str, now: impl FnOnce() -> SystemTime) -> String {
        let mut encoded = String::new();
        escape::push_encoded(&mut encoded, value, &escape::COOKIE);
        let mut cookie = self.cookie(&encoded);
        if let Some(max_age) = self.max_age {
            let seconds = i64::try_from(max_age.as_secs())
                .unwrap_or(i64::MAX)
                .min(i64::from(i32::MAX));
            cookie.set_max_age(CookieDuration::seconds(seconds));
            if let Some(expires) =
                OffsetDateTime::from(now()).checked_add(CookieDuration::seconds(seconds))
            {
                cookie.set_expires(expires);
            }
        }
        self.render(&cookie)
    }

    /// An expired cookie with the same attributes, dated by `now` (the session's clock), as
    /// the `cookie` crate's `make_removal` makes it.
    pub(crate) fn removal(&self, now: SystemTime) -> String {
        let mut cookie = self.cookie("");
        cookie.set_max_age(CookieDuration::ZERO);
        cookie.set_expires(OffsetDateTime::from(now) - CookieDuration::days(365));
        self.render(&cookie)
    }
}

/// A session carried in a header, for API clients: a custom header both ways
/// ([`HeaderTransport::new`]), or `Authorization: Bearer` in requests and a response header of
/// the app's choosing ([`HeaderTransport::bearer`]).
///
/// The client sends back the value it received. Clearing cannot make a client forget a
/// header: for server-side sessions the storage entry is deleted; a client-side header session
/// stays valid as long as the client keeps it.
///
/// Sealed IDs and encrypted values travel as they are. In a custom header, a value that is not
/// valid header text (a signed client-side value, whose header line ends in a line break) is
/// percent-encoded, and a received value with `%` in it is percent-decoded.
///
/// From another origin, browsers send the header only if CORS allows it and show the response
/// header to scripts only if CORS exposes it: the adapters' `Sessions::cors` (feature `cors`)
/// wires both ([`Registry::allowed_headers`](crate::Registry::allowed_headers),
/// [`Registry::exposed_headers`](crate::Registry::exposed_headers)).
///
/// # Examples
///
/// ```
/// # use session_engine::HeaderTransport;
/// let transport = HeaderTransport::new("cart_session");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HeaderTransport {
    /// The response header (and, unless `bearer`, the request header) as given: the session's
    /// name.
    name: String,
    /// `name` in lower case, as header maps look it up.
    lower: String,
    /// Read from `Authorization: Bearer`.
    bearer: bool,
}

impl HeaderTransport {
    /// A header named `name`, in requests and responses. `name` is the session's name.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            lower: name.to_ascii_lowercase(),
            name,
            bearer: false,
        }
    }

    /// A bearer session, for single-page apps and mobile clients: the value is read from
    /// `Authorization: Bearer <value>` (RFC 6750) and new values are handed out in the
    /// response header `response_header` (say `x-session-token`), never in `Authorization`.
    ///
    /// **Reading.** The scheme is matched in any case, followed by one space and a `token68`
    /// (letters, digits, `-._~+/`, then optional `=`). Anything else — another scheme, no
    /// token, extra spaces, other characters — is no session, never an error, and
    /// `Authorization` headers of other schemes are left to the app. Several `Authorization`
    /// headers are candidates, tried in order, as with repeated custom headers.
    ///
    /// **Writing.** The response header carries the value as a `token68`, ready to send back
    /// after `Bearer `: sealed IDs and encrypted values as they are, and any other character
    /// (of a signed client-side value, say) as `~` and two hex digits, which the reader undoes.
    ///
    /// **Name.** The session's name is `response_header` as given: it must be unique among
    /// the registered sessions, and it is bound into every signature, encryption and stored
    /// entry of the session, so renaming the response header ends every session handed out
    /// under the old name. `build()` refuses an invalid header name and `Authorization`
    /// ([`ConfigError::InvalidHeaderName`]).
    ///
    /// **Caching and CORS.** Responses that read or write the session carry
    /// `Vary: Authorization`. For cross-origin clients, `authorization` is among
    /// [`Registry::allowed_headers`](crate::Registry::allowed_headers) and `response_header`
    /// among [`Registry::exposed_headers`](crate::Registry::exposed_headers), which the
    /// adapters' `Sessions::cors` wires in. Browsers never send `Authorization` by themselves,
    /// so a bearer session needs no CSRF protection of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// # use session_engine::core::{MemoryStore, Sign, SigningKey};
    /// # use session_engine::{HeaderTransport, Registry, SessionConfig};
    ///
    /// #[derive(Clone, Serialize, Deserialize)]
    /// struct Api { user_id: String }
    ///
    /// # fn main() -> Result<(), session_engine::ConfigError> {
    /// # let signing_key = SigningKey::generate();
    /// // The client sends `Authorization: Bearer <token>`, where the token is what it last
    /// // received in the `x-session-token` response header.
    /// let registry = Registry::builder()
    ///     .session(
    ///         SessionConfig::<Api>::new(HeaderTransport::bearer("x-session-token"))
    ///             .store(MemoryStore::new())
    ///             .transform(Sign::new(signing_key)),
    ///     )
    ///     .build()?;
    /// assert_eq!(registry.allowed_headers().collect::<Vec<_>>(), ["authorization"]);
    /// assert_eq!(registry.exposed_headers().collect::<Vec<_>>(), ["x-session-token"]);
    ///
    /// // The response header cannot be `Authorization`.
    /// let refused = Registry::builder()
    ///     .session(SessionConfig::<Api>::new(HeaderTransport::bearer("Authorization")))
    ///     .build();
    /// assert!(refused.is_err());
    /// # Ok(()) }
    /// ```
    pub fn bearer(response_header: impl Into<String>) -> Self {
        Self {
            bearer: true,
            ..Self::new(response_header)
        }
    }

    /// The session's name: the header (for a bearer session, the response header) as given.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The request header the value comes in: the name as given, or `authorization`.
    pub(crate) fn request_header(&self) -> &str {
        if self.bearer {
            HeaderKey::Authorization.as_str()
        } else {
            &self.name
        }
    }

    pub(crate) fn is_bearer(&self) -> bool {
        self.bearer
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let reads_itself = self.bearer && self.lower == HeaderKey::Authorization.as_str();
        if is_header_name(&self.name) && !reads_itself {
            Ok(())
        } else {
            Err(ConfigError::InvalidHeaderName {
                name: self.name.clone(),
            })
        }
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
    /// The session's name: the cookie or header name (a bearer session's response header).
    pub fn name(&self) -> &str {
        match self {
            Self::Cookie(cookie) => cookie.name(),
            Self::Header(header) => header.name(),
        }
    }

    /// The `WWW-Authenticate` scheme of a `401` for a missing session: `Bearer` for a bearer
    /// session, none for the others.
    pub(crate) fn challenge(&self) -> Option<&'static str> {
        matches!(self, Self::Header(header) if header.bearer).then_some("Bearer")
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Cookie(cookie) => cookie.validate(),
            Self::Header(header) => header.validate(),
        }
    }

    /// Whether a session's ID may come from the URL ([`CookieTransport::query_fallback`]).
    pub(crate) fn has_query_fallback(&self) -> bool {
        matches!(self, Self::Cookie(cookie) if cookie.query_fallback.is_some())
    }

    /// Checks what depends on where the value lives: the query fallback carries only IDs.
    pub(crate) fn validate_for(&self, server_side: bool) -> Result<(), ConfigError> {
        match self {
            Self::Cookie(cookie) if cookie.query_fallback.is_some() && !server_side => {
                Err(ConfigError::QueryFallbackClientSide {
                    name: cookie.name.clone(),
                })
            }
            Self::Cookie(_) | Self::Header(_) => Ok(()),
        }
    }

    /// What the request carried for this session ([`Incoming`]): its `headers`, and for a
    /// cookie with a query fallback and no cookie sent, its raw `query`.
    pub(crate) fn read(&self, headers: &impl Headers, query: Option<&str>) -> Incoming {
        match self {
            Self::Cookie(cookie) => match incoming::read_cookies(cookie.name(), headers) {
                Incoming::Absent => cookie
                    .query_fallback
                    .as_deref()
                    .map_or(Incoming::Absent, |parameter| {
                        incoming::read_query(parameter, query)
                    }),
                sent => sent,
            },
            Self::Header(header) if header.bearer => incoming::read_bearer(headers),
            Self::Header(header) => incoming::read_headers(&header.lower, headers),
        }
    }
}
