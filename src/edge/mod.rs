//! The Worker: thin glue between `worker::Request` and the sans-IO core.
//!
//! Routing only: the gate's endpoints under the prefix, protected routes through
//! verification, fingerprint assessment, the policy (rules, attack mode) and the single-use
//! ledger, everything else straight to the origin.

mod attack;
mod env;
mod nojs;
pub mod objects;
mod ops;
mod proxy;
pub mod request;
mod respond;

use crate::pipeline::config::{Config, Loaded};
use crate::policy::{CohortState, Decision, Known, Outcome, Policy, Subject};
use crate::protocol::challenge::{self, Terms};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::solution::{self, Expectation, Verified};
use crate::protocol::time::UnixTime;
use crate::protocol::verdict::Verdict;
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind, FormError};
use crate::request::route::{self, Judged, Route};
use crate::signals::{self, Assessment, ClientSide};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use objects::ledger;
pub use objects::{Cohorts, Ledger, Stats};
use request as facts;
use respond::{Audience, LogLine};
use worker::{Context, Env, Method, Request, Response, Result, event};
use worker::{wasm_bindgen, wasm_bindgen_futures, web_sys};

/// Headers through which frameworks let clients override the method.
const METHOD_OVERRIDES: &[&str] = &["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"];

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let loaded = env::loaded(&env);
    let now = facts::now();
    match handle(req, &env, &ctx, &loaded, now).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            worker::console_error!("{}", serde_json::json!({"gate": "error", "error": e.to_string()}));
            respond::rejection(
                &Rejection::new(RejectKind::OriginUnavailable, e.to_string()),
                None,
                &Audience::Api,
            )
        }
    }
}

/// Counts a decision for the stats endpoint, after the response is sent.
fn count(ctx: &Context, env: &Env, action: &'static str, code: impl Into<String>) {
    attack::count(env, ctx, action, code.into(), facts::now());
}

async fn handle(req: Request, env: &Env, ctx: &Context, loaded: &Loaded, now: UnixTime) -> Result<Response> {
    let path = req.path();
    let prefix = loaded.prefix.as_str();
    if let Some(sub) = path.strip_prefix(prefix).filter(|rest| rest.is_empty() || rest.starts_with('/')) {
        return gate_endpoint(&req, env, ctx, loaded, sub, now).await;
    }
    let method = req.method().to_string();
    let mut methods = vec![method.clone()];
    for h in METHOD_OVERRIDES {
        if let Ok(Some(m)) = req.headers().get(h) {
            methods.push(m.trim().to_ascii_uppercase());
        }
    }
    let methods: Vec<&str> = methods.iter().map(String::as_str).collect();
    let owned = |j: Judged<'_>| match j {
        Judged::Refused(why) => Err(why),
        Judged::Protected(r) => Ok(Some(r.clone())),
        Judged::Unprotected => Ok(None),
    };
    let query = req.url().ok().and_then(|u| u.query().map(str::to_string));
    let query = query.as_deref();
    let judged = match (&loaded.config, &loaded.routes) {
        (Ok(config), _) => owned(config.policy.judge(&methods, &path, query)),
        (Err(_), Some((protected, pass))) => {
            owned(route::judge_target(protected, pass, &methods, &path, query))
        }
        // The policy's routes cannot be read: any non-read could be a sign-up.
        (Err(_), None) => owned(route::judge(&[], &[], &methods, &path)).map(|_| {
            route::is_unsafe(&methods).then(|| Route { method: None, path: path.clone(), prefix: false })
        }),
    };
    let protected = match judged {
        Ok(protected) => protected,
        Err(why) => {
            let r = Rejection::new(RejectKind::NonCanonicalPath, format!("path {path:?} {why}"));
            LogLine::reject(&r, &facts::read(&req), now).emit();
            count(ctx, env, "reject", r.kind().code());
            return respond::rejection(&r, None, &Audience::of(&req));
        }
    };
    match (protected, &loaded.config) {
        (None, _) => match &loaded.origin {
            Some(origin) => proxy::pass_through(origin, &req).await,
            None => respond::rejection(
                &Rejection::new(RejectKind::Misconfigured, "no valid ORIGIN"),
                None,
                &Audience::of(&req),
            ),
        },
        (Some(route), Ok(config)) => protect(req, env, ctx, config, &route, now).await,
        (Some(route), Err(errors)) => {
            let r = Rejection::new(RejectKind::Misconfigured, errors.to_string());
            let mut line = LogLine::reject(&r, &facts::read(&req), now);
            line.route = Some(route.path);
            line.emit();
            count(ctx, env, "reject", r.kind().code());
            respond::rejection(&r, None, &Audience::of(&req))
        }
    }
}

