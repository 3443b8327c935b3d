//! `--compare`: one scenario and seed under several defences, side by side.
//!
//! (a) no gate; (b) the incident's blunt responses — only +86 numbers, then registration
//! closed; (c) proof of work alone at the base price (no fingerprint pricing, no rules, no
//! attack mode); (d) the shipped policy; (e) the shipped policy with capacity pricing: an
//! `[[attack.capacity]]` entry per route stating the scenario origin's capacity.

use crate::drill::engine::{self, Defence};
use crate::drill::gate::Lowered;
use crate::drill::report::Report;
use crate::drill::scenario::Scenario;
use crate::policy::{Capacity, CapacityOf};
use crate::request::route::MatchKey;
use crate::signals::RiskPolicy;
use std::fmt::Write as _;

/// The policy with the scenario origin's capacity stated: the OTP route at the SMS provider's,
/// the sign-up routes sharing the origin's (split evenly when there are several).
pub fn with_capacity(scenario: &Scenario, policy: &Lowered) -> Lowered {
    let mut p = policy.clone();
    let otp = scenario.origin.otp_route.clone();
    let mut routes: Vec<String> = scenario
        .people
        .iter()
        .map(|g| g.route.clone())
        .chain(scenario.attackers.iter().map(|a| a.route.clone()))
        .filter(|r| Some(r) != otp.as_ref())
        .collect();
    routes.sort();
    routes.dedup();
    let share = scenario.origin.signup_capacity_per_min / u32::try_from(routes.len().max(1)).unwrap_or(1);
    let entry = |route: String, what, per_minute: u32| Capacity {
        route: MatchKey::of(&route).full,
        what,
        per_minute: per_minute.max(1),
        ceiling_bits: 8,
        period_secs: 10,
    };
    p.policy.attack.capacity = routes.into_iter().map(|r| entry(r, CapacityOf::Signups, share)).collect();
    if let (Some(route), Some(n)) = (otp, scenario.origin.otp_capacity_per_min) {
        p.policy.attack.capacity.push(entry(route, CapacityOf::OtpSends, n));
    }
    p
}

/// The defences compared, built from the (lowered) policy given.
pub fn defences(scenario: &Scenario, policy: &Lowered) -> Vec<Defence> {
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
        Defence::Gate(Box::new(with_capacity(scenario, policy)), "the policy with capacity pricing".into()),
    ]
}

/// Runs every defence; `progress` gets (defence index, fraction).
pub fn run(
    scenario: &Scenario,
    policy: &Lowered,
    seed: u64,
    mut progress: Option<&mut dyn FnMut(usize, usize, f64)>,
) -> Vec<Report> {
    let list = defences(scenario, policy);
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
        let gpu: f64 = r.populations.iter().filter(|p| p.kind == "attacker").map(|p| p.gpu_seconds).sum();
        let per_min = bots as f64 / (f64::from(r.duration_secs) / 60.0);
        let mut cost = if core > 0.0 && bots > 0 {
            format!("{:.1}", core / bots as f64)
        } else if core > 0.0 {
            format!("{core:.0} spent, 0 admitted")
        } else {
            "0".into()
        };
        // a GPU fleet pays in GPU-seconds, which core-seconds would show as free
        if gpu > 0.0 {
            cost += &if bots > 0 {
                format!(" + {:.2} GPU-s", gpu / bots as f64)
            } else {
                format!(" + {gpu:.0} GPU-s spent")
            };
        }
        // no person came from outside the attackers' networks: nothing to measure
        let outside = if r.people.outside_attack_offered == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", r.people.outside_attack_pct)
        };
        let _ = writeln!(
            o,
            "| {} | {:.1}% | {} | {} | {} | {} | {} | {:.1} | {} | {} |",
            r.defence,
            r.people.admitted_pct,
            outside,
            p95("desktop"),
            p95("phone"),
            share(&|k| k == "tool" || k == "copied_ua"),
            share(&|k| k == "stealth" || k == "browser_farm"),
            per_min,
            cost,
            r.minutes_over_capacity
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::report::PopStats;

    fn gpu_fleet(admitted: u64) -> PopStats {
        PopStats {
            name: "gpu".into(),
            kind: "attacker".into(),
            realism: "browser_farm".into(),
            offered: 10,
            admitted,
            gpu_seconds: 8.0,
            ..Default::default()
        }
    }

    #[test]
    fn the_table_says_what_was_not_measured_and_what_a_gpu_paid() {
        let mut r = Report::default();
        r.defence = "d".into();
        r.duration_secs = 60;
        r.populations = vec![gpu_fleet(4)];
        let row = |r: &Report| table(std::slice::from_ref(r)).lines().last().unwrap_or("").to_string();
        // no person outside the attackers' networks: "-", not 0 %
        let cells: Vec<String> = row(&r).split('|').map(|c| c.trim().to_string()).collect();
        assert_eq!(cells[3], "-", "{cells:?}");
        // a GPU fleet's cost is in GPU-seconds per admitted sign-up
        assert_eq!(cells[9], "0 + 2.00 GPU-s", "{cells:?}");
        r.populations = vec![gpu_fleet(0)];
        assert!(row(&r).contains("0 + 8 GPU-s spent"), "{}", row(&r));
        r.people.outside_attack_offered = 4;
        r.people.outside_attack_pct = 50.0;
        assert!(row(&r).contains("| 50.0% |"), "{}", row(&r));
    }
}
