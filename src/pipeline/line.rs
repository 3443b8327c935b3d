//! A sign-up on a route with a waiting line (`crate::control::line`): once its work is paid,
//! a challenge issued after the watermark waits its turn with nothing spent (`429 in_line`,
//! the estimated wait in the body, `Retry-After` when to ask again); a place that cannot be
//! served within the line's bound or its challenge's life is answered `busy` with the line's
//! `Retry-After`. A browser's form post gets a page that keeps the person's fields and the
//! solution, to post again. The challenge is the ticket: its signed issue time is the place, its binding
//! and single use keep it to one client and one sign-up. The top-up answer
//! ([`super::topups`]) carries the same place, so the widget waits before it posts the form.

use crate::control::line::{POLL_SECS, Serving, Turn};
use crate::decision_log::DecisionLog;
use crate::pipeline::nojs;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::Step;
use crate::pipeline::submit::Paid;
use crate::policy::Policy;
use crate::present::page::{self, Lang, LinePage};
use crate::present::reply::{Audience, Reply};
use crate::protocol::challenge::Challenge;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::solution;
use crate::protocol::time::UnixTime;
use crate::request::form::{BodyKind, Fields};

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
        let Turn::Wait { wait_secs, ahead_secs } = serving.turn(issued.millis()) else {
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
        // places held by a full route come back spread over a few seconds (by their id), not
        // all at the moment it has room
        let spread = u32::from(id.first().copied().unwrap_or(0) % 4);
        Place::Waiting {
            wait_secs,
            ahead_secs,
            retry_after: wait_secs.saturating_add(spread).clamp(1, POLL_SECS),
        }
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
    let refusal =
        if ahead_secs > 0 { refusal.asked(&challenge.route, challenge.issued_at.millis()) } else { refusal };
    let reply = match p.sub.audience {
        Audience::Api => Some(Reply::json(429, &body)),
        Audience::Person { lang, .. } => line_page(p, lang, wait_secs).map(|html| Reply::html(429, html)),
    };
    let done = match reply {
        Some(reply) => refusal.answered_with(reply.with_header("Retry-After", retry.to_string())).done(),
        None => refusal.done(),
    };
    Some(Step::done(done))
}

/// The line's page for a form a browser posted before its turn: the person's fields and the
/// same solution kept, to post again (`None` when the body holds no form to keep).
fn line_page(p: &Paid<'_>, lang: Lang, wait_secs: u32) -> Option<String> {
    let kind = BodyKind::of(p.sub.facts.headers.get("content-type"));
    let read = Fields::parse(&kind, &p.body).ok()?;
    let fields = nojs::person_fields(&read)?;
    let solution = read.get(solution::FIELD).ok().flatten()?;
    let action = match &p.sub.facts.query {
        Some(q) => format!("{}?{q}", p.sub.facts.path),
        None => p.sub.facts.path.clone(),
    };
    Some(page::render_line(&LinePage {
        lang,
        action: &action,
        multipart: matches!(kind, BodyKind::Multipart(_)),
        fields: &fields,
        place: (solution::FIELD, solution),
        wait_secs: u64::from(wait_secs),
    }))
}