/// The widget's files, served from Workers static assets (`www/dist`, built by
/// `scripts/build-widget`) under the gate prefix. Nothing else there is reachable.
const WIDGET_FILES: &[&str] = &[
    "gate.js",
    "gate-worker.js",
    "gate-solver-js.js",
    "gate_solver.js",
    "gate_solver_bg.wasm",
    "gate_solver_simd.js",
    "gate_solver_simd_bg.wasm",
    "gate-i18n-zh-CN.json",
    "gate-i18n-es.json",
    "gate-i18n-de.json",
    "gate-i18n-ja.json",
];

/// Serves a widget file from the `ASSETS` binding, same-origin only.
async fn widget_file(env: &Env, name: &str) -> Result<Response> {
    let assets = env.assets("ASSETS")?;
    let resp = assets.fetch(format!("https://assets.local/{name}"), None).await?;
    if resp.status_code() != 200 {
        return Ok(resp);
    }
    let headers = worker::Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.append(&k, &v)?;
    }
    headers.set("Cache-Control", "public, max-age=300")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Cross-Origin-Resource-Policy", "same-origin")?;
    Ok(resp.with_headers(headers))
}

/// The gate's own endpoints: `challenge`, `ping` (the widget's round-trip measurement), the
/// widget files, and the operators' `stats`, `panic` and `siteverify`.
async fn gate_endpoint(
    req: &Request,
    env: &Env,
    ctx: &Context,
    loaded: &Loaded,
    sub: &str,
    now: UnixTime,
) -> Result<Response> {
    let facts = facts::read(req);
    let reject = |r: Rejection, a: Option<&Assessment>| {
        LogLine::reject(&r, &facts, now).known(a, None).emit();
        respond::rejection(&r, None, &Audience::Api)
    };
    if let Some(name) = sub.strip_prefix('/').filter(|n| WIDGET_FILES.contains(n)) {
        if !matches!(req.method(), Method::Get | Method::Head) {
            return reject(Rejection::new(RejectKind::MethodNotAllowed, "widget files need GET"), None);
        }
        return match widget_file(env, name).await {
            Ok(resp) => Ok(resp),
            Err(e) => {
                reject(Rejection::new(RejectKind::Misconfigured, format!("widget asset {name}: {e}")), None)
            }
        };
    }
    let wants = |m: Method| {
        if req.method() == m {
            Ok(())
        } else {
            Err(Rejection::new(RejectKind::MethodNotAllowed, format!("{sub} needs {m}")))
        }
    };
    match sub {
        "/ping" => {
            let resp = Response::empty()?.with_status(204);
            resp.headers().set("Cache-Control", "no-store")?;
            return Ok(resp);
        }
        "/challenge" => {}
        "/noscript.css" => return nojs::stylesheet(req, loaded),
        "/stats" => return ops::stats(req, env, loaded).await,
        "/panic" => {
            return match wants(Method::Post) {
                Ok(()) => ops::panic(req.clone()?, env, loaded, &facts, now).await,
                Err(r) => reject(r, None),
            };
        }
        "/siteverify" => {
            return match wants(Method::Post) {
                Ok(()) => ops::siteverify(req.clone()?, env, ctx, loaded, &facts, now).await,
                Err(r) => reject(r, None),
            };
        }
        _ => return reject(Rejection::new(RejectKind::NotFound, format!("no gate endpoint {sub:?}")), None),
    }
    if let Err(r) = wants(Method::Get) {
        return reject(r, None);
    }
    let config = match &loaded.config {
        Ok(c) => c,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, e.to_string()), None),
    };
    challenge(req, env, ctx, config, &facts, now).await
}

