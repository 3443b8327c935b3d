//! The single-use ledger's pure parts: which shard a challenge id belongs to, and the
//! messages between the Worker and the ledger Durable Object (`edge::ledger`).

use serde::{Deserialize, Serialize};

/// The shard (Durable Object name suffix) for a challenge id. Ids are random, so the first
/// four bytes spread challenges evenly and no single object is a bottleneck.
pub fn shard(id: &[u8; 16], shards: u32) -> u32 {
    let n = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    n % shards.max(1)
}

/// The Durable Object name of a shard.
pub fn shard_name(shard: u32) -> String {
    format!("ledger-{shard}")
}

/// Ask the ledger to spend a challenge id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRequest {
    /// Challenge id, base64url.
    pub id: String,
    /// When the challenge expires (Unix seconds): the entry can be dropped after that plus skew.
    pub forget_after: u64,
    /// siteverify's idempotency key: a repeated spend with the same key is not a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The ledger's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendReply {
    /// True when this was the first spend of the id; false for a replay.
    pub fresh: bool,
    /// True when the id was spent before with the same idempotency key.
    #[serde(default)]
    pub repeat: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_and_stay_in_range() {
        let mut counts = [0u32; 8];
        for i in 0u32..8000 {
            let mut id = [0u8; 16];
            // a cheap, deterministic scramble standing in for random ids
            id[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
            let s = shard(&id, 8);
            counts[s as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (900..=1100).contains(&c)), "{counts:?}");
        assert_eq!(shard(&[0xff; 16], 1), 0);
        assert_eq!(shard(&[0xff; 16], 0), 0);
        assert_eq!(shard_name(3), "ledger-3");
    }
}
