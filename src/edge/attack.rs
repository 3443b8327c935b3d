//! Attack mode's IO: the isolate-local [`Control`] (snapshot and batch, `crate::control`)
//! and the calls to the counter and stats Durable Objects it asks for.
//!
//! - [`cohort_state`] is synchronous: it reads the snapshot, never awaits an object, and
//!   schedules the due background calls (`ctx.wait_until`).
//! - [`ready`] awaits a refresh only for *cold* shards (never answered or unheard from for
//!   more than the 2 s bound: a new or idle isolate), at most once per shard per 2 s; call it
//!   before [`cohort_state`] to keep the staleness bound for the first request after a pause.
//! - [`count_signup`] and [`count`] add to the batch (and the snapshot) at once; the batch is
//!   flushed at most about once a second, one call per shard with deltas.
//! - [`panic`] writes a switch (to every shard for the site) and folds it into this isolate;
//!   the others see it with their next refresh (within the bound).
//! - [`stats_view`] gathers the stats page's counts, busiest cohorts and this isolate's health
//!   and object-call counters.

use crate::config::Config;
use crate::control::snapshot::CallKind;
use crate::control::{self, Call, Control, Windows};
use crate::pipeline::step::{CohortReading, DecisionCount, ReadCohorts, StatsRead};
use crate::policy::{CohortKey, CohortState};
use crate::protocol::time::UnixTime;
use crate::store::cohorts::{self, Entry, Exchange, Panic, Reply};
use crate::store::stats::{self, Count};
use std::cell::RefCell;
use worker::{Context, Env, Method, Request, RequestInit, Result};

thread_local! {
    static CONTROL: RefCell<Control> = RefCell::new(Control::default());
}

/// The isolate's clock in ms (the snapshot's bound is finer than a second). `now` is the
/// request's time; the platform clock wins when it reads later (it only advances).
fn ms(now: UnixTime) -> u64 {
    platform_ms().max(now.millis())
}

fn platform_ms() -> u64 {
    crate::edge::request::now().millis()
}

fn windows_for(config: &Config, keys: &[CohortKey], window_secs: u32) -> Windows {
    Windows::for_read(&config.policy, keys, window_secs)
}

fn hot_at(config: &Config) -> f64 {
    control::hot_at(&config.policy)
}

fn stub(env: &Env, name: &str, binding: &str) -> Result<worker::Stub> {
    env.durable_object(binding)?.id_from_name(name)?.get_stub()
}

async fn post<T: serde::de::DeserializeOwned>(stub: worker::Stub, url: &str, body: String) -> Result<T> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(worker::Error::RustError(format!("answered {}: {}", resp.status_code(), text)));
    }
    resp.json().await
}

async fn exchange(env: &Env, shard: u32, e: &Exchange) -> Result<Reply> {
    let stub = stub(env, &cohorts::shard_name(shard), crate::edge::objects::cohorts::BINDING)?;
    post(stub, "https://cohorts.internal/exchange", serde_json::to_string(e)?).await
}

/// Makes the calls and folds the answers in (errors: held levels, logged once per interval).
async fn run(env: Env, calls: Vec<Call>) {
    let done = calls.into_iter().map(|c| {
        let env = env.clone();
        async move {
            let r = exchange(&env, c.shard, &c.exchange).await;
            (c, r)
        }
    });
    for (call, result) in futures_util::future::join_all(done).await {
        let now = platform_ms();
        match result {
            Ok(reply) => CONTROL.with(|c| c.borrow_mut().answered(&call, &reply, now)),
            Err(e) => {
                let shard = call.shard;
                let error = e.to_string();
                let log = CONTROL.with(|c| c.borrow_mut().failed(call, &error, now));
                if log {
                    let health = CONTROL.with(|c| c.borrow().snapshot.health());
                    worker::console_error!(
                        "{}",
                        serde_json::json!({"gate": "cohorts", "condition": "degraded", "shard": shard, "error": error,
                            "failing_shards": health.failing_shards, "errors": health.errors, "held_decisions": health.held_decisions})
                    );
                }
            }
        }
    }
}

async fn send_stats(env: Env, rows: Vec<Count>) {
    let shard = crate::edge::request::random_id().map_or(0, |[b, ..]| u32::from(b)) % stats::SHARDS;
    let sent = async {
        let stub = stub(&env, &stats::shard_name(shard), crate::edge::objects::stats::BINDING)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(serde_json::to_string(&rows)?.into()));
        let req = Request::new_with_init("https://stats.internal/add", &init)?;
        let resp = stub.fetch_with_request(req).await?;
        if resp.status_code() != 200 {
            return Err(worker::Error::RustError(format!("stats shard answered {}", resp.status_code())));
        }
        Ok(())
    };
    if let Err(e) = sent.await {
        worker::console_error!("{}", serde_json::json!({"gate": "stats", "error": e.to_string()}));
        CONTROL.with(|c| c.borrow_mut().stats_failed(rows));
    }
}

