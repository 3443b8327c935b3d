//! The isolate's side of every counter and stats call, as rules over plain data: which calls a
//! read awaits, what a failed or answered call changes, when the counters count as unreadable,
//! what a finished request records and which calls go out in the background, where a panic
//! switch is written and how the stats page merges the shards' answers. Every driver (the
//! Worker, the drill, the tests) makes the calls these functions name and hands the answers
//! back; none decides.
//!
//! **Clock.** Every entry point takes the driver's `now`; the isolate's clock only advances
//! ([`Control::clock`]), so an answer that lands with an older time (a slow call, a request
//! that read its time before another) never moves the snapshot back.

use super::line::Stand;
use super::{Call, Control, Windows, hot_at};
use crate::policy::{Capacity, CohortKey, CohortState, Decision, Policy};
use crate::protocol::time::UnixTime;
use crate::store::cohorts::{Entry, Panic, Reply, shard};
use crate::store::stats::{self, Action, Count};
use serde::Serialize;

/// The counters one request reads, and moves once the origin accepted its sign-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// The cohort keys.
    pub keys: Vec<CohortKey>,
    /// Whether the site-wide count is kept too.
    pub site: bool,
    /// Their decay window, seconds.
    pub window_secs: u32,
    /// The route's capacity, when it states one (its `cap:` keys are among `keys`).
    pub capacity: Option<Capacity>,
    /// Keys read for the decision but never moved by it (an OTP range's verified codes,
    /// tries and block switch).
    pub read_only: Vec<CohortKey>,
    /// Keys read only from what this isolate already holds, never asked of their shard (a
    /// number range's counts ahead of a submission: a request that costs its client nothing
    /// adds no read); [`CohortState::peeked`] holds those it has a reading of.
    pub peek: Vec<CohortKey>,
    /// Keys an accepted sign-up moves by more than one (the usual site rate's sum,
    /// `policy::usual`; read with `read_only`).
    pub weighted: Vec<(CohortKey, u32)>,
}

impl Counted {
    /// Whether there is anything to count.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.site
    }

    /// Every key read: the moved ones, then the read-only ones.
    pub fn read_keys(&self) -> Vec<CohortKey> {
        self.keys.iter().chain(&self.read_only).cloned().collect()
    }
}

/// A count for the stats page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// What the gate did.
    pub action: Action,
    /// Rejection code, rule name or `-`.
    pub code: String,
}

impl Tally {
    /// A count of `action` under `code`.
    pub fn new(action: Action, code: impl Into<String>) -> Tally {
        Tally { action, code: code.into() }
    }

    /// The counts of a policy decision: `action` under the deciding rule (or `-`), and in
    /// shadow mode `shadow` under the rule that would have decided.
    pub fn of_decision(action: Action, d: &Decision) -> Vec<Tally> {
        let rule = d.rule.clone().unwrap_or_else(|| "-".into());
        let mut tallies = vec![Tally::new(action, rule.clone())];
        if let Some(shadow) = &d.shadow {
            tallies.push(Tally::new(Action::Shadow, shadow.rule.clone().unwrap_or(rule)));
        }
        tallies
    }
}

/// What a finished request leaves for the counters: its stats counts and, for a sign-up the
/// origin accepted, the cohorts it moves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Stats counts.
    pub tallies: Vec<Tally>,
    /// Cohort counts for an accepted sign-up.
    pub signup: Option<Counted>,
    /// Counters this request adds one to whatever its answer (an OTP send's try, a verified
    /// code), each in its own window.
    pub events: Vec<CohortKey>,
    /// For a sign-up forwarded on a route with a capacity: the route and when its challenge
    /// was issued (ms). A waiting line opens behind the latest place served ([`super::line`]).
    pub served_place: Option<(String, u64)>,
    /// For a place answered `in_line`: the route, its issue time (ms) and where it stood. A
    /// line that under-serves skips a stretch of places nobody asks for any more; one whose
    /// served places are held holds still.
    pub asked_place: Option<(String, u64, Stand)>,
}

/// A stats flush: rows for one stats shard.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsFlush {
    /// The stats shard.
    pub shard: u32,
    /// The rows (deltas).
    pub rows: Vec<Count>,
}

