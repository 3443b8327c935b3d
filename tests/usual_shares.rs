//! Usual shares for attack mode's levels (`[attack.usual]`, issue 21: people charged more with
//! no attacker) through the pipeline: a level counts only a cohort's sign-ups beyond its usual
//! share of the site's sign-ups now, so a network most of the site's people share is not priced
//! for being what it usually is, and one that grows out of its share is, as before.
//!
//! Shapes: counters fed as data (every share, site rate and excess; a cold site; a cohort never
//! seen), then a site that learns its shares from its own sign-ups (a network of 40 % of them,
//! then a burst there and a burst from a network it never saw).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use gate::policy::CohortKey;
use gate::protocol::time::UnixTime;

/// Attack mode on ASN and /24 cohorts (+2 bits from 2 sign-ups per 10 s, shed at 4) with usual
/// shares learned over a day, trusted from `warm_up` usual sign-ups.
fn gate(warm_up: u32) -> Gate {
    let attack = format!("{ATTACK}\n[attack.usual]\nusual_days = 1\nwarm_up_signups = {warm_up}");
    Gate::new(&policy(false, &attack, ""), &[])
}

fn key(s: &str) -> CohortKey {
    CohortKey::parse(s).unwrap()
}

/// What a challenge for /signup from `asn` costs: its difficulty, or the error.
fn price(g: &mut Gate, asn: u32) -> Result<u64, String> {
    let run = g.send(&Req::get("/__gate/challenge?route=/signup").asn(asn));
    match run.status() {
        200 => Ok(run.json()["difficulty"].as_u64().unwrap()),
        _ => Err(run.error().unwrap_or("?").to_string()),
    }
}

#[test]
fn a_level_counts_only_the_sign_ups_beyond_the_cohorts_usual_share() {
    let mut g = gate(100);
    // the site now, the cohort now, the site's usual sign-ups (which saw it at `usual_rate` on
    // average) and the cohort's
    let rates_at = |site_now: f64, cohort: f64, usual_site: f64, usual: f64, usual_rate: f64| {
        Cohorts::Rates(
            vec![
                (CohortKey::site(), site_now),
                (key("asn:64500"), cohort),
                (CohortKey::usual_site(), usual_site),
                (key("usual:asn:64500"), usual),
                (CohortKey::usual_site_rate(), usual_site * usual_rate * 10.0),
            ],
            vec![],
        )
    };
    let rates = |site_now: f64, cohort: f64, usual_site: f64, usual: f64| {
        rates_at(site_now, cohort, usual_site, usual, site_now)
    };
    let expect = |beyond: f64| {
        if beyond >= 4.0 { Err("busy".to_string()) } else { Ok(if beyond >= 2.0 { 6 } else { 4 }) }
    };
    for share in [0.0, 0.1, 0.4, 0.8, 1.0] {
        for site in [5.0, 20.0, 100.0] {
            for beyond in [0.0, 1.5, 2.5, 5.0] {
                // the excess adds to the site's rate too
                let now = site + beyond;
                g.world.cohorts = rates(now, share * now + beyond, 1000.0, share * 1000.0);
                assert_eq!(
                    price(&mut g, 64500),
                    expect(beyond),
                    "share {share}, site {site}, beyond {beyond}"
                );
            }
        }
    }
    // an attack that multiplies the site's volume: a cohort at its usual share of ten times the
    // usual rate counts what is past its share of twice the usual rate
    for (share, want) in [(0.01, Ok(4)), (0.03, Ok(6)), (0.1, Err("busy".to_string()))] {
        g.world.cohorts = rates_at(100.0, share * 100.0, 1000.0, share * 1000.0, 10.0);
        assert_eq!(price(&mut g, 64500), want, "attack volume, share {share}");
    }
    // a cold site (fewer usual sign-ups than the warm-up): the whole rate counts, as written
    for (cohort, want) in [(1.0, Ok(4)), (3.0, Ok(6)), (8.0, Err("busy".to_string()))] {
        g.world.cohorts = rates(20.0, cohort, 99.0, 40.0);
        assert_eq!(price(&mut g, 64500), want, "cold, {cohort}");
    }
    // a network the warm site never saw: share 0, its whole rate counts
    g.world.cohorts = Cohorts::Rates(
        vec![
            (CohortKey::site(), 20.0),
            (key("asn:64501"), 8.0),
            (CohortKey::usual_site(), 1000.0),
            (CohortKey::usual_site_rate(), 200_000.0),
        ],
        vec![],
    );
    assert_eq!(price(&mut g, 64501), Err("busy".to_string()));
    // the log says what the level counted
    g.world.cohorts = rates(22.5, 0.4 * 22.5 + 2.5, 1000.0, 400.0);
    let run = g.send(&Req::get("/__gate/challenge?route=/signup").asn(64500));
    let why = run.log().why.clone().unwrap();
    assert!(why.contains("cohort asn:64500 at 2/window over its usual share (40.0 %) +2"), "{why}");
}

