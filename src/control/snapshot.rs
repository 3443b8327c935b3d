//! The isolate's snapshot of cohort counters and panic switches, which every decision on the
//! free paths (issuing a challenge, refusing a submission before its work is verified) reads
//! instead of calling a Durable Object.
//!
//! **Staleness bound.** Every counter shard whose keys this isolate decides on is refreshed in
//! the background at most [`REFRESH_MS`] (1 s) after its last answer, while requests for its
//! keys arrive; the refresh answer is folded in as soon as it lands. A shard whose last answer
//! is older than [`STALE_MS`] (2 s: an idle or a new isolate) is *cold*: the glue awaits one
//! refresh before deciding ([`Snapshot::cold`]), at most once per shard per 2 s, so a decision
//! reads state at most 2 s plus one round trip old — panic switches included. Sign-ups counted
//! in this isolate are in its snapshot at once.
//!
//! **Degrading safely.** When a shard errors or is overloaded, its keys keep their last known
//! rates, not decayed, for [`hold_ms`] (the counters' window) after the last answer: a shed
//! cohort stays shed, an escalated one stays escalated, and local sign-ups still add. After
//! that they decay from the last known value and local counts only: never silently the base
//! price because a counter is unreachable. Each failure, each decision taken on held state and
//! the failing shards are counted in [`Health`]; the glue logs the condition once per
//! [`LOG_EVERY_MS`] and the stats page shows it.

use crate::control::line::Mark;
use crate::policy::{CohortKey, CohortState, Counter};
use crate::store::cohorts::{Cell, Reply, shard};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A shard's keys are refreshed at most this long after its last answer (while used), ms.
pub const REFRESH_MS: u64 = 1000;
/// A shard unheard from for longer is cold: the next decision on its keys waits for it, ms.
pub const STALE_MS: u64 = 2000;

/// How recent the answers of peeked keys (`Counted::peek`) must be: ten seconds, so that a
/// range read for a submission in this isolate just before is priced ahead for the next person
/// on counts that have not aged apart (each decays from its own reading).
pub const PEEK_MS: u64 = 10_000;

/// How far apart the answers of the keys peeked together may be: they are judged together (a
/// conversion, a share), so they must be one reading, not a fresh count beside a stale one.
pub const PEEK_SPREAD_MS: u64 = 2_000;
/// A failing shard's condition is logged at most once per this interval, ms.
pub const LOG_EVERY_MS: u64 = 10_000;
/// Keys kept before the coldest are dropped.
pub const MAX_KEYS: usize = 20_000;

/// How long last known levels are held while their shard is unreachable: the counters' window.
pub fn hold_ms(window_secs: u32) -> u64 {
    u64::from(window_secs.max(1)).saturating_mul(1000)
}

#[derive(Clone, Debug, Default)]
struct ShardSeen {
    /// Last successful answer.
    ok_ms: Option<u64>,
    /// Last call started.
    tried_ms: Option<u64>,
    in_flight: bool,
    /// Failing since (cleared by the next answer).
    failing_since: Option<u64>,
    /// Its panic switches, as last answered (parsed once here, not on every decision).
    panics: Vec<(CohortKey, u64)>,
}

/// Object calls this isolate made, by purpose (the stats page shows them; the tests count them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// Awaited while answering a request (cold shards only).
    pub request_path: u64,
    /// Background refreshes and flushes (`wait_until`), counter shards.
    pub background: u64,
    /// Background stats flushes.
    pub stats: u64,
    /// Panic switch writes.
    pub panic: u64,
    /// Single-use ledger spends (request path, solved work only).
    pub spend: u64,
    /// Decisions taken by this isolate on the snapshot.
    pub decisions: u64,
}

/// An object call [`Calls`] counts by its purpose.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// A stats flush.
    Stats,
    /// A panic switch write.
    Panic,
    /// A ledger spend.
    Spend,
}

/// The degradation condition, as the stats page shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    /// `ok`, or `degraded` while some counter shard fails.
    pub condition: &'static str,
    /// Counter shards failing now.
    pub failing_shards: Vec<u32>,
    /// Failed counter calls (refresh, flush) since the isolate started.
    pub errors: u64,
    /// Decisions that used a held (last known, undecayed) level.
    pub held_decisions: u64,
    /// Decisions that used state older than the bound (a shard failing past its hold).
    pub stale_decisions: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// Object calls.
    pub calls: Calls,
}

