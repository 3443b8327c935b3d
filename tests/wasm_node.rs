//! The known-answer vectors again, compiled to wasm32 and run under Node by
//! wasm-bindgen-test: the Wasm build must agree with the native one bit for bit.
//!
//! `cargo test --target wasm32-unknown-unknown --no-default-features --features solver --test wasm_node`
//! (and again with `-C target-feature=+simd128` for the four-lane kernel)
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

#[macro_use]
mod common;
use wasm_bindgen_test::wasm_bindgen_test;

vector_tests!(wasm_bindgen_test);
