//! The sign-up pipeline natively, from a request's facts to forward or refuse, for every path
//! the e2e suites (tests/e2e/{gate,policy,hardening,nojs}.test.mjs) cover. The stores'
//! answers are plain inputs (`common::driver`): a body, a cohort state or why it cannot be
//! read, a ledger answer or an in-memory ledger, the origin's status. Test-sized prices
//! (difficulty 4, k 4): the whole file runs in well under a second.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::driver::*;
use gate::decision_log::{Action, DecisionLog, Stage};
use gate::pipeline::step::SpendAnswer;
use gate::policy::CohortKey;
use gate::protocol::challenge;
use gate::protocol::key::Key;
use gate::protocol::solution::Solution;
use gate::protocol::verdict;
use gate::store::stats::Count;
use proptest::prelude::*;

const FORM: &str = "email=a%40example.com&password=hunter2hunter2";

/// A cohort key from its text.
fn key(text: &str) -> CohortKey {
    CohortKey::parse(text).unwrap()
}

/// The e2e default: attack mode off, no rules.
fn plain() -> Gate {
    Gate::new(&policy(false, "enabled = false", ""), &[])
}

fn client() -> Req {
    Req::post("/signup", FORM)
}

fn origin_key() -> Key {
    Key::new(ORIGIN_SECRET.as_bytes())
}

/// Checks the verdict header as the origin would, for `POST path`.
fn check_verdict(header: &str, path: &str) -> verdict::Verdict {
    verdict::verify(header, &origin_key(), NOW, 60, "POST", path).unwrap()
}

/// A solution with its first nonce replaced by one that does not meet the difficulty.
fn lazy(sol: &str) -> String {
    let mut s = Solution::parse(sol).unwrap();
    let c = challenge::decode(&s.token).unwrap().challenge;
    let seed = gate::pow::seed(&s.token, &s.signals);
    s.nonces[0] = (0..).find(|n| !gate::pow::meets(&seed, 0, *n, c.difficulty)).unwrap();
    s.encode()
}

// ---------------------------------------------------------------- issue

#[test]
fn issue_signs_a_challenge_with_the_documented_fields_at_the_policy_price() {
    let mut g = plain();
    let run = g.send(&Req::get("/__gate/challenge?route=/signup"));
    assert_eq!(run.status(), 200);
    let json = run.json();
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "binding",
            "difficulty",
            "expires_at",
            "id",
            "issued_at",
            "k",
            "kid",
            "risk",
            "route",
            "signature",
            "token",
            "v",
            "work"
        ]
    );
    assert_eq!(
        json["work"],
        serde_json::json!({"asked": 4 << 4, "suggested": 4 << 4}),
        "no capacity: no banking ahead"
    );
    assert_eq!(json["v"], 1);
    assert_eq!(json["route"], "/signup");
    assert_eq!((json["difficulty"].as_u64(), json["k"].as_u64()), (Some(4), Some(4)));
    assert_eq!(json["issued_at"].as_u64(), Some(NOW.seconds()));
    assert_eq!(json["expires_at"].as_u64(), Some(NOW.seconds() + 60));
    assert_eq!(json["kid"], Key::new(GATE_SECRET.as_bytes()).id().to_hex());
    assert_eq!(json["risk"], 10, "ua_not_browser");
    let token = challenge::token_bytes(json["token"].as_str().unwrap()).unwrap();
    let c = challenge::decode(&token).unwrap().challenge;
    assert_eq!(URL_SAFE_NO_PAD.encode(c.id), json["id"].as_str().unwrap());
    assert_eq!(c.binding, gate::pipeline::binding(&client().facts));
    let log = run.log();
    assert_eq!((log.action, log.stage, log.status), (Action::Issue, Some(Stage::Issue), 200));
    assert_eq!(log.route.as_deref(), Some("/signup"));
    assert_eq!(log.id.as_deref(), json["id"].as_str());
    assert_eq!(log.difficulty, Some(4));
    assert_eq!(log.outcome.as_ref().map(ToString::to_string).as_deref(), Some("price 4x4"));
    assert_eq!(run.tallies(), [("issue", "-".to_string())]);
    assert_eq!(
        run.io,
        [Io::ReadCohorts { keys: vec![], site: false, window_secs: 60 }],
        "attack mode off: no cohort counted or read, only the snapshot's panic switches"
    );
    let other = g.challenge(&client(), "/signup");
    assert_ne!(other.id, json["id"].as_str().unwrap(), "ids are random");
}

#[test]
fn issue_refuses_routes_it_does_not_protect() {
    let mut g = plain();
    for route in ["/login", "/nothing", ""] {
        let run = g.send(&Req::get(&format!("/__gate/challenge?route={route}")));
        // the brief says 404; RejectKind::UnknownRoute is 400, as tests/e2e/gate.test.mjs asserts
        assert_eq!(run.status(), 400, "{route}");
        assert_eq!(run.error(), Some("unknown_route"));
        assert_eq!(run.log().code.as_deref(), Some("unknown_route"));
        assert_eq!(run.tallies(), [("reject", "unknown_route".to_string())]);
    }
    let post = g.send(&Req::post("/__gate/challenge?route=/signup", ""));
    assert_eq!((post.status(), post.error()), (405, Some("method_not_allowed")));
    assert_eq!(post.tallies(), [("reject", "method_not_allowed".to_string())]);
}

#[test]
fn issue_decides_by_rules_cohort_rates_and_unreadable_counters() {
    let rules = "[[rules]]\nname = \"no 64666\"\nwhen = { asn = [64666] }\naction = \"deny\"";
    let mut g = Gate::new(&policy(false, ATTACK, rules), &[]);
    struct Case {
        name: &'static str,
        asn: u32,
        cohorts: Cohorts,
        status: u16,
        error: Option<&'static str>,
        difficulty: Option<u64>,
        outcome: &'static str,
        retry_after: Option<&'static str>,
    }
    let rates = |r: f64| Cohorts::Rates(vec![(key("asn:64500"), r)], vec![]);
    let panicked = |k: CohortKey| Cohorts::Rates(vec![], vec![k]);
    let priced = |name, cohorts, difficulty, outcome| Case {
        name,
        asn: 64500,
        cohorts,
        status: 200,
        error: None,
        difficulty: Some(difficulty),
        outcome,
        retry_after: None,
    };
    let refused = |name, asn, cohorts, status, error, outcome, retry_after| Case {
        name,
        asn,
        cohorts,
        status,
        error: Some(error),
        difficulty: None,
        outcome,
        retry_after,
    };
    let cases = [
        priced("quiet", rates(0.0), 4, "price 4x4"),
        priced("level 1", rates(2.0), 6, "price 6x4"),
        refused("shed", 64500, rates(4.0), 503, "busy", "busy", Some("30")),
        refused("panic asn", 64500, panicked(key("asn:64500")), 503, "busy", "busy", Some("30")),
        refused("panic site", 3209, panicked(CohortKey::site()), 503, "busy", "busy", Some("30")),
        refused("deny rule", 64666, rates(0.0), 403, "denied", "deny", None),
        priced("unreadable", Cohorts::Unreadable("cohort object down".into()), 4, "price 4x4"),
    ];
    for c in cases {
        g.world.cohorts = c.cohorts;
        let run = g.send(&Req::get("/__gate/challenge?route=/signup").asn(c.asn));
        assert_eq!(run.status(), c.status, "{}", c.name);
        assert_eq!(run.io.len(), 1, "{}: one counter read", c.name);
        let log = run.log();
        assert_eq!(log.outcome.as_ref().map(ToString::to_string).as_deref(), Some(c.outcome), "{}", c.name);
        // the number's type is logged (never the number), for replay
        let kind =
            ["premium", "shared", "+44", "+86 on"].iter().find(|w| c.name.contains(*w)).map(|w| match *w {
                "premium" => "premium_rate",
                "shared" => "shared_cost",
                "+44" => "fixed_line",
                _ => "mobile",
            });
        assert_eq!(log.phone_type.as_deref(), kind, "{}", c.name);
        assert_eq!(log.stage, Some(Stage::Issue), "{}", c.name);
        assert_eq!(run.reply().header("retry-after"), c.retry_after, "{}", c.name);
        match c.error {
            None => {
                assert_eq!(run.json()["difficulty"].as_u64(), c.difficulty, "{}", c.name);
                assert_eq!(log.action, Action::Issue);
            }
            Some(code) => {
                assert_eq!(run.error(), Some(code), "{}", c.name);
                assert_eq!((log.action, log.code.as_deref()), (Action::Reject, Some(code)), "{}", c.name);
                assert_eq!(run.tallies(), [("reject", code.to_string())], "{}", c.name);
                assert!(!run.json().to_string().contains("64500"), "{}: the detail stays private", c.name);
            }
        }
        let unreadable = c.name == "unreadable";
        assert_eq!(
            log.counters_unreadable.as_deref().map(|u| u.contains("cohort object down")),
            unreadable.then_some(true),
            "{}: {:?}",
            c.name,
            log.counters_unreadable
        );
    }
    // the counters read are the request's cohorts, and the log carries their rates
    g.world.cohorts = rates(2.04);
    let run = g.send(&Req::get("/__gate/challenge?route=/signup"));
    assert_eq!(
        run.io,
        [Io::ReadCohorts {
            keys: vec![key("asn:64500"), key("ip_prefix:203.0.113.0/24")],
            site: false,
            window_secs: 10
        }]
    );
    assert_eq!(
        run.log().cohorts,
        [("asn:64500".to_string(), 2.0), ("ip_prefix:203.0.113.0/24".to_string(), 0.0)]
    );
    assert_eq!(run.log().level, Some(1));
    assert_eq!(run.log().ip_prefix.as_deref(), Some("203.0.113.0/24"));
    assert!(!run.log().to_json().contains("203.0.113.10"), "addresses are logged as prefixes only");
    assert_eq!(run.log().why.as_deref(), Some("cohort asn:64500 at 2/window +2"));
}

