//! Attack mode inside one isolate, sans-IO: what the Worker keeps in memory between requests
//! so that the free paths make no Durable Object call and counting costs one call per shard
//! per second, not one per request.
//!
//! - [`snapshot`]: the cohort levels and panic switches decisions read (staleness bound,
//!   degrading safely);
//! - [`batch`]: sign-up deltas and decision counts, flushed at most about once a second;
//! - [`capacity`]: the capacity controller (prices driven by the origin's capacity).
//!
//! [`Control`] ties the snapshot and the batch together and tells the glue which calls to
//! make ([`Call`]); the glue (`edge::attack`) makes them and hands the answers back. Time is
//! an argument (ms since the epoch); nothing here reads a clock.

pub mod batch;
pub mod capacity;
mod io;
pub mod line;
pub mod snapshot;

pub use io::{
    Answered, Background, Counted, Counts, Degraded, PanicWrite, StatsAnswers, StatsFlush, StatsRead, Tally,
    top_shards,
};

use crate::policy::{Capacity, CapacityPrice, CohortKey, CohortState, Policy};
use crate::protocol::time::UnixTime;
use crate::store::cohorts::{Exchange, Reply, shard};
use crate::store::stats::{Action, Count};
use batch::Batch;
use capacity::{Controller, Params, Price};
use line::{Serving, full_secs, room_milli};
use snapshot::{STALE_MS, Snapshot};
use std::collections::BTreeMap;

/// The counters' decay windows: the JavaScript path's and the no-JS path's (`nojs:` keys).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Windows {
    /// `attack.window_secs`.
    pub js: u32,
    /// `no_js.window_secs`.
    pub no_js: u32,
    /// `otp.window_secs` (a range's sends and verified codes).
    pub otp: u32,
    /// `otp.verify_grace_secs` (a range's recent sends and tries).
    pub otp_grace: u32,
    /// `otp.first_seen.learn_days` in seconds (where people were seen entering codes).
    pub otp_seen: u32,
    /// `otp.surge.usual_days` in seconds (the usual shares' slow counts).
    pub otp_usual: u32,
    /// `attack.usual.usual_days` in seconds (the cohorts' usual shares' slow counts).
    pub usual: u32,
}

impl Windows {
    /// The policy's windows.
    pub fn of(policy: &Policy) -> Windows {
        let (otp, otp_grace) =
            policy.otp.as_ref().map_or((3600, 120), |o| (o.window_secs, o.verify_grace_secs));
        let otp_seen = policy.otp.as_ref().and_then(|o| o.first_seen).map_or(otp, |f| f.learn_secs());
        let otp_usual = policy.otp.as_ref().and_then(|o| o.surge).map_or(otp, |s| s.usual_secs());
        let usual = policy.attack.usual.map_or(policy.attack.window_secs, |u| u.usual_secs());
        Windows {
            js: policy.attack.window_secs,
            no_js: policy.no_js.window_secs,
            otp,
            otp_grace,
            otp_seen,
            otp_usual,
            usual,
        }
    }

    /// The windows for one read: the caller's window for every key of its kind it names.
    pub fn for_read(policy: &Policy, keys: &[CohortKey], window_secs: u32) -> Windows {
        let mut w = Windows::of(policy);
        if keys.iter().any(|k| k.is_no_js()) {
            w.no_js = window_secs;
        } else if keys.iter().any(|k| k.otp_count().is_none()) {
            w.js = window_secs;
        }
        w
    }

    /// A key's window.
    pub fn of_key(&self, key: &CohortKey) -> u32 {
        use crate::policy::OtpCount;
        match key.otp_count() {
            Some(OtpCount::Recent | OtpCount::VerifiedRecent | OtpCount::Tries) => self.otp_grace,
            Some(OtpCount::Sent | OtpCount::Verified | OtpCount::Block) => self.otp,
            Some(OtpCount::Seen) => self.otp_seen,
            Some(OtpCount::Usual) => self.otp_usual,
            None if key.is_no_js() => self.no_js,
            None if key.is_usual() => self.usual,
            None => self.js,
        }
    }
}

