//! The operators' endpoints under the gate prefix:
//!
//! - `GET stats` (bearer `STATS_TOKEN`, or HTTP Basic with it as the password so a browser can
//!   open it): decisions by action and reason, the busiest cohorts with their rate and level,
//!   and the policy load result; JSON, or HTML with a chart for `Accept: text/html`.
//! - `POST panic` (bearer `ADMIN_TOKEN`): switch shedding on or off for the site or a cohort,
//!   at run time, for a while.
//! - `POST siteverify` (`secret` = `SITEVERIFY_SECRET`): Turnstile/reCAPTCHA-shaped
//!   verification for origins that are not behind the Worker; spends the challenge in the same
//!   single-use ledger.

use super::{attack, count, ledger, respond};
use crate::pipeline::config::Loaded;
use crate::policy::{CohortKey, CohortKind};
use crate::protocol::reject::RejectKind;
use crate::protocol::solution::{self, Expectation};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::form::{self, BodyKind};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use worker::{Context, Env, Request, Response, Result};

/// Whether the request carries `token` as a bearer token or a Basic-auth password.
fn authorized(req: &Request, token: Option<&str>) -> bool {
    let Some(token) = token else { return false };
    let Some(header) = req.headers().get("Authorization").ok().flatten() else { return false };
    let presented = if let Some(b) = header.strip_prefix("Bearer ") {
        b.trim().to_string()
    } else if let Some(b) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).to_string();
        text.split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default()
    } else {
        return false;
    };
    presented.len() == token.len() && bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

fn unauthorized(realm: &str) -> Result<Response> {
    let resp = respond::json(
        401,
        &serde_json::json!({"error": "unauthorized", "message": "A valid token is required."}),
    )?;
    resp.headers().set("WWW-Authenticate", &format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))?;
    Ok(resp)
}

#[derive(Serialize)]
struct CohortRow {
    key: String,
    rate: f64,
    level: usize,
    state: &'static str,
    panic: bool,
}

