//! Typed keys: built from bytes, hex, base64 or an environment variable, never printed.

use std::fmt;

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::KeyError;

/// Reads an environment variable, keeping its text zeroed on drop.
fn text_from_env(variable: &str) -> Result<Zeroizing<String>, KeyError> {
    match std::env::var(variable) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(std::env::VarError::NotPresent) => Err(KeyError::MissingVariable {
            variable: variable.to_owned(),
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::NotUnicode {
            variable: variable.to_owned(),
        }),
    }
}

fn decode_hex(kind: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    hex::decode(text.trim())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::InvalidHex { kind })
}

fn decode_base64(kind: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let text = text.trim().trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .map(Zeroizing::new)
        .map_err(|_| KeyError::InvalidBase64 { kind })
}

/// Hex when the text is entirely hexadecimal digits, base64 otherwise.
fn decode_hex_or_base64(kind: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        decode_hex(kind, trimmed)
    } else {
        decode_base64(kind, trimmed)
    }
}

fn random_bytes<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut bytes = Zeroizing::new([0u8; N]);
    // The operating system's CSPRNG failing is not recoverable: there is no safe fallback.
    SystemRandom::new()
        .fill(bytes.as_mut())
        .expect("the operating system's random number generator failed");
    bytes
}

/// Generates the text constructors shared by every key type.
macro_rules! text_constructors {
    ($key:ident, $example_hex:literal) => {
        impl $key {
            /// Builds the key from hexadecimal text (upper or lower case).
            ///
            /// # Errors
            ///
            /// [`KeyError::InvalidHex`] or [`KeyError::WrongLength`].
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use session_core::", stringify!($key), ";")]
            #[doc = concat!("let key = ", stringify!($key), "::from_hex(\"", $example_hex, "\");")]
            /// assert!(key.is_ok());
            #[doc = concat!("assert!(", stringify!($key), "::from_hex(\"abc\").is_err());")]
            /// ```
            pub fn from_hex(text: &str) -> Result<Self, KeyError> {
                Self::from_bytes(&decode_hex(Self::KIND, text)?)
            }

            /// Builds the key from base64 text (standard or URL-safe alphabet, padding optional).
            ///
            /// # Errors
            ///
            /// [`KeyError::InvalidBase64`] or [`KeyError::WrongLength`].
            pub fn from_base64(text: &str) -> Result<Self, KeyError> {
                Self::from_bytes(&decode_base64(Self::KIND, text)?)
            }

            /// Reads the key from an environment variable holding hex (when every character is
            /// a hex digit) or base64.
            ///
            /// # Errors
            ///
            /// [`KeyError::MissingVariable`], [`KeyError::NotUnicode`], or the errors of
            /// [`Self::from_hex`] and [`Self::from_base64`].
            ///
            /// # Examples
            ///
            /// ```no_run
            #[doc = concat!("use session_core::", stringify!($key), ";")]
            #[doc = concat!("let key = ", stringify!($key), "::from_env(\"SESSION_KEY\")?;")]
            /// # Ok::<(), session_core::KeyError>(())
            /// ```
            pub fn from_env(variable: &str) -> Result<Self, KeyError> {
                let text = text_from_env(variable)?;
                Self::from_bytes(&decode_hex_or_base64(Self::KIND, &text)?)
            }

            /// The key as lowercase hex, for storing a generated key in configuration.
            ///
            /// This is the only way to get the key material out; it is never used by `Debug`.
            pub fn to_hex(&self) -> Zeroizing<String> {
                Zeroizing::new(hex::encode(self.as_bytes()))
            }
        }

        impl fmt::Debug for $key {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($key), "(REDACTED)"))
            }
        }

        impl PartialEq for $key {
            /// Compares in constant time.
            fn eq(&self, other: &Self) -> bool {
                self.as_bytes().ct_eq(other.as_bytes()).into()
            }
        }

        impl Eq for $key {}
    };
}

/// A key for HMAC-SHA256 signatures ([`Sign`](crate::Sign)), 32 to 64 bytes.
///
/// `Debug` prints `SigningKey(REDACTED)`; equality is constant-time; the bytes are zeroed on drop.
///
/// # Examples
///
/// ```
/// # use session_core::SigningKey;
/// let key = SigningKey::generate();
/// assert_eq!(format!("{key:?}"), "SigningKey(REDACTED)");
/// assert!(SigningKey::from_bytes(&[7; 16]).is_err()); // too short
/// ```
#[derive(Clone)]
pub struct SigningKey {
    bytes: Zeroizing<Vec<u8>>,
}

impl SigningKey {
    const KIND: &'static str = "signing key";
    /// The shortest key accepted by [`Self::from_bytes`]: the HMAC-SHA256 output size.
    pub const MIN_LEN: usize = 32;
    /// The longest key accepted: the HMAC-SHA256 block size.
    pub const MAX_LEN: usize = 64;

