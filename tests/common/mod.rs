//! Code shared by several test targets.
#![allow(dead_code)]
pub mod vectors;
