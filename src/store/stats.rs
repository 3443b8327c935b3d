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

/// What the gate did with a request: the one word the stats, the decision log and replay use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Issued a challenge (or a no-JS wait token).
    Issue,
    /// Forwarded a verified sign-up to the origin.
    Forward,
    /// Refused the request.
    Reject,
    /// In shadow mode: what would have been enforced (counted beside the real action).
    Shadow,
    /// A siteverify call that verified and spent a challenge.
    Siteverify,
}

impl Action {
    /// Every action, in the order the stats page lists them.
    pub const ALL: [Action; 5] =
        [Action::Issue, Action::Forward, Action::Reject, Action::Shadow, Action::Siteverify];

    /// The name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            Action::Issue => "issue",
            Action::Forward => "forward",
            Action::Reject => "reject",
            Action::Shadow => "shadow",
            Action::Siteverify => "siteverify",
        }
    }
}

/// A count (a delta in a flush, a total in an answer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Unix minute.
    pub minute: i64,
    /// What the gate did.
    pub action: Action,
    /// Rejection code, rule name or `-`.
    pub code: String,
    /// How many.
    pub n: i64,
}

/// Merges counts with the same (minute, action, code): the upserts one flush makes, or the
/// stats page's sum over the shards.
pub fn merge(counts: impl IntoIterator<Item = Count>) -> Vec<Count> {
    let mut m: BTreeMap<(i64, Action, String), i64> = BTreeMap::new();
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

    fn c(minute: i64, action: Action, code: &str, n: i64) -> Count {
        Count { minute, action, code: code.into(), n }
    }

    #[test]
    fn merge_sums_equal_rows() {
        let merged = merge(vec![
            c(1, Action::Reject, "busy", 2),
            c(1, Action::Reject, "busy", 3),
            c(2, Action::Issue, "-", 1),
        ]);
        assert_eq!(merged, vec![c(1, Action::Reject, "busy", 5), c(2, Action::Issue, "-", 1)]);
        let json = serde_json::to_string(&c(1, Action::Shadow, "r", 1)).unwrap();
        assert!(json.contains("\"action\":\"shadow\""), "{json}");
        assert_eq!(prune_before(10_000), 10_000 - 1440);
        assert_eq!(shard_name(2), "stats-2");
    }
}
