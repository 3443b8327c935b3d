//! Attack mode's IO: the isolate's [`Control`] (kept between requests) and the calls to the
//! counter and stats Durable Objects that the steps and `crate::control` name. Which calls,
//! when, and what an answer or a failure changes is core code; this only sends and hands
//! the answers back.

use crate::control::{Answered, Background, Call, Control, PanicWrite, StatsAnswers};
use crate::store::cohorts::{self, Entry, Reply};
use crate::store::stats::{self, Count};
use std::cell::RefCell;
use worker::{Env, Method, Request, RequestInit, Result};

thread_local! {
    static CONTROL: RefCell<Control> = RefCell::new(Control::default());
}

/// Runs `f` on the isolate's control (never across an await).
pub fn with_control<T>(f: impl FnOnce(&mut Control) -> T) -> T {
    CONTROL.with(|c| f(&mut c.borrow_mut()))
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

async fn get<T: serde::de::DeserializeOwned>(stub: worker::Stub, url: &str) -> Result<T> {
    let mut resp = stub.fetch_with_str(url).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!("answered {}", resp.status_code())));
    }
    resp.json().await
}

async fn exchange(env: &Env, call: &Call) -> std::result::Result<Reply, String> {
    let sent = async {
        let stub = stub(env, &cohorts::shard_name(call.shard), crate::edge::objects::cohorts::BINDING)?;
        post(stub, "https://cohorts.internal/exchange", serde_json::to_string(&call.exchange)?).await
    };
    sent.await.map_err(|e| e.to_string())
}

/// Makes the calls, all at once, and returns each with its answer.
pub async fn call_all(env: &Env, calls: Vec<Call>) -> Vec<Answered> {
    let sent = calls.into_iter().map(|c| async move {
        let answer = exchange(env, &c).await;
        (c, answer)
    });
    futures_util::future::join_all(sent).await
}

async fn send_stats(env: &Env, shard: u32, rows: &[Count]) -> Result<()> {
    let stub = stub(env, &stats::shard_name(shard), crate::edge::objects::stats::BINDING)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(serde_json::to_string(rows)?.into()));
    let resp = stub.fetch_with_request(Request::new_with_init("https://stats.internal/add", &init)?).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!("stats shard answered {}", resp.status_code())));
    }
    Ok(())
}

/// Performs background work and folds every answer in as it comes (a failure puts the
/// counts back; the degraded condition is logged when the core says it is time).
pub async fn run(env: Env, work: Background) {
    let answers = call_all(&env, work.calls).await;
    for (call, answer) in answers {
        let now = crate::edge::request::now();
        if let Some(degraded) = with_control(|c| c.on_answer(call, answer, now)) {
            worker::console_error!("{}", serde_json::to_string(&degraded).unwrap_or_default());
        }
    }
    if let Some(flush) = work.stats
        && let Err(e) = send_stats(&env, flush.shard, &flush.rows).await
    {
        worker::console_error!("{}", serde_json::json!({"gate": "stats", "error": e.to_string()}));
        with_control(|c| c.stats_failed(flush.rows));
    }
}

/// Writes a panic switch to every shard the write names; each shard's result.
pub async fn panic(env: &Env, write: &PanicWrite) -> Vec<std::result::Result<(), String>> {
    let body = serde_json::to_string(&write.message).unwrap_or_default();
    let calls = write.shards.iter().map(|s| {
        let body = body.clone();
        async move {
            let stub = stub(env, &cohorts::shard_name(*s), crate::edge::objects::cohorts::BINDING)?;
            post::<serde_json::Value>(stub, "https://cohorts.internal/panic", body).await
        }
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
        .collect()
}

/// Reads every stats shard's counts since a minute and the busiest keys of `tops`.
pub async fn read_stats(env: &Env, since_minute: u64, stats_shards: u32, tops: &[u32]) -> StatsAnswers {
    let counts = (0..stats_shards).map(|s| async move {
        let stub = stub(env, &stats::shard_name(s), crate::edge::objects::stats::BINDING)?;
        get::<Vec<Count>>(stub, &format!("https://stats.internal/counts?since={since_minute}")).await
    });
    let top = tops.iter().map(|s| async move {
        let stub = stub(env, &cohorts::shard_name(*s), crate::edge::objects::cohorts::BINDING)?;
        get::<Vec<Entry>>(stub, "https://cohorts.internal/top").await
    });
    let (counts, top) = futures_util::future::join(
        futures_util::future::join_all(counts),
        futures_util::future::join_all(top),
    )
    .await;
    StatsAnswers {
        counts: counts.into_iter().map(|r| r.map_err(|e| e.to_string())).collect(),
        tops: top.into_iter().map(|r| r.map_err(|e| e.to_string())).collect(),
    }
}