/// `GET <prefix>/stats`. Works with a broken configuration too (when `STATS_TOKEN` itself is
/// valid), to show the policy's problems.
pub async fn stats(req: &Request, env: &Env, loaded: &Loaded) -> Result<Response> {
    if !authorized(req, loaded.stats_token.as_deref()) {
        return unauthorized("gate stats");
    }
    let now_minute = (js_sys::Date::now() / 60_000.0) as i64;
    let since = now_minute - 59;
    let now = crate::edge::request::now();
    let view = match &loaded.config {
        Ok(config) => Some(attack::stats_view(env, config, since, now).await?),
        Err(_) => None,
    };
    let counts = match &view {
        Some(v) => v.counts.clone(),
        None => attack::counts(env, since).await?,
    };
    let mut by_action = serde_json::Map::new();
    let mut by_code = serde_json::Map::new();
    let mut by_rule = serde_json::Map::new();
    let mut per_minute: Vec<(i64, u64, u64, u64)> = (since..=now_minute).map(|m| (m, 0, 0, 0)).collect();
    for c in &counts {
        let n = u64::try_from(c.n).unwrap_or(0);
        let a = by_action.entry(c.action.clone()).or_insert(0.into());
        *a = (a.as_u64().unwrap_or(0) + n).into();
        if c.action == "reject" {
            let e = by_code.entry(c.code.clone()).or_insert(0.into());
            *e = (e.as_u64().unwrap_or(0) + n).into();
        } else if c.code != "-" {
            // issue, forward, shadow: by the policy rule that decided
            let rules = by_rule.entry(c.action.clone()).or_insert_with(|| serde_json::json!({}));
            if let Some(m) = rules.as_object_mut() {
                let e = m.entry(c.code.clone()).or_insert(0.into());
                *e = (e.as_u64().unwrap_or(0) + n).into();
            }
        }
        if let Some(slot) = per_minute.iter_mut().find(|(m, ..)| *m == c.minute) {
            match c.action.as_str() {
                "issue" => slot.1 += n,
                "forward" => slot.2 += n,
                "reject" => slot.3 += n,
                _ => {}
            }
        }
    }
    let (policy_json, rows) = match &loaded.config {
        Ok(config) => {
            let policy = &config.policy;
            let top = view.as_ref().map(|v| v.cohorts.clone()).unwrap_or_default();
            let rows: Vec<CohortRow> = top
                .into_iter()
                .map(|e| {
                    let key = CohortKey(e.key.clone());
                    let level = if e.key == "site" { 0 } else { policy.level_for(&key, e.rate) };
                    let busy = e.panic
                        || policy
                            .attack
                            .levels_for(&key)
                            .get(level.saturating_sub(1))
                            .is_some_and(|l| l.busy && level > 0);
                    CohortRow {
                        state: if busy {
                            "busy"
                        } else if level > 0 {
                            "escalated"
                        } else {
                            "normal"
                        },
                        key: e.key,
                        rate: (e.rate * 10.0).round() / 10.0,
                        level,
                        panic: e.panic,
                    }
                })
                .collect();
            let levels_json = |levels: &[crate::policy::Level]| -> Vec<serde_json::Value> {
                levels
                    .iter()
                    .map(|l| serde_json::json!({"at": l.at, "extra_bits": l.extra_bits, "busy": l.busy}))
                    .collect()
            };
            let levels = levels_json(&policy.attack.levels);
            let cohort_levels: serde_json::Map<String, serde_json::Value> = policy
                .attack
                .cohort_levels
                .iter()
                .map(|(kind, l)| (kind.name().to_string(), levels_json(l).into()))
                .collect();
            let json = serde_json::json!({"source": config.policy_source, "ok": true, "problems": [],
                "shadow": policy.shadow, "attack": policy.attack.enabled, "window_secs": policy.attack.window_secs, "levels": levels, "cohort_levels": cohort_levels});
            (json, rows)
        }
        Err(errors) => {
            let problems: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
            let json = serde_json::json!({"source": loaded.policy_source, "ok": false, "problems": problems,
                "effect": "protected routes answer 503 until the configuration is fixed"});
            (json, Vec::new())
        }
    };
    let body = serde_json::json!({
        "policy": policy_json,
        "decisions": {"last_minutes": 60, "by_action": by_action, "rejections_by_code": by_code, "by_rule": by_rule,
                      "per_minute": per_minute.iter().map(|(m, i, f, r)| serde_json::json!({"minute": m, "issue": i, "forward": f, "reject": r})).collect::<Vec<_>>()},
        "cohorts": rows,
        "health": view.as_ref().map(|v| serde_json::to_value(&v.health).unwrap_or_default()),
    });
    let html = req.headers().get("Accept")?.is_some_and(|a| a.contains("text/html"));
    if html {
        return respond::html(200, page(&body, &per_minute, &rows));
    }
    respond::json(200, &body)
}

/// "policy/gate.toml (bundled), sha256 …: loaded", or the problems of a broken one.
fn policy_status(body: &serde_json::Value) -> String {
    let source = escape(body.pointer("/policy/source").and_then(|v| v.as_str()).unwrap_or(""));
    if body.pointer("/policy/ok").and_then(serde_json::Value::as_bool) == Some(true) {
        return format!("{source}: loaded");
    }
    let problems: Vec<String> = body
        .pointer("/policy/problems")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|p| p.as_str()).map(escape).collect())
        .unwrap_or_default();
    format!("{source}: <strong>not loaded, sign-ups are closed (503)</strong>: {}", problems.join("; "))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The stats as a small, script-free page: a stacked bar chart of the last hour and tables.
