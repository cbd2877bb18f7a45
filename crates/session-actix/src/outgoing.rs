//! What a response carries for a session: the header a sealed value travels in, rendered once.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use actix_web::web::Bytes;
use percent_encoding::{AsciiSet, CONTROLS};

use crate::transport::{CookieTransport, Transport, is_cookie_safe};
use crate::{ConfigError, SessionError};

/// Browsers keep cookies up to about 4096 bytes (name, value and attributes); larger ones are
/// dropped silently, so `set` refuses them instead.
pub(crate) const COOKIE_SIZE_LIMIT: usize = 4096;

/// What a header value cannot hold as it is (controls; non-ASCII is always encoded), spaces,
/// which parsers trim at the ends, and `%`, so that decoding is unambiguous.
const HEADER_ENCODE_SET: &AsciiSet = &CONTROLS.add(b' ').add(b'%');

/// What the response must carry for one session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// Nothing: the client's copy is current.
    Nothing,
    /// A new value, rendered ([`Writer::value`]).
    Send(HeaderValue),
    /// An instruction to drop the value (an expired cookie).
    Remove,
}

/// The response side of a transport, prepared when the middleware is built.
#[derive(Debug)]
pub(crate) enum Writer {
    Cookie {
        transport: CookieTransport,
        /// The attributes after `name=value` ([`CookieTransport::fixed_attributes`]).
        fixed_attributes: Option<String>,
    },
    Header {
        name: HeaderName,
        /// `name` as a `Vary` token.
        vary: HeaderValue,
    },
}

impl Writer {
    /// Checks the transport's settings and prepares what every response reuses.
    pub(crate) fn new(transport: &Transport) -> Result<Self, ConfigError> {
        transport.validate()?;
        Ok(match transport {
            Transport::Cookie(cookie) => Self::Cookie {
                fixed_attributes: cookie.fixed_attributes(),
                transport: cookie.clone(),
            },
            Transport::Header(header) => {
                let name = HeaderName::from_bytes(header.name().as_bytes()).map_err(|_| {
                    ConfigError::InvalidHeaderName {
                        name: header.name().to_owned(),
                    }
                })?;
                Self::Header {
                    vary: HeaderValue::from(name.clone()),
                    name,
                }
            }
        })
    }

    /// The response header value carrying `sealed`: a whole `Set-Cookie`, or the custom
    /// header's value.
    ///
    /// # Errors
    ///
    /// [`SessionError::CookieTooLarge`] when the `Set-Cookie` would exceed
    /// [`COOKIE_SIZE_LIMIT`].
    pub(crate) fn value(&self, sealed: &str) -> Result<HeaderValue, SessionError> {
        let text = match self {
            Self::Cookie {
                transport,
                fixed_attributes,
            } => {
                let text = match fixed_attributes {
                    Some(attributes) if is_cookie_safe(sealed) => {
                        let name = transport.name();
                        let mut text =
                            String::with_capacity(name.len() + 1 + sealed.len() + attributes.len());
                        text.push_str(name);
                        text.push('=');
                        text.push_str(sealed);
                        text.push_str(attributes);
                        text
                    }
                    _ => transport.rendered(sealed),
                };
                if text.len() > COOKIE_SIZE_LIMIT {
                    return Err(SessionError::CookieTooLarge {
                        name: transport.name().to_owned(),
                        size: text.len(),
                        limit: COOKIE_SIZE_LIMIT,
                    });
                }
                text
            }
            Self::Header { .. } => {
                percent_encoding::utf8_percent_encode(sealed, HEADER_ENCODE_SET).to_string()
            }
        };
        // Names are validated at build, values are cookie-safe or percent-encoded (controls
        // and non-ASCII included), attributes are checked printable: always visible ASCII.
        Ok(HeaderValue::from_maybe_shared(Bytes::from(text))
            .expect("rendered session headers are visible ASCII"))
    }

    /// The `Vary` token of responses that depend on this session: `Cookie`, or the header's
    /// name.
    pub(crate) fn vary(&self) -> HeaderValue {
        match self {
            Self::Cookie { .. } => HeaderValue::from_static("Cookie"),
            Self::Header { vary, .. } => vary.clone(),
        }
    }

    /// Adds a value made by [`Writer::value`] to the response.
    pub(crate) fn send(&self, value: HeaderValue, headers: &mut HeaderMap) {
        match self {
            Self::Cookie { .. } => headers.append(SET_COOKIE, value),
            Self::Header { name, .. } => headers.append(name.clone(), value),
        }
    }

