//! Attack-mode IO: reading cohort state for a decision, counting accepted sign-ups, the
//! stats counts and the run-time panic switches, in the counter and stats objects.

use super::objects::{cohorts, stats};
use crate::pipeline::config::Config;
use crate::pipeline::step::{CohortReading, DecisionCount, StatsRead};
use crate::policy::{CohortKey, CohortState};
use crate::protocol::time::UnixTime;
use worker::{Context, Env};

/// The cohort state of `keys` (and the site-wide rate when `site`).
pub async fn cohort_state(
    env: &Env,
    config: &Config,
    keys: &[CohortKey],
    site: bool,
    window_secs: u32,
    now: UnixTime,
) -> Result<CohortState, String> {
    cohorts::observe(env, config.cohort_shards, keys, site, false, window_secs, now)
        .await
        .map_err(|e| e.to_string())
}

/// Counts one accepted sign-up in its cohorts (before the response is sent, so the next
/// sign-up from the cohort already sees it).
pub async fn count_signup(
    env: &Env,
    config: &Config,
    keys: &[CohortKey],
    site: bool,
    window_secs: u32,
    now: UnixTime,
) {
    if let Err(e) = cohorts::observe(env, config.cohort_shards, keys, site, true, window_secs, now).await {
        worker::console_error!("{}", serde_json::json!({"gate": "cohorts", "error": e.to_string()}));
    }
}

/// Counts a decision for the stats endpoint, after the response is sent.
pub fn count(env: &Env, ctx: &Context, action: &'static str, code: String, now: UnixTime) {
    ctx.wait_until(stats::record(env.clone(), action, code, now));
}

/// Sets a run-time panic switch.
pub async fn panic(
    env: &Env,
    config: &Config,
    key: &CohortKey,
    until: Option<UnixTime>,
) -> Result<(), String> {
    cohorts::panic(env, config.cohort_shards, key, until).await.map_err(|e| e.to_string())
}

/// What the stats page shows: counts since `since_minute` and the busiest cohorts.
pub async fn stats_view(
    env: &Env,
    config: Option<&Config>,
    since_minute: u64,
    now: UnixTime,
) -> Result<StatsRead, String> {
    let counts = stats::counts(env, since_minute).await.map_err(|e| e.to_string())?;
    let cohorts = match config {
        Some(c) => {
            cohorts::top(env, c.cohort_shards, c.policy.attack.window_secs, now).await.unwrap_or_default()
        }
        None => Vec::new(),
    };
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
        cohorts: cohorts
            .into_iter()
            .map(|e| CohortReading { key: e.key, rate: e.rate, panic: e.panic })
            .collect(),
        health: serde_json::Value::Null,
    })
}
