//! The gate in memory: the one place the drill calls the core's request steps. It runs what
//! `src/edge/mod.rs` runs for a challenge request and a protected submission — route lookup,
//! fingerprint assessment, the policy's decision over the cohort counters' state, challenge
//! issue, verification, the `risk_increased` rule, the single-use spend, the verdict — with
//! the cohort counters and the ledger as plain maps, and time and ids passed in.
//!
//! Shared state follows the Worker's: a challenge or submission reads the counters; a
//! sign-up is counted only after its spend is fresh and the origin accepted it
//! ([`MemoryGate::count`]), and counts made at one virtual instant are applied when the instant
//! ends ([`MemoryGate::end_instant`]), so requests at the same instant see the same state.

use crate::policy::{self, CohortKey, CohortState, Counter, Known, Outcome, Policy, Subject};
use crate::protocol::binding::{Binding, ClientView};
use crate::protocol::challenge::{self, Terms};
use crate::protocol::key::{Key, KeyRing};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::solution::{self, Expectation};
use crate::protocol::time::UnixTime;
use crate::protocol::verdict::Verdict;
use crate::request::facts::RequestFacts;
use crate::request::route;
use crate::signals::{self, ClientSide};
use std::collections::HashMap;

/// Challenge lifetime (the Worker's default `CHALLENGE_TTL`).
pub const TTL: u64 = 300;
/// Clock skew tolerated (the Worker's default `CLOCK_SKEW`).
pub const SKEW: u64 = 30;

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

/// The answer to a challenge request.
#[derive(Clone, Debug)]
pub enum Issued {
    /// A signed challenge at this (lowered) price.
    Challenge {
        /// The token bytes.
        token: Vec<u8>,
        /// Leading zero bits asked (lowered).
        difficulty: u8,
        /// Sub-puzzles.
        k: u8,
    },
    /// Refused or shed.
    Refused(Rejection),
}

/// The answer to a submission.
#[derive(Clone, Debug)]
pub enum Submitted {
    /// Forward to the origin, with a signed verdict; count `counted` if the origin accepts.
    Forward {
        /// The verdict header value.
        verdict: String,
        /// The cohort keys to count once the origin accepted it.
        counted: Vec<CohortKey>,
    },
    /// Refused or shed; never forwarded.
    Refused(Rejection),
}

/// The gate with its stores in memory.
pub struct MemoryGate {
    policy: Policy,
    keys: KeyRing,
    origin_key: Key,
    counters: HashMap<CohortKey, Counter>,
    site: Counter,
    spent: HashMap<[u8; 16], u64>,
    pending: Vec<CohortKey>,
    pending_site: u32,
    last_prune: u64,
    /// Store calls made (cohort reads and counts, ledger spends), as the Worker would.
    pub store_calls: u64,
}

impl MemoryGate {
    /// A gate enforcing `policy`.
    pub fn new(policy: Policy) -> MemoryGate {
        MemoryGate {
            policy,
            keys: KeyRing::new(Key::new(b"drill gate secret, not a real one, 32+ bytes"), None),
            origin_key: Key::new(b"drill origin secret, not a real one, 32+ bytes"),
            counters: HashMap::new(),
            site: Counter::default(),
            spent: HashMap::new(),
            pending: Vec::new(),
            pending_site: 0,
            last_prune: 0,
            store_calls: 0,
        }
    }

