//! The Worker: thin glue between `worker::Request` and the sans-IO core.
//!
//! Routing only: gate endpoints under the prefix, protected routes through verification and
//! the single-use ledger, everything else straight to the origin.

mod env;
pub mod facts;
#[allow(missing_docs)] // the #[durable_object] macro generates undocumented exports
pub mod ledger;
mod proxy;
mod respond;

use crate::binding::Binding;
use crate::challenge::{self, Terms};
use crate::config::{Config, Loaded};
use crate::decision::{RejectKind, Rejection};
use crate::form::{self, BodyKind};
use crate::route::{self, Route};
use crate::solution::{self, Expectation, Verified};
use crate::time::UnixTime;
use crate::verdict::Verdict;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use facts::EdgeFacts;
pub use ledger::Ledger;
use respond::LogLine;
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
                &respond::Audience::Api,
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
                &respond::Audience::of(&req),
            ),
        },
        (Some(route), Ok(config)) => protect(req, env, config, &route, now).await,
        (Some(route), Err(errors)) => {
            let r = Rejection::new(RejectKind::Misconfigured, errors.to_string());
            let facts = EdgeFacts::read(&req);
            log_reject(&r, &req, &facts, Some(&route.path), None, now);
            respond::rejection(&r, None, &respond::Audience::of(&req))
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

/// `GET <prefix>/challenge?route=/signup`, the widget files, and 404 for anything else.
async fn gate_endpoint(
    req: &Request,
    env: &Env,
    loaded: &Loaded,
    sub: &str,
    now: UnixTime,
) -> Result<Response> {
    let facts = EdgeFacts::read(req);
    let reject = |r: Rejection| {
        log_reject(&r, req, &facts, None, None, now);
        respond::rejection(&r, None, &respond::Audience::Api)
    };
    if let Some(name) = sub.strip_prefix('/').filter(|n| WIDGET_FILES.contains(n)) {
        if !matches!(req.method(), Method::Get | Method::Head) {
            return reject(Rejection::new(RejectKind::MethodNotAllowed, "widget files need GET"));
        }
        return match widget_file(env, name).await {
            Ok(resp) => Ok(resp),
            Err(e) => reject(Rejection::new(RejectKind::Misconfigured, format!("widget asset {name}: {e}"))),
        };
    }
    match sub {
        "/challenge" => {}
        _ => return reject(Rejection::new(RejectKind::NotFound, format!("no gate endpoint {sub:?}"))),
    }
    if req.method() != Method::Get {
        return reject(Rejection::new(RejectKind::MethodNotAllowed, "challenge needs GET"));
    }
    let config = match &loaded.config {
        Ok(c) => c,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, e.to_string())),
    };
    let wanted =
        req.url()?.query_pairs().find(|(k, _)| k == "route").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let normalized = route::normalize(&wanted);
    let Some(route) =
        config.routes.iter().find(|r| r.matches(&[r.method.as_deref().unwrap_or("POST")], &normalized))
    else {
        return reject(Rejection::new(
            RejectKind::UnknownRoute,
            format!("route {wanted:?} is not protected"),
        ));
    };
    let id = match facts::random_id() {
        Ok(id) => id,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, format!("no randomness: {e}"))),
    };
    let terms = Terms {
        route: route.path.clone(),
        difficulty: config.difficulty,
        k: config.k,
        risk: 0,
        ttl: config.ttl,
        binding: Binding::of(&facts.client_view()),
    };
    let signed = match challenge::issue(config.keys.current(), &terms, now, id) {
        Ok(s) => s,
        Err(e) => return reject(Rejection::new(RejectKind::Misconfigured, e.to_string())),
    };
    let path = req.path();
    LogLine {
        gate: "decision",
        t: now.seconds(),
        action: "issue",
        status: 200,
        method: "GET",
        path: &path,
        route: Some(&route.path),
        id: Some(URL_SAFE_NO_PAD.encode(id)),
        asn: facts.asn,
        country: facts.country.as_deref(),
        colo: facts.colo.as_deref(),
        ua: crate::user_agent::UserAgent::parse(facts.user_agent.as_deref().unwrap_or("")).family_major(),
        ..LogLine::default()
    }
    .emit();
    respond::json(200, &signed.to_json())
}

