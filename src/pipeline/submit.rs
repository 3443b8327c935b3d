//! A protected request: read the body once, find the solution, verify, assess, decide by the
//! policy, spend once, forward with a signed verdict. Requests without a solution may take
//! the no-JavaScript path ([`super::wait`]).
//!
//! One named state per step, each over an owned value: [`start`] → [`on_body`] →
//! `verify` → [`on_cohorts`] → [`on_spend`] → [`on_origin`]. The forward tail
//! ([`Submission::forward`]) is shared with the no-JS path.

use crate::config::Config;
use crate::control::{Counted, Counts, Tally};
use crate::decision_log::{Action, DecisionLog, Stage};
use crate::pipeline::nojs;
use crate::pipeline::phone_field::{PhoneField, PhoneRead, phone_code};
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{
    Answer, BodyRead, Done, Forward, ReadBody, Spend, SpendAnswer, SpendOrder, Spent, Step,
};
use crate::pipeline::{backoff, ranges};
use crate::policy::{CohortState, Decision, Known, Subject};
use crate::present::page::{self, Lang, TopUpPage};
use crate::present::reply::Audience;
use crate::present::reply::Reply;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::rtt_stamp::Reading;
use crate::protocol::solution::{self, Expectation, Verified};
use crate::protocol::time::UnixTime;
use crate::protocol::topup::{self, TopUpJson};
use crate::protocol::verdict::Verdict;
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind, FormError};
use crate::request::phone;
use crate::request::route::Route;
use crate::signals::{self, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The verdict reason a fail-open spend adds.
pub const FAIL_OPEN_REASON: &str = "ledger_unavailable_fail_open";

/// What a submission knows about itself, from its first step to its last.
#[derive(Clone)]
pub(crate) struct Submission<'a> {
    pub config: &'a Config,
    pub route: Route,
    pub facts: &'a RequestFacts,
    pub audience: Audience,
    pub now: UnixTime,
    pub no_js: bool,
}

impl<'a> Submission<'a> {
    /// The challenge endpoint for this route (refusals point the client there).
    pub(super) fn challenge_url(&self) -> String {
        format!("{}/challenge?route={}", self.config.prefix, self.route.path)
    }

    /// What the policy decides on at submission: every phone fact is read from the body.
    pub fn subject(&self, assessment: signals::Assessment, phone: &PhoneRead) -> Subject<'a> {
        let (code, kind) = (Known::Is(phone.code.clone()), Known::Is(phone.kind));
        super::subject(self.facts, &self.route.path, assessment, code, kind)
    }

    /// A line for this request.
    pub fn line(&self, action: Action, status: u16) -> DecisionLog {
        let mut line = DecisionLog::new(action, status, self.facts, self.now);
        line.stage = Some(Stage::Submission);
        line.route = Some(self.route.path.clone());
        line.no_js = self.no_js;
        line
    }

    /// A refusal logged on `line` (what was known when it was refused).
    pub fn refuse_on(&self, r: Rejection, line: DecisionLog) -> Step<'a> {
        Step::done(self.refusal_on(r, line))
    }

    /// The same refusal, to add counts to before it is done (a range's try).
    pub fn refusal_on(&self, r: Rejection, line: DecisionLog) -> Done {
        let url = (!self.no_js).then(|| self.challenge_url());
        Refusal::on(r, line).audience(&self.audience).challenge(url).done()
    }

    /// A refusal before anything was known but the request.
    pub fn refuse(&self, r: Rejection) -> Step<'a> {
        let line = self.line(Action::Reject, r.kind().status());
        self.refuse_on(r, line)
    }

    /// The busy refusal with the policy's `Retry-After`.
    pub fn busy(&self, why: String) -> Rejection {
        Rejection::new(RejectKind::Busy, why).retry_after(self.config.policy.attack.retry_after_secs)
    }

    /// The ledger order for `id`, kept until `expires_at` plus skew.
    pub fn order(&self, id: [u8; 16], expires_at: UnixTime) -> SpendOrder {
        SpendOrder::of(id, expires_at.plus(self.config.skew))
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

    /// The forward tail, for both paths: sign the verdict for the spent `id`, send `body`,
    /// and finish with the origin's answer: `line` (what was decided) becomes the forward's
    /// line, `tallies` are counted, and `counted` only when the origin accepted the sign-up.
    pub fn forward(self, sent: Sent, body: Vec<u8>) -> Step<'a> {
        let verdict = Verdict {
            time: self.now,
            id: URL_SAFE_NO_PAD.encode(sent.id),
            method: self.facts.method.clone(),
            path: self.facts.path.clone(),
            difficulty: sent.difficulty,
            k: sent.k,
            score: sent.score,
            reasons: sent.reasons.clone(),
        }
        .sign(&self.config.origin_key);
        Step::Forward(Forward {
            origin: &self.config.origin,
            verdict: Some(verdict),
            body,
            then: Box::new(move |status| on_origin(self, sent, status)),
        })
    }
}

