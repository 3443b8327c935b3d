//! A counter shard's logic over plain data: what the `Cohorts` Durable Object computes.
//!
//! Isolates send a shard one [`Exchange`] per flush (at most about once a second each): the
//! sign-ups they counted per key since their last flush (deltas, not one call per sign-up),
//! and the keys they want to know about. The shard applies the deltas at `now`, answers the
//! keys' decayed counters, its own hot keys and its panic switches ([`Reply`]), and marks
//! every key it changed as dirty. The object persists the dirty keys (one row per active
//! cohort per persist, at most about once a second, [`Shard::take_dirty`]) and reloads them
//! when it starts ([`Shard::load`]), so an evicted object does not forget a busy cohort.

use crate::policy::{Counter, OtpCount};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Default number of counter shards: enough that one object carries ~1/64 of the keys.
pub const DEFAULT_SHARDS: u32 = 64;
/// Most keys one exchange may add or read (bigger batches are split by the isolate).
pub const MAX_KEYS_PER_EXCHANGE: usize = 512;
/// Most hot keys a reply lists.
pub const MAX_HOT: usize = 32;
/// Counters kept per shard before decayed ones are dropped.
pub const PRUNE_AT: usize = 50_000;
/// A counter below this is forgotten (and its row deleted).
pub const FORGET_BELOW: f64 = 0.01;
/// A waiting line's mark not proposed for this long is forgotten, ms.
pub const MARKS_KEPT_MS: u64 = 3_600_000;
/// Minimum time between two persists of a shard's dirty rows, ms.
pub const PERSIST_EVERY_MS: u64 = 1000;
/// How far behind the latest exchange another isolate's clock may be and still be answered
/// from the hot candidates (an exchange further behind rescans every counter), ms.
const HOT_SLACK_MS: u64 = 5_000;

/// The shard of a key: the first four bytes of its SHA-256, modulo the shard count.
pub fn shard(key: &str, shards: u32) -> u32 {
    let d: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let [a, b, c, e, ..] = d;
    u32::from_be_bytes([a, b, c, e]) % shards.max(1)
}

/// The Durable Object name of a shard.
pub fn shard_name(shard: u32) -> String {
    format!("cohorts-{shard}")
}

/// A waiting line's state for one controller period, as the shard keeps it
/// (`crate::control::line`): the period's index (`now ÷ period`), the watermark at its start
/// and the speed over it (with the speed it cruises at, below). The shard keeps the largest
/// (period, then watermark, then speed):
/// every isolate that ticks in a period starts from the previous period's state, and one that
/// finds the period already set adopts it, so the speed is updated once per period whatever the
/// number of isolates (a maximum over isolates' own updates would follow the fastest, and serve
/// above capacity).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mark {
    /// The period, `now_ms ÷ period_ms`.
    pub period: u64,
    /// The watermark at the period's start, ms since the epoch.
    pub serving_ms: u64,
    /// The speed over the period, thousandths of issue seconds per second.
    pub speed_milli: u32,
    /// The speed the line moves at when it is not holding still for the places it served to
    /// come in (thousandths; 0: the period's speed, as a state stored before it existed
    /// reads): what waits are estimated from. A period that holds still has `speed_milli` 0.
    #[serde(default)]
    pub cruise_milli: u32,
}

impl Mark {
    /// The shard's merge (commutative, associative, idempotent): the larger state.
    pub fn merge(self, other: Mark) -> Mark {
        self.max(other)
    }
}

/// Sign-ups counted for a key since the isolate's last flush.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Cohort key.
    pub key: String,
    /// How many sign-ups.
    pub n: u32,
    /// Decay window of the key's counter, seconds.
    pub window_secs: u32,
}

/// One isolate's flush to one shard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Now at the isolate, ms since the epoch.
    pub now_ms: u64,
    /// Deltas to apply first.
    pub add: Vec<Delta>,
    /// Keys to answer (with their windows), besides those added.
    pub read: Vec<(String, u32)>,
    /// A key at or above this rate is "hot" and listed in the reply.
    pub hot_at: f64,
    /// Waiting lines' watermarks this isolate proposes (max-merged by the shard).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<(String, Mark)>,
}

