//! Sign-ups in flight together in one isolate (issue 19: the origin never receives more than
//! its capacity in any window). Each reads the route's turn before its ledger call, so all of
//! them may read the same last room in the minute; the one whose spend comes back first takes
//! it, the others give their spend back and wait their turn (`429 in_line`), and are forwarded
//! with the same solution once the minute has room. The same holds for the no-JavaScript
//! path's Continue, whose forward counts against the route's capacity like any other.
//!
//! The steps are driven by hand here, interleaved as an isolate serving several requests
//! at once would run them: every body and counter read first, then the spends in turn.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use gate::config::Loaded;
use gate::pipeline::step::{Answer, BodyRead, Done, Spend, Step};
use gate::present::reply::Body;
use gate::protocol::time::UnixTime;

const CAPACITY: u32 = 30;

/// A route of `CAPACITY` sign-ups a minute with a line, with `rules` and `vars` besides; one
/// isolate; counters in memory. Also the same configuration loaded apart, for the steps
/// driven by hand to borrow while the gate's isolate and stores change.
fn gate_with(rules: &str, vars: &[(&str, &str)]) -> (Gate, Loaded) {
    let attack = format!(
        "enabled = true\nwindow_secs = 60\ncohorts = [\"asn\"]\nlevels = [{{ at = 100000, extra_bits = 1 }}]\n\
         [[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = {CAPACITY}\nperiod_secs = 5\nline_max_wait_secs = 600"
    );
    let mut g = Gate::new(&policy(false, &attack, rules), vars);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    (g, Gate::new(&policy(false, &attack, rules), vars).loaded)
}

fn signup(n: u32, solution: &str) -> Req {
    Req::post("/signup", &format!("email=p{n}%40example.com")).asn(65_000 + n).solution(solution)
}

