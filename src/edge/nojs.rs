//! The no-JavaScript sign-up path's IO (README § No JavaScript): the logic is in
//! `crate::pipeline::nojs` (token, fields), `crate::pipeline::page::render_wait` and `crate::policy::NoJs`; this
//! reads the counters, spends the token in the ledger and forwards.

use super::respond::{self, Audience, LogLine};
use super::{attack, count, ledger, proxy};
use crate::pipeline::config::{Config, Loaded};
use crate::pipeline::nojs::{self, WaitError, WaitTerms};
use crate::pipeline::page::{self, WaitPage};
use crate::policy::{CohortState, Decision, Known, Outcome, Subject};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::protocol::verdict::Verdict;
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind};
use crate::request::route::Route;
use crate::signals::{self, Assessment, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use worker::{Context, Env, Request, Response, Result};

/// The reason code the verdict carries for a sign-up that came through this path.
pub const REASON: &str = "no_js";

/// A protected post without a solution: the no-JS path's, if the policy turns it on for the
/// route and the post is a browser form without the widget's field (a wait page), or carries a
/// wait token (verified, spent once, forwarded). `None`: not for this path (the caller answers
/// `missing_solution` as before).
#[allow(clippy::too_many_arguments)] // the request's already-read parts, passed down from `protect`
pub(super) async fn submission(
    req: &Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
    route: &Route,
    now: UnixTime,
    facts: &RequestFacts,
    audience: &Audience,
    kind: &BodyKind,
    body: &[u8],
    read: &form::Fields,
    phone: Option<String>,
) -> Option<Result<Response>> {
    let policy = &config.policy;
    if !policy.no_js.allows(&route.path) {
        return None;
    }
    // a repeated token reads as none: the caller then answers missing_solution
    let token = read.get(nojs::FIELD).ok().flatten().map(str::to_string);
    let lang = match audience {
        Audience::Person { lang, .. } => Some(*lang),
        Audience::Api => None,
    };
    // a first post must be a browser's form post the widget did not touch
    if token.is_none() && (lang.is_none() || !matches!(read.get(crate::protocol::solution::FIELD), Ok(None)))
    {
        return None;
    }
    let fields = nojs::person_fields(kind, body)?;
    let path = Path { req, env, ctx, config, route, now, facts, audience };
    Some(match token {
        None => path.wait(lang.unwrap_or(crate::pipeline::page::Lang::En), kind, phone, &fields).await,
        Some(token) => path.resume(&token, lang, kind, body, phone, &fields).await,
    })
}

struct Path<'a> {
    req: &'a Request,
    env: &'a Env,
    ctx: &'a Context,
    config: &'a Config,
    route: &'a Route,
    now: UnixTime,
    facts: &'a RequestFacts,
    audience: &'a Audience,
}

type Known3<'a> = Option<(&'a Decision, &'a CohortState, Option<&'a str>)>;

