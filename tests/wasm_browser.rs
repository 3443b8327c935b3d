//! The known-answer vectors and the browser solver, compiled to wasm32 and run in headless
//! Chromium by wasm-bindgen-test (chromedriver): the browser must agree bit for bit.
//!
//! `cargo test --target wasm32-unknown-unknown --no-default-features --features solver --test wasm_browser`
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

#[macro_use]
mod common;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

vector_tests!(wasm_bindgen_test);
