//! Native known-answer tests: the Rust core against `tests/data/vectors.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

#[macro_use]
mod common;

vector_tests!(test);
