//! Fetching a challenge and paying for it: the solve (people's widget banks toward the gate's
//! suggestion while they type), and the top-ups that add to work already done.

use super::EPOCH_MS;
use super::react::refused_request;
use super::requests::exported;
use super::work::{
    fleet_work_ms, gives_up_at, one_worker_hashes, person_solved_at, person_work_ms, topup_facts,
};
use super::{Ev, Run, Setup, Widget, react};
use crate::drill::fleet::{self, Decision, FleetState};
use crate::drill::gate::Answered;
use crate::drill::report::End;
use crate::drill::scenario::Scenario;
use crate::protocol::solution::{self, Solution};
use crate::protocol::topup;

impl Run<'_, '_> {
    /// Attempt `idx` fetches a challenge at `t` and solves it.
    pub(super) fn fetch(&mut self, idx: u32, t: u64) {
        let scenario: &Scenario = self.scenario;
        let Setup { people_n, rtt, scale, bits, base, widget, .. } = self.setup;
        let Run { report, rngs, luck, isolates, gate, fleets, slab, free, events, ends, export, .. } = self;
        let Some(Some(att)) = slab.get_mut(idx as usize) else { return };
        let Some(g) = gate.as_mut() else { return };
        let p = att.pop;
        let Some(luck) = luck.get_mut(p) else { return };
        let stats = report.pop_mut(p);
        stats.requests += 1;
        let isolate = isolates.pick(t, luck);
        g.serve(isolate);
        let answer = g.request(&att.client.fetch, &[], EPOCH_MS + t, luck.bytes16(), &mut || 502);
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
            let next = refused_request(scenario, report, rngs, att, &label, t, g.policy());
            match next.event(idx) {
                Ok((at, ev)) => events.push(at, ev),
                Err(end) => ends.finish(slab, free, idx, end, t),
            }
            return;
        };
        if p < people_n && (difficulty > base.0 || k > base.1) {
            att.charged_more = true;
        }
        let fleet_of = p.checked_sub(people_n).and_then(|ai| scenario.attackers.get(ai).map(|a| (ai, a)));
        if let Some((ai, a)) = fleet_of {
            if a.flood {
                ends.finish(slab, free, idx, End::Other, t);
                return;
            }
            // the fleet reads the price off the challenge before paying it
            let device = scenario.devices.get(att.client.device);
            let cost = fleet::expected_cost(
                &a.budget,
                device,
                u32::from(difficulty) + u32::from(bits),
                u32::from(k),
            );
            let Some(fl) = fleets.get_mut(ai) else { return };
            fl.observe(att.client.network, att.client.segment.country, cost);
            if fl.decide(a, &scenario.money, cost, t) == Decision::HoldBack {
                report.pop_mut(p).declined += 1;
                ends.finish(slab, free, idx, End::Other, t);
                return;
            }
        }
        // the real solve at the lowered price; the time charged is for the full price
        let Ok(sol) = solution::solve(&token, &att.client.signals) else { return };
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
                let ms = fleet_work_ms(scenario, fleets, report.pop_mut(p), att, ai, hashes, k, t);
                (FleetState::submit_at(a, arrived + ms.ceil() as u64), Ev::Submit(idx))
            }
        };
        att.solution = Some(sol);
        att.sent = false;
        if p < people_n
            && let Some(at) = gives_up_at(scenario, att, ready, t)
        {
            report.pop_mut(p).gave_up += 1;
            ends.finish(slab, free, idx, End::GaveUp, at);
            return;
        }
        events.push(ready, next);
    }

    /// Attempt `idx` asks for a top-up at `t` (minute `minute`): banking toward the suggestion, or the price asked now.
    pub(super) fn topup(&mut self, idx: u32, t: u64, minute: usize) {
        let scenario: &Scenario = self.scenario;
        let Setup { people_n, rtt, scale, .. } = self.setup;
        let Run { report, rngs, luck, isolates, gate, fleets, slab, free, events, ends, export, .. } = self;
        let Some(Some(att)) = slab.get_mut(idx as usize) else { return };
        let (Some(g), Some(sol)) = (gate.as_mut(), att.solution.as_ref()) else { return };
        let p = att.pop;
        let Some(luck) = luck.get_mut(p) else { return };
        report.pop_mut(p).requests += 1;
        att.topup_asks += 1;
        if !sol.has_room_for_top_up() {
            // no room for another part: submit as it is (the gate asks a new challenge)
            events.push(t, Ev::Submit(idx));
            return;
        }
        let facts = topup_facts(&att.client.fetch, sol, att.want, att.client.phone.as_deref());
        let isolate = isolates.pick(t, luck);
        g.serve(isolate);
        let answer = g.request(&facts, &[], EPOCH_MS + t, luck.bytes16(), &mut || 502);
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
                let next = refused_request(scenario, report, rngs, att, &label, t, g.policy());
                match next.event(idx) {
                    Ok((at, ev)) => events.push(at, ev),
                    Err(end) => ends.finish(slab, free, idx, end, t),
                }
                return;
            }
        };
        let mut ms = 0.0;
        let mut added = false;
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
            let hashes = solution::add_top_up(sol, &bytes, &mut more).map_or(0.0, |n| n as f64 * scale);
            let stats = report.pop_mut(p);
            added = hashes > 0.0;
            stats.topups += u64::from(added);
            stats.topup_hashes += hashes;
            if !banking {
                ms = match p.checked_sub(people_n) {
                    None => person_work_ms(scenario, att.client.device, hashes, o.k),
                    Some(ai) => fleet_work_ms(scenario, fleets, stats, att, ai, hashes, o.k, t),
                };
            }
        }
        if banking {
            // then, on submit, the top-up for the price asked now
            events.push(att.press_ms.max(t + rtt), Ev::TopUp(idx));
            return;
        }
        let ready = t + rtt + ms.ceil() as u64;
        if p < people_n
            && let Some(Some(att)) = slab.get(idx as usize)
            && let Some(at) = gives_up_at(scenario, att, ready, t)
        {
            // the widget shows the wait; past their patience, people leave
            report.pop_mut(p).gave_up += 1;
            ends.finish(slab, free, idx, End::GaveUp, at);
            return;
        }
        if let Some((wait, retry)) = in_line
            && let Some(Some(att)) = slab.get_mut(idx as usize)
        {
            // a place whose turn has not come: the widget shows it and asks again
            if react::stays_in_line(scenario, report, att, minute, wait, t) {
                events.push(ready.max(t + u64::from(retry) * 1000), Ev::TopUp(idx));
            } else {
                ends.finish(slab, free, idx, End::GaveUp, t);
            }
            return;
        }
        // the widget asks again after a top-up it solved: a price that moved while it worked is
        // paid before the form goes, not answered 402 at the post (as many times as a solution
        // has room for parts)
        let room = matches!(slab.get(idx as usize), Some(Some(a))
            if a.solution.as_ref().is_some_and(Solution::has_room_for_top_up));
        events.push(ready, if added && room { Ev::TopUp(idx) } else { Ev::Submit(idx) });
    }
}
