//! The no-JavaScript path's flow (docs/policy.md § No JavaScript): a browser form post without
//! the widget's field gets a wait page carrying a signed wait token; posting it again after
//! the wait is verified, spent once and forwarded. The token is a wire format
//! ([`crate::protocol::wait_token`]), the form handling is [`super::nojs`], the page
//! [`crate::present::page::render_wait`], the budget `policy::NoJs`.
//!
//! States: [`submission`] → `on_cohorts` (the JS path's decision, read-only) → `on_budget`
//! (this path's own budget) → the wait page, or for "Continue" → `on_spend` → the shared
//! forward tail.

use crate::control::line::Stand;
use crate::control::{Counted, Tally};
use crate::decision_log::{Action, DecisionLog};
use crate::pipeline::line::Place;
use crate::pipeline::nojs;
use crate::pipeline::ranges::{RangeAt, RangeUse, no_js_refusal};
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{Done, Spend, SpendAnswer, SpendOrder, Spent, Step};
use crate::pipeline::submit::{FAIL_OPEN_REASON, Sent, Submission};
use crate::policy::{CohortState, Decision, Subject};
use crate::present::page::{self, Lang, LinePage, WaitPage};
use crate::present::reply::Reply;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::wait_token::{self, Wait, WaitError, WaitTerms};
use crate::request::form::{self, BodyKind};
use crate::signals::{self, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The reason code the verdict carries for a sign-up that came through this path.
pub const REASON: &str = "no_js";

/// What the post asks for once the policy lets it through.
enum Next {
    /// A first post: the wait page with a new token.
    Wait { lang: Lang, id: [u8; 16] },
    /// "Continue" with a verified token (and its text): spend it and forward, in its turn on
    /// a route with a waiting line.
    Continue(Wait, String),
}

/// A no-JS post on its way.
struct Path<'a> {
    sub: Submission<'a>,
    kind: BodyKind,
    body: Vec<u8>,
    /// The body's fields as read once (the origin's copy drops the token by their ranges).
    read: form::Fields,
    fields: Vec<(String, String)>,
    phone: Option<String>,
    subject: Subject<'a>,
    /// This path's own counters (its budget).
    budget: Counted,
    /// The route's capacity counters as the JavaScript path counts them, with the route's
    /// capacity (none without one): a no-JS forward reaches the same origin.
    capacity: Counted,
    /// The number's range where the policy judges one: on the send route judged, and its sends
    /// counted, as on the JavaScript path; on an `otp.apply_to` sign-up route judged only.
    range: Option<RangeAt>,
}

/// A protected post without a solution: this path's, if the policy turns it on for the route
/// and the post is a browser form without the widget's field (a wait page), or carries a wait
/// token. `None`: not for this path (the caller answers `missing_solution`).
pub(crate) fn submission<'a>(
    sub: Submission<'a>,
    kind: BodyKind,
    body: Vec<u8>,
    read: &form::Fields,
    phone: crate::pipeline::phone_field::PhoneRead,
    random: [u8; 16],
) -> Option<Step<'a>> {
    if !sub.config.policy.no_js.allows(&sub.route.path) {
        return None;
    }
    // a repeated token reads as none: the caller then answers missing_solution
    let token = read.get(wait_token::FIELD).ok().flatten().map(str::to_string);
    let lang = sub.audience.lang();
    // a first post must be a browser's form post the widget did not touch
    if token.is_none() && (lang.is_none() || !matches!(read.get(crate::protocol::solution::FIELD), Ok(None)))
    {
        return None;
    }
    let fields = nojs::person_fields(read)?;
    let sub = Submission { no_js: true, ..sub };
    let policy = &sub.config.policy;
    let assessment = signals::assess(sub.facts, &ClientSide::Absent);
    let subject = sub.subject(assessment, &phone);
    let range = RangeAt::of(policy, &sub.route.path, phone.range.as_deref());
    let phone = phone.code;
    let budget = Counted {
        keys: policy.no_js.keys(&subject),
        site: false,
        window_secs: policy.no_js.window_secs,
        capacity: None,
        read_only: Vec::new(),
        peek: Vec::new(),
        weighted: Vec::new(),
    };
    let mut js = super::counted(policy, &subject);
    if let (Some(at), Some(otp)) = (&range, &policy.otp) {
        js.read_only.extend(otp.read_keys(&at.range));
    }
    let capacity = Counted {
        keys: js.keys.iter().filter(|k| k.is_capacity()).cloned().collect(),
        site: false,
        window_secs: js.window_secs,
        capacity: js.capacity.clone(),
        read_only: Vec::new(),
        peek: Vec::new(),
        weighted: Vec::new(),
    };
    let path = Path { sub, kind, body, read: read.clone(), fields, phone, subject, budget, capacity, range };
    let next = match token {
        None => Next::Wait { lang: lang.unwrap_or(Lang::En), id: random },
        Some(token) => match path.verify(&token, lang) {
            Ok(wait) => Next::Continue(wait, token),
            Err(done) => return Some(Step::Done(done)),
        },
    };
    let shards = path.sub.config.cohort_shards;
    Some(super::read_cohorts(policy, shards, js, move |state| on_cohorts(path, next, state)))
}

