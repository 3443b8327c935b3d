//! Banked effort in the drill (issue 18): people's fill time is free work, a price that moved
//! is topped up before the post (not refetched), the felt wait is measured over everyone who tried, and
//! bots pay every hash. Several scenario shapes, each under the widget before banking and
//! with banking, capacity pricing on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::drill::engine::{self, Defence, Exported, Widget};
use gate::drill::report::Report;
use gate::drill::rng::Rng;
use gate::drill::scenario::{self, Fill, Scenario};
use gate::drill::{self, compare};
use gate::protocol::solution::MAX_TOP_UPS;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A world whose fleet pushes the sign-up route past the origin's capacity mid-run, so the
/// price rises while people fill the form.
fn surge(capacity: u32, fill: (u32, u32), realism: &str, budget: &str, peak: f64) -> Scenario {
    scenario::load(&format!(
        r#"
version = 1
name = "surge"
duration_secs = 300
seed = 11
[origin]
signup_capacity_per_min = {capacity}
[drill]
discount_bits = 14
[[networks]]
name = "home"
kind = "residential"
asns = 60
prefixes = 8
[[people]]
name = "people"
rate = [[0, 1.0], [300, 1.0]]
networks = {{ home = 1.0 }}
countries = {{ US = 0.5, DE = 0.5 }}
devices = {{ desktop = 0.5, phone = 0.5 }}
fill_secs = {{ median = {}, p90 = {} }}
patience = {{ give_up_secs = 120, busy_answers = 2, retry_probability = 0.8, come_back_secs = 30 }}
[[attackers]]
name = "fleet"
realism = "{realism}"
rate = [[0, 0.0], [60, {peak}], [240, {peak}], [241, 0.0], [300, 0.0]]
budget = {budget}
networks = {{ home = 1.0 }}
"#,
        fill.0, fill.1
    ))
    .unwrap()
}

/// Three fleets pushing the origin past capacity: a browser farm, forged signals, full headers.
fn shapes() -> [Scenario; 3] {
    [
        surge(60, (30, 80), "browser_farm", "{ devices = 200 }", 3.0),
        surge(40, (20, 50), "forged_signals", "{ cores = 64 }", 4.0),
        surge(90, (45, 120), "full_headers", "{ cores = 32 }", 2.5),
    ]
}

fn play(s: &Scenario, widget: Widget, seed: u64) -> Report {
    play_exporting(s, widget, seed, None)
}

/// As [`play`], with every request the run makes written to `export`.
fn play_exporting(s: &Scenario, widget: Widget, seed: u64, export: Option<&mut Vec<Exported>>) -> Report {
    let lowered = drill::prepare(s, drill::SHIPPED_POLICY).unwrap();
    let priced = compare::with_capacity(s, &lowered);
    engine::run(s, &Defence::Gate(Box::new(priced), "capacity".into(), widget), seed, None, export)
}

fn pop<'a>(r: &'a Report, name: &str) -> &'a gate::drill::report::PopStats {
    r.populations.iter().find(|p| p.name == name).unwrap()
}

fn felt_p95(r: &Report) -> u64 {
    r.people.felt.iter().map(|f| f.p95_ms).max().unwrap_or(0)
}

