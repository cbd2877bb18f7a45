//! Session IDs: 256 bits from the operating system's CSPRNG, URL-safe, validated before use.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use crate::IdError;

const ID_BYTES: usize = 32;

/// The 6-bit value of a URL-safe base64 character.
fn base64url_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// 256 random bits from the operating system's CSPRNG as 43 characters of URL-safe base64.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; ID_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An unguessable session ID: 32 random bytes (256 bits) from the operating system's CSPRNG,
/// written as 43 characters of URL-safe base64 without padding.
///
/// The only ways to get one are [`SessionId::generate`] and [`SessionId::parse`], so any
/// `SessionId` that reaches a storage has the right length and alphabet: it can be used as a
/// file name or a Redis key without further escaping.
///
/// `Debug` shows only the first characters, so IDs (bearer secrets) don't end up in logs whole.
/// `Display` writes the whole ID, as [`as_str`](Self::as_str) does: it is a bearer
/// credential, so never log it or put it in an error message (log `{id:?}`). With serde it
/// is its text, and deserializing validates it as [`parse`](Self::parse) does.
///
/// # Examples
///
/// ```
/// # use session_core::SessionId;
/// let id = SessionId::generate();
/// assert_eq!(id.as_str().len(), SessionId::LEN);
/// assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
/// assert!(SessionId::parse("../../etc/passwd").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    text: Box<str>,
}

impl SessionId {
    /// The length of every session ID, in characters.
    pub const LEN: usize = 43;

    /// Generates a fresh ID.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails, which leaves no safe way on.
    pub fn generate() -> Self {
        Self {
            text: random_token().into_boxed_str(),
        }
    }

    /// Validates text received from a client or read from a storage.
    ///
    /// # Errors
    ///
    /// [`IdError::WrongLength`] unless the text is exactly [`Self::LEN`] bytes, and
    /// [`IdError::InvalidCharacter`] for anything outside `[A-Za-z0-9_-]`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.len() != Self::LEN {
            return Err(IdError::WrongLength {
                expected: Self::LEN,
                actual: text.len(),
            });
        }
        if !text.bytes().all(|b| base64url_value(b).is_some()) {
            return Err(IdError::InvalidCharacter);
        }
        // Only the canonical spelling of 32 bytes: 42 characters carry 252 bits and the last
        // one 4 more, its 2 low bits zero, so no two spellings name one ID.
        match text.bytes().last().and_then(base64url_value) {
            Some(last) if last & 0b11 == 0 => Ok(Self { text: text.into() }),
            _ => Err(IdError::InvalidCharacter),
        }
    }

    /// The 32 random bytes the ID spells, for compact storage keys.
    pub fn to_bytes(&self) -> [u8; ID_BYTES] {
        let mut bytes = [0u8; ID_BYTES];
        let written = URL_SAFE_NO_PAD
            .decode_slice(self.text.as_bytes(), &mut bytes)
            .expect("validated when the ID was made");
        debug_assert_eq!(written, ID_BYTES);
        bytes
    }

    /// The ID's text, for a storage key or a transport value.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", &self.text[..6])
    }
}

/// The whole ID: a bearer credential, for a transport or a storage key, never for a log
/// line (use `Debug` there, which shows a prefix only).
///
/// # Examples
///
/// ```
/// # use session_core::SessionId;
/// let id = SessionId::generate();
/// assert_eq!(id.to_string(), id.as_str());
/// assert!(!format!("{id:?}").contains(id.as_str()));
/// ```
impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses and validates, as [`SessionId::parse`].
///
/// # Examples
///
/// ```
/// # use session_core::SessionId;
/// let id = SessionId::generate();
/// assert_eq!(id.as_str().parse::<SessionId>().unwrap(), id);
/// assert!("not-an-id".parse::<SessionId>().is_err());
/// ```
impl std::str::FromStr for SessionId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        Self::parse(text)
    }
}

/// Serializes the ID as its text: it is a bearer credential, so serialize it only where a
/// secret may go.
///
/// # Examples
///
/// ```
/// # use session_core::SessionId;
/// let id = SessionId::generate();
/// let json = serde_json::to_string(&id)?;
/// assert_eq!(json, format!("\"{}\"", id.as_str()));
/// assert_eq!(serde_json::from_str::<SessionId>(&json)?, id);
/// assert!(serde_json::from_str::<SessionId>("\"../../etc/passwd\"").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Deserializes text and validates it as [`SessionId::parse`] does: anything else is an
/// error, never an ID.
impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = SessionId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session ID: 43 characters of URL-safe base64")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SessionId, E> {
                SessionId::parse(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

impl TryFrom<&str> for SessionId {
    type Error = IdError;

    fn try_from(text: &str) -> Result<Self, IdError> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| SessionId::generate()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(SessionId::parse(id.as_str()).as_ref(), Ok(id));
        }
    }

    #[test]
    fn hostile_text_is_rejected() {
        let good = SessionId::generate();
        let mut almost = good.as_str().to_owned();
        almost.replace_range(10..11, "/");
        for text in [
            "",
            "..",
            &almost,
            &"a".repeat(42),
            &"a".repeat(44),
            &"a".repeat(10_000),
            &format!("{}\0", &good.as_str()[..42]),
            &format!("{}.", &good.as_str()[..42]),
            &format!("{}\\", &good.as_str()[..42]),
            // Multi-byte characters: 43 bytes but not the alphabet, and slicing must not panic.
            &format!("{}é", &good.as_str()[..41]),
        ] {
            assert!(SessionId::parse(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn only_the_canonical_spelling_is_accepted() {
        let id = SessionId::generate();
        assert_eq!(
            SessionId::parse(id.as_str()).unwrap().to_bytes(),
            id.to_bytes()
        );
        // The last character holds 4 bits of the ID and 2 bits that must be zero.
        let last = id.as_str().as_bytes()[42];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let position = alphabet.iter().position(|&c| c == last).unwrap();
        let other = alphabet[position ^ 1];
        let mut text = id.as_str().to_owned();
        text.replace_range(42..43, std::str::from_utf8(&[other]).unwrap());
        assert!(SessionId::parse(&text).is_err(), "{text}");
    }

    proptest::proptest! {
        #[test]
        fn accepted_exactly_when_base64_decodes_it_back_to_itself(
            text in "[A-Za-z0-9_-]{43}|[A-Za-z0-9_+/=.-]{40,45}",
        ) {
            let mut bytes = [0u8; ID_BYTES];
            let canonical = text.len() == SessionId::LEN
                && URL_SAFE_NO_PAD.decode_slice(&text, &mut bytes) == Ok(ID_BYTES)
                && URL_SAFE_NO_PAD.encode(bytes) == text;
            proptest::prop_assert_eq!(SessionId::parse(&text).is_ok(), canonical);
        }
    }

    #[test]
    fn display_and_serde_use_the_whole_text_and_deserializing_validates() {
        let id = SessionId::generate();
        assert_eq!(id.to_string(), id.as_str());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
        let mut non_canonical = id.as_str().to_owned();
        non_canonical.replace_range(42..43, "B");
        for bad in [
            "\"\"".to_owned(),
            "\"../../etc/passwd\"".to_owned(),
            format!("\"{}\"", &id.as_str()[..42]),
            format!("\"{non_canonical}\""),
            "42".to_owned(),
        ] {
            assert!(serde_json::from_str::<SessionId>(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_a_prefix_only() {
        let id = SessionId::generate();
        let debug = format!("{id:?}");
        assert!(!debug.contains(id.as_str()));
        assert!(debug.contains(&id.as_str()[..6]));
    }
}
