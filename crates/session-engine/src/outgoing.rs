//! What a response carries for a session: the header a sealed value travels in, rendered once.

use std::time::SystemTime;

use crate::headers::{HeaderKey, HeadersMut};
use crate::transport::{CookieTransport, Transport};
use crate::{ConfigError, SessionError, escape};
use crate::{bearer, caching};
use bytes::Bytes;

/// Browsers keep cookies up to about 4096 bytes (name, value and attributes); larger ones are
/// dropped silently, so `set` refuses them instead.
pub(crate) const COOKIE_SIZE_LIMIT: usize = 4096;

/// What the response must carry for one session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// Nothing: the client's copy is current.
    Nothing,
    /// A new value, rendered ([`Writer::value`]).
    Send(Bytes),
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
        /// The header's name in lower case.
        name: String,
        /// `name` as a `Vary` value, made once.
        vary: Bytes,
    },
    /// A bearer session: read from `Authorization`, handed out in the header `name`.
    Bearer {
        /// The response header's name in lower case.
        name: String,
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
            Transport::Header(header) if header.is_bearer() => Self::Bearer {
                name: header.name().to_ascii_lowercase(),
            },
            Transport::Header(header) => {
                let name = header.name().to_ascii_lowercase();
                Self::Header {
                    vary: Bytes::from(name.clone()),
                    name,
                }
            }
        })
    }

    /// The response header value carrying `sealed`: a whole `Set-Cookie`, the custom
    /// header's value, or a bearer token.
    ///
    /// # Errors
    ///
    /// [`SessionError::CookieTooLarge`] when the `Set-Cookie` would exceed
    /// [`COOKIE_SIZE_LIMIT`].
    pub(crate) fn value(
        &self,
        sealed: &str,
        now: impl FnOnce() -> SystemTime,
    ) -> Result<Bytes, SessionError> {
        let text = match self {
            Self::Cookie {
                transport,
                fixed_attributes,
            } => {
                let text = match fixed_attributes {
                    Some(attributes) => {
                        let name = transport.name();
                        let mut text =
                            String::with_capacity(name.len() + 1 + sealed.len() + attributes.len());
                        text.push_str(name);
                        text.push('=');
                        escape::push_encoded(&mut text, sealed, &escape::COOKIE);
                        text.push_str(attributes);
                        text
                    }
                    None => transport.rendered(sealed, now),
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
                let mut text = String::new();
                escape::push_encoded(&mut text, sealed, &escape::HEADER);
                text
            }
            Self::Bearer { .. } => bearer::encode(sealed),
        };
        // Names are validated at build, values are cookie-safe or percent-encoded (controls
        // and non-ASCII included), attributes are checked printable: always visible ASCII.
        Ok(Bytes::from(text))
    }

    /// Marks a response that depends on this session: `Vary: Cookie`, `Vary` with the
    /// header's name, or `Vary: Authorization`.
    pub(crate) fn vary(&self, headers: &mut impl HeadersMut) {
        match self {
            Self::Cookie { .. } => caching::vary_on(headers, "Cookie", |headers| {
                headers.append_static(HeaderKey::Vary, "Cookie");
            }),
            Self::Header { name, vary } => caching::vary_on(headers, name, |headers| {
                headers.append(HeaderKey::Vary, vary.clone());
            }),
            Self::Bearer { .. } => caching::vary_on(headers, "Authorization", |headers| {
                headers.append_static(HeaderKey::Vary, "Authorization");
            }),
        }
    }

    /// The response header a value travels in.
    fn header_key(&self) -> HeaderKey<'_> {
        match self {
            Self::Cookie { .. } => HeaderKey::SetCookie,
            Self::Header { name, .. } | Self::Bearer { name } => HeaderKey::Other(name),
        }
    }

    /// Adds a value made by [`Writer::value`] to the response.
    pub(crate) fn send(&self, value: Bytes, headers: &mut impl HeadersMut) {
        headers.append(self.header_key(), value);
    }

    /// Tells the client to drop its value: an expired cookie with the same attributes. A header
    /// cannot be revoked, so nothing is sent for it.
    pub(crate) fn send_removal(&self, headers: &mut impl HeadersMut, now: SystemTime) {
        if let Self::Cookie { transport, .. } = self {
            headers.append(HeaderKey::SetCookie, Bytes::from(transport.removal(now)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cookie::{Cookie, SameSite};
    use proptest::prelude::*;

    use super::*;
    use crate::incoming::Incoming;
    use crate::{HeaderList, HeaderTransport};

    fn cookie_writer(transport: CookieTransport) -> Writer {
        Writer::new(&Transport::Cookie(transport)).unwrap()
    }

    fn text(value: &Bytes) -> &str {
        std::str::from_utf8(value).unwrap()
    }

    fn now() -> SystemTime {
        SystemTime::now()
    }

    /// What the response's header reads back as on the next request.
    fn read_back(transport: &Transport, sent: &Bytes) -> Incoming {
        let mut headers = HeaderList::new();
        match transport {
            Transport::Cookie(_) => {
                // A browser sends back `name=value` as it received it.
                let echoed = Cookie::parse_encoded(text(sent))
                    .unwrap()
                    .encoded()
                    .stripped()
                    .to_string();
                headers.insert(HeaderKey::Cookie, echoed.into());
            }
            Transport::Header(header) if header.is_bearer() => {
                let credentials = format!("Bearer {}", text(sent));
                headers.insert(HeaderKey::Authorization, credentials.into());
            }
            Transport::Header(header) => {
                // HTTP parsers drop whitespace at both ends of a header value.
                let name = header.name().to_ascii_lowercase();
                headers.insert(HeaderKey::Other(&name), text(sent).trim().to_owned().into());
            }
        }
        transport.read(&headers, None)
    }

    #[test]
    fn attributes_are_the_cookie_crates_and_extra_ones_follow() {
        let transport = CookieTransport::new("s")
            .path("/app")
            .domain("example.com")
            .same_site(SameSite::Strict)
            .attribute("Partitioned");
        let value = cookie_writer(transport.clone()).value("abc", now).unwrap();
        assert_eq!(text(&value), transport.rendered("abc", now));
        assert_eq!(
            text(&value),
            "s=abc; HttpOnly; SameSite=Strict; Secure; Path=/app; Domain=example.com; Partitioned"
        );
    }

    #[test]
    fn a_removal_is_dated_by_the_session_clock() {
        let writer = cookie_writer(CookieTransport::new("s"));
        let mut headers = HeaderList::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(400 * 86_400);
        writer.send_removal(&mut headers, now);
        let sent = text(&headers.iter().next().unwrap().1.clone()).to_owned();
        assert!(sent.starts_with("s=; "), "{sent}");
        assert!(sent.contains("Max-Age=0"), "{sent}");
        assert!(
            sent.contains("Expires=Thu, 05 Feb 1970 00:00:00 GMT"),
            "{sent}"
        );
    }

    #[test]
    fn max_age_cookies_carry_max_age_and_expires() {
        let writer = cookie_writer(CookieTransport::new("s").max_age(Duration::from_secs(60)));
        let value = writer.value("abc", now).unwrap();
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
    fn a_bearer_value_goes_out_in_its_response_header_and_varies_on_authorization() {
        let writer = Writer::new(&Transport::Header(HeaderTransport::bearer("X-Token"))).unwrap();
        let mut headers = HeaderList::new();
        writer.vary(&mut headers);
        writer.vary(&mut headers);
        let value = writer.value("id/mac", now).unwrap();
        writer.send(value, &mut headers);
        writer.send_removal(&mut headers, now());
        let sent: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n, &v[..])).collect();
        assert_eq!(
            sent,
            [("vary", &b"Authorization"[..]), ("x-token", b"id/mac")]
        );
        for refused in ["authorization", "Authorization", "x token"] {
            let transport = Transport::Header(HeaderTransport::bearer(refused));
            assert!(
                matches!(
                    Writer::new(&transport),
                    Err(ConfigError::InvalidHeaderName { .. })
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn oversized_cookies_are_a_typed_error() {
        let writer = cookie_writer(CookieTransport::new("s"));
        let error = writer
            .value(&"a".repeat(COOKIE_SIZE_LIMIT), now)
            .unwrap_err();
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
            prop_assume!(transport.rendered(&value, now).len() <= COOKIE_SIZE_LIMIT);
            let sent = writer.value(&value, now).unwrap();
            prop_assert_eq!(text(&sent), transport.rendered(&value, now));
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
            let sent = Writer::new(&transport).unwrap().value(&value, now).unwrap();
            prop_assert_eq!(read_back(&transport, &sent), Incoming::Present(value.as_str().into()));

            let bearer = Transport::Header(HeaderTransport::bearer("x-s"));
            let sent = Writer::new(&bearer).unwrap().value(&value, now).unwrap();
            prop_assert_eq!(read_back(&bearer, &sent), Incoming::Present(value.into()));
        }
    }
}
