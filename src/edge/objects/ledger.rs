//! The single-use ledger: a SQLite-backed Durable Object per shard, and the Worker-side call.
//!
//! Each shard holds the ids of spent challenges until they expire (plus skew); an alarm deletes
//! expired rows, so storage stays proportional to live challenges. A Durable Object runs one
//! event at a time and `sql.exec` is synchronous, so the insert-or-detect-replay below is
//! atomic: of any number of concurrent spends of one id, exactly one sees `fresh: true`.

use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::store::ledger::{SpendReply, SpendRequest, shard, shard_name};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorageValue, State,
    durable_object,
};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "LEDGER";

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS spent (id TEXT PRIMARY KEY, forget_after INTEGER NOT NULL, idem TEXT)";

/// One ledger shard.
#[durable_object]
pub struct Ledger {
    state: State,
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
        let spend: SpendRequest = match req.json().await {
            Ok(s) => s,
            Err(_) => return Response::error("bad spend request", 400),
        };
        if spend.id.is_empty() || spend.id.len() > 64 {
            return Response::error("bad id", 400);
        }
        let forget_after = i64::try_from(spend.forget_after).unwrap_or(i64::MAX).min(1 << 50);
        // A spend arriving after its row could have been forgotten is no spend: the alarm may
        // already have deleted a first use (a request that took long to arrive, e.g. a slowly
        // sent body, must not find the ledger empty).
        let now = i64::try_from(crate::edge::request::now().seconds()).unwrap_or(i64::MAX);
        if forget_after < now {
            return Response::from_json(&SpendReply { fresh: false, repeat: false });
        }
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        let idem = match &spend.idempotency_key {
            Some(k) => SqlStorageValue::String(k.chars().take(128).collect()),
            None => SqlStorageValue::Null,
        };
        let inserted: Vec<serde_json::Value> = sql
            .exec(
                "INSERT INTO spent (id, forget_after, idem) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING RETURNING id",
                vec![SqlStorageValue::String(spend.id.clone()), SqlStorageValue::Integer(forget_after), idem],
            )?
            .to_array()?;
        let fresh = !inserted.is_empty();
        let mut repeat = false;
        if !fresh && let Some(key) = &spend.idempotency_key {
            #[derive(serde::Deserialize)]
            struct Idem {
                idem: Option<String>,
            }
            let rows: Vec<Idem> = sql
                .exec("SELECT idem FROM spent WHERE id = ?", vec![SqlStorageValue::String(spend.id)])?
                .to_array()?;
            repeat = rows.first().and_then(|r| r.idem.as_deref())
                == Some(key.chars().take(128).collect::<String>().as_str());
        }
        if fresh {
            let storage = self.state.storage();
            let due_ms = forget_after.saturating_add(1).saturating_mul(1000);
            match storage.get_alarm().await? {
                Some(at) if at <= due_ms => {}
                _ => storage.set_alarm(worker::ScheduledTime::from(due_ms)).await?,
            }
        }
        Response::from_json(&SpendReply { fresh, repeat })
    }

    async fn alarm(&self) -> Result<Response> {
        let now = crate::edge::request::now().seconds();
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let sql = self.state.storage().sql();
        sql.exec("DELETE FROM spent WHERE forget_after < ?", vec![SqlStorageValue::Integer(now)])?;
        #[derive(serde::Deserialize)]
        struct Next {
            next: Option<f64>,
        }
        let next: Vec<Next> = sql.exec("SELECT MIN(forget_after) AS next FROM spent", None)?.to_array()?;
        if let Some(n) = next.first().and_then(|n| n.next) {
            let due_ms = (n as i64).saturating_add(1).saturating_mul(1000);
            self.state.storage().set_alarm(worker::ScheduledTime::from(due_ms)).await?;
        }
        Response::ok("")
    }
}

/// Why a spend could not be recorded.
#[derive(Debug)]
pub struct Unavailable(pub String);

/// What the ledger says about a spend.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Spent {
    /// The first use.
    Fresh,
    /// Used before, with the same idempotency key (a siteverify retry).
    Repeat,
    /// Used before: a replay.
    Replay,
}

/// What a submission's single-use spend came to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Once {
    /// The first use.
    Fresh,
    /// The ledger could not be reached and `FAIL_OPEN` lets the request through (logged).
    FailedOpen,
}

/// The verdict reason a fail-open spend adds.
pub const FAIL_OPEN_REASON: &str = "ledger_unavailable_fail_open";

/// Spends `id` once for a submission: a replay is refused with `replay` as its log detail,
/// an unreachable ledger closes the request unless `fail_open`.
pub async fn spend_once(
    env: &Env,
    shards: u32,
    fail_open: bool,
    id: &[u8; 16],
    forget_after: UnixTime,
    replay: &str,
) -> std::result::Result<Once, Rejection> {
    match spend(env, shards, id, forget_after, None).await {
        Ok(Spent::Fresh) => Ok(Once::Fresh),
        Ok(_) => Err(Rejection::new(RejectKind::AlreadySpent, replay)),
        Err(Unavailable(why)) if fail_open => {
            worker::console_error!(
                "{}",
                serde_json::json!({"gate": "ledger", "fail_open": true, "error": why})
            );
            Ok(Once::FailedOpen)
        }
        Err(Unavailable(why)) => Err(Rejection::new(RejectKind::LedgerUnavailable, why)),
    }
}

/// Records the spend of challenge `id`.
pub async fn spend(
    env: &Env,
    shards: u32,
    id: &[u8; 16],
    forget_after: UnixTime,
    idempotency_key: Option<&str>,
) -> std::result::Result<Spent, Unavailable> {
    let fail = |stage: &str, e: worker::Error| Unavailable(format!("{stage}: {e}"));
    let ns = env.durable_object(BINDING).map_err(|e| fail("binding", e))?;
    let stub = ns
        .id_from_name(&shard_name(shard(id, shards)))
        .and_then(|i| i.get_stub())
        .map_err(|e| fail("stub", e))?;
    let body = SpendRequest {
        id: URL_SAFE_NO_PAD.encode(id),
        forget_after: forget_after.seconds(),
        idempotency_key: idempotency_key.map(str::to_string),
    };
    let body = serde_json::to_string(&body).map_err(|e| Unavailable(format!("encode: {e}")))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req =
        Request::new_with_init("https://ledger.internal/spend", &init).map_err(|e| fail("request", e))?;
    let mut resp = stub.fetch_with_request(req).await.map_err(|e| fail("fetch", e))?;
    if resp.status_code() != 200 {
        return Err(Unavailable(format!("ledger answered {}", resp.status_code())));
    }
    let reply: SpendReply = resp.json().await.map_err(|e| fail("reply", e))?;
    Ok(match (reply.fresh, reply.repeat) {
        (true, _) => Spent::Fresh,
        (false, true) => Spent::Repeat,
        (false, false) => Spent::Replay,
    })
}
