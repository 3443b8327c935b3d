//! The attack drill: scenario fixtures (every file in tests/data/drills/bad fails with exactly
//! the problems in its `.errors` file; every shipped drill and good fixture loads), determinism
//! by seed, and invariants of a small scenario's report under each defence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::drill::engine::{self, Defence};
use gate::drill::{self, compare, scenario};
mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::fixtures::{assert_bad_fixtures, toml_files};
use std::fs;
use std::path::Path;

#[test]
fn bad_scenarios_report_every_problem_with_its_place() {
    assert_bad_fixtures("tests/data/drills/bad", 4, |text| scenario::load(text).err().map(|e| e.0));
}

#[test]
fn shipped_drills_and_good_fixtures_load_with_the_shipped_policy() {
    let mut all = toml_files("drills");
    all.extend(toml_files("tests/data/drills/good"));
    assert!(all.len() >= 5);
    for f in all {
        let s = scenario::load(&fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        drill::prepare(&s, drill::SHIPPED_POLICY).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
    }
}

fn small() -> scenario::Scenario {
    scenario::load(
        &fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/drills/good/small.toml"))
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let s = small();
    let lowered = drill::prepare(&s, drill::SHIPPED_POLICY).unwrap();
    let d = Defence::Gate(Box::new(lowered), "the policy".into(), engine::Widget::Banking);
    let json = |seed| serde_json::to_string(&engine::run(&s, &d, seed, None, None)).unwrap();
    let a = json(7);
    assert_eq!(a, json(7));
    assert_ne!(a, json(8));
}

#[test]
fn a_small_scenario_under_each_defence() {
    let s = small();
    let lowered = drill::prepare(&s, drill::SHIPPED_POLICY).unwrap();
    let reports: Vec<_> = compare::run(&s, &compare::defences(&s, &lowered), &[7], 2, None)
        .runs
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect();
    let by = |name: &str| reports.iter().find(|r| r.defence.contains(name)).unwrap();
    let pop = |r: &gate::drill::report::Report, name: &str| {
        r.populations.iter().find(|p| p.name == name).unwrap().clone()
    };

    // no gate: every attempt reaches the origin (capacity is not binding here)
    let none = by("no gate");
    for p in &none.populations {
        assert!(p.offered > 0, "{}", p.name);
        assert_eq!(p.admitted, p.offered, "{}", p.name);
    }
    assert_eq!(none.store_calls, 0);

    // registration closed: nobody
    let closed = by("closed");
    assert!(closed.populations.iter().all(|p| p.admitted == 0));
    assert_eq!(closed.people.wrongly_shed, closed.people.offered);
    // under every defence, the outside people not admitted are told apart by how they ended
    for r in &reports {
        let p = &r.people;
        let ends: u64 = p.outside_attack_not_admitted.values().sum();
        assert_eq!(ends, p.outside_attack_offered - p.outside_attack_admitted, "{}", r.defence);
    }

    // only +86: exactly the people with a Chinese number, no bot here has one
    let cn = by("+86");
    assert!(cn.people.admitted > 0 && cn.people.admitted < cn.people.offered);
    assert_eq!(pop(cn, "tools from hosting").admitted, 0);

    // proof of work alone admits every fleet that pays, tools included (an attempt still
    // solving when the run ends is counted unfinished, not admitted)
    let pow = by("proof of work alone");
    let tools = pop(pow, "tools from hosting");
    assert_eq!(tools.admitted + tools.unfinished, tools.offered);
    assert!(tools.unfinished * 100 < tools.offered);

    // the policy: people get in, tools do not; a copied User-Agent mostly does not and pays
    // more per sign-up than proof of work alone asks; a browser farm looks like people
    let gated = by("the policy");
    assert!(gated.people.admitted_pct > 99.0, "{}", gated.table());
    assert_eq!(gated.people.wrongly_denied, 0);
    assert_eq!(pop(gated, "tools from hosting").admitted, 0);
    let copied = pop(gated, "copied UA on the carrier");
    assert!(copied.admitted * 5 < copied.offered, "{}", gated.table());
    let cost = |r: &gate::drill::report::Report| {
        // nothing admitted: no price buys a sign-up
        pop(r, "copied UA on the carrier").core_seconds_per_admitted.unwrap_or(f64::INFINITY)
    };
    assert!(cost(gated) > 10.0 * cost(pow), "{} vs {}", cost(gated), cost(pow));
    assert!(pop(gated, "browser farm").admitted > 0);
    // every offered attempt ends exactly once
    for p in &gated.populations {
        let refused: u64 = p.refused.values().sum();
        assert_eq!(
            p.offered,
            p.admitted + refused + p.shed + p.gave_up + p.declined + p.unfinished,
            "{}",
            p.name
        );
    }
}

/// A small world: people and one fleet (`fleet` is its TOML body after the name).
fn world(duration: u32, drill: &str, fleet: &str) -> scenario::Scenario {
    scenario::load(&format!(
        r#"
version = 1
name = "t"
duration_secs = {duration}
seed = 3
[origin]
signup_capacity_per_min = 100000
[drill]
{drill}
[[networks]]
name = "home"
kind = "residential"
asns = 50
prefixes = 8
[[people]]
name = "people"
rate = [[0, 2.0], [{duration}, 2.0]]
networks = {{ home = 1.0 }}
countries = {{ US = 0.5, DE = 0.5 }}
devices = {{ desktop = 0.5, phone = 0.5 }}
[[attackers]]
name = "fleet"
networks = {{ home = 1.0 }}
{fleet}
"#
    ))
    .unwrap()
}

fn policy_run(s: &scenario::Scenario, seed: u64) -> (gate::drill::report::Report, Vec<engine::Exported>) {
    let lowered = drill::prepare(s, drill::SHIPPED_POLICY).unwrap();
    let d = Defence::Gate(Box::new(lowered), "the policy".into(), engine::Widget::Banking);
    let mut out = Vec::new();
    let r = engine::run(s, &d, seed, None, Some(&mut out));
    (r, out)
}

#[test]
fn a_pulsing_fleets_attempts_follow_its_schedule() {
    let s = world(
        600,
        "",
        r#"realism = "forged_signals"
tls = "impersonated"
rate = [[0, 5.0], [600, 5.0]]
budget = { cores = 64 }
pulse = { on_secs = 30, off_secs = 90 }"#,
    );
    for seed in 0..3 {
        let (r, out) = policy_run(&s, seed);
        let firsts: std::collections::BTreeMap<u64, u64> = out
            .iter()
            .filter(|x| x.population == "fleet" && x.step == "challenge")
            .fold(Default::default(), |mut m, x| {
                m.entry(x.attempt).or_insert(x.t_ms);
                m
            });
        assert!(firsts.len() > 500, "{} attempts", firsts.len());
        // every attempt starts while the fleet is on, the first 30 s of each 120 s (its first
        // challenge may wait a moment for a free solver after a burst's last arrival)
        let outside: Vec<&u64> = firsts.values().filter(|t| *t % 120_000 >= 31_000).collect();
        assert!(outside.is_empty(), "attempts outside the bursts: {outside:?}");
        // and the bursts are about a quarter of the time at 5/s
        let expected = 600.0 / 120.0 * 30.0 * 5.0;
        let offered = r.populations[1].offered as f64;
        assert!((offered - expected).abs() < expected * 0.15, "{offered} vs {expected}");
    }
}

#[test]
fn a_fleet_with_a_price_ceiling_stops_when_the_price_passes_it_and_money_is_core_seconds_times_the_price() {
    // the base price is 17 bits x 32: 2^22 hashes, 0.17 core-s at 24 MH/s
    let fleet = |ceiling: &str| {
        format!(
            r#"realism = "forged_signals"
tls = "impersonated"
rate = [[0, 5.0], [300, 5.0]]
budget = {{ cores = 64 }}
{ceiling}"#
        )
    };
    let (free, _) = policy_run(&world(300, "", &fleet("")), 1);
    let f = &free.populations[1];
    assert!(f.admitted > 1000 && f.held_back == 0 && f.declined == 0);
    assert!((f.money - f.core_seconds / 3600.0 * 0.01).abs() < 1e-12, "{} {}", f.money, f.core_seconds);
    // a ceiling below the base price: the first challenge is declined and the fleet stops;
    // the attempts it started while that challenge was on its way (the ping chain's round trips
    // come first) are declined too
    let (stopped, _) =
        policy_run(&world(300, "", &fleet("ceiling = { solver_seconds = 0.05, then = \"stop\" }")), 1);
    let f = &stopped.populations[1];
    assert!(f.offered <= 5 && f.declined == f.offered && f.admitted == 0, "{f:?}");
    assert!(f.held_back > 1000);
    // a ceiling above it: nothing changes
    let (paid, _) =
        policy_run(&world(300, "", &fleet("ceiling = { solver_seconds = 100, then = \"stop\" }")), 1);
    assert_eq!(paid.populations[1].admitted, free.populations[1].admitted);
}

#[test]
fn requests_spread_over_the_isolates_and_the_same_seed_gives_the_same_report() {
    let s = world(
        120,
        "isolates = 4\nisolate_life_secs = 30",
        r#"realism = "browser_farm"
rate = [[0, 5.0], [120, 5.0]]
budget = { cores = 64 }"#,
    );
    let (r, out) = policy_run(&s, 5);
    let used: std::collections::BTreeSet<usize> = out.iter().map(|x| x.isolate).collect();
    assert_eq!(used.len(), 4, "{used:?}");
    assert!(r.cold_starts >= 4, "{}", r.cold_starts);
    assert!(r.people.admitted_pct > 99.0, "{}", r.table());
    let (again, _) = policy_run(&s, 5);
    assert_eq!(serde_json::to_string(&r).unwrap(), serde_json::to_string(&again).unwrap());
}

#[test]
fn people_without_javascript_wait_where_the_policy_lets_them_and_are_turned_away_elsewhere() {
    let mut s = world(
        300,
        "",
        r#"realism = "tool"
rate = [[0, 0.1], [300, 0.1]]
budget = { cores = 1 }"#,
    );
    s.people[0].no_js = 1.0;
    let shipped_routes = "\nroutes = [\"/signup\", \"/api/register\", \"/api/otp/send\"]\n";
    let off = drill::SHIPPED_POLICY.replace(shipped_routes, "\nroutes = []\n");
    assert_ne!(off, drill::SHIPPED_POLICY, "the shipped policy's no_js.routes moved");
    let lowered = drill::prepare(&s, &off).unwrap();
    let d = Defence::Gate(Box::new(lowered), "no-JS off".into(), engine::Widget::Banking);
    let closed = engine::run(&s, &d, 2, None, None);
    assert_eq!(closed.people.admitted, 0);
    assert_eq!(closed.people.turned_away, closed.people.offered);
    // the outside figure's misses by how they ended: all of them turned away here
    assert!(closed.people.outside_attack_offered > 0);
    let ends = &closed.people.outside_attack_not_admitted;
    assert_eq!(ends.get("turned_away").copied(), Some(closed.people.outside_attack_offered), "{ends:?}");
    assert_eq!(ends.len(), 1, "{ends:?}");
    // the shipped policy lists the route
    let (r, _) = policy_run(&s, 2);
    // the no-JS budget (busy_at: 30 sign-ups per 10 minutes site-wide) lets some in, after the wait
    assert!(r.people.admitted >= 25, "{}", r.table());
    let missed: u64 = r.people.outside_attack_not_admitted.values().sum();
    assert_eq!(missed, r.people.outside_attack_offered - r.people.outside_attack_admitted);
    assert!(missed > 0 && r.people.outside_attack_admitted > 0, "{:?}", r.people.outside_attack_not_admitted);
    let p50 = r.people.admission.iter().map(|a| a.p50_ms).max().unwrap();
    assert!(p50 >= 5_000, "{p50}");
}

/// The round trip the gate checks is its own measure (the ping chain's stamp, played by the
/// engine through the gate for every client with signals): a forger reporting a short round
/// trip is still seen behind its proxy, and people's stamps count. Under a policy that refuses
/// both a gap and signals without a measure, people all get in, the forger through a
/// long-detour proxy gets nothing, and the same forger without a proxy gets in.
#[test]
fn a_forgers_reported_round_trip_does_not_hide_its_proxy_and_peoples_stamps_count() {
    let policy = format!(
        "{}\n[[rules]]\nname = \"relayed or unmeasured round trips\"\nwhen = {{ reasons = [\"rtt_gap\", \"rtt_unmeasured\"] }}\naction = \"deny\"\n",
        drill::SHIPPED_POLICY
    );
    for (proxy, proxied) in [("proxy = { extra_rtt_ms = [400, 600] }", true), ("", false)] {
        let s = world(
            300,
            "",
            &format!(
                "realism = \"forged_signals\"\ntls = \"impersonated\"\nrate = [[0, 2.0], [300, 2.0]]\nbudget = {{ cores = 64 }}\n{proxy}"
            ),
        );
        let lowered = drill::prepare(&s, &policy).unwrap();
        let d = Defence::Gate(Box::new(lowered), "the policy".into(), engine::Widget::Banking);
        let mut out = Vec::new();
        let r = engine::run(&s, &d, 4, None, Some(&mut out));
        let (people, fleet) = (&r.populations[0], &r.populations[1]);
        assert!(people.offered > 400 && people.admitted == people.offered, "{}", r.table());
        assert!(fleet.offered > 400, "{}", r.table());
        if proxied {
            assert_eq!(fleet.admitted, 0, "{}", r.table());
        } else {
            assert!(fleet.admitted * 10 > fleet.offered * 9, "{}", r.table());
        }
        // every challenge request with signals carried a stamp
        let stamped = out
            .iter()
            .filter(|x| x.step == "challenge")
            .map(|x| x.signals.as_str())
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8(URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap())
            .all(|s| s.contains("\"rttStamp\":\""));
        assert!(stamped);
    }
}

/// "Outside every attacking cohort" counts the people who share none of the cohorts the policy
/// counts (ASN, /24, country, browser family, calling code) with any attacker request:
/// recounted here from the requests the run made.
#[test]
fn people_outside_every_attacking_cohort_are_those_sharing_none_with_an_attacker_request() {
    // the fleet on networks of its own, in the US; people in the US and Germany
    let s = scenario::load(
        r#"
version = 1
name = "t"
duration_secs = 300
seed = 3
[origin]
signup_capacity_per_min = 100000
[[networks]]
name = "home"
kind = "residential"
asns = 50
prefixes = 8
[[networks]]
name = "proxies"
kind = "residential"
asns = 20
prefixes = 8
[[people]]
name = "people"
rate = [[0, 2.0], [300, 2.0]]
networks = { home = 1.0 }
countries = { US = 0.5, DE = 0.5 }
devices = { desktop = 0.5, phone = 0.5 }
[[attackers]]
name = "fleet"
realism = "forged_signals"
tls = "impersonated"
rate = [[0, 2.0], [300, 2.0]]
budget = { cores = 64 }
networks = { proxies = 1.0 }
countries = { US = 1.0 }
"#,
    )
    .unwrap();
    let (r, out) = policy_run(&s, 2);
    let keys = |x: &engine::Exported| {
        let ua = x.headers.iter().find(|(k, _)| k == "user-agent").map_or("", |(_, v)| v.as_str());
        let family = gate::request::user_agent::UserAgent::parse(ua).family.name().to_string();
        let prefix = x.ip.rsplit_once('.').map_or(x.ip.clone(), |(p, _)| p.to_string());
        let mut k = vec![
            format!("asn:{}", x.cf.asn.unwrap_or(0)),
            format!("prefix:{prefix}"),
            format!("country:{}", x.cf.country.as_deref().unwrap_or("-")),
            format!("ua_family:{family}"),
        ];
        k.extend(x.phone_code.as_ref().map(|c| format!("phone_code:{c}")));
        k
    };
    let attackers: std::collections::HashSet<String> =
        out.iter().filter(|x| x.population != "people").flat_map(keys).collect();
    let mut people: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    for x in out.iter().filter(|x| x.population == "people" && x.step == "challenge") {
        people.entry(x.attempt).or_insert_with(|| keys(x));
    }
    let apart = people.values().filter(|k| !k.iter().any(|k| attackers.contains(k))).count() as u64;
    assert!(apart > 0 && apart < people.len() as u64, "{apart} of {}", people.len());
    assert_eq!(r.people.outside_cohorts_offered, apart, "{}", r.table());
}