/// Schedules the background calls that are due (flush, refreshes) in `wait_until`.
fn schedule(env: &Env, ctx: &Context, hot_at: f64, now_ms: u64) {
    let (calls, rows) = CONTROL.with(|c| c.borrow_mut().background(hot_at, now_ms));
    if !calls.is_empty() {
        ctx.wait_until(run(env.clone(), calls));
    }
    if !rows.is_empty() {
        CONTROL.with(|c| c.borrow_mut().snapshot.note_call(CallKind::Stats));
        ctx.wait_until(send_stats(env.clone(), rows));
    }
}

/// Awaits a refresh of the request's cold shards (a new or idle isolate), so a decision never
/// reads state older than the bound; a no-op while the isolate is busy.
async fn ready(env: &Env, config: &Config, keys: &[CohortKey], site: bool, w: Windows, now_ms: u64) {
    let calls =
        CONTROL.with(|c| c.borrow_mut().cold(keys, site, config.cohort_shards, w, hot_at(config), now_ms));
    if !calls.is_empty() {
        run(env.clone(), calls).await;
    }
}

/// Whether any of these keys' counter shards is failing now.
fn unreachable(config: &Config, keys: &[CohortKey]) -> bool {
    let failing = CONTROL.with(|c| c.borrow().snapshot.health().failing_shards);
    keys.iter().any(|k| failing.contains(&cohorts::shard(k.as_str(), config.cohort_shards)))
}

/// The request's cohort state from the isolate's snapshot. While the isolate is busy this
/// makes no object call (due refreshes and flushes go to `ctx.wait_until`); only cold shards
/// (a new isolate, or none of their keys asked for in 2 s) are awaited, once.
///
/// Never an error for the JavaScript path: an unreachable counter holds the last known
/// levels (`control::snapshot`) instead of falling back to the base price. The no-JS path's
/// budget is its only price, so for `nojs:` keys an unreachable shard is an error (closed).
pub async fn cohort_state(
    env: &Env,
    ctx: &Context,
    config: &Config,
    read: &ReadCohorts<'_>,
    now: UnixTime,
) -> Result<CohortState, String> {
    let (keys, site, window_secs) = (&read.keys[..], read.site, read.window_secs);
    let capacity = read.capacity.as_ref();
    let now_ms = ms(now);
    let w = windows_for(config, keys, window_secs);
    ready(env, config, keys, site, w, now_ms).await;
    let now_ms = ms(now).max(now_ms);
    if keys.iter().any(|k| k.is_no_js()) && unreachable(config, keys) {
        return Err("counters unreachable".into());
    }
    let state = CONTROL.with(|c| c.borrow_mut().state(keys, site, config.cohort_shards, w, capacity, now_ms));
    schedule(env, ctx, hot_at(config), now_ms);
    Ok(state)
}

/// Counts one accepted, freshly spent sign-up in its cohorts (and the site key when `site`):
/// in this isolate's snapshot at once, to the shards with the next flush (`wait_until`).
pub async fn count_signup(
    env: &Env,
    ctx: &Context,
    config: &Config,
    keys: &[CohortKey],
    site: bool,
    window_secs: u32,
    now: UnixTime,
) {
    if keys.is_empty() && !site {
        return;
    }
    let now_ms = ms(now);
    let w = windows_for(config, keys, window_secs);
    CONTROL.with(|c| c.borrow_mut().count_signup(keys, site, config.cohort_shards, w, now_ms));
    schedule(env, ctx, hot_at(config), now_ms);
}

/// Counts a decision for the stats page (batched; flushed with the next due flush).
pub fn count(env: &Env, ctx: &Context, action: &'static str, code: String, now: UnixTime) {
    let now_ms = ms(now);
    let minute = i64::try_from(now_ms / 60_000).unwrap_or(0);
    CONTROL.with(|c| c.borrow_mut().count(minute, action, &code));
    // no policy here: refreshes wait for the next decision; a flush of counts is due anyway
    schedule(env, ctx, f64::INFINITY, now_ms);
}

