//! The operators' endpoints under the gate prefix:
//!
//! - `GET stats` (bearer `STATS_TOKEN`, or HTTP Basic with it as the password so a browser can
//!   open it): decisions by action and reason, the busiest cohorts with their rate and level,
//!   the counters' health and the policy load result; JSON, or HTML with a chart for
//!   `Accept: text/html`.
//! - `POST panic` (bearer `ADMIN_TOKEN`): switch shedding on or off for the site or a cohort,
//!   at run time, for a while.

use crate::config::{Config, Loaded};
use crate::control::capacity::Reading;
use crate::pipeline::front::unauthorized;
use crate::pipeline::siteverify::same_secret;
use crate::pipeline::step::{BodyRead, CohortReading, Done, ReadBody, ReadStats, SetPanic, StatsRead, Step};
use crate::policy::{CapacityOf, CohortKey, Policy};
use crate::present::reply::Reply;
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Whether the request carries `token` as a bearer token or a Basic-auth password.
pub fn authorized(facts: &RequestFacts, token: Option<&str>) -> bool {
    let Some(token) = token else { return false };
    let Some(header) = facts.headers.get("authorization") else { return false };
    let presented = if let Some(b) = header.strip_prefix("Bearer ") {
        b.trim().to_string()
    } else if let Some(b) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).to_string();
        text.split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default()
    } else {
        return false;
    };
    same_secret(&presented, token)
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct CohortRow {
    key: String,
    rate: f64,
    level: usize,
    state: &'static str,
    panic: bool,
}

/// A cohort's row on the stats page: its level under the policy and whether it is shed.
fn cohort_row(policy: &Policy, e: CohortReading) -> CohortRow {
    let key = CohortKey::parse(&e.key);
    let level = match &key {
        Some(k) if !k.is_site() => policy.level_for(k, e.rate),
        _ => 0,
    };
    let busy = e.panic
        || key.as_ref().is_some_and(|k| {
            policy.attack.levels_for(k).get(level.saturating_sub(1)).is_some_and(|l| l.busy && level > 0)
        });
    let state = if busy {
        "busy"
    } else if level > 0 {
        "escalated"
    } else {
        "normal"
    };
    CohortRow { state, key: e.key, rate: (e.rate * 10.0).round() / 10.0, level, panic: e.panic }
}

fn policy_json(config: &Config) -> serde_json::Value {
    let policy = &config.policy;
    let levels_json = |levels: &[crate::policy::Level]| -> Vec<serde_json::Value> {
        levels
            .iter()
            .map(|l| serde_json::json!({"at": l.at, "extra_bits": l.extra_bits, "busy": l.busy}))
            .collect()
    };
    let cohort_levels: serde_json::Map<String, serde_json::Value> = policy
        .attack
        .cohort_levels
        .iter()
        .map(|(kind, l)| (kind.name().to_string(), levels_json(l).into()))
        .collect();
    serde_json::json!({"source": config.policy_source, "ok": true, "problems": [],
        "shadow": policy.shadow, "attack": policy.attack.enabled, "window_secs": policy.attack.window_secs,
        "levels": levels_json(&policy.attack.levels), "cohort_levels": cohort_levels})
}

/// `GET <prefix>/stats`. Works with a broken configuration too (when `STATS_TOKEN` itself is
/// valid), to show the policy's problems.
pub fn stats<'a>(loaded: &'a Loaded, facts: &'a RequestFacts, now: UnixTime) -> Step<'a> {
    if !authorized(facts, loaded.stats_token.as_deref()) {
        return Step::done(Done::reply(unauthorized("gate stats")));
    }
    let now_minute = now.seconds() / 60;
    let since = now_minute.saturating_sub(59);
    Step::ReadStats(ReadStats {
        since_minute: since,
        then: Box::new(move |read| {
            let read = match read {
                Ok(r) => r,
                Err(e) => return Step::done(Done::reply(Reply::error(503, "stats_unavailable", &e))),
            };
            Step::done(Done::reply(stats_view(loaded, read, since, now_minute, facts)))
        }),
    })
}