/// Calls to make without holding the request up (`wait_until` in the Worker).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Background {
    /// Counter shard calls (flushes, refreshes).
    pub calls: Vec<Call>,
    /// Decision counts for a stats shard.
    pub stats: Option<StatsFlush>,
}

impl Background {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.stats.is_none()
    }
}

/// A call's answer, as the driver got it.
pub type Answered = (Call, Result<Reply, String>);

/// The degraded-counters log line (written at most once per `snapshot::LOG_EVERY_MS`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Degraded {
    /// Always `cohorts`.
    pub gate: &'static str,
    /// Always `degraded`.
    pub condition: &'static str,
    /// The shard that failed.
    pub shard: u32,
    /// Its error.
    pub error: String,
    /// Shards failing now.
    pub failing_shards: Vec<u32>,
    /// Failed calls so far.
    pub errors: u64,
    /// Decisions taken on held levels so far.
    pub held_decisions: u64,
}

/// A panic switch write: the message and every counter shard it goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct PanicWrite {
    /// What to post.
    pub message: Panic,
    /// The shards (every shard for the site key, else the key's own).
    pub shards: Vec<u32>,
}

/// What the stats shards and counter shards answered for the stats page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsAnswers {
    /// Every stats shard's counts since the minute asked for (an error fails the page).
    pub counts: Vec<Result<Vec<Count>, String>>,
    /// Every counter shard's busiest keys (a shard that does not answer is left out).
    pub tops: Vec<Result<Vec<Entry>, String>>,
}

/// The stats page's data, merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsRead {
    /// Decision counts since the minute asked for.
    pub counts: Vec<Count>,
    /// The busiest cohorts (shards' and this isolate's not yet flushed), by rate.
    pub cohorts: Vec<Entry>,
    /// The counters' condition and this isolate's object calls.
    pub health: super::snapshot::Health,
    /// This isolate's capacity controllers.
    pub capacity: Vec<super::capacity::Reading>,
}

impl Control {
    /// The isolate's time in ms for a driver's `now`: never earlier than any time seen before.
    pub fn clock(&mut self, now: UnixTime) -> u64 {
        self.last_ms = self.last_ms.max(now.millis());
        self.last_ms
    }

    /// The calls to await before deciding on `want`: its cold shards (a new or idle isolate),
    /// each at most once per staleness bound. Nothing while the isolate is busy.
    pub fn cold_calls(&mut self, policy: &Policy, shards: u32, want: &Counted, now: UnixTime) -> Vec<Call> {
        let now_ms = self.clock(now);
        let w = Windows::for_read(policy, &want.keys, want.window_secs);
        self.cold(&want.read_keys(), shards, w, hot_at(policy), now_ms)
    }

    /// The calls that read every key of `want` from its shard now, warm or not (awaited).
    pub fn fresh_calls(&mut self, policy: &Policy, shards: u32, want: &Counted, now: UnixTime) -> Vec<Call> {
        let now_ms = self.clock(now);
        let w = Windows::for_read(policy, &want.keys, want.window_secs);
        let mut by_shard: std::collections::BTreeMap<u32, Vec<(String, u32)>> = Default::default();
        for k in want.read_keys() {
            by_shard
                .entry(shard(k.as_str(), shards))
                .or_default()
                .push((k.as_str().to_string(), w.of_key(&k)));
        }
        let hot = hot_at(policy);
        by_shard
            .into_iter()
            .map(|(s, read)| {
                self.snapshot.sent(s, true, now_ms);
                Call {
                    shard: s,
                    exchange: crate::store::cohorts::Exchange {
                        now_ms,
                        add: Vec::new(),
                        read,
                        hot_at: hot,
                        marks: Vec::new(),
                    },
                    awaited: true,
                }
            })
            .collect()
    }

