//! Native verification cost: one full `verify` of a default proof (k = 32) against one bare
//! SHA-256 of the same solution bytes, and the same for the largest bundle the protocol allows
//! (a challenge of `MAX_K` sub-puzzles and `MAX_TOP_UPS` full top-ups). `scripts/bench`
//! prints the ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/fixture.rs"]
mod fixture;

use criterion::{Criterion, criterion_group, criterion_main};
use gate::protocol::solution;
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn verify(c: &mut Criterion) {
    let raw = fixture::solution(fixture::DIFFICULTY, fixture::K);
    let keys = fixture::keys();
    let expect = fixture::expectation(&keys);
    assert!(solution::verify(&raw, &expect).is_ok());
    let mut g = c.benchmark_group("verify");
    g.bench_function("verify_default_proof", |b| {
        b.iter(|| solution::verify(black_box(&raw), black_box(&expect)))
    });
    g.bench_function("sha256_of_solution_bytes", |b| b.iter(|| Sha256::digest(black_box(raw.as_bytes()))));
    let largest = fixture::largest_solution(fixture::LARGEST_DIFFICULTY);
    let parsed = solution::verify(&largest, &expect).expect("the largest bundle verifies");
    assert_eq!(parsed.topups, solution::MAX_TOP_UPS);
    g.bench_function("verify_largest_bundle", |b| {
        b.iter(|| solution::verify(black_box(&largest), black_box(&expect)))
    });
    g.bench_function("sha256_of_largest_bundle_bytes", |b| {
        b.iter(|| Sha256::digest(black_box(largest.as_bytes())))
    });
    g.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
