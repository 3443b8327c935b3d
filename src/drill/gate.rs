//! The drill's gate: the in-memory driver (`crate::memory`) with the drill's outside world.
//! A request enters through `pipeline::start` like in the Worker; the forward is answered by
//! the engine's model of the origin's capacity, the body is what the simulated client sends.
//! Time and random ids come from the engine; nothing here decides what a step did not say.

use crate::config::{self, Loaded};
use crate::control::Control;
use crate::memory::{self, Ended, Outside, Stores};
use crate::pipeline::step::{Answer, BodyRead, Done, Forward};
use crate::policy::{self, Policy};
use crate::protocol::challenge;
use crate::protocol::time::UnixTime;
use crate::protocol::topup::TopUpJson;
use crate::request::facts::RequestFacts;

/// A policy prepared for the drill: every difficulty lowered by `bits`.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The lowered policy the drill's gate enforces.
    pub policy: Policy,
    /// The same lowered policy as the Worker's `POLICY` var takes it (JSON), for replays.
    pub json: String,
    /// The bits taken off every price.
    pub bits: u8,
}

/// Lowers every difficulty a policy states (`defaults.difficulty` and each rule's) by `bits`,
/// on the file's text, so the drill and a Worker given the same JSON enforce the same policy.
/// Risk and attack-mode extra bits add to these as usual, so every price the gate asks is
/// the real price minus `bits` (the 32-bit cap aside). Every stated difficulty must stay >= 1.
pub fn lower(text: &str, bits: u8) -> Result<Lowered, String> {
    policy::load(text).map_err(|e| e.to_string())?;
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let mut lower_one = |at: &str, v: &mut toml::Value| {
        if let Some(d) = v.as_integer() {
            if d <= i64::from(bits) {
                problems.push(format!("{at} = {d} cannot be lowered by {bits} bits (it must stay >= 1)"));
            } else {
                *v = toml::Value::Integer(d - i64::from(bits));
            }
        }
    };
    let defaults = doc.entry("defaults").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(t) = defaults.as_table_mut() {
        let d = t.entry("difficulty").or_insert(toml::Value::Integer(17));
        lower_one("defaults.difficulty", d);
    }
    if let Some(rules) = doc.get_mut("rules").and_then(toml::Value::as_array_mut) {
        for (i, r) in rules.iter_mut().enumerate() {
            if let Some(d) = r.as_table_mut().and_then(|t| t.get_mut("difficulty")) {
                lower_one(&format!("rules[{i}].difficulty"), d);
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let json = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    let policy = policy::load(&json).map_err(|e| e.to_string())?;
    Ok(Lowered { policy, json, bits })
}

/// What the gate answered a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// A challenge (token bytes, lowered difficulty, k).
    Challenge {
        /// The token bytes.
        token: Vec<u8>,
        /// Leading zero bits asked (lowered).
        difficulty: u8,
        /// Sub-puzzles.
        k: u8,
        /// The work the gate suggests banking toward (lowered expected hashes; at least the
        /// challenge's own).
        suggested: u64,
    },
    /// A top-up answer (`GET <prefix>/topup`): the work asked now (lowered expected hashes)
    /// and a top-up for what is missing, if anything is.
    Priced {
        /// The work asked now.
        asked: u64,
        /// The top-up offered.
        offer: Option<TopUpJson>,
        /// A waiting line's place whose turn has not come: (estimated wait, ask again after),
        /// seconds.
        line: Option<(u32, u32)>,
    },
    /// Forwarded; the origin answered this status.
    Forwarded(u16),
    /// The no-JavaScript path's wait page: post the form again with this `gate-wait` token
    /// after the wait.
    Wait {
        /// The wait token.
        token: String,
    },
    /// A place in the waiting line whose turn has not come (`429 in_line`): the estimated
    /// wait and when to ask again, seconds.
    InLine {
        /// Estimated wait.
        wait_secs: u32,
        /// Ask again after this.
        retry_after: u32,
    },
    /// Refused by the gate: the rejection code and its status.
    Refused {
        /// Rejection code (`busy`, `denied`, ...).
        code: String,
        /// HTTP status.
        status: u16,
    },
}

/// Which Worker isolate serves the next request, as the engine chose it
/// ([`crate::drill::isolates`]): each isolate has its own [`Control`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Isolate {
    /// Its index.
    pub index: usize,
    /// It starts cold now: a fresh [`Control`] replaces the old one (whose unflushed counts
    /// are lost, as an evicted isolate's are).
    pub fresh: bool,
}

/// The gate with its stores in memory: each isolate's control over the objects' logic.
pub struct MemoryGate {
    loaded: Loaded,
    policy: Policy,
    controls: Vec<Control>,
    /// The isolate serving the next request.
    current: usize,
    stores: Stores,
}

/// The drill's secrets (never real ones).
const GATE_SECRET: &str = "drill gate secret, not a real one, 32+ bytes";
const ORIGIN_SECRET: &str = "drill origin secret, not a real one, 32+ bytes";

/// The drill's world outside the stores: the client's body (it arrives at once) and the
/// engine's origin.
struct Drill<'o> {
    body: &'o [u8],
    origin: &'o mut dyn FnMut() -> u16,
    /// What the origin answered last (an observed pass-through has no decision line).
    answered: Option<u16>,
}

