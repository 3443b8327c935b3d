//! The attack-mode counter shard: a persist-and-answer shell over `store::cohorts::Shard`.
//!
//! Isolates call a shard at most about once a second each (`control`), with a batch of
//! sign-up deltas and the keys they decide on; the shard answers their counters, its hot keys
//! and its panic switches. Counters are persisted — one row per cohort changed, at most once a
//! second (an alarm writes what a busy second left dirty) — and reloaded when the object
//! starts, so eviction does not reset a busy cohort. Panic switches are stored before the
//! answer.

use crate::store::cohorts::{Exchange, Panic, Row, Shard};
use std::cell::RefCell;
use worker::{DurableObject, Env, Request, Response, Result, SqlStorageValue, State, durable_object};

/// The Durable Object binding name in `wrangler.toml`.
pub const BINDING: &str = "COHORTS";

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value REAL NOT NULL, at_ms REAL NOT NULL, window_secs INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS panics (key TEXT PRIMARY KEY, until_ms REAL NOT NULL)",
];

/// One counter shard.
#[durable_object]
pub struct Cohorts {
    state: State,
    shard: RefCell<Option<Shard>>,
}

#[derive(serde::Deserialize)]
struct PanicRow {
    key: String,
    until_ms: f64,
}

fn now_ms() -> u64 {
    crate::edge::request::now().millis()
}

impl DurableObject for Cohorts {
    fn new(state: State, _env: Env) -> Self {
        Cohorts { state, shard: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.load()?;
        match req.path().as_str() {
            "/exchange" => {
                let Ok(e) = req.json::<Exchange>().await else {
                    return Response::error("bad exchange", 400);
                };
                let reply = match self.shard.borrow_mut().as_mut() {
                    Some(s) => s.exchange(&e),
                    None => return Response::error("shard not loaded", 500),
                };
                self.persist(false).await?;
                Response::from_json(&reply)
            }
            "/panic" => {
                let Ok(p) = req.json::<Panic>().await else { return Response::error("bad panic", 400) };
                let sql = self.state.storage().sql();
                sql.exec(
                    "INSERT INTO panics (key, until_ms) VALUES (?, ?) \
                     ON CONFLICT(key) DO UPDATE SET until_ms = excluded.until_ms",
                    vec![SqlStorageValue::String(p.key.clone()), SqlStorageValue::Float(p.until_ms as f64)],
                )?;
                if let Some(s) = self.shard.borrow_mut().as_mut() {
                    s.set_panic(&p);
                }
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            "/top" => {
                let top = self.shard.borrow().as_ref().map(|s| s.top(now_ms(), 20)).unwrap_or_default();
                Response::from_json(&top)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.load()?;
        self.persist(true).await?;
        Response::ok("")
    }
}

impl Cohorts {
    /// Reads the persisted counters and panic switches, once per object instance.
    fn load(&self) -> Result<()> {
        if self.shard.borrow().is_some() {
            return Ok(());
        }
        let sql = self.state.storage().sql();
        for s in SCHEMA {
            sql.exec(s, None)?;
        }
        let rows: Vec<Row> =
            sql.exec("SELECT key, value, at_ms, window_secs FROM counters", None)?.to_array()?;
        let panics: Vec<PanicRow> = sql.exec("SELECT key, until_ms FROM panics", None)?.to_array()?;
        let panics =
            panics.into_iter().map(|p| Panic { key: p.key, until_ms: p.until_ms.max(0.0) as u64 }).collect();
        *self.shard.borrow_mut() = Some(Shard::load(rows, panics));
        Ok(())
    }

    /// Writes the dirty rows when a persist is due (or `force`, from the alarm); otherwise
    /// makes sure an alarm will.
    async fn persist(&self, force: bool) -> Result<()> {
        let now = now_ms();
        let (due, dirty) = match self.shard.borrow().as_ref() {
            Some(s) => (s.persist_due(now), s.has_dirty()),
            None => (false, false),
        };
        if !(due || (force && dirty)) {
            if dirty {
                let storage = self.state.storage();
                if storage.get_alarm().await?.is_none() {
                    storage.set_alarm(worker::ScheduledTime::from(now as i64 + 1000)).await?;
                }
            }
            return Ok(());
        }
        let Some(p) = self.shard.borrow_mut().as_mut().map(|s| s.take_dirty(now)) else { return Ok(()) };
        let sql = self.state.storage().sql();
        for r in p.upsert {
            sql.exec(
                "INSERT INTO counters (key, value, at_ms, window_secs) VALUES (?, ?, ?, ?) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, at_ms = excluded.at_ms, window_secs = excluded.window_secs",
                vec![
                    SqlStorageValue::String(r.key),
                    SqlStorageValue::Float(r.value),
                    SqlStorageValue::Float(r.at_ms),
                    SqlStorageValue::Integer(i64::from(r.window_secs)),
                ],
            )?;
        }
        for key in p.delete {
            sql.exec("DELETE FROM counters WHERE key = ?", vec![SqlStorageValue::String(key)])?;
        }
        Ok(())
    }
}