fn page(body: &serde_json::Value, per_minute: &[(i64, u64, u64, u64)], cohorts: &[CohortRow]) -> String {
    let max = per_minute.iter().map(|(_, i, f, r)| (i + f + r).max(1)).max().unwrap_or(1) as f64;
    let (w, h) = (600.0, 160.0);
    let bar = w / per_minute.len().max(1) as f64;
    let mut bars = String::new();
    for (i, (_, issue, forward, reject)) in per_minute.iter().enumerate() {
        let x = i as f64 * bar;
        let mut y = h;
        for (n, color) in [(*forward, "#1b7f3b"), (*reject, "#b3261e"), (*issue, "#7a8aa6")] {
            let bh = n as f64 / max * (h - 10.0);
            y -= bh;
            if n > 0 {
                bars.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"/>",
                    (bar - 1.0).max(1.0)
                ));
            }
        }
    }
    let list = |v: &serde_json::Value| -> String {
        v.as_object()
            .map(|m| m.iter().map(|(k, n)| format!("<tr><td>{}</td><td>{n}</td></tr>", escape(k))).collect())
            .unwrap_or_default()
    };
    let cohort_rows: String = cohorts
        .iter()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.key),
                c.rate,
                c.level,
                c.state
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Gate stats</title></head>\
         <body style=\"font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a\"><main>\
         <h1>Sign-up gate</h1><p>Policy: {}</p>\
         <h2>Decisions, last 60 minutes</h2>\
         <svg role=\"img\" aria-labelledby=\"chart-title\" viewBox=\"0 0 {w} {h}\" width=\"100%\" style=\"border:1px solid #ccc\"><title id=\"chart-title\">Decisions per minute: forwarded (green), rejected (red), challenges issued (grey)</title>{bars}</svg>\
         <p>Green: forwarded sign-ups. Red: rejected. Grey: challenges issued.</p>\
         <h2>By action</h2><table>{}</table><h2>Rejections by reason</h2><table>{}</table>\
         <h2>Busiest cohorts</h2><table><tr><th>cohort</th><th>rate / window</th><th>level</th><th>state</th></tr>{cohort_rows}</table>\
         </main></body></html>",
        policy_status(body),
        list(body.pointer("/decisions/by_action").unwrap_or(&serde_json::Value::Null)),
        list(body.pointer("/decisions/rejections_by_code").unwrap_or(&serde_json::Value::Null)),
    )
}

#[derive(Deserialize)]
struct PanicRequest {
    /// `site` or `kind:value`.
    scope: String,
    /// On or off.
    on: bool,
    /// For how long when on (default 60).
    #[serde(default)]
    minutes: Option<u32>,
}

/// `POST <prefix>/panic` `{"scope": "site" | "asn:16509", "on": true, "minutes": 60}`.
pub async fn panic(
    mut req: Request,
    env: &Env,
    loaded: &Loaded,
    facts: &RequestFacts,
    now: UnixTime,
) -> Result<Response> {
    let config = loaded.config.as_ref().ok();
    if !authorized(&req, config.and_then(|c| c.admin_token.as_deref())) {
        return unauthorized("gate admin");
    }
    let Some(config) = config else { return unauthorized("gate admin") };
    let Ok(p) = req.json::<PanicRequest>().await else {
        return respond::json(
            400,
            &serde_json::json!({"error": "bad_request", "message": "Send {\"scope\": \"site\" or \"kind:value\", \"on\": true|false, \"minutes\": n}."}),
        );
    };
    let key = if p.scope == "site" {
        CohortKey::site()
    } else {
        match p.scope.split_once(':') {
            Some((kind, value)) if !value.is_empty() && CohortKind::ALL.iter().any(|k| k.name() == kind) => {
                CohortKey(p.scope.clone())
            }
            _ => {
                return respond::json(
                    400,
                    &serde_json::json!({"error": "bad_scope", "message": "scope is \"site\" or kind:value, kind one of asn, ip_prefix, country, ua_family, phone_code"}),
                );
            }
        }
    };
    let minutes = p.minutes.unwrap_or(60).clamp(1, 7 * 24 * 60);
    let until_ms = if p.on { js_sys::Date::now() + f64::from(minutes) * 60_000.0 } else { 0.0 };
    attack::panic(env, config, &key, until_ms.max(0.0) as u64, now).await?;
    worker::console_log!(
        "{}",
        serde_json::json!({"gate": "panic", "t": now.seconds(), "scope": key.0, "on": p.on, "minutes": minutes, "ip_prefix": facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()).map(crate::policy::ip_prefix)})
    );
    respond::json(
        200,
        &serde_json::json!({"scope": key.0, "on": p.on, "until": (until_ms > 0.0).then(|| UnixTime::from_millis_f64(until_ms).rfc3339())}),
    )
}

