//! The drivers agree: one script of requests (challenges, solved and lazy sign-ups, replays,
//! requests without a solution, logins, odd paths) played over virtual time through the
//! drill's driver (`gate::drill::gate::MemoryGate`) and the test driver (`common::driver`)
//! gives the same answers, request by request, with attack mode and a capacity route on, so
//! the counters, the snapshot, the ledger and the capacity controller are all exercised. Both
//! drive `pipeline::start`; a rule a driver re-wrote on its own would show here (the Miniflare
//! fidelity test is the slow confirmation against the Worker).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::driver::{ATTACK, Cohorts, Gate, Handled, Req, policy};
use gate::drill::gate::{Answered, MemoryGate, lower};
use gate::pipeline::step::Answer;
use gate::present::reply::Body;
use gate::protocol::solution;
use proptest::prelude::*;

/// The test policy with attack mode, tight levels and a capacity on `/api/register`.
fn script_policy() -> String {
    let attack = format!(
        "{ATTACK}\n[[attack.capacity]]\nroute = \"/api/register\"\nsignups_per_minute = 20\nceiling_bits = 4\nperiod_secs = 5"
    );
    policy(false, &attack, "")
}

/// What a request of the script does.
#[derive(Clone, Debug)]
enum Act {
    /// Fetch a challenge for a route.
    Challenge(&'static str),
    /// Fetch a challenge, solve it, submit.
    SignUp(&'static str),
    /// Submit the last solution again.
    Replay,
    /// Submit without a solution.
    Bare,
    /// A login (pass-through).
    Login,
    /// An odd spelling of the sign-up path.
    OddPath,
}

#[derive(Clone, Debug)]
struct Line {
    act: Act,
    asn: u32,
    after_ms: u64,
}

fn line() -> impl Strategy<Value = Line> {
    let act = prop_oneof![
        3 => prop::sample::select(vec!["/signup", "/api/register"]).prop_map(Act::SignUp),
        2 => prop::sample::select(vec!["/signup", "/api/register", "/nope"]).prop_map(Act::Challenge),
        1 => Just(Act::Replay),
        1 => Just(Act::Bare),
        1 => Just(Act::Login),
        1 => Just(Act::OddPath),
    ];
    (act, prop::sample::select(vec![64500u32, 64501, 3320]), 0u64..4000)
        .prop_map(|(act, asn, after_ms)| Line { act, asn, after_ms })
}

/// An answer as both drivers can state it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Said {
    Challenge {
        difficulty: u8,
        k: u8,
    },
    Forwarded(u16),
    Refused {
        status: u16,
        code: String,
    },
    Wait,
    /// A top-up answer (the conformance lines make no top-up request today).
    Priced {
        asked: u64,
    },
}

fn from_drill(a: Answered) -> Said {
    match a {
        Answered::Challenge { difficulty, k, .. } => Said::Challenge { difficulty, k },
        Answered::Forwarded(s) => Said::Forwarded(s),
        Answered::Refused { code, status } => Said::Refused { status, code },
        Answered::InLine { .. } => Said::Refused { status: 429, code: "in_line".into() },
        Answered::Wait { .. } => Said::Wait,
        Answered::Priced { asked, .. } => Said::Priced { asked },
    }
}

fn from_test(g: &Gate, run: &common::driver::Run) -> (Said, Option<String>) {
    let done = match &run.handled {
        Handled::Done(d) => d,
        Handled::PassThrough(_) => return (Said::Forwarded(200), None),
        Handled::WidgetFile(_) => return (Said::Refused { status: 404, code: "asset".into() }, None),
    };
    let _ = g;
    match &done.answer {
        Answer::Origin => (Said::Forwarded(run.status()), None),
        Answer::Reply(r) => {
            let token = match &r.body {
                Body::Json(v) if r.status == 200 => {
                    v.get("token").and_then(|t| t.as_str()).map(str::to_string)
                }
                _ => None,
            };
            if let Some(t) = &token {
                let bytes = gate::protocol::challenge::token_bytes(t).unwrap();
                let c = gate::protocol::challenge::decode(&bytes).unwrap().challenge;
                return (Said::Challenge { difficulty: c.difficulty, k: c.k }, token);
            }
            let code = done.log.as_ref().and_then(|l| l.code.clone()).unwrap_or_else(|| r.status.to_string());
            (Said::Refused { status: r.status, code }, None)
        }
    }
}

const T0_MS: u64 = 1_800_000_000_000;

/// Plays the script through both drivers; returns both answer lists.
fn play(script: &[Line]) -> (Vec<Said>, Vec<Said>) {
    let text = script_policy();
    let lowered = lower(&text, 0).unwrap();
    let mut drill = MemoryGate::new(&lowered, 1).unwrap();
    let mut test = Gate::new(&text, &[]);
    test.world.cohorts = Cohorts::Live;
    test.keep_isolate = true;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut now = T0_MS;
    let (mut last_drill, mut last_test): (Option<String>, Option<String>) = (None, None);
    let mut id = 0u8;
    let mut next_id = || {
        id = id.wrapping_add(1);
        [id; 16]
    };
    for l in script {
        now += l.after_ms;
        test.now = gate::protocol::time::UnixTime::from_millis(now);
        let client = Req::post("/signup", "email=a%40example.com").asn(l.asn);
        let mut both =
            |req: &Req, a: &mut Vec<Said>, b: &mut Vec<Said>| -> (Said, Option<String>, Option<String>) {
                let d = drill.request(&req.facts, &req.body, now, next_id(), &mut || 200);
                let token_d = match &d {
                    Answered::Challenge { token, .. } => Some(solution::solve(token, b"").unwrap().encode()),
                    _ => None,
                };
                let run = test.send(req);
                let (said, token_t) = from_test(&test, &run);
                let token_t = token_t.map(|t| common::driver::solve(&t));
                a.push(from_drill(d));
                b.push(said.clone());
                (said, token_d, token_t)
            };
        match &l.act {
            Act::Challenge(route) => {
                let req = challenge_req(&client, route);
                both(&req, &mut a, &mut b);
            }
            Act::SignUp(route) => {
                let (_, sd, st) = both(&challenge_req(&client, route), &mut a, &mut b);
                let (Some(sd), Some(st)) = (sd, st) else { continue };
                let path = if *route == "/nope" { "/signup" } else { route };
                let d =
                    Req::post(path, &format!("email=a%40example.com&gate-solution={}", enc(&sd))).asn(l.asn);
                let t =
                    Req::post(path, &format!("email=a%40example.com&gate-solution={}", enc(&st))).asn(l.asn);
                a.push(from_drill(drill.request(&d.facts, &d.body, now, next_id(), &mut || 200)));
                let run = test.send(&t);
                b.push(from_test(&test, &run).0);
                (last_drill, last_test) = (Some(sd), Some(st));
            }
            Act::Replay => {
                let (Some(sd), Some(st)) = (&last_drill, &last_test) else { continue };
                let d = client.clone().solution(sd);
                let t = client.clone().solution(st);
                a.push(from_drill(drill.request(&d.facts, &d.body, now, next_id(), &mut || 200)));
                let run = test.send(&t);
                b.push(from_test(&test, &run).0);
            }
            Act::Bare => {
                both(&client, &mut a, &mut b);
            }
            Act::Login => {
                both(&Req::post("/login", "email=a&password=b").asn(l.asn), &mut a, &mut b);
            }
            Act::OddPath => {
                both(&Req::post("/sign%75p", "x=1").asn(l.asn), &mut a, &mut b);
            }
        }
    }
    (a, b)
}

fn challenge_req(client: &Req, route: &str) -> Req {
    let mut req = client.clone();
    req.facts.method = "GET".into();
    req.facts.path = "/__gate/challenge".into();
    req.facts.query = Some(format!("route={route}"));
    req.body.clear();
    req
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn a_fixed_script_escalates_and_both_drivers_say_the_same() {
    // 40 sign-ups from one network in 20 s: the cohort escalates, then is shed
    let script: Vec<Line> =
        (0..40).map(|_| Line { act: Act::SignUp("/signup"), asn: 64500, after_ms: 500 }).collect();
    let (drill, test) = play(&script);
    assert_eq!(drill, test);
    assert!(drill.iter().any(|s| matches!(s, Said::Refused { code, .. } if code == "busy")), "{drill:?}");
    assert!(drill.iter().any(|s| matches!(s, Said::Forwarded(200))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_scripts_get_the_same_answers_from_both_drivers(script in prop::collection::vec(line(), 1..60)) {
        let (drill, test) = play(&script);
        prop_assert_eq!(drill, test);
    }
}
