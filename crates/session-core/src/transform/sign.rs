//! HMAC-SHA256 signatures in Ktor's `SessionTransportTransformerMessageAuthentication` format.

use std::fmt;

use ring::hmac;

use crate::{SealError, SigningKey, Transformer, Unsealed};

const TAG_HEX_LEN: usize = 64;

/// Signs values with HMAC-SHA256: `value/` followed by the lowercase hex MAC.
///
/// The format is Ktor's (`SessionTransportTransformerMessageAuthentication`), so a Ktor service
/// and this crate can verify each other's values. Reading splits at the last `/` and verifies in
/// constant time. The value stays readable: use [`Encrypt`](crate::Encrypt) for secrets.
///
/// Key rotation: values are signed with the current key; values signed with any key given to
/// [`Sign::with_previous_key`] still verify and are reported as stale, so middleware re-signs
/// them with the current key.
///
/// # Examples
///
/// ```
/// use session_core::{Sign, SigningKey, Transformer};
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
}

impl Sign {
    /// Signs with `key`.
    pub fn new(key: SigningKey) -> Self {
        Self {
            current: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
            previous: Vec::new(),
        }
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
            .finish_non_exhaustive()
    }
}

impl Transformer for Sign {
    fn seal(&self, _name: &str, value: &str) -> Result<String, SealError> {
        let tag = hmac::sign(&self.current, value.as_bytes());
        let mut sealed = String::with_capacity(value.len() + 1 + TAG_HEX_LEN);
        sealed.push_str(value);
        sealed.push('/');
        sealed.push_str(&hex::encode(tag.as_ref()));
        Ok(sealed)
    }

    fn unseal(&self, _name: &str, sealed: &str) -> Option<Unsealed> {
        let (value, tag_hex) = sealed.rsplit_once('/')?;
        // Ktor writes lowercase hex and compares text, so uppercase is not authentic either.
        if tag_hex.len() != TAG_HEX_LEN
            || !tag_hex
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let mut tag = [0u8; TAG_HEX_LEN / 2];
        hex::decode_to_slice(tag_hex, &mut tag).ok()?;
        // `hmac::verify` compares in constant time.
        if hmac::verify(&self.current, value.as_bytes(), &tag).is_ok() {
            return Some(Unsealed::new(value.to_owned(), false));
        }
        self.previous
            .iter()
            .any(|key| hmac::verify(key, value.as_bytes(), &tag).is_ok())
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
        let sign = Sign::new(ktor_key());
        let value = r#"{"userId":"id 2","cart":[]}"#;
        let expected =
            format!("{value}/0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16");
        assert_eq!(sign.seal("any", value).unwrap(), expected);
        let unsealed = sign.unseal("any", &expected).unwrap();
        assert_eq!(unsealed.value, value);
        assert!(!unsealed.stale);
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
