//! The virtual-time event loop. Arrivals of each population are a Poisson process with the
//! scenario's rate over time (drawn by thinning from the population's own seeded stream; a
//! pulsing fleet's rate is zero while it is off); each arrival becomes an attempt that fetches
//! a challenge, solves for the modelled time, submits, and reacts to what the gate answers
//! (busy, risk increased, refused, a wait page) as its population behaves. Every request goes
//! to one of the scenario's isolates ([`crate::drill::isolates`]). Events at the same virtual
//! millisecond are processed together and see the same counters: counts made during an
//! instant are applied when it ends.
//!
//! Deterministic: the same scenario, defence and seed give the same report.

mod arrive;
mod fetch;
mod react;
mod requests;
mod submit;
mod work;

use crate::drill::fleet::FleetState;
use crate::drill::gate::{Lowered, MemoryGate};
use crate::drill::isolates::Isolates;
use crate::drill::population::{Client, Factory, Location};
use crate::drill::report::{End, PersonEnd, Report};
use crate::drill::rng::Rng;
use crate::drill::scenario::Scenario;
use crate::protocol::reject::RejectKind;
use crate::protocol::solution::Solution;
pub use requests::Exported;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// What stands between the clients and the origin.
#[derive(Clone, Debug)]
pub enum Defence {
    /// Nothing: every sign-up goes to the origin.
    NoGate,
    /// The incident's first response: only phone numbers with this calling code may sign up.
    OnlyCallingCode(String),
    /// The incident's second response: registration closed ("registration may be busy").
    Closed,
    /// The gate, with this (lowered) policy, a label for reports, and how the widget works.
    Gate(Box<Lowered>, String, Widget),
    /// A control: this defence with the scenario's people only (no attacker), so a report
    /// shows what the attack itself cost people.
    PeopleOnly(Box<Defence>),
}

/// How the people's widget (and scripts, when a price moves) pay.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Widget {
    /// Before banked effort: from the first focus the challenge is solved with every core; a
    /// price that rose by submission is a new challenge, solved from the start.
    SolveOnFocus,
    /// Banked effort (docs/widget.md § Banking): one worker from the first focus toward the
    /// gate's suggestion while the person types, every core after submit; a price that moved
    /// is topped up (the work done is kept), by people and scripts alike.
    Banking,
}

/// Virtual time starts here (Unix ms), so challenge times are plausible.
pub const EPOCH_MS: u64 = 1_800_000_000_000;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive(u32),
    Fetch(u32),
    Submit(u32),
    Replay(u32),
    /// Ask `<prefix>/topup` for the price now and add the top-up offered (banked effort).
    TopUp(u32),
    /// Enter a code that was sent (the OTP check route): an index into the pending checks.
    Check(u32),
}

/// A code sent to a client who will enter it: the check request to make.
struct PendingCheck {
    pop: usize,
    facts: crate::request::facts::RequestFacts,
    body: Vec<u8>,
    /// Its own draws (the isolate, the gate's bytes), taken from the population's stream when
    /// the code was sent whether or not a gate sees the check.
    luck: Rng,
}

struct Attempt {
    pop: usize,
    client: Client,
    first_ms: u64,
    busy: u32,
    refetches: u32,
    /// The solved challenge and its top-ups.
    solution: Option<Solution>,
    /// When the person pressed submit (the felt wait starts); fleets: their first request.
    press_ms: u64,
    /// What the widget asks to bank toward at its next top-up (lowered expected hashes; 0:
    /// the next top-up is the one on submit).
    want: u64,
    /// Top-up requests made (bounded: a price that keeps moving ends in a new challenge).
    topup_asks: u32,
    /// The solution was already sent once (a resend after busy).
    sent: bool,
    /// The no-JS path's wait token, once the wait page gave one.
    wait_token: Option<String>,
    replays_left: u32,
    /// People: asked more than the base price at least once.
    charged_more: bool,
    /// `in_line` answers so far (bounded).
    line_answers: u32,
    id: u64,
}

/// What the defence answered a submission.
enum Outcome {
    Admitted,
    Refused(RejectKind),
    Wait(String),
    /// A waiting line's turn has not come: (estimated wait, ask again after), seconds.
    InLine(u32, u32),
}

/// What a run is played with and does not change.
#[derive(Copy, Clone)]
struct Setup {
    people_n: usize,
    /// Bits the drill lowers every price by (its solves are real); the time charged is for the
    /// full price.
    bits: u8,
    /// `2^bits`: one lowered hash is this many real ones.
    scale: f64,
    /// The policy's base price (difficulty, k): people asked more are "charged more".
    base: (u8, u8),
    widget: Widget,
    rtt: u64,
    max_queue_ms: f64,
}