/// `GET <prefix>/challenge?route=/signup[&signals=...][&phone=+86...]`: prices and issues a
/// challenge (or refuses / sheds) according to the policy.
async fn challenge(
    req: &Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
    facts: &RequestFacts,
    now: UnixTime,
) -> Result<Response> {
    let policy = &config.policy;
    let query: Vec<(String, String)> =
        req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let reject =
        |r: Rejection, a: Option<&Assessment>, d: Option<(&Decision, &CohortState, Option<&str>)>| {
            LogLine::reject(&r, facts, now).known(a, d).emit();
            count(ctx, env, "reject", r.kind().code());
            respond::rejection(&r, None, &Audience::Api)
        };
    let wanted = param("route").unwrap_or_default();
    let Some(route) = route::named(&policy.protected, wanted) else {
        return reject(
            Rejection::new(RejectKind::UnknownRoute, format!("route {wanted:?} is not protected")),
            None,
            None,
        );
    };

    // What the client claims about itself: its signals (the price is set at issue time) and,
    // once the form has one, its phone's calling code (only the first digits are sent).
    let client = match param("signals") {
        None | Some("") => ClientSide::Absent,
        Some(s) => match URL_SAFE_NO_PAD.decode(s) {
            Ok(bytes) => ClientSide::parse(&bytes),
            Err(_) => ClientSide::Malformed("signals parameter is not base64url".into()),
        },
    };
    let phone = match param("phone") {
        None => Known::Unknown,
        Some(p) => Known::Is(crate::request::phone::calling_code(p, true).map(str::to_string)),
    };
    let assessment = signals::assess(facts, &client);
    let (decision, state, _) = decide(env, ctx, config, facts, &route.path, &assessment, phone.clone()).await;
    let phone_code = match &phone {
        Known::Is(Some(c)) => Some(c.as_str()),
        _ => None,
    };
    let (difficulty, k) = match decision.outcome {
        Outcome::Deny => {
            let r = Rejection::new(RejectKind::Denied, format!("at issue: {}", decision.why));
            return reject(r, Some(&assessment), Some((&decision, &state, phone_code)));
        }
        Outcome::Busy => {
            let r = Rejection::new(RejectKind::Busy, format!("at issue: {}", decision.why))
                .retry_after(policy.attack.retry_after_secs);
            return reject(r, Some(&assessment), Some((&decision, &state, phone_code)));
        }
        Outcome::Price { difficulty, k } => (difficulty, k),
    };
    let id = match facts::random_id() {
        Ok(id) => id,
        Err(e) => {
            return reject(
                Rejection::new(RejectKind::Misconfigured, format!("no randomness: {e}")),
                None,
                None,
            );
        }
    };
    let terms = Terms {
        route: route.path.clone(),
        difficulty,
        k,
        risk: assessment.risk_byte(),
        ttl: config.ttl,
        binding: facts::binding(facts),
    };
    let signed = match challenge::issue(config.keys.current(), &terms, now, id) {
        Ok(s) => s,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, e.to_string()), None, None),
    };
    let mut line =
        LogLine::new("issue", 200, facts, now).assessed(&assessment).decided(&decision, &state, phone_code);
    line.route = Some(route.path.clone());
    line.id = Some(URL_SAFE_NO_PAD.encode(id));
    line.difficulty = Some(difficulty);
    line.emit();
    count(ctx, env, "issue", decision.rule.clone().unwrap_or_else(|| "-".into()));
    if decision.shadow.is_some() {
        count(ctx, env, "shadow", decision.rule.clone().unwrap_or_else(|| "-".into()));
    }
    let mut json = signed.to_json();
    if policy.phone_matters(&route.path) {
        json.phone_field = policy.phone_field.clone().or_else(|| policy.phone_code_field.clone());
    }
    json.phone_code = phone_code.map(str::to_string);
    respond::json(200, &json)
}

