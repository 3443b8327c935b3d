//! The stores' logic over plain data: what the Durable Objects in `edge::objects` compute.
//! The objects only persist and answer.

pub mod cohorts;
pub mod ledger;
pub mod numbers;
pub mod stats;