#[test]
fn banking_tops_up_moved_prices_and_bots_pay_every_hash() {
    let shapes = shapes();
    // people admitted (before, banked) and offered, over every shape and seed: one run's
    // share moves by a few points with its own random draws
    let mut people = [(0u64, 0u64); 2];
    // per run: how much longer banked people's median felt wait is than solving on focus plus
    // the top-up's round trip (0: not longer)
    let mut extra_p50 = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        for seed in [1, 2] {
            let before = play(s, Widget::SolveOnFocus, seed);
            let banked = play(s, Widget::Banking, seed);
            let people_k = pop(&banked, "people");
            let why = format!("shape {i}, seed {seed}\n{}\n{}", before.table(), banked.table());
            // a price that moved while people typed is topped up: nobody ends on more_work or
            // risk_increased, and the widget made top-ups
            for code in ["more_work", "risk_increased"] {
                assert_eq!(people_k.refused.get(code), None, "{why}");
            }
            assert!(people_k.topups > 0, "{why}");
            assert!(people_k.topup_hashes > 0.0, "{why}");
            // the felt wait is over everyone who tried, every device class reported
            let tried: u64 = banked.people.felt.iter().map(|f| f.people).sum();
            assert_eq!(tried, people_k.offered, "{why}");
            assert!(banked.people.felt.len() == 2, "{why}");
            // the typical person feels no more than before: the top-up asks one more round
            // trip. Compared over the runs (the median run), not run by run: in the heaviest
            // overload (shape 1) runs spread as widely between seeds as between widgets (seed
            // 2: 0.76 s banked against 0.08 s solving on focus; docs/drill.md). (The p95 is not
            // compared: under overload banking admits people who were shed before, and their
            // top-ups are part of the tail.)
            let p50 = |r: &Report| r.people.felt.iter().map(|f| f.p50_ms).max().unwrap_or(0);
            let rtt = u64::from(s.drill.rtt_ms);
            extra_p50.push(p50(&banked).saturating_sub(p50(&before) + 2 * rtt + 100));
            assert!(felt_p95(&banked) >= p50(&banked), "{why}");
            for (sum, r) in people.iter_mut().zip([&before, &banked]) {
                sum.0 += r.people.admitted;
                sum.1 += r.people.offered;
            }
            // bots have no fill time: their top-ups are charged to their cores or devices
            let fleet = pop(&banked, "fleet");
            let rate = s.devices.iter().map(|d| d.hash_rate * f64::from(d.threads)).fold(0.0, f64::max);
            let charged = fleet.core_seconds + fleet.gpu_seconds;
            assert!(charged * rate.max(1.0e9) >= fleet.topup_hashes, "{why}");
            if fleet.topups > 0 {
                assert!(charged > 0.0, "{why}");
            }
        }
    }
    extra_p50.sort_unstable();
    assert_eq!(extra_p50[extra_p50.len() / 2], 0, "median felt wait over the runs: {extra_p50:?}");
    let share = |(admitted, offered): (u64, u64)| 100.0 * admitted as f64 / offered as f64;
    assert!(share(people[1]) + 3.0 >= share(people[0]), "people admitted {people:?}");
}

#[test]
fn nobody_waits_past_their_patience_for_work_the_gate_asks() {
    // impatient people facing a price that rises past what their devices do in a few seconds:
    // whether the work is a fresh challenge or a top-up after submit, they leave at their
    // limit, and the felt wait records their patience, not the work they left undone
    for (i, give_up) in [(0, 2u32), (1, 5), (2, 9)] {
        let mut s = match i {
            0 => surge(20, (5, 15), "browser_farm", "{ devices = 400 }", 8.0),
            1 => surge(40, (20, 50), "forged_signals", "{ cores = 64 }", 6.0),
            _ => surge(30, (10, 40), "stealth", "{ devices = 300 }", 5.0),
        };
        for p in &mut s.people {
            p.patience.give_up_secs = give_up;
        }
        let rtt = u64::from(s.drill.rtt_ms);
        let mut gave_up = 0;
        for widget in [Widget::SolveOnFocus, Widget::Banking] {
            let r = play(&s, widget, 5);
            let why = format!("shape {i}, {widget:?}\n{}", r.table());
            for f in &r.people.felt {
                assert!(f.max_ms <= u64::from(give_up) * 1000 + 2 * rtt, "{} {why}", f.device);
                assert!(f.p95_ms <= f.max_ms, "{why}");
            }
            gave_up += pop(&r, "people").gave_up;
        }
        assert!(gave_up > 0, "shape {i}: nobody was kept waiting past {give_up} s");
    }
}

#[test]
fn people_who_come_back_after_busy_retry_with_their_own_patience() {
    // a tight origin: the fleet makes the gate shed; people come back after ~30 s
    let s = surge(20, (10, 30), "browser_farm", "{ devices = 400 }", 8.0);
    let r = play(&s, Widget::Banking, 3);
    let people = pop(&r, "people");
    let why = r.table();
    assert!(people.ever_shed > 0, "{why}");
    // some of those who were shed came back and got in (busy_answers and retries happen)
    assert!(people.ever_shed > people.shed, "{why}");
    let refused: u64 = people.refused.values().sum();
    assert_eq!(
        people.offered,
        people.admitted + refused + people.shed + people.gave_up + people.declined + people.unfinished,
        "{why}"
    );
}

