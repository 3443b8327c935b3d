//! `--compare`: one scenario and seed under several defences, side by side.
//!
//! (a) no gate; (b) the incident's blunt responses — only +86 numbers, then registration
//! closed; (c) proof of work alone at the base price (no fingerprint pricing, no rules, no
//! attack mode); (d) the shipped policy; (e) the shipped policy with capacity pricing, when
//! the build has the capacity controller (issue 11).

use crate::drill::engine::{self, Defence};
use crate::drill::gate::Lowered;
use crate::drill::report::Report;
use crate::drill::scenario::Scenario;
use crate::signals::RiskPolicy;
use std::fmt::Write as _;

/// The defences compared, built from the (lowered) policy given.
pub fn defences(policy: &Lowered) -> Vec<Defence> {
    let mut pow_only = policy.clone();
    pow_only.policy.rules.clear();
    pow_only.policy.risk = RiskPolicy { more_work_at: u32::MAX - 1, deny_at: u32::MAX, max_extra_bits: 0 };
    pow_only.policy.attack.enabled = false;
    vec![
        Defence::NoGate,
        Defence::OnlyCallingCode("86".into()),
        Defence::Closed,
        Defence::Gate(Box::new(pow_only), "proof of work alone, base price".into()),
        Defence::Gate(Box::new(policy.clone()), "the policy".into()),
    ]
}

/// Capacity pricing is not in this build (the controller of issue 11 is not merged yet).
pub const CAPACITY_PRICING: Option<&str> = None;

/// Runs every defence; `progress` gets (defence index, fraction).
pub fn run(
    scenario: &Scenario,
    policy: &Lowered,
    seed: u64,
    mut progress: Option<&mut dyn FnMut(usize, usize, f64)>,
) -> Vec<Report> {
    let list = defences(policy);
    let n = list.len();
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            let mut cb = |f: f64| {
                if let Some(p) = progress.as_deref_mut() {
                    p(i, n, f);
                }
            };
            engine::run(scenario, d, seed, Some(&mut cb), None)
        })
        .collect()
}

/// The side-by-side table.
pub fn table(reports: &[Report]) -> String {
    let mut o = String::new();
    let Some(first) = reports.first() else { return o };
    let _ = writeln!(
        o,
        "drill {:?}, seed {}, {} s virtual; origin capacity {}/min",
        first.scenario, first.seed, first.duration_secs, first.signup_capacity_per_min
    );
    let _ = writeln!(
        o,
        "\n| defence | people admitted | outside attacking networks | p95 desktop | p95 phone | bots admitted: tool + copied UA | stealth + browser farm | bot sign-ups/min | attacker core-s per bot sign-up | minutes over capacity |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        let p95 = |name: &str| {
            r.people
                .admission
                .iter()
                .find(|a| a.device == name && a.admitted > 0)
                .map_or("-".to_string(), |a| format!("{:.1} s", a.p95_ms as f64 / 1000.0))
        };
        let share = |f: &dyn Fn(&str) -> bool| {
            let (mut off, mut adm) = (0u64, 0u64);
            for p in r
                .populations
                .iter()
                .filter(|p| p.kind == "attacker" && f(&p.realism) && !p.realism.contains("flood"))
            {
                off += p.offered;
                adm += p.admitted;
            }
            if off == 0 {
                "-".to_string()
            } else {
                format!("{:.1}% ({adm})", 100.0 * adm as f64 / off as f64)
            }
        };
        let bots: u64 = r
            .populations
            .iter()
            .filter(|p| p.kind == "attacker")
            .map(|p| p.admitted + p.replays_admitted)
            .sum();
        let core: f64 = r.populations.iter().filter(|p| p.kind == "attacker").map(|p| p.core_seconds).sum();
        let per_min = bots as f64 / (f64::from(r.duration_secs) / 60.0);
        let cost = if core > 0.0 && bots > 0 {
            format!("{:.1}", core / bots as f64)
        } else if core > 0.0 {
            format!("{core:.0} spent, 0 admitted")
        } else {
            "0".into()
        };
        let _ = writeln!(
            o,
            "| {} | {:.1}% | {:.1}% | {} | {} | {} | {} | {:.1} | {} | {} |",
            r.defence,
            r.people.admitted_pct,
            r.people.outside_attack_pct,
            p95("desktop"),
            p95("phone"),
            share(&|k| k == "tool" || k == "copied_ua"),
            share(&|k| k == "stealth" || k == "browser_farm"),
            per_min,
            cost,
            r.minutes_over_capacity
        );
    }
    if CAPACITY_PRICING.is_none() {
        let _ = writeln!(
            o,
            "| the policy with capacity pricing | not in this build: the capacity controller (issue 11) is not merged | | | | | | | | |"
        );
    }
    o
}
