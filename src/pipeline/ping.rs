//! `GET <prefix>/ping`: the widget's round trip, measured by the edge's own clock
//! ([`crate::protocol::rtt_stamp`]). Stateless: one signature checked and one made, no store.

use super::front::query_param;
use super::step::{Done, Step};
use crate::config::Config;
use crate::present::reply::Reply;
use crate::protocol::reject::Rejection;
use crate::protocol::rtt_stamp::{self, PARAM};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use serde::Serialize;

/// The ping's JSON answer.
#[derive(Serialize)]
struct PingJson {
    /// Send it back as `?stamp=` at once; put the last one in the signals (`rttStamp`).
    stamp: String,
    /// The best round trip measured so far, ms (`null` on the first answer).
    rtt: Option<u32>,
    /// Round trips measured.
    rounds: u8,
}

/// Answers a ping: a first stamp, or the echoed one with the round trip just measured.
pub fn answer<'a>(config: &Config, facts: &RequestFacts, now: UnixTime) -> Result<Step<'a>, Rejection> {
    let echoed = query_param(facts.query.as_deref(), PARAM);
    let (stamp, terms) = rtt_stamp::answer(
        &config.keys,
        &super::binding(facts),
        super::address_digest(facts),
        echoed.as_deref().filter(|s| !s.is_empty()),
        now,
    )
    .map_err(|e| e.rejection())?;
    let body = PingJson { stamp, rtt: terms.best_ms, rounds: terms.rounds };
    Ok(Step::done(Done::reply(Reply::json(200, &body))))
}