impl Path<'_> {
    fn reject(
        &self,
        r: Rejection,
        id: Option<&[u8; 16]>,
        a: Option<&Assessment>,
        d: Known3<'_>,
    ) -> Result<Response> {
        let mut line = LogLine::reject(&r, self.facts, self.now);
        line.route = Some(self.route.path.clone());
        line.id = id.map(|i| URL_SAFE_NO_PAD.encode(i));
        line.no_js = true;
        line.known(a, d).emit();
        count(self.ctx, self.env, "reject", r.kind().code());
        respond::rejection(&r, None, self.audience)
    }

    /// The policy for this request: the JS path's decision read-only (rules, deny, busy, panic,
    /// the JS cohorts' levels; the price is irrelevant here) and then the no-JS budget.
    async fn decide(&self, phone: Option<String>) -> Result<std::result::Result<Assessment, Response>> {
        let assessment = signals::assess(self.facts, &ClientSide::Absent);
        let (decision, state, _) = super::decide(
            self.env,
            self.ctx,
            self.config,
            self.facts,
            &self.route.path,
            &assessment,
            Known::Is(phone.clone()),
        )
        .await;
        let logged = Some((&decision, &state, phone.as_deref()));
        let busy = |why: String| {
            Rejection::new(RejectKind::Busy, format!("no-JS: {why}"))
                .retry_after(self.config.policy.attack.retry_after_secs)
        };
        match decision.outcome {
            Outcome::Deny => {
                let r = Rejection::new(RejectKind::Denied, format!("no-JS: {}", decision.why));
                return Ok(Err(self.reject(r, None, Some(&assessment), logged)?));
            }
            Outcome::Busy => {
                return Ok(Err(self.reject(busy(decision.why.clone()), None, Some(&assessment), logged)?));
            }
            Outcome::Price { .. } => {}
        }
        let no_js = &self.config.policy.no_js;
        let keys = no_js.keys(&self.subject(&assessment, phone.clone()));
        attack::ready(self.env, self.config, &keys, false, self.now).await;
        // the budget is this path's only price: without the counters it is closed
        if attack::unreachable(self.config, &keys) {
            let r = busy("counters unreachable".into());
            return Ok(Err(self.reject(r, None, Some(&assessment), logged)?));
        }
        let state = attack::cohort_state(self.env, self.ctx, self.config, &keys, false, self.now);
        if let Some(why) = no_js.shed(&state) {
            return Ok(Err(self.reject(
                busy(why),
                None,
                Some(&assessment),
                Some((&decision, &state, None)),
            )?));
        }
        Ok(Ok(assessment))
    }

    fn subject<'s>(&'s self, assessment: &'s Assessment, phone: Option<String>) -> Subject<'s> {
        Subject {
            route: &self.route.path,
            country: self.facts.cf.country.as_deref(),
            asn: self.facts.cf.asn,
            ip: self.facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
            user_agent: self.facts.user_agent(),
            assessment,
            phone_code: Known::Is(phone),
        }
    }

    fn action(&self) -> String {
        match self.req.url() {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            },
            Err(_) => self.route.path.clone(),
        }
    }

    #[allow(clippy::too_many_arguments)] // the page's parts, each used once
    fn page(
        &self,
        status: u16,
        lang: page::Lang,
        kind: &BodyKind,
        fields: &[(String, String)],
        token: &str,
        secs: u64,
        early: bool,
    ) -> Result<Response> {
        let action = self.action();
        let html = page::render_wait(&WaitPage {
            lang,
            action: &action,
            multipart: matches!(kind, BodyKind::Multipart(_)),
            fields,
            token,
            secs,
            early,
        });
        let resp = respond::html(status, html)?;
        if early {
            resp.headers().set("Retry-After", &secs.to_string())?;
        }
        Ok(resp)
    }

    /// A first post: decide, then answer with the wait page and a fresh wait token.
    async fn wait(
        &self,
        lang: page::Lang,
        kind: &BodyKind,
        phone: Option<String>,
        fields: &[(String, String)],
    ) -> Result<Response> {
        let assessment = match self.decide(phone).await? {
            Ok(a) => a,
            Err(resp) => return Ok(resp),
        };
        let id = match super::facts::random_id() {
            Ok(id) => id,
            Err(e) => {
                return self.reject(
                    Rejection::new(RejectKind::Misconfigured, format!("no randomness: {e}")),
                    None,
                    None,
                    None,
                );
            }
        };
        let no_js = &self.config.policy.no_js;
        let terms = WaitTerms {
            route: self.route.path.clone(),
            wait_secs: u64::from(no_js.wait_secs),
            ttl_secs: u64::from(no_js.ttl_secs),
            binding: super::facts::binding(self.facts),
        };
        let Some(token) = nojs::issue(self.config.keys.current(), &terms, self.now, id) else {
            let r = Rejection::new(RejectKind::Misconfigured, "route does not fit a wait token");
            return self.reject(r, None, None, None);
        };
        let mut line = LogLine::new("issue", 200, self.facts, self.now).assessed(&assessment);
        line.route = Some(self.route.path.clone());
        line.id = Some(URL_SAFE_NO_PAD.encode(id));
        line.no_js = true;
        line.emit();
        count(self.ctx, self.env, "issue", REASON);
        self.page(200, lang, kind, fields, &token, terms.wait_secs, false)
    }

    /// "Continue": verify the token, then decide, spend once, count, forward.
    async fn resume(
        &self,
        token: &str,
        lang: Option<page::Lang>,
        kind: &BodyKind,
        body: &[u8],
        phone: Option<String>,
        fields: &[(String, String)],
    ) -> Result<Response> {
        let binding = super::facts::binding(self.facts);
        let wait = match nojs::verify(
            token,
            &self.config.keys,
            self.now,
            self.config.skew,
            &self.route.path,
            binding,
        ) {
            Ok(w) => w,
            // too early: the same page again with the time left; nothing spent, nothing sent
            Err(WaitError::TooEarly(left)) => {
                let mut line = LogLine::reject(&WaitError::TooEarly(left).rejection(), self.facts, self.now);
                line.route = Some(self.route.path.clone());
                line.no_js = true;
                line.status = 429;
                line.code = Some("too_early");
                line.emit();
                return match lang {
                    Some(lang) => self.page(429, lang, kind, fields, token, left, true),
                    None => {
                        let resp = respond::json(
                            429,
                            &serde_json::json!({"error": "too_early", "message": "Wait before continuing.", "retry_after": left}),
                        )?;
                        resp.headers().set("Retry-After", &left.to_string())?;
                        Ok(resp)
                    }
                };
            }
            Err(e) => return self.reject(e.rejection(), None, None, None),
        };
        let id = wait.id;
        let assessment = match self.decide(phone.clone()).await? {
            Ok(a) => a,
            Err(resp) => return Ok(resp),
        };
        let config = self.config;
        let mut reasons = assessment.codes();
        let forget_after = wait.expires_at.plus(config.skew);
        let replay = "no-JS: replay of a spent wait token";
        match ledger::spend_once(self.env, config.ledger_shards, config.fail_open, &id, forget_after, replay)
            .await
        {
            Ok(ledger::Once::Fresh) => {
                // count the sign-up in its no-JS cohorts only now that it is certain
                let no_js = &config.policy.no_js;
                let keys = no_js.keys(&self.subject(&assessment, phone.clone()));
                attack::count_signup(self.env, self.ctx, config, &keys, false, self.now);
            }
            Ok(ledger::Once::FailedOpen) => reasons.push(ledger::FAIL_OPEN_REASON.to_string()),
            Err(r) => return self.reject(r, Some(&id), Some(&assessment), None),
        }
        reasons.push(REASON.to_string());
        let verdict = Verdict {
            time: self.now,
            id: URL_SAFE_NO_PAD.encode(id),
            method: self.facts.method.clone(),
            path: self.facts.path.clone(),
            difficulty: 0,
            k: 0,
            score: assessment.score,
            reasons,
        }
        .sign(&config.origin_key);
        // the origin gets the person's fields as the browser sent them, without the gate's token
        let forwarded = nojs::without_field(kind, body, nojs::FIELD);
        let resp = match proxy::forward(&config.origin, self.req, forwarded, &verdict).await {
            Ok(resp) => resp,
            Err(e) => {
                let r = Rejection::new(RejectKind::OriginUnavailable, e.to_string());
                return self.reject(r, Some(&id), Some(&assessment), None);
            }
        };
        let mut line =
            LogLine::new("forward", resp.status_code(), self.facts, self.now).assessed(&assessment);
        line.route = Some(self.route.path.clone());
        line.id = Some(URL_SAFE_NO_PAD.encode(id));
        line.difficulty = Some(0);
        line.phone_code = phone;
        line.no_js = true;
        line.emit();
        count(self.ctx, self.env, "forward", REASON);
        Ok(resp)
    }
}

/// `GET <prefix>/noscript.css?route=/signup`, for a page's `<noscript>`: where the no-JS path is
/// on for the route, the gated form stays visible and `.gate-needs-js` is hidden; otherwise
/// the form is hidden (it could never be sent) and `.gate-nojs` is.
pub(super) fn stylesheet(req: &Request, loaded: &Loaded) -> Result<Response> {
    let wanted = req
        .url()
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "route").map(|(_, v)| v.into_owned()))
        .unwrap_or_default();
    let on = loaded
        .config
        .as_ref()
        .is_ok_and(|c| c.policy.no_js.allows(&crate::request::route::MatchKey::of(&wanted).full));
    let css = if on {
        "/* the no-JavaScript path is on for this route: the form works without the widget */\n.gate-needs-js { display: none; }\n"
    } else {
        "/* no sign-up without JavaScript here: hide the gated form so it is never sent half-verified */\nform[data-gate] { display: none; }\n.gate-nojs { display: none; }\n"
    };
    let headers = worker::Headers::new();
    headers.set("Content-Type", "text/css; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(Response::ok(css)?.with_headers(headers))
}
