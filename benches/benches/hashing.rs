//! Hashing a ConfigMap (`data` + `binaryData`) or a Secret of 1 KiB, 100 KiB and 1 MiB with
//! Reloader's SHA-1 ([`ReloaderHasher`]) and the opt-in HMAC-SHA-256 ([`KeyedHasher`]).
//!
//! Each iteration takes the object as the watch delivers it (`SourceContent::from_*` is part
//! of the measured work) and returns the digest. Throughput is in content bytes (keys plus
//! raw values, see [`content_bytes`]).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reload_benches::fixtures::{BENCH_SIZES, MIB, SourceFixture, content_bytes};
use reload_core::SourceContent;
use reload_core::hash::{Hasher, KeyedHasher, ReloaderHasher};

fn hashers() -> [(&'static str, Box<dyn Hasher>); 2] {
    let keyed = KeyedHasher::new([0x5a_u8; 32]).expect("a 32-byte key is accepted");
    [
        ("reloader-sha1", Box::new(ReloaderHasher)),
        ("keyed-hmac-sha256", Box::new(keyed)),
    ]
}

fn hash_config_maps(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash/configmap");
    for (label, size) in BENCH_SIZES {
        let cm = SourceFixture::new("bench", "app-config").size(size).config_map();
        group.throughput(Throughput::Bytes(content_bytes(&SourceContent::from_config_map(
            &cm,
        ))));
        group.sample_size(if size >= MIB { 20 } else { 100 });
        for (name, hasher) in hashers() {
            group.bench_with_input(BenchmarkId::new(name, label), &cm, |b, cm| {
                b.iter(|| hasher.digest(&SourceContent::from_config_map(black_box(cm))));
            });
        }
    }
    group.finish();
}

fn hash_secrets(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash/secret");
    for (label, size) in BENCH_SIZES {
        let secret = SourceFixture::new("bench", "db-credentials").size(size).secret();
        group.throughput(Throughput::Bytes(content_bytes(&SourceContent::from_secret(
            &secret,
        ))));
        group.sample_size(if size >= MIB { 20 } else { 100 });
        for (name, hasher) in hashers() {
            group.bench_with_input(BenchmarkId::new(name, label), &secret, |b, secret| {
                b.iter(|| hasher.digest(&SourceContent::from_secret(black_box(secret))));
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short but stable on a shared 2-core machine; command-line options override these.
    config = Criterion::default().warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(3));
    targets = hash_config_maps, hash_secrets
}
criterion_main!(benches);
