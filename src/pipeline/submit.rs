//! A protected request: read the body once, find the solution, verify, assess, decide by the
//! policy, spend once, forward with a signed verdict. Requests without a solution may take
//! the no-JavaScript path ([`super::wait`]).

use crate::config::Config;
use crate::decision_log::{Action, DecisionLog, Stage};
use crate::pipeline::step::{
    Answer, BodyRead, Done, Forward, ReadBody, Spend, SpendAnswer, SpendOrder, Step, Tally,
};
use crate::policy::{CohortState, Decision, Known, Outcome, Policy};
use crate::present::reply::{self, Audience};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::solution::{self, Expectation};
use crate::protocol::time::UnixTime;
use crate::protocol::verdict::Verdict;
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind, FormError};
use crate::request::route::Route;
use crate::signals::{self, Assessment, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The verdict reason a fail-open spend adds.
pub const FAIL_OPEN_REASON: &str = "ledger_unavailable_fail_open";

/// What a submission knows about itself, carried from step to step.
#[derive(Clone)]
pub(crate) struct Sub<'a> {
    pub config: &'a Config,
    pub route: Route,
    pub facts: &'a RequestFacts,
    pub audience: Audience,
    pub now: UnixTime,
    pub no_js: bool,
}

/// What was known when a request was refused.
pub(crate) struct Known3<'k> {
    pub id: Option<&'k [u8; 16]>,
    pub assessment: Option<&'k Assessment>,
    pub decided: Option<(&'k Decision, &'k CohortState, Option<&'k str>)>,
}

impl Known3<'_> {
    pub const NOTHING: Known3<'static> = Known3 { id: None, assessment: None, decided: None };
}

impl Sub<'_> {
    /// The challenge endpoint for this route (refusals point the client there).
    fn challenge_url(&self) -> String {
        format!("{}/challenge?route={}", self.config.prefix, self.route.path)
    }

    /// A line for this request.
    pub fn line(&self, action: Action, status: u16) -> DecisionLog {
        let mut line = DecisionLog::new(action, status, self.facts, self.now);
        line.stage = Some(Stage::Submission);
        line.route = Some(self.route.path.clone());
        line.no_js = self.no_js;
        line
    }

    /// A refusal, logged and counted.
    pub fn refuse(&self, r: Rejection, known: Known3<'_>) -> Done {
        let mut line = self.line(Action::Reject, r.kind().status());
        line.code = Some(r.kind().code().to_string());
        line.detail = Some(r.detail().to_string());
        line.id = known.id.map(|i| URL_SAFE_NO_PAD.encode(i));
        if let Some(a) = known.assessment {
            line = line.assessed(a);
        }
        if let Some((d, state, phone)) = known.decided {
            line = line.decided(d, state, phone);
        }
        let url = (!self.no_js).then(|| self.challenge_url());
        let reply = reply::rejection(&r, url.as_deref(), &self.audience);
        Done::logged(reply, line, vec![Tally::new("reject", r.kind().code())])
    }

    /// The busy refusal with the policy's `Retry-After`.
    pub fn busy(&self, why: String) -> Rejection {
        Rejection::new(RejectKind::Busy, why).retry_after(self.config.policy.attack.retry_after_secs)
    }

    /// The signed verdict for a spent id.
    pub fn verdict(&self, id: &[u8; 16], difficulty: u8, k: u8, score: u32, reasons: Vec<String>) -> String {
        Verdict {
            time: self.now,
            id: URL_SAFE_NO_PAD.encode(id),
            method: self.facts.method.clone(),
            path: self.facts.path.clone(),
            difficulty,
            k,
            score,
            reasons,
        }
        .sign(&self.config.origin_key)
    }

    /// The ledger order for `id`, kept until `expires_at` plus skew.
    pub fn order(&self, id: [u8; 16], expires_at: UnixTime) -> SpendOrder {
        SpendOrder { id, forget_after: expires_at.plus(self.config.skew), idempotency_key: None }
    }

    /// Single use: a replay is refused with `replay` as its detail, an unreachable ledger
    /// closes the request unless `FAIL_OPEN`. `Ok(true)` when it failed open.
    pub fn spent(&self, answer: SpendAnswer, replay: &str) -> Result<bool, Rejection> {
        match answer {
            SpendAnswer::Fresh => Ok(false),
            SpendAnswer::Repeat | SpendAnswer::Replay => {
                Err(Rejection::new(RejectKind::AlreadySpent, replay))
            }
            SpendAnswer::Unavailable(_) if self.config.fail_open => Ok(true),
            SpendAnswer::Unavailable(why) => Err(Rejection::new(RejectKind::LedgerUnavailable, why)),
        }
    }
}

