//! Authenticated encryption with AES-256-GCM, the session name bound as associated data.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{EncryptionKey, SealError, Transformer, Unsealed};

/// The first byte of every sealed value, so the format can evolve.
const FORMAT_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Sealing more than this is refused: no transport carries it.
const MAX_PLAINTEXT: usize = 1 << 20;

/// Encrypts and authenticates values with AES-256-GCM.
///
/// Each seal draws a fresh random 96-bit nonce from the operating system. The session name is
/// the associated data, so a value sealed for one session is rejected by every other. The wire
/// format is URL-safe base64 without padding of `version (1 byte) ‖ nonce (12) ‖ ciphertext ‖
/// tag (16)`, safe in cookies and headers as it is.
///
/// This replaces Ktor's AES-CBC + HMAC transformer, whose IV is not authenticated.
///
/// Key rotation: values are sealed with the current key; values sealed with a key given to
/// [`Encrypt::with_previous_key`] still open and are reported as stale.
///
/// # Examples
///
/// ```
/// # use session_core::{Encrypt, EncryptionKey, Transformer};
///
/// # let key = EncryptionKey::generate();
/// let encrypt = Encrypt::new(key);
/// let sealed = encrypt.seal("user_session", r#"{"id":"123abc"}"#).unwrap();
/// assert!(!sealed.contains("123abc"));
/// assert_eq!(encrypt.unseal("user_session", &sealed).unwrap().value, r#"{"id":"123abc"}"#);
/// assert!(encrypt.unseal("admin_session", &sealed).is_none());
/// ```
pub struct Encrypt {
    current: LessSafeKey,
    previous: Vec<LessSafeKey>,
    random: SystemRandom,
}

fn aead_key(key: &EncryptionKey) -> LessSafeKey {
    // AES_256_GCM takes exactly the 32 bytes an EncryptionKey always has.
    LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.as_bytes()).expect("EncryptionKey is 32 bytes"),
    )
}

impl Encrypt {
    /// Encrypts with `key`.
    pub fn new(key: EncryptionKey) -> Self {
        Self {
            current: aead_key(&key),
            previous: Vec::new(),
            random: SystemRandom::new(),
        }
    }

    /// Also opens values sealed with `key`, an older key being retired.
    #[must_use]
    pub fn with_previous_key(mut self, key: EncryptionKey) -> Self {
        self.previous.push(aead_key(&key));
        self
    }

    /// Opens `decoded` (version, nonce, ciphertext and tag) in place with `key`; the buffer
    /// becomes the plaintext. On failure its contents are unspecified.
    fn open(key: &LessSafeKey, name: &str, mut decoded: Vec<u8>) -> Option<String> {
        let header = 1 + NONCE_LEN;
        let nonce: [u8; NONCE_LEN] = decoded.get(1..header)?.try_into().ok()?;
        let len = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                decoded.get_mut(header..)?,
            )
            .ok()?
            .len();
        decoded.truncate(header + len);
        decoded.drain(..header);
        String::from_utf8(decoded).ok()
    }
}

impl fmt::Debug for Encrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encrypt")
            .field("algorithm", &"AES-256-GCM")
            .field("previous_keys", &self.previous.len())
            .finish_non_exhaustive()
    }
}

impl Transformer for Encrypt {
    fn seal(&self, name: &str, value: &str) -> Result<String, SealError> {
        if value.len() > MAX_PLAINTEXT {
            return Err(SealError::TooLarge { len: value.len() });
        }
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SealError::Crypto)?;
        let mut buffer = Vec::with_capacity(1 + NONCE_LEN + value.len() + TAG_LEN);
        buffer.push(FORMAT_VERSION);
        buffer.extend_from_slice(&nonce);
        buffer.extend_from_slice(value.as_bytes());
        let body = &mut buffer[1 + NONCE_LEN..];
        let tag = self
            .current
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                body,
            )
            .map_err(|_| SealError::Crypto)?;
        buffer.extend_from_slice(tag.as_ref());
        Ok(URL_SAFE_NO_PAD.encode(&buffer))
    }

    fn unseal(&self, name: &str, sealed: &str) -> Option<Unsealed> {
        // Bound the work before decoding: base64 of the largest value we ever seal.
        if sealed.len() > (MAX_PLAINTEXT + 1 + NONCE_LEN + TAG_LEN) * 4 / 3 + 4 {
            return None;
        }
        let decoded = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if decoded.first() != Some(&FORMAT_VERSION) || decoded.len() < 1 + NONCE_LEN + TAG_LEN {
            return None;
        }
        if self.previous.is_empty() {
            return Self::open(&self.current, name, decoded).map(|v| Unsealed::new(v, false));
        }
        // Opening in place spoils the buffer, so each key gets a copy but the last.
        if let Some(value) = Self::open(&self.current, name, decoded.clone()) {
            return Some(Unsealed::new(value, false));
        }
        let (last, older) = self.previous.split_last()?;
        older
            .iter()
            .find_map(|key| Self::open(key, name, decoded.clone()))
            .or_else(|| Self::open(last, name, decoded))
            .map(|value| Unsealed::new(value, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fresh_nonce_per_seal() {
        let encrypt = Encrypt::new(EncryptionKey::generate());
        let first = encrypt.seal("s", "payload").unwrap();
        let second = encrypt.seal("s", "payload").unwrap();
        assert_ne!(first, second);
        assert_eq!(encrypt.unseal("s", &first).unwrap().value, "payload");
        assert_eq!(encrypt.unseal("s", &second).unwrap().value, "payload");
        assert_eq!(
            encrypt
                .unseal("s", &encrypt.seal("s", "").unwrap())
                .unwrap()
                .value,
            ""
        );
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let encrypt = Encrypt::new(EncryptionKey::generate());
        let sealed = encrypt.seal("s", r#"{"id":"123abc","count":0}"#).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for index in 0..raw.len() {
            let mut tampered = raw.clone();
            tampered[index] ^= 0x01;
            let text = URL_SAFE_NO_PAD.encode(&tampered);
            assert!(
                encrypt.unseal("s", &text).is_none(),
                "byte {index} flip accepted"
            );
        }
        for cut in 0..sealed.len() {
            assert!(
                encrypt.unseal("s", &sealed[..cut]).is_none(),
                "prefix {cut} accepted"
            );
        }
    }

    #[test]
    fn garbage_is_rejected_without_panic() {
        let encrypt = Encrypt::new(EncryptionKey::generate());
        for bad in [
            "",
            "INVALID",
            "abc/abc:abc",
            "AQ",
            "====",
            "é",
            &"A".repeat(100_000),
        ] {
            assert!(encrypt.unseal("s", bad).is_none());
        }
    }

    #[test]
    fn rotation_and_wrong_key() {
        let old = EncryptionKey::generate();
        let sealed = Encrypt::new(old.clone()).seal("s", "v").unwrap();
        let rotated = Encrypt::new(EncryptionKey::generate()).with_previous_key(old);
        assert!(rotated.unseal("s", &sealed).unwrap().stale);
        assert!(
            !rotated
                .unseal("s", &rotated.seal("s", "v").unwrap())
                .unwrap()
                .stale
        );
        assert!(
            Encrypt::new(EncryptionKey::generate())
                .unseal("s", &sealed)
                .is_none()
        );
    }

    #[test]
    fn debug_does_not_leak_key() {
        let key = EncryptionKey::from_hex(&"ab".repeat(32)).unwrap();
        let text = format!("{:?}", Encrypt::new(key));
        assert!(!text.contains("ab"), "{text}");
    }
}
