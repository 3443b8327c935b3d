//! Sign-ups in flight together in one isolate (issue 19: the origin never receives more than
//! its capacity in any window). Each reads the route's turn before its ledger call, so all of
//! them may read the same last room in the minute; the one whose spend comes back first takes
//! it, the others give their spend back and wait their turn (`429 in_line`), and are forwarded
//! with the same solution once the minute has room.
//!
//! The steps are driven by hand here, interleaved as an isolate serving several requests
//! at once would run them: every body and counter read first, then the spends in turn.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use gate::pipeline::step::{Answer, BodyRead, Spend, Step};
use gate::present::reply::Body;
use gate::protocol::time::UnixTime;

const CAPACITY: u32 = 30;

/// A route of `CAPACITY` sign-ups a minute with a line; one isolate; counters in memory.
fn gate() -> Gate {
    let attack = format!(
        "enabled = true\nwindow_secs = 60\ncohorts = [\"asn\"]\nlevels = [{{ at = 100000, extra_bits = 1 }}]\n\
         [[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = {CAPACITY}\nperiod_secs = 5\nline_max_wait_secs = 600"
    );
    let mut g = Gate::new(&policy(false, &attack, ""), &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    g
}

fn signup(n: u32, solution: &str) -> Req {
    Req::post("/signup", &format!("email=p{n}%40example.com")).asn(65_000 + n).solution(solution)
}

/// Drives a submission until it asks for its spend (its body and counters read).
fn up_to_spend<'a>(g: &mut Gate, loaded: &'a gate::config::Loaded, req: &'a Req, id: u8) -> Spend<'a> {
    let mut step = gate::pipeline::start(loaded, &req.facts, Ok([id; 16]), g.now);
    loop {
        step = match step {
            Step::ReadBody(read) => read.resume(BodyRead::Bytes(req.body.clone()), g.now),
            Step::ReadCohorts(read) => {
                let calls = read.cold_calls(&mut g.control, g.now);
                let answers = calls
                    .into_iter()
                    .map(|c| {
                        let a = g.stores.exchange(&c);
                        (c, a)
                    })
                    .collect();
                read.resume(&mut g.control, answers, g.now)
            }
            Step::Spend(spend) => return spend,
            other => panic!("a paid sign-up in its turn asks for its spend: {other:?}"),
        }
    }
}

/// Resumes a spend and drives what follows (the origin accepts); `true` when forwarded, else
/// the answer must be `429 in_line` with the spend given back.
fn after_spend(g: &mut Gate, loaded: &gate::config::Loaded, spend: Spend<'_>) -> bool {
    let answer = g.stores.spend(&spend.order, g.now);
    let mut step = spend.resume(&mut g.control, answer);
    let mut forwarded = false;
    loop {
        step = match step {
            Step::Forward(fw) => {
                forwarded = true;
                fw.resume(Ok(200))
            }
            Step::Spend(give_back) => {
                assert!(!forwarded, "only a held forward gives its spend back");
                let answer = g.stores.spend(&give_back.order, g.now);
                give_back.resume(&mut g.control, answer)
            }
            Step::Done(done) => {
                let _ = gate::pipeline::step::finish(&done, loaded, &mut g.control, g.now);
                match &done.answer {
                    Answer::Origin => assert!(forwarded),
                    Answer::Reply(r) => {
                        assert_eq!(r.status, 429, "{r:?}");
                        let Body::Json(body) = &r.body else { panic!("{r:?}") };
                        assert_eq!(body["error"], "in_line", "{body}");
                        assert_eq!(body["line"]["ahead_secs"], 0, "{body}");
                        assert!(body["line"]["wait_secs"].as_u64().unwrap() >= 1, "{body}");
                    }
                }
                return forwarded;
            }
            other => panic!("after the spend: {other:?}"),
        }
    }
}

#[test]
fn sign_ups_in_flight_together_take_only_the_room_left_in_the_minute() {
    let loaded = gate().loaded;
    // in flight at once, against the room left in the minute: a few for the last places, and
    // a burst larger than the whole capacity into an empty minute
    for (in_flight, room) in [(2u32, 1u32), (3, 1), (5, 2), (6, 3), (4, 4), (8, 5), (40, CAPACITY)] {
        let mut g = gate();
        // the minute's other forwards, taken as this isolate took them 20 s ago (the shared
        // count and the controller have not seen them: only the exact minute holds them)
        let before = g.now.plus(0).millis().saturating_sub(20_000);
        for _ in 0..CAPACITY - room {
            assert_eq!(g.control.hold_forward("/signup", CAPACITY, UnixTime::from_millis(before)), 0);
        }
        let solved: Vec<(u32, String)> =
            (0..in_flight).map(|i| (1000 + i, g.solved(&client_of(1000 + i), "/signup"))).collect();
        let reqs: Vec<Req> = solved.iter().map(|(n, s)| signup(*n, s)).collect();
        let spends: Vec<Spend<'_>> =
            reqs.iter().enumerate().map(|(i, r)| up_to_spend(&mut g, &loaded, r, 100 + i as u8)).collect();
        let forwarded: Vec<bool> = spends.into_iter().map(|s| after_spend(&mut g, &loaded, s)).collect();
        let through = forwarded.iter().filter(|f| **f).count() as u32;
        assert_eq!(through, room, "{in_flight} in flight for {room} places: {forwarded:?}");
        // the first to come back are the ones through
        assert!(forwarded.iter().take(room as usize).all(|f| *f), "{forwarded:?}");
        // the others were given back: the same solutions go through once the minute has
        // room, each asking again as told
        let mut held: Vec<&Req> = reqs.iter().skip(room as usize).collect();
        for _ in 0..300 {
            held.retain(|r| {
                let run = g.send(r);
                assert!(matches!(run.status(), 200 | 429), "{run:?}");
                run.status() == 429
            });
            if held.is_empty() {
                break;
            }
            g.now = g.now.plus(1);
        }
        assert!(held.is_empty(), "{} held places never went through", held.len());
    }
}

fn client_of(n: u32) -> Req {
    Req::post("/signup", "").asn(65_000 + n)
}
