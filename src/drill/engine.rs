//! The virtual-time event loop. Arrivals of each population are a Poisson process with the
//! scenario's rate over time (drawn by thinning from the population's own seeded stream);
//! each arrival becomes an attempt that fetches a challenge, solves for the modelled time,
//! submits, and reacts to what the gate answers (busy, risk increased, refused) as its
//! population behaves. Events at the same virtual millisecond are processed together and see
//! the same counters: counts made during an instant are applied when it ends.
//!
//! Deterministic: the same scenario, defence and seed give the same report.

use crate::drill::gate::{Answered, Lowered, MemoryGate};
use crate::drill::population::{Client, Factory, Location};
use crate::drill::report::Report;
use crate::drill::rng::Rng;
use crate::drill::scenario::{Realism, Scenario};
use crate::protocol::reject::RejectKind;
use crate::protocol::solution;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
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
    /// The gate, with this (lowered) policy, and a label for reports.
    Gate(Box<Lowered>, String),
}

/// Virtual time starts here (Unix ms), so challenge times are plausible.
pub const EPOCH_MS: u64 = 1_800_000_000_000;

/// One request the drill made, for replay against the built Worker.
#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    /// Virtual ms since the start.
    pub t_ms: u64,
    /// The attempt it belongs to.
    pub attempt: u64,
    /// Population name.
    pub population: String,
    /// `challenge` or `submit`.
    pub step: &'static str,
    /// The protected route.
    pub route: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// `request.cf`.
    pub cf: crate::request::facts::CfFacts,
    /// `CF-Connecting-IP`.
    pub ip: String,
    /// Client signals, base64url (empty: none).
    pub signals: String,
    /// Phone number field.
    pub phone: Option<String>,
    /// Its calling code (the challenge request's `phone` parameter, as the widget sends it).
    pub phone_code: Option<String>,
    /// What the drill's gate answered (`issued`, `forwarded`, or a rejection code).
    pub answer: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive(u32),
    Fetch(u32),
    Submit(u32),
    Replay(u32),
}

struct Attempt {
    pop: usize,
    client: Client,
    first_ms: u64,
    busy: u32,
    refetches: u32,
    solution: Option<String>,
    replays_left: u32,
    id: u64,
}

/// Per-fleet solving state: when its solvers are next free (a fluid queue).
#[derive(Clone, Copy, Default)]
struct Fleet {
    free_at_ms: f64,
}

/// How a person's attempt ended (kept for the attacking-cohort split).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Admitted,
    Other,
}