/// What this isolate knows of one key: its counter (as its shard last answered it, plus what
/// was counted here since) and when its shard last answered it. A key read as none has a
/// reading and no counter; a key counted here and not yet read has a counter and no reading.
#[derive(Clone, Copy, Debug, Default)]
struct KeySeen {
    cell: Option<Cell>,
    /// When the key was last answered by its shard (ms): a key this isolate reads rarely
    /// holds its last answer, decayed, which is no reading of its cohort's rate.
    read_ms: Option<u64>,
}

/// The isolate-local snapshot.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every key known, in one map: a shard's answer updates each of its keys in place (the
    /// hot lists bring up to `MAX_HOT` keys per shard per second).
    keys: HashMap<String, KeySeen>,
    shards: BTreeMap<u32, ShardSeen>,
    health: Health,
    last_log_ms: Option<u64>,
    /// Waiting lines' marks as the shards last answered them.
    marks: BTreeMap<String, Mark>,
}

impl Snapshot {
    /// The state of `keys` (and the `site` key when `site`) at `now`, as the policy reads it.
    /// `window` gives each key's decay window; `shards` is the counter shard count.
    pub fn state(
        &mut self,
        keys: &[CohortKey],
        site: bool,
        shards: u32,
        window: impl Fn(&CohortKey) -> u32,
        now_ms: u64,
    ) -> CohortState {
        self.health.calls.decisions = self.health.calls.decisions.saturating_add(1);
        let mut state = CohortState::default();
        let mut held = false;
        let mut stale = false;
        let site_key = CohortKey::site();
        let all = keys.iter().chain(site.then_some(&site_key));
        // a key's shard matters only while some shard fails (held or stale levels)
        let any_failing = self.failing_shards().next().is_some();
        for key in all {
            let seen = if any_failing { self.shards.get(&shard(key.as_str(), shards)) } else { None };
            let Some(cell) = self.cell(key.as_str()) else {
                if seen.is_some_and(|x| x.failing_since.is_some()) {
                    stale = true;
                }
                if *key != site_key {
                    state.rates.push((key.clone(), 0.0));
                }
                continue;
            };
            let cell = Cell { window_secs: window(key), ..*cell };
            let mut rate = cell.rate(now_ms);
            if let Some(seen) = seen.filter(|x| x.failing_since.is_some()) {
                match seen.ok_ms {
                    Some(ok) if now_ms.saturating_sub(ok) <= hold_ms(cell.window_secs) => {
                        let last_known = cell.rate(ok);
                        if last_known > rate {
                            rate = last_known;
                            held = true;
                        }
                    }
                    _ => stale = true,
                }
            }
            if *key == site_key {
                state.site_rate = rate;
            } else {
                state.rates.push((key.clone(), rate));
            }
        }
        // panic switches: any shard's answer (a site switch is written to every shard)
        for seen in self.shards.values() {
            for (key, until) in &seen.panics {
                if *until <= now_ms {
                    continue;
                }
                if key.otp_count().is_some() {
                    // a range's block: kept with its end (the latest wins)
                    match state.switches.iter_mut().find(|(k, _)| k == key) {
                        Some((_, u)) => *u = (*u).max(*until),
                        None => state.switches.push((key.clone(), *until)),
                    }
                } else if !state.panicked.contains(key) {
                    state.panicked.push(key.clone());
                }
            }
        }
        if held {
            self.health.held_decisions = self.health.held_decisions.saturating_add(1);
        }
        if stale {
            self.health.stale_decisions = self.health.stale_decisions.saturating_add(1);
        }
        state
    }

    /// Counts `n` sign-ups locally, at once (the batch sends them to the shard later).
    pub fn add_local(&mut self, key: &CohortKey, n: u32, window_secs: u32, now_ms: u64) {
        let seen = match self.keys.get_mut(key.as_str()) {
            Some(seen) => seen,
            None => self.keys.entry(key.as_str().to_string()).or_default(),
        };
        let cell = seen.cell.get_or_insert(Cell { counter: Counter::default(), window_secs });
        let value = cell.rate(now_ms) + f64::from(n);
        *cell =
            Cell { counter: Counter { value, at_ms: (now_ms as f64).max(cell.counter.at_ms) }, window_secs };
        self.prune(now_ms);
    }

