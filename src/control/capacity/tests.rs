use super::*;
use crate::policy::Counter;

/// A fluid model of a route with virtual time: each cohort tries `demand` sign-ups per
/// minute at the base price; a rational solver's rate halves per extra bit ("elastic"),
/// people keep signing up whatever the price ("inelastic") until shed.
struct Sim {
    p: Params,
    ctl: Controller,
    site: Counter,
    counters: BTreeMap<String, Counter>,
    now: u64,
    /// Cohorts this isolate reads only at one tick in so many (too rare here to be read every
    /// period: a driver passes only the counters its shards answered lately); 0: never.
    rarely: BTreeMap<String, u32>,
    ticks: u32,
}

const W: u32 = 60;

impl Sim {
    fn new(capacity: u32) -> Sim {
        Sim {
            p: Params::new(capacity, 8),
            ctl: Controller::default(),
            site: Counter::default(),
            counters: BTreeMap::new(),
            now: 1_000_000_000,
            rarely: BTreeMap::new(),
            ticks: 0,
        }
    }

    /// Runs `secs` seconds; returns the admitted per-minute rate of each cohort over the
    /// last 60 s and the prices seen at the end.
    fn run(&mut self, secs: u64, cohorts: &[(&str, f64, bool)]) -> BTreeMap<String, f64> {
        let mut admitted: BTreeMap<String, f64> = BTreeMap::new();
        for s in 0..secs {
            self.now += 1000;
            for (key, demand, elastic) in cohorts {
                let n = match self.ctl.price(&self.p, &[key]) {
                    Price::Shed(_) => 0.0,
                    Price::Extra(b) if *elastic => demand / 2f64.powi(i32::from(b)) / 60.0,
                    Price::Extra(_) => demand / 60.0,
                };
                let c = self.counters.entry((*key).to_string()).or_default();
                let add =
                    |c: &Counter| Counter { value: c.at(self.now as f64, W) + n, at_ms: self.now as f64 };
                *c = add(c);
                self.site = add(&self.site);
                if s + 60 >= secs {
                    *admitted.entry((*key).to_string()).or_default() += n;
                }
            }
            let due = self.ctl.due(&self.p, self.now);
            self.ticks += u32::from(due);
            let ticks = self.ticks;
            let read = |k: &str| self.rarely.get(k).is_none_or(|n| *n > 0 && ticks.is_multiple_of(*n));
            let readings: Vec<(String, f64)> = self
                .counters
                .iter()
                .filter(|(k, _)| read(k))
                .map(|(k, c)| (k.clone(), c.at(self.now as f64, W)))
                .collect();
            let site = self.site.at(self.now as f64, W);
            self.ctl.tick(&self.p, W, site, &readings, self.now);
            if due {
                self.ctl.tick_line(&self.p, None, self.now);
            }
        }
        admitted
    }

    fn extra(&self, key: &str) -> Price {
        self.ctl.price(&self.p, &[key])
    }
}

fn total(m: &BTreeMap<String, f64>) -> f64 {
    m.values().sum()
}

#[test]
fn a_spike_is_held_near_capacity_and_the_small_cohort_keeps_the_base_price() {
    let mut sim = Sim::new(300);
    let normal = [("asn:1", 120.0, false), ("asn:2", 60.0, false), ("asn:3", 20.0, false)];
    // an hour of normal traffic teaches the usual shares; no price moves
    let a = sim.run(3600, &normal);
    assert!((total(&a) - 200.0).abs() < 1.0);
    assert_eq!(sim.ctl.changes, (0, 0));
    // a bot network arrives with enough compute for 4,000 sign-ups a minute at base price
    let mut spike = normal.to_vec();
    spike.push(("asn:666", 4000.0, true));
    let first = sim.run(60, &spike);
    let held = sim.run(240, &spike);
    assert!(total(&first) < 4000.0 * 0.5, "it reacts within the first minute: {first:?}");
    let t = total(&held);
    assert!((300.0 * 0.6..=300.0 * 0.95).contains(&t), "held near capacity: {t:.0}/min {held:?}");
    assert_eq!(sim.extra("asn:3"), Price::Extra(0), "the small cohort keeps the base price");
    assert_eq!(sim.extra("asn:1"), Price::Extra(0));
    assert!(matches!(sim.extra("asn:666"), Price::Extra(b) if b >= 4), "{:?}", sim.extra("asn:666"));
}

