//! The round trip the edge measures itself (`GET <prefix>/ping` and its stamp): a client can
//! no longer report a short round trip it recorded elsewhere, nor carry one measured over a
//! fast path to a proxied one. Generated variants: every combination of the edge's TCP round
//! trip, the proxy's detour and what the client reports, with the stamp honest, missing, from
//! another address, from another browser, another gate, edited, or holding no measure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::driver::{Gate, NOW, Req, policy};
use gate::protocol::time::UnixTime;

fn gate() -> Gate {
    Gate::new(&policy(false, "", ""), &[])
}

/// A person's Chromium on a residential network whose TCP round trip the edge measured.
fn browser(tcp_ms: u32) -> Req {
    let mut r = Req::post("/signup", "").navigation();
    r.facts.cf.client_tcp_rtt = Some(tcp_ms);
    r
}

/// `GET <prefix>/ping[?stamp=…]` from `client` at `at_ms` after NOW.
fn ping(g: &mut Gate, client: &Req, stamp: Option<&str>, at_ms: u64) -> common::driver::Run {
    g.now = UnixTime::from_millis(NOW.millis() + at_ms);
    let query = stamp.map(|s| format!("stamp={s}")).unwrap_or_default();
    g.send(&client.gate_get("ping", &query))
}

/// The widget's chain: a first ping, then its stamp echoed back after each round trip.
fn chain(g: &mut Gate, client: &Req, round_trips: &[u64]) -> String {
    let mut t = 0;
    let run = ping(g, client, None, t);
    assert_eq!(run.status(), 200, "{run:?}");
    assert_eq!((run.json()["rounds"].as_u64(), run.json()["rtt"].as_u64()), (Some(0), None));
    let mut stamp = run.json()["stamp"].as_str().unwrap().to_string();
    for rt in round_trips {
        t += rt;
        let run = ping(g, client, Some(&stamp), t);
        assert_eq!(run.status(), 200, "{run:?}");
        stamp = run.json()["stamp"].as_str().unwrap().to_string();
    }
    stamp
}

/// Signals as the widget sends them, with the round trip the client reports and a stamp.
fn signals(reported_ms: u32, stamp: Option<&str>) -> String {
    let mut s = serde_json::json!({ "v": 1, "rtt": reported_ms });
    if let Some(stamp) = stamp {
        s["rttStamp"] = stamp.into();
    }
    URL_SAFE_NO_PAD.encode(s.to_string())
}

/// The reason codes of a challenge asked by `client` with these signals, `at_ms` after NOW.
fn reasons(g: &mut Gate, client: &Req, signals: &str, at_ms: u64) -> Vec<String> {
    g.now = UnixTime::from_millis(NOW.millis() + at_ms);
    let run = g.send(&client.gate_get("challenge", &format!("route=/signup&signals={signals}")));
    assert_eq!(run.status(), 200, "{run:?}");
    run.log().reasons.iter().map(|r| r.code.clone()).collect()
}

fn has(reasons: &[String], code: &str) -> bool {
    reasons.iter().any(|r| r == code)
}

#[test]
fn the_ping_answers_a_stamp_and_measures_the_gap_between_its_answers() {
    let mut g = gate();
    let client = browser(40);
    let first = ping(&mut g, &client, None, 0);
    assert_eq!(first.reply().status, 200);
    let stamp = first.json()["stamp"].as_str().unwrap().to_string();
    let second = ping(&mut g, &client, Some(&stamp), 130);
    assert_eq!((second.json()["rounds"].as_u64(), second.json()["rtt"].as_u64()), (Some(1), Some(130)));
    let third = ping(&mut g, &client, second.json()["stamp"].as_str(), 130 + 95);
    assert_eq!((third.json()["rounds"].as_u64(), third.json()["rtt"].as_u64()), (Some(2), Some(95)));
    // a stamp sent back from elsewhere, or not a stamp: a clear error, never a measure
    let mut moved = client.clone();
    moved.facts.client_ip = Some("198.51.100.7".into());
    let run = ping(&mut g, &moved, Some(&stamp), 200);
    assert_eq!((run.status(), run.error()), (403, Some("binding_mismatch")), "{run:?}");
    let run = ping(&mut g, &client, Some("not-a-stamp"), 200);
    assert_eq!(run.status(), 400);
    assert!(run.json()["message"].is_string());
    // a ping is read only
    assert!(run.io.is_empty(), "{:?}", run.io);
}

