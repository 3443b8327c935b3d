//! The protocol: what the gate signs, what a client sends back, and what the origin receives.
//! Everything here is byte-exact and shared with independent implementers (README § Protocol).

pub mod binding;
pub mod challenge;
pub mod key;
pub mod reject;
pub mod solution;
pub mod time;
pub mod verdict;