/// The stats page from what the objects answered.
fn stats_view(loaded: &Loaded, read: StatsRead, since: u64, now_minute: u64, facts: &RequestFacts) -> Reply {
    let mut by_action = serde_json::Map::new();
    let mut by_code = serde_json::Map::new();
    let mut by_rule = serde_json::Map::new();
    let mut per_minute: Vec<(u64, u64, u64, u64)> = (since..=now_minute).map(|m| (m, 0, 0, 0)).collect();
    let add = |map: &mut serde_json::Map<String, serde_json::Value>, key: &str, n: u64| {
        let e = map.entry(key.to_string()).or_insert(0.into());
        *e = (e.as_u64().unwrap_or(0) + n).into();
    };
    for c in &read.counts {
        add(&mut by_action, &c.action, c.n);
        if c.action == "reject" {
            add(&mut by_code, &c.code, c.n);
        } else if c.code != "-" {
            // issue, forward, shadow: by the policy rule that decided
            let rules = by_rule.entry(c.action.clone()).or_insert_with(|| serde_json::json!({}));
            if let Some(m) = rules.as_object_mut() {
                add(m, &c.code, c.n);
            }
        }
        if let Some(slot) = per_minute.iter_mut().find(|(m, ..)| *m == c.minute) {
            match c.action.as_str() {
                "issue" => slot.1 += c.n,
                "forward" => slot.2 += c.n,
                "reject" => slot.3 += c.n,
                _ => {}
            }
        }
    }
    let (policy, rows) = match &loaded.config {
        Ok(config) => {
            let rows: Vec<CohortRow> = read
                .cohorts
                .into_iter()
                .filter(|e| !CohortKey::parse(&e.key).is_some_and(|k| k.is_capacity()))
                .map(|e| cohort_row(&config.policy, e))
                .collect();
            (policy_json(config), rows)
        }
        Err(errors) => {
            let problems: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
            let json = serde_json::json!({"source": loaded.policy_source, "ok": false, "problems": problems,
                "effect": "protected routes answer 503 until the configuration is fixed"});
            (json, Vec::new())
        }
    };
    let body = serde_json::json!({
        "policy": policy,
        "decisions": {"last_minutes": 60, "by_action": by_action, "rejections_by_code": by_code, "by_rule": by_rule,
                      "per_minute": per_minute.iter().map(|(m, i, f, r)| serde_json::json!({"minute": m, "issue": i, "forward": f, "reject": r})).collect::<Vec<_>>()},
        "cohorts": rows,
        "health": read.health,
        "capacity": capacity_json(loaded, &read.capacity),
    });
    if facts.headers.get("accept").is_some_and(|a| a.contains("text/html")) {
        return Reply::html(200, page(&body, &per_minute, &rows));
    }
    Reply::json(200, &body)
}

/// Each route's stated capacity beside what this isolate's controller measured and charges.
fn capacity_json(loaded: &Loaded, readings: &[Reading]) -> serde_json::Value {
    let Ok(config) = &loaded.config else { return serde_json::json!([]) };
    let routes: Vec<serde_json::Value> = config
        .policy
        .attack
        .capacity
        .iter()
        .map(|c| {
            let r = readings.iter().find(|r| r.route == c.route).cloned().unwrap_or_default();
            let raised: Vec<serde_json::Value> = r
                .raised
                .iter()
                .map(|(cohort, bits)| {
                    serde_json::json!({"cohort": cohort, "extra_bits": bits.min(&c.ceiling_bits), "shed": *bits > c.ceiling_bits})
                })
                .collect();
            let counts = match c.what {
                CapacityOf::Signups => "signups",
                CapacityOf::OtpSends => "otp_sends",
            };
            serde_json::json!({
                "route": c.route, "counts": counts, "per_minute": c.per_minute,
                "admitted_per_minute": (r.admitted_per_minute * 10.0).round() / 10.0,
                "site_extra_bits": r.site_bits, "raised": raised,
                "price_changes": {"up": r.changes.0, "down": r.changes.1},
            })
        })
        .collect();
    serde_json::Value::Array(routes)
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
fn page(body: &serde_json::Value, per_minute: &[(u64, u64, u64, u64)], cohorts: &[CohortRow]) -> String {
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
         {}</main></body></html>",
        policy_status(body),
        list(body.pointer("/decisions/by_action").unwrap_or(&serde_json::Value::Null)),
        list(body.pointer("/decisions/rejections_by_code").unwrap_or(&serde_json::Value::Null)),
        capacity_table(body.get("capacity").unwrap_or(&serde_json::Value::Null)),
    )
}