impl Outside for Drill<'_> {
    fn body(&mut self, cap: usize, now: UnixTime) -> (BodyRead, UnixTime) {
        let read = if self.body.len() > cap {
            BodyRead::TooLarge(self.body.len())
        } else {
            BodyRead::Bytes(self.body.to_vec())
        };
        (read, now)
    }

    fn origin(&mut self, _forward: &Forward<'_>) -> Result<u16, String> {
        let status = (self.origin)();
        self.answered = Some(status);
        Ok(status)
    }
}

impl MemoryGate {
    /// A gate enforcing a lowered policy over `isolates` isolates, configured as the Worker
    /// is from its vars.
    pub fn new(lowered: &Lowered, isolates: usize) -> Result<MemoryGate, String> {
        let vars = [
            ("ORIGIN", "http://origin.invalid"),
            ("GATE_SECRET", GATE_SECRET),
            ("ORIGIN_SECRET", ORIGIN_SECRET),
            ("POLICY", lowered.json.as_str()),
        ];
        let mut loaded =
            config::load(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()));
        match loaded.config.as_mut() {
            // the lowered policy as given (the comparison's variants edit the validated policy)
            Ok(c) => c.policy = lowered.policy.clone(),
            Err(e) => return Err(e.to_string()),
        }
        let shards = loaded.config.as_ref().map_or(1, |c| c.cohort_shards);
        Ok(MemoryGate {
            loaded,
            policy: lowered.policy.clone(),
            controls: (0..isolates.max(1)).map(|_| Control::default()).collect(),
            current: 0,
            stores: Stores::new(shards),
        })
    }

    /// Routes the next request to an isolate chosen by the engine (a cold one when `fresh`).
    pub fn serve(&mut self, isolate: Isolate) {
        let i = isolate.index.min(self.controls.len().saturating_sub(1));
        if isolate.fresh
            && let Some(c) = self.controls.get_mut(i)
        {
            *c = Control::default();
        }
        self.current = i;
    }

    /// The policy enforced.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Store calls made (counter exchanges, ledger spends, stats flushes).
    pub fn store_calls(&self) -> u64 {
        self.stores.calls
    }

    /// The widget's ping chain from this client (`fetch`: its challenge request's facts):
    /// `GET <prefix>/ping` answered at `at_ms`, its stamp echoed back and answered one
    /// `rtt_ms` later, both through the front door. The stamp of the second answer, if the
    /// gate gave one. A ping counts nothing and touches no store, so the chain is played at
    /// once rather than as events.
    pub fn ping_chain(&mut self, fetch: &RequestFacts, at_ms: u64, rtt_ms: u64) -> Option<String> {
        let mut stamp: Option<String> = None;
        for now_ms in [at_ms, at_ms.saturating_add(rtt_ms)] {
            let mut facts = fetch.clone();
            facts.path = format!("{}/ping", self.loaded.prefix);
            facts.query = stamp.as_ref().map(|s| format!("{}={s}", crate::protocol::rtt_stamp::PARAM));
            let step =
                crate::pipeline::start(&self.loaded, &facts, Ok([0; 16]), UnixTime::from_millis(now_ms));
            let crate::pipeline::step::Step::Done(done) = step else { return None };
            let json = match done.own_reply().map(|r| &r.body) {
                Some(crate::present::reply::Body::Json(v)) => v.clone(),
                _ => return None,
            };
            stamp = Some(json.get("stamp")?.as_str()?.to_string());
        }
        stamp
    }

    /// One request, from the front door to its end; `origin` answers a forward (and a
    /// pass-through).
    pub fn request(
        &mut self,
        facts: &RequestFacts,
        body: &[u8],
        now_ms: u64,
        random: [u8; 16],
        origin: &mut dyn FnMut() -> u16,
    ) -> Answered {
        let now = UnixTime::from_millis(now_ms);
        let step = crate::pipeline::start(&self.loaded, facts, Ok(random), now);
        let Some(control) = self.controls.get_mut(self.current) else {
            return Answered::Refused { code: "no isolate".into(), status: 500 };
        };
        let mut isolate = memory::Isolate { control, stores: &mut self.stores };
        let mut outside = Drill { body, origin, answered: None };
        match memory::drive(&self.loaded, step, &mut isolate, &mut outside, now) {
            Ended::Done(done) => answered(&done, outside.answered),
            Ended::PassThrough(_) => Answered::Forwarded((outside.origin)()),
            Ended::Asset(_) => Answered::Refused { code: "not_a_drill_endpoint".into(), status: 404 },
        }
    }
}