#[test]
fn the_forecast_leads_a_rising_price_and_falls_back_a_minute_after_the_last_raise() {
    let mut sim = Sim::new(300);
    let normal = [("asn:1", 150.0, false), ("asn:2", 50.0, false)];
    sim.run(3600, &normal);
    let f = |sim: &Sim, key: &str| sim.ctl.forecast(&sim.p, &[key], sim.now);
    assert_eq!(f(&sim, "asn:1"), 0, "calm: the suggestion is the price");
    let mut spike = normal.to_vec();
    spike.push(("asn:666", 3000.0, true));
    // a few periods into the spike: the bot cohort is being raised and the forecast is ahead
    sim.run(25, &spike);
    let Price::Extra(now) = sim.extra("asn:666") else { panic!("not shed yet") };
    assert!(f(&sim, "asn:666") > now, "forecast {} over price {now}", f(&sim, "asn:666"));
    assert!(f(&sim, "asn:666") <= sim.p.ceiling);
    // settled (no raise for a minute): the forecast is the price again
    sim.run(600, &spike);
    let Price::Extra(held) = sim.extra("asn:666") else { panic!("held, not shed") };
    assert_eq!(f(&sim, "asn:666"), held);
    assert_eq!(f(&sim, "asn:1"), 0, "people's cohort was never raised");
}

#[test]
fn it_does_not_oscillate_once_settled_and_relaxes_when_the_spike_stops() {
    let mut sim = Sim::new(300);
    let normal = [("asn:1", 150.0, false), ("asn:2", 50.0, false)];
    sim.run(3600, &normal);
    let mut spike = normal.to_vec();
    spike.push(("asn:666", 3000.0, true));
    sim.run(120, &spike);
    let settled = sim.ctl.changes;
    let before = sim.extra("asn:666");
    // 30 more minutes of the same spike: no price moves at all
    sim.run(1800, &spike);
    assert_eq!(sim.ctl.changes, settled, "no oscillation");
    assert_eq!(sim.extra("asn:666"), before);
    // the spike stops: step by step back to the base price
    sim.run(600, &normal);
    assert_eq!(sim.extra("asn:666"), Price::Extra(0));
    assert!(sim.ctl.changes.1 >= 1);
}

#[test]
fn a_cohort_past_the_ceiling_is_shed_and_let_back_in_after_it_stops() {
    let mut sim = Sim::new(100);
    let normal = [("asn:1", 50.0, false)];
    sim.run(3600, &normal);
    // humans (inelastic) from one network far above capacity: pricing cannot hold them
    let mut flood = normal.to_vec();
    flood.push(("asn:9", 2000.0, false));
    let held = sim.run(600, &flood);
    assert_eq!(sim.extra("asn:9"), Price::Shed("asn:9".into()));
    assert_eq!(sim.extra("asn:1"), Price::Extra(0));
    assert!(held.get("asn:9").copied().unwrap_or(0.0) < 1.0, "{held:?}");
    // it stops; its presumed demand decays and it is let back in, step by step
    sim.run(3600, &normal);
    assert_eq!(sim.extra("asn:9"), Price::Extra(0));
}