/// A spent submission on its way to the origin.
pub(crate) struct Sent {
    pub id: [u8; 16],
    /// Its ledger order (given back when the forward fails).
    pub order: SpendOrder,
    pub difficulty: u8,
    pub k: u8,
    pub score: u32,
    pub reasons: Vec<String>,
    /// The decision-log line so far (assessment, decision).
    pub line: DecisionLog,
    pub tallies: Vec<Tally>,
    pub counted: Counted,
    /// Counters moved whatever the origin answers (an OTP send's try).
    pub events: Vec<crate::policy::CohortKey>,
    /// When its challenge (its place) was issued, ms.
    pub issued_ms: u64,
    /// The number's send taken from its backoff (given back when the forward fails).
    pub number: Option<backoff::Grant>,
}

/// The origin answered (or could not be reached): the forward's line and counts. A forward
/// the origin did not accept (no answer, or 5xx) gives the id back to the ledger first, so
/// the same work may be sent again while it is valid; one it answered stays spent.
fn on_origin<'a>(sub: Submission<'a>, sent: Sent, status: Result<u16, String>) -> Step<'a> {
    let failed = status.as_ref().map_or(true, |s| *s >= 500);
    let give_back = failed.then(|| sent.order.clone());
    let number = sent.number.clone().filter(|_| backoff::not_sent(&status));
    let config = sub.config;
    let done = finished(&sub, sent, status);
    let then = move || match number {
        Some(grant) => backoff::give_back(config, grant, done),
        None => Step::done(done),
    };
    match give_back {
        Some(order) => Spend::give_back(&order, config.ledger_shards, then),
        None => then(),
    }
}

/// The forward's line and counts (or the refusal when the origin could not be reached).
fn finished(sub: &Submission<'_>, sent: Sent, status: Result<u16, String>) -> Done {
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            return sub.refusal_on(Rejection::new(RejectKind::OriginUnavailable, e), sent.line);
        }
    };
    let mut line = sent.line;
    line.action = Action::Forward;
    line.status = status;
    // only a fresh spend (or fail-open) reaches here, and only a sign-up the origin accepted
    // (2xx or 3xx) is counted
    // the route's capacity counters measure what the origin receives, refused or not: an
    // origin past its capacity answers 5xx, and a controller counting only what it accepted
    // would never see the load above capacity
    let mut events = sent.events;
    if status >= 400 {
        events.extend(sent.counted.keys.iter().filter(|k| k.is_capacity()).cloned());
    }
    let served_place = sent.counted.capacity.as_ref().map(|c| (c.route.clone(), sent.issued_ms));
    let signup = (status < 400 && !sent.counted.is_empty()).then_some(sent.counted);
    Done {
        answer: Answer::Origin,
        log: Some(line),
        event: None,
        counts: Counts { tallies: sent.tallies, signup, events, served_place, asked_place: None },
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
    let sub = Submission { config, route, facts, audience: Audience::of(facts), now, no_js: false };
    // the declared length first, then the bytes actually read
    let declared = facts.headers.get("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body as u64) {
        let r = Rejection::new(
            RejectKind::TooLarge,
            format!("Content-Length {declared:?} over {}", config.max_body),
        );
        return sub.refuse(r);
    }
    if matches!(facts.method.as_str(), "GET" | "HEAD") {
        return on_body(sub, BodyRead::Bytes(Vec::new()), random);
    }
    Step::ReadBody(ReadBody {
        cap: config.max_body,
        // The client controls how long the body takes to arrive: judge expiry at the time it
        // has arrived (a solution must not outlive its ledger row).
        then: Box::new(move |body, arrived| on_body(Submission { now: arrived, ..sub }, body, random)),
    })
}

