//! The gate in memory: drives the same sans-IO pipeline steps the Worker drives
//! (`pipeline::front::route`, then `pipeline::issue::start` or `pipeline::submit::start`),
//! performing the IO they ask for against in-memory stores: the cohort counters
//! (`ReadCohorts`: one isolate's `control::Control` — snapshot, batch, capacity controllers —
//! over the counter shards' own logic, `store::cohorts::Shard`), the single-use
//! ledger (`Spend`, judged by `store::ledger::admit` as the ledger object does) and the
//! origin (`Forward`, answered by the engine's capacity model). Time and random ids are
//! passed in; nothing here decides what a step did not say.
//!
//! Shared state follows the Worker's: a challenge or submission reads the counters; a
//! sign-up is counted only after its spend is fresh and the origin accepted it
//! ([`MemoryGate::count`]), and counts made at one virtual instant are applied when the instant
//! ends ([`MemoryGate::end_instant`]), so requests at the same instant see the same state.

use crate::control::{self, Call, Control, Windows};
use crate::pipeline::config::{self, Loaded};
use crate::pipeline::front::{self, Front};
use crate::pipeline::step::{Answer, BodyRead, Counted, Done, ReadCohorts, SpendAnswer, SpendOrder, Step};
use crate::pipeline::{issue, submit};
use crate::policy::{self, CohortState, Policy};
use crate::protocol::challenge;
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::store::cohorts::Shard;
use crate::store::ledger::{self, Admission, SpendRequest};
use std::collections::HashMap;

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
    },
    /// Forwarded; the origin answered this status.
    Forwarded(u16),
    /// The no-JavaScript path's wait page: post the form again with this `gate-wait` token
    /// after the wait.
    Wait {
        /// The wait token.
        token: String,
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

/// The stores' state in memory: each isolate's [`Control`] (snapshot, batch, capacity
/// controllers) over the counter shards' own logic, and the ledger's rows.
struct Stores {
    controls: Vec<Control>,
    /// The isolate serving the current request.
    current: usize,
    /// Isolates that served a request in the current instant (their background work runs at
    /// its end, as `ctx.wait_until` does after a response).
    touched: Vec<bool>,
    shards: Vec<Shard>,
    policy: Policy,
    spent: HashMap<String, i64>,
    pending: Vec<(Counted, u64, usize)>,
    last_prune: u64,
    calls: u64,
}

impl Stores {
    fn new(policy: &Policy, shards: u32, isolates: usize) -> Stores {
        Stores {
            controls: (0..isolates.max(1)).map(|_| Control::default()).collect(),
            current: 0,
            touched: vec![false; isolates.max(1)],
            shards: (0..shards.max(1)).map(|_| Shard::default()).collect(),
            policy: policy.clone(),
            spent: HashMap::new(),
            pending: Vec::new(),
            last_prune: 0,
            calls: 0,
        }
    }

    /// Routes the next request to an isolate (a cold one when `fresh`).
    fn serve(&mut self, isolate: Isolate) {
        let i = isolate.index.min(self.controls.len().saturating_sub(1));
        if isolate.fresh
            && let Some(c) = self.controls.get_mut(i)
        {
            *c = Control::default();
            self.pending.retain(|(_, _, at)| *at != i);
        }
        self.current = i;
        if let Some(t) = self.touched.get_mut(i) {
            *t = true;
        }
    }

    fn shard_count(&self) -> u32 {
        u32::try_from(self.shards.len()).unwrap_or(1)
    }

    /// The current isolate's control (the first when out of range; never empty).
    fn control(&mut self) -> Option<&mut Control> {
        self.controls.get_mut(self.current)
    }

    /// The calls the isolate asks for, answered by the shards at once.
    fn run(&mut self, calls: Vec<Call>, now_ms: u64) {
        let Stores { controls, shards, current, calls: made, .. } = self;
        let Some(control) = controls.get_mut(*current) else { return };
        for call in calls {
            *made += 1;
            let Some(shard) = shards.get_mut(call.shard as usize) else { continue };
            let reply = shard.exchange(&call.exchange);
            control.answered(&call, &reply, now_ms);
        }
    }

    /// What the Worker's `edge::attack::cohort_state` does: cold shards first, then the
    /// snapshot (and the route's capacity controller), then the background calls due.
    fn read(&mut self, c: &ReadCohorts<'_>, now: UnixTime) -> CohortState {
        let now_ms = now.millis();
        let (n, hot) = (self.shard_count(), control::hot_at(&self.policy));
        let w = Windows::for_read(&self.policy, &c.keys, c.window_secs);
        let cold = self.control().map(|ctl| ctl.cold(&c.keys, c.site, n, w, hot, now_ms)).unwrap_or_default();
        self.run(cold, now_ms);
        let state = self
            .control()
            .map(|ctl| ctl.state(&c.keys, c.site, n, w, c.capacity.as_ref(), now_ms))
            .unwrap_or_default();
        self.background(now_ms);
        state
    }

    fn background(&mut self, now_ms: u64) {
        let hot = control::hot_at(&self.policy);
        let calls = self.control().map(|ctl| ctl.background(hot, now_ms).0).unwrap_or_default();
        self.run(calls, now_ms);
    }

    fn spend(&mut self, order: &SpendOrder, now: UnixTime) -> SpendAnswer {
        self.calls += 1;
        let req = SpendRequest::of(order);
        match ledger::admit(&req, now) {
            Admission::Refuse(why) => SpendAnswer::Unavailable(why.to_string()),
            Admission::Stale => SpendAnswer::Unavailable("stale spend".into()),
            Admission::Record { id, forget_after, idempotency_key } => {
                let fresh = !self.spent.contains_key(&id);
                if fresh {
                    self.spent.insert(id, forget_after);
                }
                self.prune(now.seconds());
                ledger::answer(fresh, None, idempotency_key.as_deref()).into()
            }
        }
    }

    /// Drops ledger rows past their life and faded counters, once a virtual minute (the
    /// objects' alarms).
    fn prune(&mut self, now: u64) {
        if now < self.last_prune + 60 {
            return;
        }
        self.last_prune = now;
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        self.spent.retain(|_, forget| *forget >= now_i);
    }
}

/// The gate with its stores in memory.
pub struct MemoryGate {
    loaded: Loaded,
    policy: Policy,
    stores: Stores,
}

/// The drill's secrets (never real ones).
const GATE_SECRET: &str = "drill gate secret, not a real one, 32+ bytes";
const ORIGIN_SECRET: &str = "drill origin secret, not a real one, 32+ bytes";

impl MemoryGate {
    /// A gate enforcing a lowered policy, configured as the Worker is from its vars.
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
        let stores = Stores::new(&lowered.policy, shards, isolates);
        Ok(MemoryGate { loaded, policy: lowered.policy.clone(), stores })
    }

    /// Routes the next request to an isolate chosen by the engine.
    pub fn serve(&mut self, isolate: Isolate) {
        self.stores.serve(isolate);
    }

    /// The policy enforced.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Store calls made (cohort reads, ledger spends).
    pub fn store_calls(&self) -> u64 {
        self.stores.calls
    }

    /// One request through the front door and its step, the IO performed here; `origin`
    /// answers a forward.
    pub fn request(
        &mut self,
        facts: &RequestFacts,
        body: &[u8],
        now_ms: u64,
        random: [u8; 16],
        origin: &mut dyn FnMut() -> u16,
    ) -> Answered {
        let now = UnixTime::from_millis(now_ms);
        let stores = &mut self.stores;
        let step = match front::route(&self.loaded, facts, now) {
            Front::Done(d) => return answered(&d, None),
            Front::Challenge(config) => issue::start(config, facts, random, now),
            Front::Protected(config, route) => submit::start(config, route, facts, random, now),
            Front::PassThrough(_) => return Answered::Forwarded(origin()),
            _ => return Answered::Refused { code: "not_a_drill_endpoint".into(), status: 404 },
        };
        let (done, forwarded) = drive(stores, step, body, now, origin);
        if let Some(c) = &done.signup {
            stores.pending.push((c.clone(), now_ms, stores.current));
        }
        answered(&done, forwarded)
    }

    /// Applies the sign-up counts made during the instant that ends (as the Worker counts
    /// them into its snapshot and batch), then the background flushes due.
    pub fn end_instant(&mut self, now_ms: u64) {
        let stores = &mut self.stores;
        let n = stores.shard_count();
        for (c, at, isolate) in std::mem::take(&mut stores.pending) {
            let w = Windows::for_read(&stores.policy, &c.keys, c.window_secs);
            if let Some(ctl) = stores.controls.get_mut(isolate) {
                ctl.count_signup(&c.keys, c.site, n, w, at.max(now_ms));
            }
        }
        // each isolate that served a request runs its background work after it
        for i in 0..stores.touched.len() {
            if stores.touched.get(i).copied().unwrap_or(false) {
                stores.current = i;
                stores.background(now_ms);
            }
        }
        stores.touched.iter_mut().for_each(|t| *t = false);
    }
}