    /// Folds the awaited answers in and reads the state for a decision, from the snapshot.
    ///
    /// The JavaScript path always gets a state: an unreachable counter holds its last known
    /// levels (`snapshot`), never the base price by default, and `degraded` says so. The
    /// no-JS path's budget is its only price, so for its keys an unreachable shard is an
    /// error: the path closes.
    pub fn read(
        &mut self,
        policy: &Policy,
        shards: u32,
        want: &Counted,
        answers: Vec<Answered>,
        now: UnixTime,
    ) -> Result<CohortState, String> {
        for (call, answer) in answers {
            self.on_answer(call, answer, now);
        }
        let now_ms = self.clock(now);
        // on every decision: the failing shards alone, not a copy of the whole health
        let failing: Vec<u32> = self.snapshot.failing_shards().collect();
        let unreachable = if failing.is_empty() {
            None
        } else {
            want.keys.iter().find(|k| failing.contains(&shard(k.as_str(), shards)))
        };
        let why = |key: &CohortKey| {
            let error = self.snapshot.health().last_error.unwrap_or_default();
            format!("counters unreachable (shard of {key}: {error})")
        };
        if let Some(key) = unreachable
            && want.keys.iter().any(CohortKey::is_no_js)
        {
            return Err(why(key));
        }
        let degraded = unreachable.map(|k| format!("{}, last known levels held", why(k)));
        let w = Windows::for_read(policy, &want.keys, want.window_secs);
        let mut state = self.state(&want.read_keys(), want.site, shards, w, want.capacity.as_ref(), now_ms);
        state.degraded = degraded;
        state.peeked = self.snapshot.peek(&want.peek, |k| w.of_key(k), now_ms);
        Ok(state)
    }

    /// Folds one call's answer in. For a failure, the deltas go back into the batch and the
    /// condition is returned when it is time to log it.
    pub fn on_answer(
        &mut self,
        call: Call,
        answer: Result<Reply, String>,
        now: UnixTime,
    ) -> Option<Degraded> {
        let now_ms = self.clock(now);
        match answer {
            Ok(reply) => {
                self.answered(&call, &reply, now_ms);
                None
            }
            Err(error) => {
                let shard = call.shard;
                if !self.failed(call, &error, now_ms) {
                    return None;
                }
                let h = self.snapshot.health();
                Some(Degraded {
                    gate: "cohorts",
                    condition: "degraded",
                    shard,
                    error,
                    failing_shards: h.failing_shards,
                    errors: h.errors,
                    held_decisions: h.held_decisions,
                })
            }
        }
    }

    /// Records a finished request's counts (the snapshot at once, the shards with the next
    /// flush) and returns the background calls due now. `policy` is `None` when the
    /// configuration is broken: decision counts still go to the stats.
    pub fn record(&mut self, policy: Option<(&Policy, u32)>, counts: &Counts, now: UnixTime) -> Background {
        let now_ms = self.clock(now);
        let minute = i64::try_from(now_ms / 60_000).unwrap_or(0);
        for t in &counts.tallies {
            self.count(minute, t.action, &t.code);
        }
        if let (Some(c), Some((policy, shards))) = (&counts.signup, policy)
            && !c.is_empty()
        {
            let w = Windows::for_read(policy, &c.keys, c.window_secs);
            self.count_signup(&c.keys, c.site, shards, w, now_ms);
            for (key, n) in &c.weighted {
                self.count_by(key, *n, shards, w, now_ms);
            }
        }
        if let Some((route, place_ms)) = &counts.served_place {
            self.capacity.entry(route.clone()).or_default().served(*place_ms);
        }
        if let Some((route, place_ms, stand)) = &counts.asked_place {
            self.capacity.entry(route.clone()).or_default().asked(*place_ms, *stand);
        }
        if let Some((policy, shards)) = policy
            && !counts.events.is_empty()
        {
            self.count_signup(&counts.events, false, shards, Windows::of(policy), now_ms);
        }
        // without a policy there is nothing to refresh for; a flush of counts is due anyway
        let hot = policy.map_or(f64::INFINITY, |(p, _)| hot_at(p));
        self.due_background(hot, now_ms, false)
    }

    /// Everything waiting, due or not (the stats page shows this isolate's counts at once).
    pub fn flush_now(&mut self, policy: Option<&Policy>, now: UnixTime) -> Background {
        let now_ms = self.clock(now);
        self.due_background(policy.map_or(f64::INFINITY, hot_at), now_ms, true)
    }

    fn due_background(&mut self, hot: f64, now_ms: u64, force: bool) -> Background {
        let (calls, rows) = if force { self.flush_all(hot, now_ms) } else { self.background(hot, now_ms) };
        let stats = (!rows.is_empty()).then(|| {
            self.snapshot.note_call(super::snapshot::CallKind::Stats);
            self.stats_turn = self.stats_turn.wrapping_add(1);
            StatsFlush { shard: self.stats_turn % stats::SHARDS, rows }
        });
        Background { calls, stats }
    }