#[test]
fn issue_with_a_phone_code_is_priced_for_it() {
    let rules = "[[rules]]\nname = \"otp: +86 only\"\nroutes = [\"/api/otp/send\"]\nnot = { phone_code = [\"86\"] }\naction = \"deny\"";
    let mut g = Gate::new(&policy(false, "enabled = false", rules), &[]);
    let denied = g.send(&Req::get("/__gate/challenge?route=/api/otp/send&phone=%2B44"));
    assert_eq!((denied.status(), denied.error()), (403, Some("denied")));
    assert_eq!(denied.log().rule.as_deref(), Some("otp: +86 only"));
    assert_eq!(denied.log().phone_code.as_deref(), Some("44"));
    let ok = g.send(&Req::get("/__gate/challenge?route=/api/otp/send&phone=%2B86"));
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json()["phone_code"], "86");
    assert_eq!(ok.json()["phone_field"], "phone");
    // without the code the rule cannot be decided yet: issued
    assert_eq!(g.send(&Req::get("/__gate/challenge?route=/api/otp/send")).status(), 200);
}

// ---------------------------------------------------------------- submission

#[test]
fn a_solved_sign_up_is_forwarded_once_with_a_verdict_the_origin_verifies() {
    let mut g = plain();
    g.world.origin = Ok(201);
    let c = g.challenge(&client(), "/signup");
    let sol = solve(&c.token);
    let run = g.send(&client().solution(&sol));
    assert_eq!(run.status(), 201);
    assert!(matches!(run.done().answer, gate::pipeline::step::Answer::Origin));
    let (header, body) = run.forwarded().unwrap();
    assert_eq!(body, FORM.as_bytes(), "the body as sent");
    let v = check_verdict(header, "/signup");
    assert_eq!((v.difficulty, v.k, v.score), (4, 4, 10));
    assert_eq!(v.id, c.id);
    assert_eq!(v.reasons, ["ua_not_browser"]);
    assert_eq!(v.time, NOW);
    assert!(
        verdict::verify(
            header,
            &Key::new(b"another origin secret, long enough!!"),
            NOW,
            60,
            "POST",
            "/signup"
        )
        .is_err()
    );
    // spent once, under the challenge id, kept until expiry plus skew
    let spends: Vec<_> =
        run.io.iter().filter_map(|io| if let Io::Spend(o) = io { Some(o) } else { None }).collect();
    assert_eq!(spends.len(), 1);
    assert_eq!(URL_SAFE_NO_PAD.encode(spends[0].id), c.id);
    assert_eq!(spends[0].forget_after.seconds(), c.expires_at + 5);
    assert_eq!(spends[0].idempotency_key, None);
    let log = run.log();
    assert_eq!(
        (log.action, log.stage, log.status, log.code.as_deref()),
        (Action::Forward, Some(Stage::Submission), 201, None)
    );
    assert_eq!(
        (log.route.as_deref(), log.id.as_deref(), log.difficulty),
        (Some("/signup"), Some(c.id.as_str()), Some(4))
    );
    assert_eq!(log.outcome.as_ref().map(ToString::to_string).as_deref(), Some("price 4x4"));
    assert_eq!(run.tallies(), [("forward", "-".to_string())]);
    assert_eq!(run.done().counts.signup, None, "attack mode off: nothing to count");
    // a replay, from the in-memory ledger
    let again = g.send(&client().solution(&sol));
    assert_eq!((again.status(), again.error()), (409, Some("already_spent")));
    assert_eq!(again.json()["challenge"], "/__gate/challenge?route=/signup");
    assert_eq!(again.forwarded(), None);
    assert_eq!(again.log().id.as_deref(), Some(c.id.as_str()));
    assert_eq!(again.tallies(), [("reject", "already_spent".to_string())]);
}

#[test]
fn a_sign_up_is_counted_only_when_the_origin_accepts_it() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    for (status, counted) in [(200, true), (201, true), (303, true), (400, false), (409, false), (500, false)]
    {
        g.world.origin = Ok(status);
        let sol = g.solved(&client(), "/signup");
        let run = g.send(&client().solution(&sol));
        assert_eq!(run.status(), status);
        let want = counted.then(|| gate::control::Counted {
            keys: vec![
                CohortKey::parse("asn:64500").unwrap(),
                CohortKey::parse("ip_prefix:203.0.113.0/24").unwrap(),
            ],
            site: false,
            window_secs: 10,
            capacity: None,
            read_only: Vec::new(),
            peek: Vec::new(),
            weighted: Vec::new(),
        });
        assert_eq!(run.done().counts.signup, want, "origin {status}");
    }
    // the origin unreachable: 502, after the spend, not counted
    g.world.origin = Err("connection refused".into());
    let sol = g.solved(&client(), "/signup");
    let run = g.send(&client().solution(&sol));
    assert_eq!((run.status(), run.error()), (502, Some("origin_unavailable")));
    assert_eq!(run.reply().header("retry-after"), Some("5"));
    assert!(run.spent() && run.forwarded().is_some());
    assert_eq!(run.done().counts.signup, None);
    assert_eq!(run.log().detail.as_deref(), Some("connection refused"));
    assert_eq!(run.tallies(), [("reject", "origin_unavailable".to_string())]);
}

#[test]
fn every_bad_submission_is_refused_with_its_status_and_none_is_spent() {
    let mut g = plain();
    let c = g.challenge(&client(), "/signup");
    let good = solve(&c.token);
    let token = challenge::token_bytes(&c.token).unwrap();
    let mut forged = token.clone();
    forged[37] = 1; // the difficulty byte, under the old signature
    let parsed = Solution::parse(&good).unwrap();
    let with_token = |t: &[u8]| Solution { token: t.to_vec(), ..parsed.clone() }.encode();
    let foreign = minted("a key this gate never held, long enough!", &client(), "/signup", NOW.seconds(), 60);
    let expired = minted(GATE_SECRET, &client(), "/signup", NOW.seconds() - 700, 60);
    let future = minted(GATE_SECRET, &client(), "/signup", NOW.seconds() + 600, 60);
    let other_route = g.solved(&Req::post("/api/register", ""), "/api/register");
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let other_ua = g.solved(&client().ua(firefox), "/signup");
    let too_many = format!("{}.{}", c.token, URL_SAFE_NO_PAD.encode([0u8; 8 * 5]));
    let huge = "A".repeat(20_000);
    let cases: &[(&str, Option<&str>, u16, &str)] = &[
        ("no solution", None, 401, "missing_solution"),
        ("empty header", Some(""), 401, "missing_solution"),
        ("garbage", Some("not a solution"), 400, "malformed_solution"),
        ("truncated nonces", Some(&format!("{}.AAAA", c.token)), 400, "malformed_solution"),
        ("nonce count is not k", Some(&too_many), 400, "malformed_solution"),
        ("no nonces", Some(&format!("{}.", c.token)), 400, "malformed_solution"),
        ("version 2", Some(&with_token(&[&[2u8][..], &token[1..]].concat())), 400, "unsupported_version"),
        ("oversized solution", Some(&huge), 413, "too_large"),
        ("forged signature", Some(&with_token(&forged)), 403, "bad_signature"),
        ("unknown key id", Some(&foreign), 403, "unknown_key"),
        ("expired", Some(&expired), 401, "expired"),
        ("issued in the future", Some(&future), 401, "not_yet_valid"),
        ("too little work", Some(&lazy(&good)), 403, "insufficient_work"),
        ("another route", Some(&other_route), 403, "wrong_route"),
        ("another User-Agent (binding)", Some(&other_ua), 403, "binding_mismatch"),
    ];
    for (name, sol, status, code) in cases {
        let req = match sol {
            Some(s) => client().solution(s),
            None => client(),
        };
        let run = g.send(&req);
        assert_eq!(run.status(), *status, "{name}");
        assert_eq!(run.error(), Some(*code), "{name}");
        assert!(run.json()["message"].is_string(), "{name}");
        let offers = matches!(status, 400 | 401 | 403);
        assert_eq!(run.json().get("challenge").is_some(), offers, "{name}");
        if offers {
            assert_eq!(run.json()["challenge"], "/__gate/challenge?route=/signup", "{name}");
        }
        assert!(!run.json().to_string().contains("sub-puzzle"), "{name}: private detail leaked");
        assert!(!run.spent(), "{name}: nothing is spent for an unpaid request");
        assert_eq!(run.forwarded(), None, "{name}");
        let log = run.log();
        assert_eq!(
            (log.action, log.status, log.code.as_deref()),
            (Action::Reject, *status, Some(*code)),
            "{name}"
        );
        assert_eq!((log.stage, log.route.as_deref()), (Some(Stage::Submission), Some("/signup")), "{name}");
        assert_eq!(run.tallies(), [("reject", code.to_string())], "{name}");
    }
    let lazy_run = g.send(&client().solution(&lazy(&good)));
    assert!(lazy_run.log().detail.as_deref().unwrap().contains("sub-puzzle 0"), "the detail goes to the log");
    // the untouched original still works: rejections never spent it
    assert_eq!(g.send(&client().solution(&good)).status(), 200);
}

