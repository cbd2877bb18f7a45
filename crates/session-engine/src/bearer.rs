//! The wire format of bearer sessions ([`HeaderTransport::bearer`](crate::HeaderTransport::bearer)):
//! `Authorization: Bearer <token>` in requests (RFC 6750, section 2.1), the bare token in the
//! app's response header.
//!
//! A token is a `token68` (RFC 9110, section 11.2): `A-Z a-z 0-9 - . _ ~ + /`, then optional
//! `=`. The sealed values of this workspace's transformers already are one (signed IDs,
//! `Encrypt`'s URL-safe base64, `KtorEncrypt`'s hex), and travel unchanged. Any other byte of a
//! sealed value (a signed client-side value is readable text) and `~` itself travel as `~`
//! and two upper-case hex digits, so that every token is valid and reads back as it was sealed.

/// What one `Authorization` header holds for a bearer session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// Another scheme (`Basic …`): not a session value, and not a bad one either.
    OtherScheme,
    /// `Bearer <token>`: the sealed value the token carries.
    Token(String),
    /// The `Bearer` scheme without a valid token: no session.
    Malformed,
}

/// Whether `b` may appear in a `token68` before its trailing `=`.
const fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// Whether `b` travels in a token as it is ([`is_token_char`] less the escape character).
const fn is_plain(b: u8) -> bool {
    is_token_char(b) && b != b'~'
}

/// Reads an `Authorization` header value: the scheme (any case), one space, a `token68`.
pub(crate) fn credentials(value: &[u8]) -> Credentials {
    let (scheme, token) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], Some(&value[space + 1..])),
        None => (value, None),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Credentials::OtherScheme;
    }
    match token.filter(|token| is_token68(token)).and_then(decode) {
        Some(sealed) => Credentials::Token(sealed),
        None => Credentials::Malformed,
    }
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    body_len > 0 && token[..body_len].iter().all(|&b| is_token_char(b))
}

/// The token carrying `sealed`.
pub(crate) fn encode(sealed: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut token = String::with_capacity(sealed.len());
    for &b in sealed.as_bytes() {
        if is_plain(b) {
            token.push(char::from(b));
        } else {
            token.push('~');
            token.push(char::from(HEX[usize::from(b >> 4)]));
            token.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    token
}

/// The sealed value a token carries; `None` for a broken escape or bytes that are not UTF-8.
fn decode(token: &[u8]) -> Option<String> {
    if !token.contains(&b'~') {
        // What this library sends for its own transformers: nothing to undo.
        return std::str::from_utf8(token).ok().map(str::to_owned);
    }
    let mut bytes = Vec::with_capacity(token.len());
    let mut rest = token;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'~' {
            let [high, low, tail @ ..] = tail else {
                return None;
            };
            bytes.push((hex_digit(*high)? << 4) | hex_digit(*low)?);
            rest = tail;
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// The value of an upper- or lower-case hex digit.
fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn token(value: &str) -> Credentials {
        Credentials::Token(value.to_owned())
    }

    #[test]
    fn the_scheme_is_read_in_any_case_with_one_space() {
        for value in [
            "Bearer abc/12",
            "bearer abc/12",
            "BEARER abc/12",
            "bEaReR abc/12",
        ] {
            assert_eq!(credentials(value.as_bytes()), token("abc/12"), "{value}");
        }
        assert_eq!(credentials(b"Bearer abc=="), token("abc=="));
        for other in [
            "Basic YWxhZGRpbjpvcGVu",
            "Token abc",
            "Bearerabc",
            "",
            "Negotiate",
        ] {
            assert_eq!(
                credentials(other.as_bytes()),
                Credentials::OtherScheme,
                "{other}"
            );
        }
        for malformed in [
            "Bearer",
            "Bearer ",
            "Bearer  abc",
            "Bearer abc ",
            "Bearer abc def",
            "Bearer a=b",
            "Bearer ===",
            "Bearer abc%20",
            "Bearer a,b",
            "Bearer ~4",
            "Bearer ~zz",
            "Bearer ~FF",
        ] {
            assert_eq!(
                credentials(malformed.as_bytes()),
                Credentials::Malformed,
                "{malformed:?}"
            );
        }
        assert_eq!(credentials(b"Bearer \xff"), Credentials::Malformed);
    }

    #[test]
    fn this_workspaces_sealed_values_travel_unchanged() {
        for sealed in [
            "Xk2_-aZ09/0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16",
            "AbC-_dEf",
            "00ff/a1b2/c3d4",
        ] {
            assert_eq!(encode(sealed), sealed);
        }
        assert_eq!(encode("{\"a\": 1}\n~"), "~7B~22a~22~3A~201~7D~0A~7E");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_value_travels_as_a_token_and_reads_back(sealed in any::<String>()) {
            prop_assume!(!sealed.is_empty());
            let token = encode(&sealed);
            prop_assert!(is_token68(token.as_bytes()), "{token}");
            let header = format!("Bearer {token}");
            prop_assert_eq!(credentials(header.as_bytes()), Credentials::Token(sealed));
        }

        #[test]
        fn any_authorization_header_has_a_defined_outcome(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = credentials(&bytes);
        }
    }
}