/// A key's counter as the shard holds it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The decaying count.
    pub counter: Counter,
    /// Its decay window, seconds.
    pub window_secs: u32,
}

impl Cell {
    /// The rate at `now_ms`.
    pub fn rate(&self, now_ms: u64) -> f64 {
        self.counter.at(now_ms as f64, self.window_secs)
    }
}

/// A key's state in a reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Known {
    /// Cohort key.
    pub key: String,
    /// Its counter.
    pub cell: Cell,
}

/// The shard's answer to an exchange.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The added and read keys (a key the shard never saw is absent: rate 0).
    pub keys: Vec<Known>,
    /// The shard's hottest keys at or above `hot_at`.
    pub hot: Vec<Known>,
    /// The shard's panic switches still on: (key, until ms).
    pub panics: Vec<(String, u64)>,
    /// The waiting lines' marks the shard holds (proposed within the last hour).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<(String, Mark)>,
}

/// A persisted counter row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Cohort key.
    pub key: String,
    /// The count at `at_ms`.
    pub value: f64,
    /// When, ms since the epoch.
    pub at_ms: f64,
    /// Decay window, seconds.
    pub window_secs: u32,
}

/// A run-time panic switch for the shard: on until `until_ms`, or off (`until_ms` 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Panic {
    /// `site`, `asn:16509`, ...
    pub key: String,
    /// Until when, ms since the epoch.
    pub until_ms: u64,
}

/// One line of the busiest cohorts, for the stats page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Current rate (sign-ups per window).
    pub rate: f64,
    /// Whether a run-time panic switch is on for it.
    pub panic: bool,
}

/// What the object persists after a change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Persist {
    /// Rows to upsert.
    pub upsert: Vec<Row>,
    /// Keys whose rows to delete (decayed to nothing).
    pub delete: Vec<String>,
}

/// One counter shard.
#[derive(Clone, Debug, Default)]
pub struct Shard {
    cells: HashMap<String, Cell>,
    panics: HashMap<String, u64>,
    /// Waiting lines' marks: not persisted (every isolate with an open line proposes its
    /// mark at each flush, so a restarted shard has it again within a second).
    marks: HashMap<String, (Mark, u64)>,
    dirty: BTreeSet<String>,
    persisted_ms: Option<u64>,
    /// The keys that may be hot, so that an exchange need not rate every counter: a counter
    /// only decays until it is added to, so a key below `hot_at` at some time stays below it
    /// (at any higher `hot_at`) until an exchange adds to it, and is then a candidate again.
    hot_candidates: HashSet<String>,
    /// Since when and from which `hot_at` up every key left out of the candidates is below it
    /// (`None`: every counter must be rated, as after a load).
    hot_since: Option<(u64, f64)>,
}

impl Shard {
    /// A shard from its persisted rows and panic switches.
    pub fn load(rows: Vec<Row>, panics: Vec<Panic>) -> Shard {
        let cells = rows
            .into_iter()
            .map(|r| {
                (
                    r.key,
                    Cell { counter: Counter { value: r.value, at_ms: r.at_ms }, window_secs: r.window_secs },
                )
            })
            .collect();
        let panics = panics.into_iter().map(|p| (p.key, p.until_ms)).collect();
        Shard { cells, panics, ..Shard::default() }
    }

