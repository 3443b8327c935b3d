//! The known-answer vectors and the browser solver, compiled to wasm32 and run in headless
//! Chromium by wasm-bindgen-test (chromedriver): the browser must agree bit for bit.
//!
//! `cargo test --target wasm32-unknown-unknown --no-default-features --features solver --test wasm_browser`
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;
use common::vectors;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn key_ids() {
    assert_eq!(vectors::check_keys(), 3);
}

#[wasm_bindgen_test]
fn bindings() {
    assert_eq!(vectors::check_bindings(), 4);
}

#[wasm_bindgen_test]
fn challenges_seeds_and_nonces() {
    assert_eq!(vectors::check_challenges(), 3);
}

#[wasm_bindgen_test]
fn pow_digests() {
    assert_eq!(vectors::check_pow(), 4);
}

#[wasm_bindgen_test]
fn verdict_headers() {
    assert_eq!(vectors::check_verdicts(), 2);
}

#[wasm_bindgen_test]
fn rejections() {
    assert_eq!(vectors::check_rejections(), 15);
}

#[cfg(feature = "solver")]
#[wasm_bindgen_test]
fn solver_finds_the_vector_nonces() {
    assert_eq!(common::solver::check_solver_vectors(), 4 + 3 + 2);
}

#[cfg(feature = "solver")]
#[wasm_bindgen_test]
fn solver_crosses_high_words() {
    common::solver::check_solver_crosses_high_words();
}
