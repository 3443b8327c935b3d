//! A sign-up on a route with a waiting line (`crate::control::line`): once its work is paid,
//! a challenge issued after the watermark waits its turn with nothing spent (`429 in_line`,
//! the estimated wait in the body, `Retry-After` when to ask again); a place that cannot be
//! served within the line's bound or its challenge's life is answered `busy` with the line's
//! `Retry-After`. A browser's form post gets a page that keeps the person's fields and the
//! solution, to post again. The challenge is the ticket: its signed issue time is the place, its binding
//! and single use keep it to one client and one sign-up. The top-up answer
//! ([`super::topups`]) carries the same place, so the widget waits before it posts the form.

use crate::control::Counted;
use crate::control::line::{POLL_SECS, Serving, Stand, Turn};
use crate::decision_log::DecisionLog;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{Hold, Spend, SpendOrder, Step};
use crate::pipeline::submit::{Paid, Submission};
use crate::policy::Policy;
use crate::present::page::{self, Lang, LinePage};
use crate::present::reply::{Audience, Reply};
use crate::protocol::challenge::Challenge;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::solution;
use crate::protocol::time::UnixTime;

/// Seconds a place must have left in its challenge's life when its turn comes (the client
/// sends it again and the origin answers).
const LIFE_MARGIN_SECS: u64 = 30;

/// Seconds one draw of a ticket holds: a client that asks more often than it is told is not
/// drawn more often than one that waits as told (1 to 4 s, [`Place::of`]).
const DRAW_SECS: u64 = 4;

/// A ticket's draw at `now`, uniform in [0, 1) and new every [`DRAW_SECS`]: whether a route
/// near full lets this served place through now (`Serving::room_milli`).
fn draw(id: &[u8], now: UnixTime) -> f64 {
    use sha2::{Digest, Sha256};
    let slot = (now.seconds() / DRAW_SECS).to_be_bytes();
    let d: [u8; 32] = Sha256::new().chain_update(id).chain_update(slot).finalize().into();
    let [a, b, c, e, f, g, h, i, ..] = d;
    (u64::from_be_bytes([a, b, c, e, f, g, h, i]) >> 11) as f64 / (1u64 << 53) as f64
}

/// Where a paid challenge stands in its route's line.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Place {
    /// Served now (or no line).
    Served,
    /// Waiting: ask again after `retry_after`.
    Waiting { wait_secs: u32, ahead_secs: u32, retry_after: u32 },
    /// Longer than the line's bound or the challenge's life: busy, come back after `retry_after`.
    TooLong { detail: String, retry_after: u32 },
}

impl Place {
    /// The place of a ticket `id` for `route` issued at `issued` and living until `expires` (a
    /// challenge, or the no-JS path's wait token), at `now`, in a line serving `serving`.
    pub(super) fn of(
        policy: &Policy,
        serving: Option<Serving>,
        route: &str,
        (id, issued, expires): (&[u8], UnixTime, UnixTime),
        now: UnixTime,
    ) -> Place {
        let Some(serving) = serving else { return Place::Served };
        let Turn::Wait { wait_secs, ahead_secs } = serving.turn(issued.millis(), draw(id, now)) else {
            return Place::Served;
        };
        let max_wait = policy.line_max_wait_secs(route);
        let life = expires.seconds().saturating_sub(now.seconds());
        if wait_secs > max_wait || u64::from(wait_secs) + LIFE_MARGIN_SECS > life {
            return Place::TooLong {
                detail: format!("line: about {wait_secs} s to wait, over {max_wait} s or the ticket's life"),
                retry_after: wait_secs.saturating_sub(max_wait).clamp(POLL_SECS, 3600),
            };
        }
        Place::Waiting { wait_secs, ahead_secs, retry_after: retry_after(wait_secs, id) }
    }

    /// The place of a challenge.
    pub(super) fn of_challenge(
        policy: &Policy,
        serving: Option<Serving>,
        challenge: &Challenge,
        now: UnixTime,
    ) -> Place {
        Place::of(
            policy,
            serving,
            &challenge.route,
            (&challenge.id, challenge.issued_at, challenge.expires_at),
            now,
        )
    }

    /// The machine-readable `line` object of an answer, while waiting.
    pub(super) fn json(&self) -> Option<serde_json::Value> {
        match self {
            Place::Waiting { wait_secs, ahead_secs, retry_after } => Some(serde_json::json!({
                "wait_secs": wait_secs, "ahead_secs": ahead_secs, "retry_after": retry_after,
            })),
            _ => None,
        }
    }
}

/// The answer for a paid sign-up whose turn has not come, or `None` to go on to the spend.
pub(super) fn wait<'a>(p: &Paid<'a>, serving: Option<Serving>, line: &DecisionLog) -> Option<Step<'a>> {
    let challenge = &p.verified.challenge;
    let place = Place::of_challenge(&p.sub.config.policy, serving, challenge, p.sub.now);
    match place {
        Place::Served => None,
        Place::TooLong { detail, retry_after } => {
            let r = Rejection::new(RejectKind::Busy, detail).retry_after(retry_after);
            Some(p.sub.refuse_on(r, line.clone()))
        }
        Place::Waiting { wait_secs, ahead_secs, retry_after } => {
            Some(in_line(p, (wait_secs, ahead_secs, retry_after), line))
        }
    }
}

