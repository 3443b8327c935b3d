//! `GET <prefix>/challenge?route=/signup[&signals=...][&phone=+86...]`: prices and issues a
//! challenge (or refuses / sheds) according to the policy.

use crate::config::Config;
use crate::decision_log::{Action, DecisionLog, Stage};
use crate::pipeline::front::query_param;
use crate::pipeline::step::{Done, Step, Tally};
use crate::policy::{Known, Outcome};
use crate::present::reply::{self, Audience, Reply};
use crate::protocol::challenge::{self, Terms};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::route;
use crate::signals::{self, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The client's signals from the `signals` query parameter (base64url of the byte format in
/// docs/protocol.md).
pub fn client_signals(query: Option<&str>) -> ClientSide {
    match query_param(query, "signals").as_deref() {
        None | Some("") => ClientSide::Absent,
        Some(s) => match URL_SAFE_NO_PAD.decode(s) {
            Ok(bytes) => ClientSide::parse(&bytes),
            Err(_) => ClientSide::Malformed("signals parameter is not base64url".into()),
        },
    }
}

/// Starts issuing: `random` is the new challenge's id.
pub fn start<'a>(config: &'a Config, facts: &'a RequestFacts, random: [u8; 16], now: UnixTime) -> Step<'a> {
    let policy = &config.policy;
    let query = facts.query.as_deref();
    let refuse = move |r: Rejection, line: DecisionLog| {
        Done::logged(
            reply::rejection(&r, None, &Audience::Api),
            line,
            vec![Tally::new("reject", r.kind().code())],
        )
    };
    let wanted = query_param(query, "route").unwrap_or_default();
    let Some(route) = route::named(&policy.protected, &wanted) else {
        let r = Rejection::new(RejectKind::UnknownRoute, format!("route {wanted:?} is not protected"));
        let line = DecisionLog::reject(&r, facts, now);
        return Step::done(refuse(r, line));
    };
    // What the client claims about itself: its signals (the price is set at issue time) and,
    // once the form has one, its phone's calling code (only the first digits are sent).
    let client = client_signals(query);
    let phone = match query_param(query, "phone") {
        None => Known::Unknown,
        Some(p) => Known::Is(crate::request::phone::calling_code(&p, true).map(str::to_string)),
    };
    let phone_code = match &phone {
        Known::Is(Some(c)) => Some(c.clone()),
        _ => None,
    };
    let assessment = signals::assess(facts, &client);
    let counted = {
        let subject = super::subject(facts, &route.path, &assessment, phone.clone());
        super::counted(policy, &subject)
    };
    super::with_cohorts(policy, &counted, move |state| {
        let subject = super::subject(facts, &route.path, &assessment, phone);
        let (decision, state, unreadable) = super::decide(policy, &subject, state);
        let mut line = DecisionLog::new(Action::Issue, 200, facts, now).assessed(&assessment).decided(
            &decision,
            &state,
            phone_code.as_deref(),
        );
        line.stage = Some(Stage::Issue);
        line.route = Some(route.path.clone());
        line.counters_unreadable = unreadable;
        let rejected = |r: Rejection, mut line: DecisionLog| {
            let base = DecisionLog::reject(&r, facts, now);
            (line.action, line.status, line.code, line.detail) =
                (base.action, base.status, base.code, base.detail);
            Step::done(refuse(r, line))
        };
        let (difficulty, k) = match decision.outcome {
            Outcome::Deny => {
                return rejected(
                    Rejection::new(RejectKind::Denied, format!("at issue: {}", decision.why)),
                    line,
                );
            }
            Outcome::Busy => {
                let r = Rejection::new(RejectKind::Busy, format!("at issue: {}", decision.why))
                    .retry_after(policy.attack.retry_after_secs);
                return rejected(r, line);
            }
            Outcome::Price { difficulty, k } => (difficulty, k),
        };
        let terms = Terms {
            route: route.path.clone(),
            difficulty,
            k,
            risk: assessment.risk_byte(),
            ttl: config.ttl,
            binding: super::binding(facts),
        };
        let signed = match challenge::issue(config.keys.current(), &terms, now, random) {
            Ok(s) => s,
            Err(e) => {
                let r = Rejection::new(RejectKind::Misconfigured, e.to_string());
                return Step::done(Done::logged(
                    reply::rejection(&r, None, &Audience::Api),
                    DecisionLog::reject(&r, facts, now),
                    Vec::new(),
                ));
            }
        };
        line.id = Some(URL_SAFE_NO_PAD.encode(random));
        line.difficulty = Some(difficulty);
        let tallies = Tally::of_decision("issue", &decision);
        let mut json = signed.to_json();
        if policy.phone_matters(&route.path) {
            json.phone_field = policy.phone_field.clone().or_else(|| policy.phone_code_field.clone());
        }
        json.phone_code = phone_code;
        Step::done(Done::logged(Reply::json(200, &json), line, tallies))
    })
}
