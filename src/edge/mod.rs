//! The Worker: IO and type conversion around the sans-IO pipeline (`crate::pipeline`).
//!
//! A request is read once ([`request::read`]); [`crate::pipeline::front::route`] says where
//! it goes; the step loop in [`drive`] performs the IO each [`Step`] names (body, cohort
//! state, ledger spend, origin, stats, panic switches) and hands the answer back. Nothing
//! here decides: every refusal, price and count comes out of the pipeline as a value.

mod attack;
mod env;
pub mod objects;
mod proxy;
pub mod request;
mod respond;

use crate::config::{Config, Loaded};
use crate::pipeline::front::{self, Front};
use crate::pipeline::step::{Answer, Done, Step};
use crate::pipeline::{issue, operator, siteverify, submit};
use crate::present::reply::{self, Audience};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
pub use objects::{Cohorts, Ledger, Stats};
use worker::{Context, Env, Request, Response, Result, event};

/// What the step loop needs to perform IO for one request.
struct Io<'r> {
    req: &'r Request,
    env: &'r Env,
    ctx: &'r Context,
    loaded: &'r Loaded,
    now: UnixTime,
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let loaded = env::loaded(&env);
    let now = request::now();
    let facts = request::read(&req);
    let io = Io { req: &req, env: &env, ctx: &ctx, loaded: &loaded, now };
    match handle(&io, &facts).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            worker::console_error!("{}", serde_json::json!({"gate": "error", "error": e.to_string()}));
            let r = Rejection::new(RejectKind::OriginUnavailable, e.to_string());
            respond::reply(&reply::rejection(&r, None, &Audience::Api))
        }
    }
}

async fn handle(io: &Io<'_>, facts: &RequestFacts) -> Result<Response> {
    let random = || request::random_id().map_err(|e| format!("no randomness: {e}"));
    let step = match front::route(io.loaded, facts, io.now) {
        Front::Done(done) => Step::Done(done),
        Front::PassThrough(origin) => return proxy::pass_through(origin, io.req).await,
        Front::WidgetFile(name) => return widget_file(io, facts, name).await,
        Front::Protected(config, route) => match random() {
            Ok(id) => submit::start(config, route, facts, id, io.now),
            Err(e) => misconfigured(e),
        },
        Front::Challenge(config) => match random() {
            Ok(id) => issue::start(config, facts, id, io.now),
            Err(e) => misconfigured(e),
        },
        Front::Stats => operator::stats(io.loaded, facts, io.now),
        Front::Panic(config) => operator::panic(config, facts, io.now),
        Front::Siteverify(config) => siteverify::start(config, facts, io.now),
    };
    drive(io, step).await
}

fn misconfigured<'a>(why: String) -> Step<'a> {
    let r = Rejection::new(RejectKind::Misconfigured, why);
    Step::done(Done::reply(reply::rejection(&r, None, &Audience::Api)))
}

/// Performs the IO each step asks for until the request is done.
async fn drive(io: &Io<'_>, mut step: Step<'_>) -> Result<Response> {
    let config = io.loaded.config.as_ref().ok();
    loop {
        step = match step {
            Step::Done(done) => return finish(io, config, *done, None).await,
            Step::ReadBody(read) => {
                let body = request::read_body(io.req, read.cap).await;
                read.resume(body, request::now())
            }
            Step::ReadCohorts(read) => {
                let state = match config {
                    Some(c) => attack::cohort_state(io.env, io.ctx, c, &read, io.now).await,
                    None => Err("no configuration".to_string()),
                };
                read.resume(state)
            }
            Step::Spend(spend) => {
                let answer = match config {
                    Some(c) => {
                        attack::note_spend();
                        objects::ledger::spend(io.env, c.ledger_shards, &spend.order).await
                    }
                    None => crate::pipeline::step::SpendAnswer::Unavailable("no configuration".into()),
                };
                spend.resume(answer)
            }
            Step::Forward(forward) => {
                let origin = config.map(|c| &c.origin);
                let sent = match origin {
                    Some(o) => proxy::forward(o, io.req, &forward.body, &forward.verdict).await,
                    None => Err(worker::Error::RustError("no origin".into())),
                };
                let (status, resp) = match sent {
                    Ok(r) => (Ok(r.status_code()), Some(r)),
                    Err(e) => (Err(e.to_string()), None),
                };
                return finish(io, config, forward.resume(status), resp).await;
            }
            Step::ReadStats(read) => {
                let stats = attack::stats_view(io.env, config, read.since_minute, io.now).await;
                read.resume(stats)
            }
            Step::SetPanic(set) => {
                let done = match config {
                    Some(c) => attack::panic(io.env, c, &set.key, set.until).await,
                    None => Err("no configuration".into()),
                };
                set.resume(done)
            }
        };
    }
}

/// Writes the log lines, counts, and sends the answer.
async fn finish(
    io: &Io<'_>,
    config: Option<&Config>,
    done: Done,
    origin: Option<Response>,
) -> Result<Response> {
    if let Some(line) = &done.log {
        worker::console_log!("{}", line.to_json());
    }
    if let Some(event) = &done.event {
        worker::console_log!("{event}");
    }
    for t in done.tallies {
        attack::count(io.env, io.ctx, t.action, t.code, io.now);
    }
    if let (Some(signup), Some(c)) = (&done.signup, config) {
        attack::count_signup(io.env, io.ctx, c, &signup.keys, signup.site, signup.window_secs, io.now).await;
    }
    match (done.answer, origin) {
        (Answer::Reply(r), _) => respond::reply(&r),
        (Answer::Origin, Some(resp)) => Ok(resp),
        (Answer::Origin, None) => {
            let r = Rejection::new(RejectKind::OriginUnavailable, "no origin response");
            respond::reply(&reply::rejection(&r, None, &Audience::Api))
        }
    }
}

/// Serves a widget file from the `ASSETS` binding, same-origin only.
async fn widget_file(io: &Io<'_>, facts: &RequestFacts, name: &str) -> Result<Response> {
    let fetched = async {
        let assets = io.env.assets("ASSETS")?;
        assets.fetch(format!("https://assets.local/{name}"), None).await
    };
    let resp = match fetched.await {
        Ok(r) => r,
        Err(e) => {
            let r = Rejection::new(RejectKind::Misconfigured, format!("widget asset {name}: {e}"));
            let done = front::refuse(&r, facts, io.now, None, &Audience::Api);
            return finish(io, None, Done { tallies: Vec::new(), ..done }, None).await;
        }
    };
    if resp.status_code() != 200 {
        return Ok(resp);
    }
    let headers = worker::Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.append(&k, &v)?;
    }
    headers.set("Cache-Control", "public, max-age=300")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Cross-Origin-Resource-Policy", "same-origin")?;
    Ok(resp.with_headers(headers))
}