#[test]
fn a_uniform_overload_raises_everyone_step_by_step_without_shedding() {
    let mut sim = Sim::new(100);
    let normal = [("asn:1", 20.0, true), ("asn:2", 20.0, true), ("asn:3", 20.0, true)];
    sim.run(3600, &normal);
    let grown = [("asn:1", 50.0, true), ("asn:2", 50.0, true), ("asn:3", 50.0, true)];
    let held = sim.run(300, &grown);
    assert_eq!(sim.ctl.global(), 1, "one bit halves 150/min to 75/min:");
    assert!(total(&held) <= 90.0, "{held:?}");
    let settled = sim.ctl.changes;
    sim.run(1800, &grown);
    assert_eq!(sim.ctl.changes, settled, "no oscillation");
    for k in ["asn:1", "asn:2", "asn:3"] {
        assert!(matches!(sim.extra(k), Price::Extra(_)), "nobody is shed");
    }
    sim.run(600, &normal);
    assert_eq!(sim.ctl.global(), 0);
}

#[test]
fn an_isolate_takes_its_own_last_minute_exactly_and_never_past_capacity() {
    let mut c = Controller::default();
    assert_eq!(c.full_here_secs(3, 0), 0);
    for t in [0, 10_000, 20_000] {
        assert_eq!(c.hold(3, t), 0, "room at {t}");
    }
    // a fourth is not taken, however often it asks, until the first ages out
    assert_eq!(c.hold(3, 20_000), 41, "full until the first ages out of a minute and a second");
    assert_eq!(c.hold(3, 60_000), 1);
    assert_eq!(c.full_here_secs(3, 60_999), 1);
    assert_eq!(c.hold(3, 61_000), 0, "a sliding window, not a decaying one");
    assert_eq!(c.hold(3, 61_000), 10, "the one just taken counts: full until the second ages out");
    assert_eq!(c.full_here_secs(0, 70_000), 0, "no capacity: never full");
    // generated: whatever the arrival times, no window of a minute and a second holds more
    // than capacity, and every arrival finding room is taken
    let mut x = 0x51_7cc1_b727_220a_u64;
    for cap in [1u32, 5, 20] {
        let mut c = Controller::default();
        let (mut t, mut taken) = (0u64, Vec::new());
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += x % 9_000;
            let room = c.full_here_secs(cap, t) == 0;
            if c.hold(cap, t) == 0 {
                assert!(room);
                taken.push(t);
            } else {
                assert!(!room);
            }
        }
        for (i, a) in taken.iter().enumerate() {
            let within = taken[i..].iter().take_while(|b| **b - a < HERE_WINDOW_MS).count();
            assert!(
                within <= cap as usize,
                "{within} taken within a minute and a second from {a}, capacity {cap}"
            );
        }
    }
}

fn with_line(capacity: u32) -> Sim {
    let mut sim = Sim::new(capacity);
    sim.p.line = true;
    sim
}

#[test]
fn with_a_line_a_uniform_overload_opens_the_line_and_raises_no_price() {
    let mut sim = with_line(100);
    let normal = [("asn:1", 20.0, true), ("asn:2", 20.0, true), ("asn:3", 20.0, true)];
    sim.run(3600, &normal);
    assert_eq!(sim.ctl.serving(&sim.p, None, sim.now), None, "no line under capacity");
    let grown = [("asn:1", 50.0, true), ("asn:2", 50.0, true), ("asn:3", 50.0, true)];
    sim.run(300, &grown);
    assert_eq!(sim.ctl.global(), 0, "no site-wide price: the line rations");
    assert!(sim.ctl.raised().is_empty(), "{:?}", sim.ctl.raised());
    assert!(sim.ctl.serving(&sim.p, None, sim.now).is_some(), "a line is open");
    sim.run(900, &normal);
    assert_eq!(sim.ctl.serving(&sim.p, None, sim.now), None, "the line closes once the load is back");
}

#[test]
fn with_a_line_a_cold_controller_raises_no_big_cohort() {
    // cold in the middle of a crowd: a big country and a big carrier are most of the load,
    // but nothing is known of their usual share
    let mut sim = with_line(100);
    let crowd = [("country:US", 140.0, false), ("asn:7922", 60.0, false), ("asn:3", 10.0, false)];
    sim.run(600, &crowd);
    assert!(sim.ctl.raised().is_empty(), "{:?}", sim.ctl.raised());
    assert_eq!(sim.ctl.global(), 0);
    // without a line the biggest contributor is priced first, as before
    let mut old = Sim::new(100);
    old.run(600, &crowd);
    assert!(old.ctl.raised().iter().any(|(k, _)| k == "country:US"), "{:?}", old.ctl.raised());
}