#[test]
fn a_previous_key_verifies_during_a_rotation() {
    let old = "the previous gate secret, long enough!!!";
    let mut g = Gate::new(&policy(false, "enabled = false", ""), &[("GATE_SECRET_PREVIOUS", old)]);
    let sol = minted(old, &client(), "/signup", NOW.seconds(), 60);
    assert_eq!(g.send(&client().solution(&sol)).status(), 200);
}

#[test]
fn expiry_is_judged_when_the_body_has_arrived() {
    let mut g = plain();
    let sol = g.solved(&client(), "/signup");
    g.world.body_delay = 60 + 5 + 1; // ttl + skew + 1
    let run = g.send(&client().solution(&sol));
    assert_eq!((run.status(), run.error()), (401, Some("expired")));
    assert_eq!(run.log().t, NOW.seconds() + 66);
    g.world.body_delay = 65;
    assert_eq!(g.send(&client().solution(&sol)).status(), 200);
}

#[test]
fn oversized_bodies_are_refused_declared_or_streamed_and_nothing_is_spent() {
    let mut g = plain();
    let sol = g.solved(&client(), "/signup");
    let big = format!("email=a%40b.c&pad={}", "x".repeat(3000));
    // declared: refused before the body is read
    let declared =
        g.send(&client().solution(&sol).body(&big).header("content-length", &big.len().to_string()));
    assert_eq!((declared.status(), declared.error()), (413, Some("too_large")));
    assert!(declared.io.is_empty(), "{:?}", declared.io);
    // streamed, no Content-Length (or a false one): refused once more than the cap arrived
    for req in [
        client().solution(&sol).body(&big),
        client().solution(&sol).body(&big).header("content-length", "10"),
    ] {
        let run = g.send(&req);
        assert_eq!((run.status(), run.error()), (413, Some("too_large")));
        assert_eq!(run.io, [Io::ReadBody { cap: 2048 }]);
        assert_eq!(
            run.log().detail.as_deref(),
            Some(format!("body of {}+ bytes is over 2048", big.len()).as_str())
        );
    }
    // a failed stream reads as malformed
    g.world.body_fails = Some("stream reset".into());
    let failed = g.send(&client().solution(&sol));
    assert_eq!((failed.status(), failed.error()), (400, Some("malformed_solution")));
    g.world.body_fails = None;
    assert_eq!(g.send(&client().solution(&sol)).status(), 200, "the solution was never spent");
}