    /// Builds a key from 32 to 64 bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::WrongLength`] outside that range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(KeyError::WrongLength {
                kind: Self::KIND,
                expected: "32 to 64",
                actual: bytes.len(),
            });
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Builds a key of any length from 1 to 64 bytes, to verify values signed by another
    /// system with a shorter key (Ktor's samples use 12- and 14-byte keys).
    ///
    /// Prefer [`Self::from_bytes`]: a key shorter than 32 bytes is weaker than the MAC.
    ///
    /// # Errors
    ///
    /// [`KeyError::WrongLength`] for an empty key or one over 64 bytes.
    pub fn from_bytes_for_interop(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN {
            return Err(KeyError::WrongLength {
                kind: Self::KIND,
                expected: "1 to 64",
                actual: bytes.len(),
            });
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Generates a fresh 32-byte key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self {
            bytes: Zeroizing::new(random_bytes::<32>().to_vec()),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

text_constructors!(
    SigningKey,
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
);

/// A 32-byte key for authenticated encryption ([`Encrypt`](crate::Encrypt), AES-256-GCM).
///
/// `Debug` prints `EncryptionKey(REDACTED)`; equality is constant-time; the bytes are zeroed on
/// drop.
///
/// # Examples
///
/// ```
/// # use session_core::EncryptionKey;
/// let key = EncryptionKey::generate();
/// let again = EncryptionKey::from_hex(&key.to_hex()).unwrap();
/// assert_eq!(key, again);
/// assert!(EncryptionKey::from_bytes(&[0; 16]).is_err());
/// ```
#[derive(Clone)]
pub struct EncryptionKey {
    bytes: Zeroizing<[u8; Self::LEN]>,
}

impl EncryptionKey {
    const KIND: &'static str = "encryption key";
    /// The key length in bytes.
    pub const LEN: usize = 32;

    /// Builds a key from exactly 32 bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::WrongLength`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; Self::LEN] = bytes.try_into().map_err(|_| KeyError::WrongLength {
            kind: Self::KIND,
            expected: "32",
            actual: bytes.len(),
        })?;
        Ok(Self {
            bytes: Zeroizing::new(array),
        })
    }

    /// Generates a fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self {
            bytes: random_bytes::<{ Self::LEN }>(),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }
}

text_constructors!(
    EncryptionKey,
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_leak_key() {
        let hex = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let signing = SigningKey::from_hex(hex).unwrap();
        let encryption = EncryptionKey::from_hex(hex).unwrap();
        for text in [
            format!("{signing:?}"),
            format!("{encryption:?}"),
            format!("{signing:#?}"),
        ] {
            assert!(!text.contains("a1b2"), "{text}");
            assert!(!text.to_lowercase().contains("161"), "{text}");
            assert!(text.contains("REDACTED"));
        }
    }

    #[test]
    fn errors_do_not_leak_key() {
        let error = EncryptionKey::from_hex("deadbeefdeadbeef").unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(!text.contains("deadbeef"), "{text}");
        assert!(text.contains("32"));
        assert!(text.contains('8'));
        let error = SigningKey::from_hex("zz-secret-zz").unwrap_err();
        assert!(!format!("{error} {error:?}").contains("secret"));
    }

    #[test]
    fn lengths_are_validated() {
        assert!(SigningKey::from_bytes(&[1; 31]).is_err());
        assert!(SigningKey::from_bytes(&[1; 32]).is_ok());
        assert!(SigningKey::from_bytes(&[1; 64]).is_ok());
        assert!(SigningKey::from_bytes(&[1; 65]).is_err());
        assert!(SigningKey::from_bytes_for_interop(&[1; 12]).is_ok());
        assert!(SigningKey::from_bytes_for_interop(&[]).is_err());
        assert!(EncryptionKey::from_bytes(&[1; 31]).is_err());
        assert!(EncryptionKey::from_bytes(&[1; 33]).is_err());
        assert!(matches!(
            EncryptionKey::from_bytes(&[1; 16]),
            Err(KeyError::WrongLength { actual: 16, .. })
        ));
    }

    #[test]
    fn text_forms_round_trip() {
        let key = EncryptionKey::generate();
        let hex = key.to_hex();
        assert_eq!(EncryptionKey::from_hex(&hex).unwrap(), key);
        assert_eq!(EncryptionKey::from_hex(&hex.to_uppercase()).unwrap(), key);
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
        assert_eq!(EncryptionKey::from_base64(&b64).unwrap(), key);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes());
        assert_eq!(EncryptionKey::from_base64(&b64url).unwrap(), key);
        assert!(matches!(
            EncryptionKey::from_base64("!!!"),
            Err(KeyError::InvalidBase64 { .. })
        ));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(EncryptionKey::generate(), EncryptionKey::generate());
        assert_ne!(SigningKey::generate(), SigningKey::generate());
    }

    #[test]
    fn env_text_is_hex_or_base64_and_missing_is_reported() {
        let key = SigningKey::generate();
        let hex = key.to_hex();
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
        for text in [hex.as_str(), b64.as_str()] {
            let bytes = decode_hex_or_base64("test", text).unwrap();
            assert_eq!(SigningKey::from_bytes(&bytes).unwrap(), key);
        }
        // Setting variables needs `unsafe` in edition 2024; the examples' process tests cover
        // reading a real variable.
        assert!(matches!(
            SigningKey::from_env("SESSION_CORE_TEST_SURELY_UNSET_VARIABLE"),
            Err(KeyError::MissingVariable { .. })
        ));
    }
}