    /// Applies an isolate's deltas at its `now` and answers its keys, the hot keys and the
    /// panic switches.
    pub fn exchange(&mut self, e: &Exchange) -> Reply {
        let now = e.now_ms;
        let mut reply = Reply::default();
        for d in e.add.iter().take(MAX_KEYS_PER_EXCHANGE) {
            let cell = self.cells.entry(d.key.clone()).or_default();
            let window = d.window_secs.max(1);
            let value = cell.counter.at(now as f64, window) + f64::from(d.n);
            *cell = Cell {
                counter: Counter { value, at_ms: (now as f64).max(cell.counter.at_ms) },
                window_secs: window,
            };
            self.dirty.insert(d.key.clone());
            if !long_count(&d.key) {
                self.hot_candidates.insert(d.key.clone());
            }
            reply.keys.push(Known { key: d.key.clone(), cell: *cell });
        }
        let mut answered: HashSet<&str> =
            e.add.iter().take(MAX_KEYS_PER_EXCHANGE).map(|d| d.key.as_str()).collect();
        for (key, window) in e.read.iter().take(MAX_KEYS_PER_EXCHANGE) {
            if !answered.insert(key.as_str()) {
                continue;
            }
            if let Some(cell) = self.cells.get(key) {
                // the reader's window wins if the key was counted with another one
                reply.keys.push(Known { key: key.clone(), cell: Cell { window_secs: *window, ..*cell } });
            }
        }
        for (key, m) in e.marks.iter().take(MAX_KEYS_PER_EXCHANGE) {
            let held = self.marks.entry(key.clone()).or_default();
            *held = (held.0.merge(*m), now);
        }
        self.marks.retain(|_, (_, seen)| now.saturating_sub(*seen) < MARKS_KEPT_MS);
        let mut marks: Vec<(String, Mark)> = self.marks.iter().map(|(k, (m, _))| (k.clone(), *m)).collect();
        marks.sort_by(|a, b| a.0.cmp(&b.0));
        reply.marks = marks;
        reply.hot = self.hot(now, e.hot_at);
        reply.panics = self.panics_on(now);
        if self.cells.len() > PRUNE_AT {
            self.cells.retain(|_, c| c.rate(now) >= FORGET_BELOW);
        }
        if self.hot_candidates.len() > self.cells.len() {
            // names of forgotten counters (exchanges without a threshold never prune them):
            // forget them all, the next hot list rates every counter
            self.hot_candidates.clear();
            self.hot_since = None;
        }
        reply
    }

    /// The keys at or above `at`, hottest first (equal rates by key).
    fn hot(&mut self, now: u64, at: f64) -> Vec<Known> {
        if at.is_nan() || at <= 0.0 || at.is_infinite() {
            return Vec::new();
        }
        // Candidates are kept while they are hot `HOT_SLACK_MS` before now, so an exchange from
        // a clock up to that much behind finds every key hot at its own now.
        let since = now.saturating_sub(HOT_SLACK_MS);
        let cells = &self.cells;
        let hot_then = |k: &String| cells.get(k).is_some_and(|c| c.rate(since) >= at);
        match self.hot_since {
            Some((t, a)) if now >= t && at >= a => {
                self.hot_candidates.retain(hot_then);
                self.hot_since = Some((t.max(since), a.max(at)));
            }
            _ => {
                self.hot_candidates =
                    cells.keys().filter(|k| !long_count(k) && hot_then(k)).cloned().collect();
                self.hot_since = Some((since, at));
            }
        }
        let mut hot: Vec<Known> = self
            .hot_candidates
            .iter()
            .filter_map(|k| cells.get(k).map(|c| Known { key: k.clone(), cell: *c }))
            .filter(|k| k.cell.rate(now) >= at)
            .collect();
        hot.sort_by(|a, b| b.cell.rate(now).total_cmp(&a.cell.rate(now)).then_with(|| a.key.cmp(&b.key)));
        hot.truncate(MAX_HOT);
        hot
    }

    fn panics_on(&self, now: u64) -> Vec<(String, u64)> {
        let mut on: Vec<(String, u64)> =
            self.panics.iter().filter(|(_, until)| **until > now).map(|(k, u)| (k.clone(), *u)).collect();
        on.sort();
        on
    }

    /// Sets (or clears, `until_ms` 0) a panic switch. The object stores it before answering.
    pub fn set_panic(&mut self, p: &Panic) {
        if p.until_ms == 0 {
            self.panics.remove(&p.key);
        } else {
            self.panics.insert(p.key.clone(), p.until_ms);
        }
    }

    /// Whether dirty rows wait and the last persist is old enough to write them now.
    pub fn persist_due(&self, now_ms: u64) -> bool {
        !self.dirty.is_empty()
            && self.persisted_ms.is_none_or(|t| now_ms.saturating_sub(t) >= PERSIST_EVERY_MS)
    }