/// The lowest rate any level starts at: a shard lists its keys at or above it as hot, so an
/// isolate learns of a hot cohort it has not asked about yet.
pub fn hot_at(policy: &Policy) -> f64 {
    let a = &policy.attack;
    a.levels
        .iter()
        .chain(a.cohort_levels.iter().flat_map(|(_, l)| l.iter()))
        .map(|l| f64::from(l.at))
        .fold(f64::INFINITY, f64::min)
        .min(1e9)
}

/// One call to a counter shard the glue should make.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The shard.
    pub shard: u32,
    /// What to send.
    pub exchange: Exchange,
    /// Awaited on the request path (a cold shard) rather than in the background.
    pub awaited: bool,
}

impl Call {
    fn asked(&self) -> Vec<&str> {
        self.exchange
            .add
            .iter()
            .map(|d| d.key.as_str())
            .chain(self.exchange.read.iter().map(|(k, _)| k.as_str()))
            .collect()
    }
}

/// Keys a shard is read for at most (the rest wait for the next refresh).
const MAX_READS_PER_SHARD: usize = 256;

/// The isolate's attack-mode state.
#[derive(Clone, Debug, Default)]
pub struct Control {
    /// What decisions read.
    pub snapshot: Snapshot,
    /// What waits to be sent.
    pub batch: Batch,
    reads: BTreeMap<u32, BTreeMap<String, u32>>,
    /// One capacity controller per route that states a capacity, fed from the snapshot.
    pub capacity: BTreeMap<String, Controller>,
    /// The latest time seen, ms ([`Control::clock`]).
    last_ms: u64,
    /// Which stats shard the next stats flush goes to (round robin).
    stats_turn: u32,
    /// Waiting lines' marks to propose, by shard (sent with the next call to it).
    marks_out: BTreeMap<u32, BTreeMap<String, line::Mark>>,
}

impl Control {
    /// The cohort state for a decision, from the snapshot (no call). Records the keys so the
    /// next background refresh reads them; the `site` key's shard is always read, so a site
    /// panic reaches the isolate even when nothing else is counted. With a `capacity`, the
    /// route's controller moves prices (at most once per its period) and prices the request.
    pub fn state(
        &mut self,
        keys: &[CohortKey],
        site: bool,
        shards: u32,
        w: Windows,
        capacity: Option<&Capacity>,
        now_ms: u64,
    ) -> CohortState {
        for k in keys.iter().chain(std::iter::once(&CohortKey::site())) {
            let m = self.reads.entry(shard(k.as_str(), shards)).or_default();
            if m.len() < MAX_READS_PER_SHARD {
                match m.get_mut(k.as_str()) {
                    Some(window) => *window = w.of_key(k),
                    None => _ = m.insert(k.as_str().to_string(), w.of_key(k)),
                }
            }
        }
        let mut state = self.snapshot.state(keys, site, shards, |k| w.of_key(k), now_ms);
        if let Some(cap) = capacity {
            state.capacity = Some(self.capacity_price(cap, keys, w.js, shards, now_ms));
        }
        state
    }

