//! Ktor's `SessionTransportTransformerEncrypt` wire format, to share sessions with a Ktor
//! service during a migration.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::{KeyError, SealError, SigningKey, Transformer, Unsealed};

const IV_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// Larger sealed values are not even decoded.
const MAX_SEALED_LEN: usize = 64 * 1024;

/// The AES key of a [`KtorEncrypt`]: 16, 24 or 32 bytes, as Ktor accepts.
#[derive(Clone)]
enum AesKey {
    Aes128(Zeroizing<[u8; 16]>),
    Aes192(Zeroizing<[u8; 24]>),
    Aes256(Zeroizing<[u8; 32]>),
}

impl AesKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let wrong = || KeyError::WrongLength {
            kind: "AES key",
            expected: "16, 24 or 32",
            actual: bytes.len(),
        };
        Ok(match bytes.len() {
            16 => Self::Aes128(Zeroizing::new(bytes.try_into().map_err(|_| wrong())?)),
            24 => Self::Aes192(Zeroizing::new(bytes.try_into().map_err(|_| wrong())?)),
            32 => Self::Aes256(Zeroizing::new(bytes.try_into().map_err(|_| wrong())?)),
            _ => return Err(wrong()),
        })
    }

    fn encrypt(&self, iv: &[u8; IV_LEN], plaintext: &[u8]) -> Vec<u8> {
        match self {
            Self::Aes128(key) => cbc::Encryptor::<aes::Aes128>::new((&**key).into(), iv.into())
                .encrypt_padded_vec::<Pkcs7>(plaintext),
            Self::Aes192(key) => cbc::Encryptor::<aes::Aes192>::new((&**key).into(), iv.into())
                .encrypt_padded_vec::<Pkcs7>(plaintext),
            Self::Aes256(key) => cbc::Encryptor::<aes::Aes256>::new((&**key).into(), iv.into())
                .encrypt_padded_vec::<Pkcs7>(plaintext),
        }
    }

    fn decrypt(&self, iv: &[u8; IV_LEN], ciphertext: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Aes128(key) => cbc::Decryptor::<aes::Aes128>::new((&**key).into(), iv.into())
                .decrypt_padded_vec::<Pkcs7>(ciphertext),
            Self::Aes192(key) => cbc::Decryptor::<aes::Aes192>::new((&**key).into(), iv.into())
                .decrypt_padded_vec::<Pkcs7>(ciphertext),
            Self::Aes256(key) => cbc::Decryptor::<aes::Aes256>::new((&**key).into(), iv.into())
                .decrypt_padded_vec::<Pkcs7>(ciphertext),
        }
        .ok()
    }
}

/// Ktor's `SessionTransportTransformerEncrypt` (feature `ktor`): AES-CBC with PKCS#7 padding
/// and a random IV, then HMAC-SHA256 over the ciphertext, written as
/// `hex(iv)/hex(ciphertext):hex(mac)`. A Ktor service configured with the same two keys reads
/// what this writes and the other way round.
///
/// **Prefer [`Encrypt`](crate::Encrypt)** for anything that is not shared with Ktor. This
/// format's MAC does not cover the IV, so whoever holds a sealed value can change the first 16
/// bytes of the plaintext undetected (for example `{"userId":"id2"` into `{"userId":"adm"`);
/// don't rely on the first block of a session for anything. With
/// [`KtorEncrypt::backward_compatible_read`] (Ktor's pre-3.0 MAC over the plaintext) values are
/// decrypted before they are authenticated.
///
/// **Not bound to the session name**: Ktor's format has no room for it, so with the same keys
/// a value sealed for one session type opens as any other. The session envelope (on by
/// default) still names the session inside the value; with a session configured
/// `without_envelope` (Ktor's bare JSON) nothing does: give each session type its own keys.
///
/// Comparisons are constant-time, and every malformed value is rejected (never a panic).
///
/// # Examples
///
/// ```
/// # use session_core::{KtorEncrypt, SigningKey, Transformer};
///
/// # let aes_key = [7u8; 16];
/// # let mac_key = SigningKey::generate();
/// let ktor = KtorEncrypt::new(&aes_key, mac_key)?;
/// let sealed = ktor.seal("user_session", r#"{"userId":"id2","cart":[]}"#)?;
/// let (iv, rest) = sealed.split_once('/').unwrap();
/// assert_eq!(iv.len(), 32);
/// assert!(rest.contains(':'));
/// assert_eq!(ktor.unseal("user_session", &sealed).unwrap().value, r#"{"userId":"id2","cart":[]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KtorEncrypt {
    aes: AesKey,
    mac: hmac::Key,
    backward_compatible_read: bool,
}

