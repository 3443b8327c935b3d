//! The no-JavaScript path's flow (docs/policy.md § No JavaScript): a browser form post without the
//! widget's field gets a wait page carrying a signed wait token; posting it again after the
//! wait is verified, spent once and forwarded. The token and field logic is in
//! [`super::nojs`], the page in [`crate::present::page::render_wait`], the budget in `policy::NoJs`.

use crate::decision_log::Action;
use crate::pipeline::nojs;
use crate::pipeline::step::{Answer, Counted, Done, Forward, ReadCohorts, Spend, Step, Tally};
use crate::pipeline::submit::{FAIL_OPEN_REASON, Known3, Sub};
use crate::policy::{Known, Outcome};
use crate::present::page::{self, Lang, WaitPage};
use crate::present::reply::Reply;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::wait_token::{self, WaitError, WaitTerms};
use crate::request::form::{self, BodyKind};
use crate::signals::{self, Assessment, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The reason code the verdict carries for a sign-up that came through this path.
pub const REASON: &str = "no_js";

/// A protected post without a solution: this path's, if the policy turns it on for the route
/// and the post is a browser form without the widget's field (a wait page), or carries a wait
/// token. `None`: not for this path (the caller answers `missing_solution`).
pub(crate) fn submission<'a>(
    sub: Sub<'a>,
    kind: BodyKind,
    body: Vec<u8>,
    read: &form::Fields,
    phone: Option<String>,
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
    let sub = Sub { no_js: true, ..sub };
    let path = Path { sub, kind, body, read: read.clone(), fields, phone };
    Some(match token {
        None => path.wait(lang.unwrap_or(Lang::En), random),
        Some(token) => path.resume(token, lang),
    })
}