/// Performs the IO a step asks for until it is done.
fn drive(
    stores: &mut Stores,
    mut step: Step<'_>,
    body: &[u8],
    now: UnixTime,
    origin: &mut dyn FnMut() -> u16,
) -> (Done, Option<u16>) {
    loop {
        step = match step {
            Step::Done(d) => return (*d, None),
            Step::ReadBody(b) => b.resume(BodyRead::Bytes(body.to_vec()), now),
            Step::ReadCohorts(c) => {
                let state = stores.read(&c, now);
                c.resume(Ok(state))
            }
            Step::Spend(s) => {
                let answer = stores.spend(&s.order, now);
                s.resume(answer)
            }
            Step::Forward(f) => {
                let status = origin();
                return (f.resume(Ok(status)), Some(status));
            }
            Step::ReadStats(r) => r.resume(Err("no stats in the drill".into())),
            Step::SetPanic(p) => p.resume(Err("no panic switches in the drill".into())),
        };
    }
}

fn answered(done: &Done, forwarded: Option<u16>) -> Answered {
    let r = match (&done.answer, forwarded) {
        (_, Some(status)) => return Answered::Forwarded(status),
        (Answer::Origin, None) => return Answered::Forwarded(502),
        (Answer::Reply(r), None) => r,
    };
    if r.status == 200 {
        let token = match &r.body {
            crate::pipeline::reply::Body::Json(v) => v.get("token").and_then(|t| t.as_str()),
            _ => None,
        };
        if let Some(bytes) = token.and_then(|t| challenge::token_bytes(t).ok())
            && let Ok(d) = challenge::decode(&bytes)
        {
            let (difficulty, k) = (d.challenge.difficulty, d.challenge.k);
            return Answered::Challenge { token: bytes, difficulty, k };
        }
        if let crate::pipeline::reply::Body::Html(page) = &r.body
            && let Some(token) = wait_token(page)
        {
            return Answered::Wait { token };
        }
    }
    Answered::Refused {
        code: done.log.as_ref().and_then(|l| l.code.clone()).unwrap_or_else(|| r.status.to_string()),
        status: r.status,
    }
}

/// The `gate-wait` field's value on a wait page (base64url, so never escaped).
fn wait_token(page: &str) -> Option<String> {
    let marker = format!("name=\"{}\" value=\"", crate::pipeline::nojs::FIELD);
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
        let hosting = l.policy.rules.iter().find(|r| r.name == "hosting networks pay more").unwrap();
        assert_eq!(hosting.action, policy::Action::Challenge { difficulty: Some(7), k: None });
        assert!(MemoryGate::new(&l, 1).is_ok());
        assert!(lower(SHIPPED, 17).unwrap_err().contains("defaults.difficulty = 17"));
    }
}
