//! The usual share (`[otp.surge]`, issue 20 item 2) through the pipeline: a site whose people
//! asked for codes in five countries for hours has learned each range's usual share of its
//! codes. A pump whose owner enters its own codes (conversion cannot see it) stands out by
//! volume where the site's codes do not usually go and pays more per code; a crowd of the usual
//! mix, however large, keeps every share where it was and pays nothing more. A country whose
//! own people surge pays the surge price too: the cost, measured here.
//!
//! Shapes: the pump in one range, spread over the ranges of one calling code, and none; the
//! crowd at five times the rate; one country at ten times its own.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use common::otp::*;

/// People's ranges: France, Britain, Germany, India, Brazil.
const PEOPLE: [&str; 5] = ["+33 6 1", "+44 7400", "+49 1512", "+91 98100", "+55 11 9"];

/// The test policy with the usual share learned over a day, trusted from 100 codes.
fn surge_gate() -> Gate {
    gate_with(&format!("{OTP}[otp.surge]\nusual_days = 1\nwarm_up_sends = 100\n"))
}

/// Numbers to send to, per range, handed out one by one.
struct Numbers(Vec<Vec<String>>);

impl Numbers {
    fn of(ranges: &[&str], each: usize) -> Numbers {
        Numbers(ranges.iter().map(|r| numbers_in(r, each)).collect())
    }
    fn next(&mut self, i: usize) -> String {
        let n = self.0.len();
        self.0[i % n].pop().expect("enough numbers")
    }
}

/// Twelve hours before `NOW`: a code every 43 s, in turn in the people's ranges (`weights`
/// times in a row for each), entered.
fn with_history(mut g: Gate, people: &mut Numbers, weights: &[usize]) -> Gate {
    let turns = turns(weights);
    for i in 0..1000u64 {
        g.now = NOW.minus(43_000 - 43 * i);
        let number = people.next(turns[i as usize % turns.len()]);
        assert_eq!(send(&mut g, &number).0, Got::Base, "history");
        check(&mut g, &number, true);
    }
    g
}

/// Ten minutes from `NOW`: people ask for a code every `every` seconds in turn in their ranges
/// (`weights` times in a row for each) and enter it; the pump asks once a second in turn in
/// `pumped` and enters every code too. What each side's sends came to.
fn play(
    g: &mut Gate,
    people: &mut Numbers,
    weights: &[usize],
    every: u64,
    pumped: &[&str],
) -> (Vec<Got>, Vec<Got>) {
    let turns: Vec<usize> =
        weights.iter().enumerate().flat_map(|(i, w)| std::iter::repeat_n(i, *w)).collect();
    let mut pump = Numbers::of(pumped, 600 / pumped.len().max(1) + 1);
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let mut turn = 0;
    for t in 0..600u64 {
        g.now = NOW.plus(t);
        if !pumped.is_empty() {
            let number = pump.next(t as usize);
            let got = send(g, &number).0;
            ours.push(got);
            check(g, &number, true);
        }
        if t % every == 0 {
            let number = people.next(turns[turn % turns.len()]);
            turn += 1;
            theirs.push(send(g, &number).0);
            check(g, &number, true);
        }
    }
    (theirs, ours)
}

/// Each range's index `weight` times in a row.
fn turns(weights: &[usize]) -> Vec<usize> {
    weights.iter().enumerate().flat_map(|(i, w)| std::iter::repeat_n(i, *w)).collect()
}

fn count(v: &[Got], what: Got) -> usize {
    v.iter().filter(|g| **g == what).count()
}

#[test]
fn a_pump_that_enters_its_codes_stands_out_by_volume_and_pays_more_while_people_do_not() {
    for pumped in [&["+996 500"][..], &["+996 500", "+996 700", "+996 550", "+996 770", "+996 990"][..]] {
        let mut people = Numbers::of(&PEOPLE, 400);
        let mut g = with_history(surge_gate(), &mut people, &[1; 5]);
        let (theirs, ours) = play(&mut g, &mut people, &[1; 5], 5, pumped);
        println!("{pumped:?}: pump {} of {} dearer", count(&ours, Got::Dearer), ours.len());
        // every code entered: conversion alone never prices it; its volume does, after the
        // first min_sends (10) codes to it
        assert!(count(&ours, Got::Dearer) >= 580, "{pumped:?}: {} of 600 dearer", count(&ours, Got::Dearer));
        assert_eq!(count(&ours, Got::Blocked), 0);
        assert_eq!(count(&theirs, Got::Base), theirs.len(), "{pumped:?}: people {theirs:?}");
        // the stats page shows the pumped calling code's share now beside its usual share
        let stats =
            g.send(&Req::get("/__gate/stats").header("authorization", &format!("Bearer {STATS_TOKEN}")));
        let rows = stats.json()["otp_ranges"].as_array().unwrap().clone();
        let code = rows.iter().find(|r| r["range"] == "+996" && r["scope"] == "calling code").unwrap();
        let (now, usual) = (code["share"].as_f64().unwrap(), code["usual_share"].as_f64().unwrap());
        assert!(now > 0.6 && now > 3.0 * usual, "{code}");
    }
    // the same pump without [otp.surge]: every code at the base price
    let mut people = Numbers::of(&PEOPLE, 400);
    let mut g = with_history(gate(), &mut people, &[1; 5]);
    let (_, ours) = play(&mut g, &mut people, &[1; 5], 5, &["+996 500"]);
    assert_eq!(count(&ours, Got::Base), 600, "without it");
}

