//! The single-use ledger's logic: which shard a challenge id belongs to, the messages between
//! the Worker and the ledger Durable Object (`edge::objects::ledger`), and what the object
//! does with a spend. The object only stores rows and answers.

use crate::protocol::time::UnixTime;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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

/// The ledger's answer to a spend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpendAnswer {
    /// The first use.
    Fresh,
    /// Used before with the same idempotency key (a siteverify retry).
    Repeat,
    /// Used before: a replay.
    Replay,
    /// The ledger could not be reached or answered an error.
    Unavailable(String),
}

/// A spend the ledger must record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendOrder {
    /// The challenge (or wait token) id.
    pub id: [u8; 16],
    /// When the ledger may forget it.
    pub forget_after: UnixTime,
    /// siteverify's idempotency key.
    pub idempotency_key: Option<String>,
    /// Give the id back instead: the forward after its spend failed (the origin answered 5xx
    /// or not at all), so the same work may be sent again while it is valid.
    pub release: bool,
}

impl SpendOrder {
    /// A spend of `id`, kept until `forget_after`.
    pub fn of(id: [u8; 16], forget_after: UnixTime) -> SpendOrder {
        SpendOrder { id, forget_after, idempotency_key: None, release: false }
    }

    /// The order that gives this id back.
    pub fn released(&self) -> SpendOrder {
        SpendOrder { release: true, ..self.clone() }
    }
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
    /// Forget the id again (a failed forward), instead of spending it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub release: bool,
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

/// Longest idempotency key kept.
const MAX_IDEMPOTENCY_KEY: usize = 128;

impl SpendRequest {
    /// The message for a pipeline spend order.
    pub fn of(order: &SpendOrder) -> SpendRequest {
        SpendRequest {
            id: URL_SAFE_NO_PAD.encode(order.id),
            forget_after: order.forget_after.seconds(),
            idempotency_key: order.idempotency_key.clone(),
            release: order.release,
        }
    }
}

/// What the ledger object does with a spend request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Malformed: answer 400.
    Refuse(&'static str),
    /// It arrives after its row could have been forgotten: no spend (the alarm may already
    /// have deleted a first use, e.g. for a request whose body took long to arrive).
    Stale,
    /// Delete `id`'s row: its forward failed, so its work may be sent again.
    Release {
        /// The id, as sent.
        id: String,
    },
    /// Insert `id` unless present, to be forgotten after `forget_after` (Unix seconds).
    Record {
        /// The id, as sent.
        id: String,
        /// Unix seconds, bounded.
        forget_after: i64,
        /// The idempotency key, bounded.
        idempotency_key: Option<String>,
    },
}

/// Judges a spend request at the object's `now`.
pub fn admit(spend: &SpendRequest, now: UnixTime) -> Admission {
    if spend.id.is_empty() || spend.id.len() > 64 {
        return Admission::Refuse("bad id");
    }
    if spend.release {
        return Admission::Release { id: spend.id.clone() };
    }
    let forget_after = i64::try_from(spend.forget_after).unwrap_or(i64::MAX).min(1 << 50);
    if forget_after < i64::try_from(now.seconds()).unwrap_or(i64::MAX) {
        return Admission::Stale;
    }
    Admission::Record {
        id: spend.id.clone(),
        forget_after,
        idempotency_key: spend
            .idempotency_key
            .as_ref()
            .map(|k| k.chars().take(MAX_IDEMPOTENCY_KEY).collect()),
    }
}

/// The answer once the row was inserted (`fresh`) or found with `stored` as its key.
pub fn answer(fresh: bool, stored: Option<&str>, presented: Option<&str>) -> SpendReply {
    SpendReply { fresh, repeat: !fresh && presented.is_some() && stored == presented }
}

/// When the object's alarm should next run for a row forgotten after `forget_after`
/// (Unix seconds): the millisecond after.
pub fn alarm_at_ms(forget_after: i64) -> i64 {
    forget_after.saturating_add(1).saturating_mul(1000)
}

impl From<SpendReply> for SpendAnswer {
    fn from(r: SpendReply) -> SpendAnswer {
        match (r.fresh, r.repeat) {
            (true, _) => SpendAnswer::Fresh,
            (false, true) => SpendAnswer::Repeat,
            (false, false) => SpendAnswer::Replay,
        }
    }
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

    #[test]
    fn admission_table() {
        let now = UnixTime::from_secs(1_000);
        let req = |id: &str, forget_after: u64| SpendRequest {
            id: id.into(),
            forget_after,
            idempotency_key: None,
            release: false,
        };
        assert_eq!(admit(&req("", 2_000), now), Admission::Refuse("bad id"));
        assert_eq!(admit(&req(&"x".repeat(65), 2_000), now), Admission::Refuse("bad id"));
        assert_eq!(admit(&req("abc", 999), now), Admission::Stale, "past its row's life: never fresh");
        assert!(matches!(admit(&req("abc", 1_000), now), Admission::Record { forget_after: 1_000, .. }));
        let huge = admit(&req("abc", u64::MAX), now);
        assert!(matches!(huge, Admission::Record { forget_after, .. } if forget_after == 1 << 50));
        let long_key = SpendRequest { idempotency_key: Some("k".repeat(500)), ..req("abc", 2_000) };
        let Admission::Record { idempotency_key: Some(k), .. } = admit(&long_key, now) else {
            panic!("record")
        };
        assert_eq!(k.len(), 128);
    }

    #[test]
    fn answers_table() {
        assert_eq!(SpendAnswer::from(answer(true, None, None)), SpendAnswer::Fresh);
        assert_eq!(SpendAnswer::from(answer(false, None, None)), SpendAnswer::Replay);
        assert_eq!(SpendAnswer::from(answer(false, Some("k"), Some("k"))), SpendAnswer::Repeat);
        assert_eq!(SpendAnswer::from(answer(false, Some("k"), Some("j"))), SpendAnswer::Replay);
        assert_eq!(SpendAnswer::from(answer(false, None, Some("k"))), SpendAnswer::Replay);
        assert_eq!(alarm_at_ms(10), 11_000);
    }
}