    /// Ticks the route's controller on this isolate's readings of the route's counters (the
    /// shards' totals, refreshed like every key) and prices the request's cohorts.
    fn capacity_price(
        &mut self,
        cap: &Capacity,
        keys: &[CohortKey],
        window_secs: u32,
        shards: u32,
        now_ms: u64,
    ) -> CapacityPrice {
        let params = Params::of(cap);
        let ctl = self.capacity.entry(cap.route.clone()).or_default();
        let total = cap.total_key();
        let published = self.snapshot.mark(total.as_str());
        if ctl.due(&params, now_ms) {
            let total_count = self.snapshot.count_of(total.as_str(), now_ms);
            let since = now_ms.saturating_sub(params.period_ms);
            let cohorts = self.snapshot.under_read(&format!("{total}|"), since, now_ms);
            ctl.tick(&params, window_secs, total_count, &cohorts, now_ms);
            if let Some(mark) = ctl.tick_line(&params, published, now_ms) {
                // proposed with the next call to the shard that holds the route's total
                self.marks_out
                    .entry(shard(total.as_str(), shards))
                    .or_default()
                    .insert(total.as_str().to_string(), mark);
            }
        }
        // on a route with a line, a sign-up over capacity waits even before the line opens (a
        // burst inside one controller period) and while it serves what it opened on
        let (full, room_milli) = if params.line {
            // the shared count misses the other isolates' forwards of up to the staleness bound:
            // add them at the route's measured rate, or a fleet of isolates each reading
            // "just under" forwards that bound's worth over capacity (drills/crowd-launch.toml)
            let unseen = ctl.unseen_by_snapshot(now_ms, STALE_MS);
            let count = self.snapshot.count_of(total.as_str(), now_ms) + unseen;
            let shared = full_secs(count, cap.per_minute, window_secs);
            let room = room_milli(count, cap.per_minute, window_secs);
            (shared.max(ctl.full_here_secs(cap.per_minute, now_ms)), room)
        } else {
            (0, 1000)
        };
        let line = match ctl.serving(&params, published, now_ms) {
            Some(s) => Some(Serving { full_secs: full, room_milli, ..s }),
            None if full > 0 || room_milli < 1000 => {
                Some(Serving { serving_ms: now_ms, speed: 1.0, full_secs: full, room_milli })
            }
            None => None,
        };
        let mine: Vec<&str> = keys
            .iter()
            .filter(|k| !k.is_capacity() && k.otp_count().is_none())
            .map(CohortKey::as_str)
            .collect();
        let (extra_bits, shed) = match ctl.price(&params, &mine) {
            Price::Extra(bits) => (bits, None),
            Price::Shed(key) => (0, CohortKey::parse(&key)),
        };
        let forecast_bits = ctl.forecast(&params, &mine, now_ms);
        CapacityPrice {
            extra_bits,
            shed,
            admitted_per_minute: ctl.admitted(),
            per_minute: cap.per_minute,
            forecast_bits,
            line,
        }
    }

    /// Takes a sign-up about to be forwarded on a line `route` in this isolate's exact minute
    /// (capacity `per_minute`): 0 when taken, else the seconds until there is room.
    pub fn hold_forward(&mut self, route: &str, per_minute: u32, now: UnixTime) -> u32 {
        let now_ms = self.clock(now);
        self.capacity.entry(route.to_string()).or_default().hold(per_minute, now_ms)
    }

    /// Counts a sign-up in its cohorts: in the snapshot at once, in the batch for the shards.
    pub fn count_signup(&mut self, keys: &[CohortKey], site: bool, shards: u32, w: Windows, now_ms: u64) {
        let site_key = CohortKey::site();
        for k in keys.iter().chain(site.then_some(&site_key)) {
            self.count_by(k, 1, shards, w, now_ms);
        }
    }

    /// Adds `n` to one key (the snapshot at once, its shard with the next flush).
    pub fn count_by(&mut self, key: &CohortKey, n: u32, shards: u32, w: Windows, now_ms: u64) {
        self.snapshot.add_local(key, n, w.of_key(key), now_ms);
        self.batch.add_signup(shard(key.as_str(), shards), key.as_str(), n, w.of_key(key));
    }

    /// Counts a decision for the stats.
    pub fn count(&mut self, minute: i64, action: Action, code: &str) {
        self.batch.count(minute, action, code);
    }