fn answered(done: &Done, origin: Option<u16>) -> Answered {
    let r = match &done.answer {
        Answer::Origin => {
            return Answered::Forwarded(done.log.as_ref().map(|l| l.status).or(origin).unwrap_or(502));
        }
        Answer::Reply(r) => r,
    };
    if r.status == 200 {
        let json = match &r.body {
            crate::present::reply::Body::Json(v) => Some(v),
            _ => None,
        };
        let token = json.and_then(|v| v.get("token")).and_then(|t| t.as_str());
        let suggested = json.and_then(|v| v.pointer("/work/suggested")).and_then(|w| w.as_u64());
        if let Some(bytes) = token.and_then(|t| challenge::token_bytes(t).ok())
            && let Ok(d) = challenge::decode(&bytes)
        {
            let (difficulty, k) = (d.challenge.difficulty, d.challenge.k);
            let own = crate::protocol::solution::work_of(usize::from(k), difficulty);
            return Answered::Challenge {
                token: bytes,
                difficulty,
                k,
                suggested: suggested.unwrap_or(own).max(own),
            };
        }
        if let Some(v) = json
            && let Some(offer) = v.get("topup")
        {
            let asked = v.pointer("/work/asked").and_then(|w| w.as_u64()).unwrap_or(0);
            let line = v.get("line").map(|l| {
                let secs = |k: &str| l.get(k).and_then(|w| w.as_u64()).map_or(0, |n| n as u32);
                (secs("wait_secs"), secs("retry_after").max(1))
            });
            return Answered::Priced { asked, offer: serde_json::from_value(offer.clone()).ok(), line };
        }
        if let crate::present::reply::Body::Html(page) = &r.body
            && let Some(token) = wait_token(page)
        {
            return Answered::Wait { token };
        }
    }
    let in_line = crate::protocol::reject::RejectKind::InLine.code();
    if done.log.as_ref().and_then(|l| l.code.as_deref()) == Some(in_line) {
        // the JSON answer states the wait; a page only its Retry-After (the wait unknown: 0)
        let json = match &r.body {
            crate::present::reply::Body::Json(v) => Some(v),
            _ => None,
        };
        let secs = |k: &str| json.and_then(|v| v.pointer(&format!("/line/{k}"))).and_then(|w| w.as_u64());
        let header = r.header("Retry-After").and_then(|h| h.parse::<u64>().ok());
        let retry_after = secs("retry_after").or(header).unwrap_or(1).max(1) as u32;
        return Answered::InLine { wait_secs: secs("wait_secs").unwrap_or(0) as u32, retry_after };
    }
    Answered::Refused {
        code: done.log.as_ref().and_then(|l| l.code.clone()).unwrap_or_else(|| r.status.to_string()),
        status: r.status,
    }
}

/// The `gate-wait` field's value on a wait page (base64url, so never escaped).
fn wait_token(page: &str) -> Option<String> {
    let marker = format!("name=\"{}\" value=\"", crate::protocol::wait_token::FIELD);
    let rest = page.get(page.find(&marker)? + marker.len()..)?;
    Some(rest.get(..rest.find('"')?)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../policy/gate.toml");

    #[test]
    fn lowering_takes_the_bits_off_every_stated_price() {
        let l = lower(SHIPPED, 12).unwrap();
        assert_eq!(l.policy.difficulty, 5);
        let hosting =
            l.policy.rules.iter().find(|r| r.name == "hosting networks with another sign pay more").unwrap();
        assert_eq!(hosting.action, policy::Action::Challenge { difficulty: Some(7), k: None });
        assert!(MemoryGate::new(&l, 1).is_ok());
        assert!(lower(SHIPPED, 17).unwrap_err().contains("defaults.difficulty = 17"));
    }
}
