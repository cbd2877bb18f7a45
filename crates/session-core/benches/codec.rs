//! The cost of each step on a request's path, next to the raw `ring` primitive it uses, so the
//! overhead of this crate's own code is visible: session ID generation, serialize + sign,
//! verify + deserialize, encrypt, decrypt, for a 100-byte and a 2 KiB payload.
//!
//! `cargo bench -p session-core --bench codec`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use session_core::{
    Encrypt, EncryptionKey, JsonSerializer, Serializer, SessionId, Sign, SigningKey, Transformer,
};

#[derive(Serialize, Deserialize)]
struct Payload {
    user: String,
    items: Vec<u32>,
}

/// A session value whose JSON is about `size` bytes.
fn payload(size: usize) -> Payload {
    let mut value = Payload {
        user: "user-123".into(),
        items: Vec::new(),
    };
    while serde_json::to_string(&value).expect("json").len() < size {
        value.items.push(1000 + value.items.len() as u32);
    }
    value
}

fn ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("session id");
    group.bench_function("SessionId::generate", |b| b.iter(SessionId::generate));
    let random = SystemRandom::new();
    group.bench_function("ring SystemRandom 32 bytes (raw)", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 32];
            random.fill(&mut bytes).expect("random");
            black_box(bytes)
        });
    });
    let id = SessionId::generate();
    group.bench_function("SessionId::parse", |b| {
        b.iter(|| SessionId::parse(black_box(id.as_str())))
    });
    group.finish();
}

fn codecs(c: &mut Criterion) {
    let sign = Sign::new(SigningKey::generate());
    let encrypt = Encrypt::new(EncryptionKey::generate());
    let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, &[7; 32]);
    let aead_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9; 32]).expect("key"));
    let mut group = c.benchmark_group("codec");
    for size in [100usize, 2048] {
        let value = payload(size);
        let text = JsonSerializer.serialize(&value).expect("json");
        let signed = sign.seal("s", &text).expect("seal");
        let sealed = encrypt.seal("s", &text).expect("seal");
        group.throughput(Throughput::Bytes(text.len() as u64));

        group.bench_with_input(
            BenchmarkId::new("serialize + sign", size),
            &value,
            |b, value| b.iter(|| sign.seal("s", &JsonSerializer.serialize(value).expect("json"))),
        );
        group.bench_with_input(
            BenchmarkId::new("ring hmac sign (raw)", size),
            &text,
            |b, text| b.iter(|| hmac::sign(&hmac_key, text.as_bytes())),
        );
        group.bench_with_input(
            BenchmarkId::new("verify + deserialize", size),
            &signed,
            |b, signed| {
                b.iter(|| {
                    let opened = sign.unseal("s", signed).expect("authentic");
                    let value: Payload = JsonSerializer.deserialize(&opened.value).expect("json");
                    black_box(value)
                })
            },
        );
        let tag = hmac::sign(&hmac_key, text.as_bytes());
        group.bench_with_input(
            BenchmarkId::new("ring hmac verify (raw)", size),
            &text,
            |b, text| b.iter(|| hmac::verify(&hmac_key, text.as_bytes(), tag.as_ref())),
        );
        group.bench_with_input(BenchmarkId::new("encrypt", size), &text, |b, text| {
            b.iter(|| encrypt.seal("s", text))
        });
        group.bench_with_input(
            BenchmarkId::new("ring aes-256-gcm seal (raw)", size),
            &text,
            |b, text| {
                b.iter(|| {
                    let mut buffer = text.as_bytes().to_vec();
                    aead_key
                        .seal_in_place_append_tag(
                            Nonce::assume_unique_for_key([1; 12]),
                            Aad::from(b"s"),
                            &mut buffer,
                        )
                        .expect("seal");
                    black_box(buffer)
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("decrypt", size), &sealed, |b, sealed| {
            b.iter(|| encrypt.unseal("s", sealed).expect("authentic"))
        });
        let mut ciphertext = text.as_bytes().to_vec();
        aead_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::from(b"s"),
                &mut ciphertext,
            )
            .expect("seal");
        group.bench_with_input(
            BenchmarkId::new("ring aes-256-gcm open (raw)", size),
            &ciphertext,
            |b, ciphertext| {
                b.iter(|| {
                    let mut buffer = ciphertext.clone();
                    let len = aead_key
                        .open_in_place(
                            Nonce::assume_unique_for_key([1; 12]),
                            Aad::from(b"s"),
                            &mut buffer,
                        )
                        .expect("open")
                        .len();
                    black_box(len)
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = ids, codecs
}
criterion_main!(benches);
