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

mod react;
mod requests;
mod work;

use crate::drill::fleet::{self, Decision, FleetState};
use crate::drill::gate::{Answered, Lowered, MemoryGate};
use crate::drill::isolates::Isolates;
use crate::drill::population::{Client, Factory, Location};
use crate::drill::report::{End, PersonEnd, Report};
use crate::drill::rng::Rng;
use crate::drill::scenario::Scenario;
use crate::protocol::reject::RejectKind;
use crate::protocol::solution::{self, MAX_TOP_UPS, Solution};
use crate::protocol::topup;
use react::{Next, refused, refused_request};
pub use requests::Exported;
use requests::{exported, form_body, route_of};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use work::{fleet_work_ms, gives_up_at, one_worker_hashes, person_solved_at, person_work_ms, topup_facts};

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

/// Plays a scenario. `progress` is called with the fraction of virtual time played.
pub fn run(
    scenario: &Scenario,
    defence: &Defence,
    seed: u64,
    mut progress: Option<&mut dyn FnMut(f64)>,
    mut export: Option<&mut Vec<Exported>>,
) -> Report {
    if let Defence::PeopleOnly(inner) = defence {
        let mut people_only = scenario.clone();
        people_only.attackers.clear();
        let mut report = run(&people_only, inner, seed, progress, export);
        report.defence = crate::drill::report::defence_name(defence);
        return report;
    }
    let factory = Factory::new(scenario, "example.com");
    let people_n = scenario.people.len();
    let pops = people_n + scenario.attackers.len();
    let mut rngs: Vec<Rng> = (0..pops).map(|i| Rng::derive(seed, i as u64 + 1)).collect();
    let mut engine_rng = Rng::derive(seed, 0);
    let d = &scenario.drill;
    let mut isolates = Isolates::new(d.isolates, d.isolate_life_secs, Rng::derive(seed, 20_000));
    let duration_ms = u64::from(scenario.duration_secs) * 1000;
    let minutes = scenario.duration_secs.div_ceil(60) as usize;
    let mut report = Report::new(scenario, defence, seed, minutes);
    let mut gate = match defence {
        Defence::Gate(l, _, _) => MemoryGate::new(l, isolates.len()).ok(),
        _ => None,
    };
    let (bits, base) = match defence {
        Defence::Gate(l, _, _) => (l.bits, (l.policy.difficulty, l.policy.k)),
        _ => (0, (0, 0)),
    };
    let widget = match defence {
        Defence::Gate(_, _, w) => *w,
        _ => Widget::SolveOnFocus,
    };
    let scale = 2f64.powi(i32::from(bits));
    let rtt = u64::from(d.rtt_ms);
    let max_queue_ms = f64::from(d.max_queue_secs) * 1000.0;
    let otp_route = scenario.origin.otp_route.clone();
    let mut fleets: Vec<FleetState> = scenario.attackers.iter().map(FleetState::new).collect();
    // fixed addresses of fleets that do not rotate
    let fixed: Vec<Vec<Location>> = scenario
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
    let mut fixed_next = vec![0usize; scenario.attackers.len()];
    // the next number of each fleet that pumps one number after another
    let mut range_next = vec![0u64; scenario.attackers.len()];
    let mut checks: Vec<PendingCheck> = Vec::new();
    let check_path = match defence {
        Defence::Gate(l, _, _) => l.policy.otp.as_ref().map(|o| o.check.path.clone()),
        _ => None,
    };
    let mut attacker_asns: HashSet<u32> = HashSet::new();
    let mut attacker_prefixes: HashSet<u32> = HashSet::new();
    let mut people_ends: Vec<PersonEnd> = Vec::new();

    let mut slab: Vec<Option<Attempt>> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut next_attempt_id = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, Ev)>>, t: u64, ev: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, ev)));
    };
    let mut finish = |slab: &mut [Option<Attempt>], free: &mut Vec<u32>, idx: u32, end: End, t: u64| {
        if let Some(att) = slab.get_mut(idx as usize).and_then(Option::take) {
            if att.pop < people_n {
                people_ends.push(PersonEnd {
                    asn: att.client.asn,
                    prefix: att.client.prefix,
                    segment: att.client.segment.clone(),
                    end,
                    charged_more: att.charged_more,
                    ever_shed: att.busy > 0,
                    first_ms: att.first_ms,
                    ms: t.saturating_sub(att.first_ms),
                    device: att.client.device,
                    felt_ms: (t + rtt).saturating_sub(att.press_ms),
                });
            }
            free.push(idx);
        }
    };

    // first arrival of every population
    for (p, rng) in rngs.iter_mut().enumerate() {
        if let Some(t) = next_arrival(scenario, p, 0.0, rng) {
            push(&mut heap, t, Ev::Arrive(p as u32));
        }
    }
    let mut last_progress = 0u64;
    let mut current = 0u64;
    while let Some(Reverse((t, _, ev))) = heap.pop() {
        // the run is `duration_secs` long: a fleet's attempt still going at the end is cut
        // (people finish theirs: a few minutes at most)
        if t >= duration_ms
            && let Ev::Fetch(idx) | Ev::Submit(idx) | Ev::Replay(idx) | Ev::TopUp(idx) = ev
            && let Some(Some(att)) = slab.get(idx as usize)
            && att.pop >= people_n
        {
            report.pop_mut(att.pop).unfinished += 1;
            finish(&mut slab, &mut free, idx, End::Other, t);
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
            Ev::Arrive(p) => {
                let p = p as usize;
                let Some(rng) = rngs.get_mut(p) else { continue };
                if let Some(next) = next_arrival(scenario, p, t as f64 / 1000.0, rng) {
                    push(&mut heap, next, Ev::Arrive(p as u32));
                }
                let (client, start, press) = if p < people_n {
                    let Some(pp) = scenario.people.get(p) else { continue };
                    let client = factory.person(rng, pp);
                    // the first focus is the arrival; submit is pressed after the fill
                    (client, t, t + pp.fill.draw_ms(rng))
                } else {
                    let ai = p - people_n;
                    let (Some(a), Some(fl)) = (scenario.attackers.get(ai), fleets.get(ai)) else { continue };
                    // above its price ceiling the fleet waits (or has stopped)
                    if gate.is_some() && !fl.active(t) {
                        report.pop_mut(p).held_back += 1;
                        continue;
                    }
                    let (loc, claimed) = if a.rotate {
                        fl.choose(rng, a, &factory)
                    } else {
                        let n = fixed_next.get(ai).copied().unwrap_or(0);
                        if let Some(slot) = fixed_next.get_mut(ai) {
                            *slot = n + 1;
                        }
                        let loc = fixed
                            .get(ai)
                            .and_then(|f| f.get(n % f.len().max(1)))
                            .copied()
                            .unwrap_or(Location { network: 0, asn_index: 0, asn: 0, prefix: 0, host: 1 });
                        (loc, crate::drill::population::pick(rng, &a.countries))
                    };
                    // the fleet's solvers: an attempt that would wait too long is not made
                    let start = fl.free_at_ms.max(t as f64);
                    if !a.flood && gate.is_some() && start - t as f64 > max_queue_ms {
                        report.pop_mut(p).unaffordable += 1;
                        continue;
                    }
                    let mut client = factory.attacker(rng, a, loc, &claimed);
                    if !a.phone_ranges.is_empty() {
                        let n = match range_next.get_mut(ai) {
                            Some(next) if a.sequential => {
                                *next += 1;
                                *next - 1
                            }
                            _ => rng.below(1 << 20),
                        };
                        let len = a.phone_ranges.len() as u64;
                        let pick = if a.sequential { n % len } else { rng.below(len) };
                        if let Some(r) = a.phone_ranges.get(pick as usize) {
                            client.phone = crate::drill::population::numbers::in_range(&r.range, n / len);
                            client.phone_code = Some(r.code.clone());
                        }
                    }
                    // the fleet remembers prices by what it chose, not by where the ASN is
                    client.segment.country = crate::drill::population::country(&claimed).code;
                    (client, start as u64, start as u64)
                };
                if p >= people_n {
                    attacker_asns.insert(client.asn);
                    attacker_prefixes.insert(client.prefix);
                }
                let replays = scenario.attackers.get(p.wrapping_sub(people_n)).map_or(0, |a| a.replays);
                let no_js = client.segment.no_js;
                let att = Attempt {
                    pop: p,
                    client,
                    first_ms: t,
                    busy: 0,
                    refetches: 0,
                    solution: None,
                    press_ms: press,
                    want: 0,
                    topup_asks: 0,
                    sent: false,
                    wait_token: None,
                    replays_left: if p >= people_n { replays } else { 0 },
                    charged_more: false,
                    line_answers: 0,
                    id: next_attempt_id,
                };
                next_attempt_id += 1;
                report.pop_mut(p).offered += 1;
                let idx = match free.pop() {
                    Some(i) => {
                        if let Some(s) = slab.get_mut(i as usize) {
                            *s = Some(att);
                        }
                        i
                    }
                    None => {
                        slab.push(Some(att));
                        u32::try_from(slab.len() - 1).unwrap_or(u32::MAX)
                    }
                };
                let flood = p >= people_n && scenario.attackers.get(p - people_n).is_some_and(|a| a.flood);
                if flood && gate.is_none() {
                    // without the gate there is no challenge endpoint to flood
                    finish(&mut slab, &mut free, idx, End::Other, t);
                    continue;
                }
                // a person without JavaScript posts the form as it is, once filled in
                if gate.is_some() && !no_js {
                    push(&mut heap, start.max(t), Ev::Fetch(idx));
                } else {
                    push(&mut heap, press.max(start), Ev::Submit(idx));
                }
            }
            Ev::Fetch(idx) => {
                let Some(Some(att)) = slab.get_mut(idx as usize) else { continue };
                let Some(g) = gate.as_mut() else { continue };
                let p = att.pop;
                let stats = report.pop_mut(p);
                stats.requests += 1;
                let isolate = isolates.pick(t);
                g.serve(isolate);
                let answer =
                    g.request(&att.client.fetch, &[], EPOCH_MS + t, engine_rng.bytes16(), &mut || 502);
                let (outcome, label) = match answer {
                    Answered::Challenge { token, difficulty, k, suggested } => {
                        stats.challenges += 1;
                        (Some((token, difficulty, k, suggested)), "issued".to_string())
                    }
                    Answered::Refused { code, .. } => (None, code),
                    Answered::Priced { .. } => (None, "misconfigured".to_string()),
                    Answered::Forwarded(status) => (None, status.to_string()),
                    Answered::Wait { .. } => (None, "wait".to_string()),
                    Answered::InLine { .. } => (None, "in_line".to_string()),
                };
                if let Some(out) = export.as_deref_mut() {
                    out.push(exported(att, t, "challenge", scenario, &label, isolate.index, false));
                }
                let Some((token, difficulty, k, suggested)) = outcome else {
                    let next = refused_request(scenario, &mut report, &mut rngs, att, &label, t, g.policy());
                    match next.event(idx) {
                        Ok((at, ev)) => push(&mut heap, at, ev),
                        Err(end) => finish(&mut slab, &mut free, idx, end, t),
                    }
                    continue;
                };
                if p < people_n && (difficulty > base.0 || k > base.1) {
                    att.charged_more = true;
                }
                let fleet_of =
                    p.checked_sub(people_n).and_then(|ai| scenario.attackers.get(ai).map(|a| (ai, a)));
                if let Some((ai, a)) = fleet_of {
                    if a.flood {
                        finish(&mut slab, &mut free, idx, End::Other, t);
                        continue;
                    }
                    // the fleet reads the price off the challenge before paying it
                    let device = scenario.devices.get(att.client.device);
                    let cost = fleet::expected_cost(
                        &a.budget,
                        device,
                        u32::from(difficulty) + u32::from(bits),
                        u32::from(k),
                    );
                    let Some(fl) = fleets.get_mut(ai) else { continue };
                    fl.observe(att.client.network, att.client.segment.country, cost);
                    if fl.decide(a, &scenario.money, cost, t) == Decision::HoldBack {
                        report.pop_mut(p).declined += 1;
                        finish(&mut slab, &mut free, idx, End::Other, t);
                        continue;
                    }
                }
                // the real solve at the lowered price; the time charged is for the full price
                let Ok(sol) = solution::solve(&token, &att.client.signals) else { continue };
                let tries: f64 = sol.nonces.iter().map(|n| (*n as f64) + 1.0).sum();
                let hashes = tries * scale;
                let arrived = t + rtt;
                let (ready, next) = match fleet_of {
                    None => {
                        let solved = person_solved_at(scenario, att, arrived, hashes, k);
                        let own = solution::work_of(usize::from(k), difficulty);
                        match widget {
                            Widget::SolveOnFocus => (solved.max(att.press_ms), Ev::Submit(idx)),
                            // banking starts once the challenge is solved, if there is time
                            Widget::Banking if solved < att.press_ms && suggested > own => {
                                att.want = suggested;
                                (solved, Ev::TopUp(idx))
                            }
                            Widget::Banking => (solved.max(att.press_ms), Ev::TopUp(idx)),
                        }
                    }
                    Some((ai, a)) => {
                        let ms =
                            fleet_work_ms(scenario, &mut fleets, report.pop_mut(p), att, ai, hashes, k, t);
                        (FleetState::submit_at(a, arrived + ms.ceil() as u64), Ev::Submit(idx))
                    }
                };
                att.solution = Some(sol);
                att.sent = false;
                if p < people_n
                    && let Some(at) = gives_up_at(scenario, att, ready, t)
                {
                    report.pop_mut(p).gave_up += 1;
                    finish(&mut slab, &mut free, idx, End::GaveUp, at);
                    continue;
                }
                push(&mut heap, ready, next);
            }
            Ev::TopUp(idx) => {
                let Some(Some(att)) = slab.get_mut(idx as usize) else { continue };
                let (Some(g), Some(sol)) = (gate.as_mut(), att.solution.as_ref()) else { continue };
                let p = att.pop;
                report.pop_mut(p).requests += 1;
                att.topup_asks += 1;
                if sol.topups.len() >= MAX_TOP_UPS {
                    // no room for another part: submit as it is (the gate asks a new challenge)
                    push(&mut heap, t, Ev::Submit(idx));
                    continue;
                }
                let facts = topup_facts(&att.client.fetch, sol, att.want);
                let isolate = isolates.pick(t);
                g.serve(isolate);
                let answer = g.request(&facts, &[], EPOCH_MS + t, engine_rng.bytes16(), &mut || 502);
                let label = match &answer {
                    Answered::Priced { offer: Some(_), .. } => "topup",
                    Answered::Priced { offer: None, .. } => "priced",
                    Answered::Refused { code, .. } => code.as_str(),
                    _ => "misconfigured",
                }
                .to_string();
                if let Some(out) = export.as_deref_mut() {
                    let mut e = exported(att, t, "topup", scenario, &label, isolate.index, false);
                    e.want = att.want;
                    out.push(e);
                }
                let banking = std::mem::take(&mut att.want) > 0;
                let mut in_line = None;
                let offer = match answer {
                    Answered::Priced { offer, line, .. } => {
                        in_line = line;
                        offer
                    }
                    // the widget sends what it has when the top-up is not answered (busy, an
                    // error): the submission decides
                    _ if p < people_n => None,
                    _ => {
                        let next =
                            refused_request(scenario, &mut report, &mut rngs, att, &label, t, g.policy());
                        match next.event(idx) {
                            Ok((at, ev)) => push(&mut heap, at, ev),
                            Err(end) => finish(&mut slab, &mut free, idx, end, t),
                        }
                        continue;
                    }
                };
                let mut ms = 0.0;
                if let Some(o) = offer
                    && let (Ok(bytes), Some(sol)) = (topup::token_bytes(&o.token), att.solution.as_mut())
                {
                    // banking: one worker until submit, the sub-puzzles done by then go
                    let mut budget = if banking && p < people_n {
                        let typing = att.press_ms.saturating_sub(t + rtt) as f64;
                        one_worker_hashes(scenario, att.client.device, typing)
                    } else {
                        f64::INFINITY
                    };
                    let mut more = |tries: u64| {
                        budget -= tries as f64 * scale;
                        budget >= 0.0
                    };
                    let hashes =
                        solution::add_top_up(sol, &bytes, &mut more).map_or(0.0, |n| n as f64 * scale);
                    let stats = report.pop_mut(p);
                    stats.topups += u64::from(hashes > 0.0);
                    stats.topup_hashes += hashes;
                    if !banking {
                        ms = match p.checked_sub(people_n) {
                            None => person_work_ms(scenario, att.client.device, hashes, o.k),
                            Some(ai) => fleet_work_ms(scenario, &mut fleets, stats, att, ai, hashes, o.k, t),
                        };
                    }
                }
                if banking {
                    // then, on submit, the top-up for the price asked now
                    push(&mut heap, att.press_ms.max(t + rtt), Ev::TopUp(idx));
                    continue;
                }
                let ready = t + rtt + ms.ceil() as u64;
                if p < people_n
                    && let Some(Some(att)) = slab.get(idx as usize)
                    && let Some(at) = gives_up_at(scenario, att, ready, t)
                {
                    // the widget shows the wait; past their patience, people leave
                    report.pop_mut(p).gave_up += 1;
                    finish(&mut slab, &mut free, idx, End::GaveUp, at);
                    continue;
                }
                if let Some((wait, retry)) = in_line
                    && let Some(Some(att)) = slab.get_mut(idx as usize)
                {
                    // a place whose turn has not come: the widget shows it and asks again
                    if react::stays_in_line(scenario, &mut report, att, minute, wait, t) {
                        push(&mut heap, ready.max(t + u64::from(retry) * 1000), Ev::TopUp(idx));
                    } else {
                        finish(&mut slab, &mut free, idx, End::GaveUp, t);
                    }
                    continue;
                }
                push(&mut heap, ready, Ev::Submit(idx));
            }
            Ev::Check(ci) => {
                let (Some(g), Some(c)) = (gate.as_mut(), checks.get(ci as usize)) else { continue };
                let iso = isolates.pick(t);
                g.serve(iso);
                // the origin knows the code was right: the check passes through and is counted
                let answer = g.request(&c.facts, &c.body, EPOCH_MS + t, engine_rng.bytes16(), &mut || 200);
                if matches!(answer, Answered::Forwarded(200)) {
                    report.pop_mut(c.pop).codes_entered += 1;
                }
            }
            Ev::Submit(idx) | Ev::Replay(idx) => {
                let is_replay = matches!(ev, Ev::Replay(_));
                let Some(Some(att)) = slab.get_mut(idx as usize) else { continue };
                let p = att.pop;
                let route = route_of(scenario, p);
                let otp = otp_route.as_deref() == Some(route.as_str());
                report.pop_mut(p).requests += 1;
                // the origin takes up to its capacity per minute and answers 503 past it
                let mut origin = || {
                    let m = report.minutes_mut(minute);
                    let (load, cap) = if otp {
                        (&mut m.otp_forwarded, scenario.origin.otp_capacity_per_min)
                    } else {
                        (&mut m.signups_forwarded, Some(scenario.origin.signup_capacity_per_min))
                    };
                    *load += 1;
                    if cap.is_some_and(|c| *load > u64::from(c)) { 503 } else { 201 }
                };
                let from_origin = |status: u16| match status {
                    200..=399 => Outcome::Admitted,
                    _ => Outcome::Refused(RejectKind::OriginUnavailable),
                };
                let mut isolate = 0;
                let resend = att.sent && !is_replay;
                // what the defence answers: forwarded and accepted, a wait page, or a refusal
                let answer = match defence {
                    Defence::NoGate => from_origin(origin()),
                    Defence::OnlyCallingCode(cc) => {
                        if att.client.phone_code.as_deref() == Some(cc.as_str()) {
                            from_origin(origin())
                        } else {
                            Outcome::Refused(RejectKind::Denied)
                        }
                    }
                    // played as its inner defence (at the top of `run`)
                    Defence::Closed | Defence::PeopleOnly(_) => Outcome::Refused(RejectKind::Busy),
                    Defence::Gate(..) => match gate.as_mut() {
                        Some(g) if att.solution.is_some() || att.client.segment.no_js => {
                            let body = form_body(
                                att.id,
                                att.client.phone.as_deref(),
                                att.solution.as_ref().map(Solution::encode).as_deref(),
                                att.wait_token.as_deref(),
                            );
                            let iso = isolates.pick(t);
                            isolate = iso.index;
                            g.serve(iso);
                            match g.request(
                                &att.client.submit,
                                &body,
                                EPOCH_MS + t,
                                engine_rng.bytes16(),
                                &mut origin,
                            ) {
                                Answered::Forwarded(status) => from_origin(status),
                                Answered::Refused { code, .. } => Outcome::Refused(
                                    RejectKind::ALL
                                        .iter()
                                        .find(|k| k.code() == code)
                                        .copied()
                                        .unwrap_or(RejectKind::Misconfigured),
                                ),
                                Answered::Wait { token } => Outcome::Wait(token),
                                Answered::InLine { wait_secs, retry_after } => {
                                    Outcome::InLine(wait_secs, retry_after)
                                }
                                Answered::Challenge { .. } | Answered::Priced { .. } => {
                                    Outcome::Refused(RejectKind::Misconfigured)
                                }
                            }
                        }
                        _ => Outcome::Refused(RejectKind::MissingSolution),
                    },
                };
                att.sent = att.solution.is_some();
                if let Some(out) = export.as_deref_mut() {
                    let label = match &answer {
                        Outcome::Admitted => "forwarded".to_string(),
                        Outcome::Wait(_) => "wait".to_string(),
                        Outcome::InLine(..) => "in_line".to_string(),
                        Outcome::Refused(k) => k.code().to_string(),
                    };
                    out.push(exported(att, t, "submit", scenario, &label, isolate, resend));
                }
                match answer {
                    Outcome::InLine(wait, retry) => {
                        if react::stays_in_line(scenario, &mut report, att, minute, wait, t) {
                            push(&mut heap, t + u64::from(retry) * 1000, Ev::Submit(idx));
                        } else {
                            finish(&mut slab, &mut free, idx, End::GaveUp, t);
                        }
                    }
                    Outcome::Wait(token) => {
                        // the wait page: press Continue a moment after the wait is over
                        att.wait_token = Some(token);
                        let wait = gate.as_ref().map_or(5, |g| g.policy().no_js.wait_secs);
                        let think = 1_000 + engine_rng.below(3_000);
                        push(&mut heap, t + u64::from(wait) * 1000 + think, Ev::Submit(idx));
                    }
                    Outcome::Admitted => {
                        let person = p < people_n;
                        // a code was sent: whoever enters theirs does so after a while
                        let verify = if person {
                            scenario.people.get(p).and_then(|pp| pp.verify)
                        } else {
                            scenario.attackers.get(p - people_n).and_then(|a| a.verify)
                        };
                        let enters = otp && verify.is_some_and(|v| engine_rng.chance(v.probability));
                        if enters && (gate.is_none() || check_path.is_none()) {
                            // entered at the origin, with no gate on the check route to see it
                            report.pop_mut(p).codes_entered += 1;
                        }
                        if let (true, Some(path), Some(v), Some(phone)) =
                            (enters, &check_path, verify, att.client.phone.as_deref())
                            && gate.is_some()
                        {
                            let (lo, hi) = v.delay_secs;
                            let delay = u64::from(lo) + engine_rng.below(u64::from(hi - lo) + 1);
                            let mut facts = att.client.submit.clone();
                            facts.path = path.clone();
                            let body = form_urlencoded::Serializer::new(String::new())
                                .append_pair("phone", phone)
                                .append_pair("code", "right")
                                .finish()
                                .into_bytes();
                            checks.push(PendingCheck { pop: p, facts, body });
                            let ci = u32::try_from(checks.len() - 1).unwrap_or(u32::MAX);
                            push(&mut heap, t + delay * 1000, Ev::Check(ci));
                        }
                        let m = report.minutes_mut(minute);
                        if person {
                            m.people_admitted += 1;
                        } else {
                            m.bots_admitted += 1;
                        }
                        let stats = report.pop_mut(p);
                        if is_replay {
                            stats.replays_admitted += 1;
                        } else {
                            stats.admitted += 1;
                            if person {
                                stats.admission_ms(att.client.device, t.saturating_sub(att.first_ms));
                            }
                        }
                        if att.replays_left > 0 {
                            att.replays_left -= 1;
                            push(&mut heap, t + 1000, Ev::Replay(idx));
                        } else {
                            finish(&mut slab, &mut free, idx, End::Admitted, t);
                        }
                    }
                    Outcome::Refused(kind) if is_replay => {
                        *report.pop_mut(p).replays_refused.entry(kind.code().to_string()).or_default() += 1;
                        if att.replays_left > 0 {
                            att.replays_left -= 1;
                            push(&mut heap, t + 1000, Ev::Replay(idx));
                        } else {
                            finish(&mut slab, &mut free, idx, End::Admitted, t);
                        }
                    }
                    Outcome::Refused(RejectKind::MoreWork)
                        if widget == Widget::Banking
                            && att.topup_asks <= MAX_TOP_UPS as u32
                            && att.solution.as_ref().is_some_and(|s| s.topups.len() < MAX_TOP_UPS) =>
                    {
                        // the price moved since the last top-up: add what is missing, keep the rest
                        push(&mut heap, t + rtt, Ev::TopUp(idx));
                    }
                    Outcome::Refused(kind) => {
                        let retry_after = gate.as_ref().map_or(120, |g| g.policy().attack.retry_after_secs);
                        let no_js = att.client.segment.no_js;
                        match refused(scenario, &mut report, &mut rngs, att, Some(kind), t, true, retry_after)
                        {
                            Next::Again(at) if gate.is_some() && !no_js => {
                                push(&mut heap, at, Ev::Fetch(idx))
                            }
                            Next::Again(at) | Next::Resubmit(at) => {
                                if let Some(Some(a)) = slab.get_mut(idx as usize) {
                                    a.wait_token = None;
                                }
                                push(&mut heap, at, Ev::Submit(idx))
                            }
                            Next::Done(end) => finish(&mut slab, &mut free, idx, end, t),
                        }
                    }
                }
            }
        }
    }
    if let Some(g) = gate.as_ref() {
        report.store_calls = g.store_calls();
    }
    report.cold_starts = isolates.cold_starts;
    report.finish(scenario, &people_ends, &attacker_asns, &attacker_prefixes);
    if let Some(cb) = progress {
        cb(1.0);
    }
    report
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
