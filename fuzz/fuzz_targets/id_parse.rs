//! Session ID parsing: any text is accepted exactly when it has the issued shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::SessionId;

fuzz_target!(|text: &str| {
    let valid = text.len() == SessionId::LEN
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match SessionId::parse(text) {
        Ok(id) => {
            assert!(valid, "accepted {text:?}");
            assert_eq!(id.as_str(), text);
        }
        Err(_) => assert!(!valid, "rejected {text:?}"),
    }
});
