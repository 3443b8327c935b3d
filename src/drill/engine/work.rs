//! What work costs in time: a person's device (one worker while typing when banking, every
//! core after submit), a fleet's solvers (every hash charged to its cores, booked on its
//! queue), and the top-up request the widget makes.

use super::Attempt;
use crate::drill::fleet::FleetState;
use crate::drill::report::PopStats;
use crate::drill::scenario::Scenario;
use crate::protocol::solution::{Solution, work_of};
use crate::protocol::{challenge, topup};
use crate::request::facts::RequestFacts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A device's hash rate (per thread), threads and start-up overhead (ms).
fn device(scenario: &Scenario, index: usize) -> (f64, u32, u32) {
    scenario.devices.get(index).map_or((1.0e6, 1, 0), |d| (d.hash_rate, d.threads, d.overhead_ms))
}

/// Wall ms for `hashes` on a person's device with every core the `k` sub-puzzles can use.
pub(super) fn person_work_ms(scenario: &Scenario, device_index: usize, hashes: f64, k: u8) -> f64 {
    let (rate, threads, _) = device(scenario, device_index);
    let threads = f64::from(threads.min(u32::from(k.max(1))));
    hashes.max(0.0) / (rate * threads) * 1000.0
}

/// When a person's challenge of `hashes` (full price), arriving at `arrived`, is solved: as
/// the widget does, with every core from the first focus (after the device's start-up).
pub(super) fn person_solved_at(scenario: &Scenario, att: &Attempt, arrived: u64, hashes: f64, k: u8) -> u64 {
    let (_, _, overhead) = device(scenario, att.client.device);
    arrived + u64::from(overhead) + person_work_ms(scenario, att.client.device, hashes, k).ceil() as u64
}

/// When a person stops waiting for work that would be done at `ready`: `give_up_secs` after
/// pressing submit (or now, if that is already past), or `None` when it is done in time. The
/// felt wait of someone who gives up is their patience, not the work they left undone.
pub(super) fn gives_up_at(scenario: &Scenario, att: &Attempt, ready: u64, now: u64) -> Option<u64> {
    // in a waiting line the widget shows the place: people wait up to their line patience
    let give_up = scenario.people.get(att.pop).map_or(60, |pp| {
        if att.line_answers > 0 {
            pp.patience.line_secs.max(pp.patience.give_up_secs)
        } else {
            pp.patience.give_up_secs
        }
    });
    let limit = att.press_ms.saturating_add(u64::from(give_up) * 1000);
    (ready > limit).then_some(limit.max(now))
}

/// The hashes one worker does in `ms` on a person's device (banking while they type).
pub(super) fn one_worker_hashes(scenario: &Scenario, device_index: usize, ms: f64) -> f64 {
    let (rate, _, _) = device(scenario, device_index);
    rate * ms.max(0.0) / 1000.0
}

/// Wall ms for `hashes` on a fleet's solvers: its devices' threads (a farm) or its rate; the
/// cores (or GPUs) are charged and the fleet's queue is booked.
#[allow(clippy::too_many_arguments)]
pub(super) fn fleet_work_ms(
    scenario: &Scenario,
    fleets: &mut [FleetState],
    stats: &mut PopStats,
    att: &Attempt,
    fleet: usize,
    hashes: f64,
    k: u8,
    t: u64,
) -> f64 {
    let Some(a) = scenario.attackers.get(fleet) else { return 0.0 };
    let b = &a.budget;
    let (wall, paid) = if b.devices {
        let (rate, threads, _) = device(scenario, att.client.device);
        let threads = f64::from(threads.min(u32::from(k.max(1))));
        let wall = hashes / (rate * threads);
        (wall, wall * threads)
    } else {
        let secs = hashes / b.hash_rate;
        (secs, secs)
    };
    if b.gpu {
        stats.gpu_seconds += paid;
    } else {
        stats.core_seconds += paid;
    }
    if let Some(f) = fleets.get_mut(fleet) {
        f.free_at_ms = f.free_at_ms.max(t as f64) + wall * 1000.0 / f64::from(b.solvers.max(1));
    }
    wall * 1000.0
}

/// The expected hashes a bundle pays (lowered): its challenge's and its top-ups' solved
/// sub-puzzles.
pub(super) fn paid(sol: &Solution) -> u64 {
    let first = challenge::decode(&sol.token)
        .map_or(0, |d| work_of(usize::from(d.challenge.k), d.challenge.difficulty));
    let parts: u64 = sol
        .topups
        .iter()
        .filter_map(|p| topup::decode(&p.token).ok().map(|(t, _, _)| work_of(p.nonces.len(), t.difficulty)))
        .sum();
    first.saturating_add(parts)
}

/// The widget's `GET <prefix>/topup` for a bundle, from its challenge request (same
/// headers and signals), with the first digits of the number typed by now (`phone`), as the
/// widget sends them.
pub(super) fn topup_facts(
    fetch: &RequestFacts,
    sol: &Solution,
    want: u64,
    phone: Option<&str>,
) -> RequestFacts {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("token", &URL_SAFE_NO_PAD.encode(&sol.token));
    q.append_pair("paid", &paid(sol).to_string());
    if want > 0 {
        q.append_pair("want", &want.to_string());
    }
    // the number's prefix, or (a number not in international form) what the challenge had
    let prefix = phone
        .map(|p| crate::request::phone::prefix_of(p, crate::request::phone::PREFIX_DIGITS))
        .filter(|p| !p.is_empty());
    for (k, v) in form_urlencoded::parse(fetch.query.as_deref().unwrap_or("").as_bytes()) {
        if k == "signals" || (k == "phone" && prefix.is_none()) {
            q.append_pair(&k, &v);
        }
    }
    if let Some(p) = prefix {
        q.append_pair("phone", &p);
    }
    let path = fetch.path.replace("/challenge", "/topup");
    RequestFacts { path, query: Some(q.finish()), ..fetch.clone() }
}
