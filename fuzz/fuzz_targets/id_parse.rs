//! Session ID parsing: any text is accepted exactly when it has the issued shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::SessionId;

fuzz_target!(|text: &str| {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // 43 characters of URL-safe base64 spelling 32 bytes canonically.
    let valid = text.len() == SessionId::LEN
        && text.bytes().all(|b| ALPHABET.contains(&b))
        && ALPHABET.iter().position(|&c| c == text.as_bytes()[42]).is_some_and(|i| i % 4 == 0);
    match SessionId::parse(text) {
        Ok(id) => {
            assert!(valid, "accepted {text:?}");
            assert_eq!(id.as_str(), text);
        }
        Err(_) => assert!(!valid, "rejected {text:?}"),
    }
});
