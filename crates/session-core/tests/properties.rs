//! Property tests of every decoder: whatever the input, a defined answer and never a panic;
//! whatever the value, a round trip.

use proptest::prelude::*;
use session_core::{
    Encrypt, EncryptionKey, Record, SessionId, Sign, SigningKey, Transformer, TransformerChain,
};

/// 43 characters of URL-safe base64 spelling 32 bytes canonically (the last character's two
/// low bits are zero).
fn is_canonical_id(text: &str) -> bool {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    text.len() == SessionId::LEN
        && text.bytes().all(|b| ALPHABET.contains(&b))
        && ALPHABET
            .iter()
            .position(|&c| c == text.as_bytes()[42])
            .is_some_and(|i| i % 4 == 0)
}

fn sign() -> Sign {
    Sign::new(SigningKey::from_bytes(&[7; 32]).unwrap())
}

fn encrypt() -> Encrypt {
    Encrypt::new(EncryptionKey::from_bytes(&[9; 32]).unwrap())
}

fn chain() -> TransformerChain {
    TransformerChain::new().with(encrypt()).with(sign())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn id_parser_accepts_exactly_the_issued_shape(text in ".{0,60}") {
        prop_assert_eq!(SessionId::parse(&text).is_ok(), is_canonical_id(&text));
    }

    #[test]
    fn id_parser_on_its_alphabet(text in "[A-Za-z0-9_-]{40,46}") {
        prop_assert_eq!(SessionId::parse(&text).is_ok(), is_canonical_id(&text));
    }

    #[test]
    fn unsealing_garbage_never_panics(text in any::<String>()) {
        let _ = sign().unseal("s", &text);
        let _ = encrypt().unseal("s", &text);
        let _ = chain().unseal("s", &text);
        let _ = Record::decode(&text, "s");
    }

    #[test]
    fn unsealing_near_valid_shapes_is_rejected(value in "[ -~]{0,80}", tag in "[0-9a-f]{64}") {
        // A well-formed signature of the wrong value.
        let forged = format!("{value}/{tag}");
        prop_assert!(sign().unseal("s", &forged).is_none());
    }

    #[test]
    fn every_transformer_round_trips(value in any::<String>(), name in "[a-z_]{1,12}") {
        for transformer in [&sign() as &dyn Transformer, &encrypt()] {
            let sealed = transformer.seal(&name, &value).unwrap();
            prop_assert_eq!(transformer.unseal(&name, &sealed).unwrap().value, value.clone());
        }
        let sealed = chain().seal(&name, &value).unwrap();
        prop_assert_eq!(chain().unseal(&name, &sealed).unwrap().value, value);
    }

    #[test]
    fn a_changed_byte_of_an_encrypted_value_is_rejected(
        value in any::<String>(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let sealed = encrypt().seal("s", &value).unwrap();
        let mut bytes = engine.decode(&sealed).unwrap();
        let index = position.index(bytes.len());
        bytes[index] ^= flip;
        prop_assert!(encrypt().unseal("s", &engine.encode(&bytes)).is_none());
    }

    #[test]
    fn a_changed_character_of_a_signed_value_is_rejected(
        value in "[ -~]{1,60}",
        position in any::<prop::sample::Index>(),
        replacement in "[ -~]",
    ) {
        let sealed = sign().seal("s", &value).unwrap();
        let index = position.index(sealed.len());
        let mut tampered = sealed.clone();
        tampered.replace_range(index..=index, &replacement);
        prop_assume!(tampered != sealed);
        prop_assert!(sign().unseal("s", &tampered).is_none());
    }

    #[test]
    fn records_round_trip(text in any::<String>(), created in 0u64..=4_102_444_800_000, expires in proptest::option::of(1u64..=4_102_444_800_000)) {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |millis| UNIX_EPOCH + Duration::from_millis(millis);
        let record = Record::new(text, at(created), expires.map(at));
        let decoded = Record::decode(&record.encode("s"), "s").unwrap();
        prop_assert_eq!(decoded, record);
    }
}

#[cfg(feature = "ktor")]
mod ktor {
    use proptest::prelude::*;
    use session_core::{KtorEncrypt, SigningKey, Transformer};

    fn ktor() -> KtorEncrypt {
        KtorEncrypt::new(&[3; 16], SigningKey::from_bytes(&[5; 32]).unwrap())
            .unwrap()
            .backward_compatible_read(true)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn garbage_never_panics(text in any::<String>(), shaped in "[0-9a-f]{0,40}/[0-9a-f]{0,80}:[0-9a-f]{0,70}") {
            let _ = ktor().unseal("s", &text);
            let _ = ktor().unseal("s", &shaped);
        }

        #[test]
        fn round_trips(value in any::<String>()) {
            let sealed = ktor().seal("s", &value).unwrap();
            prop_assert_eq!(ktor().unseal("s", &sealed).unwrap().value, value);
        }
    }
}
