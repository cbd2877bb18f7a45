//! The envelope around a session's serialized value: when the session started, when a
//! client-side copy stops being valid, and its CSRF token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::id::random_token;

/// `s1` records carried no session name; they are no longer read.
const VERSION: &str = "s2";
/// `s2` with the time the session's current ID was issued, written once a periodic rotation
/// has moved the session to a new ID (before that, the ID dates from the start).
const VERSION_ROTATED: &str = "s3";

/// A session value with the metadata that timeouts and CSRF protection need.
///
/// Middleware seals the encoded record (client-side sessions) or stores it (server-side
/// sessions), so the metadata is as authentic as the value: a client cannot extend its
/// session's expiry or choose its CSRF token.
///
/// The encoded record names its session, and decoding checks the name: a value or stored
/// entry of one session type is never read as another, whatever the transformer (even one
/// that does not bind the name itself) and even when several types share one store.
///
/// Encoded as one header line, `s2 <created ms> <expires ms or 0> <csrf token> <session name>`,
/// then the value; once the session's ID was rotated, `s3 <created ms> <expires ms or 0>
/// <ID issued ms> <csrf token> <session name>`. Session names are cookie or header names: no
/// spaces or line breaks.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// # use session_core::Record;
///
/// let now = SystemTime::now();
/// let record = Record::new(r#"{"id":1}"#.into(), now, Some(now + Duration::from_secs(10)));
/// let encoded = record.encode("cart");
/// let decoded = Record::decode(&encoded, "cart").unwrap();
/// assert_eq!(decoded.text, r#"{"id":1}"#);
/// assert_eq!(decoded.csrf_token, record.csrf_token);
/// assert!(Record::decode(&encoded, "auth").is_none()); // another session's record
/// assert!(Record::decode("garbage", "cart").is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// When the session started (at login, or when it was renewed). Millisecond precision.
    pub created_at: SystemTime,
    /// When a client-side copy stops being valid; `None` for server-side records, whose
    /// storage expires them.
    pub expires_at: Option<SystemTime>,
    /// The session's CSRF token: 256 random bits, URL-safe base64.
    pub csrf_token: String,
    /// The serialized session value.
    pub text: String,
    /// When the session's current ID was issued: its start, until a periodic rotation moves
    /// it to a new ID. Millisecond precision.
    pub id_issued_at: SystemTime,
}

/// The CSRF token is a secret of the session: never printed.
impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("csrf_token", &"REDACTED")
            .field("text", &self.text)
            .field("id_issued_at", &self.id_issued_at)
            .finish()
    }
}

