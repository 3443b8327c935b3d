//! A sign-up on a route with a waiting line (`crate::control::line`): once its work is paid,
//! a challenge issued after the watermark waits its turn with nothing spent (`429 in_line`,
//! the estimated wait in the body, `Retry-After` when to ask again); a place that cannot be
//! served within the line's bound or its challenge's life is answered `busy` with the line's
//! `Retry-After`. The challenge is the ticket: its signed issue time is the place, its binding
//! and single use keep it to one client and one sign-up. The top-up answer
//! ([`super::topups`]) carries the same place, so the widget waits before it posts the form.

use crate::control::line::{POLL_SECS, Serving, Turn};
use crate::decision_log::DecisionLog;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::Step;
use crate::pipeline::submit::Paid;
use crate::policy::Policy;
use crate::present::reply::{Audience, Reply};
use crate::protocol::challenge::Challenge;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;

/// Seconds a place must have left in its challenge's life when its turn comes (the client
/// sends it again and the origin answers).
const LIFE_MARGIN_SECS: u64 = 30;

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
    /// The place of `challenge` at `now` in a line serving `serving`.
    pub(super) fn of(
        policy: &Policy,
        serving: Option<Serving>,
        challenge: &Challenge,
        now: UnixTime,
    ) -> Place {
        let Some(serving) = serving else { return Place::Served };
        let Turn::Wait { wait_secs, ahead_secs } = serving.turn(challenge.issued_at.millis()) else {
            return Place::Served;
        };
        let max_wait = policy.line_max_wait_secs(&challenge.route);
        let life = challenge.expires_at.seconds().saturating_sub(now.seconds());
        if wait_secs > max_wait || u64::from(wait_secs) + LIFE_MARGIN_SECS > life {
            return Place::TooLong {
                detail: format!(
                    "line: about {wait_secs} s to wait, over {max_wait} s or the challenge's life"
                ),
                retry_after: wait_secs.saturating_sub(max_wait).clamp(POLL_SECS, 3600),
            };
        }
        Place::Waiting { wait_secs, ahead_secs, retry_after: wait_secs.clamp(1, POLL_SECS) }
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
    let place = Place::of(&p.sub.config.policy, serving, challenge, p.sub.now);
    let (wait_secs, ahead_secs, retry) = match &place {
        Place::Served => return None,
        Place::TooLong { detail, retry_after } => {
            let r = Rejection::new(RejectKind::Busy, detail.clone()).retry_after(*retry_after);
            return Some(p.sub.refuse_on(r, line.clone()));
        }
        Place::Waiting { wait_secs, ahead_secs, retry_after } => (*wait_secs, *ahead_secs, *retry_after),
    };
    let detail = format!("issued {ahead_secs} s after the line serves, about {wait_secs} s to wait");
    let r = Rejection::new(RejectKind::InLine, detail).retry_after(retry);
    let body = serde_json::json!({
        "error": r.kind().code(),
        "message": r.kind().public_message(),
        "line": place.json(),
    });
    let refusal = Refusal::on(r, line.clone()).audience(&p.sub.audience);
    let done = match p.sub.audience {
        Audience::Api => refusal
            .answered_with(Reply::json(429, &body).with_header("Retry-After", retry.to_string()))
            .done(),
        Audience::Person { .. } => refusal.done(),
    };
    Some(Step::done(done))
}
