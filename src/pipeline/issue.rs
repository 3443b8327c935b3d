//! `GET <prefix>/challenge?route=/signup[&signals=...][&phone=+86...]`: prices and issues a
//! challenge (or refuses / sheds) according to the policy (docs/protocol.md).

use crate::config::Config;
use crate::control::{Counts, Tally};
use crate::decision_log::{Action, DecisionLog, Stage};
use crate::pipeline::front::query_param;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{Answer, Done, Step};
use crate::policy::{CohortState, Known, Subject};
use crate::present::reply::Reply;
use crate::protocol::challenge::{self, Terms};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::rtt_stamp::Reading;
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::route::{self, Route};
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

/// A challenge request on its way: what it asks for and what the edge knows of it.
struct Asking<'a> {
    config: &'a Config,
    facts: &'a RequestFacts,
    route: Route,
    subject: Subject<'a>,
    range: Option<super::ranges::RangeAt>,
    random: [u8; 16],
    now: UnixTime,
}

/// Starts issuing: `random` is the new challenge's id.
pub fn start<'a>(config: &'a Config, facts: &'a RequestFacts, random: [u8; 16], now: UnixTime) -> Step<'a> {
    let policy = &config.policy;
    let query = facts.query.as_deref();
    let wanted = query_param(query, "route").unwrap_or_default();
    let Some(route) = route::named(&policy.protected, &wanted).cloned() else {
        let r = Rejection::new(RejectKind::UnknownRoute, format!("route {wanted:?} is not protected"));
        return Step::done(Refusal::new(r, facts, now).done());
    };
    // What the client claims about itself: its signals (the price is set at issue time) and,
    // once the form has one, its phone number's first digits (its calling code, and its range
    // where the policy judges it)
    let (phone, range) = super::ranges::phone_ahead(policy, &route.path, query);
    let at = Reading::AtIssue { address: super::address_digest(facts), now };
    let assessment = signals::assess(facts, &super::read_rtt(&config.keys, facts, client_signals(query), at));
    // the widget sends only the first digits: the number's type is known at submission
    let subject = super::subject(facts, &route.path, assessment, phone, Known::Unknown);
    let mut want = super::counted(policy, &subject);
    if let Some(at) = &range {
        at.peek(policy, &mut want);
    }
    let asking = Asking { config, facts, route, subject, range, random, now };
    super::read_cohorts(policy, config.cohort_shards, want, move |state| on_cohorts(asking, state))
}

/// The calling code a request's subject carries, for its line and its answer.
pub(super) fn phone_code(subject: &Subject<'_>) -> Option<String> {
    match &subject.phone_code {
        Known::Is(Some(c)) => Some(c.clone()),
        _ => None,
    }
}

/// Decides on the cohort state and issues, refuses or sheds.
fn on_cohorts(a: Asking<'_>, read: Result<CohortState, String>) -> Step<'_> {
    let policy = &a.config.policy;
    let (state, unreadable) = super::state_read(read);
    let decided = policy.decide(&a.subject, &state);
    let (decision, range_log) = super::ranges::priced_ahead(policy, a.range.as_ref(), &state, a.now, decided);
    let code = phone_code(&a.subject);
    let mut line = DecisionLog::new(Action::Issue, 200, a.facts, a.now)
        .assessed(&a.subject.assessment)
        .decided(&decision, &state, code.as_deref());
    line.otp = range_log;
    line.stage = Some(Stage::Issue);
    line.route = Some(a.route.path.clone());
    line.counters_unreadable = unreadable;
    let (difficulty, k) = match super::price_of(policy, &decision, "at issue") {
        Ok(price) => price,
        Err(r) => return Step::done(Refusal::on(r, line).done()),
    };
    let terms = Terms {
        route: a.route.path.clone(),
        difficulty,
        k,
        risk: a.subject.assessment.risk_byte(),
        // on a route with a waiting line the challenge is also the place in it: it lives the
        // line's bound longer, so a place is never lost to the wait
        ttl: a.config.ttl.saturating_add(u64::from(policy.line_max_wait_secs(&a.route.path))),
        binding: super::binding(a.facts),
    };
    let signed = match challenge::issue(a.config.keys.current(), &terms, a.now, a.random) {
        Ok(s) => s,
        Err(e) => {
            return Step::done(
                Refusal::on(Rejection::new(RejectKind::Misconfigured, e.to_string()), line).done(),
            );
        }
    };
    line.id = Some(URL_SAFE_NO_PAD.encode(a.random));
    line.difficulty = Some(difficulty);
    let mut json = signed.to_json();
    if policy.phone_matters(&a.route.path) {
        json.phone_field = policy.phone_field.clone().or_else(|| policy.phone_code_field.clone());
    }
    json.phone_code = code;
    json.phone_digits = json.phone_field.as_ref().map(|_| crate::request::phone::PREFIX_DIGITS as u8);
    json.work = super::work::quote(&decision, &state);
    Step::done(Done {
        answer: Answer::Reply(Reply::json(200, &json)),
        log: Some(line),
        event: None,
        counts: Counts {
            tallies: Tally::of_decision(Action::Issue, &decision),
            signup: None,
            events: Vec::new(),
            served_place: None,
            asked_place: None,
        },
    })
}