fn to_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_millis(millis: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

impl Record {
    /// A new session's record, with a fresh CSRF token.
    pub fn new(text: String, created_at: SystemTime, expires_at: Option<SystemTime>) -> Self {
        let created_at = from_millis(to_millis(created_at)).unwrap_or(UNIX_EPOCH);
        Self {
            created_at,
            expires_at: expires_at.and_then(|at| from_millis(to_millis(at))),
            csrf_token: random_token(),
            text,
            id_issued_at: created_at,
        }
    }

    /// A record for a value that travels or is stored without this envelope (as Ktor writes
    /// it): no known start (taken as `now`), no expiry, no CSRF token (empty).
    pub fn bare(text: String, now: SystemTime) -> Self {
        Self {
            created_at: now,
            expires_at: None,
            csrf_token: String::new(),
            text,
            id_issued_at: now,
        }
    }

    /// A record of an ongoing session: its start and CSRF token, with a new `text` and
    /// client-side expiry. Same as `with_text` on that session's record, without copying its
    /// old text.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// # use session_core::Record;
    ///
    /// let now = SystemTime::now();
    /// let first = Record::new("1".into(), now, None);
    /// let next = Record::continued(first.created_at, first.csrf_token.clone(), "2".into(), None);
    /// assert_eq!(next, first.with_text("2".into(), None));
    /// ```
    pub fn continued(
        created_at: SystemTime,
        csrf_token: String,
        text: String,
        expires_at: Option<SystemTime>,
    ) -> Self {
        Self {
            created_at,
            expires_at: expires_at.and_then(|at| from_millis(to_millis(at))),
            csrf_token,
            text,
            id_issued_at: created_at,
        }
    }

    /// The same session under an ID issued at `at` (a periodic rotation).
    #[must_use]
    pub fn issued_at(self, at: SystemTime) -> Self {
        Self {
            id_issued_at: from_millis(to_millis(at)).unwrap_or(self.created_at),
            ..self
        }
    }

    /// The same session with another value and expiry (its start and token are kept).
    #[must_use]
    pub fn with_text(self, text: String, expires_at: Option<SystemTime>) -> Self {
        Self {
            text,
            expires_at: expires_at.and_then(|at| from_millis(to_millis(at))),
            ..self
        }
    }

    /// The text form, naming the session `name`.
    pub fn encode(&self, name: &str) -> String {
        let mut numbers = itoa::Buffer::new();
        let mut encoded = String::with_capacity(
            VERSION.len() + 45 + self.csrf_token.len() + name.len() + self.text.len(),
        );
        let rotated = self.id_issued_at != self.created_at;
        encoded.push_str(if rotated { VERSION_ROTATED } else { VERSION });
        encoded.push(' ');
        encoded.push_str(numbers.format(to_millis(self.created_at)));
        encoded.push(' ');
        encoded.push_str(numbers.format(self.expires_at.map_or(0, to_millis)));
        encoded.push(' ');
        if rotated {
            encoded.push_str(numbers.format(to_millis(self.id_issued_at)));
            encoded.push(' ');
        }
        encoded.push_str(&self.csrf_token);
        encoded.push(' ');
        encoded.push_str(name);
        encoded.push('\n');
        encoded.push_str(&self.text);
        encoded
    }

    /// Parses the text form of session `name`'s record; `None` for anything else, including
    /// another session's record.
    pub fn decode(encoded: &str, name: &str) -> Option<Self> {
        let (record, text_start) = Self::decode_header(encoded, name)?;
        Some(Self {
            text: encoded[text_start..].to_owned(),
            ..record
        })
    }

    /// [`Record::decode`] taking the encoded text, whose buffer becomes the record's value
    /// (no copy).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// # use session_core::Record;
    ///
    /// let record = Record::new(r#"{"id":1}"#.into(), SystemTime::now(), None);
    /// let decoded = Record::decode_owned(record.encode("cart"), "cart").unwrap();
    /// assert_eq!(decoded, record);
    /// ```
    pub fn decode_owned(mut encoded: String, name: &str) -> Option<Self> {
        let (record, text_start) = Self::decode_header(&encoded, name)?;
        encoded.drain(..text_start);
        Some(Self {
            text: encoded,
            ..record
        })
    }

    /// The record's header, with an empty text, and where its text starts.
    fn decode_header(encoded: &str, name: &str) -> Option<(Self, usize)> {
        // One pass, no searching: the header's fields come in a known order and the name is
        // known, so the value starts right after `name` and a line break.
        let mut header = Cursor(encoded.as_bytes());
        let rotated = match header.take(3)? {
            b"s2 " => false,
            b"s3 " => true,
            _ => return None,
        };
        let created_at = from_millis(header.number()?)?;
        let expires_at = match header.number()? {
            0 => None,
            millis => Some(from_millis(millis)?),
        };
        let id_issued_at = match rotated {
            true => from_millis(header.number()?)?,
            false => created_at,
        };
        let csrf_token = header.take(crate::SessionId::LEN)?;
        let well_formed = csrf_token.iter().fold(true, |ok, &b| {
            ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
        });
        if !well_formed || header.take(1)? != b" " || header.take(name.len())? != name.as_bytes() {
            return None;
        }
        if header.take(1)? != b"\n" {
            return None;
        }
        let record = Self {
            created_at,
            expires_at,
            // ASCII, checked above.
            csrf_token: String::from_utf8(csrf_token.to_vec()).ok()?,
            text: String::new(),
            id_issued_at,
        };
        Some((record, encoded.len() - header.0.len()))
    }
}

/// The unread part of an encoded record's header.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// The next `len` bytes.
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(taken)
    }

    /// A decimal number (1 to 20 digits, no sign) and the space after it.
    fn number(&mut self) -> Option<u64> {
        let digits = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 20 {
            return None;
        }
        let number = self.0[..digits].iter().try_fold(0u64, |number, &digit| {
            number.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })?;
        self.0 = &self.0[digits..];
        (self.take(1)? == b" ").then_some(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_everything_at_millisecond_precision() {
        let created = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let record = Record::new("a\nb".into(), created, None);
        let decoded = Record::decode(&record.encode("s"), "s").unwrap();
        assert_eq!(decoded, record);
        assert_eq!(decoded.created_at, created);
        assert_eq!(decoded.expires_at, None);
    }

    #[test]
    fn a_rotated_record_keeps_its_id_issue_time_and_others_stay_s2() {
        let created = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let record = Record::new("v".into(), created, None);
        assert!(
            record.encode("s").starts_with("s2 "),
            "unrotated records are unchanged"
        );
        let rotated = record.issued_at(created + Duration::from_secs(60));
        let encoded = rotated.encode("s");
        assert!(encoded.starts_with("s3 "), "{encoded}");
        let decoded = Record::decode(&encoded, "s").unwrap();
        assert_eq!(decoded, rotated);
        assert_eq!(decoded.id_issued_at, created + Duration::from_secs(60));
        let kept = decoded.with_text("w".into(), None);
        assert_eq!(kept.id_issued_at, created + Duration::from_secs(60));
    }

    #[test]
    fn tokens_are_fresh_per_record_and_kept_by_with_text() {
        let now = SystemTime::now();
        let a = Record::new(String::new(), now, None);
        let b = Record::new(String::new(), now, None);
        assert_ne!(a.csrf_token, b.csrf_token);
        let token = a.csrf_token.clone();
        assert_eq!(a.with_text("new".into(), None).csrf_token, token);
    }

    #[test]
    fn debug_never_prints_the_csrf_token() {
        let record = Record::new("v".into(), SystemTime::now(), None);
        let printed = format!("{record:?}");
        assert!(!printed.contains(&record.csrf_token), "{printed}");
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let good = Record::new("v".into(), SystemTime::now(), None).encode("s");
        let token = good
            .split(' ')
            .nth(3)
            .unwrap()
            .split('\n')
            .next()
            .unwrap()
            .to_owned();
        assert!(Record::decode(&format!("s2 1 0 {token} s\nv"), "s").is_some());
        for bad in [
            String::new(),
            "s2".into(),
            "s2 1 0\nv".into(),
            format!("s1 1 0 {token}\nv"),
            format!("s1 1 0 {token} s\nv"),
            format!("s3 1 0 {token} s\nv"),
            format!("s3 1 0 x {token} s\nv"),
            format!("s2 1 0 {token}\nv"),
            format!("s2 x 0 {token} s\nv"),
            format!("s2 1 0 {token} s extra\nv"),
            format!("s2 1 0 {token} other\nv"),
            format!("s2 1 0 {token} S\nv"),
            "s2 1 0 short s\nv".to_owned(),
            format!("s2 -1 0 {token} s\nv"),
            format!("s2 1 0 {token} s"),
        ] {
            assert!(Record::decode(&bad, "s").is_none(), "{bad:?}");
        }
    }
}
