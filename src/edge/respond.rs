//! Turns decisions into responses and one structured log line each.

use crate::pipeline::page::{self, Lang};
use crate::policy::{CohortState, Decision, Outcome};
use crate::protocol::reject::Rejection;
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::user_agent::UserAgent;
use crate::signals::Assessment;
use serde::Serialize;
use worker::{Headers, Request, Response, Result};

/// A JSON response with the given status and no caching.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    let text = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(Response::ok(text)?.with_status(status).with_headers(headers))
}

/// How the client wants refusals: JSON (API clients, scripts) or a page (browser navigations).
#[derive(Clone, Debug)]
pub enum Audience {
    /// `{"error": .., "message": .., "challenge": ..}`.
    Api,
    /// A translated HTML page with a link back to `back` (a same-site path).
    Person {
        /// Page language.
        lang: Lang,
        /// Where "go back" points.
        back: Option<String>,
    },
}

impl Audience {
    /// Reads `Accept`, `Sec-Fetch-Mode`, `Accept-Language` and `Referer`.
    pub fn of(req: &Request) -> Audience {
        let h = |name: &str| req.headers().get(name).ok().flatten();
        if !page::wants_html(h("Accept").as_deref(), h("Sec-Fetch-Mode").as_deref()) {
            return Audience::Api;
        }
        let own_origin = req.url().ok().map(|u| u.origin().ascii_serialization());
        let back = h("Referer").and_then(|r| {
            let r = url::Url::parse(&r).ok()?;
            (Some(r.origin().ascii_serialization()) == own_origin).then(|| match r.query() {
                Some(q) => format!("{}?{q}", r.path()),
                None => r.path().to_string(),
            })
        });
        Audience::Person { lang: page::negotiate(h("Accept-Language").as_deref()), back }
    }
}

/// An HTML response with the given status and no caching.
pub fn html(status: u16, body: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

/// The client-facing response for a rejection. The private detail is not in it.
pub fn rejection(r: &Rejection, challenge_url: Option<&str>, audience: &Audience) -> Result<Response> {
    let resp = match audience {
        Audience::Api => json(r.kind().status(), &r.body(challenge_url))?,
        Audience::Person { lang, back } => {
            html(r.kind().status(), page::render(r.kind(), *lang, back.as_deref()))?
        }
    };
    if let Some(secs) = r.retry_after_secs() {
        resp.headers().set("Retry-After", &secs.to_string())?;
    }
    Ok(resp)
}

/// One decision, as the JSON log line operators read (`wrangler tail`, Workers Logs). It
/// carries every fingerprint reason with its private detail; never a secret, never the raw
/// client signals.
#[derive(Debug, Serialize)]
pub struct LogLine {
    /// Always "decision".
    pub gate: &'static str,
    /// Unix seconds.
    pub t: u64,
    /// `issue`, `forward`, `reject`.
    pub action: &'static str,
    /// HTTP status returned.
    pub status: u16,
    /// Rejection code, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Private detail (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Protected route matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Challenge id (base64url), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Difficulty issued or paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    /// Risk score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    /// Fingerprint findings (code, weight, detail).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<crate::signals::Reason>,
    /// `cf.asn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// `cf.country`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `cf.colo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colo: Option<String>,
    /// Browser family/major from the User-Agent.
    pub ua: String,
    /// The User-Agent (first 256 characters), for policy replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client's IPv4 /24 or IPv6 /48 (never the full address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_prefix: Option<String>,
    /// The sign-up's phone calling code (never the number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_code: Option<String>,
    /// Cohort rates read for the decision (sign-ups per window).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<(String, f64)>,
    /// Site-wide rate read for the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_rate: Option<f64>,
    /// Policy outcome: `price 17x32`, `deny`, `busy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The rule that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Attack level reached (0: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<usize>,
    /// In shadow mode: what would have been enforced, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
    /// The request came through the no-JavaScript path (README § No JavaScript).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_js: bool,
}

/// How an outcome is written in the log.
pub fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Price { difficulty, k } => format!("price {difficulty}x{k}"),
        other => other.name().to_string(),
    }
}

impl LogLine {
    /// A line for `action` on the request described by `facts`.
    pub fn new(action: &'static str, status: u16, facts: &RequestFacts, now: UnixTime) -> LogLine {
        LogLine {
            gate: "decision",
            t: now.seconds(),
            action,
            status,
            code: None,
            detail: None,
            method: facts.method.clone(),
            path: facts.path.clone(),
            route: None,
            id: None,
            difficulty: None,
            score: None,
            reasons: Vec::new(),
            asn: facts.cf.asn,
            country: facts.cf.country.clone(),
            colo: facts.cf.colo.clone(),
            ua: UserAgent::parse(facts.user_agent().unwrap_or("")).family_major(),
            user_agent: facts.user_agent().map(|u| u.chars().take(256).collect()),
            ip_prefix: facts
                .client_ip
                .as_deref()
                .and_then(|ip| ip.parse().ok())
                .map(crate::policy::ip_prefix),
            phone_code: None,
            cohorts: Vec::new(),
            site_rate: None,
            outcome: None,
            rule: None,
            why: None,
            level: None,
            shadow: None,
            no_js: false,
        }
    }

    /// Adds a policy decision and the cohort state it was made on.
    pub fn decided(mut self, d: &Decision, state: &CohortState, phone_code: Option<&str>) -> LogLine {
        self.outcome = Some(outcome_text(&d.outcome));
        self.rule = d.rule.clone();
        self.why = Some(d.why.clone());
        self.level = (d.level > 0).then_some(d.level);
        self.shadow = d.shadow.as_ref().map(|(o, why)| format!("{} ({why})", outcome_text(o)));
        self.cohorts = state.rates.iter().map(|(k, r)| (k.0.clone(), (r * 10.0).round() / 10.0)).collect();
        self.site_rate = Some((state.site_rate * 10.0).round() / 10.0);
        self.phone_code = phone_code.map(str::to_string);
        self
    }

    /// A line for a rejection.
    pub fn reject(r: &Rejection, facts: &RequestFacts, now: UnixTime) -> LogLine {
        let mut line = LogLine::new("reject", r.kind().status(), facts, now);
        line.code = Some(r.kind().code());
        line.detail = Some(r.detail().to_string());
        line
    }

    /// Adds whatever was known when a request was rejected: the assessment, if it had been
    /// made, and the policy decision with its cohort state, if it had been reached.
    pub fn known(
        mut self,
        a: Option<&Assessment>,
        d: Option<(&Decision, &CohortState, Option<&str>)>,
    ) -> LogLine {
        if let Some(a) = a {
            self = self.assessed(a);
        }
        if let Some((d, state, phone_code)) = d {
            self = self.decided(d, state, phone_code);
        }
        self
    }

    /// Adds the fingerprint assessment.
    pub fn assessed(mut self, a: &Assessment) -> LogLine {
        self.score = Some(a.score);
        self.reasons = a.reasons.clone();
        self
    }

    /// Writes the line to the Worker log.
    pub fn emit(&self) {
        match serde_json::to_string(self) {
            Ok(line) => worker::console_log!("{line}"),
            Err(e) => worker::console_error!("{{\"gate\":\"log_error\",\"error\":\"{e}\"}}"),
        }
    }
}