#[test]
fn bodies_the_gate_cannot_read_alike_are_refused() {
    let mut g = plain();
    let sol = g.solved(&client(), "/signup");
    let cases: &[(&str, Req, u16, &str)] = &[
        ("Content-Encoding", client().header("content-encoding", "gzip"), 415, "unsupported_body"),
        ("charset utf-16", client().header("content-type", "application/x-www-form-urlencoded; charset=utf-16"), 415, "unsupported_body"),
        ("text/plain", client().header("content-type", "text/plain"), 415, "unsupported_body"),
        ("JSON sent as a form", client().body(r#"{"email":"a@b.c"}"#), 415, "unsupported_body"),
        ("two multipart boundaries", client().header("content-type", "multipart/form-data; boundary=a; boundary=b"), 415, "unsupported_body"),
        ("phone twice", client().body("phone=%2B86%20138&phone=%2B1%20415"), 400, "duplicate_field"),
        ("Phone and phone", client().body("phone=%2B86%20138&Phone=%2B1%20415"), 400, "duplicate_field"),
        ("phone[]", client().body("phone[]=%2B86&phone[]=%2B1"), 400, "duplicate_field"),
        ("percent-encoded name", client().body("ph%6Fne=%2B86&phone=%2B1"), 400, "duplicate_field"),
        ("behind a ;", client().body("email=x;phone=%2B1&phone=%2B86"), 400, "duplicate_field"),
        ("solution twice", client().body("gate-solution=a&Gate-Solution=b"), 400, "duplicate_field"),
        ("query and body", Req::post("/signup?phone=%2B1", "phone=%2B86"), 400, "duplicate_field"),
        ("JSON keys", client().header("content-type", "application/json").body(r#"{"phone":"+86","phone":"+1"}"#), 400, "duplicate_field"),
        ("JSON escaped key", client().header("content-type", "application/json").body(r#"{"phone":"+86","ph\u006fne":"+1"}"#), 400, "duplicate_field"),
        (
            "multipart",
            client()
                .header("content-type", "multipart/form-data; boundary=b")
                .body("--b\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+86\r\n--b\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+1\r\n--b--\r\n"),
            400,
            "duplicate_field",
        ),
    ];
    for (name, req, status, code) in cases {
        // a valid solution does not help
        let run = g.send(&req.clone().solution(&sol));
        assert_eq!((run.status(), run.error()), (*status, Some(*code)), "{name}");
        assert!(!run.spent(), "{name}");
        assert_eq!(run.log().code.as_deref(), Some(*code), "{name}");
    }
    assert_eq!(g.send(&client().solution(&sol)).status(), 200);
}

/// Mobile numbers of the metadata's examples (national significant number, calling code).
fn example_mobiles() -> Vec<(String, String)> {
    include_str!("data/phone/examples.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4 && f[2] == "mobile")
        .map(|f| (f[1].to_string(), f[3].to_string()))
        .collect()
}

/// Numbers no numbering plan has: too short, an unassigned calling code, too long, words, a
/// national form with no region to read it in.
fn unreadable_number() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[1-9][0-9]{0,2}", "[0-9]{1,2}").prop_map(|(cc, n)| format!("+{cc}{n}")),
        prop::sample::select(vec!["999", "0", "801", "969", "28"])
            .prop_flat_map(|cc| { "[0-9]{6,12}".prop_map(move |n| format!("+{cc} {n}")) }),
        ("[1-9][0-9]{0,2}", "[0-9]{18,24}").prop_map(|(cc, n)| format!("+{cc}{n}")),
        "[a-zA-Z][a-zA-Z ]{0,12}",
        "0[1-9][0-9]{8,9}",
        "\\+86 138 [a-z]{4} 8000",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever a number looks like, one the data cannot read gets `400 invalid_phone` before
    /// anything is spent or forwarded, and the same solution then gets in with a real number
    /// in any spelling a person types.
    #[test]
    fn a_phone_number_no_plan_has_is_refused_and_never_forwarded(
        bad in unreadable_number(),
        pick in any::<prop::sample::Index>(),
        spelling in 0..4usize,
    ) {
        let mut g = plain();
        let sol = g.solved(&client(), "/signup");
        let form = |number: &str| {
            let q: String = url::form_urlencoded::byte_serialize(number.as_bytes()).collect();
            client().body(format!("{FORM}&phone={q}")).solution(&sol)
        };
        let run = g.send(&form(&bad));
        prop_assert_eq!((run.status(), run.error()), (400, Some("invalid_phone")), "{}", bad);
        // the body says what is wrong with the number, and never repeats it
        let reason = run.json()["reason"].as_str().unwrap_or_default().to_string();
        prop_assert!(reason.starts_with("The phone number") || reason.starts_with("No phone number") || reason.starts_with("Write the phone"), "{}: {}", bad, reason);
        let digits: String = bad.chars().filter(char::is_ascii_digit).collect();
        prop_assert!(digits.len() < 4 || !reason.contains(&digits), "{}: {}", bad, reason);
        prop_assert!(!run.spent() && run.forwarded().is_none(), "{}", bad);
        let mobiles = example_mobiles();
        let (cc, nsn) = pick.get(&mobiles);
        let good = match spelling {
            0 => format!("+{cc}{nsn}"),
            1 => format!("00{cc}{nsn}"),
            2 => format!("+{cc} {nsn}"),
            _ => format!("+{cc}-{nsn}"),
        };
        let run = g.send(&form(&good));
        prop_assert_eq!(run.status(), 200, "{}: {:?}", good, run.error());
        prop_assert!(run.forwarded().is_some());
    }
}

#[test]
fn the_solution_is_read_from_the_header_or_any_form_kind_and_the_header_wins() {
    let mut g = plain();
    let field = |g: &mut Gate| {
        let sol = g.solved(&client(), "/signup");
        client().body(format!("{FORM}&gate-solution={}", sol))
    };
    let req = field(&mut g);
    assert_eq!(g.send(&req).status(), 200, "urlencoded field");
    let sol = g.solved(&client(), "/signup");
    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nm@example.com\r\n--XyZ\r\nContent-Disposition: form-data; name=\"gate-solution\"\r\n\r\n{sol}\r\n--XyZ--\r\n"
    );
    let run = g.send(&client().header("content-type", "multipart/form-data; boundary=XyZ").body(&multipart));
    assert_eq!(run.status(), 200, "multipart field");
    assert_eq!(run.forwarded().unwrap().1, multipart.as_bytes(), "forwarded as sent");
    let api = Req::post("/api/register", "");
    let sol = g.solved(&api, "/api/register");
    let json = serde_json::json!({"email": "j@example.com", "gate-solution": sol}).to_string();
    let run = g.send(&api.clone().header("content-type", "application/json").body(&json));
    assert_eq!(run.status(), 200, "JSON field");
    check_verdict(run.forwarded().unwrap().0, "/api/register");
    // the header wins over the field, both ways
    let sol = g.solved(&client(), "/signup");
    let run = g.send(&client().body(format!("{FORM}&gate-solution=garbage")).solution(&sol));
    assert_eq!(run.status(), 200, "a good header, a bad field");
    let sol = g.solved(&client(), "/signup");
    let run = g.send(&client().body(format!("{FORM}&gate-solution={sol}")).solution("garbage"));
    assert_eq!((run.status(), run.error()), (400, Some("malformed_solution")), "a bad header, a good field");
}

#[test]
fn the_ledger_fails_closed_or_open_as_configured() {
    let down = SpendAnswer::Unavailable("ledger object unreachable".into());
    let mut closed = plain();
    closed.world.ledger = Some(down.clone());
    let sol = closed.solved(&client(), "/signup");
    let run = closed.send(&client().solution(&sol));
    assert_eq!((run.status(), run.error()), (503, Some("ledger_unavailable")));
    assert_eq!(run.reply().header("retry-after"), Some("5"));
    assert_eq!(run.forwarded(), None);
    assert_eq!(run.log().detail.as_deref(), Some("ledger object unreachable"));

    let mut open = Gate::new(&policy(false, "enabled = false", ""), &[("FAIL_OPEN", "true")]);
    open.world.ledger = Some(down);
    let sol = open.solved(&client(), "/signup");
    let run = open.send(&client().solution(&sol));
    assert_eq!(run.status(), 200);
    let v = check_verdict(run.forwarded().unwrap().0, "/signup");
    assert_eq!(v.reasons, ["ua_not_browser", gate::pipeline::submit::FAIL_OPEN_REASON]);
    assert_eq!(gate::pipeline::submit::FAIL_OPEN_REASON, "ledger_unavailable_fail_open");
    // a replay answer is a replay whatever FAIL_OPEN says
    open.world.ledger = Some(SpendAnswer::Replay);
    assert_eq!(open.send(&client().solution(&sol)).status(), 409);
    // a siteverify idempotency Repeat is no licence for a second sign-up at the gate
    open.world.ledger = Some(SpendAnswer::Repeat);
    assert_eq!(open.send(&client().solution(&sol)).error(), Some("already_spent"));
}

#[test]
fn the_policy_at_submission_refuses_dearer_denied_and_shed_requests() {
    let rules = "[[rules]]\nname = \"otp: +86 only\"\nroutes = [\"/api/otp/send\"]\nnot = { phone_code = [\"86\"] }\naction = \"deny\"\n\
                 [[rules]]\nname = \"no premium\"\nroutes = [\"/api/otp/send\"]\nwhen = { phone_type = [\"premium_rate\", \"shared_cost\"] }\naction = \"deny\"";
    let one_bit = "enabled = true\nwindow_secs = 10\ncohorts = [\"asn\"]\nlevels = [{ at = 2, extra_bits = 1 }, { at = 3, extra_bits = 2 }, { at = 4, busy = true }]\nretry_after_secs = 30";
    let mut g = Gate::new(&policy(false, one_bit, rules), &[]);
    let rate = |r: f64| Cohorts::Rates(vec![(key("asn:64500"), r)], vec![]);
    struct Case {
        name: &'static str,
        path: &'static str,
        body: &'static str,
        cohorts: Cohorts,
        status: u16,
        error: Option<&'static str>,
        outcome: &'static str,
    }
    let cases = [
        Case {
            name: "one bit dearer is tolerated",
            path: "/signup",
            body: FORM,
            cohorts: rate(2.0),
            status: 200,
            error: None,
            outcome: "price 5x4",
        },
        Case {
            name: "two bits dearer: a top-up is offered, nothing spent",
            path: "/signup",
            body: FORM,
            cohorts: rate(3.0),
            status: 402,
            error: Some("more_work"),
            outcome: "price 6x4",
        },
        Case {
            name: "shed",
            path: "/signup",
            body: FORM,
            cohorts: rate(4.0),
            status: 503,
            error: Some("busy"),
            outcome: "busy",
        },
        Case {
            name: "site panic",
            path: "/signup",
            body: FORM,
            cohorts: Cohorts::Rates(vec![], vec![CohortKey::site()]),
            status: 503,
            error: Some("busy"),
            outcome: "busy",
        },
        Case {
            name: "+44 on the OTP route",
            path: "/api/otp/send",
            body: "phone=%2B44%2020%207946%200000",
            cohorts: rate(0.0),
            status: 403,
            error: Some("denied"),
            outcome: "deny",
        },
        Case {
            name: "+86 on the OTP route",
            path: "/api/otp/send",
            body: "phone=%2B86%20138%200013%208000",
            cohorts: rate(0.0),
            status: 200,
            error: None,
            outcome: "price 4x4",
        },
        Case {
            name: "+86 shared-cost number on the OTP route",
            path: "/api/otp/send",
            body: "phone=%2B86%20400%20123%204567",
            cohorts: rate(0.0),
            status: 403,
            error: Some("denied"),
            outcome: "deny",
        },
        Case {
            name: "+86 premium-rate number on the OTP route",
            path: "/api/otp/send",
            body: "phone=%2B86%201681%202345",
            cohorts: rate(0.0),
            status: 403,
            error: Some("denied"),
            outcome: "deny",
        },
        Case {
            name: "unreadable counters",
            path: "/signup",
            body: FORM,
            cohorts: Cohorts::Unreadable("do down".into()),
            status: 200,
            error: None,
            outcome: "price 4x4",
        },
    ];
    for c in cases {
        g.world.cohorts = Cohorts::Rates(vec![], vec![]);
        let client = Req::post(c.path, c.body);
        let sol = g.solved(&client, c.path);
        g.world.cohorts = c.cohorts;
        let run = g.send(&client.clone().solution(&sol));
        assert_eq!(run.status(), c.status, "{}", c.name);
        let log = run.log();
        assert_eq!(log.outcome.as_ref().map(ToString::to_string).as_deref(), Some(c.outcome), "{}", c.name);
        assert_eq!(
            log.counters_unreadable.as_deref().map(|u| u.contains("do down")),
            (c.name == "unreadable counters").then_some(true),
            "{}: {:?}",
            c.name,
            log.counters_unreadable
        );
        match c.error {
            Some(code) => {
                assert_eq!(run.error(), Some(code), "{}", c.name);
                assert!(!run.spent(), "{}: a refused request is not spent (it may be sent again)", c.name);
                assert_eq!(run.reply().header("retry-after"), (code == "busy").then_some("30"), "{}", c.name);
                assert!(log.id.is_some(), "{}: the paid challenge is named", c.name);
            }
            None => {
                assert!(run.forwarded().is_some(), "{}", c.name);
                assert_eq!(log.action, Action::Forward, "{}", c.name);
            }
        }
    }
    let otp = Req::post("/api/otp/send", "phone=%2B44%2020%207946%200000");
    g.world.cohorts = rate(0.0);
    let sol = g.solved(&otp, "/api/otp/send");
    let denied = g.send(&otp.solution(&sol));
    assert_eq!(denied.log().rule.as_deref(), Some("otp: +86 only"));
    assert_eq!(denied.log().phone_code.as_deref(), Some("44"));
    assert!(!denied.log().to_json().contains("7946"), "only the calling code is logged");
    // shed, then sent again once the spike is over: forwarded (busy never spent it)
    g.world.cohorts = rate(0.0);
    let sol = g.solved(&client(), "/signup");
    g.world.cohorts = rate(4.0);
    assert_eq!(g.send(&client().solution(&sol)).status(), 503);
    g.world.cohorts = rate(0.0);
    assert_eq!(g.send(&client().solution(&sol)).status(), 200);
    assert_eq!(g.send(&client().solution(&sol)).status(), 409, "and then it is spent");
}

#[test]
fn a_run_time_site_panic_sheds_even_with_attack_mode_off() {
    let mut g = Gate::new(&policy(false, "enabled = false", ""), &[]);
    g.world.cohorts = Cohorts::Rates(vec![], vec![CohortKey::site()]);
    let issue = g.send(&Req::get("/__gate/challenge?route=/signup"));
    assert_eq!((issue.status(), issue.error()), (503, Some("busy")));
    let sol = minted(GATE_SECRET, &client(), "/signup", NOW.seconds(), 60);
    let run = g.send(&client().solution(&sol));
    assert_eq!((run.status(), run.error()), (503, Some("busy")));
    assert!(!run.spent());
    assert_eq!(run.done().counts.signup, None, "nothing counted with attack mode off");
    g.world.cohorts = Cohorts::Rates(vec![], vec![]);
    assert_eq!(g.send(&client().solution(&sol)).status(), 200);
}

#[test]
fn a_busy_refusal_is_a_translated_page_for_a_person() {
    let mut g = Gate::new(&policy(false, "enabled = true\npanic = true\nretry_after_secs = 90", ""), &[]);
    let person = client().navigation().header("accept-language", "zh-CN,zh;q=0.9");
    // a challenge solved before the switch was thrown
    let sol = minted(GATE_SECRET, &person, "/signup", NOW.seconds(), 60);
    let run = g.send(&person.clone().solution(&sol));
    assert_eq!(run.status(), 503);
    assert_eq!(run.reply().header("retry-after"), Some("90"));
    let html = run.html();
    assert!(html.contains("<html lang=\"zh-CN\""), "{html}");
    assert!(html.contains("注册繁忙") && html.contains("登录不受影响"), "{html}");
    assert_eq!((run.log().code.as_deref(), run.log().why.as_deref()), (Some("busy"), Some("panic: site")));
    assert!(!run.spent());
    // an API client gets JSON; the challenge endpoint sheds too
    let sol = minted(GATE_SECRET, &client(), "/signup", NOW.seconds(), 60);
    let run = g.send(&client().solution(&sol));
    assert_eq!((run.status(), run.error()), (503, Some("busy")));
    let issue = g.send(&Req::get("/__gate/challenge?route=/signup"));
    assert_eq!((issue.status(), issue.error()), (503, Some("busy")));
    assert_eq!(issue.reply().header("retry-after"), Some("90"));
    assert!(issue.json()["message"].as_str().unwrap().contains("logging in still works"));
    assert!(
        matches!(g.send(&Req::post("/login", "email=a")).handled, Handled::PassThrough(_)),
        "logins pass"
    );
}

#[test]
fn shadow_mode_forwards_and_logs_what_would_have_happened() {
    let rules = "[[rules]]\nname = \"no DE\"\nwhen = { country = [\"DE\"] }\naction = \"deny\"";
    let per_rule = rules.replace("action = \"deny\"", "action = \"deny\"\nshadow = true");
    for (name, policy) in [
        ("global", policy(true, "enabled = false", rules)),
        ("per rule", policy(false, "enabled = false", &per_rule)),
    ] {
        let mut g = Gate::new(&policy, &[]);
        let issued = g.send(&Req::get("/__gate/challenge?route=/signup"));
        assert_eq!(issued.json()["difficulty"], 4, "{name}");
        assert_eq!(issued.log().shadow.as_deref(), Some("deny (rule \"no DE\")"), "{name}");
        assert!(issued.tallies().contains(&("shadow", "no DE".to_string())), "{name}");
        let sol = solve(issued.json()["token"].as_str().unwrap());
        let run = g.send(&client().solution(&sol));
        assert_eq!(run.status(), 200, "{name}");
        assert!(run.forwarded().is_some(), "{name}");
        let log = run.log();
        assert_eq!(log.action, Action::Forward, "{name}");
        assert_eq!(log.shadow.as_deref(), Some("deny (rule \"no DE\")"), "{name}");
        assert_eq!(log.outcome.as_ref().map(ToString::to_string).as_deref(), Some("price 4x4"), "{name}");
        // the enforced decision has no rule; the shadow count names the rule that would fire
        assert_eq!(run.tallies(), [("forward", "-".to_string()), ("shadow", "no DE".to_string())], "{name}");
    }
}

// ---------------------------------------------------------------- no JavaScript

const NO_JS: &str = "[no_js]\nroutes = [\"/signup\"]\nwait_secs = 5\nttl_secs = 120\nwindow_secs = 600\nbusy_at = { asn = 2 }";

fn token_in(html: &str) -> String {
    let at = html.find("name=\"gate-wait\" value=\"").unwrap() + "name=\"gate-wait\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[test]
fn no_js_wait_page_then_continue_forwards_once_without_the_token() {
    let mut g = Gate::new(&policy(false, "enabled = false", NO_JS), &[]);
    g.world.cohorts = Cohorts::Rates(vec![], vec![]);
    let person =
        Req::post("/signup", "email=nojs%40example.com&password=correct+horse&phone=%2B44+20+7946+0000")
            .navigation();
    let first = g.send(&person);
    assert_eq!(first.status(), 200);
    let html = first.html();
    assert!(html.contains("<input type=\"hidden\" name=\"email\" value=\"nojs@example.com\">"), "{html}");
    assert!(!html.contains("gate-solution"));
    let token = token_in(html);
    let log = first.log();
    assert_eq!((log.action, log.no_js, log.stage), (Action::Issue, true, Some(Stage::Submission)));
    assert_eq!(first.tallies(), [("issue", "no_js".to_string())]);
    assert_eq!(
        first.io,
        [
            Io::ReadBody { cap: 2048 },
            Io::ReadCohorts { keys: vec![], site: false, window_secs: 60 },
            Io::ReadCohorts { keys: vec![key("nojs:asn:64500")], site: false, window_secs: 600 }
        ]
    );
    let cont = person.clone().body(format!(
        "email=nojs%40example.com&password=correct+horse&phone=%2B44+20+7946+0000&gate-wait={token}"
    ));

    // too early: the page again, with the time left; nothing spent, nothing sent
    g.now = NOW.plus(2);
    let early = g.send(&cont);
    assert_eq!(early.status(), 429);
    assert_eq!(early.reply().header("retry-after"), Some("3"));
    assert!(early.html().contains(&token));
    assert_eq!((early.log().code.as_deref(), early.log().no_js), (Some("too_early"), true));
    assert!(!early.spent() && early.forwarded().is_none());
    assert_eq!(early.tallies(), [("reject", "too_early".to_string())]);
    let api_early =
        g.send(&cont.clone().header("accept", "application/json").header("sec-fetch-mode", "cors"));
    assert_eq!((api_early.status(), api_early.error()), (429, Some("too_early")));
    assert_eq!(api_early.json()["retry_after"], 3);

    // after the wait: forwarded, the person's fields as sent, without the token
    g.now = NOW.plus(5);
    g.world.origin = Ok(201);
    let done = g.send(&cont);
    assert_eq!(done.status(), 201);
    let (header, body) = done.forwarded().unwrap();
    assert_eq!(body, b"email=nojs%40example.com&password=correct+horse&phone=%2B44+20+7946+0000");
    let v = verdict::verify(header, &origin_key(), NOW.plus(5), 60, "POST", "/signup").unwrap();
    assert_eq!((v.difficulty, v.k), (0, 0));
    assert_eq!(v.reasons.last().map(String::as_str), Some("no_js"));
    let log = done.log();
    assert_eq!(
        (log.action, log.no_js, log.difficulty, log.phone_code.as_deref()),
        (Action::Forward, true, Some(0), Some("44"))
    );
    assert_eq!(done.tallies(), [("forward", "no_js".to_string())]);
    let counted = done.done().counts.signup.clone().unwrap();
    assert_eq!(
        counted.keys,
        [CohortKey::parse("nojs:asn:64500").unwrap()],
        "counted in its no-JS cohorts only"
    );

    // a replayed token: refused, as JSON for an API client
    let replay = g.send(&cont.clone().header("accept", "application/json").header("sec-fetch-mode", "cors"));
    assert_eq!((replay.status(), replay.error()), (409, Some("already_spent")));
    assert_eq!(replay.json().get("challenge"), None, "no challenge URL on the no-JS path");
    // a forged one: bad_signature, a page for a person
    let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
    *raw.last_mut().unwrap() ^= 1;
    let forged = person.clone().body(format!("email=x&gate-wait={}", URL_SAFE_NO_PAD.encode(&raw)));
    let f = g.send(&forged);
    assert_eq!(f.status(), 403);
    assert!(f.html().contains("<html lang=\"en\""));
    assert_eq!(f.log().code.as_deref(), Some("bad_signature"));
    // another client's token: binding_mismatch
    let other = g.send(&cont.clone().asn(3209));
    assert_eq!(other.log().code.as_deref(), Some("binding_mismatch"));
}

#[test]
fn no_js_is_for_browser_form_posts_on_listed_routes_within_budget() {
    let mut g = Gate::new(&policy(false, "enabled = false", NO_JS), &[]);
    let person = Req::post("/signup", "email=bulk%40example.com&password=x").navigation();
    // an API client never gets the path
    let api = g.send(&Req::post("/signup", "email=a%40b.c"));
    assert_eq!((api.status(), api.error()), (401, Some("missing_solution")));
    let fetch = g.send(&person.clone().header("accept", "application/json").header("sec-fetch-mode", "cors"));
    assert_eq!(fetch.error(), Some("missing_solution"));
    // a route not listed
    let register = g.send(&Req::post("/api/register", "email=x").navigation());
    assert_eq!(register.status(), 401);
    assert!(register.html().contains("<html"), "a page for a person");
    // JSON is not a form a browser without JavaScript sends
    let json = g.send(&person.clone().header("content-type", "application/json").body("{\"email\":\"x\"}"));
    assert_eq!(json.status(), 401);
    // at its budget the no-JS cohort is shed; its counters unreadable close it
    g.world.cohorts = Cohorts::Rates(vec![(key("nojs:asn:64500"), 2.0)], vec![]);
    let shed = g.send(&person);
    assert_eq!(shed.status(), 503);
    assert!(shed.reply().header("retry-after").is_some());
    assert_eq!((shed.log().code.as_deref(), shed.log().no_js), (Some("busy"), true));
    assert!(shed.log().detail.as_deref().unwrap().contains("nojs:asn:64500"), "{:?}", shed.log().detail);
    g.world.cohorts = Cohorts::Unreadable("down".into());
    let closed = g.send(&person);
    assert_eq!(closed.status(), 503);
    let detail = closed.log().detail.clone().unwrap();
    assert!(detail.starts_with("counters unreachable") && detail.contains("down"), "{detail}");
    g.world.cohorts = Cohorts::Rates(vec![(key("nojs:asn:64500"), 1.0)], vec![]);
    assert_eq!(g.send(&person).status(), 200, "under budget");
    // the noscript stylesheet knows where the path is on
    for (route, on) in [("/signup", true), ("/api/register", false)] {
        let css = g.send(&Req::get(&format!("/__gate/noscript.css?route={route}")));
        let gate::present::reply::Body::Css(text) = &css.reply().body else { panic!("css") };
        assert_eq!(text.contains(".gate-needs-js { display: none; }"), on, "{route}");
    }
}

// ---------------------------------------------------------------- siteverify

fn siteverify(fields: &[(&str, &str)]) -> Req {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    Req::post("/__gate/siteverify", &body).ua("origin-backend/1.0").asn(16509)
}

#[test]
fn siteverify_answers_in_the_turnstile_shape_and_spends_once() {
    let mut g = plain();
    let response = g.solved(&client(), "/signup");
    let ok = g.send(&siteverify(&[
        ("secret", SITEVERIFY_SECRET),
        ("response", &response),
        ("remoteip", "198.51.100.7"),
    ]));
    assert_eq!(ok.status(), 200);
    assert_eq!(
        *ok.json(),
        serde_json::json!({"success": true, "error-codes": [], "challenge_ts": NOW.rfc3339(), "hostname": "signup.example", "action": "/signup"})
    );
    assert_eq!(ok.tallies(), [("siteverify", "ok".to_string())]);
    assert_eq!(ok.done().event.as_ref().unwrap()["gate"], "siteverify");
    let fail = |codes: &[&str]| serde_json::json!({"success": false, "error-codes": codes});
    let again = g.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &response)]));
    assert_eq!(*again.json(), fail(&["timeout-or-duplicate"]));
    assert_eq!(again.tallies(), [("reject", "already_spent".to_string())]);
    // single use is shared with the gate's own submissions
    let through = g.send(&client().solution(&response));
    assert_eq!(through.error(), Some("already_spent"));
    // and the other way round, with a JSON body
    let used = g.solved(&client(), "/signup");
    assert_eq!(g.send(&client().solution(&used)).status(), 200);
    let json = serde_json::json!({"secret": SITEVERIFY_SECRET, "response": used}).to_string();
    let j =
        g.send(&Req::post("/__gate/siteverify", "").header("content-type", "application/json").body(&json));
    assert_eq!(*j.json(), fail(&["timeout-or-duplicate"]));

    let fresh = g.solved(&client(), "/signup");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: &[Case<'_>] = &[
        ("missing secret", vec![("response", &fresh)], "missing-input-secret"),
        (
            "wrong secret",
            vec![("secret", "not the secret, but long enough to compare"), ("response", &fresh)],
            "invalid-input-secret",
        ),
        ("missing response", vec![("secret", SITEVERIFY_SECRET)], "missing-input-response"),
        ("garbage", vec![("secret", SITEVERIFY_SECRET), ("response", "garbage")], "invalid-input-response"),
    ];
    for (name, fields, code) in cases {
        let run = g.send(&siteverify(fields));
        assert_eq!((run.status(), run.json()), (200, &fail(&[code])), "{name}");
        assert!(!run.spent(), "{name}");
    }
    let lazy_run = g.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &lazy(&fresh))]));
    assert_eq!(*lazy_run.json(), fail(&["invalid-input-response"]));
    let old = minted(GATE_SECRET, &client(), "/signup", NOW.seconds() - 700, 60);
    let expired = g.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &old)]));
    assert_eq!(*expired.json(), fail(&["timeout-or-duplicate"]));
    assert_eq!(expired.tallies(), [("reject", "expired".to_string())]);
    // the honest one was never spent by the failed attempts; and the secret is never logged
    let ok = g.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &fresh)]));
    assert_eq!(ok.json()["success"], true);
    assert!(!ok.done().event.as_ref().unwrap().to_string().contains(SITEVERIFY_SECRET));
}

