//! Attack-mode counters: decaying sign-up rates per cohort, and run-time panic switches, in
//! SQLite-backed Durable Objects sharded by cohort key.
//!
//! A request's cohorts (and the `site` key) usually live in several shards; the Worker asks
//! them all at once and waits for the slowest. A challenge only reads; a sign-up that passed
//! verification adds one and reads the new rate in the same call, so a shed cohort stays shed
//! while it keeps pushing and decays back on its own when it stops.

use crate::policy::{CohortKey, CohortState, Counter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorageValue, State,
    durable_object,
};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "COHORTS";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value REAL NOT NULL, at_ms REAL NOT NULL, panic_until_ms REAL NOT NULL DEFAULT 0)";

/// A read (and optional increment) of some keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct Observe {
    /// Now, ms.
    pub now_ms: f64,
    /// Decay window, s.
    pub window_secs: u32,
    /// Keys to read.
    pub keys: Vec<String>,
    /// Count one sign-up for each key first.
    pub add: bool,
}

/// One key's state.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Current rate (sign-ups per window).
    pub rate: f64,
    /// Whether a run-time panic switch is on for it.
    pub panic: bool,
}

/// Turn a run-time panic switch on (until a time) or off (`until_ms` 0).
#[derive(Debug, Serialize, Deserialize)]
pub struct Panic {
    /// The key (`site`, `asn:16509`, ...).
    pub key: String,
    /// Until when, ms since the epoch.
    pub until_ms: f64,
}

/// One counter shard.
#[durable_object]
pub struct Cohorts {
    state: State,
}

impl DurableObject for Cohorts {
    fn new(state: State, _env: Env) -> Self {
        let _ = state.storage().sql().exec(SCHEMA, None);
        Cohorts { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        let path = req.path();
        match path.as_str() {
            "/observe" => {
                let o: Observe = match req.json().await {
                    Ok(o) => o,
                    Err(_) => return Response::error("bad observe request", 400),
                };
                let mut out = Vec::with_capacity(o.keys.len());
                for key in o.keys.iter().take(16) {
                    let rows: Vec<Row> = sql
                        .exec(
                            "SELECT value, at_ms, panic_until_ms FROM counters WHERE key = ?",
                            vec![SqlStorageValue::String(key.clone())],
                        )?
                        .to_array()?;
                    let row = rows.into_iter().next();
                    let mut counter =
                        row.as_ref().map(|r| Counter { value: r.value, at_ms: r.at_ms }).unwrap_or_default();
                    let panic_until = row.as_ref().map_or(0.0, |r| r.panic_until_ms);
                    if o.add {
                        counter = counter.add(o.now_ms, o.window_secs);
                        sql.exec(
                            "INSERT INTO counters (key, value, at_ms) VALUES (?, ?, ?) \
                             ON CONFLICT(key) DO UPDATE SET value = excluded.value, at_ms = excluded.at_ms",
                            vec![
                                SqlStorageValue::String(key.clone()),
                                SqlStorageValue::Float(counter.value),
                                SqlStorageValue::Float(counter.at_ms),
                            ],
                        )?;
                    }
                    out.push(Entry {
                        key: key.clone(),
                        rate: counter.at(o.now_ms, o.window_secs),
                        panic: panic_until > o.now_ms,
                    });
                }
                if o.add {
                    self.schedule_cleanup(o.now_ms).await?;
                }
                Response::from_json(&out)
            }
            "/panic" => {
                let p: Panic = match req.json().await {
                    Ok(p) => p,
                    Err(_) => return Response::error("bad panic request", 400),
                };
                sql.exec(
                    "INSERT INTO counters (key, value, at_ms, panic_until_ms) VALUES (?, 0, 0, ?) \
                     ON CONFLICT(key) DO UPDATE SET panic_until_ms = excluded.panic_until_ms",
                    vec![SqlStorageValue::String(p.key), SqlStorageValue::Float(p.until_ms)],
                )?;
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            "/top" => {
                let url = req.url()?;
                let q = |name: &str| {
                    url.query_pairs().find(|(k, _)| k == name).and_then(|(_, v)| v.parse::<f64>().ok())
                };
                let now_ms = q("now_ms").unwrap_or(0.0);
                let window = q("window_secs").unwrap_or(60.0) as u32;
                let rows: Vec<KeyRow> =
                    sql.exec("SELECT key, value, at_ms, panic_until_ms FROM counters", None)?.to_array()?;
                let mut entries: Vec<Entry> = rows
                    .into_iter()
                    .map(|r| Entry {
                        rate: Counter { value: r.value, at_ms: r.at_ms }.at(now_ms, window),
                        panic: r.panic_until_ms > now_ms,
                        key: r.key,
                    })
                    .filter(|e| e.rate >= 0.5 || e.panic)
                    .collect();
                entries.sort_by(|a, b| b.rate.total_cmp(&a.rate));
                entries.truncate(20);
                Response::from_json(&entries)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // drop counters that have decayed to nothing (and hold no panic switch)
        let now = js_sys::Date::now();
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        sql.exec(
            "DELETE FROM counters WHERE panic_until_ms < ? AND at_ms < ?",
            vec![SqlStorageValue::Float(now), SqlStorageValue::Float(now - 3_600_000.0)],
        )?;
        Response::ok("")
    }
}

impl Cohorts {
    async fn schedule_cleanup(&self, now_ms: f64) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(worker::ScheduledTime::from((now_ms + 3_600_000.0) as i64)).await?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Row {
    value: f64,
    at_ms: f64,
    panic_until_ms: f64,
}

#[derive(Deserialize)]
struct KeyRow {
    key: String,
    value: f64,
    at_ms: f64,
    panic_until_ms: f64,
}

/// The shard of a key.
pub fn shard(key: &str, shards: u32) -> u32 {
    let d: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let [a, b, c, e, ..] = d;
    u32::from_be_bytes([a, b, c, e]) % shards.max(1)
}

fn stub(env: &Env, shard: u32) -> Result<worker::Stub> {
    env.durable_object(BINDING)?.id_from_name(&format!("cohorts-{shard}"))?.get_stub()
}

async fn call<T: serde::de::DeserializeOwned>(
    env: &Env,
    shard: u32,
    path: &str,
    body: &impl Serialize,
) -> Result<T> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(serde_json::to_string(body)?.into()));
    let req = Request::new_with_init(&format!("https://cohorts.internal{path}"), &init)?;
    let mut resp = stub(env, shard)?.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "cohorts shard {shard} answered {}",
            resp.status_code()
        )));
    }
    resp.json().await
}

