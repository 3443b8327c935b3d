//! The Worker: IO and type conversion around the core's request flow.
//!
//! A request is read once ([`request::read`]); [`crate::pipeline::start`] gives its first
//! step; [`drive`] performs the IO each [`Step`] names (body, counter calls, ledger spend,
//! origin, stats, panic switches, a widget file) and hands the answer back; the finished
//! request's log lines are written and its background calls started. Nothing here decides:
//! every refusal, price, count and call comes out of the core as a value.

mod counters;
mod env;
pub mod objects;
mod proxy;
pub mod request;
mod respond;

use crate::config::Loaded;
use crate::pipeline::step::{Answer, Done, Step};
use counters::with_control;
pub use objects::{Cohorts, Ledger, Stats};
use worker::{Context, Env, Request, Response, Result, event};

/// What the step loop needs to perform IO for one request.
struct Io<'r> {
    req: &'r Request,
    env: &'r Env,
    ctx: &'r Context,
    loaded: &'r Loaded,
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let loaded = env::loaded(&env);
    let facts = request::read(&req);
    let io = Io { req: &req, env: &env, ctx: &ctx, loaded: &loaded };
    let random = request::random_id().map_err(|e| format!("no randomness: {e}"));
    let step = crate::pipeline::start(&loaded, &facts, random, request::now());
    match drive(&io, step).await {
        Ok(resp) => Ok(resp),
        Err(e) => finish(&io, crate::pipeline::failed(&facts, request::now(), e.to_string()), None),
    }
}

/// Performs the IO each step asks for until the request is done.
async fn drive(io: &Io<'_>, mut step: Step<'_>) -> Result<Response> {
    let now = request::now;
    let mut origin = None;
    loop {
        step = match step {
            Step::Done(done) => return finish(io, *done, origin.take()),
            Step::PassThrough(origin) => return proxy::pass_through(origin, io.req).await,
            Step::ServeAsset(asset) => match widget_file(io, asset.name).await {
                Ok(resp) if resp.status_code() == 200 => return with_headers(resp, &asset.headers),
                Ok(resp) => return Ok(resp),
                Err(e) => Step::done(asset.failed(e.to_string())),
            },
            Step::ReadBody(read) => {
                let body = request::read_body(io.req, read.cap).await;
                read.resume(body, now())
            }
            Step::ReadCohorts(read) => {
                let calls = with_control(|c| read.cold_calls(c, now()));
                let answers = counters::call_all(io.env, calls).await;
                with_control(|c| read.resume(c, answers, now()))
            }
            Step::Spend(spend) => {
                let answer = objects::ledger::spend(io.env, spend.shards, &spend.order).await;
                with_control(|c| spend.resume(c, answer))
            }
            Step::Forward(forward) => {
                match proxy::forward(forward.origin, io.req, &forward.body, forward.verdict.as_deref()).await
                {
                    Ok(resp) => {
                        let next = forward.resume(Ok(resp.status_code()));
                        origin = Some(resp);
                        next
                    }
                    Err(e) => forward.resume(Err(e.to_string())),
                }
            }
            Step::ReadStats(read) => {
                let flush = with_control(|c| read.flush(c, now()));
                counters::run(io.env.clone(), flush).await;
                let answers =
                    counters::read_stats(io.env, read.counts_since, read.stats_shards, &read.top_shards)
                        .await;
                with_control(|c| read.resume(c, answers, now()))
            }
            Step::SetPanic(set) => {
                let results = counters::panic(io.env, &set.write).await;
                with_control(|c| set.resume(c, results))
            }
            Step::Number(call) => {
                let answer = objects::ledger::number(io.env, call.shards, &call.hash, &call.request).await;
                call.resume(answer)
            }
        };
    }
}

/// Writes the log lines, records the counts, starts the background calls, and answers.
fn finish(io: &Io<'_>, done: Done, origin: Option<Response>) -> Result<Response> {
    for line in done.lines() {
        worker::console_log!("{line}");
    }
    let background = with_control(|c| crate::pipeline::finish(&done, io.loaded, c, request::now()));
    if !background.is_empty() {
        io.ctx.wait_until(counters::run(io.env.clone(), background));
    }
    match (done.answer, origin) {
        (Answer::Reply(r), _) => respond::reply(&r),
        (Answer::Origin, Some(resp)) => Ok(resp),
        // unreachable: `drive` finishes a forward with the origin's response
        (Answer::Origin, None) => Response::error("the origin's response was lost", 502),
    }
}

/// A widget file from the `ASSETS` binding.
async fn widget_file(io: &Io<'_>, name: &str) -> Result<Response> {
    io.env.assets("ASSETS")?.fetch(format!("https://assets.local/{name}"), None).await
}

/// The asset's response with the step's headers on top.
fn with_headers(resp: Response, extra: &[(&str, &str)]) -> Result<Response> {
    let headers = worker::Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.append(&k, &v)?;
    }
    for (k, v) in extra {
        headers.set(k, v)?;
    }
    Ok(resp.with_headers(headers))
}