    /// Whether a shard should be refreshed in the background now (last answer or attempt a
    /// second ago or more, nothing in flight).
    pub fn refresh_due(&self, shard: u32, now_ms: u64) -> bool {
        match self.shards.get(&shard) {
            None => true,
            Some(s) => !s.in_flight && s.tried_ms.is_none_or(|t| now_ms.saturating_sub(t) >= REFRESH_MS),
        }
    }

    /// Whether a call to the shard is in flight.
    pub fn in_flight(&self, shard: u32) -> bool {
        self.shards.get(&shard).is_some_and(|s| s.in_flight)
    }

    /// The shards among `keys`' (and the site key's when `site`) that are cold: never answered
    /// or unheard from for more than [`STALE_MS`], not failing and not in flight. The glue
    /// awaits their refresh before deciding.
    pub fn cold(&self, keys: &[CohortKey], site: bool, shards: u32, now_ms: u64) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let site_key = CohortKey::site();
        for key in keys.iter().chain(site.then_some(&site_key)) {
            let s = shard(key.as_str(), shards);
            let cold = match self.shards.get(&s) {
                None => true,
                Some(x) => {
                    !x.in_flight
                        && x.failing_since.is_none()
                        && x.ok_ms.is_none_or(|ok| now_ms.saturating_sub(ok) > STALE_MS)
                }
            };
            if cold && !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// A call to `shard` starts (`awaited`: on the request path).
    pub fn sent(&mut self, shard: u32, awaited: bool, now_ms: u64) {
        let s = self.shards.entry(shard).or_default();
        s.in_flight = true;
        s.tried_ms = Some(now_ms);
        let calls = &mut self.health.calls;
        if awaited {
            calls.request_path = calls.request_path.saturating_add(1);
        } else {
            calls.background = calls.background.saturating_add(1);
        }
    }

    /// Folds a shard's answer in. `pending(key)` is what this isolate counted for the key
    /// after the exchange was taken (still in the batch), added on top of the shard's value.
    /// `asked` are the keys the exchange added or read: one absent from the answer is at 0.
    pub fn answered(
        &mut self,
        shard: u32,
        asked: &[impl AsRef<str>],
        reply: &Reply,
        pending: impl Fn(&str) -> u32,
        now_ms: u64,
    ) {
        // a shard reads at most MAX_KEYS_PER_EXCHANGE keys of a call: past that, an absent key
        // may be one it never read (unknown to `peek`, 0 to a decision as before)
        let whole = asked.len() <= crate::store::cohorts::MAX_KEYS_PER_EXCHANGE;
        let answered: std::collections::HashSet<&str> = reply.keys.iter().map(|k| k.key.as_str()).collect();
        for key in asked {
            let key = key.as_ref();
            if !answered.contains(key) {
                let n = pending(key);
                if n == 0 {
                    // read as none: a reading, for `peek`
                    let read_ms = whole.then_some(now_ms);
                    match self.keys.get_mut(key) {
                        Some(seen) => *seen = KeySeen { cell: None, read_ms },
                        None if whole => {
                            _ = self.keys.insert(key.to_string(), KeySeen { cell: None, read_ms })
                        }
                        None => {}
                    }
                }
            }
        }
        for known in reply.keys.iter().chain(&reply.hot) {
            let n = pending(&known.key);
            let mut cell = known.cell;
            if n > 0 {
                let value = cell.rate(now_ms) + f64::from(n);
                cell.counter = Counter { value, at_ms: (now_ms as f64).max(cell.counter.at_ms) };
            }
            let seen = KeySeen { cell: Some(cell), read_ms: Some(now_ms) };
            match self.keys.get_mut(known.key.as_str()) {
                Some(held) => *held = seen,
                None => _ = self.keys.insert(known.key.clone(), seen),
            }
        }
        let s = self.shards.entry(shard).or_default();
        s.in_flight = false;
        s.ok_ms = Some(now_ms);
        s.failing_since = None;
        s.panics =
            reply.panics.iter().filter_map(|(k, until)| Some((CohortKey::parse(k)?, *until))).collect();
        for (key, m) in &reply.marks {
            let held = self.marks.entry(key.clone()).or_default();
            *held = held.merge(*m);
        }
        self.prune(now_ms);
    }

    /// A waiting line's mark as last published (`None`: never seen).
    pub fn mark(&self, key: &str) -> Option<Mark> {
        self.marks.get(key).copied()
    }

    /// Records a failed call to `shard`. Returns whether to log the condition now (once per
    /// [`LOG_EVERY_MS`]).
    pub fn failed(&mut self, shard: u32, error: &str, now_ms: u64) -> bool {
        let s = self.shards.entry(shard).or_default();
        s.in_flight = false;
        s.failing_since.get_or_insert(now_ms);
        self.health.errors = self.health.errors.saturating_add(1);
        self.health.last_error = Some(error.chars().take(200).collect());
        let log = self.last_log_ms.is_none_or(|t| now_ms.saturating_sub(t) >= LOG_EVERY_MS);
        if log {
            self.last_log_ms = Some(now_ms);
        }
        log
    }

    /// Counts an object call made outside the counter shards' refresh and flush.
    pub fn note_call(&mut self, kind: CallKind) {
        let calls = &mut self.health.calls;
        let n = match kind {
            CallKind::Stats => &mut calls.stats,
            CallKind::Panic => &mut calls.panic,
            CallKind::Spend => &mut calls.spend,
        };
        *n = n.saturating_add(1);
    }

    /// Folds a panic switch in at once (the isolate that set it does not wait for a refresh).
    pub fn panic_set(&mut self, key: &CohortKey, until_ms: u64, shards: u32) {
        let targets: Vec<u32> = if *key == CohortKey::site() {
            (0..shards.max(1)).collect()
        } else {
            vec![shard(key.as_str(), shards)]
        };
        for t in targets {
            let s = self.shards.entry(t).or_default();
            s.panics.retain(|(k, _)| k != key);
            if until_ms > 0 {
                s.panics.push((key.clone(), until_ms));
            }
        }
    }

    /// The counter shards failing now.
    pub fn failing_shards(&self) -> impl Iterator<Item = u32> + '_ {
        self.shards.iter().filter(|(_, s)| s.failing_since.is_some()).map(|(k, _)| *k)
    }

