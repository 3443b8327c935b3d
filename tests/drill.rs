//! The attack drill: scenario fixtures (every file in tests/data/drills/bad fails with exactly
//! the problems in its `.errors` file; every shipped drill and good fixture loads), determinism
//! by seed, and invariants of a small scenario's report under each defence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::drill::engine::{self, Defence};
use gate::drill::{self, compare, scenario};
mod common;

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
    let d = Defence::Gate(Box::new(lowered), "the policy".into());
    let json = |seed| serde_json::to_string(&engine::run(&s, &d, seed, None, None)).unwrap();
    let a = json(7);
    assert_eq!(a, json(7));
    assert_ne!(a, json(8));
}

#[test]
fn a_small_scenario_under_each_defence() {
    let s = small();
    let lowered = drill::prepare(&s, drill::SHIPPED_POLICY).unwrap();
    let reports = compare::run(&s, &lowered, 7, None);
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

    // only +86: exactly the people with a Chinese number, no bot here has one
    let cn = by("+86");
    assert!(cn.people.admitted > 0 && cn.people.admitted < cn.people.offered);
    assert_eq!(pop(cn, "tools from hosting").admitted, 0);

    // proof of work alone admits every fleet that pays, tools included
    let pow = by("proof of work alone");
    assert_eq!(pop(pow, "tools from hosting").admitted, pop(pow, "tools from hosting").offered);

    // the policy: people get in, tools do not; a copied User-Agent mostly does not and pays
    // more per sign-up than proof of work alone asks; a browser farm looks like people
    let gated = by("the policy");
    assert!(gated.people.admitted_pct > 99.0, "{}", gated.table());
    assert_eq!(gated.people.wrongly_denied, 0);
    assert_eq!(pop(gated, "tools from hosting").admitted, 0);
    let copied = pop(gated, "copied UA on the carrier");
    assert!(copied.admitted * 5 < copied.offered, "{}", gated.table());
    let cost = |r: &gate::drill::report::Report| {
        pop(r, "copied UA on the carrier").core_seconds_per_admitted.unwrap()
    };
    assert!(cost(gated) > 10.0 * cost(pow), "{} vs {}", cost(gated), cost(pow));
    assert!(pop(gated, "browser farm").admitted > 0);
    // every offered attempt ends exactly once
    for p in &gated.populations {
        let refused: u64 = p.refused.values().sum();
        assert_eq!(p.offered, p.admitted + refused + p.shed + p.gave_up, "{}", p.name);
    }
}
