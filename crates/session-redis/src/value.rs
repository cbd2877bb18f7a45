//! What the store keeps under a session's key: the session's text behind its expiry time.
//!
//! `@<expiry, milliseconds since the Unix epoch> <text>`. Redis expires the key by itself (the
//! same deadline is its time to live); the copy in the value lets [`load_entry`] report the
//! expiry from the one `GET`, instead of asking for the remaining time to live with a second
//! command on every read. `touch` rewrites the prefix and the time to live together, in a
//! script, so the two never disagree.
//!
//! [`load_entry`]: session_core::SessionStore::load_entry

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first byte of a value written by this store.
const MARKER: char = '@';

/// The milliseconds since the Unix epoch of `now + ttl` (0 before the epoch).
pub(crate) fn expiry_millis(now: SystemTime, ttl_millis: u64) -> u64 {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    });
    now.saturating_add(ttl_millis)
}

/// The stored form of `text`, expiring at `expiry_millis`.
pub(crate) fn encode(text: &str, expiry_millis: u64) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(expiry_millis);
    let mut value = String::with_capacity(2 + digits.len() + text.len());
    value.push(MARKER);
    value.push_str(digits);
    value.push(' ');
    value.push_str(text);
    value
}

/// The text of a stored value and its expiry; a value in another form (not written by this
/// store) is all text, of unknown expiry. An expiry too large to be a time is unknown too. The
/// scripts in [`command`](crate::command) split values the same way (`^@%d+ `).
pub(crate) fn decode(mut value: String) -> (String, Option<SystemTime>) {
    let Some((digits, text_start)) = split(&value) else {
        return (value, None);
    };
    let expiry = digits
        .parse()
        .ok()
        .and_then(|millis| UNIX_EPOCH.checked_add(Duration::from_millis(millis)));
    value.drain(..text_start);
    (value, expiry)
}

/// The expiry's digits, and where the text starts.
fn split(value: &str) -> Option<(&str, usize)> {
    let rest = value.strip_prefix(MARKER)?;
    let (digits, _) = rest.split_once(' ')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits, MARKER.len_utf8() + digits.len() + 1))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_layout_is_marker_expiry_space_text() {
        assert_eq!(
            encode("{\"a\":1}", 1_700_000_000_123),
            "@1700000000123 {\"a\":1}"
        );
        let (text, expiry) = decode("@1700000000123 {\"a\":1}".to_owned());
        assert_eq!(text, "{\"a\":1}");
        assert_eq!(
            expiry,
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))
        );
    }

    #[test]
    fn other_values_are_all_text_of_unknown_expiry() {
        for other in [
            "",
            "@",
            "@ x",
            "@12",
            "@1x2 t",
            "@-1 t",
            "12 t",
            "s1 1 2 x\ny",
        ] {
            assert_eq!(
                decode(other.to_owned()),
                (other.to_owned(), None),
                "{other:?}"
            );
        }
        // Our form with an expiry no time can hold: the text is still split off, as the
        // scripts do, so that compare-and-swap compares the same text.
        assert_eq!(
            decode("@99999999999999999999999 t".to_owned()),
            ("t".to_owned(), None)
        );
    }

    #[test]
    fn expiry_is_now_plus_ttl() {
        let now = UNIX_EPOCH + Duration::from_millis(5_000);
        assert_eq!(expiry_millis(now, 1_500), 6_500);
        assert_eq!(expiry_millis(now, u64::MAX), u64::MAX);
    }

    proptest! {
        #[test]
        fn every_text_round_trips(text in any::<String>(), expiry in 0u64..=4_102_444_800_000) {
            let (decoded, at) = decode(encode(&text, expiry));
            prop_assert_eq!(decoded, text);
            prop_assert_eq!(at, Some(UNIX_EPOCH + Duration::from_millis(expiry)));
        }
    }
}
