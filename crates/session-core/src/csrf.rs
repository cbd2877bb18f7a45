//! CSRF tokens masked per response (against BREACH), and the constant-time check that accepts
//! a token in its raw or any masked form.
//!
//! A session's CSRF token is 32 random bytes written as 43 characters of URL-safe base64 (see
//! [`Record::csrf_token`](crate::Record::csrf_token)). Put in every page as is, the same secret
//! sits in every compressed response, and an attacker who can inject text next to it and watch
//! the compressed sizes (BREACH) can guess it a character at a time. A masked form,
//! `base64url(M || M xor T)` with `M` 32 fresh random bytes, is different on every call and so
//! gives the compression nothing to match, while the server still recovers `T` from it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq as _;

/// The bytes of a CSRF token.
const TOKEN_BYTES: usize = 32;
/// The length of a raw token: 32 bytes in URL-safe base64 without padding.
const TOKEN_LEN: usize = 43;
/// The length of a masked token: 64 bytes (mask, then masked token) in the same alphabet.
const MASKED_LEN: usize = 86;

/// Decodes the canonical URL-safe base64 spelling of exactly `N` bytes; `None` for anything
/// else (wrong length, other alphabet, non-zero trailing bits).
fn decode_exact<const N: usize>(text: &str, len: usize) -> Option<[u8; N]> {
    if text.len() != len {
        return None;
    }
    let mut bytes = [0u8; N];
    match URL_SAFE_NO_PAD.decode_slice(text.as_bytes(), &mut bytes) {
        Ok(written) if written == N => Some(bytes),
        _ => None,
    }
}

fn xor(a: &[u8], b: &[u8]) -> [u8; TOKEN_BYTES] {
    let mut out = [0u8; TOKEN_BYTES];
    for ((out, a), b) in out.iter_mut().zip(a).zip(b) {
        *out = a ^ b;
    }
    out
}

/// A masked form of the CSRF token `token`: `base64url(M || M xor T)` where `T` is the token's
/// 32 bytes and `M` 32 fresh random bytes, so 86 URL-safe characters that differ on every call
/// and that [`csrf_token_matches`] accepts for `token`. Hand out a fresh one with every response
/// (a hidden form field, a `<meta>` tag) so that a compressed page never repeats the secret
/// (BREACH).
///
/// `None` when `token` is not a CSRF token (43 characters of URL-safe base64 spelling 32 bytes,
/// as sessions make them).
///
/// # Panics
///
/// If the operating system's random number generator fails, which leaves no safe way on (the
/// same rule as for session IDs).
///
/// # Examples
///
/// ```
/// # use session_core::{csrf_token_matches, mask_csrf_token};
///
/// # let token = session_core::SessionId::generate().as_str().to_owned();
/// let first = mask_csrf_token(&token).expect("a CSRF token");
/// let second = mask_csrf_token(&token).expect("a CSRF token");
/// assert_ne!(first, second);
/// assert!(csrf_token_matches(&token, &first));
/// assert!(csrf_token_matches(&token, &second));
/// assert_eq!(mask_csrf_token("not a token"), None);
/// ```
pub fn mask_csrf_token(token: &str) -> Option<String> {
    let token = decode_exact::<TOKEN_BYTES>(token, TOKEN_LEN)?;
    let mut mask = [0u8; TOKEN_BYTES];
    SystemRandom::new()
        .fill(&mut mask)
        .expect("the operating system's random number generator failed");
    let mut masked = [0u8; 2 * TOKEN_BYTES];
    masked[..TOKEN_BYTES].copy_from_slice(&mask);
    masked[TOKEN_BYTES..].copy_from_slice(&xor(&mask, &token));
    Some(URL_SAFE_NO_PAD.encode(masked))
}