/// Reads (and with `add`, first counts one sign-up for) the request's cohorts and the site.
pub async fn observe(
    env: &Env,
    shards: u32,
    keys: &[CohortKey],
    add: bool,
    window_secs: u32,
) -> Result<CohortState> {
    let now_ms = js_sys::Date::now();
    let mut all: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
    all.push(CohortKey::site().0);
    let mut by_shard: Vec<(u32, Vec<String>)> = Vec::new();
    for key in all {
        let s = shard(&key, shards);
        match by_shard.iter_mut().find(|(x, _)| *x == s) {
            Some((_, v)) => v.push(key),
            None => by_shard.push((s, vec![key])),
        }
    }
    let calls = by_shard.into_iter().map(|(s, keys)| async move {
        call::<Vec<Entry>>(env, s, "/observe", &Observe { now_ms, window_secs, keys, add }).await
    });
    let mut state = CohortState::default();
    for result in futures_util::future::join_all(calls).await {
        for e in result? {
            if e.panic {
                state.panicked.push(CohortKey(e.key.clone()));
            }
            if e.key == "site" {
                state.site_rate = e.rate;
            } else {
                state.rates.push((CohortKey(e.key), e.rate));
            }
        }
    }
    Ok(state)
}

/// Sets a run-time panic switch.
pub async fn panic(env: &Env, shards: u32, key: &CohortKey, until_ms: f64) -> Result<()> {
    let _: serde_json::Value =
        call(env, shard(&key.0, shards), "/panic", &Panic { key: key.0.clone(), until_ms }).await?;
    Ok(())
}

/// The busiest cohorts across all shards.
pub async fn top(env: &Env, shards: u32, window_secs: u32) -> Result<Vec<Entry>> {
    let now_ms = js_sys::Date::now();
    let calls = (0..shards.max(1)).map(|s| async move {
        let url = format!("https://cohorts.internal/top?now_ms={now_ms}&window_secs={window_secs}");
        let mut resp = stub(env, s)?.fetch_with_str(&url).await?;
        resp.json::<Vec<Entry>>().await
    });
    let mut all = Vec::new();
    for r in futures_util::future::join_all(calls).await {
        all.extend(r?);
    }
    all.sort_by(|a, b| b.rate.total_cmp(&a.rate));
    all.truncate(20);
    Ok(all)
}
