//! Native known-answer tests: the Rust core against `tests/data/vectors.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;
use common::vectors;

#[test]
fn key_ids() {
    assert_eq!(vectors::check_keys(), 3);
}

#[test]
fn bindings() {
    assert_eq!(vectors::check_bindings(), 4);
}

#[test]
fn challenges_seeds_and_nonces() {
    assert_eq!(vectors::check_challenges(), 3);
}

#[test]
fn pow_digests() {
    assert_eq!(vectors::check_pow(), 4);
}

#[test]
fn verdict_headers() {
    assert_eq!(vectors::check_verdicts(), 2);
}

#[test]
fn rejections() {
    assert_eq!(vectors::check_rejections(), 21);
}

#[test]
fn topups_and_bundles() {
    assert_eq!(vectors::check_topups(), 2);
}
