//! A submission (or a replay of an admitted one) and what the defence answers: forwarded to the
//! origin (which takes up to its capacity a minute), a wait page, a place in line, a refusal;
//! and the entering of a code the origin sent.

use super::EPOCH_MS;
use super::react::{Next, refused};
use super::requests::{exported, form_body, route_of};
use super::{Defence, Ev, Outcome, PendingCheck, Run, Setup, Widget, react};
use crate::drill::gate::Answered;
use crate::drill::report::End;
use crate::drill::rng::Rng;
use crate::drill::scenario::Scenario;
use crate::protocol::reject::RejectKind;
use crate::protocol::solution::{MAX_TOP_UPS, Solution};

impl Run<'_, '_> {
    /// Attempt `idx` submits at `t` (minute `minute`); `is_replay`: an admitted one sent again.
    pub(super) fn submit(&mut self, idx: u32, t: u64, minute: usize, is_replay: bool) {
        let scenario: &Scenario = self.scenario;
        let defence: &Defence = self.defence;
        let Setup { people_n, rtt, widget, .. } = self.setup;
        let Run {
            report,
            rngs,
            luck,
            isolates,
            gate,
            checks,
            check_path,
            slab,
            free,
            events,
            ends,
            export,
            otp_route,
            ..
        } = self;
        let Some(Some(att)) = slab.get_mut(idx as usize) else { return };
        let p = att.pop;
        let Some(luck) = luck.get_mut(p) else { return };
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
                    let iso = isolates.pick(t, luck);
                    isolate = iso.index;
                    g.serve(iso);
                    match g.request(&att.client.submit, &body, EPOCH_MS + t, luck.bytes16(), &mut origin) {
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
                if react::stays_in_line(scenario, report, att, minute, wait, t) {
                    events.push(t + u64::from(retry) * 1000, Ev::Submit(idx));
                } else {
                    ends.finish(slab, free, idx, End::GaveUp, t);
                }
            }
            Outcome::Wait(token) => {
                // the wait page: press Continue a moment after the wait is over
                att.wait_token = Some(token);
                let wait = gate.as_ref().map_or(5, |g| g.policy().no_js.wait_secs);
                let think = 1_000 + luck.below(3_000);
                events.push(t + u64::from(wait) * 1000 + think, Ev::Submit(idx));
            }
            Outcome::Admitted => {
                let person = p < people_n;
                // a code was sent: whoever enters theirs does so after a while
                let verify = if person {
                    scenario.people.get(p).and_then(|pp| pp.verify)
                } else {
                    scenario.attackers.get(p - people_n).and_then(|a| a.verify)
                };
                let enters = otp && verify.is_some_and(|v| luck.chance(v.probability));
                // when and with what luck it is entered: drawn whether or not a gate sees the
                // check, so defences with and without one keep the same draws
                let entry = verify.filter(|_| enters).map(|v| {
                    let (lo, hi) = v.delay_secs;
                    (u64::from(lo) + luck.below(u64::from(hi - lo) + 1), Rng::new(luck.next_u64()))
                });
                if enters && (gate.is_none() || check_path.is_none()) {
                    // entered at the origin, with no gate on the check route to see it
                    report.pop_mut(p).codes_entered += 1;
                }
                if let (Some((delay, luck)), Some(path), Some(phone)) =
                    (entry, &check_path, att.client.phone.as_deref())
                    && gate.is_some()
                {
                    let mut facts = att.client.submit.clone();
                    facts.path = path.clone();
                    let body = form_urlencoded::Serializer::new(String::new())
                        .append_pair("phone", phone)
                        .append_pair("code", "right")
                        .finish()
                        .into_bytes();
                    checks.push(PendingCheck { pop: p, facts, body, luck });
                    let ci = u32::try_from(checks.len() - 1).unwrap_or(u32::MAX);
                    events.push(t + delay * 1000, Ev::Check(ci));
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
                    events.push(t + 1000, Ev::Replay(idx));
                } else {
                    ends.finish(slab, free, idx, End::Admitted, t);
                }
            }
            Outcome::Refused(kind) if is_replay => {
                *report.pop_mut(p).replays_refused.entry(kind.code().to_string()).or_default() += 1;
                if att.replays_left > 0 {
                    att.replays_left -= 1;
                    events.push(t + 1000, Ev::Replay(idx));
                } else {
                    ends.finish(slab, free, idx, End::Admitted, t);
                }
            }
            Outcome::Refused(RejectKind::MoreWork)
                if widget == Widget::Banking
                    && p >= people_n
                    && att.topup_asks <= MAX_TOP_UPS as u32
                    && att.solution.as_ref().is_some_and(Solution::has_room_for_top_up) =>
            {
                // a script that reads the 402: adds what is missing, keeps the rest
                events.push(t + rtt, Ev::TopUp(idx));
            }
            Outcome::Refused(RejectKind::MoreWork)
                if widget == Widget::Banking
                    && p < people_n
                    && att.solution.as_ref().is_some_and(Solution::has_room_for_top_up) =>
            {
                // a person's plain form: the gate's top-up page, whose widget adds the rest
                // and posts the form by itself once the page has loaded (a round trip for
                // its script); the felt wait goes on
                report.pop_mut(p).more_work_at_post += 1;
                events.push(t + rtt, Ev::TopUp(idx));
            }
            Outcome::Refused(kind) => {
                if kind == RejectKind::MoreWork && p < people_n {
                    // (a widget that keeps no work: a new challenge from the start, react::refused)
                    report.pop_mut(p).more_work_at_post += 1;
                }
                let retry_after = gate.as_ref().map_or(120, |g| g.policy().attack.retry_after_secs);
                let no_js = att.client.segment.no_js;
                match refused(scenario, report, rngs, att, Some(kind), t, true, retry_after) {
                    Next::Again(at) if gate.is_some() && !no_js => events.push(at, Ev::Fetch(idx)),
                    Next::Again(at) | Next::Resubmit(at) => {
                        if let Some(Some(a)) = slab.get_mut(idx as usize) {
                            a.wait_token = None;
                        }
                        events.push(at, Ev::Submit(idx))
                    }
                    Next::Done(end) => ends.finish(slab, free, idx, end, t),
                }
            }
        }
    }

    /// Pending check `ci` enters its code at `t`.
    pub(super) fn check(&mut self, ci: u32, t: u64) {
        let Run { report, isolates, gate, checks, .. } = self;
        let (Some(g), Some(c)) = (gate.as_mut(), checks.get_mut(ci as usize)) else { return };
        let luck = &mut c.luck;
        let iso = isolates.pick(t, luck);
        g.serve(iso);
        // the origin knows the code was right: the check passes through and is counted
        let answer = g.request(&c.facts, &c.body, EPOCH_MS + t, luck.bytes16(), &mut || 200);
        if matches!(answer, Answered::Forwarded(200)) {
            report.pop_mut(c.pop).codes_entered += 1;
        }
    }
}
