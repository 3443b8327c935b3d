//! The attack drill: plays a scenario (people and attacker fleets, in virtual time) through the
//! gate's real core — fingerprint checks, policy, challenge issue, verification, cohort
//! counting, the single-use ledger — with the stores in memory, and reports whether people
//! still got in and the bots did not (docs/drill.md).
//!
//! Native only (`cli` feature). Nothing here reads a clock or the platform's randomness: time is
//! virtual and every random draw comes from [`rng::Rng`], seeded from the scenario or `--seed`.
//!
//! - [`scenario`]: the scenario file (TOML, versioned), validated with every problem at once;
//! - [`population`]: the clients a scenario describes (networks, browsers, signals, devices);
//! - [`gate`]: the gate in memory, the one place that calls the core's request steps;
//! - [`engine`]: the virtual-time event loop;
//! - [`report`]: what happened, as a table, JSON and a self-contained HTML page;
//! - [`compare`]: one scenario under several defences side by side.

pub mod compare;
pub mod engine;
pub mod gate;
pub mod population;
pub mod report;
pub mod rng;
pub mod scenario;

use crate::drill::gate::Lowered;
use crate::drill::scenario::Scenario;

/// The shipped policy (`policy/gate.toml`), played when no `--policy` is given.
pub const SHIPPED_POLICY: &str = include_str!("../../policy/gate.toml");

/// Lowers the policy by the scenario's `drill.discount_bits` and checks that every
/// population's route is protected by it; every problem at once.
pub fn prepare(scenario: &Scenario, policy_text: &str) -> Result<Lowered, Vec<String>> {
    let lowered =
        gate::lower(policy_text, scenario.drill.discount_bits).map_err(|e| vec![format!("policy: {e}")])?;
    let mut problems = Vec::new();
    let people =
        scenario.people.iter().enumerate().map(|(i, p)| (format!("people[{i}] {:?}", p.name), &p.route));
    let fleets = scenario
        .attackers
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("attackers[{i}] {:?}", a.name), &a.route));
    for (at, route) in people.chain(fleets) {
        if crate::request::route::named(&lowered.policy.protected, route).is_none() {
            problems.push(format!("{at}.route: {route:?} is not a protected route of the policy"));
        }
    }
    if problems.is_empty() { Ok(lowered) } else { Err(problems) }
}