/// The siteverify answer, shaped like Turnstile's.
#[derive(Serialize)]
struct Siteverify {
    success: bool,
    #[serde(rename = "error-codes")]
    error_codes: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge_ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<String>,
}

fn failure(code: &'static str) -> Siteverify {
    Siteverify { success: false, error_codes: vec![code], challenge_ts: None, hostname: None, action: None }
}

/// `POST <prefix>/siteverify` with `secret`, `response`, optional `remoteip` and
/// `idempotency_key`, as a form or JSON.
pub async fn siteverify(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    loaded: &Loaded,
    facts: &RequestFacts,
    now: UnixTime,
) -> Result<Response> {
    let Ok(config) = loaded.config.as_ref() else { return respond::json(200, &failure("internal-error")) };
    let Some(expected) = config.siteverify_secret.as_deref() else {
        return respond::json(
            404,
            &serde_json::json!({"error": "not_found", "message": "siteverify is not configured (SITEVERIFY_SECRET)."}),
        );
    };
    let body = req.bytes().await.unwrap_or_default();
    if body.len() > 16 * 1024 {
        return respond::json(200, &failure("bad-request"));
    }
    let kind = match BodyKind::of(facts.headers.get("content-type")) {
        BodyKind::Other => BodyKind::UrlEncoded,
        k => k,
    };
    let Ok(fields) = form::Fields::parse(&kind, &body) else {
        return respond::json(200, &failure("bad-request"));
    };
    // a repeated field reads as absent: siteverify answers in the Turnstile shape, never 400
    let get = |name: &str| fields.get(name).ok().flatten().filter(|v| !v.is_empty()).map(str::to_string);
    let answer = |s: Siteverify, code: &str| {
        worker::console_log!(
            "{}",
            serde_json::json!({"gate": "siteverify", "t": now.seconds(), "success": s.success, "code": code, "action": s.action})
        );
        count(ctx, env, if s.success { "siteverify" } else { "reject" }, code.to_string());
        respond::json(200, &s)
    };
    let Some(secret) = get("secret") else {
        return answer(failure("missing-input-secret"), "missing-input-secret");
    };
    if !(secret.len() == expected.len() && bool::from(secret.as_bytes().ct_eq(expected.as_bytes()))) {
        return answer(failure("invalid-input-secret"), "invalid-input-secret");
    }
    let Some(response) = get("response") else {
        return answer(failure("missing-input-response"), "missing-input-response");
    };
    // The origin verifies for a client the edge never saw: no route or binding to compare;
    // the route is reported as `action` for the origin to check.
    let expect = Expectation { keys: &config.keys, now, skew: config.skew, route: None, binding: None };
    let verified = match solution::verify(&response, &expect) {
        Ok(v) => v,
        Err(r) => {
            let code = match r.kind() {
                RejectKind::Expired | RejectKind::NotYetValid => "timeout-or-duplicate",
                _ => "invalid-input-response",
            };
            return answer(failure(code), r.kind().code());
        }
    };
    let idempotency_key = get("idempotency_key");
    let forget_after = verified.challenge.expires_at.plus(config.skew);
    match ledger::spend(
        env,
        config.ledger_shards,
        &verified.challenge.id,
        forget_after,
        idempotency_key.as_deref(),
    )
    .await
    {
        Ok(ledger::Spent::Fresh | ledger::Spent::Repeat) => {}
        Ok(ledger::Spent::Replay) => return answer(failure("timeout-or-duplicate"), "already_spent"),
        Err(ledger::Unavailable(why)) => {
            worker::console_error!("{}", serde_json::json!({"gate": "ledger", "error": why}));
            return answer(failure("internal-error"), "ledger_unavailable");
        }
    }
    let s = Siteverify {
        success: true,
        error_codes: Vec::new(),
        challenge_ts: Some(verified.challenge.issued_at.rfc3339()),
        hostname: Some(facts.host.split(':').next().unwrap_or("").to_string()),
        action: Some(verified.challenge.route.clone()),
    };
    answer(s, "ok")
}