/// Drives a submission until it asks for its spend (its body and counters read).
fn up_to_spend<'a>(g: &mut Gate, loaded: &'a Loaded, req: &'a Req, id: u8) -> Spend<'a> {
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

/// What a resumed spend led to.
struct Ended {
    forwarded: bool,
    /// The route's capacity counters the request moved (`cap:` keys).
    capacity_counted: Vec<String>,
    /// The reply's HTML, for a person held on the no-JS path.
    html: Option<String>,
}

/// Drives a request from `step` to its end (the origin accepts, the ledger in memory):
/// whether it was forwarded, and how it ended.
fn rest(g: &mut Gate, loaded: &Loaded, mut step: Step<'_>) -> (bool, Done) {
    let mut forwarded = false;
    loop {
        step = match step {
            Step::Forward(fw) => {
                forwarded = true;
                fw.resume(Ok(200))
            }
            Step::Spend(s) => {
                assert!(!forwarded, "only a held forward gives its spend back");
                let answer = g.stores.spend(&s.order, g.now);
                s.resume(&mut g.control, answer)
            }
            Step::Done(done) => {
                let _ = gate::pipeline::step::finish(&done, loaded, &mut g.control, g.now);
                return (forwarded, *done);
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Resumes a spend with the ledger's answer and drives what follows: forwarded, or `429
/// in_line` with the spend given back.
fn after_spend(g: &mut Gate, loaded: &Loaded, spend: Spend<'_>) -> Ended {
    let answer = g.stores.spend(&spend.order, g.now);
    let next = spend.resume(&mut g.control, answer);
    let (forwarded, done) = rest(g, loaded, next);
    let mut html = None;
    match &done.answer {
        Answer::Origin => assert!(forwarded),
        Answer::Reply(r) => {
            assert_eq!(r.status, 429, "{r:?}");
            assert_eq!(done.log.as_ref().and_then(|l| l.code.as_deref()), Some("in_line"));
            match &r.body {
                Body::Json(body) => {
                    assert_eq!(body["line"]["ahead_secs"], 0, "{body}");
                    assert!(body["line"]["wait_secs"].as_u64().unwrap() >= 1, "{body}");
                }
                Body::Html(page) => html = Some(page.clone()),
                other => panic!("{other:?}"),
            }
        }
    }
    let c = &done.counts;
    let capacity_counted = c
        .signup
        .iter()
        .flat_map(|s| s.keys.iter())
        .chain(c.events.iter())
        .filter(|k| k.is_capacity())
        .map(|k| k.as_str().to_string())
        .collect();
    Ended { forwarded, capacity_counted, html }
}

/// The minute's other forwards, taken as this isolate took them 20 s ago (the shared count
/// and the controller have not seen them: only the exact minute holds them).
fn fill_minute(g: &mut Gate, forwards: u32) {
    let before = UnixTime::from_millis(g.now.millis().saturating_sub(20_000));
    for _ in 0..forwards {
        assert_eq!(g.control.hold_forward("/signup", CAPACITY, before), 0);
    }
}

#[test]
fn sign_ups_in_flight_together_take_only_the_room_left_in_the_minute() {
    // in flight at once, against the room left in the minute: a few for the last places, and
    // a burst larger than the whole capacity into an empty minute
    for (in_flight, room) in [(2u32, 1u32), (3, 1), (5, 2), (6, 3), (4, 4), (8, 5), (40, CAPACITY)] {
        let (mut g, loaded) = gate_with("", &[]);
        fill_minute(&mut g, CAPACITY - room);
        let solved: Vec<(u32, String)> =
            (0..in_flight).map(|i| (1000 + i, g.solved(&client_of(1000 + i), "/signup"))).collect();
        let reqs: Vec<Req> = solved.iter().map(|(n, s)| signup(*n, s)).collect();
        let spends: Vec<Spend<'_>> =
            reqs.iter().enumerate().map(|(i, r)| up_to_spend(&mut g, &loaded, r, 100 + i as u8)).collect();
        let ended: Vec<Ended> = spends.into_iter().map(|s| after_spend(&mut g, &loaded, s)).collect();
        let forwarded: Vec<bool> = ended.iter().map(|e| e.forwarded).collect();
        for e in &ended {
            let counted = if e.forwarded { vec!["cap:/signup".to_string()] } else { Vec::new() };
            assert_eq!(
                e.capacity_counted.iter().filter(|k| *k == "cap:/signup").cloned().collect::<Vec<_>>(),
                counted
            );
        }
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

#[test]
fn without_javascript_two_continues_in_flight_for_the_last_place_forward_one_counted_against_capacity() {
    let no_js = "[no_js]\nroutes = [\"/signup\"]\nwait_secs = 5\nttl_secs = 1200\nwindow_secs = 600\nbusy_at = { asn = 50 }";
    let (mut g, loaded) = gate_with(no_js, &[]);
    fill_minute(&mut g, CAPACITY - 1);
    // two people without JavaScript: the wait page each, then Continue, in flight together
    let people: Vec<Req> = (0..2u32)
        .map(|n| Req::post("/signup", &format!("email=nojs{n}%40example.com")).asn(70_000 + n).navigation())
        .collect();
    let bodies: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let page = g.send(p);
            assert_eq!(page.status(), 200, "{page:?}");
            let token = hidden(page.html(), "gate-wait").unwrap();
            format!("email=nojs{n}%40example.com&gate-wait={token}")
        })
        .collect();
    g.now = g.now.plus(6);
    let continues: Vec<Req> = people.iter().zip(&bodies).map(|(p, b)| p.clone().body(b.clone())).collect();
    let spends: Vec<Spend<'_>> =
        continues.iter().enumerate().map(|(i, r)| up_to_spend(&mut g, &loaded, r, 100 + i as u8)).collect();
    let ended: Vec<Ended> = spends.into_iter().map(|s| after_spend(&mut g, &loaded, s)).collect();
    assert!(ended[0].forwarded && !ended[1].forwarded);
    // the forward counts against the route's capacity like a JavaScript one
    assert!(ended[0].capacity_counted.iter().any(|k| k == "cap:/signup"), "{:?}", ended[0].capacity_counted);
    // the held person gets the line's page with the token and fields kept, and goes through
    let page = ended[1].html.as_deref().unwrap();
    assert_eq!(hidden(page, "gate-wait").as_deref(), bodies[1].split("gate-wait=").nth(1));
    assert_eq!(hidden(page, "email").as_deref(), Some("nojs1@example.com"));
    for _ in 0..120 {
        let run = g.send(&continues[1]);
        if run.forwarded().is_some() {
            return;
        }
        assert_eq!(run.status(), 429, "{run:?}");
        g.now = g.now.plus(1);
    }
    panic!("the held person never went through");
}

/// The value of hidden input `name` on a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.split(&format!("name=\"{name}\" value=\"")).nth(1)?;
    Some(at.split('"').next()?.replace("&amp;", "&"))
}

fn client_of(n: u32) -> Req {
    Req::post("/signup", "").asn(65_000 + n)
}

#[test]
fn only_a_ledger_answer_that_goes_on_to_the_origin_takes_a_place_in_the_minute() {
    use gate::pipeline::step::SpendAnswer;
    let down = || SpendAnswer::Unavailable("the ledger is down".into());
    // (the ledger's answer, FAIL_OPEN, whether the sign-up goes on and takes the last place)
    let cases = [
        (SpendAnswer::Fresh, false, true),
        (SpendAnswer::Fresh, true, true),
        (down(), true, true),
        (down(), false, false),
        (SpendAnswer::Replay, false, false),
        (SpendAnswer::Replay, true, false),
        (SpendAnswer::Repeat, false, false),
    ];
    for (answer, fail_open, takes) in cases {
        let label = format!("{answer:?}, FAIL_OPEN {fail_open}");
        let open = [("FAIL_OPEN", if fail_open { "true" } else { "false" })];
        let (mut g, loaded) = gate_with("", &open);
        fill_minute(&mut g, CAPACITY - 1);
        let s = g.solved(&client_of(7), "/signup");
        let req = signup(7, &s);
        let spend = up_to_spend(&mut g, &loaded, &req, 99);
        let next = spend.resume(&mut g.control, answer);
        let (forwarded, done) = rest(&mut g, &loaded, next);
        assert_eq!(forwarded, takes, "{label}: {:?}", done.answer);
        // the last place is taken only by a forward: otherwise the next sign-up still has it
        let room_left = g.control.hold_forward("/signup", CAPACITY, g.now) == 0;
        assert_eq!(room_left, !takes, "{label}");
    }
}