    /// The condition and the counters.
    pub fn health(&self) -> Health {
        let failing: Vec<u32> = self.failing_shards().collect();
        Health {
            condition: if failing.is_empty() { "ok" } else { "degraded" },
            failing_shards: failing,
            ..self.health.clone()
        }
    }

    /// This isolate's view of its busiest keys (the stats page adds the shards' own).
    pub fn top(&self, now_ms: u64, n: usize) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .keys
            .iter()
            .filter_map(|(k, s)| Some((k.clone(), s.cell?.rate(now_ms))))
            .filter(|(_, r)| *r >= 0.5)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// The counts of the keys under `prefix` (the prefix cut off, sorted by key) that their
    /// shard answered at or after `since_ms`: the capacity controller's readings of one route,
    /// what was read rather than what was last known.
    pub fn under_read(&self, prefix: &str, since_ms: u64, now_ms: u64) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .keys
            .iter()
            .filter(|(_, s)| s.read_ms.is_some_and(|t| t >= since_ms))
            .filter_map(|(k, s)| Some((k.strip_prefix(prefix)?.to_string(), s.cell?.rate(now_ms))))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// One key's count (0 when unknown).
    pub fn count_of(&self, key: &str, now_ms: u64) -> f64 {
        self.cell(key).map_or(0.0, |c| c.rate(now_ms))
    }

    fn cell(&self, key: &str) -> Option<&Cell> {
        self.keys.get(key)?.cell.as_ref()
    }

    /// The rates of `keys`, all or none: all when this isolate read every one of them from its
    /// shard within [`PEEK_MS`] and within [`PEEK_SPREAD_MS`] of each other (0 for a key the
    /// shard answered it holds none of); none otherwise (unknown).
    pub fn peek(
        &self,
        keys: &[CohortKey],
        window: impl Fn(&CohortKey) -> u32,
        now_ms: u64,
    ) -> Vec<(CohortKey, f64)> {
        let times: Option<Vec<u64>> = keys.iter().map(|k| self.keys.get(k.as_str())?.read_ms).collect();
        let Some(times) = times else { return Vec::new() };
        let (Some(oldest), Some(newest)) = (times.iter().min(), times.iter().max()) else {
            return Vec::new();
        };
        if now_ms.saturating_sub(*oldest) > PEEK_MS || newest - oldest > PEEK_SPREAD_MS {
            return Vec::new();
        }
        keys.iter()
            .map(|k| {
                let rate =
                    self.cell(k.as_str()).map_or(0.0, |c| Cell { window_secs: window(k), ..*c }.rate(now_ms));
                (k.clone(), rate)
            })
            .collect()
    }