/// The body arrived: read the fields once, find the solution (or the no-JS path).
pub(crate) fn on_body(sub: Submission<'_>, body: BodyRead, random: [u8; 16]) -> Step<'_> {
    let cap = sub.config.max_body;
    let body = match body {
        BodyRead::Bytes(b) => b,
        BodyRead::TooLarge(n) => {
            return sub
                .refuse(Rejection::new(RejectKind::TooLarge, format!("body of {n}+ bytes is over {cap}")));
        }
        BodyRead::Failed(e) => {
            return sub.refuse(Rejection::new(RejectKind::MalformedSolution, format!("body read: {e}")));
        }
    };
    let headers = &sub.facts.headers;
    // a compressed body would be read by an origin that inflates it, never by the gate
    if !body.is_empty()
        && headers.get("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return sub.refuse(Rejection::new(RejectKind::UnsupportedBody, "the body has a Content-Encoding"));
    }
    // the fields, read once (body and query string); a field the gate judges must appear at
    // most once, so the origin cannot read another value than the gate did
    let kind = BodyKind::of(headers.get("content-type"));
    let fields = match form::Fields::parse(&kind, &body) {
        Ok(fields) => fields.with_query(sub.facts.query.as_deref().unwrap_or_default()),
        Err(e @ FormError::DuplicateKey(_)) => {
            return sub.refuse(Rejection::new(RejectKind::DuplicateField, e.to_string()));
        }
        Err(e) => return sub.refuse(Rejection::new(RejectKind::UnsupportedBody, e.to_string())),
    };
    let judged = fields
        .get(solution::FIELD)
        .map_err(PhoneField::Duplicate)
        .and_then(|s| Ok((s.map(str::to_string), phone_code(&sub.config.policy, &fields)?)));
    let (field, phone) = match judged {
        Ok(read) => read,
        Err(PhoneField::Duplicate(e)) => {
            return sub.refuse(Rejection::new(RejectKind::DuplicateField, e.to_string()));
        }
        // a number the origin would text in vain: refused before any work is spent
        Err(PhoneField::Invalid(e)) => {
            return sub.refuse(Rejection::new(RejectKind::InvalidPhone, e.to_string()));
        }
    };
    // the solution: the header for API clients, else the form field (the header wins)
    let Some(raw) = headers.get(solution::HEADER).map(str::to_string).or(field) else {
        // no widget ran: the no-JavaScript path, where the policy turns it on
        return match super::wait::submission(sub.clone(), kind, body, &fields, phone, random) {
            Some(step) => step,
            None => sub.refuse(Rejection::new(RejectKind::MissingSolution, "no header and no form field")),
        };
    };
    verify(sub, raw, phone, body, random)
}

/// A submission whose work is paid (verified), assessed, on its way to a decision.
pub(super) struct Paid<'a> {
    pub(super) sub: Submission<'a>,
    pub(super) verified: Verified,
    pub(super) subject: Subject<'a>,
    pub(super) counted: Counted,
    pub(super) phone: Option<String>,
    /// The whole number (E.164), for a code's per-number backoff.
    pub(super) number: Option<String>,
    /// The number's range, where the policy judges it (the OTP send route, `otp.apply_to`).
    pub(super) range: Option<ranges::RangeAt>,
    /// The range's counts were read from their shards for this decision.
    pub(super) fresh: bool,
    pub(super) body: Vec<u8>,
    /// Random bytes for a top-up's id, when one is offered.
    pub(super) random: [u8; 16],
    /// The route's waiting line, while there is one (read with the cohorts).
    pub(super) serving: Option<crate::control::line::Serving>,
}

