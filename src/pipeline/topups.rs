//! `GET <prefix>/topup?token=<first challenge token>&paid=<n>[&want=<n>][&signals=..][&phone=..]`:
//! the price now for a client that holds a solved challenge, and a top-up for the work
//! missing (docs/protocol.md § Top-ups). The widget asks before it submits (so a price that
//! rose while the person typed is topped up, never refused) and while banking toward the
//! suggestion. `paid` (what the client has solved, in expected hashes) and `want` (what it
//! would like to bank) only size the offer: the gate never signs more work than the larger of
//! what it asks and what it suggests, so a forged `want` cannot make a device burn more.

use crate::config::Config;
use crate::control::{Counts, Tally};
use crate::decision_log::{Action, DecisionLog, Stage};
use crate::pipeline::front::query_param;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{Answer, Done, Step};
use crate::policy::{CohortState, Known, Subject};
use crate::present::reply::Reply;
use crate::protocol::challenge::{self, Challenge};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::rtt_stamp::Reading;
use crate::protocol::solution::{self, Expectation};
use crate::protocol::time::UnixTime;
use crate::protocol::topup::{self, TopUpJson};
use crate::request::facts::RequestFacts;
use crate::request::route;
use crate::signals;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The tally code of a top-up answer.
pub const CODE: &str = "topup";

struct Asking<'a> {
    config: &'a Config,
    facts: &'a RequestFacts,
    first: Challenge,
    subject: Subject<'a>,
    range: Option<super::ranges::RangeAt>,
    paid: u64,
    want: u64,
    random: [u8; 16],
    now: UnixTime,
}

/// Starts a top-up request: `random` is the new top-up's id.
pub fn start<'a>(config: &'a Config, facts: &'a RequestFacts, random: [u8; 16], now: UnixTime) -> Step<'a> {
    let query = facts.query.as_deref();
    let refuse = |r: Rejection| Step::done(Refusal::new(r, facts, now).done());
    let number =
        |name: &str| query_param(query, name).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
    let Some(token) = query_param(query, "token") else {
        return refuse(Rejection::new(
            RejectKind::MissingSolution,
            "top-up without the first challenge's token",
        ));
    };
    let bytes = match challenge::token_bytes(&token) {
        Ok(b) => b,
        Err(e) => return refuse(Rejection::new(RejectKind::MalformedSolution, format!("token: {e}"))),
    };
    let policy = &config.policy;
    // the first challenge is checked like a submission's (its route must still be protected)
    let route = challenge::decode(&bytes)
        .ok()
        .and_then(|d| route::named(&policy.protected, &d.challenge.route).cloned());
    let Some(route) = route else {
        return refuse(Rejection::new(RejectKind::UnknownRoute, "top-up for a token of no protected route"));
    };
    let expect = Expectation {
        keys: &config.keys,
        now,
        skew: config.skew,
        route: Some(&route.path),
        binding: Some(super::binding(facts)),
        order: 0,
    };
    let first = match solution::check_terms(&bytes, &expect) {
        Ok(c) => c,
        Err(r) => return refuse(r),
    };
    let (phone, range) = super::ranges::phone_ahead(policy, &route.path, query);
    // the signals the challenge was issued for: their stamp's address was checked then
    let side = super::issue::client_signals(query);
    let at = Reading::OfChallenge { issued_at: first.issued_at };
    let assessment = signals::assess(facts, &super::read_rtt(&config.keys, facts, side, at));
    let subject = super::subject(facts, &route.path, assessment, phone, Known::Unknown);
    let mut want_counted = super::counted(policy, &subject);
    if let Some(at) = &range {
        at.peek(policy, &mut want_counted);
    }
    let asking = Asking {
        config,
        facts,
        first,
        subject,
        range,
        paid: number("paid"),
        want: number("want"),
        random,
        now,
    };
    super::read_cohorts(policy, config.cohort_shards, want_counted, move |state| on_cohorts(asking, state))
}

/// Prices now and offers a top-up for what is missing.
fn on_cohorts(a: Asking<'_>, read: Result<CohortState, String>) -> Step<'_> {
    let policy = &a.config.policy;
    let (state, unreadable) = super::state_read(read);
    let decided = policy.decide(&a.subject, &state);
    let (decision, range_log) = super::ranges::priced_ahead(policy, a.range.as_ref(), &state, a.now, decided);
    let code = super::issue::phone_code(&a.subject);
    let mut line = DecisionLog::new(Action::Issue, 200, a.facts, a.now)
        .assessed(&a.subject.assessment)
        .decided(&decision, &state, code.as_deref());
    line.otp = range_log;
    line.stage = Some(Stage::Issue);
    line.route = Some(a.first.route.clone());
    line.id = Some(URL_SAFE_NO_PAD.encode(a.first.id));
    line.counters_unreadable = unreadable;
    if let Err(r) = super::price_of(policy, &decision, "at top-up") {
        return Step::done(Refusal::on(r, line).done());
    }
    let Some(quote) = super::work::quote(&decision, &state) else {
        let r = Rejection::new(RejectKind::Misconfigured, "a price without work");
        return Step::done(Refusal::on(r, line).done());
    };
    // before a submission (no `want`) only what the submission would refuse is offered: the
    // one bit of slack it allows is not charged to the person ahead of time
    let short = a.want > 0 || !super::work::covers(a.paid, quote.asked);
    let target = if short { quote.asked.max(a.want.min(quote.suggested)) } else { 0 };
    let offer = topup::sized(target.saturating_sub(a.paid))
        .and_then(|(d, k)| topup::issue(a.config.keys.current(), &a.first, d, k, a.now, a.random))
        .and_then(|bytes| TopUpJson::of(&bytes));
    if offer.is_some() {
        line.difficulty = offer.as_ref().map(|o| o.difficulty);
    }
    // a route with a waiting line: the first challenge's place, so the widget waits its turn
    // before it posts the form (the submission checks it again)
    let serving = state.capacity.as_ref().and_then(|c| c.line);
    let place = super::line::Place::of_challenge(policy, serving, &a.first, a.now);
    let asked_place = match place {
        super::line::Place::Waiting { ahead_secs, .. } => {
            Some((a.first.route.clone(), a.first.issued_at.millis(), super::line::stand(ahead_secs)))
        }
        _ => None,
    };
    let mut body = serde_json::json!({"work": quote, "paid": a.paid, "topup": offer});
    if let (Some(obj), Some(l)) = (body.as_object_mut(), place.json()) {
        obj.insert("line".into(), l);
    }
    Step::done(Done {
        answer: Answer::Reply(Reply::json(200, &body)),
        log: Some(line),
        event: None,
        counts: Counts {
            tallies: vec![Tally::new(Action::Issue, CODE)],
            signup: None,
            events: Vec::new(),
            served_place: None,
            asked_place,
        },
    })
}
