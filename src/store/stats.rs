//! A stats shard's logic over plain data: decision counts per minute, by action and code.
//!
//! Isolates aggregate their decisions and send a stats shard one batch of deltas per flush
//! (at most about once a second, `control::batch`), so a flood of refused requests costs one
//! row upsert per (minute, action, code) per flush, not one write per request.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Shards decisions are spread over.
pub const SHARDS: u32 = 8;
/// Rows older than this many minutes are dropped.
pub const KEEP_MINUTES: i64 = 24 * 60;

/// A count (a delta in a flush, a total in an answer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Unix minute.
    pub minute: i64,
    /// `issue`, `forward`, `reject`, `shadow`, `siteverify`.
    pub action: String,
    /// Rejection code, rule name or `-`.
    pub code: String,
    /// How many.
    pub n: i64,
}

/// Merges counts with the same (minute, action, code): the upserts one flush makes, or the
/// stats page's sum over the shards.
pub fn merge(counts: impl IntoIterator<Item = Count>) -> Vec<Count> {
    let mut m: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    for c in counts {
        let n = m.entry((c.minute, c.action, c.code)).or_insert(0);
        *n = n.saturating_add(c.n);
    }
    m.into_iter().map(|((minute, action, code), n)| Count { minute, action, code, n }).collect()
}

/// The minute before which rows are deleted.
pub fn prune_before(now_minute: i64) -> i64 {
    now_minute.saturating_sub(KEEP_MINUTES)
}

/// The Durable Object name of a stats shard.
pub fn shard_name(shard: u32) -> String {
    format!("stats-{shard}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(minute: i64, action: &str, code: &str, n: i64) -> Count {
        Count { minute, action: action.into(), code: code.into(), n }
    }

    #[test]
    fn merge_sums_equal_rows() {
        let merged = merge(vec![c(1, "reject", "busy", 2), c(1, "reject", "busy", 3), c(2, "issue", "-", 1)]);
        assert_eq!(merged, vec![c(1, "reject", "busy", 5), c(2, "issue", "-", 1)]);
        assert_eq!(prune_before(10_000), 10_000 - 1440);
        assert_eq!(shard_name(2), "stats-2");
    }
}