    /// A ledger spend was made (counted among this isolate's object calls).
    pub fn spent(&mut self) {
        self.snapshot.note_call(super::snapshot::CallKind::Spend);
    }

    /// Where a panic switch goes: every shard for the site, else the key's own shard.
    pub fn panic_write(key: &CohortKey, until: Option<UnixTime>, shards: u32) -> PanicWrite {
        let shards_to: Vec<u32> =
            if key.is_site() { (0..shards.max(1)).collect() } else { vec![shard(key.as_str(), shards)] };
        PanicWrite {
            message: Panic { key: key.as_str().to_string(), until_ms: until.map_or(0, UnixTime::millis) },
            shards: shards_to,
        }
    }

    /// The switch was written (to the shards that answered): this isolate applies it at once,
    /// every other one within the staleness bound.
    pub fn panic_written(&mut self, key: &CohortKey, write: &PanicWrite, shards: u32) {
        for _ in &write.shards {
            self.snapshot.note_call(super::snapshot::CallKind::Panic);
        }
        self.snapshot.panic_set(key, write.message.until_ms, shards);
    }

    /// The stats page's data from the shards' answers and this isolate's own view: counts
    /// summed over the stats shards, the busiest cohorts over every counter shard and this
    /// isolate's not yet flushed counts (the higher figure wins), the health and the
    /// capacity controllers.
    pub fn stats_read(&mut self, answers: StatsAnswers, now: UnixTime) -> Result<StatsRead, String> {
        let now_ms = self.clock(now);
        let mut counts = Vec::new();
        for c in answers.counts {
            counts.extend(c?);
        }
        let mut entries: Vec<Entry> = Vec::new();
        for e in answers.tops.into_iter().flatten().flatten() {
            if !entries.iter().any(|a| a.key == e.key) {
                entries.push(e);
            }
        }
        for (key, rate) in self.snapshot.top(now_ms, 20) {
            match entries.iter_mut().find(|a| a.key == key) {
                Some(e) => e.rate = e.rate.max(rate),
                None => entries.push(Entry { key, rate, panic: false }),
            }
        }
        entries.sort_by(|a, b| b.rate.total_cmp(&a.rate).then_with(|| a.key.cmp(&b.key)));
        // the busiest cohorts and, apart, the busiest number ranges' counters, the busiest
        // calling codes' and networks' and every block switch (none crowds the others out)
        let otp_key = |e: &Entry| CohortKey::parse(&e.key).filter(|k| k.otp_count().is_some());
        let is_otp = |e: &Entry| otp_key(e).is_some();
        let is_code = |e: &Entry| otp_key(e).is_some_and(|k| crate::policy::is_calling_code_scope(k.value()));
        let is_network =
            |e: &Entry| otp_key(e).is_some_and(|k| crate::policy::network_in_scope(k.value()).is_some());
        let (switches, otp_counts): (Vec<Entry>, Vec<Entry>) =
            entries.iter().filter(|e| is_otp(e)).cloned().partition(|e| e.panic);
        // the site's sends are every share's base; a usual count (days long: larger than any
        // window's) goes with its scope's other counts, never in their place
        let value = |e: &Entry| otp_key(e).map(|k| k.value().to_string()).unwrap_or_default();
        let (site, otp_counts): (Vec<Entry>, Vec<Entry>) =
            otp_counts.into_iter().partition(|e| value(e) == "*");
        let (usual, otp_counts): (Vec<Entry>, Vec<Entry>) = otp_counts
            .into_iter()
            .partition(|e| otp_key(e).is_some_and(|k| k.otp_count() == Some(crate::policy::OtpCount::Usual)));
        let (networks, otp_counts): (Vec<Entry>, Vec<Entry>) =
            otp_counts.into_iter().partition(|e| is_network(e));
        let (codes, ranges): (Vec<Entry>, Vec<Entry>) = otp_counts.into_iter().partition(|e| is_code(e));
        let mut otp: Vec<Entry> = ranges
            .into_iter()
            .take(60)
            .chain(codes.into_iter().take(30))
            .chain(networks.into_iter().take(30))
            .chain(switches)
            .chain(site)
            .collect();
        let shown: std::collections::BTreeSet<String> = otp.iter().map(value).collect();
        otp.extend(usual.into_iter().filter(|e| shown.contains(&value(e))));
        entries.retain(|e| !is_otp(e));
        entries.truncate(20);
        entries.extend(otp);
        Ok(StatsRead {
            counts: stats::merge(counts),
            cohorts: entries,
            health: self.snapshot.health(),
            capacity: self.capacity.iter().map(|(route, ctl)| ctl.reading(route)).collect(),
        })
    }
}