impl<'a> Path<'a> {
    /// The form's action: the path and query it was posted to.
    fn action(&self) -> String {
        match &self.sub.facts.query {
            Some(q) => format!("{}?{q}", self.sub.facts.path),
            None => self.sub.facts.path.clone(),
        }
    }

    fn page(&self, status: u16, lang: Lang, token: &str, secs: u64, early: bool) -> Reply {
        let action = self.action();
        let html = page::render_wait(&WaitPage {
            lang,
            action: &action,
            multipart: matches!(self.kind, BodyKind::Multipart(_)),
            fields: &self.fields,
            token,
            secs,
            early,
        });
        let reply = Reply::html(status, html);
        if early { reply.with_header("Retry-After", secs.to_string()) } else { reply }
    }

    fn line(&self, action: Action, status: u16) -> DecisionLog {
        self.sub.line(action, status).assessed(&self.subject.assessment)
    }

    /// "Continue": the token verified for this request, or the step that answers it (too
    /// early: the same page again with the time left; nothing spent, nothing sent).
    fn verify(&self, token: &str, lang: Option<Lang>) -> Result<Wait, Box<Done>> {
        let sub = &self.sub;
        let binding = super::binding(sub.facts);
        match wait_token::verify(token, &sub.config.keys, sub.now, sub.config.skew, &sub.route.path, binding)
        {
            Ok(w) => Ok(w),
            Err(WaitError::TooEarly(left)) => {
                let reply = match lang {
                    Some(lang) => self.page(429, lang, token, left, true),
                    None => Reply::json(
                        429,
                        &serde_json::json!({"error": "too_early", "message": "Wait before continuing.", "retry_after": left}),
                    )
                    .with_header("Retry-After", left.to_string()),
                };
                let r = WaitError::TooEarly(left).rejection();
                let line = sub.line(Action::Reject, r.kind().status());
                Err(Box::new(Refusal::on(r, line).answered_with(reply).done()))
            }
            Err(e) => {
                let r = e.rejection();
                let line = sub.line(Action::Reject, r.kind().status());
                Err(Box::new(Refusal::on(r, line).audience(&sub.audience).done()))
            }
        }
    }
}