    /// Tells the client to drop its value: an expired cookie with the same attributes. A header
    /// cannot be revoked, so nothing is sent for it.
    pub(crate) fn send_removal(&self, headers: &mut HeaderMap) {
        if let Self::Cookie { transport, .. } = self
            && let Ok(value) = HeaderValue::from_str(&transport.removal())
        {
            headers.append(SET_COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::cookie::{Cookie, SameSite};
    use actix_web::http::header::COOKIE;
    use proptest::prelude::*;

    use super::*;
    use crate::HeaderTransport;
    use crate::incoming::Incoming;

    fn cookie_writer(transport: CookieTransport) -> Writer {
        Writer::new(&Transport::Cookie(transport)).unwrap()
    }

    fn text(value: &HeaderValue) -> &str {
        value.to_str().unwrap()
    }

    /// What the response's header reads back as on the next request.
    fn read_back(transport: &Transport, sent: &HeaderValue) -> Incoming {
        let mut headers = HeaderMap::new();
        match transport {
            Transport::Cookie(_) => {
                // A browser sends back `name=value` as it received it.
                let echoed = Cookie::parse_encoded(text(sent))
                    .unwrap()
                    .encoded()
                    .stripped()
                    .to_string();
                headers.insert(COOKIE, HeaderValue::from_str(&echoed).unwrap());
            }
            Transport::Header(header) => {
                // HTTP parsers drop whitespace at both ends of a header value.
                let name = HeaderName::from_bytes(header.name().as_bytes()).unwrap();
                let received = HeaderValue::from_str(text(sent).trim()).unwrap();
                headers.insert(name, received);
            }
        }
        transport.read(&headers)
    }

    #[test]
    fn attributes_are_the_cookie_crates_and_extra_ones_follow() {
        let transport = CookieTransport::new("s")
            .path("/app")
            .domain("example.com")
            .same_site(SameSite::Strict)
            .attribute("Partitioned");
        let value = cookie_writer(transport.clone()).value("abc").unwrap();
        assert_eq!(text(&value), transport.rendered("abc"));
        assert_eq!(
            text(&value),
            "s=abc; HttpOnly; SameSite=Strict; Secure; Path=/app; Domain=example.com; Partitioned"
        );
    }

    #[test]
    fn max_age_cookies_carry_max_age_and_expires() {
        let writer = cookie_writer(CookieTransport::new("s").max_age(Duration::from_secs(60)));
        let value = writer.value("abc").unwrap();
        assert!(text(&value).contains("Max-Age=60"), "{value:?}");
        assert!(text(&value).contains("Expires="), "{value:?}");
    }

    #[test]
    fn cookie_names_the_cookie_crate_would_encode_are_refused() {
        for name in ["a#b", "a^b", "a|b", "a%b", "a`b"] {
            let transport = Transport::Cookie(CookieTransport::new(name));
            assert!(
                matches!(
                    Writer::new(&transport),
                    Err(ConfigError::InvalidCookieName { .. })
                ),
                "{name}"
            );
        }
        assert!(Writer::new(&Transport::Cookie(CookieTransport::new("a!$&'*+-._~b"))).is_ok());
    }

    #[test]
    fn oversized_cookies_are_a_typed_error() {
        let writer = cookie_writer(CookieTransport::new("s"));
        let error = writer.value(&"a".repeat(COOKIE_SIZE_LIMIT)).unwrap_err();
        assert!(
            matches!(error, SessionError::CookieTooLarge { size, limit: COOKIE_SIZE_LIMIT, .. } if size > COOKIE_SIZE_LIMIT),
            "{error:?}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_value_renders_as_the_cookie_crate_does_and_reads_back(value in any::<String>()) {
            let transport = CookieTransport::new("s").attribute("Partitioned");
            let writer = cookie_writer(transport.clone());
            prop_assume!(transport.rendered(&value).len() <= COOKIE_SIZE_LIMIT);
            let sent = writer.value(&value).unwrap();
            prop_assert_eq!(text(&sent), transport.rendered(&value));
            let expected = if value.trim().is_empty() {
                Incoming::Absent
            } else {
                Incoming::Present(value.as_str().into())
            };
            // The cookie crate trims and unquotes values; ours never start or end that way.
            let plain = value.trim() == value && !value.starts_with('"');
            if plain {
                prop_assert_eq!(read_back(&Transport::Cookie(transport), &sent), expected);
            }
        }

        #[test]
        fn every_value_travels_in_a_header_and_reads_back(value in any::<String>()) {
            prop_assume!(!value.is_empty());
            let transport = Transport::Header(HeaderTransport::new("x-s"));
            let sent = Writer::new(&transport).unwrap().value(&value).unwrap();
            prop_assert_eq!(read_back(&transport, &sent), Incoming::Present(value.into()));
        }
    }
}
