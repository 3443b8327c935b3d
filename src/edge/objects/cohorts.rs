//! Attack-mode counters: decaying sign-up rates per cohort, and run-time panic switches, in
//! Durable Objects sharded by cohort key.
//!
//! A request's cohorts (and the `site` key) usually live in several shards; the Worker asks
//! them all at once and waits for the slowest. Challenges and submissions only read; a
//! sign-up whose spend was fresh adds one (alongside its forward), so replays and refusals
//! never move a counter, and a cohort decays back on its own when it stops.
//!
//! The counters live in the object's memory: a read-and-increment is a map lookup, not a
//! storage write (`scripts/bench load` measured SQLite-backed counters at about 18 ms per
//! sign-up in `wrangler dev`). They are approximate by nature and decay within minutes, so an
//! object that is evicted while idle loses nothing that matters; a busy one is not evicted.
//! Panic switches are rare operator actions and must survive: they are stored (SQLite) and
//! cached in memory.

use crate::policy::{CohortKey, CohortState, Counter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorageValue, State,
    durable_object,
};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "COHORTS";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS panics (key TEXT PRIMARY KEY, until_ms REAL NOT NULL)";

/// Counters kept per shard before decayed ones are dropped.
const PRUNE_AT: usize = 50_000;

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
    counters: RefCell<HashMap<String, Counter>>,
    /// Panic switches (key, until ms), loaded from storage on first use.
    panics: RefCell<Option<HashMap<String, f64>>>,
}