/// The counter shards the stats page reads the busiest cohorts from.
pub fn top_shards(shards: u32) -> Vec<u32> {
    (0..shards.max(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::CohortKind;
    use crate::store::cohorts::Shard;

    const SHARDS: u32 = 8;

    fn policy() -> Policy {
        crate::policy::load(
            "version = 1\n[routes]\nprotected = [\"POST /signup\"]\n[attack]\nenabled = true\nwindow_secs = 60\ncohorts = [\"asn\"]\nlevels = [{ at = 5, extra_bits = 2 }]\n[no_js]\nroutes = [\"/signup\"]\nbusy_at = { asn = 3 }",
        )
        .unwrap()
    }

    fn asn() -> CohortKey {
        CohortKey::new(CohortKind::Asn, "64500")
    }

    fn want(keys: Vec<CohortKey>) -> Counted {
        Counted {
            keys,
            site: false,
            window_secs: 60,
            capacity: None,
            read_only: Vec::new(),
            peek: Vec::new(),
            weighted: Vec::new(),
        }
    }

    /// Answers calls from real shards, or fails them all.
    fn answer(shards: &mut [Shard], calls: Vec<Call>, fail: bool) -> Vec<Answered> {
        calls
            .into_iter()
            .map(|c| {
                let a = if fail {
                    Err("down".to_string())
                } else {
                    Ok(shards[c.shard as usize].exchange(&c.exchange))
                };
                (c, a)
            })
            .collect()
    }

    #[test]
    fn an_unreachable_shard_closes_the_no_js_budget_and_holds_the_js_levels() {
        let p = policy();
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::default()).collect();
        let mut c = Control::default();
        let t0 = UnixTime::from_secs(1_000_000);
        // six sign-ups from the network, counted and flushed
        for i in 0..6 {
            let counts = Counts {
                tallies: Vec::new(),
                signup: Some(want(vec![asn()])),
                events: Vec::new(),
                served_place: None,
                asked_place: None,
            };
            let bg = c.record(Some((&p, SHARDS)), &counts, t0.plus(i));
            let answers = answer(&mut shards, bg.calls, false);
            for (call, a) in answers {
                c.on_answer(call, a, t0.plus(i));
            }
        }
        // later, the shard fails
        let t1 = t0.plus(30);
        let js = want(vec![asn()]);
        let calls = c.cold_calls(&p, SHARDS, &js, t1);
        assert!(!calls.is_empty(), "a shard unheard from for 2 s is cold");
        let failed = answer(&mut shards, calls, true);
        let state = c.read(&p, SHARDS, &js, failed, t1).unwrap();
        let rate = state.rates[0].1;
        assert!(rate > 5.0, "the last known level is held, not decayed or zero: {rate}");
        assert!(state.degraded.as_deref().is_some_and(|d| d.contains("down")), "{state:?}");
        // the no-JS budget's shard fails: closed
        let no_js = want(vec![asn().no_js().unwrap()]);
        let calls = c.cold_calls(&p, SHARDS, &no_js, t1);
        let failed = answer(&mut shards, calls, true);
        let closed = c.read(&p, SHARDS, &no_js, failed, t1);
        assert!(closed.is_err_and(|e| e.contains("unreachable")));
    }

    #[test]
    fn peeked_keys_are_never_asked_of_a_shard_and_known_once_another_request_read_them() {
        let mut c = Control::default();
        let p = policy();
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::default()).collect();
        let range = CohortKey::parse("otp_sent:+996 500").unwrap();
        let t0 = UnixTime::from_secs(1_000);
        // a request that peeks: nothing of its key is asked, now or at the next refreshes
        let peeking = Counted { peek: vec![range.clone()], ..want(vec![asn()]) };
        let calls = c.cold_calls(&p, SHARDS, &peeking, t0);
        assert!(calls.iter().all(|call| call.exchange.read.iter().all(|(k, _)| k != range.as_str())));
        let answers = answer(&mut shards, calls, false);
        let state = c.read(&p, SHARDS, &peeking, answers, t0).unwrap();
        assert!(state.peeked.is_empty(), "unknown: {state:?}");
        for i in 1..5 {
            let (calls, _) = c.background(20.0, t0.millis() + i * 1000);
            assert!(calls.iter().all(|call| call.exchange.read.iter().all(|(k, _)| k != range.as_str())));
        }
        // a request that reads it (a submission): the next peek knows it (0: the shard has none)
        let reading = Counted { read_only: vec![range.clone()], ..want(vec![asn()]) };
        let t1 = UnixTime::from_secs(1_010);
        let calls = c.fresh_calls(&p, SHARDS, &reading, t1);
        let answers = answer(&mut shards, calls, false);
        c.read(&p, SHARDS, &reading, answers, t1).unwrap();
        let state = c.read(&p, SHARDS, &peeking, Vec::new(), t1).unwrap();
        assert_eq!(state.peeked, vec![(range.clone(), 0.0)]);
    }

    #[test]
    fn the_isolate_clock_only_advances() {
        let mut c = Control::default();
        assert_eq!(c.clock(UnixTime::from_millis(5_000)), 5_000);
        assert_eq!(c.clock(UnixTime::from_millis(4_000)), 5_000, "an answer timed earlier does not go back");
        assert_eq!(c.clock(UnixTime::from_millis(6_000)), 6_000);
    }

    #[test]
    fn a_site_panic_goes_to_every_shard_and_applies_here_at_once() {
        let site = Control::panic_write(&CohortKey::site(), Some(UnixTime::from_secs(100)), SHARDS);
        assert_eq!(site.shards, (0..SHARDS).collect::<Vec<_>>());
        assert_eq!((site.message.key.as_str(), site.message.until_ms), ("site", 100_000));
        let one = Control::panic_write(&asn(), None, SHARDS);
        assert_eq!(one.shards, [shard("asn:64500", SHARDS)]);
        assert_eq!(one.message.until_ms, 0, "off");
        let mut c = Control::default();
        c.panic_written(&CohortKey::site(), &site, SHARDS);
        let p = policy();
        let state = c.read(&p, SHARDS, &want(vec![asn()]), Vec::new(), UnixTime::from_secs(50)).unwrap();
        assert!(state.panicked.contains(&CohortKey::site()));
    }

    #[test]
    fn the_stats_page_merges_shards_and_the_isolate_view() {
        let mut c = Control::default();
        let p = policy();
        let now = UnixTime::from_secs(1_000_000);
        // this isolate counted a sign-up for asn:1 not yet flushed
        let counts = Counts {
            tallies: vec![Tally::new(Action::Reject, "busy")],
            signup: Some(want(vec![CohortKey::new(CohortKind::Asn, "1")])),
            events: Vec::new(),
            served_place: None,
            asked_place: None,
        };
        let _ = c.record(Some((&p, SHARDS)), &counts, now);
        let entry = |key: &str, rate: f64| Entry { key: key.into(), rate, panic: false };
        let row = |action, code: &str, n| Count { minute: 1, action, code: code.into(), n };
        let answers = StatsAnswers {
            counts: vec![Ok(vec![row(Action::Reject, "busy", 2)]), Ok(vec![row(Action::Reject, "busy", 3)])],
            tops: vec![Ok(vec![entry("asn:2", 9.0), entry("asn:1", 0.2)]), Err("shard down".into())],
        };
        let read = c.stats_read(answers, now).unwrap();
        assert_eq!(read.counts, [row(Action::Reject, "busy", 5)], "summed over the stats shards");
        let keys: Vec<(&str, f64)> = read.cohorts.iter().map(|e| (e.key.as_str(), e.rate.round())).collect();
        assert_eq!(
            keys,
            [("asn:2", 9.0), ("asn:1", 1.0)],
            "the isolate's higher figure wins; a shard that fails is left out"
        );
        let failed = StatsAnswers { counts: vec![Err("stats shard down".into())], tops: Vec::new() };
        assert!(c.stats_read(failed, now).is_err());
    }
}