/// The JS path's decision, read-only (rules, deny, busy, panic, the JS cohorts' levels; the
/// price is irrelevant here); then this path's budget.
fn on_cohorts<'a>(path: Path<'a>, next: Next, read: Result<CohortState, String>) -> Step<'a> {
    let policy = &path.sub.config.policy;
    let (state, _) = super::state_read(read);
    let decision = policy.decide(&path.subject, &state);
    if let Err(r) = super::price_of(policy, &decision, "no-JS") {
        let line = path
            .line(Action::Reject, 0)
            .decided(&decision, &state, path.phone.as_deref())
            .typed(&path.subject);
        return path.sub.refuse_on(r, line);
    }
    let policy_range = path.range.as_ref().and_then(|at| no_js_refusal(policy, at, &state, path.sub.now));
    if let Some(r) = policy_range {
        let line = path
            .line(Action::Reject, 0)
            .decided(&decision, &state, path.phone.as_deref())
            .typed(&path.subject);
        let blocked = r.kind() == RejectKind::PhoneRangeBlocked;
        let mut done = path.sub.refusal_on(r, line);
        if let (Some(at), true) = (&path.range, blocked) {
            // a send's try, as on the JavaScript path: a block renews while the range is used
            done.counts.events.extend(at.tries(policy));
        }
        return Step::done(done);
    }
    let want = path.budget.clone();
    let shards = path.sub.config.cohort_shards;
    super::read_cohorts(policy, shards, want, move |budget| on_budget(path, next, decision, state, budget))
}

/// This path's budget (its only price): shed when a no-JS cohort is at its budget, or when
/// its counters cannot be read (closed).
fn on_budget<'a>(
    path: Path<'a>,
    next: Next,
    decision: Decision,
    state: CohortState,
    budget: Result<CohortState, String>,
) -> Step<'a> {
    let no_js = &path.sub.config.policy.no_js;
    let shed = match &budget {
        Ok(b) => no_js.shed(b).map(|why| (why, b, None)),
        Err(e) => Some((format!("counters unreachable: {e}"), &state, path.phone.as_deref())),
    };
    if let Some((why, read, phone)) = shed {
        let line = path.line(Action::Reject, 0).decided(&decision, read, phone).typed(&path.subject);
        return path.sub.refuse_on(path.sub.busy(why), line);
    }
    match next {
        Next::Wait { lang, id } => wait_page(path, lang, id),
        Next::Continue(wait, token) => {
            // the wait token is the place: its issue time, its route, its life
            let serving = state.capacity.as_ref().and_then(|c| c.line);
            let place = Place::of(
                &path.sub.config.policy,
                serving,
                &path.sub.route.path,
                (&wait.id, wait.issued_at, wait.expires_at),
                path.sub.now,
            );
            match place {
                Place::Served => {}
                Place::TooLong { detail, retry_after } => {
                    let line =
                        path.line(Action::Reject, 0).decided(&decision, &state, None).typed(&path.subject);
                    return path
                        .sub
                        .refuse_on(Rejection::new(RejectKind::Busy, detail).retry_after(retry_after), line);
                }
                Place::Waiting { wait_secs, ahead_secs, retry_after } => {
                    let place = (wait.issued_at.millis(), super::line::stand(ahead_secs));
                    return in_line(&path, &token, place, (wait_secs, ahead_secs, retry_after));
                }
            }
            // the forward takes its place in a line route's exact minute as the spend comes back
            let order = path.sub.order(wait.id, wait.expires_at);
            let shards = path.sub.config.ledger_shards;
            let hold = super::line::hold(&path.sub, &path.capacity);
            Step::Spend(Spend::holding(order.clone(), shards, hold, move |spent: Spent| {
                match spent.full_secs {
                    0 => on_spend(path, wait, spent.answer),
                    wait_secs => held(path, (&wait, token), order, wait_secs),
                }
            }))
        }
    }
}

/// A served token whose route had no room left in this isolate's exact minute when its spend
/// came back (another request in flight took it): the spend is given back and the person
/// waits on the line's page.
fn held<'a>(path: Path<'a>, (wait, token): (&Wait, String), order: SpendOrder, wait_secs: u32) -> Step<'a> {
    let retry = super::line::retry_after(wait_secs, &wait.id);
    let shards = path.sub.config.ledger_shards;
    let place = (wait.issued_at.millis(), Stand::Held);
    Spend::give_back(&order, shards, move || in_line(&path, &token, place, (wait_secs, 0, retry)))
}

