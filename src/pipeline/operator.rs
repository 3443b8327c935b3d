//! The operators' endpoints as request flows (their views and parsing are `crate::operator`):
//!
//! - `GET stats` (bearer `STATS_TOKEN`, or HTTP Basic with it as the password): flush this
//!   isolate's counts, read the stats and counter shards, answer JSON or, for
//!   `Accept: text/html`, the page. Works with a broken configuration too, to show its
//!   problems.
//! - `POST panic` (bearer `ADMIN_TOKEN`): write a run-time panic switch for the site or a
//!   cohort to every shard it concerns.

use crate::config::Loaded;
use crate::control::{Control, top_shards};
use crate::operator::stats::{MINUTES, StatsView};
use crate::operator::{authorized, basic_realm, panic};
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{BodyRead, Done, ReadBody, ReadStats, SetPanic, Step};
use crate::present::reply::Reply;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::store::stats;

fn unauthorized(facts: &RequestFacts, now: UnixTime, realm: &str) -> Done {
    Refusal::new(Rejection::new(RejectKind::Unauthorized, format!("{realm}: no valid token")), facts, now)
        .header("WWW-Authenticate", basic_realm(realm))
        .done()
}

/// `GET <prefix>/stats`.
pub fn stats<'a>(loaded: &'a Loaded, facts: &'a RequestFacts, now: UnixTime) -> Step<'a> {
    if !authorized(facts, loaded.stats_token.as_deref()) {
        return Step::done(unauthorized(facts, now, "gate stats"));
    }
    let now_minute = now.seconds() / 60;
    let since = now_minute.saturating_sub(MINUTES - 1);
    let config = loaded.config.as_ref().ok();
    Step::ReadStats(ReadStats {
        counts_since: since,
        stats_shards: stats::SHARDS,
        top_shards: config.map(|c| top_shards(c.cohort_shards)).unwrap_or_default(),
        policy: config.map(|c| &c.policy),
        then: Box::new(move |read| {
            let read = match read {
                Ok(r) => r,
                Err(e) => {
                    return Step::done(
                        Refusal::new(Rejection::new(RejectKind::StatsUnavailable, e), facts, now).done(),
                    );
                }
            };
            let view = StatsView::of(loaded, read, since, now_minute);
            let reply = if facts.headers.get("accept").is_some_and(|a| a.contains("text/html")) {
                Reply::html(200, view.html())
            } else {
                Reply::json(200, &view)
            };
            Step::done(Done::reply(reply))
        }),
    })
}

/// `POST <prefix>/panic`.
pub fn panic<'a>(loaded: &'a Loaded, facts: &'a RequestFacts, now: UnixTime) -> Step<'a> {
    let config = match &loaded.config {
        Ok(c) if authorized(facts, c.admin_token.as_deref()) => c,
        _ => return Step::done(unauthorized(facts, now, "gate admin")),
    };
    Step::ReadBody(ReadBody {
        cap: panic::MAX_BODY,
        then: Box::new(move |body, arrived| {
            let switch = match body {
                BodyRead::Bytes(b) => panic::read(&b, arrived),
                BodyRead::TooLarge(n) => Err(Rejection::new(RejectKind::BadRequest, format!("{n}+ bytes"))),
                BodyRead::Failed(e) => Err(Rejection::new(RejectKind::BadRequest, e)),
            };
            let switch = match switch {
                Ok(s) => s,
                Err(r) => return Step::done(Refusal::new(r, facts, now).done()),
            };
            let write = Control::panic_write(&switch.key, switch.until, config.cohort_shards);
            Step::SetPanic(SetPanic {
                key: switch.key.clone(),
                write,
                shards: config.cohort_shards,
                then: Box::new(move |set| switched(facts, now, switch, set)),
            })
        }),
    })
}

fn switched(facts: &RequestFacts, now: UnixTime, s: panic::Switch, set: Result<(), String>) -> Step<'_> {
    if let Err(e) = set {
        return Step::done(
            Refusal::new(Rejection::new(RejectKind::CountersUnavailable, e), facts, now).done(),
        );
    }
    let on = s.until.is_some();
    let ip_prefix = facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()).map(crate::policy::ip_prefix);
    let event = serde_json::json!({"gate": "panic", "t": now.seconds(), "scope": s.key.as_str(), "on": on, "minutes": s.minutes, "ip_prefix": ip_prefix});
    let reply = Reply::json(
        200,
        &serde_json::json!({"scope": s.key.as_str(), "on": on, "until": s.until.map(UnixTime::rfc3339)}),
    );
    Step::done(Done { event: Some(event), ..Done::reply(reply) })
}