struct Path<'a> {
    sub: Sub<'a>,
    kind: BodyKind,
    body: Vec<u8>,
    /// The body's fields as read once (the origin's copy drops the token by their ranges).
    read: form::Fields,
    fields: Vec<(String, String)>,
    phone: Option<String>,
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

    /// The no-JS cohorts of this request.
    fn budget(&self, assessment: &Assessment) -> Counted {
        let no_js = &self.sub.config.policy.no_js;
        let subject = crate::pipeline::subject(
            self.sub.facts,
            &self.sub.route.path,
            assessment,
            Known::Is(self.phone.clone()),
        );
        Counted { keys: no_js.keys(&subject), site: false, window_secs: no_js.window_secs, capacity: None }
    }

    /// The policy for this request: the JS path's decision read-only (rules, deny, busy,
    /// panic, the JS cohorts' levels; the price is irrelevant here) and then the no-JS
    /// budget. Goes on with `then` when both let the request through.
    fn decide(self, then: impl FnOnce(Path<'a>, Assessment) -> Step<'a> + 'a) -> Step<'a> {
        let assessment = signals::assess(self.sub.facts, &ClientSide::Absent);
        let policy = &self.sub.config.policy;
        let counted = crate::pipeline::counted(
            policy,
            &crate::pipeline::subject(
                self.sub.facts,
                &self.sub.route.path,
                &assessment,
                Known::Is(self.phone.clone()),
            ),
        );
        crate::pipeline::with_cohorts(policy, &counted, move |state| {
            let subject = crate::pipeline::subject(
                self.sub.facts,
                &self.sub.route.path,
                &assessment,
                Known::Is(self.phone.clone()),
            );
            let (decision, state, _) = crate::pipeline::decide(policy, &subject, state);
            let known = Known3 {
                id: None,
                assessment: Some(&assessment),
                decided: Some((&decision, &state, self.phone.as_deref())),
            };
            match decision.outcome {
                Outcome::Deny => {
                    let r = Rejection::new(RejectKind::Denied, format!("no-JS: {}", decision.why));
                    return Step::done(self.sub.refuse(r, known));
                }
                Outcome::Busy => {
                    return Step::done(
                        self.sub.refuse(self.sub.busy(format!("no-JS: {}", decision.why)), known),
                    );
                }
                Outcome::Price { .. } => {}
            }
            let budget = self.budget(&assessment);
            Step::ReadCohorts(ReadCohorts {
                keys: budget.keys,
                site: false,
                window_secs: budget.window_secs,
                capacity: None,
                then: Box::new(move |read| {
                    let no_js = &self.sub.config.policy.no_js;
                    let shed = match &read {
                        Ok(budget_state) => no_js.shed(budget_state),
                        // the budget is this path's only price: without the counters it is closed
                        Err(e) => Some(format!("counters unreachable: {e}")),
                    };
                    if let Some(why) = shed {
                        let decided = match &read {
                            Ok(budget_state) => (&decision, budget_state, None),
                            Err(_) => (&decision, &state, self.phone.as_deref()),
                        };
                        let known =
                            Known3 { id: None, assessment: Some(&assessment), decided: Some(decided) };
                        return Step::done(self.sub.refuse(self.sub.busy(why), known));
                    }
                    then(self, assessment)
                }),
            })
        })
    }

    /// A first post: decide, then answer with the wait page and a fresh wait token.
    fn wait(self, lang: Lang, id: [u8; 16]) -> Step<'a> {
        self.decide(move |path, assessment| {
            let sub = &path.sub;
            let no_js = &sub.config.policy.no_js;
            let terms = WaitTerms {
                route: sub.route.path.clone(),
                wait_secs: u64::from(no_js.wait_secs),
                ttl_secs: u64::from(no_js.ttl_secs),
                binding: crate::pipeline::binding(sub.facts),
            };
            let Some(token) = wait_token::issue(sub.config.keys.current(), &terms, sub.now, id) else {
                let r = Rejection::new(RejectKind::Misconfigured, "route does not fit a wait token");
                return Step::done(sub.refuse(r, Known3::NOTHING));
            };
            let mut line = sub.line(Action::Issue, 200).assessed(&assessment);
            line.id = Some(URL_SAFE_NO_PAD.encode(id));
            let reply = path.page(200, lang, &token, terms.wait_secs, false);
            Step::done(Done::logged(reply, line, vec![Tally::new("issue", REASON)]))
        })
    }

    /// "Continue": verify the token, then decide, spend once, forward, count if accepted.
    fn resume(self, token: String, lang: Option<Lang>) -> Step<'a> {
        let sub = &self.sub;
        let binding = crate::pipeline::binding(sub.facts);
        let wait = match wait_token::verify(
            &token,
            &sub.config.keys,
            sub.now,
            sub.config.skew,
            &sub.route.path,
            binding,
        ) {
            Ok(w) => w,
            // too early: the same page again with the time left; nothing spent, nothing sent
            Err(WaitError::TooEarly(left)) => {
                let mut line = sub.line(Action::Reject, 429);
                line.code = Some("too_early".into());
                line.detail = Some(WaitError::TooEarly(left).rejection().detail().to_string());
                let reply = match lang {
                    Some(lang) => self.page(429, lang, &token, left, true),
                    None => Reply::json(
                        429,
                        &serde_json::json!({"error": "too_early", "message": "Wait before continuing.", "retry_after": left}),
                    )
                    .with_header("Retry-After", left.to_string()),
                };
                return Step::done(Done::logged(reply, line, vec![Tally::new("reject", "too_early")]));
            }
            Err(e) => return Step::done(sub.refuse(e.rejection(), Known3::NOTHING)),
        };
        self.decide(move |path, assessment| {
            let id = wait.id;
            let order = path.sub.order(id, wait.expires_at);
            Step::Spend(Spend {
                order,
                then: Box::new(move |answer| {
                    let sub = &path.sub;
                    let mut reasons = assessment.codes();
                    match sub.spent(answer, "no-JS: replay of a spent wait token") {
                        Ok(false) => {}
                        Ok(true) => reasons.push(FAIL_OPEN_REASON.to_string()),
                        Err(r) => {
                            let known =
                                Known3 { id: Some(&id), assessment: Some(&assessment), decided: None };
                            return Step::done(sub.refuse(r, known));
                        }
                    }
                    reasons.push(REASON.to_string());
                    let verdict = sub.verdict(&id, 0, 0, assessment.score, reasons);
                    // the origin gets the person's fields as the browser sent them, without the token
                    let body = nojs::without_field(&path.kind, &path.body, &path.read, wait_token::FIELD);
                    let budget = path.budget(&assessment);
                    Step::Forward(Forward {
                        verdict,
                        body,
                        then: Box::new(move |status| {
                            let sub = &path.sub;
                            let status = match status {
                                Ok(s) => s,
                                Err(e) => {
                                    let r = Rejection::new(RejectKind::OriginUnavailable, e);
                                    let known = Known3 {
                                        id: Some(&id),
                                        assessment: Some(&assessment),
                                        decided: None,
                                    };
                                    return sub.refuse(r, known);
                                }
                            };
                            let mut line = sub.line(Action::Forward, status).assessed(&assessment);
                            line.id = Some(URL_SAFE_NO_PAD.encode(id));
                            line.difficulty = Some(0);
                            line.phone_code = path.phone.clone();
                            // counted in its no-JS cohorts only when the origin accepted it
                            let signup = (status < 400 && !budget.is_empty()).then_some(budget);
                            Done {
                                answer: Answer::Origin,
                                log: Some(line),
                                tallies: vec![Tally::new("forward", REASON)],
                                signup,
                                event: None,
                            }
                        }),
                    })
                }),
            })
        })
    }
}
