//! `POST <prefix>/siteverify` with `secret`, `response`, optional `remoteip` and
//! `idempotency_key`, as a form or JSON: Turnstile/reCAPTCHA-shaped verification for origins
//! that are not behind the Worker. Spends the challenge in the same single-use ledger.

use crate::config::Config;
use crate::pipeline::step::{BodyRead, Done, ReadBody, Spend, SpendAnswer, SpendOrder, Step, Tally};
use crate::present::reply::Reply;
use crate::protocol::reject::RejectKind;
use crate::protocol::solution::{self, Expectation};
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind};
use serde::Serialize;
use subtle::ConstantTimeEq;

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

/// Whether `presented` is `expected`, in constant time.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Starts a siteverify request.
pub fn start<'a>(
    config: &'a Config,
    facts: &'a RequestFacts,
    now: crate::protocol::time::UnixTime,
) -> Step<'a> {
    let Some(expected) = config.siteverify_secret.as_deref() else {
        return Step::done(Done::reply(Reply::error(
            404,
            "not_found",
            "siteverify is not configured (SITEVERIFY_SECRET).",
        )));
    };
    let answer = move |s: Siteverify, code: &str| {
        let event = serde_json::json!({"gate": "siteverify", "t": now.seconds(), "success": s.success, "code": code, "action": s.action});
        let tally = Tally::new(if s.success { "siteverify" } else { "reject" }, code);
        Done { event: Some(event), tallies: vec![tally], ..Done::reply(Reply::json(200, &s)) }
    };
    Step::ReadBody(ReadBody {
        cap: MAX_BODY,
        then: Box::new(move |body, now| {
            let BodyRead::Bytes(body) = body else {
                return Step::done(Done::reply(Reply::json(200, &failure("bad-request"))));
            };
            let kind = match BodyKind::of(facts.headers.get("content-type")) {
                BodyKind::Other => BodyKind::UrlEncoded,
                k => k,
            };
            let Ok(fields) = form::Fields::parse(&kind, &body) else {
                return Step::done(Done::reply(Reply::json(200, &failure("bad-request"))));
            };
            // a repeated field reads as absent: siteverify answers in the Turnstile shape, never 400
            let get =
                |name: &str| fields.get(name).ok().flatten().filter(|v| !v.is_empty()).map(str::to_string);
            let Some(secret) = get("secret") else {
                return Step::done(answer(failure("missing-input-secret"), "missing-input-secret"));
            };
            if !same_secret(&secret, expected) {
                return Step::done(answer(failure("invalid-input-secret"), "invalid-input-secret"));
            }
            let Some(response) = get("response") else {
                return Step::done(answer(failure("missing-input-response"), "missing-input-response"));
            };
            // The origin verifies for a client the edge never saw: no route or binding to
            // compare; the route is reported as `action` for the origin to check.
            let expect =
                Expectation { keys: &config.keys, now, skew: config.skew, route: None, binding: None };
            let verified = match solution::verify(&response, &expect) {
                Ok(v) => v,
                Err(r) => {
                    let code = match r.kind() {
                        RejectKind::Expired | RejectKind::NotYetValid => "timeout-or-duplicate",
                        _ => "invalid-input-response",
                    };
                    return Step::done(answer(failure(code), r.kind().code()));
                }
            };
            let order = SpendOrder {
                id: verified.challenge.id,
                forget_after: verified.challenge.expires_at.plus(config.skew),
                idempotency_key: get("idempotency_key"),
            };
            Step::Spend(Spend {
                order,
                then: Box::new(move |spent| {
                    Step::done(match spent {
                        SpendAnswer::Fresh | SpendAnswer::Repeat => answer(
                            Siteverify {
                                success: true,
                                error_codes: Vec::new(),
                                challenge_ts: Some(verified.challenge.issued_at.rfc3339()),
                                hostname: Some(facts.host.split(':').next().unwrap_or("").to_string()),
                                action: Some(verified.challenge.route.clone()),
                            },
                            "ok",
                        ),
                        SpendAnswer::Replay => answer(failure("timeout-or-duplicate"), "already_spent"),
                        SpendAnswer::Unavailable(_) => {
                            answer(failure("internal-error"), "ledger_unavailable")
                        }
                    })
                }),
            })
        }),
    })
}
