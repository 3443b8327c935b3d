//! The Worker: thin glue between `worker::Request` and the sans-IO core.
//!
//! Routing only: gate endpoints under the prefix, protected routes through verification,
//! fingerprint assessment and the single-use ledger, everything else straight to the origin.

mod env;
pub mod facts;
#[allow(missing_docs)] // the #[durable_object] macro generates undocumented exports
pub mod ledger;
mod proxy;
mod respond;

use crate::challenge::{self, Terms};
use crate::config::{Config, Loaded};
use crate::decision::{RejectKind, Rejection};
use crate::form::{self, BodyKind};
use crate::route::{self, Route};
use crate::signals::{self, Assessment, ClientSide};
use crate::solution::{self, Expectation, Verified};
use crate::time::UnixTime;
use crate::verdict::Verdict;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use ledger::Ledger;
use respond::{Audience, LogLine};
use worker::{Context, Env, Method, Request, Response, Result, event};
use worker::{wasm_bindgen, wasm_bindgen_futures, web_sys};

/// Headers through which frameworks let clients override the method.
const METHOD_OVERRIDES: &[&str] = &["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"];

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let loaded = env::loaded(&env);
    let now = facts::now();
    match handle(req, &env, &loaded, now).await {
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

async fn handle(req: Request, env: &Env, loaded: &Loaded, now: UnixTime) -> Result<Response> {
    let path = req.path();
    let prefix = loaded.prefix.as_str();
    if let Some(sub) = path.strip_prefix(prefix).filter(|rest| rest.is_empty() || rest.starts_with('/')) {
        return gate_endpoint(&req, env, loaded, sub, now).await;
    }
    let method = req.method().to_string();
    let mut methods = vec![method.clone()];
    for h in METHOD_OVERRIDES {
        if let Ok(Some(m)) = req.headers().get(h) {
            methods.push(m.trim().to_ascii_uppercase());
        }
    }
    let methods: Vec<&str> = methods.iter().map(String::as_str).collect();
    let protected = match &loaded.routes {
        Some(routes) => route::find(routes, &methods, &path).cloned(),
        // The route list itself is invalid: any route could be a sign-up route.
        None => Some(Route { method: None, path: path.clone(), prefix: false }),
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
        (Some(route), Ok(config)) => protect(req, env, config, &route, now).await,
        (Some(route), Err(errors)) => {
            let r = Rejection::new(RejectKind::Misconfigured, errors.to_string());
            let mut line = LogLine::reject(&r, &facts::read(&req), now);
            line.route = Some(route.path);
            line.emit();
            respond::rejection(&r, None, &Audience::of(&req))
        }
    }
}

/// The widget's files, served from Workers static assets (`www/dist`, built by
/// `scripts/build-widget`) under the gate prefix. Nothing else there is reachable.
const WIDGET_FILES: &[&str] = &[
    "gate.js",
    "gate-worker.js",
    "gate_solver.js",
    "gate_solver_bg.wasm",
    "gate_solver_simd.js",
    "gate_solver_simd_bg.wasm",
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

/// The gate's own endpoints: `challenge`, `ping` (for the widget's round-trip measurement),
/// the widget files, and 404 for anything else.
async fn gate_endpoint(
    req: &Request,
    env: &Env,
    loaded: &Loaded,
    sub: &str,
    now: UnixTime,
) -> Result<Response> {
    let facts = facts::read(req);
    let reject = |r: Rejection, a: Option<&Assessment>| {
        let mut line = LogLine::reject(&r, &facts, now);
        if let Some(a) = a {
            line = line.assessed(a);
        }
        line.emit();
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
    match sub {
        "/challenge" => {}
        "/ping" => {
            let resp = Response::empty()?.with_status(204);
            resp.headers().set("Cache-Control", "no-store")?;
            return Ok(resp);
        }
        _ => return reject(Rejection::new(RejectKind::NotFound, format!("no gate endpoint {sub:?}")), None),
    }
    if req.method() != Method::Get {
        return reject(Rejection::new(RejectKind::MethodNotAllowed, "challenge needs GET"), None);
    }
    let config = match &loaded.config {
        Ok(c) => c,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, e.to_string()), None),
    };
    let query: Vec<(String, String)> =
        req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let wanted = param("route").unwrap_or_default();
    let normalized = route::normalize(wanted);
    let Some(route) =
        config.routes.iter().find(|r| r.matches(&[r.method.as_deref().unwrap_or("POST")], &normalized))
    else {
        return reject(
            Rejection::new(RejectKind::UnknownRoute, format!("route {wanted:?} is not protected")),
            None,
        );
    };

    // The risk at issue time sets the price: the widget sends its signals with the request.
    let client = match param("signals") {
        None | Some("") => ClientSide::Absent,
        Some(s) => match URL_SAFE_NO_PAD.decode(s) {
            Ok(bytes) => ClientSide::parse(&bytes),
            Err(_) => ClientSide::Malformed("signals parameter is not base64url".into()),
        },
    };
    let assessment = signals::assess(&facts, &client);
    let difficulty = match config.risk.verdict(config.difficulty, assessment.score) {
        signals::Verdict::Deny => {
            let r = Rejection::new(RejectKind::Denied, format!("risk {} at issue", assessment.score));
            return reject(r, Some(&assessment));
        }
        signals::Verdict::Work(d) => d,
    };
    let id = match facts::random_id() {
        Ok(id) => id,
        Err(e) => {
            return reject(Rejection::new(RejectKind::Misconfigured, format!("no randomness: {e}")), None);
        }
    };
    let terms = Terms {
        route: route.path.clone(),
        difficulty,
        k: config.k,
        risk: assessment.risk_byte(),
        ttl: config.ttl,
        binding: facts::binding(&facts),
    };
    let signed = match challenge::issue(config.keys.current(), &terms, now, id) {
        Ok(s) => s,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, e.to_string()), None),
    };
    let mut line = LogLine::new("issue", 200, &facts, now).assessed(&assessment);
    line.route = Some(route.path.clone());
    line.id = Some(URL_SAFE_NO_PAD.encode(id));
    line.difficulty = Some(difficulty);
    line.emit();
    respond::json(200, &signed.to_json())
}