#[test]
fn a_reported_round_trip_no_longer_hides_a_detour_and_leaving_the_stamp_out_costs_as_much() {
    let mut g = gate();
    for tcp in [15u32, 40, 80, 150] {
        for detour in [0u64, 60, 200, 400, 900] {
            for reported in [20u32, 80, 400] {
                let client = browser(tcp);
                // the path the edge measures: the exit's round trip plus the proxy's detour
                let measured = u64::from(tcp) + detour + 10;
                let stamp = chain(&mut g, &client, &[measured + 40, measured, measured + 5]);
                let got = reasons(&mut g, &client, &signals(reported, Some(&stamp)), measured * 3 + 50);
                let gap = measured > u64::from(tcp) * 3 + 150;
                assert_eq!(
                    has(&got, "rtt_gap"),
                    gap,
                    "tcp {tcp} detour {detour} reported {reported}: {got:?}"
                );
                assert!(!has(&got, "rtt_unmeasured"), "{got:?}");
                // the same signals without the stamp: as much as the widest gap
                let bare = reasons(&mut g, &client, &signals(reported, None), 0);
                assert!(has(&bare, "rtt_unmeasured") && !has(&bare, "rtt_gap"), "{bare:?}");
            }
        }
    }
}

#[test]
fn a_stamp_counts_only_for_the_client_and_address_it_was_measured_from() {
    let mut g = gate();
    let client = browser(30);
    let stamp = chain(&mut g, &client, &[60, 50, 55]);
    let ok = reasons(&mut g, &client, &signals(50, Some(&stamp)), 1_000);
    assert!(!has(&ok, "rtt_gap") && !has(&ok, "rtt_unmeasured"), "{ok:?}");
    // measured over a fast path, sent from a proxy's exit in another /24 of the same network
    let mut exit = client.clone();
    exit.facts.client_ip = Some("203.0.114.10".into());
    assert!(has(&reasons(&mut g, &exit, &signals(50, Some(&stamp)), 1_000), "rtt_unmeasured"));
    // another network, another browser
    let other_asn = client.clone().asn(64501);
    assert!(has(&reasons(&mut g, &other_asn, &signals(50, Some(&stamp)), 1_000), "rtt_unmeasured"));
    let firefox = client.clone().ua("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
    assert!(has(&reasons(&mut g, &firefox, &signals(50, Some(&stamp)), 1_000), "rtt_unmeasured"));
    // a stamp whose measure was edited, one signed by another gate, a first answer alone
    let mut bytes = URL_SAFE_NO_PAD.decode(&stamp).unwrap();
    bytes[16] = 1; // best round trip: 1 ms
    let edited = URL_SAFE_NO_PAD.encode(&bytes);
    assert!(has(&reasons(&mut g, &client, &signals(50, Some(&edited)), 1_000), "rtt_unmeasured"));
    let mut other =
        Gate::new(&policy(false, "", ""), &[("GATE_SECRET", "another gate's secret, 32 bytes long!!")]);
    let foreign = chain(&mut other, &client, &[50]);
    assert!(has(&reasons(&mut g, &client, &signals(50, Some(&foreign)), 1_000), "rtt_unmeasured"));
    let unmeasured = chain(&mut g, &client, &[]);
    assert!(has(&reasons(&mut g, &client, &signals(50, Some(&unmeasured)), 1_000), "rtt_unmeasured"));
}

#[test]
fn a_person_whose_address_moves_while_typing_keeps_the_round_trip_measured_at_issue() {
    let mut g = gate();
    let client = browser(30);
    let stamp = chain(&mut g, &client, &[60, 50, 55]);
    let sig = signals(50, Some(&stamp));
    g.now = UnixTime::from_millis(NOW.millis() + 1_000);
    let run = g.send(&client.gate_get("challenge", &format!("route=/signup&signals={sig}")));
    let token = run.json()["token"].as_str().unwrap().to_string();
    let raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
    let solution = common::driver::solve_with_signals(&token, &raw);
    // 40 s later, from another /24 of the same carrier (a new address from its pool)
    let mut moved = client.clone();
    moved.facts.client_ip = Some("203.0.120.55".into());
    g.now = UnixTime::from_millis(NOW.millis() + 41_000);
    let run = g.send(&moved.clone().body("email=a%40example.com").solution(&solution));
    assert!(run.forwarded().is_some(), "{run:?}");
    let codes: Vec<&str> = run.log().reasons.iter().map(|r| r.code.as_str()).collect();
    assert!(!codes.contains(&"rtt_unmeasured"), "{codes:?}");
}
