//! Code shared by several test targets.
#![allow(dead_code)]
#[cfg(all(target_arch = "wasm32", feature = "solver"))]
pub mod solver;
pub mod vectors;