#[test]
fn a_crowd_of_the_usual_mix_pays_nothing_more_and_a_country_that_surges_on_its_own_does() {
    // five times the usual rate (a code a second), the usual mix
    let mut people = Numbers::of(&PEOPLE, 700);
    let mut g = with_history(surge_gate(), &mut people, &[1; 5]);
    let (theirs, _) = play(&mut g, &mut people, &[1; 5], 1, &[]);
    assert_eq!(count(&theirs, Got::Base), theirs.len(), "the usual mix: {theirs:?}");
    // one country's people at ten or twenty times their rate, the others as usual. A small
    // country (Brazil, usually one code in 17) stands out and pays the surge price while it
    // lasts: its usual share is not learned from its own volume. A big one (Britain, usually
    // four in 17) at ten times its rate does not, within these ten minutes, reach three times
    // its usual share of the window's codes (the window, 30 minutes, still holds the usual mix):
    // never priced. Everyone else never is.
    let usual = [4, 4, 4, 4, 1];
    for (now, surging, want_priced) in [([4, 4, 4, 4, 20], 4usize, true), ([4, 40, 4, 4, 1], 1, false)] {
        let mut people = Numbers::of(&PEOPLE, 900);
        let mut g = with_history(surge_gate(), &mut people, &usual);
        let (theirs, _) = play(&mut g, &mut people, &now, 1, &[]);
        let cycle = turns(&now);
        let whose = |i: usize| cycle[i % cycle.len()] == surging;
        let own: Vec<Got> = theirs.iter().enumerate().filter(|(i, _)| whose(*i)).map(|(_, g)| *g).collect();
        let others: Vec<Got> =
            theirs.iter().enumerate().filter(|(i, _)| !whose(*i)).map(|(_, g)| *g).collect();
        let name = PEOPLE[surging];
        println!(
            "{name} at {now:?} (usually {usual:?}): {} of {} dearer",
            count(&own, Got::Dearer),
            own.len()
        );
        assert!(others.iter().all(|g| *g == Got::Base), "others: {others:?}");
        match own.iter().position(|g| *g == Got::Dearer) {
            Some(first) => {
                assert!(want_priced, "{name}: priced from its send {first}");
                let after = &own[first..];
                assert!(
                    first * 2 <= own.len() && count(after, Got::Dearer) * 20 >= after.len() * 19,
                    "{own:?}"
                );
            }
            None => assert!(!want_priced, "{name} never priced"),
        }
    }
}

#[test]
fn a_pump_spread_thin_is_priced_where_its_calling_code_stands_out_and_the_countrys_people_are_not() {
    // twenty Kyrgyz mobile ranges, one code a second in turn (each range 2.5 % of the site's
    // codes: none stands out on its own), every code entered; Kyrgyz people (usually one code
    // in 19) go on in +996 312 at their usual share
    let ranges: Vec<String> = (500..510).chain(700..710).map(|r| format!("+996 {r}")).collect();
    let pumped: Vec<&str> = ranges.iter().map(String::as_str).collect();
    let mut people: Vec<&str> = PEOPLE.to_vec();
    people.push("+996 312");
    let usual = [4, 4, 4, 4, 1, 2];
    let mut numbers = Numbers::of(&people, 400);
    let mut g = with_history(surge_gate(), &mut numbers, &usual);
    // people at a code every second now, the usual mix
    let (theirs, ours) = play(&mut g, &mut numbers, &usual, 1, &pumped);
    let cycle = turns(&usual);
    let kyrgyz: Vec<Got> =
        theirs.iter().enumerate().filter(|(i, _)| cycle[i % cycle.len()] == 5).map(|(_, g)| *g).collect();
    println!(
        "spread pump: {} of {} dearer; Kyrgyz people {} of {} at the base price",
        count(&ours, Got::Dearer),
        ours.len(),
        count(&kyrgyz, Got::Base),
        kyrgyz.len()
    );
    assert!(count(&ours, Got::Dearer) >= 500, "{} of 600 dearer", count(&ours, Got::Dearer));
    assert_eq!(count(&theirs, Got::Base), theirs.len(), "people, Kyrgyz ones included: {theirs:?}");
}
