//! The protocol: what the gate signs, what a client sends back, and what the origin receives.
//! Everything here is byte-exact and shared with independent implementers (docs/protocol.md).

pub mod binding;
pub mod challenge;
pub mod key;
pub mod reject;
pub mod rtt_stamp;
pub mod solution;
pub mod time;
pub mod topup;
pub mod verdict;
pub mod wait_token;

/// The gate's own form fields (the widget's solution, the no-JS wait token): never copied into
/// a wait page nor taken for the person's fields.
pub const GATE_FIELDS: &[&str] = &[wait_token::FIELD, solution::FIELD];
