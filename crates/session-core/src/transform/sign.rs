//! HMAC-SHA256 signatures in Ktor's `SessionTransportTransformerMessageAuthentication` format.

use std::fmt;

use ring::hmac;
use subtle::ConstantTimeEq as _;

use crate::{SealError, SigningKey, Transformer, Unsealed};

const TAG_HEX_LEN: usize = 64;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The value of each lowercase hex digit; `INVALID` for every other byte (Ktor writes
/// lowercase and compares text, so uppercase is not authentic either).
const HEX_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX_DIGITS[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};
const INVALID: u8 = 0xFF;

/// The MAC written in `hex` (64 lowercase digits), checked and decoded in one pass.
fn decode_tag(hex: &str) -> Option<[u8; TAG_HEX_LEN / 2]> {
    let (pairs, []) = hex.as_bytes().as_chunks::<2>() else {
        return None;
    };
    let mut tag = [0u8; TAG_HEX_LEN / 2];
    if pairs.len() != tag.len() {
        return None;
    }
    let mut invalid = false;
    for (byte, &[high, low]) in tag.iter_mut().zip(pairs) {
        let (high, low) = (HEX_VALUES[usize::from(high)], HEX_VALUES[usize::from(low)]);
        invalid |= (high | low) == INVALID;
        *byte = high << 4 | (low & 0xF);
    }
    (!invalid).then_some(tag)
}

/// Signs values with HMAC-SHA256: `value/` followed by the lowercase hex MAC.
///
/// The MAC covers the session's name as well as the value (the name, length-prefixed, comes
/// first in the MAC input), so a value signed for one session is not authentic as another,
/// even when every session type shares one signing key. Reading splits at the last `/` and
/// verifies in constant time. The value stays readable: use [`Encrypt`](crate::Encrypt) for
/// secrets.
///
/// [`Sign::ktor_compatible`] signs exactly as Ktor's
/// `SessionTransportTransformerMessageAuthentication` does (the MAC covers the value alone), for
/// sharing sessions with a Ktor service. Ktor's format has no room for the name: use a
/// separate key per session type there.
///
/// Key rotation: values are signed with the current key; values signed with any key given to
/// [`Sign::with_previous_key`] still verify and are reported as stale, so middleware re-signs
/// them with the current key.
///
/// # Examples
///
/// ```
/// # use session_core::{Sign, SigningKey, Transformer};
///
/// # let key = SigningKey::generate();
/// let sign = Sign::new(key);
/// let sealed = sign.seal("cart_session", "hello").unwrap();
/// assert!(sealed.starts_with("hello/"));
/// assert_eq!(sign.unseal("cart_session", &sealed).unwrap().value, "hello");
///
/// let forged = sealed.replace("hello", "hullo");
/// assert!(sign.unseal("cart_session", &forged).is_none());
/// ```
#[derive(Clone)]
pub struct Sign {
    current: hmac::Key,
    previous: Vec<hmac::Key>,
    /// Whether the MAC covers the session name (everything but Ktor's format).
    binds_name: bool,
}

impl Sign {
    /// Signs with `key`, binding each value to its session's name.
    pub fn new(key: SigningKey) -> Self {
        Self {
            current: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
            previous: Vec::new(),
            binds_name: true,
        }
    }

    /// Signs with `key` exactly as Ktor does: the MAC covers the value alone, so a Ktor
    /// service and this crate verify each other's values.
    ///
    /// The value is **not bound to the session's name**: with one key for several session
    /// types, a value issued as one session is authentic as another (a guest cart
    /// `{"user":"admin"}` presented as the login cookie). With the session envelope (the
    /// default, see [`Record`](crate::Record)) the name is checked inside the envelope too;
    /// Ktor's bare format (a session configured `without_envelope`) has no such check. Use
    /// this only to share sessions with Ktor, and then give each session type its own key.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::{Sign, SigningKey, Transformer};
    ///
    /// # let key = SigningKey::generate();
    /// let ktor = Sign::ktor_compatible(key.clone());
    /// let sealed = ktor.seal("cart", "hello").unwrap();
    /// assert!(ktor.unseal("auth", &sealed).is_some()); // not bound to the name
    /// assert!(Sign::new(key).unseal("cart", &sealed).is_none()); // a different MAC input
    /// ```
    pub fn ktor_compatible(key: SigningKey) -> Self {
        Self {
            binds_name: false,
            ..Self::new(key)
        }
    }

    fn tag(&self, key: &hmac::Key, name: &str, value: &str) -> hmac::Tag {
        let mut context = hmac::Context::with_key(key);
        if self.binds_name {
            // Length first, so name and value cannot trade bytes: one byte for the short names
            // sessions have (a session ID then still fits one SHA-256 block), else 0xFF and
            // the length in eight bytes.
            match u8::try_from(name.len()) {
                Ok(short) if short < u8::MAX => context.update(&[short]),
                _ => {
                    let length = u64::try_from(name.len()).unwrap_or(u64::MAX);
                    context.update(&[u8::MAX]);
                    context.update(&length.to_be_bytes());
                }
            }
            context.update(name.as_bytes());
        }
        context.update(value.as_bytes());
        context.sign()
    }

    fn verifies(&self, key: &hmac::Key, name: &str, value: &str, tag: &[u8]) -> bool {
        bool::from(self.tag(key, name, value).as_ref().ct_eq(tag))
    }

    /// Also accepts values signed with `key`, an older key being retired.
    #[must_use]
    pub fn with_previous_key(mut self, key: SigningKey) -> Self {
        self.previous
            .push(hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()));
        self
    }
}

