//! Every transformer's unseal on arbitrary text: never a panic, and nothing forged opens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::{
    Encrypt, EncryptionKey, KtorEncrypt, Sign, SigningKey, Transformer, TransformerChain,
};

fuzz_target!(|text: &str| {
    let sign = Sign::new(SigningKey::from_bytes(&[7; 32]).expect("valid key"));
    let encrypt = Encrypt::new(EncryptionKey::from_bytes(&[9; 32]).expect("valid key"));
    let ktor = KtorEncrypt::new(&[3; 16], SigningKey::from_bytes(&[5; 32]).expect("valid key"))
        .expect("valid key")
        .backward_compatible_read(true);
    // Forging a MAC or an AEAD tag by chance is out of reach: any success is a bug.
    assert!(sign.unseal("s", text).is_none(), "forged signature accepted");
    assert!(encrypt.unseal("s", text).is_none(), "forged ciphertext accepted");
    let chain = TransformerChain::new().with(encrypt).with(sign);
    assert!(chain.unseal("s", text).is_none());
    let _ = ktor.unseal("s", text);
});
