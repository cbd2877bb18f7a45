//! The session record header on arbitrary text: parse or refuse, and round-trip what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::Record;

fuzz_target!(|text: &str| {
    if let Some(record) = Record::decode(text, "fuzz") {
        let again = Record::decode(&record.encode("fuzz"), "fuzz").expect("what decodes re-encodes");
        assert_eq!(again, record);
    }
});