/// The capacity section of the page (absent when no route states a capacity).
fn capacity_table(capacity: &serde_json::Value) -> String {
    let Some(routes) = capacity.as_array().filter(|a| !a.is_empty()) else { return String::new() };
    let text = |v: &serde_json::Value, k: &str| {
        escape(&v.get(k).map_or(String::new(), |x| match x {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    };
    let rows: String = routes
        .iter()
        .map(|r| {
            let raised: Vec<String> = r
                .get("raised")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .map(|c| {
                            let shed = c.get("shed").and_then(serde_json::Value::as_bool) == Some(true);
                            let price =
                                if shed { "shed".to_string() } else { format!("+{}", text(c, "extra_bits")) };
                            format!("{} {price}", text(c, "cohort"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{} / {}</td><td>+{}</td><td>{}</td></tr>",
                text(r, "route"),
                text(r, "counts"),
                text(r, "admitted_per_minute"),
                text(r, "per_minute"),
                text(r, "site_extra_bits"),
                if raised.is_empty() { "none".to_string() } else { raised.join(", ") }
            )
        })
        .collect();
    format!(
        "<h2>Capacity (this isolate)</h2><table><tr><th>route</th><th>counts</th><th>admitted / capacity per minute</th><th>everyone</th><th>cohorts raised</th></tr>{rows}</table>"
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

/// Largest panic request body read.
const MAX_PANIC_BODY: usize = 4096;

/// `POST <prefix>/panic` `{"scope": "site" | "asn:16509", "on": true, "minutes": 60}`.
pub fn panic<'a>(config: &'a Config, facts: &'a RequestFacts, now: UnixTime) -> Step<'a> {
    if !authorized(facts, config.admin_token.as_deref()) {
        return Step::done(Done::reply(unauthorized("gate admin")));
    }
    Step::ReadBody(ReadBody {
        cap: MAX_PANIC_BODY,
        then: Box::new(move |body, now_read| {
            let parsed = match body {
                BodyRead::Bytes(b) => serde_json::from_slice::<PanicRequest>(&b).ok(),
                _ => None,
            };
            let Some(p) = parsed else {
                return Step::done(Done::reply(Reply::error(
                    400,
                    "bad_request",
                    "Send {\"scope\": \"site\" or \"kind:value\", \"on\": true|false, \"minutes\": n}.",
                )));
            };
            let key = match parse_scope(&p.scope) {
                Some(k) => k,
                None => {
                    return Step::done(Done::reply(Reply::error(
                        400,
                        "bad_scope",
                        "scope is \"site\" or kind:value, kind one of asn, ip_prefix, country, ua_family, phone_code",
                    )));
                }
            };
            let minutes = p.minutes.unwrap_or(60).clamp(1, 7 * 24 * 60);
            let until = p.on.then(|| now_read.plus(u64::from(minutes) * 60));
            let ip_prefix =
                facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()).map(crate::policy::ip_prefix);
            Step::SetPanic(SetPanic {
                key: key.clone(),
                until,
                then: Box::new(move |set| {
                    if let Err(e) = set {
                        return Step::done(Done::reply(Reply::error(503, "counters_unavailable", &e)));
                    }
                    let event = serde_json::json!({"gate": "panic", "t": now.seconds(), "scope": key.as_str(), "on": p.on, "minutes": minutes, "ip_prefix": ip_prefix});
                    let reply = Reply::json(
                        200,
                        &serde_json::json!({"scope": key.as_str(), "on": p.on, "until": until.map(UnixTime::rfc3339)}),
                    );
                    Step::done(Done { event: Some(event), ..Done::reply(reply) })
                }),
            })
        }),
    })
}

/// `site`, or `kind:value` for a cohort kind the policy knows.
pub fn parse_scope(scope: &str) -> Option<CohortKey> {
    if scope == "site" {
        return Some(CohortKey::site());
    }
    CohortKey::parse(scope).filter(|k| k.kind().is_some())
}