/// The events to play, in virtual time (ties in the order they were scheduled).
#[derive(Default)]
struct Events {
    heap: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
}

impl Events {
    fn push(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, ev)));
    }

    fn pop(&mut self) -> Option<(u64, Ev)> {
        self.heap.pop().map(|Reverse((t, _, ev))| (t, ev))
    }
}

/// How attempts ended: people's ends are kept for the report.
struct Ends {
    people: Vec<PersonEnd>,
    people_n: usize,
    rtt: u64,
}

impl Ends {
    /// Ends attempt `idx` at `t` and frees its slot.
    fn finish(&mut self, slab: &mut [Option<Attempt>], free: &mut Vec<u32>, idx: u32, end: End, t: u64) {
        if let Some(att) = slab.get_mut(idx as usize).and_then(Option::take) {
            if att.pop < self.people_n {
                self.people.push(PersonEnd {
                    asn: att.client.asn,
                    prefix: att.client.prefix,
                    segment: att.client.segment.clone(),
                    end,
                    charged_more: att.charged_more,
                    ever_shed: att.busy > 0,
                    first_ms: att.first_ms,
                    ms: t.saturating_sub(att.first_ms),
                    device: att.client.device,
                    felt_ms: (t + self.rtt).saturating_sub(att.press_ms),
                    cohorts: att.client.cohorts(),
                });
            }
            free.push(idx);
        }
    }
}

/// A run being played: the attempts in flight, the events to come, what happened so far. Each
/// kind of event is a method in its own file (`arrive`, `fetch`, `submit`).
struct Run<'s, 'x> {
    scenario: &'s Scenario,
    defence: &'s Defence,
    setup: Setup,
    factory: Factory<'s>,
    rngs: Vec<Rng>,
    /// Each population's own stream for what the engine draws on its requests' behalf (the
    /// gate's random bytes, the isolate, entering a code): a defence that treats one fleet
    /// differently leaves everyone else's draws as they were (common random numbers).
    luck: Vec<Rng>,
    isolates: Isolates,
    report: Report,
    gate: Option<MemoryGate>,
    otp_route: Option<String>,
    fleets: Vec<FleetState>,
    /// Fixed addresses of fleets that do not rotate.
    fixed: Vec<Vec<Location>>,
    fixed_next: Vec<usize>,
    /// The next number of each fleet that pumps one number after another.
    range_next: Vec<u64>,
    checks: Vec<PendingCheck>,
    check_path: Option<String>,
    attacker_asns: HashSet<u32>,
    attacker_prefixes: HashSet<u32>,
    /// The country, browser family and calling code cohorts attacker requests came in.
    attacker_cohorts: HashSet<String>,
    slab: Vec<Option<Attempt>>,
    free: Vec<u32>,
    events: Events,
    ends: Ends,
    next_attempt_id: u64,
    export: Option<&'x mut Vec<Exported>>,
}

/// Plays a scenario. `progress` is called with the fraction of virtual time played.
pub fn run(
    scenario: &Scenario,
    defence: &Defence,
    seed: u64,
    mut progress: Option<&mut dyn FnMut(f64)>,
    export: Option<&mut Vec<Exported>>,
) -> Report {
    if let Defence::PeopleOnly(inner) = defence {
        let mut people_only = scenario.clone();
        people_only.attackers.clear();
        let mut report = run(&people_only, inner, seed, progress, export);
        report.defence = crate::drill::report::defence_name(defence);
        return report;
    }
    let duration_ms = u64::from(scenario.duration_secs) * 1000;
    let mut r = Run::new(scenario, defence, seed, export);
    let mut last_progress = 0u64;
    let mut current = 0u64;
    while let Some((t, ev)) = r.events.pop() {
        // the run is `duration_secs` long: a fleet's attempt still going at the end is cut
        // (people finish theirs: a few minutes at most)
        if t >= duration_ms
            && let Ev::Fetch(idx) | Ev::Submit(idx) | Ev::Replay(idx) | Ev::TopUp(idx) = ev
            && let Some(Some(att)) = r.slab.get(idx as usize)
            && att.pop >= r.setup.people_n
        {
            r.report.pop_mut(att.pop).unfinished += 1;
            r.ends.finish(&mut r.slab, &mut r.free, idx, End::Other, t);
            continue;
        }
        if t != current {
            current = t;
            if let Some(cb) = progress.as_deref_mut()
                && t >= last_progress + duration_ms / 200
            {
                last_progress = t;
                cb((t as f64 / duration_ms as f64).min(1.0));
            }
        }
        // after the end, people still in a line or solving finish in minutes of their own
        let minute = (t / 60_000) as usize;
        match ev {
            Ev::Arrive(p) => r.arrive(p as usize, t),
            Ev::Fetch(idx) => r.fetch(idx, t),
            Ev::TopUp(idx) => r.topup(idx, t, minute),
            Ev::Check(ci) => r.check(ci, t),
            Ev::Submit(idx) => r.submit(idx, t, minute, false),
            Ev::Replay(idx) => r.submit(idx, t, minute, true),
        }
    }
    if let Some(g) = r.gate.as_ref() {
        r.report.store_calls = g.store_calls();
    }
    r.report.cold_starts = r.isolates.cold_starts;
    r.report.finish(scenario, &r.ends.people, &r.attacker_asns, &r.attacker_prefixes, &r.attacker_cohorts);
    if let Some(cb) = progress {
        cb(1.0);
    }
    r.report
}