#[test]
fn fill_times_follow_their_median_and_90th_percentile() {
    for (median, p90) in [(30.0, 80.0), (8.0, 20.0), (45.0, 45.0), (2.0, 60.0)] {
        let fill = Fill { median_secs: median, p90_secs: p90 };
        let mut rng = Rng::new(median as u64 * 1000 + p90 as u64);
        let mut draws: Vec<u64> = (0..20_000).map(|_| fill.draw_ms(&mut rng)).collect();
        draws.sort_unstable();
        let at = |q: f64| draws[((draws.len() as f64) * q) as usize] as f64 / 1000.0;
        assert!((at(0.5) / median - 1.0).abs() < 0.05, "median {median}: {}", at(0.5));
        assert!((at(0.9) / p90 - 1.0).abs() < 0.06, "p90 {p90}: {}", at(0.9));
    }
    assert_eq!(Fill::default().draw_ms(&mut Rng::new(1)), 0);
}

/// Every shape under capacity pricing with banking, seeds 1, 3, 5 and 7 (a post answered 402
/// is rare: two seeds did not meet it once the signals carried a stamp): (label, report, requests),
/// played once for the tests that read the requests.
fn banking_runs() -> &'static [(String, Report, Vec<Exported>)] {
    static RUNS: OnceLock<Vec<(String, Report, Vec<Exported>)>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let mut runs = Vec::new();
        for (i, s) in shapes().iter().enumerate() {
            for seed in [1, 3, 5, 7] {
                let mut out = Vec::new();
                let r = play_exporting(s, Widget::Banking, seed, Some(&mut out));
                runs.push((format!("shape {i}, seed {seed}"), r, out));
            }
        }
        runs
    })
}

/// A price that moved after the widget's last top-up meets the post: a plain form gets the
/// gate's top-up page, whose widget adds the rest to the work it carries and posts by itself
/// once the page has loaded (a round trip, not a return to the form seconds later), never
/// solving a new challenge; a script reads the 402 and tops up at once.
#[test]
fn a_person_whose_post_is_answered_more_work_tops_up_the_kept_work_on_the_page() {
    let (mut people_402, mut fleet_topped_up) = (0, 0);
    let rtts: Vec<u64> = shapes().iter().map(|s| u64::from(s.drill.rtt_ms)).collect();
    for (why, r, out) in banking_runs() {
        let mut people_here = 0;
        for (k, e) in out.iter().enumerate() {
            if e.step != "submit" || e.answer != "more_work" {
                continue;
            }
            let after = out[k + 1..].iter().find(|n| n.attempt == e.attempt);
            let next = after.map(|n| n.step);
            if e.population == "people" {
                people_here += 1;
                assert_eq!(next, Some("topup"), "{why}: the kept work is topped up");
                let back = after.map_or(0, |n| n.t_ms - e.t_ms);
                assert!(
                    rtts.contains(&back),
                    "{why}: the page's top-up {back} ms after the 402, not a round trip"
                );
            } else if next == Some("topup") {
                fleet_topped_up += 1;
            }
        }
        assert_eq!(pop(r, "people").more_work_at_post, people_here, "{why}");
        people_402 += people_here;
    }
    // the runs do meet the case, on both sides
    assert!(people_402 > 0 && fleet_topped_up > 0, "people {people_402}, fleet {fleet_topped_up}");
}

/// A price can move while the widget solves the top-up asked on submit (minutes on a slow
/// phone): it asks the price again before the form goes, while the solution has room for
/// another part, so the post is not answered 402 for a move it could have seen.
#[test]
fn a_person_asks_the_price_again_after_solving_a_top_up_on_submit() {
    let mut asked_again = 0;
    for (why, _, out) in banking_runs() {
        // per attempt: the parts offered since its challenge, and whether a top-up solved
        // on submit (not while typing) is still to be followed by a price check
        let mut parts: HashMap<u64, (usize, bool)> = HashMap::new();
        for e in out.iter().filter(|e| e.population == "people") {
            let (offered, pending) = parts.entry(e.attempt).or_default();
            match e.step {
                "challenge" => (*offered, *pending) = (0, false),
                "topup" => {
                    asked_again += u32::from(*pending);
                    *pending = false;
                    if e.answer == "topup" {
                        *offered += 1;
                        *pending = e.want == 0 && *offered < MAX_TOP_UPS;
                    }
                }
                "submit" => assert!(
                    !*pending,
                    "{why}: attempt {} posted straight after a top-up solved on submit",
                    e.attempt
                ),
                _ => {}
            }
        }
    }
    assert!(asked_again > 0, "the runs meet the case");
}
