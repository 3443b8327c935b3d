//! Decision counts for `GET <prefix>/stats`: per minute, by action and code, in a few
//! SQLite-backed Durable Object shards (a decision goes to a random one, after the response
//! is sent; reading sums them). Rows older than a day are dropped.

use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorageValue, State,
    durable_object,
};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "STATS";
/// Shards decisions are spread over.
pub const SHARDS: u32 = 8;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS decisions (minute INTEGER NOT NULL, action TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, action, code))";

/// One decision to count.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Unix minute.
    pub minute: i64,
    /// `issue`, `forward`, `reject`, `shadow`.
    pub action: String,
    /// Rejection code, rule name or `-`.
    pub code: String,
}

/// A count.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Count {
    /// Unix minute.
    pub minute: i64,
    /// Action.
    pub action: String,
    /// Code.
    pub code: String,
    /// How many.
    pub n: i64,
}

/// One stats shard.
#[durable_object]
pub struct Stats {
    state: State,
}

impl DurableObject for Stats {
    fn new(state: State, _env: Env) -> Self {
        let _ = state.storage().sql().exec(SCHEMA, None);
        Stats { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        match req.path().as_str() {
            "/record" => {
                let r: Record = match req.json().await {
                    Ok(r) => r,
                    Err(_) => return Response::error("bad record", 400),
                };
                sql.exec(
                    "INSERT INTO decisions (minute, action, code, n) VALUES (?, ?, ?, 1) \
                     ON CONFLICT(minute, action, code) DO UPDATE SET n = n + 1",
                    vec![
                        SqlStorageValue::Integer(r.minute),
                        SqlStorageValue::String(r.action),
                        SqlStorageValue::String(r.code),
                    ],
                )?;
                let storage = self.state.storage();
                if storage.get_alarm().await?.is_none() {
                    storage.set_alarm(worker::ScheduledTime::from((r.minute + 60) * 60_000)).await?;
                }
                Response::ok("")
            }
            "/counts" => {
                let since = req
                    .url()?
                    .query_pairs()
                    .find(|(k, _)| k == "since")
                    .and_then(|(_, v)| v.parse::<i64>().ok())
                    .unwrap_or(0);
                let rows: Vec<Count> = sql
                    .exec(
                        "SELECT minute, action, code, n FROM decisions WHERE minute >= ?",
                        vec![SqlStorageValue::Integer(since)],
                    )?
                    .to_array()?;
                Response::from_json(&rows)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let minute = i64::try_from(super::super::request::now().minute()).unwrap_or(0);
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        sql.exec("DELETE FROM decisions WHERE minute < ?", vec![SqlStorageValue::Integer(minute - 24 * 60)])?;
        self.state.storage().set_alarm(worker::ScheduledTime::from((minute + 60) * 60_000)).await?;
        Response::ok("")
    }
}

fn stub(env: &Env, shard: u32) -> Result<worker::Stub> {
    env.durable_object(BINDING)?.id_from_name(&format!("stats-{shard}"))?.get_stub()
}

/// Counts one decision (call from `ctx.wait_until`: it never delays a response).
pub async fn record(env: Env, action: &'static str, code: String, now: crate::protocol::time::UnixTime) {
    let shard = super::super::request::random_id().map_or(0, |[b, ..]| u32::from(b)) % SHARDS;
    let record =
        Record { minute: i64::try_from(now.seconds() / 60).unwrap_or(0), action: action.to_string(), code };
    let Ok(body) = serde_json::to_string(&record) else { return };
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let sent = async {
        let req = Request::new_with_init("https://stats.internal/record", &init)?;
        stub(&env, shard)?.fetch_with_request(req).await
    };
    if let Err(e) = sent.await {
        worker::console_error!("{}", serde_json::json!({"gate": "stats", "error": e.to_string()}));
    }
}

/// All counts since a Unix minute, summed over the shards.
pub async fn counts(env: &Env, since_minute: u64) -> Result<Vec<Count>> {
    let calls = (0..SHARDS).map(|s| async move {
        let mut resp = stub(env, s)?
            .fetch_with_str(&format!("https://stats.internal/counts?since={since_minute}"))
            .await?;
        resp.json::<Vec<Count>>().await
    });
    let mut merged: Vec<Count> = Vec::new();
    for r in futures_util::future::join_all(calls).await {
        for c in r? {
            match merged.iter_mut().find(|m| m.minute == c.minute && m.action == c.action && m.code == c.code)
            {
                Some(m) => m.n += c.n,
                None => merged.push(c),
            }
        }
    }
    Ok(merged)
}
