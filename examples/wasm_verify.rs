//! The verifier compiled to wasm32 for `scripts/bench`: Node loads it and times, in one run,
//! `verify` of the default proof and of the largest bundle, each against a bare SHA-256 of the
//! same bytes. Built as a cdylib
//! example with the Worker's release profile, so it measures what the Worker runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../benches/common/fixture.rs"]
mod fixture;

use gate::protocol::solution;
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;

/// The default proof's wire string.
#[wasm_bindgen]
pub fn default_solution() -> String {
    fixture::solution(fixture::DIFFICULTY, fixture::K)
}

/// The largest bundle the protocol allows (a challenge of `MAX_K` sub-puzzles and
/// `MAX_TOP_UPS` full top-ups), as the wire string.
#[wasm_bindgen]
pub fn largest_solution() -> String {
    fixture::largest_solution(fixture::LARGEST_DIFFICULTY)
}

/// Verifies `raw` `n` times; returns how many passed (so the work cannot be optimized away).
#[wasm_bindgen]
pub fn verify_n(raw: &str, n: u32) -> u32 {
    let keys = fixture::keys();
    let expect = fixture::expectation(&keys);
    (0..n).filter(|_| solution::verify(std::hint::black_box(raw), &expect).is_ok()).count() as u32
}

/// SHA-256 of `raw` `n` times; returns a byte of the last digest.
#[wasm_bindgen]
pub fn sha256_n(raw: &str, n: u32) -> u32 {
    let mut last = 0;
    for _ in 0..n {
        last = Sha256::digest(std::hint::black_box(raw.as_bytes()))[0];
    }
    u32::from(last)
}

/// Assesses the Chrome fixture (parsing its signal bytes, as the Worker does) `n` times; returns
/// the last score.
#[wasm_bindgen]
pub fn assess_n(n: u32) -> u32 {
    let facts = fixture::chrome_facts();
    let mut score = 0;
    for _ in 0..n {
        let client =
            gate::signals::ClientSide::parse(std::hint::black_box(fixture::CHROME_SIGNALS.as_bytes()));
        score = gate::signals::assess(std::hint::black_box(&facts), &client).score;
    }
    score
}
