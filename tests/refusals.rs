//! Every refusal is counted: each rejection kind is produced through the pipeline by a request
//! that earns it (the match is exhaustive, so a new kind needs a case here), and the stats
//! shards hold a `reject` count under its code afterwards; the refusal's log line carries the
//! code too. The stats promise to count every refusal; this keeps the promise checkable.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::driver::*;
use gate::pipeline::step::SpendAnswer;
use gate::policy::{CohortKey, CohortKind};
use gate::protocol::challenge;
use gate::protocol::key::Key;
use gate::protocol::reject::RejectKind;
use gate::protocol::solution::Solution;

const FORM: &str = "email=a%40example.com&password=hunter2hunter2";
const NO_JS: &str = "[no_js]\nroutes = [\"/signup\"]\nwait_secs = 5\nttl_secs = 120\nwindow_secs = 600\nbusy_at = { asn = 2 }";
const DENY_ASN: &str = "[[rules]]\nname = \"no 64999\"\nwhen = { asn = [64999] }\naction = \"deny\"";

fn client() -> Req {
    Req::post("/signup", FORM)
}

fn with_solution(sol: &str) -> Req {
    client().solution(sol)
}

fn admin(body: &str) -> Req {
    Req::post("/__gate/panic", body)
        .header("content-type", "application/json")
        .header("authorization", &format!("Bearer {ADMIN_TOKEN}"))
}

fn asn_rate(rate: f64) -> Cohorts {
    Cohorts::Rates(vec![(CohortKey::new(CohortKind::Asn, "64500"), rate)], Vec::new())
}

