//! The Durable Objects: they persist and answer; their logic is core code (`crate::store`).

#[allow(missing_docs)] // the #[durable_object] macro generates undocumented exports
pub mod cohorts;
#[allow(missing_docs)] // the #[durable_object] macro generates undocumented exports
pub mod ledger;
#[allow(missing_docs)] // the #[durable_object] macro generates undocumented exports
pub mod stats;

pub use cohorts::Cohorts;
pub use ledger::Ledger;
pub use stats::Stats;