    /// Whether dirty rows wait at all (the object then sets an alarm).
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The rows to write: one per cohort changed since the last persist (however many
    /// sign-ups it got), and the decayed ones to delete.
    pub fn take_dirty(&mut self, now_ms: u64) -> Persist {
        let mut out = Persist::default();
        for key in std::mem::take(&mut self.dirty) {
            match self.cells.get(&key) {
                Some(c) if c.rate(now_ms) >= FORGET_BELOW => out.upsert.push(Row {
                    key,
                    value: c.counter.value,
                    at_ms: c.counter.at_ms,
                    window_secs: c.window_secs,
                }),
                _ => out.delete.push(key),
            }
        }
        self.persisted_ms = Some(now_ms);
        out
    }

    /// The busiest cohorts and the panic switches on, for the stats page.
    pub fn top(&self, now_ms: u64, n: usize) -> Vec<Entry> {
        let panicked = |key: &str| self.panics.get(key).is_some_and(|u| *u > now_ms);
        let mut entries: Vec<Entry> = self
            .cells
            .iter()
            .map(|(key, c)| Entry { rate: c.rate(now_ms), panic: panicked(key), key: key.clone() })
            .filter(|e| e.rate >= 0.5 || e.panic)
            .collect();
        for (key, until) in &self.panics {
            if *until > now_ms && !entries.iter().any(|e| &e.key == key) {
                entries.push(Entry { key: key.clone(), rate: 0.0, panic: true });
            }
        }
        entries.sort_by(|a, b| b.rate.total_cmp(&a.rate).then_with(|| a.key.cmp(&b.key)));
        // counts over days are listed apart, up to n of them: they would crowd out every window's
        let (mut long, mut entries): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| long_count(&e.key));
        entries.truncate(n);
        long.truncate(n);
        entries.extend(long);
        entries
    }