    /// Past [`MAX_KEYS`]: drops the counters decayed to almost nothing, then the readings of
    /// keys with no counter older than [`PEEK_MS`], then those of keys with no counter.
    fn prune(&mut self, now_ms: u64) {
        if self.keys.len() <= MAX_KEYS {
            return;
        }
        for seen in self.keys.values_mut() {
            if seen.cell.is_some_and(|c| c.rate(now_ms) < 0.05) {
                seen.cell = None;
            }
        }
        self.keys.retain(|_, s| {
            s.cell.is_some() || s.read_ms.is_some_and(|t| now_ms.saturating_sub(t) <= PEEK_MS)
        });
        if self.keys.len() > MAX_KEYS {
            self.keys.retain(|_, s| s.cell.is_some());
        }
    }
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[k.clone()]` reads better in these tables
mod tests {
    use super::*;
    use crate::store::cohorts::{Delta, Exchange, Known, Shard};

    const SHARDS: u32 = 64;

    fn asn(n: u32) -> CohortKey {
        CohortKey::new(crate::policy::CohortKind::Asn, &n.to_string())
    }

    fn rate(state: &CohortState, key: &CohortKey) -> f64 {
        state.rates.iter().find(|(k, _)| k == key).map_or(0.0, |(_, r)| *r)
    }

    /// One round trip with a real shard: what the glue does in `wait_until`.
    fn refresh(snap: &mut Snapshot, shard_of: &mut Shard, keys: &[CohortKey], now: u64) {
        let s = shard(keys[0].as_str(), SHARDS);
        snap.sent(s, false, now);
        let read: Vec<(String, u32)> = keys.iter().map(|k| (k.as_str().to_string(), 60)).collect();
        let reply = shard_of.exchange(&Exchange {
            now_ms: now,
            add: Vec::new(),
            read: read.clone(),
            hot_at: 20.0,
            marks: Vec::new(),
        });
        let asked: Vec<String> = read.into_iter().map(|(k, _)| k).collect();
        snap.answered(s, &asked, &reply, |_| 0, now);
    }

    #[test]
    fn decisions_read_the_snapshot_and_refresh_at_most_once_a_second() {
        let mut snap = Snapshot::default();
        let mut remote = Shard::default();
        let k = asn(64500);
        let s = shard(k.as_str(), SHARDS);
        // another isolate counted 60 sign-ups
        remote.exchange(&Exchange {
            now_ms: 0,
            add: vec![Delta { key: k.as_str().to_string(), n: 60, window_secs: 60 }],
            ..Exchange::default()
        });
        assert_eq!(snap.cold(&[k.clone()], false, SHARDS, 0), vec![s], "a new isolate is cold");
        refresh(&mut snap, &mut remote, &[k.clone()], 0);
        assert!(snap.cold(&[k.clone()], false, SHARDS, 1500).is_empty());
        let mut refreshes = 0;
        // 1,000 decisions over 10 s: the snapshot answers; one refresh a second at most
        for i in 0..1000u64 {
            let now = i * 10;
            let st = snap.state(&[k.clone()], false, SHARDS, |_| 60, now);
            assert!(rate(&st, &k) > 50.0);
            if snap.refresh_due(s, now) {
                refresh(&mut snap, &mut remote, &[k.clone()], now);
                refreshes += 1;
            }
        }
        assert!((9..=10).contains(&refreshes), "{refreshes}");
        assert_eq!(snap.health().calls.request_path, 0);
        // idle for 3 s: cold again, the next decision waits for one refresh
        assert_eq!(snap.cold(&[k.clone()], false, SHARDS, 13_000), vec![s]);
    }

    #[test]
    fn a_peek_knows_keys_read_together_and_lately_or_nothing() {
        let mut snap = Snapshot::default();
        let mut remote = Shard::default();
        let (counted, none, never) = (asn(11), asn(12), asn(13));
        remote.exchange(&Exchange {
            now_ms: 0,
            add: vec![Delta { key: counted.as_str().to_string(), n: 30, window_secs: 60 }],
            ..Exchange::default()
        });
        // one exchange per key (each key's own shard): `none` is answered as holding nothing
        refresh(&mut snap, &mut remote, &[counted.clone()], 1000);
        refresh(&mut snap, &mut remote, &[none.clone()], 1000);
        let both = [counted.clone(), none.clone()];
        let peeked = snap.peek(&both, |_| 60, 2000);
        assert!(peeked.iter().any(|(k, r)| *k == counted && *r > 25.0), "{peeked:?}");
        assert!(peeked.iter().any(|(k, r)| *k == none && *r == 0.0), "answered as none: 0");
        // a key never asked is unknown, not 0, and so is the whole set with it; a count this
        // isolate added itself is no reading of the shard
        let all = [counted.clone(), none.clone(), never.clone()];
        assert!(snap.peek(&all, |_| 60, 2000).is_empty());
        snap.add_local(&never, 1, 60, 2000);
        assert!(snap.peek(&all, |_| 60, 2000).is_empty());
        // read apart (a fresh count beside a stale one): nothing
        refresh(&mut snap, &mut remote, &[counted.clone()], 1000 + PEEK_SPREAD_MS + 1);
        assert!(snap.peek(&both, |_| 60, 1000 + PEEK_SPREAD_MS + 1).is_empty());
        // read together again, then too long ago: nothing
        refresh(&mut snap, &mut remote, &[none.clone()], 1000 + PEEK_SPREAD_MS + 1);
        assert_eq!(snap.peek(&both, |_| 60, 1000 + PEEK_SPREAD_MS + 1).len(), 2);
        assert!(snap.peek(&both, |_| 60, 1000 + PEEK_SPREAD_MS + 2 + PEEK_MS).is_empty());
    }

    #[test]
    fn a_refresh_shows_other_isolates_counts_and_keeps_local_ones() {
        let mut snap = Snapshot::default();
        let mut remote = Shard::default();
        let k = asn(1);
        for _ in 0..5 {
            snap.add_local(&k, 1, 60, 1000);
        }
        assert!((rate(&snap.state(&[k.clone()], false, SHARDS, |_| 60, 1000), &k) - 5.0).abs() < 1e-9);
        // the 5 are still in the batch when an answer (with 40 from elsewhere) arrives
        remote.exchange(&Exchange {
            now_ms: 1000,
            add: vec![Delta { key: k.as_str().to_string(), n: 40, window_secs: 60 }],
            ..Exchange::default()
        });
        let s = shard(k.as_str(), SHARDS);
        snap.sent(s, false, 1000);
        let reply = remote.exchange(&Exchange {
            now_ms: 1000,
            read: vec![(k.as_str().to_string(), 60)],
            ..Exchange::default()
        });
        snap.answered(s, &[k.as_str().to_string()], &reply, |_| 5, 1000);
        assert!((rate(&snap.state(&[k.clone()], false, SHARDS, |_| 60, 1000), &k) - 45.0).abs() < 1e-9);
    }

    #[test]
    fn panic_switches_reach_the_isolate_with_the_next_refresh() {
        let mut snap = Snapshot::default();
        let mut remote = Shard::default();
        let k = asn(7);
        refresh(&mut snap, &mut remote, &[k.clone()], 0);
        // an operator switches the site to panic at t = 0.5 s (written to every shard)
        remote.set_panic(&crate::store::cohorts::Panic { key: "site".into(), until_ms: 600_000 });
        let mut seen_at = None;
        for i in 0..300u64 {
            let now = 500 + i * 10;
            if snap.state(&[k.clone()], false, SHARDS, |_| 60, now).panicked.contains(&CohortKey::site()) {
                seen_at = Some(now);
                break;
            }
            if snap.refresh_due(shard(k.as_str(), SHARDS), now) {
                refresh(&mut snap, &mut remote, &[k.clone()], now);
            }
        }
        let seen_at = seen_at.expect("panic seen");
        assert!(seen_at - 500 <= STALE_MS, "seen {} ms after it was set", seen_at - 500);
    }

    #[test]
    fn an_unreachable_shard_keeps_a_shed_cohort_shed_until_the_hold_expires() {
        let mut snap = Snapshot::default();
        let mut remote = Shard::default();
        let k = asn(666);
        let s = shard(k.as_str(), SHARDS);
        remote.exchange(&Exchange {
            now_ms: 0,
            add: vec![Delta { key: k.as_str().to_string(), n: 150, window_secs: 60 }],
            ..Exchange::default()
        });
        refresh(&mut snap, &mut remote, &[k.clone()], 0);
        // the shard is overloaded from now on
        snap.sent(s, false, 1000);
        assert!(snap.failed(s, "Durable Object is overloaded", 1000), "the first failure is logged");
        snap.sent(s, false, 2000);
        assert!(!snap.failed(s, "Durable Object is overloaded", 2000), "logged once per interval");
        // 30 s later the rate decayed to 150·e^-0.5 ≈ 91 locally, but the held level is 150
        let st = snap.state(&[k.clone()], false, SHARDS, |_| 60, 30_000);
        assert!((rate(&st, &k) - 150.0).abs() < 0.01, "{}", rate(&st, &k));
        let h = snap.health();
        assert_eq!(h.condition, "degraded");
        assert_eq!(h.failing_shards, vec![s]);
        assert_eq!(h.errors, 2);
        assert_eq!(h.held_decisions, 1);
        assert!(snap.cold(&[k.clone()], false, SHARDS, 30_000).is_empty(), "a failing shard is not awaited");
        // past the hold (the window) it decays from the last known value: never a reset to 0
        let st = snap.state(&[k.clone()], false, SHARDS, |_| 60, 90_000);
        assert!(rate(&st, &k) > 30.0, "{}", rate(&st, &k));
        assert_eq!(snap.health().stale_decisions, 1);
        // the shard answers again: normal
        refresh(&mut snap, &mut remote, &[k.clone()], 91_000);
        assert_eq!(snap.health().condition, "ok");
    }

    #[test]
    fn hot_keys_of_a_shard_are_learned_and_unknown_keys_read_zero() {
        let mut snap = Snapshot::default();
        let k = asn(3);
        let reply = Reply {
            keys: Vec::new(),
            hot: vec![Known {
                key: "asn:99".into(),
                cell: Cell { counter: Counter { value: 80.0, at_ms: 0.0 }, window_secs: 60 },
            }],
            panics: Vec::new(),
            marks: Vec::new(),
        };
        snap.sent(shard(k.as_str(), SHARDS), false, 0);
        snap.answered(shard(k.as_str(), SHARDS), &[k.as_str().to_string()], &reply, |_| 0, 0);
        let st = snap.state(&[k.clone(), asn(99)], false, SHARDS, |_| 60, 0);
        assert_eq!(rate(&st, &k), 0.0);
        assert!((rate(&st, &asn(99)) - 80.0).abs() < 1e-9);
        assert_eq!(snap.top(0, 5), vec![("asn:99".to_string(), 80.0)]);
    }

    #[test]
    fn a_controller_reads_only_the_keys_answered_lately_not_the_ones_last_known() {
        let mut snap = Snapshot::default();
        let mut remote = Shard::default();
        let (a, b) = (asn(1), asn(2));
        for k in [&a, &b] {
            remote.exchange(&Exchange {
                now_ms: 0,
                add: vec![Delta { key: k.as_str().to_string(), n: 10, window_secs: 60 }],
                ..Exchange::default()
            });
        }
        refresh(&mut snap, &mut remote, &[a.clone(), b.clone()], 0);
        // only `a` is read again; `b` is still known (decaying), not read (nor listed hot:
        // a hot key in an answer is read too)
        refresh(&mut snap, &mut remote, &[a.clone()], 12_000);
        let read = snap.under_read("asn:", 10_000, 12_000);
        assert_eq!(read.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["1"]);
        assert!(read[0].1 > 5.0, "{read:?}");
        assert!(snap.count_of(b.as_str(), 12_000) > 5.0, "still known");
        assert_eq!(snap.under_read("asn:", 0, 12_000).len(), 2, "both were read since 0");
    }
}
