//! `POST <prefix>/siteverify` with `secret`, `response`, optional `remoteip` and
//! `idempotency_key`, as a form or JSON: Turnstile/reCAPTCHA-shaped verification for origins
//! that are not behind the Worker. Spends the challenge in the same single-use ledger. Every
//! answer is in the Turnstile shape (200), refusals included, and every refusal is counted.

use crate::config::{Config, Loaded};
use crate::control::{Counts, Tally};
use crate::operator::same_secret;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{BodyRead, Done, ReadBody, Spend, SpendAnswer, SpendOrder, Step};
use crate::present::reply::Reply;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::solution::{self, Expectation, Verified};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind};
use crate::store::stats::Action;
use serde::Serialize;

/// Largest siteverify body read.
pub const MAX_BODY: usize = 16 * 1024;

/// The siteverify answer, shaped like Turnstile's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Siteverify {
    /// Whether the response verified and was spent now (or is a retry with its key).
    pub success: bool,
    /// Turnstile's error codes.
    #[serde(rename = "error-codes")]
    pub error_codes: Vec<&'static str>,
    /// When the challenge was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_ts: Option<String>,
    /// The host the request was sent to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The route the challenge was issued for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// A failed answer with one error code.
pub fn failure(code: &'static str) -> Siteverify {
    Siteverify { success: false, error_codes: vec![code], challenge_ts: None, hostname: None, action: None }
}

/// One siteverify request in flight.
#[derive(Clone, Copy)]
struct Call<'a> {
    config: &'a Config,
    facts: &'a RequestFacts,
    now: UnixTime,
    random: [u8; 16],
}

impl<'a> Call<'a> {
    fn event(&self, s: &Siteverify, code: &str) -> serde_json::Value {
        serde_json::json!({"gate": "siteverify", "t": self.now.seconds(), "success": s.success, "code": code, "action": s.action})
    }

    /// A refusal in the Turnstile shape, counted under `code`.
    fn refuse(&self, r: Rejection, turnstile: &'static str, code: &str) -> Step<'a> {
        let s = failure(turnstile);
        let done = Refusal::new(r, self.facts, self.now)
            .answered_with(Reply::json(200, &s))
            .counted_as(code)
            .event(self.event(&s, code))
            .done();
        Step::done(done)
    }
}

/// Starts a siteverify request.
pub fn start<'a>(loaded: &'a Loaded, facts: &'a RequestFacts, random: [u8; 16], now: UnixTime) -> Step<'a> {
    let config = match &loaded.config {
        Ok(c) => c,
        Err(e) => {
            let r = Rejection::new(RejectKind::Misconfigured, e.to_string());
            let s = failure("internal-error");
            return Step::done(Refusal::new(r, facts, now).answered_with(Reply::json(200, &s)).done());
        }
    };
    if config.siteverify_secret.is_none() {
        let r = Rejection::new(RejectKind::NotFound, "siteverify is not configured (SITEVERIFY_SECRET)");
        return Step::done(Refusal::new(r, facts, now).done());
    }
    Step::ReadBody(ReadBody {
        cap: MAX_BODY,
        then: Box::new(move |body, now| read(Call { config, facts, now, random }, body)),
    })
}

fn read(call: Call<'_>, body: BodyRead) -> Step<'_> {
    let bad =
        |why: String| call.refuse(Rejection::new(RejectKind::BadRequest, why), "bad-request", "bad-request");
    let body = match body {
        BodyRead::Bytes(b) => b,
        BodyRead::TooLarge(n) => return bad(format!("{n}+ bytes")),
        BodyRead::Failed(e) => return bad(e),
    };
    let kind = match BodyKind::of(call.facts.headers.get("content-type")) {
        BodyKind::Other => BodyKind::UrlEncoded,
        k => k,
    };
    let fields = match form::Fields::parse(&kind, &body) {
        Ok(f) => f,
        Err(e) => return bad(e.to_string()),
    };
    // a repeated field reads as absent: siteverify answers in the Turnstile shape, never 400
    let get = |name: &str| fields.get(name).ok().flatten().filter(|v| !v.is_empty()).map(str::to_string);
    let expected = call.config.siteverify_secret.as_deref().unwrap_or_default();
    let unauthorized = |why: &str, code: &'static str| {
        call.refuse(Rejection::new(RejectKind::Unauthorized, why), code, code)
    };
    let Some(secret) = get("secret") else {
        return unauthorized("no secret", "missing-input-secret");
    };
    if !same_secret(&secret, expected) {
        return unauthorized("wrong secret", "invalid-input-secret");
    }
    let Some(response) = get("response") else {
        let r = Rejection::new(RejectKind::MissingSolution, "no response");
        return call.refuse(r, "missing-input-response", "missing-input-response");
    };
    // The origin verifies for a client the edge never saw: no route or binding to compare;
    // the route is reported as `action` for the origin to check.
    let config = call.config;
    let order = super::order_of(&call.random);
    let expect = Expectation {
        keys: &config.keys,
        now: call.now,
        skew: config.skew,
        route: None,
        binding: None,
        order,
    };
    let verified = match solution::verify(&response, &expect) {
        Ok(v) => v,
        Err(r) => {
            let turnstile = match r.kind() {
                RejectKind::Expired | RejectKind::NotYetValid => "timeout-or-duplicate",
                _ => "invalid-input-response",
            };
            let code = r.kind().code();
            return call.refuse(r, turnstile, code);
        }
    };
    let order = SpendOrder {
        idempotency_key: get("idempotency_key"),
        ..SpendOrder::of(verified.challenge.id, verified.challenge.expires_at.plus(config.skew))
    };
    Step::Spend(Spend::new(order, config.ledger_shards, move |spent| on_spend(call, verified, spent)))
}

fn on_spend(call: Call<'_>, verified: Verified, spent: SpendAnswer) -> Step<'_> {
    match spent {
        SpendAnswer::Fresh | SpendAnswer::Repeat => {
            let s = Siteverify {
                success: true,
                error_codes: Vec::new(),
                challenge_ts: Some(verified.challenge.issued_at.rfc3339()),
                hostname: Some(call.facts.host.split(':').next().unwrap_or("").to_string()),
                action: Some(verified.challenge.route.clone()),
            };
            let event = call.event(&s, "ok");
            let counts = Counts {
                tallies: vec![Tally::new(Action::Siteverify, "ok")],
                signup: None,
                events: Vec::new(),
                served_place: None,
                asked_place: None,
            };
            Step::done(Done { event: Some(event), counts, ..Done::reply(Reply::json(200, &s)) })
        }
        SpendAnswer::Replay => {
            let r = Rejection::new(RejectKind::AlreadySpent, "siteverify: replay");
            call.refuse(r, "timeout-or-duplicate", "already_spent")
        }
        SpendAnswer::Unavailable(why) => call.refuse(
            Rejection::new(RejectKind::LedgerUnavailable, why),
            "internal-error",
            "ledger_unavailable",
        ),
    }
}
