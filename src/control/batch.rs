//! The isolate's batch: sign-up deltas per cohort key and decision counts, aggregated in
//! memory and flushed at most about once a second ([`FLUSH_EVERY_MS`]) or as soon as the
//! batch fills ([`MAX_PENDING`]), grouped by counter shard (a hash of the key over many
//! shards, `store::cohorts::shard`).
//!
//! A flush that fails puts its deltas back (up to [`MAX_PENDING`] entries), so an overloaded
//! shard gets the counts late rather than never, and the retry is still one call per shard
//! per second, not one per sign-up.

use crate::store::cohorts::Delta;
use crate::store::stats::{Action, Count};
use std::collections::BTreeMap;

/// Minimum time between two flushes of an isolate, ms.
pub const FLUSH_EVERY_MS: u64 = 1000;
/// Entries (distinct keys plus distinct stats rows) after which a flush is due at once.
pub const MAX_PENDING: usize = 256;

/// What an isolate has counted and not yet sent.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    adds: BTreeMap<u32, BTreeMap<String, Delta>>,
    stats: BTreeMap<(i64, Action, String), i64>,
    last_flush_ms: Option<u64>,
}

/// A flush: the deltas per shard and the stats rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flush {
    /// Deltas grouped by counter shard.
    pub signups: BTreeMap<u32, Vec<Delta>>,
    /// Decision counts (one row per minute, action and code).
    pub stats: Vec<Count>,
}

impl Batch {
    /// Counts `n` sign-ups for `key` (in `shard`, decaying over `window_secs`).
    pub fn add_signup(&mut self, shard: u32, key: &str, n: u32, window_secs: u32) {
        let d = self.adds.entry(shard).or_default().entry(key.to_string()).or_insert_with(|| Delta {
            key: key.to_string(),
            n: 0,
            window_secs,
        });
        d.n = d.n.saturating_add(n);
    }

    /// Counts one decision.
    pub fn count(&mut self, minute: i64, action: Action, code: &str) {
        let n = self.stats.entry((minute, action, code.to_string())).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Sign-ups counted for a key and not yet sent.
    pub fn pending(&self, shard: u32, key: &str) -> u32 {
        self.adds.get(&shard).and_then(|m| m.get(key)).map_or(0, |d| d.n)
    }

    /// Distinct entries waiting.
    pub fn len(&self) -> usize {
        self.adds.values().map(BTreeMap::len).sum::<usize>() + self.stats.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a flush is due: something waits, and a second has passed since the last flush
    /// or the batch is full.
    pub fn due(&self, now_ms: u64) -> bool {
        let n = self.len();
        n > 0
            && (n >= MAX_PENDING
                || self.last_flush_ms.is_none_or(|t| now_ms.saturating_sub(t) >= FLUSH_EVERY_MS))
    }

    /// Takes everything waiting.
    pub fn take(&mut self, now_ms: u64) -> Flush {
        self.last_flush_ms = Some(now_ms);
        let signups =
            std::mem::take(&mut self.adds).into_iter().map(|(s, m)| (s, m.into_values().collect())).collect();
        let stats = std::mem::take(&mut self.stats)
            .into_iter()
            .map(|((minute, action, code), n)| Count { minute, action, code, n })
            .collect();
        Flush { signups, stats }
    }

    /// Puts back the deltas of a failed flush to one shard (while the batch has room).
    pub fn restore_signups(&mut self, shard: u32, deltas: Vec<Delta>) {
        for d in deltas {
            if self.len() >= MAX_PENDING {
                return;
            }
            let e = self.adds.entry(shard).or_default().entry(d.key.clone()).or_insert_with(|| Delta {
                key: d.key.clone(),
                n: 0,
                window_secs: d.window_secs,
            });
            e.n = e.n.saturating_add(d.n);
        }
    }

    /// Puts back the rows of a failed stats flush (while the batch has room).
    pub fn restore_stats(&mut self, rows: Vec<Count>) {
        for c in rows {
            if self.len() >= MAX_PENDING {
                return;
            }
            let n = self.stats.entry((c.minute, c.action, c.code)).or_insert(0);
            *n = n.saturating_add(c.n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::cohorts::shard;

    #[test]
    fn thousands_of_sign_ups_make_one_delta_per_key_and_one_flush_a_second() {
        let mut b = Batch::default();
        let keys = ["asn:64500", "country:DE", "ua_family:chrome", "ip_prefix:198.51.100.0/24"];
        let mut flushes = 0;
        let mut sent = 0u32;
        // 1,000 sign-ups over 5 s (one every 5 ms), the glue asking after each one
        for i in 0..1000u64 {
            let now = 1_000_000 + i * 5;
            for k in keys {
                b.add_signup(shard(k, 64), k, 1, 60);
            }
            if b.due(now) {
                let f = b.take(now);
                flushes += 1;
                assert!(f.signups.values().flatten().count() <= keys.len());
                sent += f.signups.values().flatten().map(|d| d.n).sum::<u32>();
            }
        }
        sent += b.take(2_000_000).signups.values().flatten().map(|d| d.n).sum::<u32>();
        assert_eq!(sent, 4000, "every sign-up is sent, as deltas");
        assert!((5..=6).contains(&flushes), "{flushes} flushes in 5 s");
    }

    #[test]
    fn a_full_batch_flushes_early_and_shards_group_the_keys() {
        let mut b = Batch::default();
        b.add_signup(1, "asn:1", 1, 60);
        assert!(b.due(0), "the first flush of an isolate is not delayed");
        let _ = b.take(0);
        for i in 0..MAX_PENDING {
            assert!(!b.due(10), "not yet full at {i}");
            let k = format!("asn:{i}");
            b.add_signup(shard(&k, 64), &k, 1, 60);
        }
        assert!(b.due(10), "full");
        let f = b.take(10);
        assert!(f.signups.len() > 32, "{} shards", f.signups.len());
        for (s, deltas) in &f.signups {
            assert!(deltas.iter().all(|d| shard(&d.key, 64) == *s));
        }
    }

    #[test]
    fn stats_are_counted_per_row_and_failed_flushes_come_back() {
        let mut b = Batch::default();
        for _ in 0..500 {
            b.count(7, Action::Reject, "malformed_solution");
        }
        b.count(7, Action::Issue, "-");
        b.add_signup(3, "asn:1", 1, 60);
        let f = b.take(0);
        assert_eq!(f.stats.len(), 2);
        assert_eq!(f.stats.iter().map(|c| c.n).sum::<i64>(), 501);
        b.restore_stats(f.stats);
        b.restore_signups(3, f.signups.get(&3).cloned().unwrap_or_default());
        b.add_signup(3, "asn:1", 1, 60);
        assert_eq!(b.pending(3, "asn:1"), 2);
        assert_eq!(b.len(), 3);
        assert!(!b.due(500), "a retry waits for the next second too");
        assert!(b.due(1000));
    }
}
