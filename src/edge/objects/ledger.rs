//! The single-use ledger: a SQLite-backed Durable Object per shard, and the Worker-side call.
//! What a spend means is `crate::store::ledger`; this stores rows and answers.
//!
//! Each shard holds the ids of spent challenges until they expire (plus skew); an alarm deletes
//! expired rows, so storage stays proportional to live challenges. A Durable Object runs one
//! event at a time and `sql.exec` is synchronous, so the insert-or-detect-replay below is
//! atomic: of any number of concurrent spends of one id, exactly one sees `fresh: true`.

use crate::store::ledger::{self, Admission, SpendReply, SpendRequest, shard, shard_name};
use crate::store::ledger::{SpendAnswer, SpendOrder};
use crate::store::numbers::{self, NumberCell, NumberReply, NumberRequest, Write};
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorageValue, State,
    durable_object,
};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "LEDGER";

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS spent (id TEXT PRIMARY KEY, forget_after INTEGER NOT NULL, idem TEXT)";

/// Per-number backoff cells (`store::numbers`), keyed by the number's keyed hash; `forget_after`
/// in Unix seconds like the spent rows, so one alarm keeps both.
const NUMBERS: &str = "CREATE TABLE IF NOT EXISTS numbers (key TEXT PRIMARY KEY, sends INTEGER NOT NULL, \
     last_ms INTEGER NOT NULL, forget_after INTEGER NOT NULL)";

/// One ledger shard.
#[durable_object]
pub struct Ledger {
    state: State,
}

#[derive(serde::Deserialize)]
struct Idem {
    idem: Option<String>,
}

#[derive(serde::Deserialize)]
struct Row {
    sends: f64,
    last_ms: f64,
    forget_after: f64,
}

#[derive(serde::Deserialize)]
struct Next {
    next: Option<f64>,
}

impl DurableObject for Ledger {
    fn new(state: State, _env: Env) -> Self {
        // Creating the table is idempotent and cheap; an error here surfaces on the first spend.
        let sql = state.storage().sql();
        let _ = sql.exec(SCHEMA, None);
        // ledgers created before siteverify lack the idempotency column
        let _ = sql.exec("ALTER TABLE spent ADD COLUMN idem TEXT", None);
        Ledger { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() == "/number" {
            let Ok(request) = req.json::<NumberRequest>().await else {
                return Response::error("bad number request", 400);
            };
            return self.number(&request).await;
        }
        let Ok(spend) = req.json::<SpendRequest>().await else {
            return Response::error("bad spend request", 400);
        };
        // the object's own clock: the one every isolate's spends of a shard agree on
        let (id, forget_after, key) = match ledger::admit(&spend, super::super::request::now()) {
            Admission::Refuse(why) => return Response::error(why, 400),
            Admission::Stale => return Response::from_json(&SpendReply { fresh: false, repeat: false }),
            Admission::Release { id } => {
                // its forward failed: forget it, so the same work may be sent again
                let sql = self.state.storage().sql();
                sql.exec(SCHEMA, None)?;
                sql.exec("DELETE FROM spent WHERE id = ?", vec![SqlStorageValue::String(id)])?;
                return Response::from_json(&SpendReply { fresh: false, repeat: false });
            }
            Admission::Record { id, forget_after, idempotency_key } => (id, forget_after, idempotency_key),
        };
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        let idem = key.clone().map_or(SqlStorageValue::Null, SqlStorageValue::String);
        let inserted: Vec<serde_json::Value> = sql
            .exec(
                "INSERT INTO spent (id, forget_after, idem) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING RETURNING id",
                vec![SqlStorageValue::String(id.clone()), SqlStorageValue::Integer(forget_after), idem],
            )?
            .to_array()?;
        let fresh = !inserted.is_empty();
        let stored = if !fresh && key.is_some() {
            let rows: Vec<Idem> = sql
                .exec("SELECT idem FROM spent WHERE id = ?", vec![SqlStorageValue::String(id)])?
                .to_array()?;
            rows.into_iter().next().and_then(|r| r.idem)
        } else {
            None
        };
        if fresh {
            self.alarm_by(forget_after).await?;
        }
        Response::from_json(&ledger::answer(fresh, stored.as_deref(), key.as_deref()))
    }

    async fn alarm(&self) -> Result<Response> {
        let now = i64::try_from(super::super::request::now().seconds()).unwrap_or(i64::MAX);
        let sql = self.state.storage().sql();
        sql.exec(NUMBERS, None)?;
        sql.exec("DELETE FROM spent WHERE forget_after < ?", vec![SqlStorageValue::Integer(now)])?;
        sql.exec("DELETE FROM numbers WHERE forget_after < ?", vec![SqlStorageValue::Integer(now)])?;
        let next: Vec<Next> = sql
            .exec(
                "SELECT MIN(f) AS next FROM (SELECT forget_after AS f FROM spent UNION ALL SELECT forget_after AS f FROM numbers)",
                None,
            )?
            .to_array()?;
        if let Some(n) = next.first().and_then(|n| n.next) {
            let due_ms = ledger::alarm_at_ms(n as i64);
            self.state.storage().set_alarm(worker::ScheduledTime::from(due_ms)).await?;
        }
        Response::ok("")
    }
}

impl Ledger {
    /// Makes the alarm run by the time a row forgotten after `forget_after` (Unix seconds) may
    /// go, unless it already runs earlier.
    async fn alarm_by(&self, forget_after: i64) -> Result<()> {
        let storage = self.state.storage();
        let due_ms = ledger::alarm_at_ms(forget_after);
        match storage.get_alarm().await? {
            Some(at) if at <= due_ms => Ok(()),
            _ => storage.set_alarm(worker::ScheduledTime::from(due_ms)).await,
        }
    }