    /// How many counters the shard holds.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the shard holds no counter.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

/// Keys whose counts run over days (a range's usual share, its entered codes): far above any
/// window's counts, so never "hot" (they would fill the hot list and push out the cohorts of an
/// attack) and listed apart by [`Shard::top`].
fn long_count(key: &str) -> bool {
    [OtpCount::Usual, OtpCount::Seen].iter().any(|c| key.starts_with(c.prefix())) || key.starts_with("usual:")
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[k.clone()]` reads better in these tables
mod tests {
    use super::*;

    fn add(now_ms: u64, key: &str, n: u32) -> Exchange {
        Exchange {
            now_ms,
            add: vec![Delta { key: key.into(), n, window_secs: 60 }],
            read: Vec::new(),
            hot_at: 10.0,
            marks: Vec::new(),
        }
    }

    #[test]
    fn keys_spread_over_many_shards() {
        let mut counts = vec![0u32; 64];
        for asn in 0..6400 {
            counts[shard(&format!("asn:{asn}"), 64) as usize] += 1;
        }
        // ~100 per shard; no shard carries more than twice its share
        assert!(counts.iter().all(|&c| (50..=200).contains(&c)), "{counts:?}");
        assert_eq!(shard("asn:1", 0), 0);
        assert_eq!(shard("asn:1", 1), 0);
        assert_eq!(shard_name(7), "cohorts-7");
    }

    #[test]
    fn a_batch_of_deltas_counts_like_single_sign_ups() {
        let mut one_by_one = Shard::default();
        for i in 0..30 {
            one_by_one.exchange(&add(1_000_000 + i * 10, "asn:1", 1));
        }
        let mut batched = Shard::default();
        let r = batched.exchange(&add(1_000_300, "asn:1", 30));
        let a = one_by_one.top(1_000_300, 1)[0].rate;
        let b = r.keys[0].cell.rate(1_000_300);
        assert!((a - b).abs() < 0.1, "{a} vs {b}");
        assert!((b - 30.0).abs() < 1e-9);
    }

    #[test]
    fn waiting_line_marks_are_max_merged_answered_to_every_exchange_and_forgotten_after_an_hour() {
        let mut s = Shard::default();
        let mark =
            |serving_ms, period, speed_milli| Mark { period, serving_ms, speed_milli, cruise_milli: 0 };
        let with = |now_ms, marks: Vec<(String, Mark)>| Exchange { now_ms, marks, ..Exchange::default() };
        s.exchange(&with(10_000, vec![("cap:/signup".into(), mark(5_000, 2, 400))]));
        // an isolate behind (an older period, even with a larger watermark) does not move it back
        let r = s.exchange(&with(11_000, vec![("cap:/signup".into(), mark(9_000, 1, 900))]));
        assert_eq!(r.marks, vec![("cap:/signup".to_string(), mark(5_000, 2, 400))]);
        // a later period moves it on, with its speed; a reader with no marks gets it too
        s.exchange(&with(12_000, vec![("cap:/signup".into(), mark(6_000, 3, 500))]));
        let r = s.exchange(&with(12_500, Vec::new()));
        assert_eq!(r.marks, vec![("cap:/signup".to_string(), mark(6_000, 3, 500))]);
        // an hour without a proposal: forgotten
        assert!(s.exchange(&with(12_000 + MARKS_KEPT_MS, Vec::new())).marks.is_empty());
    }

    #[test]
    fn replies_carry_read_keys_hot_keys_and_panics() {
        let mut s = Shard::default();
        s.exchange(&add(1_000, "asn:1", 50));
        s.exchange(&add(1_000, "asn:2", 3));
        s.set_panic(&Panic { key: "site".into(), until_ms: 60_000 });
        let r = s.exchange(&Exchange {
            now_ms: 2_000,
            add: Vec::new(),
            read: vec![("asn:2".into(), 60), ("asn:9".into(), 60)],
            hot_at: 10.0,
            marks: Vec::new(),
        });
        assert_eq!(r.keys.len(), 1, "an unknown key is absent (rate 0)");
        assert_eq!(r.keys[0].key, "asn:2");
        assert_eq!(r.hot.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(), ["asn:1"]);
        assert_eq!(r.panics, vec![("site".to_string(), 60_000)]);
        // expired and cleared switches are not answered
        assert!(s.exchange(&Exchange { now_ms: 61_000, ..Exchange::default() }).panics.is_empty());
        s.set_panic(&Panic { key: "site".into(), until_ms: 0 });
        assert!(s.top(3_000, 10).iter().all(|e| !e.panic));
    }

    #[test]
    fn counts_over_days_are_never_hot_and_are_listed_apart() {
        let mut s = Shard::default();
        for (key, n) in
            [("otp_usual:+86 138", 900), ("otp_seen:*", 800), ("asn:1", 50), ("otp_sent:+86 138", 12)]
        {
            s.exchange(&add(1_000, key, n));
        }
        let r = s.exchange(&Exchange { now_ms: 2_000, hot_at: 10.0, ..Exchange::default() });
        let hot: Vec<&str> = r.hot.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(
            hot,
            ["asn:1", "otp_sent:+86 138"],
            "the usual and seen counts are far larger, yet not hot"
        );
        // the top two of the window's counts, and apart the top two of the long ones
        let top: Vec<String> = s.top(2_000, 2).into_iter().map(|e| e.key).collect();
        assert_eq!(top, ["asn:1", "otp_sent:+86 138", "otp_usual:+86 138", "otp_seen:*"]);
    }

    #[test]
    fn one_row_per_active_cohort_per_persist_and_reload_keeps_the_rate() {
        let mut s = Shard::default();
        for i in 0..100 {
            s.exchange(&add(10_000 + i, "asn:1", 1));
            s.exchange(&add(10_000 + i, "asn:2", 2));
        }
        assert!(s.persist_due(10_100));
        let p = s.take_dirty(10_100);
        assert_eq!(p.upsert.len(), 2, "200 exchanges, two cohorts: two rows");
        assert!(!s.persist_due(10_200), "nothing changed since");
        s.exchange(&add(10_300, "asn:1", 1));
        assert!(!s.persist_due(10_300), "at most one persist a second");
        assert!(s.persist_due(11_100));

        // the object is evicted mid-spike and restarts from its rows
        let reloaded = Shard::load(p.upsert, vec![Panic { key: "asn:3".into(), until_ms: 99_000 }]);
        let before = s.top(20_000, 10);
        let after = reloaded.top(20_000, 10);
        let rate = |v: &[Entry], k: &str| v.iter().find(|e| e.key == k).map(|e| e.rate).unwrap_or(0.0);
        assert!((rate(&after, "asn:2") - rate(&before, "asn:2")).abs() < 0.01);
        assert!(rate(&after, "asn:2") > 150.0, "a pause of 10 s does not reset a busy cohort");
        assert!(after.iter().any(|e| e.key == "asn:3" && e.panic));
    }

    #[test]
    fn decayed_rows_are_deleted() {
        let mut s = Shard::default();
        s.exchange(&add(0, "asn:1", 1));
        let _ = s.take_dirty(0);
        // touched again an hour later: decayed to nothing, its row goes
        s.exchange(&Exchange {
            now_ms: 3_600_000,
            add: vec![Delta { key: "asn:1".into(), n: 0, window_secs: 60 }],
            ..Exchange::default()
        });
        let p = s.take_dirty(3_600_000);
        assert_eq!(p.delete, vec!["asn:1".to_string()]);
    }

    /// Exchanges without a threshold (an isolate with no policy) never list hot keys, so never
    /// prune the candidates: the names of counters the shard forgot must not pile up.
    #[test]
    fn hot_candidates_never_outnumber_the_counters() {
        let mut s = Shard::default();
        let batch = |now_ms: u64, from: usize| Exchange {
            now_ms,
            add: (from..from + MAX_KEYS_PER_EXCHANGE)
                .map(|i| Delta { key: format!("ip24:{i}"), n: 1, window_secs: 10 })
                .collect(),
            hot_at: f64::INFINITY,
            ..Exchange::default()
        };
        let mut from = 0;
        for round in 0..3u64 {
            // an hour later (every earlier counter decayed away), then past the prune limit
            loop {
                s.exchange(&batch(round * 3_600_000, from));
                from += MAX_KEYS_PER_EXCHANGE;
                assert!(s.hot_candidates.len() <= s.cells.len(), "round {round}");
                if s.cells.len() > PRUNE_AT {
                    break;
                }
            }
        }
        // and a threshold again: the list is the full rating's
        let reply = s.exchange(&Exchange { now_ms: 2 * 3_600_000, hot_at: 0.5, ..Exchange::default() });
        assert_eq!(reply.hot, hot_by_rating_all(&s, 2 * 3_600_000, 0.5));
    }

    /// The hot list every counter would give: what the candidates must always equal.
    fn hot_by_rating_all(s: &Shard, now: u64, at: f64) -> Vec<Known> {
        if at.is_nan() || at <= 0.0 {
            return Vec::new();
        }
        let mut hot: Vec<Known> = (s.cells.iter())
            .filter(|(k, c)| !long_count(k) && c.rate(now) >= at)
            .map(|(k, c)| Known { key: k.clone(), cell: *c })
            .collect();
        hot.sort_by(|a, b| b.cell.rate(now).total_cmp(&a.cell.rate(now)).then_with(|| a.key.cmp(&b.key)));
        hot.truncate(MAX_HOT);
        hot
    }

    proptest::proptest! {
        /// Whatever the order of clocks (isolates behind or ahead of each other), the hot
        /// thresholds, windows and reloads, the hot list is the one rating every counter gives.
        #[test]
        fn hot_keys_are_those_every_counter_gives(
            steps in proptest::collection::vec(
                (-8_000i64..20_000, proptest::collection::vec((0usize..48, 0u32..30, 0usize..3), 0..6),
                 0usize..6, proptest::bool::weighted(0.03)),
                1..120),
        ) {
            let thresholds = [0.5, 2.0, 5.0, 10.0, f64::INFINITY, 0.0];
            let windows = [10, 60, 300];
            let mut s = Shard::default();
            let mut now: u64 = 1_000_000;
            for (step, adds, hot_at, reload) in steps {
                now = now.saturating_add_signed(step);
                let key = |i: usize| if i < 40 { format!("asn:{i}") } else { format!("{}{i}", OtpCount::Usual.prefix()) };
                let e = Exchange {
                    now_ms: now,
                    add: adds.iter().map(|&(k, n, w)| Delta { key: key(k), n, window_secs: windows[w] }).collect(),
                    read: Vec::new(),
                    hot_at: thresholds[hot_at],
                    marks: Vec::new(),
                };
                if reload {
                    let rows = s.cells.iter().map(|(k, c)| Row { key: k.clone(), value: c.counter.value, at_ms: c.counter.at_ms, window_secs: c.window_secs }).collect();
                    s = Shard::load(rows, Vec::new());
                }
                let reply = s.exchange(&e);
                proptest::prop_assert_eq!(reply.hot, hot_by_rating_all(&s, now, e.hot_at));
            }
        }
    }
}