    /// The policy enforced.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn state(&mut self, keys: &[CohortKey], now_ms: u64) -> CohortState {
        let window = self.policy.attack.window_secs;
        let now = now_ms as f64;
        self.store_calls += 1;
        CohortState {
            rates: keys
                .iter()
                .map(|k| (k.clone(), self.counters.get(k).map_or(0.0, |c| c.at(now, window))))
                .collect(),
            site_rate: self.site.at(now, window),
            panicked: Vec::new(),
        }
    }

    fn subject<'a>(
        facts: &'a RequestFacts,
        route: &'a str,
        assessment: &'a signals::Assessment,
        phone: Known<Option<String>>,
    ) -> Subject<'a> {
        Subject {
            route,
            country: facts.cf.country.as_deref(),
            asn: facts.cf.asn,
            ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
            user_agent: facts.user_agent(),
            assessment,
            phone_code: phone,
        }
    }

    fn binding(facts: &RequestFacts) -> Binding {
        Binding::of(&ClientView {
            asn: facts.cf.asn,
            country: facts.cf.country.as_deref(),
            user_agent: facts.user_agent(),
        })
    }

    /// `GET <prefix>/challenge?route=..&signals=..&phone=..`, as `edge::challenge` does it.
    pub fn challenge(
        &mut self,
        facts: &RequestFacts,
        wanted: &str,
        signals: &[u8],
        phone: Option<&str>,
        now_ms: u64,
        id: [u8; 16],
    ) -> Issued {
        let now = UnixTime(now_ms / 1000);
        let Some(route) = route::named(&self.policy.protected, wanted) else {
            return Issued::Refused(Rejection::new(RejectKind::UnknownRoute, wanted.to_string()));
        };
        let route = route.path.clone();
        let client = ClientSide::parse(signals);
        let phone = match phone {
            Some(p) => Known::Is(crate::request::phone::calling_code(p, true).map(str::to_string)),
            None => Known::Unknown,
        };
        let assessment = signals::assess(facts, &client);
        let subject = Self::subject(facts, &route, &assessment, phone);
        let keys = if self.policy.attack.enabled {
            subject.cohorts(&self.policy.attack.cohorts)
        } else {
            Vec::new()
        };
        let state =
            if self.policy.attack.enabled { self.state(&keys, now_ms) } else { CohortState::default() };
        let decision = self.policy.decide(&subject, &state);
        let (difficulty, k) = match decision.outcome {
            Outcome::Deny => return Issued::Refused(Rejection::new(RejectKind::Denied, decision.why)),
            Outcome::Busy => {
                return Issued::Refused(
                    Rejection::new(RejectKind::Busy, decision.why)
                        .retry_after(self.policy.attack.retry_after_secs),
                );
            }
            Outcome::Price { difficulty, k } => (difficulty, k),
        };
        let terms = Terms {
            route,
            difficulty,
            k,
            risk: assessment.risk_byte(),
            ttl: TTL,
            binding: Self::binding(facts),
        };
        match challenge::issue(self.keys.current(), &terms, now, id) {
            Ok(signed) => Issued::Challenge { token: signed.bytes().to_vec(), difficulty, k },
            Err(e) => Issued::Refused(Rejection::new(RejectKind::Misconfigured, e.to_string())),
        }
    }

    /// A protected submission carrying `solution` (the header or form field's value), as
    /// `edge::protect` does it from step 3 (the body has been read and its fields found).
    pub fn submit(
        &mut self,
        facts: &RequestFacts,
        wanted: &str,
        solution: &str,
        phone: Option<&str>,
        now_ms: u64,
    ) -> Submitted {
        let now = UnixTime(now_ms / 1000);
        let Some(route) = route::named(&self.policy.protected, wanted) else {
            return Submitted::Refused(Rejection::new(RejectKind::UnknownRoute, wanted.to_string()));
        };
        let route = route.path.clone();
        let expect = Expectation {
            keys: &self.keys,
            now,
            skew: SKEW,
            route: Some(&route),
            binding: Some(Self::binding(facts)),
        };
        let verified = match solution::verify(solution, &expect) {
            Ok(v) => v,
            Err(r) => return Submitted::Refused(r),
        };
        let phone =
            Known::Is(phone.and_then(|p| crate::request::phone::calling_code(p, false)).map(str::to_string));
        let assessment = signals::assess(facts, &ClientSide::parse(&verified.signals));
        let subject = Self::subject(facts, &route, &assessment, phone);
        let keys = if self.policy.attack.enabled {
            subject.cohorts(&self.policy.attack.cohorts)
        } else {
            Vec::new()
        };
        let state =
            if self.policy.attack.enabled { self.state(&keys, now_ms) } else { CohortState::default() };
        let decision = self.policy.decide(&subject, &state);
        match decision.outcome {
            Outcome::Deny => return Submitted::Refused(Rejection::new(RejectKind::Denied, decision.why)),
            Outcome::Busy => {
                return Submitted::Refused(
                    Rejection::new(RejectKind::Busy, decision.why)
                        .retry_after(self.policy.attack.retry_after_secs),
                );
            }
            Outcome::Price { difficulty, k }
                if difficulty > verified.challenge.difficulty.saturating_add(1)
                    || k > verified.challenge.k =>
            {
                return Submitted::Refused(Rejection::new(RejectKind::RiskIncreased, decision.why));
            }
            Outcome::Price { .. } => {}
        }
        // single use: the ledger object serializes spends, so this is immediate
        self.store_calls += 1;
        let forget_after = verified.challenge.expires_at.plus(SKEW).seconds();
        if now.seconds() > forget_after {
            return Submitted::Refused(Rejection::new(RejectKind::Expired, "past the ledger row's life"));
        }
        if self.spent.insert(verified.challenge.id, forget_after).is_some() {
            return Submitted::Refused(Rejection::new(
                RejectKind::AlreadySpent,
                "replay of a spent challenge",
            ));
        }
        self.prune(now.seconds());
        let verdict = Verdict {
            time: now,
            id: String::new(),
            method: facts.method.clone(),
            path: facts.path.clone(),
            difficulty: verified.challenge.difficulty,
            k: verified.challenge.k,
            score: assessment.score,
            reasons: Vec::new(),
        }
        .sign(&self.origin_key);
        Submitted::Forward { verdict, counted: keys }
    }

    /// Counts a sign-up the origin accepted (applied when the instant ends).
    pub fn count(&mut self, keys: Vec<CohortKey>) {
        if !self.policy.attack.enabled {
            return;
        }
        self.store_calls += 1;
        self.pending.extend(keys);
        if self.policy.attack.global_ceiling.is_some() {
            self.pending_site += 1;
        }
    }

    /// Applies the counts made during the instant that ends.
    pub fn end_instant(&mut self, now_ms: u64) {
        let window = self.policy.attack.window_secs;
        let now = now_ms as f64;
        for k in self.pending.drain(..) {
            let c = self.counters.entry(k).or_default();
            *c = c.add(now, window);
        }
        for _ in 0..self.pending_site {
            self.site = self.site.add(now, window);
        }
        self.pending_site = 0;
    }

    /// Drops ledger rows past their life, once a virtual minute (the ledger object's alarm).
    fn prune(&mut self, now: u64) {
        if now < self.last_prune + 60 {
            return;
        }
        self.last_prune = now;
        self.spent.retain(|_, forget| *forget >= now);
        let window = f64::from(self.policy.attack.window_secs);
        let now_ms = now as f64 * 1000.0;
        self.counters.retain(|_, c| c.at(now_ms, window as u32) > 0.01);
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
        assert!(lower(SHIPPED, 17).unwrap_err().contains("defaults.difficulty = 17"));
    }
}