    /// The calls to await before deciding on `keys` and the site key (always read, so a site
    /// panic reaches the isolate): their cold shards (never answered, or unheard from for more
    /// than the staleness bound), each at most once per bound.
    pub fn cold(
        &mut self,
        keys: &[CohortKey],
        shards: u32,
        w: Windows,
        hot_at: f64,
        now_ms: u64,
    ) -> Vec<Call> {
        let site_key = CohortKey::site();
        let cold = self.snapshot.cold(keys, true, shards, now_ms);
        let mut calls = Vec::new();
        for s in cold {
            let read: Vec<(String, u32)> = keys
                .iter()
                .chain(std::iter::once(&site_key))
                .filter(|k| shard(k.as_str(), shards) == s)
                .map(|k| (k.as_str().to_string(), w.of_key(k)))
                .collect();
            self.snapshot.sent(s, true, now_ms);
            calls.push(Call {
                shard: s,
                exchange: Exchange { now_ms, add: Vec::new(), read, hot_at, marks: Vec::new() },
                awaited: true,
            });
        }
        calls
    }

    /// The background calls due now (made in `wait_until`): a flush of the batch when one is
    /// due (one call per shard with deltas, carrying that shard's reads too) and refreshes of
    /// the shards read since their last answer, each at most once a second. Also returns the
    /// stats rows to send with a flush.
    pub fn background(&mut self, hot_at: f64, now_ms: u64) -> (Vec<Call>, Vec<Count>) {
        self.calls(hot_at, now_ms, false)
    }

    /// Everything waiting, due or not (the stats page shows this isolate's counts at once).
    pub fn flush_all(&mut self, hot_at: f64, now_ms: u64) -> (Vec<Call>, Vec<Count>) {
        self.calls(hot_at, now_ms, true)
    }

    fn calls(&mut self, hot_at: f64, now_ms: u64, force: bool) -> (Vec<Call>, Vec<Count>) {
        let mut calls: Vec<Call> = Vec::new();
        let mut stats = Vec::new();
        if self.batch.due(now_ms) || (force && !self.batch.is_empty()) {
            let flush = self.batch.take(now_ms);
            stats = flush.stats;
            for (s, add) in flush.signups {
                // the batch already limits flushes to one a second: only a call in flight waits
                if !self.snapshot.in_flight(s) {
                    let read = self.reads.remove(&s).map(|m| m.into_iter().collect()).unwrap_or_default();
                    self.snapshot.sent(s, false, now_ms);
                    calls.push(Call {
                        shard: s,
                        exchange: Exchange { now_ms, add, read, hot_at, marks: self.marks_for(s) },
                        awaited: false,
                    });
                } else {
                    // a call to it is in flight: next second
                    self.batch.restore_signups(s, add);
                }
            }
        }
        let due: Vec<u32> = self
            .reads
            .keys()
            .chain(self.marks_out.keys())
            .copied()
            .collect::<std::collections::BTreeSet<u32>>()
            .into_iter()
            .filter(|s| self.snapshot.refresh_due(*s, now_ms))
            .collect();
        for s in due {
            let read: Vec<(String, u32)> =
                self.reads.remove(&s).map(|m| m.into_iter().collect()).unwrap_or_default();
            self.snapshot.sent(s, false, now_ms);
            calls.push(Call {
                shard: s,
                exchange: Exchange { now_ms, add: Vec::new(), read, hot_at, marks: self.marks_for(s) },
                awaited: false,
            });
        }
        (calls, stats)
    }

    /// The marks waiting for shard `s`, taken.
    fn marks_for(&mut self, s: u32) -> Vec<(String, line::Mark)> {
        self.marks_out.remove(&s).map(|m| m.into_iter().collect()).unwrap_or_default()
    }

    /// A call answered.
    pub fn answered(&mut self, call: &Call, reply: &Reply, now_ms: u64) {
        let batch = &self.batch;
        let s = call.shard;
        self.snapshot.answered(s, &call.asked(), reply, |k| batch.pending(s, k), now_ms);
    }

    /// A call failed: its deltas go back into the batch. Returns whether to log now.
    pub fn failed(&mut self, call: Call, error: &str, now_ms: u64) -> bool {
        let log = self.snapshot.failed(call.shard, error, now_ms);
        self.batch.restore_signups(call.shard, call.exchange.add);
        log
    }

    /// A stats flush failed: its rows go back.
    pub fn stats_failed(&mut self, rows: Vec<Count>) {
        self.batch.restore_stats(rows);
    }
}

