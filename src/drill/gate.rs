//! The drill's gate: the in-memory driver (`crate::memory`) with the drill's outside world.
//! A request enters through `pipeline::start` like in the Worker; the forward is answered by
//! the engine's model of the origin's capacity, the body is what the simulated client sends.
//! Time and random ids come from the engine; nothing here decides what a step did not say.

use crate::config::{self, Loaded};
use crate::control::Control;
use crate::memory::{self, Ended, Isolate, Outside, Stores};
use crate::pipeline::step::{Answer, BodyRead, Done, Forward};
use crate::policy::{self, Policy};
use crate::protocol::challenge;
use crate::protocol::time::UnixTime;
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
    },
    /// Forwarded; the origin answered this status.
    Forwarded(u16),
    /// Refused by the gate: the rejection code and its status.
    Refused {
        /// Rejection code (`busy`, `denied`, ...).
        code: String,
        /// HTTP status.
        status: u16,
    },
}

/// The gate with its stores in memory: one isolate's control over the objects' logic.
pub struct MemoryGate {
    loaded: Loaded,
    policy: Policy,
    control: Control,
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
        Ok((self.origin)())
    }
}

impl MemoryGate {
    /// A gate enforcing a lowered policy, configured as the Worker is from its vars.
    pub fn new(lowered: &Lowered) -> Result<MemoryGate, String> {
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
            control: Control::default(),
            stores: Stores::new(shards),
        })
    }

    /// The policy enforced.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Store calls made (counter exchanges, ledger spends, stats flushes).
    pub fn store_calls(&self) -> u64 {
        self.stores.calls
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
        let mut isolate = Isolate { control: &mut self.control, stores: &mut self.stores };
        let mut outside = Drill { body, origin };
        match memory::drive(&self.loaded, step, &mut isolate, &mut outside, now) {
            Ended::Done(done) => answered(&done),
            Ended::PassThrough(_) => Answered::Forwarded((outside.origin)()),
            Ended::Asset(_) => Answered::Refused { code: "not_a_drill_endpoint".into(), status: 404 },
        }
    }
}

fn answered(done: &Done) -> Answered {
    let r = match &done.answer {
        Answer::Origin => return Answered::Forwarded(done.log.as_ref().map_or(502, |l| l.status)),
        Answer::Reply(r) => r,
    };
    if r.status == 200 {
        let token = match &r.body {
            crate::present::reply::Body::Json(v) => v.get("token").and_then(|t| t.as_str()),
            _ => None,
        };
        if let Some(bytes) = token.and_then(|t| challenge::token_bytes(t).ok())
            && let Ok(d) = challenge::decode(&bytes)
        {
            let (difficulty, k) = (d.challenge.difficulty, d.challenge.k);
            return Answered::Challenge { token: bytes, difficulty, k };
        }
    }
    Answered::Refused {
        code: done.log.as_ref().and_then(|l| l.code.clone()).unwrap_or_else(|| r.status.to_string()),
        status: r.status,
    }
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
        assert!(MemoryGate::new(&l).is_ok());
        assert!(lower(SHIPPED, 17).unwrap_err().contains("defaults.difficulty = 17"));
    }
}