#[test]
fn siteverify_idempotency_ledger_and_configuration() {
    let mut g = plain();
    let response = g.solved(&client(), "/signup");
    let key = "5e1b3a4c-0b7d-4a0a-9c55-1d2f3e4a5b6c";
    let with = |k: &str| {
        siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &response), ("idempotency_key", k)])
    };
    let first = g.send(&with(key));
    assert_eq!(first.json()["success"], true);
    let Io::Spend(order) = &first.io[1] else { panic!("{:?}", first.io) };
    assert_eq!(order.idempotency_key.as_deref(), Some(key));
    assert_eq!(g.send(&with(key)).json()["success"], true, "a retry with the same key");
    assert_eq!(g.send(&with("another")).json()["error-codes"], serde_json::json!(["timeout-or-duplicate"]));
    // the ledger unreachable
    g.world.ledger = Some(SpendAnswer::Unavailable("down".into()));
    let fresh = g.solved(&client(), "/signup");
    let down = g.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &fresh)]));
    assert_eq!(down.json()["error-codes"], serde_json::json!(["internal-error"]));
    assert_eq!(down.tallies(), [("reject", "ledger_unavailable".to_string())]);
    // not configured: 404; a broken configuration: internal-error; GET: 405
    let mut off = Gate::loaded(load(&{
        let mut v = vars(&policy(false, "enabled = false", ""), &[]);
        v.remove("SITEVERIFY_SECRET");
        v
    }));
    let run = off.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &fresh)]));
    assert_eq!((run.status(), run.error()), (404, Some("not_found")));
    let mut broken = Gate::new(&policy(false, "enabled = false", ""), &[("GATE_SECRET", "too-short")]);
    let run = broken.send(&siteverify(&[("secret", SITEVERIFY_SECRET), ("response", &fresh)]));
    assert_eq!(run.json()["error-codes"], serde_json::json!(["internal-error"]));
    assert_eq!(g.send(&Req::get("/__gate/siteverify")).status(), 405);
}