impl fmt::Debug for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sign")
            .field("algorithm", &"HMAC-SHA256")
            .field("previous_keys", &self.previous.len())
            .field("binds_name", &self.binds_name)
            .finish_non_exhaustive()
    }
}

impl Transformer for Sign {
    fn seal(&self, name: &str, value: &str) -> Result<String, SealError> {
        let tag = self.tag(&self.current, name, value);
        let mut sealed = String::with_capacity(value.len() + 1 + TAG_HEX_LEN);
        sealed.push_str(value);
        sealed.push('/');
        for &byte in tag.as_ref() {
            sealed.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            sealed.push(char::from(HEX_DIGITS[usize::from(byte & 0xF)]));
        }
        Ok(sealed)
    }

    fn unseal(&self, name: &str, sealed: &str) -> Option<Unsealed> {
        // The MAC is the last 64 bytes, after a `/`.
        let split = sealed.len().checked_sub(TAG_HEX_LEN + 1)?;
        let value = sealed.get(..split)?;
        let tag_hex = sealed[split..].strip_prefix('/')?;
        let tag = decode_tag(tag_hex)?;
        // Compared in constant time.
        if self.verifies(&self.current, name, value, &tag) {
            return Some(Unsealed::new(value.to_owned(), false));
        }
        self.previous
            .iter()
            .any(|key| self.verifies(key, name, value, &tag))
            .then(|| Unsealed::new(value.to_owned(), true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ktor_key() -> SigningKey {
        SigningKey::from_bytes_for_interop(&hex::decode("003515606058610610561058").unwrap())
            .unwrap()
    }

    /// Known answer from Ktor's `SessionTestJvm.testSessionByValueMac`.
    #[test]
    fn ktor_known_answer() {
        let sign = Sign::ktor_compatible(ktor_key());
        let value = r#"{"userId":"id 2","cart":[]}"#;
        let expected =
            format!("{value}/0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16");
        assert_eq!(sign.seal("any", value).unwrap(), expected);
        let unsealed = sign.unseal("any", &expected).unwrap();
        assert_eq!(unsealed.value, value);
        assert!(!unsealed.stale);
    }

    /// Issue #11, item 1: one key for several session types must not let a value issued as
    /// one session pass as another.
    #[test]
    fn a_value_signed_for_one_session_is_not_authentic_as_another() {
        let sign = Sign::new(SigningKey::generate());
        let cart = sign.seal("cart", r#"{"user_id":"admin"}"#).unwrap();
        assert!(sign.unseal("cart", &cart).is_some());
        assert!(sign.unseal("auth", &cart).is_none());
        // The length prefix keeps name and value apart: moving a byte between them fails.
        let ab = sign.seal("a", "bc").unwrap();
        let moved = ab.replacen("bc", "c", 1);
        assert!(sign.unseal("ab", &moved).is_none());
        // Long names are length-prefixed too.
        let long = "n".repeat(300);
        let sealed = sign.seal(&long, "v").unwrap();
        assert!(sign.unseal(&long, &sealed).is_some());
        assert!(sign.unseal(&long[..299], &sealed).is_none());
        // A retired key binds the name too.
        let old = SigningKey::generate();
        let by_old = Sign::new(old.clone()).seal("cart", "v").unwrap();
        let rotated = Sign::new(SigningKey::generate()).with_previous_key(old);
        assert!(rotated.unseal("cart", &by_old).is_some());
        assert!(rotated.unseal("auth", &by_old).is_none());
    }

    #[test]
    fn ktor_compatible_values_are_not_name_bound_and_differ_from_bound_ones() {
        let key = SigningKey::generate();
        let ktor = Sign::ktor_compatible(key.clone());
        let sealed = ktor.seal("cart", "v").unwrap();
        assert!(ktor.unseal("auth", &sealed).is_some());
        assert!(Sign::new(key).unseal("cart", &sealed).is_none());
    }

    #[test]
    fn tampering_is_rejected() {
        let sign = Sign::new(ktor_key());
        let good = sign.seal("s", "a/b/c").unwrap();
        assert_eq!(sign.unseal("s", &good).unwrap().value, "a/b/c");
        let last = good.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &good[..good.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        for bad in [
            flipped.as_str(),
            &format!("{}x", &good[..good.len() - 1]),
            &good.to_uppercase(),
            &good[..good.len() - 1],
            "no-slash-at-all",
            "/",
            "",
            &good.replace("a/b", "a/B"),
            &format!("{good}/"),
            // Only the MAC in upper case: still not authentic (Ktor compares text).
            &format!("a/b/c/{}", good[6..].to_uppercase()),
            // Multi-byte characters where the MAC would start: no panic, no value.
            &"é".repeat(40),
            &format!("é{}", &good[good.len() - 64..]),
        ] {
            assert!(sign.unseal("s", bad).is_none(), "accepted {bad:?}");
        }
    }

    #[test]
    fn rotation_accepts_old_keys_and_marks_them_stale() {
        let old = SigningKey::generate();
        let new = SigningKey::generate();
        let sealed_old = Sign::new(old.clone()).seal("s", "v").unwrap();
        let rotated = Sign::new(new.clone()).with_previous_key(old);
        let unsealed = rotated.unseal("s", &sealed_old).unwrap();
        assert!(unsealed.stale);
        let resealed = rotated.seal("s", "v").unwrap();
        assert!(!rotated.unseal("s", &resealed).unwrap().stale);
        // Writes use the current key only: the new key alone verifies them.
        assert!(Sign::new(new).unseal("s", &resealed).is_some());
        // A key that was never configured is rejected.
        assert!(
            Sign::new(SigningKey::generate())
                .unseal("s", &sealed_old)
                .is_none()
        );
    }
}