/// The reservation a paid sign-up takes in its line route's exact minute with its spend
/// ([`Hold`]; none on a route without a line).
pub(super) fn hold(sub: &Submission<'_>, counted: &Counted) -> Option<Hold> {
    let cap = counted.capacity.as_ref().filter(|c| c.line_max_wait_secs > 0)?;
    Some(Hold {
        route: cap.route.clone(),
        per_minute: cap.per_minute,
        now: sub.now,
        fail_open: sub.config.fail_open,
    })
}

/// A served place whose route had no room left in this isolate's exact minute when its spend
/// came back (another request in flight took it): the spend is given back and the sign-up
/// waits `wait_secs` like a held place.
pub(super) fn held<'a>(p: Paid<'a>, order: SpendOrder, line: DecisionLog, wait_secs: u32) -> Step<'a> {
    let retry = retry_after(wait_secs, &p.verified.challenge.id);
    let shards = p.sub.config.ledger_shards;
    Spend::give_back(&order, shards, move || in_line(&p, (wait_secs, 0, retry), &line))
}

/// When a place told to wait `wait_secs` asks again: at most [`POLL_SECS`] on, and places held
/// by a full route come back spread over a few seconds (by their id), not all at the moment
/// it has room.
pub(super) fn retry_after(wait_secs: u32, id: &[u8]) -> u32 {
    let spread = u32::from(id.first().copied().unwrap_or(0) % 4);
    wait_secs.saturating_add(spread).clamp(1, POLL_SECS)
}

/// Where a place told to wait `ahead_secs` behind the watermark stands: a served place (0) was
/// held because the route was full.
pub(super) fn stand(ahead_secs: u32) -> Stand {
    if ahead_secs > 0 { Stand::Ahead } else { Stand::Held }
}

/// `429 in_line` for a paid sign-up: its wait, how far behind the line it was issued, when to
/// ask again.
fn in_line<'a>(
    p: &Paid<'a>,
    (wait_secs, ahead_secs, retry): (u32, u32, u32),
    line: &DecisionLog,
) -> Step<'a> {
    let challenge = &p.verified.challenge;
    let place = Place::Waiting { wait_secs, ahead_secs, retry_after: retry };
    let detail = format!("issued {ahead_secs} s after the line serves, about {wait_secs} s to wait");
    let r = Rejection::new(RejectKind::InLine, detail).retry_after(retry);
    let body = serde_json::json!({
        "error": r.kind().code(),
        "message": r.kind().public_message(),
        "line": place.json(),
    });
    let refusal = Refusal::on(r, line.clone()).audience(&p.sub.audience);
    let refusal = refusal.asked(&challenge.route, challenge.issued_at.millis(), stand(ahead_secs));
    let reply = match p.sub.audience {
        Audience::Api => Some(Reply::json(429, &body)),
        Audience::Person { lang, .. } => line_page(p, lang, wait_secs).map(|html| Reply::html(429, html)),
    };
    let done = match reply {
        Some(reply) => refusal.answered_with(reply.with_header("Retry-After", retry.to_string())).done(),
        None => refusal.done(),
    };
    Step::done(done)
}

/// The line's page for a form a browser posted before its turn: the person's fields and the
/// same solution kept, to post again (`None` when the body holds no form to keep).
fn line_page(p: &Paid<'_>, lang: Lang, wait_secs: u32) -> Option<String> {
    let kept = p.kept_form()?;
    Some(page::render_line(&LinePage {
        lang,
        action: &kept.action,
        multipart: kept.multipart,
        fields: &kept.fields,
        place: (solution::FIELD, &kept.solution),
        wait_secs: u64::from(wait_secs),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_draws_once_per_slot_however_often_it_asks_and_tickets_draw_evenly() {
        let id = [7u8; 16];
        let at = |s: u64| draw(&id, UnixTime::from_secs(s));
        // asking every second inside one slot draws the same
        let slot = 1_000_000 * DRAW_SECS;
        for s in slot..slot + DRAW_SECS {
            assert_eq!(at(s).to_bits(), at(slot).to_bits());
        }
        // the next slots draw anew
        let changed = (1..20u64).filter(|k| at(slot + k * DRAW_SECS) != at(slot)).count();
        assert_eq!(changed, 19);
        // over many tickets, a share r of them draws under r
        let draws: Vec<f64> =
            (0..4000u32).map(|i| draw(&i.to_be_bytes(), UnixTime::from_secs(slot))).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        for r in [0.1, 0.25, 0.5, 0.9] {
            let under = draws.iter().filter(|d| **d < r).count() as f64 / 4000.0;
            assert!((under - r).abs() < 0.03, "{under} under {r}");
        }
    }
}