/// The cohort counters a request touches: its cohort keys and whether the site-wide count
/// is kept (the policy has a global ceiling).
struct Counted {
    keys: Vec<crate::policy::CohortKey>,
    site: bool,
}

/// Reads the request's cohorts from the isolate's snapshot and decides by the policy. Reading
/// never counts: a sign-up is counted (`count_signup`) only once its spend is known fresh. If
/// the counters cannot be reached, the last known levels are held (`control::snapshot`).
async fn decide(
    env: &Env,
    ctx: &Context,
    config: &Config,
    facts: &RequestFacts,
    route: &str,
    assessment: &Assessment,
    phone_code: Known<Option<String>>,
) -> (Decision, CohortState, Counted) {
    let policy: &Policy = &config.policy;
    let subject = Subject {
        route,
        country: facts.cf.country.as_deref(),
        asn: facts.cf.asn,
        ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: facts.user_agent(),
        assessment,
        phone_code,
    };
    let counted = Counted {
        keys: if policy.attack.enabled { subject.cohorts(&policy.attack.cohorts) } else { Vec::new() },
        site: policy.attack.enabled && policy.attack.global_ceiling.is_some(),
    };
    // the isolate's snapshot: no object call here unless its shards are cold (edge::attack);
    // panic switches are read even with attack mode off
    let now = facts::now();
    attack::ready(env, config, &counted.keys, counted.site, now).await;
    let state = attack::cohort_state(env, ctx, config, &counted.keys, counted.site, now);
    (policy.decide(&subject, &state), state, counted)
}

/// Counts one paid, freshly spent sign-up in its cohorts (alongside the forward, so the next
/// sign-up from the cohort already sees it).
fn count_signup(env: &Env, ctx: &Context, config: &Config, counted: Counted) {
    attack::count_signup(env, ctx, config, &counted.keys, counted.site, facts::now());
}