/// A gate and the request that earns `kind` from it (after whatever set-up it needs).
fn earn(kind: RejectKind) -> (Gate, Req) {
    let plain = || Gate::new(&policy(false, "enabled = false", ""), &[]);
    let mut g = plain();
    let req = match kind {
        RejectKind::MissingSolution => client(),
        RejectKind::MalformedSolution => with_solution("not a solution"),
        RejectKind::UnsupportedVersion => {
            let mut s = Solution::parse(&g.solved(&client(), "/signup")).unwrap();
            s.token[0] = 9;
            with_solution(&s.encode())
        }
        RejectKind::TooLarge => client().header("content-length", "99999999"),
        RejectKind::UnknownKey | RejectKind::NotYetValid => {
            let secret = if kind == RejectKind::UnknownKey {
                "another deployment's secret, 32+ bytes"
            } else {
                GATE_SECRET
            };
            let issued = if kind == RejectKind::NotYetValid { NOW.seconds() + 3600 } else { NOW.seconds() };
            with_solution(&minted(secret, &client(), "/signup", issued, 60))
        }
        RejectKind::BadSignature => {
            let mut s = Solution::parse(&g.solved(&client(), "/signup")).unwrap();
            let last = s.token.len() - 1;
            s.token[last] ^= 1;
            with_solution(&s.encode())
        }
        RejectKind::Expired => {
            let sol = g.solved(&client(), "/signup");
            g.now = NOW.plus(3600);
            with_solution(&sol)
        }
        RejectKind::WrongRoute => with_solution(&g.solved(&client(), "/api/register")),
        RejectKind::BindingMismatch => with_solution(&g.solved(&client(), "/signup")).asn(64501),
        RejectKind::InsufficientWork => {
            let mut s = Solution::parse(&g.solved(&client(), "/signup")).unwrap();
            let c = challenge::decode(&s.token).unwrap().challenge;
            let seed = gate::pow::seed(&s.token, &s.signals);
            s.nonces[0] = (0..).find(|n| !gate::pow::meets(&seed, 0, *n, c.difficulty)).unwrap();
            with_solution(&s.encode())
        }
        RejectKind::AlreadySpent => {
            let sol = g.solved(&client(), "/signup");
            assert_eq!(g.send(&with_solution(&sol)).status(), 200);
            with_solution(&sol)
        }
        RejectKind::LedgerUnavailable => {
            g.world.ledger = Some(SpendAnswer::Unavailable("ledger down".into()));
            with_solution(&g.solved(&client(), "/signup"))
        }
        RejectKind::Misconfigured => {
            g = Gate::new(&policy(false, "enabled = false", ""), &[("GATE_SECRET", "short")]);
            client()
        }
        RejectKind::UnknownRoute => Req::get("/__gate/challenge?route=/nowhere"),
        RejectKind::NotFound => Req::get("/__gate/nothing-here"),
        RejectKind::MethodNotAllowed => Req::get("/__gate/panic"),
        RejectKind::OriginUnavailable => {
            g.world.origin = Err("connection refused".into());
            with_solution(&g.solved(&client(), "/signup"))
        }
        RejectKind::Denied => {
            g = Gate::new(&policy(false, "enabled = false", DENY_ASN), &[]);
            Req::get("/__gate/challenge?route=/signup").asn(64999)
        }
        RejectKind::MoreWork => {
            g = Gate::new(&policy(false, ATTACK, ""), &[]);
            let sol = g.solved(&client(), "/signup");
            // the cohort's rate rises between the challenge and the post: +2 bits
            g.world.cohorts = asn_rate(3.0);
            with_solution(&sol)
        }
        RejectKind::RiskIncreased => {
            // the price rose and the bundle has no room for another top-up
            g = Gate::new(&policy(false, ATTACK, ""), &[]);
            let c = g.challenge(&client(), "/signup");
            let token = gate::protocol::challenge::token_bytes(&c.token).unwrap();
            let first = challenge::decode(&token).unwrap().challenge;
            let mut s = gate::protocol::solution::solve(&token, b"").unwrap();
            for n in 0..gate::protocol::solution::MAX_TOP_UPS as u8 {
                let t = gate::protocol::topup::issue(
                    &Key::new(GATE_SECRET.as_bytes()),
                    &first,
                    1,
                    1,
                    NOW,
                    [n; 16],
                )
                .unwrap();
                let seed = gate::pow::seed(&t, b"");
                s.topups.push(gate::protocol::solution::TopUpPart {
                    token: t,
                    nonces: vec![gate::pow::solve(&seed, 0, 1).unwrap()],
                });
            }
            g.world.cohorts = asn_rate(3.0);
            with_solution(&s.encode())
        }
        RejectKind::Busy => {
            g = Gate::new(&policy(false, ATTACK, ""), &[]);
            g.world.cohorts = asn_rate(9.0);
            Req::get("/__gate/challenge?route=/signup")
        }
        RejectKind::NonCanonicalPath => Req::post("//signup", FORM),
        RejectKind::DuplicateField => Req::post("/signup", "phone=%2B861&phone=%2B862"),
        RejectKind::InvalidPhone => {
            let sol = g.solved(&client(), "/signup");
            // solved, but the number is not one any origin could text
            client().body(format!("{FORM}&phone=%2B86%20123")).solution(&sol)
        }
        RejectKind::UnsupportedBody => client().header("content-encoding", "gzip"),
        RejectKind::Unauthorized => Req::get("/__gate/stats"),
        RejectKind::BadRequest => admin("not json"),
        RejectKind::BadScope => admin(r#"{"scope":"planet:earth","on":true}"#),
        RejectKind::TooEarly => {
            g = Gate::new(&policy(false, "enabled = false", NO_JS), &[]);
            let person = client().navigation();
            let page = g.send(&person);
            let html = page.html().to_string();
            let token = html.split("name=\"gate-wait\" value=\"").nth(1).unwrap().split('"').next().unwrap();
            let body = format!("{FORM}&gate-wait={token}");
            Req::post("/signup", &body).navigation()
        }
        RejectKind::StatsUnavailable => {
            g.world.stats = Err("stats shards down".into());
            g.keep_isolate = true;
            Req::get("/__gate/stats").header("authorization", &format!("Bearer {STATS_TOKEN}"))
        }
        RejectKind::CountersUnavailable => {
            g.world.panic = Err("shard down".into());
            admin(r#"{"scope":"site","on":true}"#)
        }
        RejectKind::PhoneRangeBlocked => {
            let otp = "[otp]\nsend = { route = \"/api/otp/send\" }\ncheck = { route = \"POST /api/otp/check\", field = \"phone\" }";
            g = Gate::new(&policy(false, "enabled = false", otp), &[]);
            // the range's block switch is on (written by an earlier send's decision) and the
            // range is being tried (a block holds only while it is)
            let key = |c| gate::policy::CohortKey::otp(c, "+86 138");
            let tries = (key(gate::policy::OtpCount::Tries), 10.0);
            g.world.cohorts = Cohorts::Rates(vec![tries], vec![key(gate::policy::OtpCount::Block)]);
            let send = Req::post("/api/otp/send", "phone=%2B86%20138%200013%208000");
            let sol = g.solved(&send, "/api/otp/send");
            send.solution(&sol)
        }
        RejectKind::PhoneNumberWait => {
            let otp = "[otp]\nsend = { route = \"/api/otp/send\" }\ncheck = { route = \"POST /api/otp/check\", field = \"phone\" }\n[otp.backoff]";
            g = Gate::new(&policy(false, "enabled = false", otp), &[]);
            g.keep_isolate = true;
            g.world.cohorts = Cohorts::Live;
            // a code was sent to the number a moment ago
            let send = Req::post("/api/otp/send", "phone=%2B86%20138%200013%208000");
            let sol = g.solved(&send, "/api/otp/send");
            assert_eq!(g.send(&send.clone().solution(&sol)).status(), 200);
            let sol = g.solved(&send, "/api/otp/send");
            send.solution(&sol)
        }
        RejectKind::InLine => {
            // a route over its capacity, with a line: a minute calm, a minute at twice capacity
            let attack = "enabled = true\nwindow_secs = 60\ncohorts = [\"asn\"]\nlevels = [{ at = 100000, extra_bits = 1 }]\n\
                [[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = 30\nperiod_secs = 5\nline_max_wait_secs = 600";
            g = Gate::new(&policy(false, attack, ""), &[]);
            g.keep_isolate = true;
            g.world.cohorts = Cohorts::Live;
            for n in 0..80u32 {
                let who = client().asn(65_000 + n);
                let sol = g.solved(&who, "/signup");
                g.send(&who.solution(&sol));
                g.now = g.now.plus(if n < 20 { 3 } else { 1 });
            }
            let who = client().asn(66_000);
            let sol = g.solved(&who, "/signup");
            who.solution(&sol)
        }
        other => panic!("no case for {other:?}: add one"),
    };
    (g, req)
}

#[test]
fn every_refusal_kind_is_counted_in_the_stats() {
    for kind in RejectKind::ALL {
        let (mut g, req) = earn(kind);
        let before = g.counted().get(&("reject".to_string(), kind.code().to_string())).copied().unwrap_or(0);
        let run = g.send(&req);
        let code = kind.code();
        assert_eq!(run.status(), kind.status(), "{kind:?}: {run:?}");
        assert_eq!(run.log().code.as_deref(), Some(code), "{kind:?}");
        assert_eq!(run.tallies(), [("reject", code.to_string())], "{kind:?}");
        if kind == RejectKind::StatsUnavailable || g.keep_isolate {
            // the count waited in the isolate's batch; the next flush (a second on) carries it
            g.world.stats = Ok(());
            g.now = g.now.plus(2);
            g.send(&Req::get("/__gate/nothing-here"));
        }
        let after = g.counted().get(&("reject".to_string(), code.to_string())).copied().unwrap_or(0);
        assert_eq!(after, before + 1, "{kind:?}: the stats shards hold the count");
    }
}

#[test]
fn siteverify_refusals_are_counted_under_their_codes() {
    let mut g = Gate::new(&policy(false, "enabled = false", ""), &[]);
    let sv = |fields: &str| Req::post("/__gate/siteverify", fields).ua("origin-backend/1.0");
    for (req, code) in [
        (sv("response=x"), "missing-input-secret"),
        (sv("secret=wrong&response=x"), "invalid-input-secret"),
        (sv(&format!("secret={SITEVERIFY_SECRET}")), "missing-input-response"),
        (sv(&format!("secret={SITEVERIFY_SECRET}&response=garbage")), "malformed_solution"),
    ] {
        let run = g.send(&req);
        assert_eq!(run.status(), 200, "{code}: siteverify answers in the Turnstile shape");
        assert_eq!(run.tallies(), [("reject", code.to_string())]);
        assert_eq!(g.counted().get(&("reject".to_string(), code.to_string())), Some(&1), "{code}");
    }
}