/// One sign-up from `asn` at the gate's `now`, priced as the gate asks; what it cost.
/// Network 64500's people share its /24; everyone else has a network and a /24 of their own.
fn sign_up(g: &mut Gate, asn: u32, n: u32) -> Result<u64, String> {
    let mut who = Req::post("/signup", "").asn(asn);
    who.facts.client_ip = Some(if asn == 64500 {
        format!("203.0.113.{}", n % 250)
    } else {
        format!("10.{}.{}.1", n / 250, n % 250)
    });
    let run = g.send(&who.gate_get("challenge", "route=/signup"));
    if run.status() != 200 {
        return Err(run.error().unwrap_or("?").to_string());
    }
    let difficulty = run.json()["difficulty"].as_u64().unwrap();
    let solution = solve(run.json()["token"].as_str().unwrap());
    let done = g.send(&who.body(format!("email=p{n}%40example.com")).solution(&solution));
    match done.status() {
        200 => Ok(difficulty),
        _ => Err(done.error().unwrap_or("?").to_string()),
    }
}

#[test]
fn a_site_learns_its_networks_shares_and_prices_only_what_grows_out_of_them() {
    let mut g = gate(100);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    // one sign-up every 2 s: two in five from network 64500 (2 per 10 s window: its static level
    // on its own), the rest from networks of their own
    let mut n = 0;
    let mut people = |g: &mut Gate, secs: u64| {
        let mut paid = Vec::new();
        for _ in 0..secs / 2 {
            n += 1;
            let asn = if n % 5 < 2 { 64500 } else { 65_000 + n };
            paid.push((asn, sign_up(g, asn, n)));
            g.now = g.now.plus(2);
        }
        paid
    };
    let big = |paid: &[(u32, Result<u64, String>)]| {
        paid.iter().filter(|(a, _)| *a == 64500).map(|(_, p)| p.clone()).collect::<Vec<_>>()
    };
    // the warm-up (100 sign-ups counted; some of 64500's are refused): the level counts all
    // of 64500's sign-ups
    let warm_up = people(&mut g, 400);
    assert!(big(&warm_up).iter().any(|p| *p != Ok(4)), "cold, the network's level trips: {warm_up:?}");
    // then, warm, ten minutes of the same people: nobody pays more
    let warm = people(&mut g, 600);
    assert!(warm.iter().all(|(_, p)| *p == Ok(4)), "{warm:?}");
    // the stats page shows the network's usual share and the level that counts beyond it
    let stats = g.send(&Req::get("/__gate/stats").header("authorization", &format!("Bearer {STATS_TOKEN}")));
    let rows = stats.json()["cohorts"].as_array().unwrap().clone();
    let row = rows.iter().find(|r| r["key"] == "asn:64500").unwrap();
    let share = row["usual_share"].as_f64().unwrap();
    assert!(
        (0.3..0.5).contains(&share) && row["level"] == 0 && row["rate"].as_f64().unwrap() >= 1.0,
        "{row}"
    );
    assert!(!rows.iter().any(|r| r["key"].as_str().unwrap().starts_with("usual:")), "{rows:?}");
    // a burst from 64500 (ten sign-ups in 5 s on top of its people) grows out of its share
    let mut burst = Vec::new();
    for i in 0..10 {
        burst.push(sign_up(&mut g, 64500, 10_000 + i));
        g.now = UnixTime::from_millis(g.now.millis() + 500);
    }
    assert!(burst.iter().any(|p| *p != Ok(4)), "{burst:?}");
    // and one from a network the site never saw pays as the level says
    g.now = g.now.plus(60);
    let mut fresh = Vec::new();
    for i in 0..10 {
        fresh.push(sign_up(&mut g, 64_999, 20_000 + i));
        g.now = UnixTime::from_millis(g.now.millis() + 500);
    }
    assert!(fresh.iter().any(|p| *p != Ok(4)), "{fresh:?}");
}