/// Verify (pure, cheapest checks first; the work at the signed difficulty), then read the
/// cohorts.
fn verify(sub: Submission<'_>, raw: String, phone: PhoneRead, body: Vec<u8>, random: [u8; 16]) -> Step<'_> {
    let config = sub.config;
    let expect = Expectation {
        keys: &config.keys,
        now: sub.now,
        skew: config.skew,
        route: Some(&sub.route.path),
        binding: Some(super::binding(sub.facts)),
        order: super::order_of(&random),
    };
    let verified = match solution::verify(&raw, &expect) {
        Ok(v) => v,
        Err(r) => return sub.refuse(r),
    };
    // fingerprint the submission with the signals the work was bound to
    // (their stamp's address was checked when the challenge was issued)
    let side = ClientSide::parse(&verified.signals);
    let at = Reading::OfChallenge { issued_at: verified.challenge.issued_at };
    let assessment = signals::assess(sub.facts, &super::read_rtt(&config.keys, sub.facts, side, at));
    let subject = sub.subject(assessment, &phone);
    let mut counted = super::counted(&config.policy, &subject);
    // a number whose range the policy judges: its counters are read (and, for a code sent,
    // moved once the origin sent it)
    let range = ranges::RangeAt::of(&config.policy, &sub.route.path, phone.range.as_deref());
    if let (Some(at), Some(otp)) = (&range, &config.policy.otp) {
        at.count(otp, &mut counted);
    }
    let want = counted.clone();
    let paid = Paid {
        sub,
        verified,
        subject,
        counted,
        phone: phone.code,
        number: phone.e164,
        range,
        fresh: false,
        body,
        random,
        serving: None,
    };
    super::read_cohorts(&config.policy, config.cohort_shards, want, move |state| on_cohorts(paid, state))
}

/// Decides by the policy at submission: deny, busy, a price the work does not cover, or on
/// to the single-use spend.
fn on_cohorts(p: Paid<'_>, read: Result<CohortState, String>) -> Step<'_> {
    let (state, unreadable) = super::state_read(read);
    decide(p, state, unreadable)
}

/// The decision on the state read.
pub(super) fn decide(mut p: Paid<'_>, state: CohortState, unreadable: Option<String>) -> Step<'_> {
    p.serving = state.capacity.as_ref().and_then(|c| c.line);
    let policy = &p.sub.config.policy;
    let decision = policy.decide(&p.subject, &state);
    super::usual_learned(policy, &state, &p.random, &mut p.counted);
    let mut line = p.sub.line(Action::Forward, 200).assessed(&p.subject.assessment).decided(
        &decision,
        &state,
        p.phone.as_deref(),
    );
    line = line.typed(&p.subject);
    line.id = Some(URL_SAFE_NO_PAD.encode(p.verified.challenge.id));
    line.counters_unreadable = unreadable.clone();
    // the price asked now against the work paid (the challenge's and its top-ups'): one bit
    // of slack, beyond that the client adds a top-up, with nothing spent
    let priced = super::price_of(policy, &decision, "at submission").map(|_| ());
    if let Err(r) = priced {
        return p.sub.refuse_on(r, line);
    }
    // a number range: its conversion may price a sign-up, or price or block a code sent
    if let Some(at) = p.range.clone() {
        return ranges::judge(p, at, state, unreadable, decision, line);
    }
    on_price(p, decision, line)
}

/// The price is known: a top-up when the work falls short, else on to the single-use spend.
pub(super) fn on_price<'a>(p: Paid<'a>, decision: Decision, line: DecisionLog) -> Step<'a> {
    let asked = super::work::asked(&decision).unwrap_or(0);
    if !super::work::covers(p.verified.work, asked) {
        return more_work(&p, &decision, asked, line);
    }
    // paid: its place in the line, if there is one
    if let Some(step) = super::line::wait(&p, p.serving, &line) {
        return step;
    }
    // single use, only after the work is known to be paid; on a line route the forward takes
    // its place in the route's exact minute as the spend comes back
    let order = p.sub.order(p.verified.challenge.id, p.verified.challenge.expires_at);
    let shards = p.sub.config.ledger_shards;
    let hold = super::line::hold(&p.sub, &p.counted);
    Step::Spend(Spend::holding(order.clone(), shards, hold, move |spent: Spent| match spent.full_secs {
        0 => on_spend(p, decision, line, spent.answer),
        wait_secs => super::line::held(p, order, line, wait_secs),
    }))
}

/// The work falls short of the price asked now: `402 more_work` with a top-up for what is
/// missing (the challenge stays unspent), or, when the bundle has no room for another
/// top-up, `403 risk_increased` (fetch a new challenge).
fn more_work<'a>(p: &Paid<'a>, decision: &Decision, asked: u64, line: DecisionLog) -> Step<'a> {
    let paid = p.verified.work;
    let missing = asked.saturating_sub(paid);
    let detail = format!("now asks {asked} expected hashes ({}), paid {paid}", decision.why);
    let offer = topup::sized(missing)
        .filter(|_| p.verified.topups < solution::MAX_TOP_UPS)
        .and_then(|(d, k)| {
            topup::issue(p.sub.config.keys.current(), &p.verified.challenge, d, k, p.sub.now, p.random)
        })
        .and_then(|bytes| TopUpJson::of(&bytes));
    let Some(offer) = offer else {
        return p.sub.refuse_on(Rejection::new(RejectKind::RiskIncreased, detail), line);
    };
    let r = Rejection::new(RejectKind::MoreWork, detail);
    let body = serde_json::json!({
        "error": r.kind().code(),
        "message": r.kind().public_message(),
        "work": {"asked": asked, "paid": paid, "missing": missing},
        "topup": offer,
    });
    let url = p.sub.challenge_url();
    let refusal = Refusal::on(r, line).audience(&p.sub.audience).challenge(Some(url));
    let done = match p.sub.audience {
        Audience::Api => refusal.answered_with(Reply::json(402, &body)).done(),
        Audience::Person { lang, .. } => {
            // no form to keep (a file field, a body of another kind): the retry page
            let refusal = match topup_page(p, lang, &body) {
                Some(html) => refusal.answered_with(
                    Reply::html(402, html).with_header("Content-Security-Policy", TOPUP_PAGE_CSP),
                ),
                None => refusal,
            };
            // the cookie names the unspent challenge for the form, should the person go back
            refusal.header("Set-Cookie", unspent_cookie(&p.verified.challenge, p.sub.now)).done()
        }
    };
    Step::done(done)
}