/// A protected route: read the solution, verify, assess, decide, spend, forward with a verdict.
async fn protect(
    req: Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
    route: &Route,
    now: UnixTime,
) -> Result<Response> {
    let facts = facts::read(&req);
    let audience = Audience::of(&req);
    let policy = &config.policy;
    let challenge_url = format!("{}/challenge?route={}", config.prefix, route.path);
    let reject = |r: Rejection,
                  id: Option<&[u8; 16]>,
                  a: Option<&Assessment>,
                  d: Option<(&Decision, &CohortState, Option<&str>)>| {
        let mut line = LogLine::reject(&r, &facts, now);
        line.route = Some(route.path.clone());
        line.id = id.map(|i| URL_SAFE_NO_PAD.encode(i));
        line.known(a, d).emit();
        count(ctx, env, "reject", r.kind().code());
        respond::rejection(&r, Some(&challenge_url), &audience)
    };

    // 1. size: the declared length first, then the bytes actually read.
    let declared = facts.headers.get("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body as u64) {
        let r = Rejection::new(
            RejectKind::TooLarge,
            format!("Content-Length {declared:?} over {}", config.max_body),
        );
        return reject(r, None, None, None);
    }
    let body = match read_capped(&req, config.max_body).await {
        Ok(b) => b,
        Err(r) => return reject(r, None, None, None),
    };
    // The client controls how long the body takes to arrive: judge expiry at the time it has
    // arrived, not when the request started (a solution must not outlive its ledger row).
    let now = facts::now();
    let kind = BodyKind::of(facts.headers.get("content-type"));
    // a compressed body would be read by an origin that inflates it, never by the gate
    if !body.is_empty()
        && facts.headers.get("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        let r = Rejection::new(RejectKind::UnsupportedBody, "the body has a Content-Encoding");
        return reject(r, None, None, None);
    }

    // 2. the fields, read once (body and query string); a field the gate judges must appear
    //    at most once, so the origin cannot read another value than the gate did.
    let query = req.url().ok().and_then(|u| u.query().map(str::to_string)).unwrap_or_default();
    let fields = match form::Fields::parse(&kind, &body) {
        Ok(fields) => fields.with_query(&query),
        Err(e @ FormError::DuplicateKey(_)) => {
            return reject(Rejection::new(RejectKind::DuplicateField, e.to_string()), None, None, None);
        }
        Err(e) => {
            return reject(Rejection::new(RejectKind::UnsupportedBody, e.to_string()), None, None, None);
        }
    };
    let judged =
        fields.get(solution::FIELD).and_then(|solution| Ok((solution, phone_code(policy, &fields)?)));
    let (field, phone) = match judged {
        Ok(read) => read,
        Err(e) => return reject(Rejection::new(RejectKind::DuplicateField, e.to_string()), None, None, None),
    };

    // the solution: the header for API clients, else the form field (the header wins).
    let raw = facts.headers.get(solution::HEADER).or(field).map(str::to_string);
    let Some(raw) = raw else {
        // no widget ran: the no-JavaScript path, where the policy turns it on (edge/nojs.rs)
        if let Some(resp) = nojs::submission(
            &req, env, ctx, config, route, now, &facts, &audience, &kind, &body, &fields, phone,
        )
        .await
        {
            return resp;
        }
        return reject(
            Rejection::new(RejectKind::MissingSolution, "no header and no form field"),
            None,
            None,
            None,
        );
    };

    // 3. verify (pure), cheapest checks first; the work is checked at the signed difficulty.
    let expect = Expectation {
        keys: &config.keys,
        now,
        skew: config.skew,
        route: Some(&route.path),
        binding: Some(facts::binding(&facts)),
    };
    let verified: Verified = match solution::verify(&raw, &expect) {
        Ok(v) => v,
        Err(r) => return reject(r, None, None, None),
    };
    let id = verified.challenge.id;

    // 4. fingerprint the submission (with the signals the work was bound to) and decide by the
    //    policy, counting this paid sign-up in its cohorts. The price the policy asks now may
    //    be one bit above the signed one (a browser's challenge fetch and its form post differ
    //    in a few headers); beyond that the client must fetch a harder challenge.
    let assessment = signals::assess(&facts, &ClientSide::parse(&verified.signals));
    let (decision, state, counted) =
        decide(env, ctx, config, &facts, &route.path, &assessment, Known::Is(phone.clone())).await;
    let logged = (&decision, &state, phone.as_deref());
    match decision.outcome {
        Outcome::Deny => {
            let r = Rejection::new(RejectKind::Denied, format!("at submission: {}", decision.why));
            return reject(r, Some(&id), Some(&assessment), Some(logged));
        }
        Outcome::Busy => {
            let r = Rejection::new(RejectKind::Busy, format!("at submission: {}", decision.why))
                .retry_after(policy.attack.retry_after_secs);
            return reject(r, Some(&id), Some(&assessment), Some(logged));
        }
        Outcome::Price { difficulty, k }
            if difficulty > verified.challenge.difficulty.saturating_add(1) || k > verified.challenge.k =>
        {
            let r = Rejection::new(
                RejectKind::RiskIncreased,
                format!(
                    "now priced {difficulty}x{k} ({}), challenge was {}x{}",
                    decision.why, verified.challenge.difficulty, verified.challenge.k
                ),
            );
            return reject(r, Some(&id), Some(&assessment), Some(logged));
        }
        Outcome::Price { .. } => {}
    }

    // 5. single use, only after the work is known to be paid.
    let forget_after = verified.challenge.expires_at.plus(config.skew);
    let mut reasons = assessment.codes();
    let replay = "replay of a spent challenge";
    match ledger::spend_once(env, config.ledger_shards, config.fail_open, &id, forget_after, replay).await {
        Ok(ledger::Once::Fresh) => {}
        Ok(ledger::Once::FailedOpen) => reasons.push(ledger::FAIL_OPEN_REASON.to_string()),
        Err(r) => return reject(r, Some(&id), Some(&assessment), Some(logged)),
    }

    // 6. forward with a signed verdict.
    let verdict = Verdict {
        time: now,
        id: URL_SAFE_NO_PAD.encode(id),
        method: facts.method.clone(),
        path: facts.path.clone(),
        difficulty: verified.challenge.difficulty,
        k: verified.challenge.k,
        score: assessment.score,
        reasons,
    }
    .sign(&config.origin_key);
    // Only a fresh spend (or fail-open) reaches here, and only a sign-up the origin accepted
    // (2xx or 3xx) is counted: replays, refusals and the origin's own rejections never count.
    let forwarded = proxy::forward(&config.origin, &req, body, &verdict).await;
    if forwarded.as_ref().is_ok_and(|r| r.status_code() < 400) {
        count_signup(env, ctx, config, counted);
    }
    let resp = match forwarded {
        Ok(resp) => resp,
        Err(e) => {
            let r = Rejection::new(RejectKind::OriginUnavailable, e.to_string());
            return reject(r, Some(&id), Some(&assessment), Some(logged));
        }
    };
    let mut line = LogLine::new("forward", resp.status_code(), &facts, now).assessed(&assessment).decided(
        &decision,
        &state,
        phone.as_deref(),
    );
    line.route = Some(route.path.clone());
    line.id = Some(URL_SAFE_NO_PAD.encode(id));
    line.difficulty = Some(verified.challenge.difficulty);
    line.emit();
    count(ctx, env, "forward", decision.rule.clone().unwrap_or_else(|| "-".into()));
    if decision.shadow.is_some() {
        count(ctx, env, "shadow", decision.rule.clone().unwrap_or_else(|| "-".into()));
    }
    Ok(resp)
}