#[cfg(test)]
mod line_fleet;

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[k.clone()]` reads better in these tables
mod tests {
    use super::*;
    use crate::policy::{CohortKind, Turn};
    use crate::store::cohorts::Shard;

    pub(super) const W: Windows = Windows {
        js: 60,
        no_js: 600,
        otp: 3600,
        otp_grace: 120,
        otp_seen: 3600,
        otp_usual: 3600,
        usual: 3600,
    };

    /// The next number of a xorshift stream (the fleet tests' draws).
    pub(super) fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// `/signup` with a capacity of 300 a minute, 10 s periods and a line of at most 900 s.
    pub(super) fn line_route() -> crate::policy::Capacity {
        crate::policy::Capacity {
            route: "/signup".into(),
            what: crate::policy::CapacityOf::Signups,
            per_minute: 300,
            ceiling_bits: 8,
            period_secs: 10,
            line_max_wait_secs: 900,
        }
    }

    /// A sign-up's keys on `cap`'s route from network `asn`: its ASN, the route's total and
    /// the ASN's share of it.
    pub(super) fn keys_on(cap: &crate::policy::Capacity, asn: u32) -> Vec<CohortKey> {
        let c = CohortKey::new(CohortKind::Asn, &asn.to_string());
        let mut k = vec![c.clone(), cap.total_key()];
        k.extend(cap.cohort_key(&c));
        k
    }

    /// Many isolates, one set of real shards: what the Worker does, with virtual time.
    pub(super) struct World {
        pub(super) shards: Vec<Shard>,
        pub(super) isolates: Vec<Control>,
        calls: u64,
    }

    impl World {
        pub(super) fn new(n_shards: u32, n_isolates: usize) -> World {
            World {
                shards: (0..n_shards).map(|_| Shard::default()).collect(),
                isolates: (0..n_isolates).map(|_| Control::default()).collect(),
                calls: 0,
            }
        }

        pub(super) fn run(&mut self, i: usize, calls: Vec<Call>, now: u64) {
            for c in calls {
                self.calls += 1;
                let reply = self.shards[c.shard as usize].exchange(&c.exchange);
                self.isolates[i].answered(&c, &reply, now);
            }
        }

        /// A request in isolate `i`: cold shards awaited, decision, optional sign-up, then
        /// the background calls.
        fn request(&mut self, i: usize, keys: &[CohortKey], signup: bool, now: u64) -> CohortState {
            let n = self.shards.len() as u32;
            let cold = self.isolates[i].cold(keys, n, W, 20.0, now);
            self.run(i, cold, now);
            let st = self.isolates[i].state(keys, false, n, W, None, now);
            if signup {
                self.isolates[i].count_signup(keys, false, n, W, now);
            }
            let (bg, _) = self.isolates[i].background(20.0, now);
            self.run(i, bg, now);
            st
        }
    }

    fn keys(asn: u32) -> Vec<CohortKey> {
        vec![
            CohortKey::new(CohortKind::Asn, &asn.to_string()),
            CohortKey::new(CohortKind::Country, "DE"),
            CohortKey::new(CohortKind::UaFamily, "chrome"),
        ]
    }

    #[test]
    fn a_challenge_flood_costs_calls_per_second_not_per_request() {
        let mut w = World::new(64, 1);
        // 10,000 challenges in 10 s from one network
        for i in 0..10_000u64 {
            w.request(0, &keys(64500), false, 1_000_000 + i);
        }
        // the keys fall in at most 4 shards (with site), refreshed once a second each
        assert!(w.calls <= 4 * 11, "{} calls for 10,000 challenges", w.calls);
        let calls = w.isolates[0].snapshot.health().calls;
        assert!(calls.request_path <= 4, "only the cold start waits: {calls:?}");
    }

    #[test]
    fn sign_ups_in_many_isolates_reach_every_isolate_within_the_bound() {
        let mut w = World::new(64, 4);
        let spiking = keys(666);
        let mut t = 1_000_000u64;
        // 200 sign-ups/s from one network, spread over 4 isolates, for 5 s
        for _ in 0..1000 {
            t += 5;
            let i = (t as usize / 5) % 4;
            w.request(i, &spiking, true, t);
        }
        let after_signups = w.calls;
        // every isolate sees ~all 1000 sign-ups, not just its quarter
        // a second later every isolate has flushed its last deltas; a second after that every
        // isolate has refreshed: the bound is one flush interval plus one refresh interval
        for i in 0..4 {
            w.request(i, &spiking, false, t + 1000);
        }
        for i in 0..4 {
            w.request(i, &spiking, false, t + 2000);
        }
        for i in 0..4 {
            let st = w.request(i, &spiking, false, t + 2001);
            let r = st.rates.iter().find(|(k, _)| k.as_str() == "asn:666").map_or(0.0, |(_, r)| *r);
            assert!(r > 900.0, "isolate {i} sees {r} of ~950");
        }
        // 1000 sign-ups x 3 keys: one call per shard per isolate per second, not 3000
        assert!(after_signups <= 4 * 4 * 6, "{after_signups} calls");
    }

    #[test]
    fn a_flush_right_after_a_refresh_of_the_same_shard_is_sent() {
        let mut w = World::new(64, 1);
        let k = keys(64500);
        w.request(0, &k, false, 1_000_000); // refreshes the shards
        w.isolates[0].count_signup(&k, false, 64, W, 1_000_010);
        let (calls, _) = w.isolates[0].flush_all(20.0, 1_000_020);
        let sent: u32 = calls.iter().flat_map(|c| &c.exchange.add).map(|d| d.n).sum();
        assert_eq!(sent, 3, "the deltas go out with the flush, not back into the batch");
        assert!(w.isolates[0].batch.is_empty());
    }

    /// The capacity controller fed by real shards through the snapshot: what the Worker runs,
    /// with virtual time. A bot network's solvers are elastic (each extra bit halves what its
    /// compute admits); people are not.
    #[test]
    fn capacity_holds_a_spike_through_the_shards_while_a_small_cohort_pays_the_base_price() {
        use crate::policy::{Capacity, CapacityOf};
        let cap = Capacity {
            route: "/signup".into(),
            what: CapacityOf::Signups,
            per_minute: 120,
            ceiling_bits: 8,
            period_secs: 5,
            line_max_wait_secs: 0,
        };
        let keys_of = |asn: u32| {
            let mut k = vec![CohortKey::new(CohortKind::Asn, &asn.to_string())];
            let on_route: Vec<CohortKey> = k.iter().filter_map(|c| cap.cohort_key(c)).collect();
            k.push(cap.total_key());
            k.extend(on_route);
            k
        };
        let (bots, people) = (keys_of(666), keys_of(3320));
        let mut w = World::new(64, 2);
        let mut t = 1_000_000u64;
        let mut credit = 0.0f64;
        let mut admitted: Vec<(u64, &str)> = Vec::new();
        let mut last = (None, None);
        // 5 minutes: bots try 20 sign-ups a second (1,200/min), people one every 2 s
        for s in 0..300u64 {
            for n in 0..20u64 {
                t += 40;
                let i = (n % 2) as usize;
                let n_shards = w.shards.len() as u32;
                let cold = w.isolates[i].cold(&bots, n_shards, W, 20.0, t);
                w.run(i, cold, t);
                let st = w.isolates[i].state(&bots, false, n_shards, W, Some(&cap), t);
                let Some(price) = st.capacity else { panic!("a capacity route is priced") };
                last.0 = Some(price.clone());
                if price.shed.is_none() {
                    credit += 1.0 / 2f64.powi(i32::from(price.extra_bits));
                    if credit >= 1.0 {
                        credit -= 1.0;
                        w.isolates[i].count_signup(&bots, false, n_shards, W, t);
                        admitted.push((s, "bots"));
                    }
                }
                if n == 0 && s % 2 == 0 {
                    let st = w.isolates[i].state(&people, false, n_shards, W, Some(&cap), t);
                    let Some(price) = st.capacity else { panic!("priced") };
                    last.1 = Some(price.clone());
                    if price.shed.is_none() {
                        w.isolates[i].count_signup(&people, false, n_shards, W, t);
                        admitted.push((s, "people"));
                    }
                }
                let (bg, _) = w.isolates[i].background(20.0, t);
                w.run(i, bg, t);
            }
        }
        let last_minutes =
            |who: &str| admitted.iter().filter(|(s, w)| *s >= 180 && *w == who).count() as f64 / 2.0;
        let total = last_minutes("bots") + last_minutes("people");
        assert!(total <= 120.0 * 1.1, "held near capacity: {total}/min over the last two minutes");
        assert!(total >= 120.0 * 0.4, "not starved: {total}/min");
        assert_eq!(last_minutes("people"), 30.0, "every person admitted");
        let (bots_price, people_price) =
            (last.0.unwrap_or_else(|| unreachable!()), last.1.unwrap_or_else(|| unreachable!()));
        assert!(bots_price.extra_bits >= 3 || bots_price.shed.is_some(), "{bots_price:?}");
        assert_eq!(
            (people_price.extra_bits, people_price.shed),
            (0, None),
            "the small cohort pays the base price"
        );
    }

    /// The full-route guard over real shards and stale snapshots: sign-ups at twice a line
    /// route's capacity spread over a fleet of isolates, each forwarding only while its
    /// guard reads room (all of it, or near full a drawn share). Whatever the fleet's size, no
    /// sliding minute goes over capacity and none falls far under it.
    #[test]
    fn a_fleet_of_isolates_holds_a_full_route_at_capacity_in_every_minute() {
        let cap = line_route();
        let keys_of = |asn: u32| keys_on(&cap, asn);
        for n_isolates in [2usize, 8, 20] {
            let mut w = World::new(64, n_isolates);
            let n_shards = w.shards.len() as u32;
            let start = 1_000_000u64;
            let mut forwarded: Vec<u64> = Vec::new();
            let mut x = 0x9e37_79b9_u64 ^ n_isolates as u64;
            // four minutes at 600 sign-ups a minute, each to a random isolate
            for n in 0..2400u64 {
                xorshift(&mut x);
                let t = start + n * 100;
                let i = (x % n_isolates as u64) as usize;
                let keys = keys_of(64_500 + (x >> 32) as u32 % 50);
                let cold = w.isolates[i].cold(&keys, n_shards, W, 20.0, t);
                w.run(i, cold, t);
                let st = w.isolates[i].state(&keys, false, n_shards, W, Some(&cap), t);
                // a place served long ago, drawn like the pipeline draws it
                let draw = (x >> 11) as f64 / (1u64 << 53) as f64;
                let turn = st.capacity.and_then(|c| c.line).map_or(Turn::Now, |l| l.turn(0, draw));
                let at = UnixTime::from_millis(t);
                if turn == Turn::Now && w.isolates[i].hold_forward(&cap.route, cap.per_minute, at) == 0 {
                    w.isolates[i].count_signup(&keys, false, n_shards, W, t);
                    w.isolates[i].capacity.entry(cap.route.clone()).or_default().served(t);
                    forwarded.push(t);
                }
                let (bg, _) = w.isolates[i].background(20.0, t);
                w.run(i, bg, t);
            }
            // every sliding minute from the second on
            let (mut most, mut least) = (0, usize::MAX);
            for from in (start + 60_000..=start + 180_000).step_by(1_000) {
                let n = forwarded.iter().filter(|t| (from..from + 60_000).contains(*t)).count();
                most = most.max(n);
                least = least.min(n);
            }
            assert!(most <= 300, "{n_isolates} isolates: {most} forwarded in a minute, capacity 300");
            assert!(least >= 270, "{n_isolates} isolates: only {least} in a minute, capacity 300");
        }
    }
}