/// Whether `provided` (from a request) is the CSRF token `expected` (the session's), raw or in
/// any masked form made by [`mask_csrf_token`]. The token bytes are compared in constant time.
///
/// False whenever `expected` is not a well-formed token (an empty token, say, matches nothing),
/// and for any `provided` that is neither 43 nor 86 characters of canonical URL-safe base64.
/// Never panics, whatever the input.
///
/// # Examples
///
/// ```
/// # use session_core::{csrf_token_matches, mask_csrf_token};
///
/// # let token = session_core::SessionId::generate().as_str().to_owned();
/// # let other = session_core::SessionId::generate().as_str().to_owned();
/// assert!(csrf_token_matches(&token, &token));
/// assert!(csrf_token_matches(&token, &mask_csrf_token(&token).unwrap()));
/// assert!(!csrf_token_matches(&token, &other));
/// assert!(!csrf_token_matches(&token, &mask_csrf_token(&other).unwrap()));
/// assert!(!csrf_token_matches("", ""));
/// ```
pub fn csrf_token_matches(expected: &str, provided: &str) -> bool {
    let Some(expected) = decode_exact::<TOKEN_BYTES>(expected, TOKEN_LEN) else {
        return false;
    };
    let provided = match provided.len() {
        TOKEN_LEN => decode_exact::<TOKEN_BYTES>(provided, TOKEN_LEN),
        MASKED_LEN => decode_exact::<{ 2 * TOKEN_BYTES }>(provided, MASKED_LEN)
            .map(|masked| xor(&masked[..TOKEN_BYTES], &masked[TOKEN_BYTES..])),
        _ => None,
    };
    provided.is_some_and(|provided| bool::from(expected.ct_eq(&provided)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionId;

    fn token() -> String {
        SessionId::generate().as_str().to_owned()
    }

    #[test]
    fn masked_forms_differ_and_all_match() {
        let token = token();
        let masked: std::collections::HashSet<String> =
            (0..100).map(|_| mask_csrf_token(&token).unwrap()).collect();
        assert_eq!(masked.len(), 100);
        for form in &masked {
            assert_eq!(form.len(), MASKED_LEN);
            assert!(!form.contains(&token));
            assert!(csrf_token_matches(&token, form));
        }
        assert!(csrf_token_matches(&token, &token));
    }

    #[test]
    fn other_tokens_and_their_masks_do_not_match() {
        let (token, other) = (token(), token());
        assert!(!csrf_token_matches(&token, &other));
        assert!(!csrf_token_matches(
            &token,
            &mask_csrf_token(&other).unwrap()
        ));
        // Masking the masked form is not a masked form of the token.
        let masked = mask_csrf_token(&token).unwrap();
        assert_eq!(mask_csrf_token(&masked), None);
    }

    #[test]
    fn any_changed_character_breaks_a_masked_token() {
        let token = token();
        let masked = mask_csrf_token(&token).unwrap();
        for at in 0..masked.len() {
            for replacement in ["A", "z", "-", "_", "0", "=", "+", "é"] {
                let mut changed = masked.clone();
                changed.replace_range(at..=at, replacement);
                if changed != masked {
                    assert!(!csrf_token_matches(&token, &changed), "{changed}");
                }
            }
        }
    }

    #[test]
    fn malformed_expected_tokens_match_nothing() {
        for expected in [
            "",
            "short",
            &"A".repeat(86),
            &format!("{}é", &token()[..41]),
        ] {
            assert!(!csrf_token_matches(expected, expected), "{expected:?}");
            assert_eq!(mask_csrf_token(expected), None);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_accepts_no_stranger(
            expected in ".{0,100}|[A-Za-z0-9_-]{43}",
            provided in ".{0,100}|[A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{86}",
        ) {
            let matched = csrf_token_matches(&expected, &provided);
            // A random string names a random 32-byte token: a match means they are the same.
            proptest::prop_assert_eq!(matched, expected.len() == TOKEN_LEN && expected == provided
                && decode_exact::<TOKEN_BYTES>(&expected, TOKEN_LEN).is_some());
            let _ = mask_csrf_token(&expected);
        }

        #[test]
        fn every_token_matches_its_masks(bytes in proptest::array::uniform32(0u8..)) {
            let token = URL_SAFE_NO_PAD.encode(bytes);
            let masked = mask_csrf_token(&token).unwrap();
            proptest::prop_assert!(csrf_token_matches(&token, &masked));
            proptest::prop_assert!(csrf_token_matches(&token, &token));
        }
    }
}