impl fmt::Debug for KtorEncrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self.aes {
            AesKey::Aes128(_) => 128,
            AesKey::Aes192(_) => 192,
            AesKey::Aes256(_) => 256,
        };
        f.debug_struct("KtorEncrypt")
            .field("aes_bits", &bits)
            .field("backward_compatible_read", &self.backward_compatible_read)
            .finish_non_exhaustive()
    }
}

impl KtorEncrypt {
    /// Ktor's transformer with the AES key `encryption_key` (16, 24 or 32 bytes) and the HMAC
    /// key `signing_key` (Ktor's samples use short ones: build them with
    /// [`SigningKey::from_bytes_for_interop`]).
    ///
    /// # Errors
    ///
    /// [`KeyError::WrongLength`] for an AES key of another length.
    pub fn new(encryption_key: &[u8], signing_key: SigningKey) -> Result<Self, KeyError> {
        Ok(Self {
            aes: AesKey::from_bytes(encryption_key)?,
            mac: hmac::Key::new(hmac::HMAC_SHA256, signing_key.as_bytes()),
            backward_compatible_read: false,
        })
    }

    /// Also accepts values written by Ktor before 3.0, whose MAC covers the plaintext. Such
    /// values are decrypted before they are authenticated: turn it off once old sessions are
    /// gone. Writes always use the current format.
    #[must_use]
    pub fn backward_compatible_read(mut self, enabled: bool) -> Self {
        self.backward_compatible_read = enabled;
        self
    }

    fn seal_with_iv(&self, iv: [u8; IV_LEN], value: &str) -> String {
        let ciphertext = self.aes.encrypt(&iv, value.as_bytes());
        let mac = hmac::sign(&self.mac, &ciphertext);
        format!(
            "{}/{}:{}",
            hex::encode(iv),
            hex::encode(&ciphertext),
            hex::encode(mac.as_ref())
        )
    }
}

/// Decodes `text` as hex into exactly `N` bytes.
fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

impl Transformer for KtorEncrypt {
    fn seal(&self, _name: &str, value: &str) -> Result<String, SealError> {
        let mut iv = [0u8; IV_LEN];
        SystemRandom::new()
            .fill(&mut iv)
            .map_err(|_| SealError::Crypto)?;
        Ok(self.seal_with_iv(iv, value))
    }