/// A protected route: read the solution, verify, assess, spend, forward with a verdict.
async fn protect(req: Request, env: &Env, config: &Config, route: &Route, now: UnixTime) -> Result<Response> {
    let facts = facts::read(&req);
    let audience = Audience::of(&req);
    let challenge_url = format!("{}/challenge?route={}", config.prefix, route.path);
    let reject = |r: Rejection, id: Option<&[u8; 16]>, a: Option<&Assessment>| {
        let mut line = LogLine::reject(&r, &facts, now);
        line.route = Some(route.path.clone());
        line.id = id.map(|i| URL_SAFE_NO_PAD.encode(i));
        if let Some(a) = a {
            line = line.assessed(a);
        }
        line.emit();
        respond::rejection(&r, Some(&challenge_url), &audience)
    };

    // 1. size: the declared length first, then the bytes actually read.
    let declared = facts.headers.get("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body as u64) {
        let r = Rejection::new(
            RejectKind::TooLarge,
            format!("Content-Length {declared:?} over {}", config.max_body),
        );
        return reject(r, None, None);
    }
    let body = match read_capped(&req, config.max_body).await {
        Ok(b) => b,
        Err(r) => return reject(r, None, None),
    };

    // 2. the solution: header for API clients, form field for browsers.
    let raw = match facts.headers.get(solution::HEADER) {
        Some(h) => Some(h.to_string()),
        None => form::field(&BodyKind::of(facts.headers.get("content-type")), &body, solution::FIELD),
    };
    let Some(raw) = raw else {
        return reject(
            Rejection::new(RejectKind::MissingSolution, "no header and no form field"),
            None,
            None,
        );
    };

    // 3. verify (pure), cheapest checks first; the work is checked at the signed difficulty.
    let expect = Expectation {
        keys: &config.keys,
        now,
        skew: config.skew,
        route: &route.path,
        binding: facts::binding(&facts),
    };
    let verified: Verified = match solution::verify(&raw, &expect) {
        Ok(v) => v,
        Err(r) => return reject(r, None, None),
    };
    let id = verified.challenge.id;

    // 4. fingerprint: the submission, with the signals the work was bound to. The work was
    // checked at the signed difficulty; if the risk now calls for more than one extra bit
    // beyond it, the client must fetch a harder challenge. (One bit of slack: a browser's
    // challenge fetch and its form post legitimately differ in a few headers.)
    let assessment = signals::assess(&facts, &ClientSide::parse(&verified.signals));
    match config.risk.verdict(config.difficulty, assessment.score) {
        signals::Verdict::Deny => {
            let r = Rejection::new(RejectKind::Denied, format!("risk {} at submission", assessment.score));
            return reject(r, Some(&id), Some(&assessment));
        }
        signals::Verdict::Work(required) if required > verified.challenge.difficulty.saturating_add(1) => {
            let r = Rejection::new(
                RejectKind::RiskIncreased,
                format!(
                    "risk {} needs difficulty {required}, challenge has {}",
                    assessment.score, verified.challenge.difficulty
                ),
            );
            return reject(r, Some(&id), Some(&assessment));
        }
        signals::Verdict::Work(_) => {}
    }

    // 5. single use, only after the work is known to be paid.
    let forget_after = verified.challenge.expires_at.plus(config.skew);
    let mut reasons = assessment.codes();
    match ledger::spend(env, config.ledger_shards, &id, forget_after).await {
        Ok(true) => {}
        Ok(false) => {
            return reject(
                Rejection::new(RejectKind::AlreadySpent, "replay of a spent challenge"),
                Some(&id),
                Some(&assessment),
            );
        }
        Err(ledger::Unavailable(why)) if config.fail_open => {
            worker::console_error!(
                "{}",
                serde_json::json!({"gate": "ledger", "fail_open": true, "error": why})
            );
            reasons.push("ledger_unavailable_fail_open".to_string());
        }
        Err(ledger::Unavailable(why)) => {
            return reject(Rejection::new(RejectKind::LedgerUnavailable, why), Some(&id), Some(&assessment));
        }
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
    let resp = match proxy::forward(&config.origin, &req, body, &verdict).await {
        Ok(resp) => resp,
        Err(e) => {
            return reject(
                Rejection::new(RejectKind::OriginUnavailable, e.to_string()),
                Some(&id),
                Some(&assessment),
            );
        }
    };
    let mut line = LogLine::new("forward", resp.status_code(), &facts, now).assessed(&assessment);
    line.route = Some(route.path.clone());
    line.id = Some(URL_SAFE_NO_PAD.encode(id));
    line.difficulty = Some(verified.challenge.difficulty);
    line.emit();
    Ok(resp)
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