#[test]
fn with_a_line_a_cohort_that_stands_out_is_still_priced() {
    let mut sim = with_line(300);
    let normal = [("asn:1", 120.0, false), ("asn:2", 60.0, false)];
    sim.run(3600, &normal);
    let attack = [("asn:1", 120.0, false), ("asn:2", 60.0, false), ("asn:666", 600.0, true)];
    sim.run(300, &attack);
    let raised = sim.ctl.raised();
    assert!(raised.iter().any(|(k, b)| k == "asn:666" && *b >= 2), "{raised:?}");
    assert!(!raised.iter().any(|(k, _)| k == "asn:1" || k == "asn:2"), "{raised:?}");
}

#[test]
fn it_is_due_once_per_period_and_says_so_before_a_tick() {
    let p = Params::new(100, 8);
    let mut ctl = Controller::default();
    assert!(ctl.due(&p, 0));
    ctl.tick(&p, 60, 0.0, &[], 1_000);
    assert!(!ctl.due(&p, 1_000));
    assert!(!ctl.due(&p, 10_999));
    assert!(ctl.due(&p, 11_000));
    assert!(!ctl.tick(&p, 60, 5.0, &[], 5_000), "a tick before the period does nothing");
}

#[test]
fn with_a_line_a_crowd_of_the_usual_mix_raises_no_cohort_this_isolate_rarely_reads() {
    // people from three countries; this isolate reads the smaller two only now and then (one
    // tick in `every`, or never while calm) and the crowd brings the same mix, `times` over
    for every in [0, 2, 3, 6, 30] {
        for times in [2.0, 3.5, 6.0] {
            let mut sim = with_line(300);
            for k in ["country:US", "country:DE"] {
                sim.rarely.insert(k.to_string(), every);
            }
            let calm =
                [("country:GB", 120.0, false), ("country:US", 40.0, false), ("country:DE", 30.0, false)];
            sim.run(1800, &calm);
            let crowd: Vec<(&str, f64, bool)> = calm.iter().map(|(k, d, e)| (*k, d * times, *e)).collect();
            // once the crowd comes, every cohort is read each period (the line's requests)
            sim.rarely.clear();
            sim.run(600, &crowd);
            assert!(sim.ctl.raised().is_empty(), "every {every}, {times}x: {:?}", sim.ctl.raised());
            assert_eq!(sim.ctl.global(), 0);
            assert!(sim.ctl.serving(&sim.p, None, sim.now).is_some(), "the line rations it");
        }
    }
}

#[test]
fn with_a_line_a_new_network_that_stands_out_is_priced_where_its_kind_is_known() {
    // the usual networks are known well (read every period) or in part (one of them rarely);
    // an attacking network new to the isolate is most of the load
    for every in [1, 3, 6] {
        for bots in [400.0, 900.0, 3000.0] {
            let mut sim = with_line(300);
            sim.rarely.insert("asn:3".to_string(), every);
            let normal = [("asn:1", 100.0, false), ("asn:2", 60.0, false), ("asn:3", 20.0, false)];
            sim.run(1800, &normal);
            sim.rarely.clear();
            let mut attack = normal.to_vec();
            attack.push(("asn:666", bots, true));
            sim.run(300, &attack);
            let raised = sim.ctl.raised();
            assert!(
                raised.iter().any(|(k, b)| k == "asn:666" && *b >= 2),
                "every {every}, {bots}: {raised:?}"
            );
            assert!(raised.iter().all(|(k, _)| k == "asn:666"), "every {every}, {bots}: {raised:?}");
        }
    }
}