/// Plays a scenario. `progress` is called with the fraction of virtual time played.
pub fn run(
    scenario: &Scenario,
    defence: &Defence,
    seed: u64,
    mut progress: Option<&mut dyn FnMut(f64)>,
    mut export: Option<&mut Vec<Exported>>,
) -> Report {
    let factory = Factory::new(scenario, "example.com");
    let people_n = scenario.people.len();
    let pops = people_n + scenario.attackers.len();
    let mut rngs: Vec<Rng> = (0..pops).map(|i| Rng::derive(seed, i as u64 + 1)).collect();
    let mut engine_rng = Rng::derive(seed, 0);
    let duration_ms = u64::from(scenario.duration_secs) * 1000;
    let minutes = scenario.duration_secs.div_ceil(60) as usize;
    let mut report = Report::new(scenario, defence, seed, minutes);
    let mut gate = match defence {
        Defence::Gate(l, _) => MemoryGate::new(l).ok(),
        _ => None,
    };
    let bits = match defence {
        Defence::Gate(l, _) => l.bits,
        _ => 0,
    };
    let scale = 2f64.powi(i32::from(bits));
    let rtt = u64::from(scenario.drill.rtt_ms);
    let max_queue_ms = f64::from(scenario.drill.max_queue_secs) * 1000.0;
    let otp_route = scenario.origin.otp_route.clone();
    let mut fleets = vec![Fleet::default(); scenario.attackers.len()];
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
    let mut attacker_asns: HashSet<u32> = HashSet::new();
    let mut attacker_prefixes: HashSet<u32> = HashSet::new();
    let mut people_ends: Vec<(u32, u32, End)> = Vec::new();

    let mut slab: Vec<Option<Attempt>> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut next_attempt_id = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, Ev)>>, t: u64, ev: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, ev)));
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
        if t != current {
            current = t;
            if let Some(cb) = progress.as_deref_mut()
                && t >= last_progress + duration_ms / 200
            {
                last_progress = t;
                cb((t as f64 / duration_ms as f64).min(1.0));
            }
        }
        let minute = ((t / 60_000) as usize).min(minutes.saturating_sub(1));
        match ev {
            Ev::Arrive(p) => {
                let p = p as usize;
                let Some(rng) = rngs.get_mut(p) else { continue };
                if let Some(next) = next_arrival(scenario, p, t as f64 / 1000.0, rng) {
                    push(&mut heap, next, Ev::Arrive(p as u32));
                }
                let (client, start) = if p < people_n {
                    let Some(pp) = scenario.people.get(p) else { continue };
                    (factory.person(rng, pp), t)
                } else {
                    let ai = p - people_n;
                    let Some(a) = scenario.attackers.get(ai) else { continue };
                    let loc = if a.rotate {
                        factory.location(rng, &a.networks)
                    } else {
                        let n = fixed_next.get(ai).copied().unwrap_or(0);
                        if let Some(slot) = fixed_next.get_mut(ai) {
                            *slot = n + 1;
                        }
                        fixed.get(ai).and_then(|f| f.get(n % f.len().max(1))).copied().unwrap_or(Location {
                            network: 0,
                            asn: 0,
                            prefix: 0,
                            host: 1,
                        })
                    };
                    // the fleet's solvers: an attempt that would wait too long is not made
                    let fleet = fleets.get(ai).copied().unwrap_or_default();
                    let start = fleet.free_at_ms.max(t as f64);
                    if !a.flood && gate.is_some() && start - t as f64 > max_queue_ms {
                        report.pop_mut(p).unaffordable += 1;
                        continue;
                    }
                    (factory.attacker(rng, a, loc), start as u64)
                };
                if p >= people_n {
                    attacker_asns.insert(client.asn);
                    attacker_prefixes.insert(client.prefix);
                }
                let replays = scenario.attackers.get(p.wrapping_sub(people_n)).map_or(0, |a| a.replays);
                let att = Attempt {
                    pop: p,
                    client,
                    first_ms: t,
                    busy: 0,
                    refetches: 0,
                    solution: None,
                    replays_left: if p >= people_n { replays } else { 0 },
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
                    finish(&mut slab, &mut free, idx, people_n, &mut people_ends, End::Other);
                    continue;
                }
                let first = if gate.is_some() { Ev::Fetch(idx) } else { Ev::Submit(idx) };
                push(&mut heap, start.max(t), first);
            }
            Ev::Fetch(idx) => {
                let Some(Some(att)) = slab.get_mut(idx as usize) else { continue };
                let Some(g) = gate.as_mut() else { continue };
                let p = att.pop;
                let route = route_of(scenario, p);
                let stats = report.pop_mut(p);
                stats.requests += 1;
                let answer =
                    g.request(&att.client.fetch, &[], EPOCH_MS + t, engine_rng.bytes16(), &mut || 502);
                let (outcome, label) = match answer {
                    Answered::Challenge { token, difficulty, k } => {
                        stats.challenges += 1;
                        (Some((token, difficulty, k)), "issued".to_string())
                    }
                    Answered::Refused { code, .. } => (None, code),
                    Answered::Forwarded(status) => (None, status.to_string()),
                };
                if let Some(out) = export.as_deref_mut() {
                    out.push(exported(
                        att,
                        t,
                        "challenge",
                        &route,
                        &scenario_pop_name(scenario, p),
                        &label,
                        false,
                    ));
                }
                let Some((token, difficulty, k)) = outcome else {
                    let kind = RejectKind::ALL.iter().find(|k| k.code() == label).copied();
                    let ended = refused(
                        scenario,
                        &mut report,
                        &mut rngs,
                        att,
                        kind,
                        t,
                        false,
                        g.policy().attack.retry_after_secs,
                    );
                    match ended {
                        Next::Again(at) => push(&mut heap, at, Ev::Fetch(idx)),
                        Next::Resubmit(at) => push(&mut heap, at, Ev::Submit(idx)),
                        Next::Done(end) => {
                            finish(&mut slab, &mut free, idx, people_n, &mut people_ends, end);
                        }
                    }
                    continue;
                };
                let is_flood = p >= people_n && scenario.attackers.get(p - people_n).is_some_and(|a| a.flood);
                if is_flood {
                    finish(&mut slab, &mut free, idx, people_n, &mut people_ends, End::Other);
                    continue;
                }
                // the real solve at the lowered price; the time charged is for the full price
                let Ok(sol) = solution::solve(&token, &att.client.signals) else { continue };
                let tries: f64 = sol.nonces.iter().map(|n| (*n as f64) + 1.0).sum();
                let hashes = tries * scale;
                let _ = (difficulty, k);
                let solve_ms = if p < people_n {
                    let dev = scenario.devices.get(att.client.device);
                    let (rate, threads, overhead) =
                        dev.map_or((1.0e6, 1, 0), |d| (d.hash_rate, d.threads, d.overhead_ms));
                    let threads = f64::from(threads.min(u32::from(k.max(1))));
                    hashes / (rate * threads) * 1000.0 + f64::from(overhead)
                } else {
                    let ai = p - people_n;
                    let Some(a) = scenario.attackers.get(ai) else { continue };
                    let secs = hashes / a.budget.hash_rate;
                    if a.budget.gpu {
                        stats.gpu_seconds += secs;
                    } else {
                        stats.core_seconds += secs;
                    }
                    if let Some(f) = fleets.get_mut(ai) {
                        f.free_at_ms =
                            f.free_at_ms.max(t as f64) + secs * 1000.0 / f64::from(a.budget.solvers.max(1));
                    }
                    secs * 1000.0
                };
                att.solution = Some(sol.encode());
                let submit_at = t + rtt + solve_ms.ceil() as u64;
                if p < people_n {
                    let give_up = scenario.people.get(p).map_or(60, |pp| pp.patience.give_up_secs);
                    if submit_at.saturating_sub(att.first_ms) > u64::from(give_up) * 1000 {
                        stats.gave_up += 1;
                        finish(&mut slab, &mut free, idx, people_n, &mut people_ends, End::Other);
                        continue;
                    }
                }
                push(&mut heap, submit_at, Ev::Submit(idx));
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
                    200..=399 => Ok(()),
                    503 => Err(RejectKind::OriginUnavailable),
                    _ => Err(RejectKind::OriginUnavailable),
                };
                // what the defence answers: forwarded and accepted, or a refusal
                let answer: Result<(), RejectKind> = match defence {
                    Defence::NoGate => from_origin(origin()),
                    Defence::OnlyCallingCode(cc) => {
                        if att.client.phone_code.as_deref() == Some(cc.as_str()) {
                            from_origin(origin())
                        } else {
                            Err(RejectKind::Denied)
                        }
                    }
                    Defence::Closed => Err(RejectKind::Busy),
                    Defence::Gate(..) => match (gate.as_mut(), att.solution.as_deref()) {
                        (Some(g), Some(s)) => {
                            let body = form_body(att.id, att.client.phone.as_deref(), s);
                            match g.request(
                                &att.client.submit,
                                &body,
                                EPOCH_MS + t,
                                engine_rng.bytes16(),
                                &mut origin,
                            ) {
                                Answered::Forwarded(status) => from_origin(status),
                                Answered::Refused { code, .. } => Err(RejectKind::ALL
                                    .iter()
                                    .find(|k| k.code() == code)
                                    .copied()
                                    .unwrap_or(RejectKind::Misconfigured)),
                                Answered::Challenge { .. } => Err(RejectKind::Misconfigured),
                            }
                        }
                        _ => Err(RejectKind::MissingSolution),
                    },
                };
                if let Some(out) = export.as_deref_mut() {
                    let label = match &answer {
                        Ok(_) => "forwarded".to_string(),
                        Err(k) => k.code().to_string(),
                    };
                    out.push(exported(
                        att,
                        t,
                        "submit",
                        &route,
                        &scenario_pop_name(scenario, p),
                        &label,
                        true,
                    ));
                }
                match answer {
                    Ok(()) => {
                        let person = p < people_n;
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
                            finish(&mut slab, &mut free, idx, people_n, &mut people_ends, End::Admitted);
                        }
                    }
                    Err(kind) if is_replay => {
                        *report.pop_mut(p).replays_refused.entry(kind.code().to_string()).or_default() += 1;
                        if att.replays_left > 0 {
                            att.replays_left -= 1;
                            push(&mut heap, t + 1000, Ev::Replay(idx));
                        } else {
                            finish(&mut slab, &mut free, idx, people_n, &mut people_ends, End::Admitted);
                        }
                    }
                    Err(kind) => {
                        let retry_after = match &gate {
                            Some(g) => g.policy().attack.retry_after_secs,
                            None => 120,
                        };
                        match refused(scenario, &mut report, &mut rngs, att, Some(kind), t, true, retry_after)
                        {
                            Next::Again(at) if gate.is_some() => push(&mut heap, at, Ev::Fetch(idx)),
                            Next::Again(at) | Next::Resubmit(at) => push(&mut heap, at, Ev::Submit(idx)),
                            Next::Done(end) => {
                                finish(&mut slab, &mut free, idx, people_n, &mut people_ends, end)
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(g) = gate.as_ref() {
        report.store_calls = g.store_calls();
    }
    report.finish(scenario, &people_ends, &attacker_asns, &attacker_prefixes);
    if let Some(cb) = progress {
        cb(1.0);
    }
    report
}

enum Next {
    /// Fetch a new challenge at this time.
    Again(u64),
    /// Send the same solution again at this time.
    Resubmit(u64),
    /// The attempt ends.
    Done(End),
}

/// What an attempt does after a refusal.
#[allow(clippy::too_many_arguments)]
fn refused(
    scenario: &Scenario,
    report: &mut Report,
    rngs: &mut [Rng],
    att: &mut Attempt,
    kind: Option<RejectKind>,
    t: u64,
    at_submission: bool,
    retry_after: u32,
) -> Next {
    let people_n = scenario.people.len();
    let p = att.pop;
    let stats = report.pop_mut(p);
    let wait = u64::from(retry_after) * 1000;
    let shed = matches!(kind, Some(RejectKind::Busy) | Some(RejectKind::OriginUnavailable));
    if shed {
        att.busy += 1;
        if att.busy == 1 {
            stats.ever_shed += 1;
        }
        if kind == Some(RejectKind::OriginUnavailable) {
            stats.origin_full += 1;
        }
    }
    if p < people_n {
        let Some(pp) = scenario.people.get(p) else { return Next::Done(End::Other) };
        if matches!(kind, Some(RejectKind::RiskIncreased | RejectKind::MoreWork)) && att.refetches < 2 {
            // the widget fetches a harder challenge and solves again
            att.refetches += 1;
            return Next::Again(t + u64::from(scenario.drill.rtt_ms));
        }
        if shed {
            let late = (t + wait).saturating_sub(att.first_ms) > u64::from(pp.patience.give_up_secs) * 1000;
            let rng = rngs.get_mut(p);
            let retry = rng.is_some_and(|r| r.chance(pp.patience.retry_probability));
            if att.busy > pp.patience.busy_answers || !retry || late {
                stats.shed += 1;
                return Next::Done(End::Other);
            }
            // a person goes back to the form: a fresh challenge
            return Next::Again(t + wait);
        }
        if kind == Some(RejectKind::Denied) {
            stats.ever_denied += 1;
        }
        *stats.refused.entry(kind.map_or("-", |k| k.code()).to_string()).or_default() += 1;
        return Next::Done(End::Other);
    }
    let Some(a) = scenario.attackers.get(p - people_n) else { return Next::Done(End::Other) };
    if matches!(kind, Some(RejectKind::RiskIncreased | RejectKind::MoreWork)) && att.refetches < 2 {
        att.refetches += 1;
        return Next::Again(t + u64::from(scenario.drill.rtt_ms));
    }
    if shed && a.retry_on_busy && att.busy <= 20 {
        // a script resends the same solution while it is valid (docs/widget.md § Busy and Retry-After), else refetches
        if at_submission && kind == Some(RejectKind::Busy) && t + wait < att.first_ms + 250_000 {
            return Next::Resubmit(t + wait);
        }
        return Next::Again(t + wait);
    }
    if shed {
        stats.shed += 1;
    } else {
        *stats.refused.entry(kind.map_or("-", |k| k.code()).to_string()).or_default() += 1;
    }
    let _ = a.realism == Realism::Tool;
    Next::Done(End::Other)
}

fn finish(
    slab: &mut [Option<Attempt>],
    free: &mut Vec<u32>,
    idx: u32,
    people_n: usize,
    people_ends: &mut Vec<(u32, u32, End)>,
    end: End,
) {
    if let Some(slot) = slab.get_mut(idx as usize)
        && let Some(att) = slot.take()
    {
        if att.pop < people_n {
            people_ends.push((att.client.asn, att.client.prefix, end));
        }
        free.push(idx);
    }
}

fn route_of(scenario: &Scenario, p: usize) -> String {
    let n = scenario.people.len();
    if p < n {
        scenario.people.get(p).map(|x| x.route.clone()).unwrap_or_default()
    } else {
        scenario.attackers.get(p - n).map(|x| x.route.clone()).unwrap_or_default()
    }
}

fn scenario_pop_name(scenario: &Scenario, p: usize) -> String {
    let n = scenario.people.len();
    if p < n {
        scenario.people.get(p).map(|x| x.name.clone()).unwrap_or_default()
    } else {
        scenario.attackers.get(p - n).map(|x| x.name.clone()).unwrap_or_default()
    }
}

fn exported(
    att: &Attempt,
    t: u64,
    step: &'static str,
    route: &str,
    pop: &str,
    answer: &str,
    submit: bool,
) -> Exported {
    let facts = if submit { &att.client.submit } else { &att.client.fetch };
    Exported {
        t_ms: t,
        attempt: att.id,
        population: pop.to_string(),
        step,
        route: route.to_string(),
        headers: facts.headers.0.clone(),
        cf: facts.cf.clone(),
        ip: facts.client_ip.clone().unwrap_or_default(),
        signals: URL_SAFE_NO_PAD.encode(&att.client.signals),
        phone: att.client.phone.clone(),
        phone_code: att.client.phone_code.clone(),
        answer: answer.to_string(),
    }
}

/// The sign-up form as the widget posts it: the person's fields and the solution field.
fn form_body(id: u64, phone: Option<&str>, solution: &str) -> Vec<u8> {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("email", &format!("u{id}@example.com"));
    if let Some(p) = phone {
        f.append_pair("phone", p);
    }
    f.append_pair(crate::protocol::solution::FIELD, solution);
    f.finish().into_bytes()
}

/// The next arrival after `t` seconds (ms), by thinning a Poisson process at the peak rate.
fn next_arrival(scenario: &Scenario, p: usize, mut t: f64, rng: &mut Rng) -> Option<u64> {
    let n = scenario.people.len();
    let rate = if p < n { &scenario.people.get(p)?.rate } else { &scenario.attackers.get(p - n)?.rate };
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
        if rng.f64() * peak <= rate.at(t) {
            return Some((t * 1000.0) as u64);
        }
    }
}