    /// A number's cell: read, judged by `store::numbers` at the object's clock, written. The
    /// object runs one event at a time and `sql.exec` is synchronous, so two sends to one
    /// number cannot both pass inside its wait.
    async fn number(&self, request: &NumberRequest) -> Result<Response> {
        let now = super::super::request::now();
        let now_ms = now.millis();
        let sql = self.state.storage().sql();
        sql.exec(NUMBERS, None)?;
        let key = SqlStorageValue::String(request.key.clone());
        let rows: Vec<Row> = sql
            .exec("SELECT sends, last_ms, forget_after FROM numbers WHERE key = ?", vec![key.clone()])?
            .to_array()?;
        let stored = rows
            .first()
            .filter(|r| r.forget_after as u64 >= now.seconds())
            .map(|r| NumberCell { sends: r.sends as u32, last_ms: r.last_ms as u64 });
        let (reply, write) = match numbers::apply(stored, request, now_ms) {
            Ok(done) => done,
            Err(why) => return Response::error(why, 400),
        };
        match write {
            Write::Keep => {}
            Write::Delete => {
                sql.exec("DELETE FROM numbers WHERE key = ?", vec![key])?;
            }
            Write::Put { cell, forget_after_ms } => {
                let forget_after = i64::try_from(forget_after_ms / 1000).unwrap_or(i64::MAX);
                sql.exec(
                    "INSERT INTO numbers (key, sends, last_ms, forget_after) VALUES (?, ?, ?, ?) \
                     ON CONFLICT(key) DO UPDATE SET sends = excluded.sends, last_ms = excluded.last_ms, \
                     forget_after = excluded.forget_after",
                    vec![
                        key,
                        SqlStorageValue::Integer(i64::from(cell.sends)),
                        SqlStorageValue::Integer(i64::try_from(cell.last_ms).unwrap_or(i64::MAX)),
                        SqlStorageValue::Integer(forget_after),
                    ],
                )?;
                self.alarm_by(forget_after).await?;
            }
        }
        Response::from_json(&reply)
    }
}

/// Asks a number's cell in its ledger shard (per-number backoff).
pub async fn number(
    env: &Env,
    shards: u32,
    hash: &[u8; 16],
    request: &NumberRequest,
) -> std::result::Result<NumberReply, String> {
    ask(env, &shard_name(shard(hash, shards)), "number", request).await
}

/// Records the spend of `order.id` in its shard.
pub async fn spend(env: &Env, shards: u32, order: &SpendOrder) -> SpendAnswer {
    let name = shard_name(shard(&order.id, shards));
    match ask::<_, SpendReply>(env, &name, "spend", &SpendRequest::of(order)).await {
        Ok(reply) => reply.into(),
        Err(why) => SpendAnswer::Unavailable(why),
    }
}

/// Posts `message` to `path` of the ledger object `name`; its 200 answer, or why not.
async fn ask<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
    env: &Env,
    name: &str,
    path: &str,
    message: &Q,
) -> std::result::Result<A, String> {
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.id_from_name(name)?.get_stub())
        .map_err(|e| format!("stub: {e}"))?;
    let body = serde_json::to_string(message).map_err(|e| format!("encode: {e}"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init(&format!("https://ledger.internal/{path}"), &init)
        .map_err(|e| format!("request: {e}"))?;
    let mut resp = stub.fetch_with_request(req).await.map_err(|e| format!("fetch: {e}"))?;
    if resp.status_code() != 200 {
        return Err(format!("ledger answered {}", resp.status_code()));
    }
    resp.json::<A>().await.map_err(|e| format!("reply: {e}"))
}