// ---------------------------------------------------------------- operators

#[test]
fn stats_need_the_token_and_answer_json_or_html() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let basic =
        |user_pass: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass));
    for auth in [
        None,
        Some("Bearer nope".to_string()),
        Some(format!("Bearer {STATS_TOKEN}x")),
        Some("Basic Og==".into()),
        Some(basic(&format!("ops:{ADMIN_TOKEN}"))),
    ] {
        let mut req = Req::get("/__gate/stats");
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let run = g.send(&req);
        assert_eq!((run.status(), run.error()), (401, Some("unauthorized")), "{auth:?}");
        assert_eq!(
            run.reply().header("www-authenticate"),
            Some("Basic realm=\"gate stats\", charset=\"UTF-8\"")
        );
        assert!(run.io.is_empty(), "{auth:?}: nothing read");
    }
    let minute = NOW.seconds() / 60;
    let count = |minute: u64, action: Action, code: &str, n: i64| Count {
        minute: minute as i64,
        action,
        code: code.into(),
        n,
    };
    g.stores
        .add_stats(
            0,
            vec![
                count(minute, Action::Forward, "-", 3),
                count(minute, Action::Reject, "busy", 7),
                count(minute - 1, Action::Reject, "risk_increased", 1),
            ],
        )
        .unwrap();
    g.stores.add_stats(5, vec![count(minute, Action::Issue, "hosting networks pay more", 2)]).unwrap();
    g.world.cohorts = Cohorts::Rates(
        vec![(key("asn:64500"), 4.26), (key("asn:3209"), 2.0), (key("ip_prefix:192.0.2.0/24"), 0.5)],
        vec![key("ip_prefix:192.0.2.0/24")],
    );
    let run = g.send(&Req::get("/__gate/stats").header("authorization", &format!("Bearer {STATS_TOKEN}")));
    assert_eq!(run.status(), 200);
    assert_eq!(run.io, [Io::ReadStats { since_minute: minute - 59 }]);
    let s = run.json();
    assert_eq!(s["policy"]["ok"], true);
    assert!(s["policy"]["source"].as_str().unwrap().starts_with("POLICY var, sha256 "));
    // the five refused tries above are counted too: every refusal is
    assert_eq!(s["decisions"]["by_action"], serde_json::json!({"forward": 3, "reject": 13, "issue": 2}));
    assert_eq!(
        s["decisions"]["rejections_by_code"],
        serde_json::json!({"busy": 7, "risk_increased": 1, "unauthorized": 5})
    );
    assert_eq!(s["decisions"]["by_rule"], serde_json::json!({"issue": {"hosting networks pay more": 2}}));
    assert_eq!(s["decisions"]["per_minute"].as_array().unwrap().len(), 60);
    assert_eq!(
        s["decisions"]["per_minute"][59],
        serde_json::json!({"minute": minute, "issue": 2, "forward": 3, "reject": 12})
    );
    assert_eq!(
        s["cohorts"],
        serde_json::json!([
            {"key": "asn:64500", "rate": 4.3, "level": 2, "state": "busy", "panic": false},
            {"key": "asn:3209", "rate": 2.0, "level": 1, "state": "escalated", "panic": false},
            {"key": "ip_prefix:192.0.2.0/24", "rate": 0.5, "level": 0, "state": "busy", "panic": true},
        ])
    );
    assert_eq!(s["health"]["condition"], "ok");
    let page = g.send(
        &Req::get("/__gate/stats")
            .header("authorization", &basic(&format!("ops:{STATS_TOKEN}")))
            .header("accept", "text/html"),
    );
    let html = page.html();
    assert!(html.contains("<svg role=\"img\""));
    assert!(html.contains("<tr><td>asn:64500</td><td>4.3</td><td>2</td><td>busy</td></tr>"), "{html}");
    g.world.stats = Err("stats object unreachable".into());
    let down = g.send(&Req::get("/__gate/stats").header("authorization", &format!("Bearer {STATS_TOKEN}")));
    assert_eq!((down.status(), down.error()), (503, Some("stats_unavailable")));
}