/// "Continue" before its turn in the route's line: the line's page with the fields and the
/// token kept (nothing spent, nothing sent).
fn in_line<'a>(
    path: &Path<'a>,
    token: &str,
    (place_ms, stand): (u64, Stand),
    (wait_secs, ahead_secs, retry): (u32, u32, u32),
) -> Step<'a> {
    let lang = path.sub.audience.lang().unwrap_or(Lang::En);
    let action = path.action();
    let html = page::render_line(&LinePage {
        lang,
        action: &action,
        multipart: matches!(path.kind, BodyKind::Multipart(_)),
        fields: &path.fields,
        place: (wait_token::FIELD, token),
        wait_secs: u64::from(wait_secs),
    });
    let detail = format!("no-JS: issued {ahead_secs} s after the line serves, about {wait_secs} s to wait");
    let r = Rejection::new(RejectKind::InLine, detail).retry_after(retry);
    let line = path.line(Action::Reject, r.kind().status());
    let refusal = Refusal::on(r, line)
        .answered_with(Reply::html(429, html).with_header("Retry-After", retry.to_string()));
    let refusal = refusal.asked(&path.sub.route.path, place_ms, stand);
    Step::done(refusal.done())
}

/// A first post: the wait page and a fresh wait token.
fn wait_page(path: Path<'_>, lang: Lang, id: [u8; 16]) -> Step<'_> {
    let sub = &path.sub;
    let no_js = &sub.config.policy.no_js;
    let terms = WaitTerms {
        route: sub.route.path.clone(),
        wait_secs: u64::from(no_js.wait_secs),
        ttl_secs: u64::from(no_js.ttl_secs),
        binding: super::binding(sub.facts),
    };
    let Some(token) = wait_token::issue(sub.config.keys.current(), &terms, sub.now, id) else {
        return sub.refuse(Rejection::new(RejectKind::Misconfigured, "route does not fit a wait token"));
    };
    let mut line = path.line(Action::Issue, 200);
    line.id = Some(URL_SAFE_NO_PAD.encode(id));
    let reply = path.page(200, lang, &token, terms.wait_secs, false);
    Step::done(Done {
        log: Some(line),
        counts: crate::control::Counts {
            tallies: vec![Tally::new(Action::Issue, REASON)],
            signup: None,
            events: Vec::new(),
            served_place: None,
            asked_place: None,
        },
        ..Done::reply(reply)
    })
}

/// The ledger answered for a wait token: forward a first use without the token field.
fn on_spend(path: Path<'_>, wait: Wait, answer: SpendAnswer) -> Step<'_> {
    let sub = &path.sub;
    let mut line = path.line(Action::Forward, 200);
    line.id = Some(URL_SAFE_NO_PAD.encode(wait.id));
    let mut reasons = path.subject.assessment.codes();
    match sub.spent(answer, "no-JS: replay of a spent wait token") {
        Ok(false) => {}
        Ok(true) => reasons.push(FAIL_OPEN_REASON.to_string()),
        Err(r) => return sub.refuse_on(r, line),
    }
    reasons.push(REASON.to_string());
    line.difficulty = Some(0);
    line.phone_code = path.phone.clone();
    line = line.typed(&path.subject);
    // the origin gets the person's fields as the browser sent them, without the token
    let body = nojs::without_field(&path.kind, &path.body, &path.read, wait_token::FIELD);
    let policy = &sub.config.policy;
    let mut counted = path.budget;
    let mut events = path.capacity.keys;
    if let (Some(at), Some(otp)) = (&path.range, &policy.otp)
        && at.used == RangeUse::Send
    {
        counted.keys.extend(otp.sent_keys(&at.range));
        events.extend(at.tries(policy));
    }
    let sent = Sent {
        id: wait.id,
        order: sub.order(wait.id, wait.expires_at),
        difficulty: 0,
        k: 0,
        score: path.subject.assessment.score,
        reasons,
        line,
        tallies: vec![Tally::new(Action::Forward, REASON)],
        // counted in its no-JS cohorts (and a code's range) only when the origin accepted it
        counted,
        // what the origin receives counts against the route's capacity whichever path it came
        // by; a code's try is counted whatever the origin answers
        events,
        issued_ms: wait.issued_at.millis(),
        number: None,
    };
    path.sub.forward(sent, body)
}
