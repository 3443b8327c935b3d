//! Paired runs (common random numbers): two defences that treat one fleet differently play the
//! same draws for everyone else, so a drill's A/B figures differ by what the defence did, not by
//! reshuffled luck. Over several shapes (people on the sign-up route or asking for codes,
//! a pump scattered or one number after another, several seeds), the shipped policy with and
//! without `[otp]` — which changes only what the pump gets — gives people the very same
//! requests and answers, while the pump's differ; and `--against`'s table of paired
//! differences shows exactly that.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;
use common::fixtures::shipped_policy_without_otp;
use gate::drill::engine::{self, Defence, Exported, Widget};
use gate::drill::scenario::{self, Scenario};
use gate::drill::{self, compare};

/// People on `people_route` in `countries`; a pump on the code route over other ranges
/// (through residential proxies on networks people do not use).
fn world(people_route: &str, countries: &str, sequential: bool) -> Scenario {
    scenario::load(&format!(
        r#"
version = 1
name = "paired"
duration_secs = 600
seed = 5
[origin]
signup_capacity_per_min = 100000
otp_route = "/api/otp/send"
otp_capacity_per_min = 100000
[drill]
isolates = 6
isolate_life_secs = 120
[[networks]]
name = "home"
kind = "residential"
asns = 40
prefixes = 8
[[networks]]
name = "proxies"
kind = "residential"
asns = 40
prefixes = 8
[[people]]
name = "people"
route = "{people_route}"
rate = [[0, 1.0], [600, 1.0]]
networks = {{ home = 1.0 }}
countries = {{ {countries} }}
devices = {{ desktop = 0.5, phone = 0.5 }}
verify = {{ probability = 0.85, delay_secs = [10, 90] }}
[[attackers]]
name = "pump"
route = "/api/otp/send"
realism = "stealth"
rate = [[0, 0.0], [60, 1.0], [540, 1.0], [541, 0.0], [600, 0.0]]
budget = {{ cores = 50 }}
networks = {{ proxies = 1.0 }}
phone_ranges = ["+996 700", "+998 33"]
sequential = {sequential}
rotate = true
retry_on_busy = true
verify = {{ probability = 0.0 }}
"#
    ))
    .unwrap()
}

/// Every request of `who`, as (time, step, answer, isolate).
fn requests_of(s: &Scenario, policy: &str, seed: u64, who: &str) -> Vec<(u64, &'static str, String, usize)> {
    let lowered = drill::prepare(s, policy).unwrap();
    let d = Defence::Gate(Box::new(lowered), "policy".into(), Widget::Banking);
    let mut out: Vec<Exported> = Vec::new();
    engine::run(s, &d, seed, None, Some(&mut out));
    out.into_iter().filter(|x| x.population == who).map(|x| (x.t_ms, x.step, x.answer, x.isolate)).collect()
}

#[test]
fn a_defence_that_changes_only_what_a_pump_gets_leaves_peoples_requests_and_answers_as_they_were() {
    let plain = shipped_policy_without_otp();
    let shapes = [
        ("/signup", "US = 0.5, DE = 0.5", false),
        ("/api/otp/send", "GB = 0.5, FI = 0.5", false),
        ("/api/otp/send", "GB = 0.5, FI = 0.5", true),
    ];
    for (route, countries, sequential) in shapes {
        let s = world(route, countries, sequential);
        for seed in [1, 2] {
            let shape = format!("{route} {countries} sequential={sequential} seed {seed}");
            let ranged = requests_of(&s, drill::SHIPPED_POLICY, seed, "pump");
            let blind = requests_of(&s, &plain, seed, "pump");
            let blocked =
                |r: &[(u64, &str, String, usize)]| r.iter().filter(|x| x.2 == "phone_range_blocked").count();
            // the two defences do differ, for the pump
            assert!(
                blocked(&ranged) > 50 && blocked(&blind) == 0,
                "{shape}: {} / {}",
                blocked(&ranged),
                blocked(&blind)
            );
            let people = requests_of(&s, drill::SHIPPED_POLICY, seed, "people");
            assert!(people.len() > 500, "{shape}: {}", people.len());
            assert!(people == requests_of(&s, &plain, seed, "people"), "{shape}: people's requests differ");
        }
    }
}

#[test]
fn against_prints_each_figure_seed_by_seed_and_a_change_that_touches_only_the_pump_moves_only_the_pump() {
    let s = world("/api/otp/send", "GB = 0.5, FI = 0.5", true);
    let gate = |policy: &str, name: &str| {
        Defence::Gate(Box::new(drill::prepare(&s, policy).unwrap()), name.into(), Widget::Banking)
    };
    let list = [gate(&shipped_policy_without_otp(), "blind"), gate(drill::SHIPPED_POLICY, "shipped")];
    let c = compare::run(&s, &list, &[1, 2, 3, 4, 5], 2, None);
    let rows = compare::paired::rows(&c.runs[0], &c.runs[1]);
    let row = |f: &str| rows.iter().find(|r| r.figure == f).unwrap_or_else(|| panic!("{f}: {rows:?}"));
    for same in [
        "all people: admitted",
        "people: admitted",
        "people outside attacking networks: admitted",
        "people outside attacking networks: charged more or denied",
    ] {
        let r = row(same);
        assert_eq!((r.higher, r.lower, r.diff.min, r.diff.max), (0, 0, 0.0, 0.0), "{r:?}");
    }
    let pump = row("pump: admitted");
    assert_eq!((pump.higher, pump.lower), (0, 5), "{pump:?}");
    assert!(pump.diff.max < -50.0 && pump.standard_error > 0.0, "{pump:?}");
    let t = compare::paired::table(&c, "blind", "shipped");
    assert!(t.contains("A = blind, B = shipped") && t.contains("| pump: admitted |"), "{t}");
    assert!(t.contains("| 0 / 5 of 5 |"), "{t}");
}