#[test]
fn stats_report_a_broken_configuration() {
    let mut g =
        Gate::new(&policy(false, "enabled = false", "").replace("difficulty = 4", "difficulty = 99"), &[]);
    let run = g.send(&Req::get("/__gate/stats").header("authorization", &format!("Bearer {STATS_TOKEN}")));
    assert_eq!(run.status(), 200);
    assert_eq!(run.json()["policy"]["ok"], false);
    let problems = run.json()["policy"]["problems"].to_string();
    assert!(problems.contains("defaults.difficulty: 99 is outside 1..=32"), "{problems}");
}

fn panic_req(body: &str, token: Option<&str>) -> Req {
    let req = Req::post("/__gate/panic", body).header("content-type", "application/json");
    match token {
        Some(t) => req.header("authorization", &format!("Bearer {t}")),
        None => req,
    }
}

#[test]
fn panic_switches_a_cohort_or_the_site_for_a_while() {
    let mut g = Gate::new(&policy(false, "enabled = true", ""), &[]);
    for token in [None, Some("wrong"), Some(STATS_TOKEN)] {
        let run = g.send(&panic_req(r#"{"scope":"site","on":true}"#, token));
        assert_eq!((run.status(), run.error()), (401, Some("unauthorized")), "{token:?}");
        assert_eq!(
            run.reply().header("www-authenticate"),
            Some("Basic realm=\"gate admin\", charset=\"UTF-8\"")
        );
        assert!(run.io.is_empty());
    }
    for (body, code) in [
        (r#"{"scope":"planet:earth","on":true}"#, "bad_scope"),
        (r#"{"scope":"asn:","on":true}"#, "bad_scope"),
        (r#"{"scope":"site"}"#, "bad_request"),
        ("not json", "bad_request"),
    ] {
        let run = g.send(&panic_req(body, Some(ADMIN_TOKEN)));
        assert_eq!((run.status(), run.error()), (400, Some(code)), "{body}");
        assert_eq!(run.io, [Io::ReadBody { cap: 4096 }], "{body}: nothing set");
    }
    assert_eq!(g.send(&Req::get("/__gate/panic")).status(), 405);
    let on = g.send(&panic_req(r#"{"scope":"asn:64500","on":true,"minutes":5}"#, Some(ADMIN_TOKEN)));
    assert_eq!(on.status(), 200);
    let until = NOW.plus(5 * 60);
    assert_eq!(on.io[1], Io::SetPanic { key: CohortKey::parse("asn:64500").unwrap(), until: Some(until) });
    assert_eq!(*on.json(), serde_json::json!({"scope": "asn:64500", "on": true, "until": until.rfc3339()}));
    let event = on.done().event.clone().unwrap();
    assert_eq!(
        (event["gate"].as_str(), event["scope"].as_str(), event["minutes"].as_u64()),
        (Some("panic"), Some("asn:64500"), Some(5))
    );
    assert_eq!(event["ip_prefix"], "203.0.113.0/24");
    assert!(!event.to_string().contains(ADMIN_TOKEN));
    let site = g.send(&panic_req(r#"{"scope":"site","on":true}"#, Some(ADMIN_TOKEN)));
    assert_eq!(
        site.io[1],
        Io::SetPanic { key: CohortKey::site(), until: Some(NOW.plus(60 * 60)) },
        "60 minutes by default"
    );
    let off = g.send(&panic_req(r#"{"scope":"site","on":false}"#, Some(ADMIN_TOKEN)));
    assert_eq!(off.io[1], Io::SetPanic { key: CohortKey::site(), until: None });
    assert_eq!(off.json()["until"], serde_json::Value::Null);
    g.world.panic = Err("cohort shard 2 unreachable".into());
    let failed = g.send(&panic_req(r#"{"scope":"site","on":true}"#, Some(ADMIN_TOKEN)));
    assert_eq!((failed.status(), failed.error()), (503, Some("counters_unavailable")));
}

// ---------------------------------------------------------------- front door

fn front(g: &mut Gate, req: &Req) -> String {
    let run = g.send(req);
    match &run.handled {
        Handled::PassThrough(to) => format!("pass {to}"),
        Handled::WidgetFile(name) => format!("widget {name}"),
        Handled::Done(_) => match run.done().own_reply() {
            Some(r) => format!("{} {}", r.status, run.error().unwrap_or("-")),
            None => "origin".into(),
        },
    }
}

#[test]
fn the_front_door_routes_every_kind_of_request() {
    let mut g = plain();
    let widget = gate::pipeline::front::WIDGET_FILES[0];
    let cases: Vec<(&str, Req, String)> = vec![
        (
            "login",
            Req::post("/login?next=%2Fhome", "email=a&password=b"),
            "pass https://origin.example/".into(),
        ),
        ("GET sign-up page", Req::get("/signup?ref=ad"), "pass https://origin.example/".into()),
        (
            "PUT elsewhere",
            Req::new("PUT", "/upload").body(vec![0u8; 10_000]),
            "pass https://origin.example/".into(),
        ),
        ("case", Req::post("/SignUp", ""), "401 missing_solution".into()),
        ("trailing slash", Req::post("/signup/", ""), "401 missing_solution".into()),
        (";params", Req::post("/signup;x=1", ""), "401 missing_solution".into()),
        ("extension", Req::post("/signup.json", ""), "401 missing_solution".into()),
        ("below the route", Req::post("/signup/log-test", ""), "401 missing_solution".into()),
        (
            "method override",
            Req::new("PUT", "/signup").header("x-http-method-override", "POST"),
            "401 missing_solution".into(),
        ),
        ("double slash", Req::post("//signup", ""), "400 non_canonical_path".into()),
        ("encoded letter", Req::post("/sign%75p", ""), "400 non_canonical_path".into()),
        ("encoded space", Req::post("/signup%20", ""), "400 non_canonical_path".into()),
        ("odd login spelling", Req::post("/login%2e", ""), "400 non_canonical_path".into()),
        (
            "override on an odd spelling",
            Req::get("/signup%20").header("x-http-method-override", "POST"),
            "400 non_canonical_path".into(),
        ),
        ("GET odd spelling", Req::get("/signup%20"), "pass https://origin.example/".into()),
        ("widget GET", Req::get(&format!("/__gate/{widget}")), format!("widget {widget}")),
        ("widget HEAD", Req::new("HEAD", &format!("/__gate/{widget}")), format!("widget {widget}")),
        ("widget POST", Req::post(&format!("/__gate/{widget}"), ""), "405 method_not_allowed".into()),
        ("not a widget file", Req::get("/__gate/../wrangler.toml"), "404 not_found".into()),
        ("unknown endpoint", Req::get("/__gate/nothing-here"), "404 not_found".into()),
        ("ping", Req::get("/__gate/ping"), "200 -".into()),
    ];
    for (name, req, want) in cases {
        assert_eq!(front(&mut g, &req), want, "{name}");
    }
    let refused = g.send(&Req::post("//signup", ""));
    let log = refused.log();
    assert_eq!(
        (log.action, log.code.as_deref(), log.route.as_deref(), log.stage),
        (Action::Reject, Some("non_canonical_path"), None, None)
    );
    assert_eq!(refused.tallies(), [("reject", "non_canonical_path".to_string())]);
}

#[test]
fn a_broken_configuration_closes_protected_routes_while_logins_pass() {
    let mut g = Gate::new(
        &policy(false, "enabled = false", "").replace("difficulty = 4", "difficulty = 99"),
        &[("GATE_SECRET", "too-short")],
    );
    let problems = g.loaded.config.as_ref().unwrap_err().to_string();
    assert!(problems.starts_with("2 configuration problems: "), "{problems}");
    assert!(!problems.contains("too-short"), "secret values are never shown");
    let run = g.send(&Req::post("/signup", "").solution("anything"));
    assert_eq!((run.status(), run.error()), (503, Some("misconfigured")));
    assert_eq!(run.reply().header("retry-after"), Some("60"));
    assert_eq!(run.log().route.as_deref(), Some("/signup"));
    assert_eq!(front(&mut g, &Req::get("/__gate/challenge?route=/signup")), "503 misconfigured");
    assert_eq!(front(&mut g, &Req::post("/login", "")), "pass https://origin.example/");
    assert_eq!(
        front(
            &mut g,
            &Req::post("/__gate/panic", "{}").header("authorization", &format!("Bearer {ADMIN_TOKEN}"))
        ),
        "401 unauthorized"
    );
    // a policy that cannot even be read: every non-read request is closed, reads pass
    let mut unreadable = Gate::new("{\"version\": 1, \"routes\": {\"protected\": [\"POST /signup\"]", &[]);
    for (req, want) in [
        (Req::post("/signup", ""), "503 misconfigured"),
        (Req::post("/any/form", ""), "503 misconfigured"),
        (Req::post("/login", ""), "503 misconfigured"),
        (Req::get("/account"), "pass https://origin.example/"),
    ] {
        assert_eq!(front(&mut unreadable, &req), want, "{} {}", req.facts.method, req.facts.path);
    }
    // no valid ORIGIN: nothing can pass through
    let mut no_origin = Gate::new(&policy(false, "enabled = false", ""), &[("ORIGIN", "ftp://x")]);
    assert_eq!(front(&mut no_origin, &Req::post("/login", "")), "503 misconfigured");
}

// ---------------------------------------------------------------- decision-log lines

/// What a proptest case sends.
#[derive(Clone, Debug)]
enum Send {
    Challenge,
    Solved,
    Lazy,
    Raw,
}

fn request_facts() -> impl Strategy<Value = (Req, Send, Option<f64>)> {
    let method = prop::sample::select(vec!["POST", "PUT", "GET", "PATCH"]);
    let path = prop::sample::select(vec![
        "/signup",
        "/api/register",
        "/api/otp/send",
        "/SignUp",
        "//signup",
        "/login",
        "/signup/x",
    ]);
    let ua = prop_oneof![
        Just(API_UA.to_string()),
        Just(CHROME_UA.to_string()),
        Just("curl/8.5.0".to_string()),
        Just(String::new()),
        "\\PC{0,300}",
    ];
    let ip = prop_oneof![
        Just(None),
        Just(Some("203.0.113.10".to_string())),
        Just(Some("2001:db8::1".to_string())),
        Just(Some("nonsense".to_string()))
    ];
    let body = prop_oneof![Just(FORM.to_string()), Just("phone=%2B86%20138".to_string()), "\\PC{0,64}"];
    let send = prop_oneof![Just(Send::Challenge), Just(Send::Solved), Just(Send::Lazy), Just(Send::Raw)];
    let rate = prop_oneof![Just(None), (0.0f64..10_000.0).prop_map(Some)];
    (method, path, ua, prop::option::of(any::<u32>()), prop::option::of("[A-Z]{2}"), ip, body, send, rate)
        .prop_map(|(method, path, ua, asn, country, ip, body, send, rate)| {
            let mut req = Req::new(method, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .ua(&ua);
            if ua.is_empty() {
                req = req.without("user-agent");
            }
            req.facts.cf.asn = asn;
            req.facts.cf.country = country;
            req.facts.client_ip = ip;
            (req, send, rate)
        })
}

/// A valid decision-log line with most fields set, as text.
fn sample_line() -> String {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    g.world.cohorts = Cohorts::Rates(vec![(key("asn:64500"), 2.5)], vec![]);
    let sol = g.solved(&client(), "/signup");
    g.send(&client().solution(&lazy(&sol))).log().to_json()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any line the pipeline writes reads back as the same line (`gate replay` depends on it).
    #[test]
    fn decision_log_lines_round_trip((req, send, rate) in request_facts()) {
        let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
        g.world.cohorts = match rate {
            Some(r) => Cohorts::Rates(vec![(key("asn:64500"), r), (CohortKey::site(), r / 3.0)], vec![]),
            None => Cohorts::Unreadable("down".into()),
        };
        let route = req.facts.path.clone();
        let mut runs = Vec::new();
        let issued = g.send(&{
            let mut r = req.clone();
            r.facts.method = "GET".into();
            r.facts.path = "/__gate/challenge".into();
            r.facts.query = Some(format!("route={route}&phone=%2B86"));
            r
        });
        let token = issued.done().own_reply().and_then(|r| match &r.body {
            gate::present::reply::Body::Json(v) => v.get("token").and_then(|t| t.as_str()).map(str::to_string),
            _ => None,
        });
        runs.push(issued);
        let sol = token.map(|t| solve(&t));
        match (send, sol) {
            (Send::Challenge, _) => {}
            (Send::Solved, Some(s)) => runs.push(g.send(&req.clone().solution(&s))),
            (Send::Lazy, Some(s)) => runs.push(g.send(&req.clone().solution(&lazy(&s)))),
            _ => runs.push(g.send(&req)),
        }
        for run in &runs {
            let Handled::Done(done) = &run.handled else { continue };
            let Some(line) = &done.log else { continue };
            let text = line.to_json();
            prop_assert!(!text.contains("log_error"), "{}", text);
            let back: DecisionLog = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back, line);
            prop_assert_eq!(back.to_json(), text);
        }
    }

    /// Whatever text `gate replay` is handed, reading it as a line never panics.
    #[test]
    fn any_text_read_as_a_decision_log_line_never_panics(
        cut in any::<prop::sample::Index>(),
        insert in "\\PC{0,8}",
        noise in prop_oneof!["\\PC{0,200}", "[{}\\[\\]\":,0-9a-z_ .\\-]{0,200}"],
        kind in 0u8..4,
    ) {
        let line = sample_line();
        let at = cut.index(line.len() + 1);
        let at = (0..=at).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
        let text = match kind {
            0 => line[..at].to_string(),
            1 => format!("{}{insert}{}", &line[..at], &line[at..]),
            2 => format!("{}{noise}", &line[..at]),
            _ => noise.clone(),
        };
        let _ = serde_json::from_str::<DecisionLog>(&text);
    }
}
