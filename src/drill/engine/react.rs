//! What an attempt does after a refusal: a person or a fleet retrying like one goes back to
//! the form with the patience it has (after `come_back_secs` on average, else after
//! `Retry-After`); a script resends its solution or
//! gives up; a harder price is fetched and paid again, twice at most.

use super::{Attempt, Ev};
use crate::drill::report::{End, Report};
use crate::drill::rng::Rng;
use crate::drill::scenario::{Patience, Scenario};
use crate::policy::Policy;
use crate::protocol::reject::RejectKind;

pub(super) enum Next {
    /// Fetch a new challenge at this time (no-JS people: post the form again).
    Again(u64),
    /// Send the same solution again at this time.
    Resubmit(u64),
    /// The attempt ends.
    Done(End),
}

impl Next {
    /// The attempt's next event (a new challenge, or the same solution again), or its end.
    pub(super) fn event(self, idx: u32) -> Result<(u64, Ev), End> {
        match self {
            Next::Again(at) => Ok((at, Ev::Fetch(idx))),
            Next::Resubmit(at) => Ok((at, Ev::Submit(idx))),
            Next::Done(end) => Err(end),
        }
    }
}

/// What an attempt does after a request before its submission (a challenge, a top-up) was
/// refused with the code `label`.
pub(super) fn refused_request(
    scenario: &Scenario,
    report: &mut Report,
    rngs: &mut [Rng],
    att: &mut Attempt,
    label: &str,
    t: u64,
    policy: &Policy,
) -> Next {
    let kind = RejectKind::ALL.iter().find(|k| k.code() == label).copied();
    refused(scenario, report, rngs, att, kind, t, false, policy.attack.retry_after_secs)
}

/// What an attempt does after a refusal.
#[allow(clippy::too_many_arguments)]
pub(super) fn refused(
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
    if matches!(kind, Some(RejectKind::RiskIncreased | RejectKind::MoreWork)) && att.refetches < 2 {
        // the widget (or the script) fetches a harder challenge and solves again
        att.refetches += 1;
        return Next::Again(t + u64::from(scenario.drill.rtt_ms));
    }
    let fleet = p.checked_sub(people_n).and_then(|ai| scenario.attackers.get(ai));
    let patience: Option<&Patience> = match fleet {
        None => scenario.people.get(p).map(|pp| &pp.patience),
        Some(a) => a.adapt.like_a_person.as_ref(),
    };
    if shed && let Some(pa) = patience {
        let retry = rngs.get_mut(p).is_some_and(|r| r.chance(pa.retry_probability));
        // people leave and come back on their own time; without it, they wait out Retry-After
        // on the page, and give up when that is past their patience
        let (back, late) = match pa.come_back_secs {
            Some(c) => {
                let back = rngs.get_mut(p).map_or(f64::from(c), |r| r.exp(f64::from(c)));
                ((back * 1000.0) as u64, false)
            }
            None => (wait, (t + wait).saturating_sub(att.press_ms) > u64::from(pa.give_up_secs) * 1000),
        };
        if att.busy > pa.busy_answers || !retry || late {
            stats.shed += 1;
            return Next::Done(End::Shed);
        }
        if pa.come_back_secs.is_some() {
            // they press submit again when they come back: the felt wait starts again
            att.press_ms = t + back;
        }
        // back to the form: a fresh challenge
        return Next::Again(t + back);
    }
    if shed && fleet.is_some_and(|a| a.retry_on_busy) && att.busy <= 20 {
        // a script resends the same solution while it is valid (docs/widget.md § Busy and Retry-After), else refetches
        if at_submission && kind == Some(RejectKind::Busy) && t + wait < att.first_ms + 250_000 {
            return Next::Resubmit(t + wait);
        }
        return Next::Again(t + wait);
    }
    if shed {
        stats.shed += 1;
        return Next::Done(End::Shed);
    }
    if kind == Some(RejectKind::Denied) {
        stats.ever_denied += 1;
    }
    *stats.refused.entry(kind.map_or("-", |k| k.code()).to_string()).or_default() += 1;
    Next::Done(match kind {
        Some(RejectKind::Denied) => End::Denied,
        // no widget ran and the policy has no no-JS path here: "JavaScript needed"
        Some(RejectKind::MissingSolution) => End::TurnedAway,
        _ => End::Other,
    })
}

/// An `in_line` answer (to the submission or to the top-up before it): counted in its minute,
/// and whether the attempt keeps its place. People wait for a turn they can see up to their line
/// patience (leaving counts as giving up); fleets, scripts that read the code, wait as long as
/// they are told; no attempt asks more than 400 times.
pub(super) fn stays_in_line(
    scenario: &Scenario,
    report: &mut Report,
    att: &mut Attempt,
    minute: usize,
    wait_secs: u32,
    t: u64,
) -> bool {
    let m = report.minutes_mut(minute);
    m.line_answers += 1;
    m.line_wait_secs = m.line_wait_secs.max(wait_secs);
    att.line_answers += 1;
    let felt = (t + u64::from(wait_secs) * 1000).saturating_sub(att.press_ms);
    let limit = scenario.people.get(att.pop).map(|pp| pp.patience.line_secs);
    let stays = limit.is_none_or(|l| felt <= u64::from(l) * 1000) && att.line_answers <= 400;
    if !stays {
        report.pop_mut(att.pop).gave_up += 1;
    }
    stays
}