/// A protected route: read the solution, verify, spend, forward with a verdict.
async fn protect(req: Request, env: &Env, config: &Config, route: &Route, now: UnixTime) -> Result<Response> {
    let facts = EdgeFacts::read(&req);
    let audience = respond::Audience::of(&req);
    let challenge_url = format!("{}/challenge?route={}", config.prefix, route.path);
    let reject = |r: Rejection, id: Option<&[u8; 16]>, req: &Request| {
        log_reject(&r, req, &facts, Some(&route.path), id, now);
        respond::rejection(&r, Some(&challenge_url), &audience)
    };

    // 1. size: the declared length first, then the bytes actually read.
    let declared = req.headers().get("Content-Length")?.and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body as u64) {
        let r = Rejection::new(
            RejectKind::TooLarge,
            format!("Content-Length {declared:?} over {}", config.max_body),
        );
        return reject(r, None, &req);
    }
    let body = match read_capped(&req, config.max_body).await {
        Ok(b) => b,
        Err(r) => return reject(r, None, &req),
    };

    // 2. the solution: header for API clients, form field for browsers.
    let raw = match req.headers().get(solution::HEADER)? {
        Some(h) => Some(h),
        None => {
            let kind = BodyKind::of(req.headers().get("Content-Type")?.as_deref());
            form::field(&kind, &body, solution::FIELD)
        }
    };
    let Some(raw) = raw else {
        return reject(
            Rejection::new(RejectKind::MissingSolution, "no header and no form field"),
            None,
            &req,
        );
    };

    // 3. verify (pure), cheapest checks first.
    let expect = Expectation {
        keys: &config.keys,
        now,
        skew: config.skew,
        route: &route.path,
        binding: Binding::of(&facts.client_view()),
    };
    let verified: Verified = match solution::verify(&raw, &expect) {
        Ok(v) => v,
        Err(r) => return reject(r, None, &req),
    };
    let id = verified.challenge.id;

    // 4. single use, only after the work is known to be paid.
    let forget_after = verified.challenge.expires_at.plus(config.skew);
    let mut reasons = Vec::new();
    match ledger::spend(env, config.ledger_shards, &id, forget_after).await {
        Ok(true) => {}
        Ok(false) => {
            return reject(
                Rejection::new(RejectKind::AlreadySpent, "replay of a spent challenge"),
                Some(&id),
                &req,
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
            return reject(Rejection::new(RejectKind::LedgerUnavailable, why), Some(&id), &req);
        }
    }

    // 5. forward with a signed verdict.
    let path = req.path();
    let method = req.method().to_string();
    let verdict = Verdict {
        time: now,
        id: URL_SAFE_NO_PAD.encode(id),
        method: method.clone(),
        path: path.clone(),
        difficulty: verified.challenge.difficulty,
        k: verified.challenge.k,
        score: u32::from(verified.challenge.risk),
        reasons,
    }
    .sign(&config.origin_key);
    let resp = match proxy::forward(&config.origin, &req, body, &verdict).await {
        Ok(resp) => resp,
        Err(e) => {
            return reject(Rejection::new(RejectKind::OriginUnavailable, e.to_string()), Some(&id), &req);
        }
    };
    LogLine {
        gate: "decision",
        t: now.seconds(),
        action: "forward",
        status: resp.status_code(),
        method: &method,
        path: &path,
        route: Some(&route.path),
        id: Some(URL_SAFE_NO_PAD.encode(id)),
        asn: facts.asn,
        country: facts.country.as_deref(),
        colo: facts.colo.as_deref(),
        ua: ua_family(&facts),
        ..LogLine::default()
    }
    .emit();
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

fn ua_family(facts: &EdgeFacts) -> String {
    crate::user_agent::UserAgent::parse(facts.user_agent.as_deref().unwrap_or("")).family_major()
}

fn log_reject(
    r: &Rejection,
    req: &Request,
    facts: &EdgeFacts,
    route: Option<&str>,
    id: Option<&[u8; 16]>,
    now: UnixTime,
) {
    let method = req.method().to_string();
    let path = req.path();
    LogLine {
        gate: "decision",
        t: now.seconds(),
        action: "reject",
        status: r.kind().status(),
        code: Some(r.kind().code()),
        detail: Some(r.detail()),
        method: &method,
        path: &path,
        route,
        id: id.map(|i| URL_SAFE_NO_PAD.encode(i)),
        asn: facts.asn,
        country: facts.country.as_deref(),
        colo: facts.colo.as_deref(),
        ua: ua_family(facts),
    }
    .emit();
}