impl DurableObject for Cohorts {
    fn new(state: State, _env: Env) -> Self {
        Cohorts { state, counters: RefCell::new(HashMap::new()), panics: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        match path.as_str() {
            "/observe" => {
                let o: Observe = match req.json().await {
                    Ok(o) => o,
                    Err(_) => return Response::error("bad observe request", 400),
                };
                self.load_panics()?;
                let panics = self.panics.borrow();
                let mut counters = self.counters.borrow_mut();
                let mut out = Vec::with_capacity(o.keys.len());
                for key in o.keys.iter().take(16) {
                    let mut counter = counters.get(key).copied().unwrap_or_default();
                    if o.add {
                        counter = counter.add(o.now_ms, o.window_secs);
                        counters.insert(key.clone(), counter);
                    }
                    let panic_until = panics.as_ref().and_then(|p| p.get(key)).copied().unwrap_or(0.0);
                    out.push(Entry {
                        key: key.clone(),
                        rate: counter.at(o.now_ms, o.window_secs),
                        panic: panic_until > o.now_ms,
                    });
                }
                // a site-wide panic switch is written to every shard: any call sees it
                let site = CohortKey::site().0;
                let site_until = panics.as_ref().and_then(|p| p.get(&site)).copied().unwrap_or(0.0);
                if site_until > o.now_ms && !o.keys.contains(&site) {
                    out.push(Entry { key: site, rate: 0.0, panic: true });
                }
                if counters.len() > PRUNE_AT {
                    counters.retain(|_, c| c.at(o.now_ms, o.window_secs) >= 0.01);
                }
                Response::from_json(&out)
            }
            "/panic" => {
                let p: Panic = match req.json().await {
                    Ok(p) => p,
                    Err(_) => return Response::error("bad panic request", 400),
                };
                let sql = self.state.storage().sql();
                sql.exec(SCHEMA, None)?;
                sql.exec(
                    "INSERT INTO panics (key, until_ms) VALUES (?, ?) \
                     ON CONFLICT(key) DO UPDATE SET until_ms = excluded.until_ms",
                    vec![SqlStorageValue::String(p.key.clone()), SqlStorageValue::Float(p.until_ms)],
                )?;
                self.load_panics()?;
                if let Some(map) = self.panics.borrow_mut().as_mut() {
                    map.insert(p.key, p.until_ms);
                }
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            "/top" => {
                let url = req.url()?;
                let q = |name: &str| {
                    url.query_pairs().find(|(k, _)| k == name).and_then(|(_, v)| v.parse::<f64>().ok())
                };
                let now_ms = q("now_ms").unwrap_or(0.0);
                let window = q("window_secs").unwrap_or(60.0) as u32;
                self.load_panics()?;
                let panics = self.panics.borrow();
                let panicked =
                    |key: &str| panics.as_ref().and_then(|p| p.get(key)).is_some_and(|until| *until > now_ms);
                let mut entries: Vec<Entry> = self
                    .counters
                    .borrow()
                    .iter()
                    .map(|(key, c)| Entry {
                        rate: c.at(now_ms, window),
                        panic: panicked(key),
                        key: key.clone(),
                    })
                    .filter(|e| e.rate >= 0.5 || e.panic)
                    .collect();
                for (key, until) in panics.iter().flatten() {
                    if *until > now_ms && !entries.iter().any(|e| &e.key == key) {
                        entries.push(Entry { key: key.clone(), rate: 0.0, panic: true });
                    }
                }
                entries.sort_by(|a, b| b.rate.total_cmp(&a.rate));
                entries.truncate(20);
                Response::from_json(&entries)
            }
            _ => Response::error("not found", 404),
        }
    }
}

impl Cohorts {
    /// Reads the stored panic switches into memory, once per object instance.
    fn load_panics(&self) -> Result<()> {
        if self.panics.borrow().is_some() {
            return Ok(());
        }
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        let rows: Vec<PanicRow> = sql.exec("SELECT key, until_ms FROM panics", None)?.to_array()?;
        *self.panics.borrow_mut() = Some(rows.into_iter().map(|r| (r.key, r.until_ms)).collect());
        Ok(())
    }
}

#[derive(Deserialize)]
struct PanicRow {
    key: String,
    until_ms: f64,
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

/// Reads (and with `add`, first counts one sign-up for) the request's cohorts, and the
/// site-wide count when `site` (the policy has a global ceiling). Each shard also reports a
/// site-wide panic switch, so at least one shard is always asked.
pub async fn observe(
    env: &Env,
    shards: u32,
    keys: &[CohortKey],
    site: bool,
    add: bool,
    window_secs: u32,
    now: crate::protocol::time::UnixTime,
) -> Result<CohortState> {
    let now_ms = now.millis_f64();
    let mut all: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
    if site {
        all.push(CohortKey::site().0);
    }
    let mut by_shard: Vec<(u32, Vec<String>)> = Vec::new();
    for key in all {
        let s = shard(&key, shards);
        match by_shard.iter_mut().find(|(x, _)| *x == s) {
            Some((_, v)) => v.push(key),
            None => by_shard.push((s, vec![key])),
        }
    }
    if by_shard.is_empty() {
        by_shard.push((0, Vec::new()));
    }
    let calls = by_shard.into_iter().map(|(s, keys)| async move {
        call::<Vec<Entry>>(env, s, "/observe", &Observe { now_ms, window_secs, keys, add }).await
    });
    let mut state = CohortState::default();
    for result in futures_util::future::join_all(calls).await {
        for e in result? {
            let key = CohortKey(e.key);
            if e.panic && !state.panicked.contains(&key) {
                state.panicked.push(key.clone());
            }
            if key == CohortKey::site() {
                state.site_rate = state.site_rate.max(e.rate);
            } else {
                state.rates.push((key, e.rate));
            }
        }
    }
    Ok(state)
}

/// Sets a run-time panic switch: in the key's shard, or for the site in every shard.
pub async fn panic(
    env: &Env,
    shards: u32,
    key: &CohortKey,
    until: Option<crate::protocol::time::UnixTime>,
) -> Result<()> {
    let until_ms = until.map_or(0.0, |u| u.millis_f64());
    let targets: Vec<u32> =
        if *key == CohortKey::site() { (0..shards.max(1)).collect() } else { vec![shard(&key.0, shards)] };
    let calls = targets.into_iter().map(|s| async move {
        call::<serde_json::Value>(env, s, "/panic", &Panic { key: key.0.clone(), until_ms }).await
    });
    for r in futures_util::future::join_all(calls).await {
        r?;
    }
    Ok(())
}

/// The busiest cohorts across all shards.
pub async fn top(
    env: &Env,
    shards: u32,
    window_secs: u32,
    now: crate::protocol::time::UnixTime,
) -> Result<Vec<Entry>> {
    let now_ms = now.millis_f64();
    let calls = (0..shards.max(1)).map(|s| async move {
        let url = format!("https://cohorts.internal/top?now_ms={now_ms}&window_secs={window_secs}");
        let mut resp = stub(env, s)?.fetch_with_str(&url).await?;
        resp.json::<Vec<Entry>>().await
    });
    let mut all: Vec<Entry> = Vec::new();
    for r in futures_util::future::join_all(calls).await {
        for e in r? {
            // the site's panic switch is in every shard
            if !all.iter().any(|a| a.key == e.key) {
                all.push(e);
            }
        }
    }
    all.sort_by(|a, b| b.rate.total_cmp(&a.rate));
    all.truncate(20);
    Ok(all)
}
