use super::*;
use crate::drill::scenario::{self, Scenario};
use proptest::prelude::*;

fn scenario(extra: &str) -> Scenario {
    scenario::load(&format!(
        r#"
version = 1
name = "t"
duration_secs = 600
[origin]
signup_capacity_per_min = 10
[[networks]]
name = "a"
kind = "residential"
asns = 5
[[networks]]
name = "b"
kind = "mobile"
asns = 5
[[attackers]]
name = "f"
realism = "full_headers"
rate = [[0, 1.0], [600, 1.0]]
budget = {{ cores = 10 }}
networks = {{ a = 1.0, b = 1.0 }}
countries = {{ US = 1.0, DE = 1.0 }}
{extra}
"#
    ))
    .unwrap()
}

#[test]
fn money_is_solver_seconds_times_the_hourly_price() {
    let m = Money { core_hour: 0.036, gpu_hour: 1.8, currency: "USD".into() };
    assert!((money(&m, 3600.0, false) - 0.036).abs() < 1e-12);
    assert!((money(&m, 100.0, false) - 0.001).abs() < 1e-12);
    assert!((money(&m, 100.0, true) - 0.05).abs() < 1e-12);
}

#[test]
fn the_expected_cost_is_k_times_two_to_the_difficulty_over_the_rate() {
    let b = Budget { solvers: 1, hash_rate: 1.0e6, gpu: false, devices: false };
    assert!((expected_cost(&b, None, 20, 32) - 32.0 * 1_048_576.0 / 1.0e6).abs() < 1e-9);
    // a device pays its busy threads' time: the same core-seconds at its per-thread rate
    let d = Device { name: "phone".into(), hash_rate: 2.0e6, threads: 4, overhead_ms: 0, mobile: true };
    let dev = Budget { solvers: 1, hash_rate: 0.0, gpu: false, devices: true };
    assert!((expected_cost(&dev, Some(&d), 20, 32) - 32.0 * 1_048_576.0 / 2.0e6).abs() < 1e-9);
}

#[test]
fn a_fleet_with_a_price_ceiling_waits_or_stops_when_the_price_passes_it() {
    let wait = scenario("ceiling = { solver_seconds = 10, then = \"wait\", wait_secs = 120 }");
    let a = &wait.attackers[0];
    let mut f = FleetState::new(a);
    assert_eq!(f.decide(a, &wait.money, 9.9, 1_000), Decision::Solve);
    assert!(f.active(1_000));
    assert_eq!(f.decide(a, &wait.money, 10.1, 1_000), Decision::HoldBack);
    assert!(!f.active(120_999) && f.active(121_000));
    let stop = scenario("ceiling = { money = 0.001, then = \"stop\" }");
    let a = &stop.attackers[0];
    let mut f = FleetState::new(a);
    // 0.001 at 0.01 per core-hour is 360 core-seconds
    assert_eq!(f.decide(a, &stop.money, 359.0, 0), Decision::Solve);
    assert_eq!(f.decide(a, &stop.money, 361.0, 0), Decision::HoldBack);
    assert!(!f.active(u64::MAX));
}

proptest! {
    /// Moving to the cheapest: once every option has a price, nine attempts in ten (and the
    /// exploring tenth now and then) go to the cheapest network and country.
    #[test]
    fn a_fleet_moves_to_the_cheapest_option(prices in proptest::collection::vec(1.0f64..1000.0, 4), seed in 0u64..1000) {
        let s = scenario("cheapest_cohort = true");
        let a = &s.attackers[0];
        let factory = Factory::new(&s, "example.com");
        let mut f = FleetState::new(a);
        prop_assert_eq!(f.options.len(), 4);
        let sources: Vec<Source> = f.options.iter().map(|o| o.0.clone()).collect();
        for (o, p) in sources.iter().zip(&prices) {
            f.observe(o.network, &o.country, *p);
        }
        let best = prices.iter().cloned().fold(f64::INFINITY, f64::min);
        let mut rng = crate::drill::rng::Rng::new(seed);
        let mut hits = 0;
        for _ in 0..400 {
            let (loc, cc) = f.choose(&mut rng, a, &factory);
            let i = sources.iter().position(|o| o.network == loc.network && o.country == cc);
            if i.is_some_and(|i| prices[i] == best) {
                hits += 1;
            }
        }
        prop_assert!(hits >= 330, "{} of 400 to the cheapest", hits);
    }

    /// A stockpiling fleet holds each solution for the next burst: never earlier than ready,
    /// less than one period later, on the period's grid.
    #[test]
    fn stockpiled_solutions_go_out_in_the_next_burst(ready in 0u64..10_000_000, every in 1u32..280) {
        let s = scenario(&format!("stockpile = {{ every_secs = {every} }}"));
        let at = FleetState::submit_at(&s.attackers[0], ready);
        let period = u64::from(every) * 1000;
        prop_assert!(at >= ready && at < ready + period && at.is_multiple_of(period));
    }
}
