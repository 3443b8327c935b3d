//! Decision counts for `GET <prefix>/stats`: a persist-and-answer shell over
//! `store::stats`. Isolates send batches of deltas (one row per minute, action and code per
//! flush, at most about once a second each); reading sums the shards. Rows older than a day
//! are dropped by an alarm.

use crate::store::stats::{Count, prune_before};
use worker::{DurableObject, Env, Request, Response, Result, SqlStorageValue, State, durable_object};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "STATS";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS decisions (minute INTEGER NOT NULL, action TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, action, code))";

/// Rows one batch may carry.
const MAX_ROWS: usize = 1024;

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
            "/add" => {
                let Ok(rows) = req.json::<Vec<Count>>().await else {
                    return Response::error("bad batch", 400);
                };
                let mut last_minute = 0;
                for c in crate::store::stats::merge(rows.into_iter().take(MAX_ROWS)) {
                    last_minute = last_minute.max(c.minute);
                    sql.exec(
                        "INSERT INTO decisions (minute, action, code, n) VALUES (?, ?, ?, ?) \
                         ON CONFLICT(minute, action, code) DO UPDATE SET n = n + excluded.n",
                        vec![
                            SqlStorageValue::Integer(c.minute),
                            SqlStorageValue::String(c.action.name().to_string()),
                            SqlStorageValue::String(c.code),
                            SqlStorageValue::Integer(c.n),
                        ],
                    )?;
                }
                let storage = self.state.storage();
                if storage.get_alarm().await?.is_none() {
                    storage.set_alarm(worker::ScheduledTime::from((last_minute + 60) * 60_000)).await?;
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
        let minute = i64::try_from(crate::edge::request::now().minute()).unwrap_or(0);
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        sql.exec(
            "DELETE FROM decisions WHERE minute < ?",
            vec![SqlStorageValue::Integer(prune_before(minute))],
        )?;
        self.state.storage().set_alarm(worker::ScheduledTime::from((minute + 60) * 60_000)).await?;
        Response::ok("")
    }
}