impl<'s, 'x> Run<'s, 'x> {
    /// A run of `scenario` under `defence` with `seed`, every population's first arrival
    /// scheduled.
    fn new(
        scenario: &'s Scenario,
        defence: &'s Defence,
        seed: u64,
        export: Option<&'x mut Vec<Exported>>,
    ) -> Self {
        let factory = Factory::new(scenario, "example.com");
        let people_n = scenario.people.len();
        let pops = people_n + scenario.attackers.len();
        let rngs: Vec<Rng> = (0..pops).map(|i| Rng::derive(seed, i as u64 + 1)).collect();
        let d = &scenario.drill;
        let minutes = scenario.duration_secs.div_ceil(60) as usize;
        let isolates = Isolates::new(d.isolates, d.isolate_life_secs, Rng::derive(seed, 20_000));
        let (gate, bits, base, widget, check_path) = match defence {
            Defence::Gate(l, _, w) => (
                MemoryGate::new(l, isolates.len()).ok(),
                l.bits,
                (l.policy.difficulty, l.policy.k),
                *w,
                l.policy.otp.as_ref().map(|o| o.check.path.clone()),
            ),
            _ => (None, 0, (0, 0), Widget::SolveOnFocus, None),
        };
        let rtt = u64::from(d.rtt_ms);
        let fixed = scenario
            .attackers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if a.rotate {
                    return Vec::new();
                }
                let mut r = Rng::derive(seed, 10_000 + i as u64);
                (0..a.addresses).map(|_| factory.location(&mut r, &a.networks)).collect()
            })
            .collect();
        let mut run = Run {
            scenario,
            defence,
            setup: Setup {
                people_n,
                bits,
                scale: 2f64.powi(i32::from(bits)),
                base,
                widget,
                rtt,
                max_queue_ms: f64::from(d.max_queue_secs) * 1000.0,
            },
            factory,
            rngs,
            luck: (0..pops).map(|i| Rng::derive(seed, 30_000 + i as u64)).collect(),
            isolates,
            report: Report::new(scenario, defence, seed, minutes),
            gate,
            otp_route: scenario.origin.otp_route.clone(),
            fleets: scenario.attackers.iter().map(FleetState::new).collect(),
            fixed,
            fixed_next: vec![0; scenario.attackers.len()],
            range_next: vec![0; scenario.attackers.len()],
            checks: Vec::new(),
            check_path,
            attacker_asns: HashSet::new(),
            attacker_prefixes: HashSet::new(),
            attacker_cohorts: HashSet::new(),
            slab: Vec::new(),
            free: Vec::new(),
            events: Events::default(),
            ends: Ends { people: Vec::new(), people_n, rtt },
            next_attempt_id: 0,
            export,
        };
        for (p, rng) in run.rngs.iter_mut().enumerate() {
            if let Some(t) = next_arrival(scenario, p, 0.0, rng) {
                run.events.push(t, Ev::Arrive(p as u32));
            }
        }
        run
    }
}

/// The next arrival after `t` seconds (ms), by thinning a Poisson process at the peak rate;
/// a pulsing fleet sends nothing while it is off.
fn next_arrival(scenario: &Scenario, p: usize, mut t: f64, rng: &mut Rng) -> Option<u64> {
    let n = scenario.people.len();
    let (rate, pulse) = if p < n {
        (&scenario.people.get(p)?.rate, None)
    } else {
        let a = scenario.attackers.get(p - n)?;
        (&a.rate, a.adapt.pulse.as_ref())
    };
    let peak = rate.peak();
    if peak <= 0.0 {
        return None;
    }
    let end = f64::from(scenario.duration_secs);
    loop {
        t += rng.exp(1.0 / peak);
        if t >= end {
            return None;
        }
        if let Some(pl) = pulse
            && !pl.on(t)
        {
            // skip to the start of the next burst (memoryless: no arrival is lost)
            let period = f64::from(pl.on_secs + pl.off_secs);
            t = (t / period).ceil() * period;
            continue;
        }
        if rng.f64() * peak <= rate.at(t) {
            return Some((t * 1000.0) as u64);
        }
    }
}
