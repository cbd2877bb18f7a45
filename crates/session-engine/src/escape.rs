//! Percent-encoding of session values in cookies and custom headers, table-driven: it runs
//! over every value sent and received, so it copies runs of plain bytes at once instead of
//! formatting byte by byte.
//!
//! Encoding is standard (`%` and two upper-case hex digits), so any percent-decoder reads it,
//! and decoding reads what any percent-encoder (the `cookie` crate's, a browser's) wrote.

use std::borrow::Cow;

/// The [`Plain`] table of the bytes `b` for which `keep` holds, built at compile time.
macro_rules! plain {
    ($b:ident => $keep:expr) => {{
        let mut table = [false; 256];
        let mut index = 0;
        while index < 256 {
            let $b = index as u8;
            table[index] = $keep;
            index += 1;
        }
        Plain(table)
    }};
}

/// Which bytes travel as they are.
pub(crate) struct Plain([bool; 256]);

impl Plain {
    pub(crate) fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte)]
    }

    /// Whether every byte of `bytes` is in the set: one branch-free pass (this runs over
    /// every value received and sent).
    pub(crate) fn all(&self, bytes: &[u8]) -> bool {
        bytes.iter().fold(true, |all, &b| all & self.contains(b))
    }
}

/// RFC 6265's `cookie-octet` (visible ASCII less `"`, `,`, `;` and `\`), less `%`: a cookie
/// value made of these is sent and read back as it is.
pub(crate) const COOKIE: Plain = plain!(b => {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E) && b != b'%'
});

/// RFC 6265's `cookie-octet`, `%` included: a value this library sends in a cookie.
pub(crate) const COOKIE_OCTET: Plain =
    plain!(b => matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E));

/// Visible ASCII less `%`: what a custom header's value holds as it is (spaces would be trimmed
/// at the ends by parsers, controls and non-ASCII are not header text).
pub(crate) const HEADER: Plain = plain!(b => matches!(b, 0x21..=0x7E) && b != b'%');

/// Appends `value` to `out`, every byte that is not `plain` as `%XX`.
pub(crate) fn push_encoded(out: &mut String, value: &str, plain: &Plain) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if plain.all(value.as_bytes()) {
        out.push_str(value);
        return;
    }
    out.reserve(value.len());
    let mut rest = value;
    while let Some(run) = rest.bytes().position(|b| !plain.contains(b)) {
        let (kept, tail) = rest.split_at(run);
        out.push_str(kept);
        // Plain bytes are ASCII, so a character starts here: each of its bytes is encoded.
        let Some(character) = tail.chars().next() else {
            return;
        };
        let mut utf8 = [0; 4];
        for &byte in character.encode_utf8(&mut utf8).as_bytes() {
            let escape = [
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ];
            out.push_str(std::str::from_utf8(&escape).unwrap_or_default());
        }
        rest = &tail[character.len_utf8()..];
    }
    out.push_str(rest);
}

/// `value` with every `%XX` (two hex digits, either case) decoded; a `%` not followed by two
/// hex digits stays as it is. `None` when the result is not UTF-8.
pub(crate) fn decode(value: &str) -> Option<Cow<'_, str>> {
    let Some(first) = value.find('%') else {
        return Some(Cow::Borrowed(value));
    };
    let mut decoded = Vec::with_capacity(value.len());
    decoded.extend_from_slice(&value.as_bytes()[..first]);
    // Always at a `%`, so at a character boundary: escapes and `%` are ASCII.
    let mut rest = &value[first..];
    while !rest.is_empty() {
        let escaped = match rest.as_bytes() {
            [b'%', high, low, ..] => hex(*high).zip(hex(*low)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        let taken = match escaped {
            Some(byte) => {
                decoded.push(byte);
                3
            }
            None => {
                decoded.push(b'%');
                1
            }
        };
        rest = &rest[taken..];
        // The plain run up to the next `%`, copied at once.
        let run = rest.find('%').unwrap_or(rest.len());
        decoded.extend_from_slice(&rest.as_bytes()[..run]);
        rest = &rest[run..];
    }
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

/// The value of a hex digit of either case.
fn hex(digit: u8) -> Option<u8> {
    const VALUES: [u8; 256] = {
        let mut table = [u8::MAX; 256];
        let mut digit = 0;
        while digit < 10 {
            table[b'0' as usize + digit] = digit as u8;
            digit += 1;
        }
        let mut letter = 0;
        while letter < 6 {
            table[b'a' as usize + letter] = 10 + letter as u8;
            table[b'A' as usize + letter] = 10 + letter as u8;
            letter += 1;
        }
        table
    };
    let value = VALUES[usize::from(digit)];
    (value != u8::MAX).then_some(value)
}

#[cfg(test)]
mod tests {
    use percent_encoding::{percent_decode_str, utf8_percent_encode};
    use proptest::prelude::*;

    use super::*;

    fn encoded(value: &str, plain: &Plain) -> String {
        let mut out = String::new();
        push_encoded(&mut out, value, plain);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn encoding_round_trips_and_keeps_to_the_plain_bytes(value in "\\PC{0,40}|[ -~]{0,40}") {
            for plain in [&COOKIE, &HEADER] {
                let text = encoded(&value, plain);
                prop_assert!(text.bytes().all(|b| plain.contains(b) || b == b'%'));
                let decoded = decode(&text);
                prop_assert_eq!(decoded.as_deref(), Some(value.as_str()));
            }
        }

        #[test]
        fn decoding_reads_as_the_percent_encoding_crate_does(value in "[ -~]{0,40}|\\PC{0,20}") {
            let expected = percent_decode_str(&value).decode_utf8().ok();
            prop_assert_eq!(decode(&value), expected);
        }

        #[test]
        fn others_encodings_decode(value in "\\PC{0,40}") {
            let theirs = utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC).to_string();
            let decoded = decode(&theirs);
            prop_assert_eq!(decoded.as_deref(), Some(value.as_str()));
        }
    }

    #[test]
    fn json_in_a_cookie_encodes_only_what_a_cookie_cannot_hold() {
        let text = encoded("s2 1 0 t n\n{\"a\":[1,2]}%", &COOKIE);
        assert_eq!(text, "s2%201%200%20t%20n%0A{%22a%22:[1%2C2]}%25");
        assert_eq!(encoded("é", &COOKIE), "%C3%A9");
        assert_eq!(encoded("aé€b", &HEADER), "a%C3%A9%E2%82%ACb");
    }

    #[test]
    fn malformed_escapes_stay_and_invalid_utf8_is_refused() {
        assert_eq!(decode("a%2").as_deref(), Some("a%2"));
        assert_eq!(decode("%zz%41").as_deref(), Some("%zzA"));
        assert_eq!(decode("%FF"), None);
        assert!(matches!(decode("plain"), Some(Cow::Borrowed("plain"))));
    }
}