/// Starts a protected request. `random` is an id for a no-JS wait token, if one is issued.
pub fn start<'a>(
    config: &'a Config,
    route: Route,
    facts: &'a RequestFacts,
    random: [u8; 16],
    now: UnixTime,
) -> Step<'a> {
    let sub = Sub { config, route, facts, audience: Audience::of(facts), now, no_js: false };
    // the declared length first, then the bytes actually read
    let declared = facts.headers.get("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body as u64) {
        let r = Rejection::new(
            RejectKind::TooLarge,
            format!("Content-Length {declared:?} over {}", config.max_body),
        );
        return Step::done(sub.refuse(r, Known3::NOTHING));
    }
    if matches!(facts.method.as_str(), "GET" | "HEAD") {
        return body_read(sub, BodyRead::Bytes(Vec::new()), random);
    }
    Step::ReadBody(ReadBody {
        cap: config.max_body,
        then: Box::new(move |body, arrived| {
            // The client controls how long the body takes to arrive: judge expiry at the time
            // it has arrived (a solution must not outlive its ledger row).
            body_read(Sub { now: arrived, ..sub }, body, random)
        }),
    })
}

fn body_read(sub: Sub<'_>, body: BodyRead, random: [u8; 16]) -> Step<'_> {
    let cap = sub.config.max_body;
    let body = match body {
        BodyRead::Bytes(b) => b,
        BodyRead::TooLarge(n) => {
            let r = Rejection::new(RejectKind::TooLarge, format!("body of {n}+ bytes is over {cap}"));
            return Step::done(sub.refuse(r, Known3::NOTHING));
        }
        BodyRead::Failed(e) => {
            let r = Rejection::new(RejectKind::MalformedSolution, format!("body read: {e}"));
            return Step::done(sub.refuse(r, Known3::NOTHING));
        }
    };
    let headers = &sub.facts.headers;
    // a compressed body would be read by an origin that inflates it, never by the gate
    if !body.is_empty()
        && headers.get("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        let r = Rejection::new(RejectKind::UnsupportedBody, "the body has a Content-Encoding");
        return Step::done(sub.refuse(r, Known3::NOTHING));
    }
    // the fields, read once (body and query string); a field the gate judges must appear at
    // most once, so the origin cannot read another value than the gate did
    let kind = BodyKind::of(headers.get("content-type"));
    let fields = match form::Fields::parse(&kind, &body) {
        Ok(fields) => fields.with_query(sub.facts.query.as_deref().unwrap_or_default()),
        Err(e @ FormError::DuplicateKey(_)) => {
            return Step::done(
                sub.refuse(Rejection::new(RejectKind::DuplicateField, e.to_string()), Known3::NOTHING),
            );
        }
        Err(e) => {
            return Step::done(
                sub.refuse(Rejection::new(RejectKind::UnsupportedBody, e.to_string()), Known3::NOTHING),
            );
        }
    };
    let judged = fields
        .get(solution::FIELD)
        .and_then(|s| Ok((s.map(str::to_string), phone_code(&sub.config.policy, &fields)?)));
    let (field, phone) = match judged {
        Ok(read) => read,
        Err(e) => {
            return Step::done(
                sub.refuse(Rejection::new(RejectKind::DuplicateField, e.to_string()), Known3::NOTHING),
            );
        }
    };
    // the solution: the header for API clients, else the form field (the header wins)
    let Some(raw) = headers.get(solution::HEADER).map(str::to_string).or(field) else {
        // no widget ran: the no-JavaScript path, where the policy turns it on
        return match super::wait::submission(sub.clone(), kind, body, &fields, phone, random) {
            Some(step) => step,
            None => {
                let r = Rejection::new(RejectKind::MissingSolution, "no header and no form field");
                Step::done(sub.refuse(r, Known3::NOTHING))
            }
        };
    };
    verify(sub, raw, phone, body)
}

/// Verify (pure, cheapest checks first; the work at the signed difficulty), then decide.
fn verify(sub: Sub<'_>, raw: String, phone: Option<String>, body: Vec<u8>) -> Step<'_> {
    let config = sub.config;
    let expect = Expectation {
        keys: &config.keys,
        now: sub.now,
        skew: config.skew,
        route: Some(&sub.route.path),
        binding: Some(super::binding(sub.facts)),
    };
    let verified = match solution::verify(&raw, &expect) {
        Ok(v) => v,
        Err(r) => return Step::done(sub.refuse(r, Known3::NOTHING)),
    };
    // fingerprint the submission with the signals the work was bound to
    let assessment = signals::assess(sub.facts, &ClientSide::parse(&verified.signals));
    let counted = super::counted(
        &config.policy,
        &super::subject(sub.facts, &sub.route.path, &assessment, Known::Is(phone.clone())),
    );
    let policy = &config.policy;
    super::with_cohorts(policy, &counted.clone(), move |state| {
        let route = sub.route.path.clone();
        let subject = super::subject(sub.facts, &route, &assessment, Known::Is(phone.clone()));
        let (decision, state, unreadable) = super::decide(policy, &subject, state);
        let id = verified.challenge.id;
        let (signed_difficulty, signed_k) = (verified.challenge.difficulty, verified.challenge.k);
        let refused = |r: Rejection| {
            let mut done = sub.refuse(
                r,
                Known3 {
                    id: Some(&id),
                    assessment: Some(&assessment),
                    decided: Some((&decision, &state, phone.as_deref())),
                },
            );
            if let Some(line) = &mut done.log {
                line.counters_unreadable = unreadable.clone();
            }
            Step::done(done)
        };
        // The price the policy asks now may be one bit above the signed one (a browser's
        // challenge fetch and its form post differ in a few headers); beyond that the
        // client must fetch a harder challenge.
        match decision.outcome {
            Outcome::Deny => {
                return refused(Rejection::new(
                    RejectKind::Denied,
                    format!("at submission: {}", decision.why),
                ));
            }
            Outcome::Busy => return refused(sub.busy(format!("at submission: {}", decision.why))),
            Outcome::Price { difficulty, k }
                if difficulty > signed_difficulty.saturating_add(1) || k > signed_k =>
            {
                return refused(Rejection::new(
                    RejectKind::RiskIncreased,
                    format!(
                        "now priced {difficulty}x{k} ({}), challenge was {signed_difficulty}x{signed_k}",
                        decision.why
                    ),
                ));
            }
            Outcome::Price { .. } => {}
        }
        // single use, only after the work is known to be paid
        let order = sub.order(id, verified.challenge.expires_at);
        Step::Spend(Spend {
            order,
            then: Box::new(move |answer| {
                let mut reasons = assessment.codes();
                match sub.spent(answer, "replay of a spent challenge") {
                    Ok(false) => {}
                    Ok(true) => reasons.push(FAIL_OPEN_REASON.to_string()),
                    Err(r) => {
                        let decided = Some((&decision, &state, phone.as_deref()));
                        return Step::done(
                            sub.refuse(r, Known3 { id: Some(&id), assessment: Some(&assessment), decided }),
                        );
                    }
                }
                let verdict = sub.verdict(&id, signed_difficulty, signed_k, assessment.score, reasons);
                Step::Forward(Forward {
                    verdict,
                    body,
                    then: Box::new(move |status| {
                        let decided = Some((&decision, &state, phone.as_deref()));
                        let status = match status {
                            Ok(s) => s,
                            Err(e) => {
                                let r = Rejection::new(RejectKind::OriginUnavailable, e);
                                return sub.refuse(
                                    r,
                                    Known3 { id: Some(&id), assessment: Some(&assessment), decided },
                                );
                            }
                        };
                        let mut line = sub.line(Action::Forward, status).assessed(&assessment).decided(
                            &decision,
                            &state,
                            phone.as_deref(),
                        );
                        line.id = Some(URL_SAFE_NO_PAD.encode(id));
                        line.difficulty = Some(signed_difficulty);
                        line.counters_unreadable = unreadable;
                        let tallies = Tally::of_decision("forward", &decision);
                        // only a fresh spend (or fail-open) reaches here, and only a sign-up the
                        // origin accepted (2xx or 3xx) is counted
                        let signup = (status < 400 && !counted.is_empty()).then_some(counted);
                        Done { answer: Answer::Origin, log: Some(line), tallies, signup, event: None }
                    }),
                })
            }),
        })
    })
}

/// The sign-up's phone calling code, from the policy's phone fields (each must appear at
/// most once, whichever is used).
pub fn phone_code(policy: &Policy, fields: &form::Fields) -> Result<Option<String>, form::Duplicate> {
    let code_field = match &policy.phone_code_field {
        Some(name) => fields.get(name)?,
        None => None,
    };
    let number_field = match &policy.phone_field {
        Some(name) => fields.get(name)?,
        None => None,
    };
    Ok(match (code_field, number_field) {
        (Some(code), _) => crate::request::phone::calling_code(code, true),
        (None, Some(number)) => crate::request::phone::calling_code(number, false),
        (None, None) => None,
    }
    .map(str::to_string))
}
