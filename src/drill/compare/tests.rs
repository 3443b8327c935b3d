use super::*;
use crate::drill::report::PopStats;
use proptest::prelude::*;

fn gpu_fleet(admitted: u64) -> PopStats {
    PopStats {
        name: "gpu".into(),
        kind: "attacker".into(),
        realism: "browser_farm".into(),
        label: "browser_farm".into(),
        offered: 10,
        attempts: 10,
        admitted,
        gpu_seconds: 8.0,
        money: 8.0 / 3600.0 * 0.4,
        ..Default::default()
    }
}

fn one(r: Report) -> Comparison {
    Comparison { seeds: vec![r.seed], runs: vec![vec![r]] }
}

fn row_of(r: &Report) -> Vec<String> {
    let t = table(&one(r.clone()));
    let line = t.lines().find(|l| l.starts_with("| d |")).unwrap_or("").to_string();
    line.split('|').map(|c| c.trim().to_string()).collect()
}

#[test]
fn the_table_says_what_was_not_measured_and_what_a_gpu_paid() {
    let mut r = Report::default();
    r.defence = "d".into();
    r.duration_secs = 60;
    r.currency = "USD".into();
    r.populations = vec![gpu_fleet(4)];
    r.people.most_admissible_pct = 91.1;
    let cells = row_of(&r);
    // the most any gate could admit stands beside what was admitted
    assert_eq!(cells[3], "91.1%", "{cells:?}");
    // no person outside the attackers' networks: "-", not 0 %
    assert_eq!(cells[4], "-", "{cells:?}");
    // a GPU fleet's cost is in GPU-seconds per admitted sign-up, and money
    assert_eq!(cells[12], "2.00 GPU-s, 0.000222 USD", "{cells:?}");
    // its share is of all attempts
    assert_eq!(cells[9], "40.0%", "{cells:?}");
    r.populations = vec![gpu_fleet(0)];
    assert_eq!(row_of(&r)[12], "8.00 GPU-s, 0.000889 USD spent, none admitted", "{:?}", row_of(&r));
    r.people.outside_attack_offered = 4;
    r.people.outside_attack_pct = 50.0;
    assert_eq!(row_of(&r)[4], "50.0%");
}

#[test]
fn unaffordable_attempts_count_in_the_share_and_have_their_column() {
    let mut r = Report::default();
    r.defence = "d".into();
    r.duration_secs = 60;
    let mut p = gpu_fleet(5);
    p.unaffordable = 10;
    p.attempts = 20;
    r.populations = vec![p];
    let cells = row_of(&r);
    assert_eq!(cells[9], "25.0%", "{cells:?}");
    assert_eq!(cells[10], "50.0%", "{cells:?}");
}

#[test]
fn cells_show_the_median_and_the_range_over_seeds() {
    let reports: Vec<Report> = [90.0, 80.0, 95.0, 85.0, 70.0]
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut r = Report::default();
            r.defence = "d".into();
            r.seed = i as u64;
            r.duration_secs = 60;
            r.people.admitted_pct = *x;
            r
        })
        .collect();
    let c = Comparison { seeds: (0..5).collect(), runs: vec![reports] };
    let t = table(&c);
    assert!(t.contains("| d | 85.0% [70.0%–95.0%] |"), "{t}");
    assert!(t.contains("seeds 0 1 2 3 4"), "{t}");
}

proptest! {
    #[test]
    fn a_median_lies_within_the_range_whatever_the_order(mut v in proptest::collection::vec(-1e6f64..1e6, 1..20), rot in 0usize..20) {
        let s = Spread::of(v.clone()).unwrap();
        prop_assert!(s.min <= s.median && s.median <= s.max);
        let k = rot % v.len();
        v.rotate_left(k);
        prop_assert_eq!(Spread::of(v).unwrap(), s);
    }
}

/// A report of `seed` with people admitted at `people` % and one fleet at `fleet` %.
fn paired_report(seed: u64, people: f64, fleet: f64) -> Report {
    let mut r = Report::default();
    r.seed = seed;
    r.people.admitted_pct = people;
    r.populations = vec![PopStats {
        name: "pump".into(),
        kind: "attacker".into(),
        admitted_of_attempts_pct: fleet,
        ..Default::default()
    }];
    r
}

#[test]
fn paired_rows_are_differences_seed_by_seed_with_their_mean_and_standard_error() {
    let a: Vec<Report> = [(1, 60.0, 90.0), (2, 70.0, 80.0), (3, 65.0, 85.0)]
        .into_iter()
        .map(|(s, p, f)| paired_report(s, p, f))
        .collect();
    let b: Vec<Report> = [(1, 61.0, 5.0), (2, 69.0, 4.0), (3, 68.0, 6.0)]
        .into_iter()
        .map(|(s, p, f)| paired_report(s, p, f))
        .collect();
    let rows = paired::rows(&a, &b);
    let people = rows.iter().find(|r| r.figure == "all people: admitted").expect("people row");
    // +1, -1, +3: the medians of each side alone (65 and 68) would say +3
    assert_eq!((people.diff.median, people.diff.min, people.diff.max), (1.0, -1.0, 3.0));
    assert!((people.mean - 1.0).abs() < 1e-12);
    // sample standard deviation 2, over the square root of 3
    assert!((people.standard_error - 2.0 / 3f64.sqrt()).abs() < 1e-12, "{}", people.standard_error);
    assert_eq!((people.higher, people.lower), (2, 1));
    let pump = rows.iter().find(|r| r.figure == "pump: admitted").expect("fleet row");
    assert_eq!((pump.higher, pump.lower), (0, 3));
    assert_eq!((pump.diff.median, pump.diff.min, pump.diff.max), (-79.0, -85.0, -76.0));
    // a seed missing on one side is left out, not paired with another seed
    let rows = paired::rows(&a, &b[1..]);
    let people = rows.iter().find(|r| r.figure == "all people: admitted").expect("people row");
    assert_eq!((people.diff.min, people.diff.max, people.higher, people.lower), (-1.0, 3.0, 1, 1));
}

#[test]
fn the_compare_table_pairs_every_other_row_with_no_gate_seed_by_seed() {
    let run = |defence: &str, people: [f64; 3]| -> Vec<Report> {
        (0..3)
            .map(|i| {
                let mut r = paired_report(i as u64 + 1, people[i], 0.0);
                r.defence = defence.into();
                r
            })
            .collect()
    };
    let c = Comparison {
        seeds: vec![1, 2, 3],
        runs: vec![run("no gate", [91.0, 93.0, 99.5]), run("gate: the policy", [90.0, 95.0, 99.0])],
    };
    let t = table(&c);
    let line =
        t.lines().find(|l| l.starts_with("| gate: the policy |") && l.contains("up,")).expect("a paired row");
    // -1, +2, -0.5: the median -0.50, two seeds down, one up
    assert!(line.contains("| -0.50 [-1.00–+2.00]; 1 up, 2 down |"), "{line}");
    assert!(!t.lines().any(|l| l.starts_with("| no gate |") && l.contains("up,")), "{t}");
    // without the no-gate row there is nothing to pair with
    let alone = Comparison { seeds: vec![1, 2, 3], runs: vec![run("gate: the policy", [90.0, 95.0, 99.0])] };
    assert!(!table(&alone).contains("seed by seed"));
}
