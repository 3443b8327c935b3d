//! The report's figures: minutes after the scenario's end, the most any gate could admit,
//! percentiles, capacity minutes and money.

use super::*;

#[test]
fn minutes_after_the_end_are_minutes_of_their_own_for_the_origin_and_the_capacity_figures() {
    let s = crate::drill::scenario::load(include_str!("../../../drills/crowd-spike.toml"));
    let Ok(s) = s else { panic!("scenario: {s:?}") };
    // 40 minutes at 240 a minute: the last at capacity, then two after the end, each with
    // its own count
    let mut r = Report::new(&s, &Defence::NoGate, 1, 40);
    r.minutes_mut(39).signups_forwarded = 240;
    r.minutes_mut(40).signups_forwarded = 250;
    r.minutes_mut(41).signups_forwarded += 100;
    r.minutes_mut(41).signups_forwarded += 100;
    assert_eq!(r.minutes.len(), 40, "the timeline is the scenario's");
    assert_eq!(r.minutes_mut(39).signups_forwarded, 240);
    assert_eq!(r.minutes_mut(41).signups_forwarded, 200);
    // bounded: far past the end is scratch
    r.minutes_mut(40 + AFTER_END_MINUTES).signups_forwarded = 999;
    assert_eq!(r.after_end.len(), 2);
    r.finish(&s, &[], &HashSet::new(), &HashSet::new(), &HashSet::new());
    assert_eq!(r.minutes_over_capacity, 1, "minute 40 (250 of 240) is over; 39 and 41 are not");
}

#[test]
fn the_most_people_any_gate_could_admit_is_capacity_bound_only_when_arrivals_outrun_it() {
    // under capacity every minute: everyone
    assert_eq!(most_admissible(&[50, 90, 100, 10], 100), 250);
    // a spike the minutes after it can absorb: everyone
    assert_eq!(most_admissible(&[300, 0, 0, 0], 100), 300);
    // a spike at the end cannot be served after the end
    assert_eq!(most_admissible(&[0, 0, 0, 300], 100), 100);
    assert_eq!(most_admissible(&[10, 10, 250, 100], 100), 20 + 100 + 100);
    assert_eq!(most_admissible(&[5, 5], 0), 10, "no capacity stated");
    // generated: never more than arrived, never more than the minutes' capacity, and
    // exactly what a minute-by-minute first-come service with nobody leaving admits
    let mut x = 0x2545_f491_u64;
    for _ in 0..500 {
        let arrivals: Vec<u64> = (0..30)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % 400
            })
            .collect();
        let cap = 100 + x % 200;
        let most = most_admissible(&arrivals, cap);
        assert!(most <= arrivals.iter().sum::<u64>() && most <= cap * 30);
        let (mut waiting, mut served) = (0u64, 0u64);
        for a in &arrivals {
            waiting += a;
            let now = waiting.min(cap);
            served += now;
            waiting -= now;
        }
        assert_eq!(most, served, "first come, first served with no one leaving reaches it");
    }
}

#[test]
fn percentiles_of_sorted_samples() {
    let v: Vec<u32> = (1..=100).collect();
    assert_eq!(percentile(&v, 0.5), 51);
    assert_eq!(percentile(&v, 0.95), 95);
    assert_eq!(percentile(&[], 0.5), 0);
}

#[test]
fn capacity_minutes_count_runs_over_and_line_minutes_under_95_percent() {
    let m = |forwarded: u64, line_answers: u64| Minute {
        signups_forwarded: forwarded,
        line_answers,
        ..Minute::default()
    };
    // capacity 100: over, over, at, over (runs of 2 and 1); line minutes at 150, 94, 95, 101; and
    // a minute at 10 with no line is not a line minute
    let minutes = [m(101, 0), m(150, 3), m(100, 0), m(94, 1), m(95, 7), m(101, 2), m(10, 0)];
    assert_eq!(
        CapacityMinutes::of(&minutes, 100),
        CapacityMinutes { over: 3, longest_over_run: 2, line: 4, line_under: 1 }
    );
    assert_eq!(CapacityMinutes::of(&[], 100), CapacityMinutes::default());
}

#[test]
fn money_keeps_its_small_digits() {
    assert_eq!(money_text(0.000_123, "USD"), "0.000123 USD");
    assert_eq!(money_text(0.0123, "USD"), "0.0123 USD");
    assert_eq!(money_text(1.5, "EUR"), "1.50 EUR");
    assert_eq!(money_text(1234.4, "USD"), "1234 USD");
}