/// The top-up page's policy: the widget's script, its workers (and Wasm) and its price ask
/// from this origin; nothing inline, nothing else. (No `form-action`: Chromium checks it on
/// the redirects that follow a post too, and an origin may answer a sign-up with a redirect to
/// another of its hosts.)
pub const TOPUP_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; base-uri 'none'";

/// The page that finishes a person's form post the price outran: the fields and the solution
/// as posted, the top-up on offer, the widget, which adds the rest and posts by itself
/// (`None` when the body holds no form to keep).
fn topup_page(p: &Paid<'_>, lang: Lang, answer: &serde_json::Value) -> Option<String> {
    let kept = p.kept_form()?;
    let phone = p.number.as_deref().map(|n| phone::prefix_of(n, phone::PREFIX_DIGITS)).unwrap_or_default();
    Some(page::render_topup(&TopUpPage {
        lang,
        action: &kept.action,
        multipart: kept.multipart,
        fields: &kept.fields,
        solution: &kept.solution,
        offer: &answer.to_string(),
        phone: &phone,
        script: &format!("{}/gate.js", p.sub.config.prefix),
    }))
}

/// A browser's form post as a gate page keeps it to post again: where it went, how, the
/// person's fields and the solution it carried.
pub(super) struct KeptForm {
    pub(super) action: String,
    pub(super) multipart: bool,
    pub(super) fields: Vec<(String, String)>,
    pub(super) solution: String,
}

impl Paid<'_> {
    /// The post as a page keeps it (`None` when its body holds no form a page can carry: a
    /// file field, JSON, no solution field).
    pub(super) fn kept_form(&self) -> Option<KeptForm> {
        let kind = BodyKind::of(self.sub.facts.headers.get("content-type"));
        let read = form::Fields::parse(&kind, &self.body).ok()?;
        let fields = nojs::person_fields(&read)?;
        let solution = read.get(solution::FIELD).ok().flatten()?.to_string();
        let action = match &self.sub.facts.query {
            Some(q) => format!("{}?{q}", self.sub.facts.path),
            None => self.sub.facts.path.clone(),
        };
        Some(KeptForm { action, multipart: matches!(kind, BodyKind::Multipart(_)), fields, solution })
    }
}

/// The name of the cookie that tells the widget, back on the form after a retry page, that its
/// challenge was not spent (so it tops up the work it has instead of solving anew).
pub const UNSPENT_COOKIE: &str = "gate-unspent";

/// `gate-unspent=<challenge id, base64url>` for the challenge's life left: a plain form's retry
/// page has no script, so the widget learns it from this when the person goes back.
fn unspent_cookie(challenge: &crate::protocol::challenge::Challenge, now: UnixTime) -> String {
    let left = challenge.expires_at.seconds().saturating_sub(now.seconds()).clamp(1, 3600);
    format!(
        "{UNSPENT_COOKIE}={}; Max-Age={left}; Path=/; SameSite=Strict",
        URL_SAFE_NO_PAD.encode(challenge.id)
    )
}

/// The ledger answered: forward a first use (or a fail-open), refuse a replay.
fn on_spend(p: Paid<'_>, decision: Decision, mut line: DecisionLog, answer: SpendAnswer) -> Step<'_> {
    let mut reasons = p.subject.assessment.codes();
    match p.sub.spent(answer, "replay of a spent challenge") {
        Ok(false) => {}
        Ok(true) => reasons.push(FAIL_OPEN_REASON.to_string()),
        Err(r) => return p.sub.refuse_on(r, line),
    }
    let challenge = &p.verified.challenge;
    line.difficulty = Some(challenge.difficulty);
    let number = backoff::applies(&p);
    let sent = Sent {
        id: challenge.id,
        order: p.sub.order(challenge.id, challenge.expires_at),
        difficulty: challenge.difficulty,
        k: challenge.k,
        score: p.subject.assessment.score,
        reasons,
        line,
        tallies: Tally::of_decision(Action::Forward, &decision),
        counted: p.counted,
        events: p.range.as_ref().map(|r| r.tries(&p.sub.config.policy)).unwrap_or_default(),
        issued_ms: challenge.issued_at.millis(),
        number: None,
    };
    // a code about to be sent: the number's wait first
    if let Some(number) = number {
        return backoff::take(p.sub, p.body, sent, number);
    }
    p.sub.forward(sent, p.body)
}