    fn unseal(&self, _name: &str, sealed: &str) -> Option<Unsealed> {
        if sealed.len() > MAX_SEALED_LEN {
            return None;
        }
        let (iv_hex, rest) = sealed.rsplit_once('/')?;
        let (ciphertext_hex, mac_hex) = rest.rsplit_once(':')?;
        let iv = hex_array::<IV_LEN>(iv_hex)?;
        let mac = hex_array::<MAC_LEN>(mac_hex)?;
        let ciphertext = hex::decode(ciphertext_hex).ok()?;
        if ciphertext.is_empty() || ciphertext.len() % IV_LEN != 0 {
            return None;
        }
        let plaintext = if hmac::verify(&self.mac, &ciphertext, &mac).is_ok() {
            self.aes.decrypt(&iv, &ciphertext)?
        } else if self.backward_compatible_read {
            let plaintext = self.aes.decrypt(&iv, &ciphertext)?;
            hmac::verify(&self.mac, &plaintext, &mac).ok()?;
            plaintext
        } else {
            return None;
        };
        String::from_utf8(plaintext)
            .ok()
            .map(|value| Unsealed::new(value, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEALED: &str = "00112233445566778899aabbccddeeff/9b8cf9900ff0f63849cb7a2ad71ed8a1ac9f0e2735492d2a5129cf278d70ab27:40af9f393a00034b53d2267251047259005bdf5ff104eede599149e80e6fee13";
    const OLD_CIPHERTEXT: &str = "00112233445566778899aabbccddeeff/c3850fc1ddc62f71ec5eaad6d393b91fa809fe32a1cf0cb4730788c5a489daef";

    fn ktor() -> KtorEncrypt {
        let aes = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        let mac = hex::decode("02030405060708090a0b0c").unwrap();
        KtorEncrypt::new(&aes, SigningKey::from_bytes_for_interop(&mac).unwrap()).unwrap()
    }

    fn fixed_iv() -> [u8; IV_LEN] {
        hex_array("00112233445566778899aabbccddeeff").unwrap()
    }

    /// Known answer from Ktor's `SessionTestJvm.testSessionEncrypted`.
    #[test]
    fn ktor_known_answer() {
        let value = r#"{"userId":"id2","cart":[]}"#;
        assert_eq!(ktor().seal_with_iv(fixed_iv(), value), SEALED);
        assert_eq!(ktor().unseal("any", SEALED).unwrap().value, value);
    }

    /// Ktor's `testSessionEncryptedBackwardCompatible`: the pre-3.0 MAC over the plaintext.
    #[test]
    fn backward_compatible_read_of_the_pre_3_0_format() {
        let legacy_plaintext = "cart=%23cl&userId=%23sid2";
        let current = format!(
            "{OLD_CIPHERTEXT}:65f0bd15bfa7e96b8bd9e134e23a24860b324e361c606e6800af050f5d104b68"
        );
        assert_eq!(ktor().seal_with_iv(fixed_iv(), legacy_plaintext), current);
        let old = format!(
            "{OLD_CIPHERTEXT}:51a5e9fcd1c91418f9a623bafa5022a524348e44244265dc0cab2cebacc28a5d"
        );
        assert!(
            ktor().unseal("any", &old).is_none(),
            "not accepted by default"
        );
        let compatible = ktor().backward_compatible_read(true);
        assert_eq!(
            compatible.unseal("any", &old).unwrap().value,
            legacy_plaintext
        );
        assert_eq!(
            compatible.unseal("any", &current).unwrap().value,
            legacy_plaintext
        );
    }

    #[test]
    fn malformed_values_are_rejected() {
        for bad in [
            "INVALID",
            "abc/abc:abc",
            "",
            "/:",
            &SEALED.replace(':', "/"),
            &SEALED[1..],
        ] {
            assert!(ktor().unseal("any", bad).is_none(), "{bad:?}");
        }
        let mut flipped = SEALED.to_owned();
        flipped.replace_range(40..41, if &SEALED[40..41] == "0" { "1" } else { "0" });
        assert!(ktor().unseal("any", &flipped).is_none());
    }

    /// The documented weakness: the IV is not covered by the MAC, so the first plaintext block
    /// can be changed undetected. This test pins it down so the documentation stays true.
    #[test]
    fn the_iv_is_not_authenticated() {
        let forged = SEALED.replacen(
            "00112233445566778899aabbccddeeff",
            "00112233445566778899aab3cc82eeff",
            1,
        );
        let opened = ktor()
            .unseal("any", &forged)
            .expect("Ktor's format accepts it");
        assert!(
            opened.value.starts_with(r#"{"userId":"adm""#),
            "{}",
            opened.value
        );
    }

    #[test]
    fn every_key_size_round_trips() {
        for len in [16, 24, 32] {
            let ktor = KtorEncrypt::new(&vec![9; len], SigningKey::generate()).unwrap();
            let sealed = ktor.seal("s", "session-value").unwrap();
            assert_eq!(ktor.unseal("s", &sealed).unwrap().value, "session-value");
        }
        assert!(KtorEncrypt::new(&[9; 20], SigningKey::generate()).is_err());
    }

    #[test]
    fn debug_does_not_leak_keys() {
        let text = format!("{:?}", ktor());
        assert!(!text.contains("0011") && !text.contains("0203"), "{text}");
    }
}