/// The sign-up's phone calling code, from the policy's phone fields (each must appear at
/// most once, whichever is used).
fn phone_code(
    policy: &Policy,
    fields: &form::Fields,
) -> std::result::Result<Option<String>, form::Duplicate> {
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

/// How much of an oversized chunked upload is read and discarded before the gate gives up on
/// it. Draining a modest overflow keeps the client's connection reusable (abandoning a body
/// mid-upload breaks keep-alive connections, notably in `wrangler dev`'s proxy); anything
/// larger is cancelled so the gate never pays for an unbounded upload.
const DRAIN_LIMIT: usize = 1 << 20;

/// Reads the body, refusing more than `cap` bytes whatever the client declared.
async fn read_capped(req: &Request, cap: usize) -> std::result::Result<Vec<u8>, Rejection> {
    use wasm_bindgen::JsCast as _;
    if matches!(req.method(), Method::Get | Method::Head) {
        return Ok(Vec::new());
    }
    let Some(stream) = req.inner().body() else { return Ok(Vec::new()) };
    let read_error = |e: wasm_bindgen::JsValue| {
        Rejection::new(RejectKind::MalformedSolution, format!("body read: {:?}", e.as_string()))
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    let mut total: usize = 0;
    loop {
        let chunk = wasm_bindgen_futures::JsFuture::from(reader.read()).await.map_err(read_error)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(read_error)?;
        if done.as_bool().unwrap_or(true) {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(read_error)?;
        let bytes = js_sys::Uint8Array::new(&value);
        total = total.saturating_add(bytes.length() as usize);
        if total > cap.saturating_add(DRAIN_LIMIT) {
            let _ = wasm_bindgen_futures::JsFuture::from(reader.cancel()).await;
            break;
        }
        if total <= cap {
            body.extend_from_slice(&bytes.to_vec());
        }
    }
    if total > cap {
        return Err(Rejection::new(RejectKind::TooLarge, format!("body of {total}+ bytes is over {cap}")));
    }
    Ok(body)
}