/// Sets a run-time panic switch until `until_ms` (0: off): in the key's shard, or for the site
/// in every shard. This isolate applies it at once; every other one within the bound.
pub async fn panic(
    env: &Env,
    config: &Config,
    key: &CohortKey,
    until: Option<UnixTime>,
) -> std::result::Result<(), String> {
    let until_ms = until.map_or(0, UnixTime::millis);
    let shards = config.cohort_shards;
    let targets: Vec<u32> = if *key == CohortKey::site() {
        (0..shards.max(1)).collect()
    } else {
        vec![cohorts::shard(key.as_str(), shards)]
    };
    let body = serde_json::to_string(&Panic { key: key.as_str().to_string(), until_ms })
        .map_err(|e| e.to_string())?;
    let calls = targets.into_iter().map(|s| {
        let body = body.clone();
        async move {
            let stub = stub(env, &cohorts::shard_name(s), crate::edge::objects::cohorts::BINDING)?;
            post::<serde_json::Value>(stub, "https://cohorts.internal/panic", body).await
        }
    });
    let results = futures_util::future::join_all(calls).await;
    CONTROL.with(|c| {
        let mut c = c.borrow_mut();
        for _ in &results {
            c.snapshot.note_call(CallKind::Panic);
        }
        c.snapshot.panic_set(key, until_ms, shards);
    });
    for r in results {
        r.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The stats page's data: decision counts (this isolate's batch flushed first), the busiest
/// cohorts over all counter shards and this isolate's view, and `health`: the degradation
/// condition and this isolate's object-call counters. Counter shards that do not answer are
/// left out (and show in `health`); the page itself is not a hot path.
pub async fn stats_view(
    env: &Env,
    config: Option<&Config>,
    since_minute: u64,
    now: UnixTime,
) -> std::result::Result<StatsRead, String> {
    let since = i64::try_from(since_minute).unwrap_or(i64::MAX);
    if let Some(config) = config {
        let (calls, rows) = CONTROL.with(|c| c.borrow_mut().flush_all(hot_at(config), ms(now)));
        if !rows.is_empty() {
            CONTROL.with(|c| c.borrow_mut().snapshot.note_call(CallKind::Stats));
            send_stats(env.clone(), rows).await;
        }
        run(env.clone(), calls).await;
    }
    let counts = counts(env, since).await.map_err(|e| e.to_string())?;
    let mut entries: Vec<Entry> = Vec::new();
    if let Some(config) = config {
        let tops = (0..config.cohort_shards.max(1)).map(|s| async move {
            let stub = stub(env, &cohorts::shard_name(s), crate::edge::objects::cohorts::BINDING)?;
            let mut resp = stub.fetch_with_str("https://cohorts.internal/top").await?;
            resp.json::<Vec<Entry>>().await
        });
        for e in futures_util::future::join_all(tops).await.into_iter().flatten().flatten() {
            if !entries.iter().any(|a| a.key == e.key) {
                entries.push(e);
            }
        }
    }
    let (local, health, capacity) = CONTROL.with(|c| {
        let c = c.borrow();
        let capacity = c.capacity.iter().map(|(route, ctl)| ctl.reading(route)).collect();
        (c.snapshot.top(ms(now), 20), c.snapshot.health(), capacity)
    });
    // the isolate's own view includes its counts not yet flushed: the higher figure wins
    for (key, rate) in local {
        match entries.iter_mut().find(|a| a.key == key) {
            Some(e) => e.rate = e.rate.max(rate),
            None => entries.push(Entry { key, rate, panic: false }),
        }
    }
    entries.sort_by(|a, b| b.rate.total_cmp(&a.rate).then_with(|| a.key.cmp(&b.key)));
    entries.truncate(20);
    Ok(StatsRead {
        counts: counts
            .into_iter()
            .map(|c| DecisionCount {
                minute: u64::try_from(c.minute).unwrap_or(0),
                action: c.action,
                code: c.code,
                n: u64::try_from(c.n).unwrap_or(0),
            })
            .collect(),
        cohorts: entries
            .into_iter()
            .map(|e| CohortReading { key: e.key, rate: e.rate, panic: e.panic })
            .collect(),
        health: serde_json::to_value(&health).unwrap_or_default(),
        capacity,
    })
}

/// Decision counts since a minute, summed over the stats shards (also without a valid policy).
pub async fn counts(env: &Env, since_minute: i64) -> Result<Vec<Count>> {
    let calls = (0..stats::SHARDS).map(|s| async move {
        let stub = stub(env, &stats::shard_name(s), crate::edge::objects::stats::BINDING)?;
        let mut resp =
            stub.fetch_with_str(&format!("https://stats.internal/counts?since={since_minute}")).await?;
        resp.json::<Vec<Count>>().await
    });
    let mut all = Vec::new();
    for r in futures_util::future::join_all(calls).await {
        all.extend(r?);
    }
    Ok(stats::merge(all))
}

/// Counts a ledger spend among this isolate's object calls (the stats page's `health.calls`).
pub fn note_spend() {
    CONTROL.with(|c| c.borrow_mut().snapshot.note_call(CallKind::Spend));
}
