//! Per-number backoff on the OTP send route (issue 20, item 3: `[otp.backoff]`): codes to one
//! number are spaced by a wait that doubles with each code not entered (with jitter, up to a
//! cap), whatever work a client pays, so a number cannot be texted again and again (SMS bombing
//! a person, pumping one premium number). A right code on the check route clears the number; a
//! send the origin failed is given back to it; every other number is untouched.
//!
//! Ranges are never judged here (`min_sends` out of reach): the number's wait alone is tested,
//! over numbers of several countries and a generated schedule of sends and checks, with
//! the stores in memory and virtual time.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use gate::request::phone;
use std::collections::HashMap;

const OTP: &str = "[otp]\nsend = { route = \"/api/otp/send\" }\n\
    check = { route = \"POST /api/otp/check\", field = \"phone\" }\n\
    min_sends = 100000\n\
    [otp.backoff]\nbase_secs = 30\nfactor = 2.0\nmax_secs = 3600\njitter = 0.25\n";

fn gate(shadow: bool) -> Gate {
    let mut g = Gate::new(&policy(shadow, "enabled = false", OTP), &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    g
}

/// `n` numbers in use near `base` (its last digits counted up), in E.164.
fn numbers_near(base: &str, n: usize) -> Vec<String> {
    let stem = &base[..base.len() - 3];
    let out: Vec<String> = (0..1000)
        .map(|t| format!("{stem}{t:03}"))
        .filter(|c| phone::parse(c, None).is_ok())
        .take(n)
        .collect();
    assert_eq!(out.len(), n, "numbers near {base}");
    out
}

/// Numbers of five countries.
fn people(n: usize) -> Vec<String> {
    ["+8613800138000", "+447400123000", "+4915123456000", "+919810012000", "+5511987654000"]
        .iter()
        .flat_map(|b| numbers_near(b, n))
        .collect()
}

fn form(number: &str) -> String {
    format!("phone={}", number.replace('+', "%2B"))
}

/// What asking for a code came to.
#[derive(Debug, PartialEq)]
enum Sent {
    /// Forwarded to the origin.
    Forwarded,
    /// `429 phone_number_wait`: retry after this many seconds.
    Wait(u64),
}

/// Asks for a code to `number` with a fresh solution; returns what came of it and the solution
/// (to send again).
fn ask(g: &mut Gate, number: &str) -> (Sent, String) {
    let client = Req::post("/api/otp/send", &form(number));
    let sol = g.solved(&client, "/api/otp/send");
    (resend(g, number, &sol), sol)
}

/// Sends `number`'s request with solution `sol`.
fn resend(g: &mut Gate, number: &str, sol: &str) -> Sent {
    let run = g.send(&Req::post("/api/otp/send", &form(number)).solution(sol));
    match run.status() {
        200 => {
            assert!(run.forwarded().is_some(), "{run:?}");
            Sent::Forwarded
        }
        429 => {
            assert_eq!(run.error(), Some("phone_number_wait"), "{run:?}");
            assert!(run.forwarded().is_none(), "a waiting number is never sent a code");
            let retry =
                run.reply().headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).unwrap();
            // the refusal says nothing of the number, only the wait
            let text = format!("{run:?}");
            assert!(!text.contains(&number[1..]), "the number leaks: {text}");
            Sent::Wait(retry.1.parse().unwrap())
        }
        other => panic!("send to {number}: {other} {run:?}"),
    }
}

fn check(g: &mut Gate, number: &str, right: bool) {
    g.world.origin = Ok(if right { 200 } else { 400 });
    let run = g.send(&Req::post("/api/otp/check", &format!("{}&code=123456", form(number))));
    assert!(run.relayed().is_some(), "a check always passes: {run:?}");
    g.world.origin = Ok(200);
}

/// The wait before the `n`-th code after a first one (n ≥ 1), without jitter, seconds.
fn plain_wait(n: u32) -> u64 {
    (30u64 << (n - 1).min(20)).min(3600)
}

#[test]
fn a_number_waits_longer_after_each_code_not_entered_and_a_right_code_clears_it() {
    let mut g = gate(false);
    let numbers = people(2);
    for number in &numbers {
        assert_eq!(ask(&mut g, number).0, Sent::Forwarded, "the first code: no wait");
        // the streak: each next code waits about twice as long, never less than asked
        for n in 1..=4u32 {
            let (got, sol) = ask(&mut g, number);
            let Sent::Wait(secs) = got else { panic!("{number}: code {n} sent at once") };
            let plain = plain_wait(n);
            assert!(secs >= plain && secs <= plain * 5 / 4 + 1, "{number} code {n}: {secs} s, plain {plain}");
            // the waiting send's challenge stays spent: its replay costs one ledger call
            let replay = g.send(&Req::post("/api/otp/send", &form(number)).solution(&sol));
            assert_eq!(replay.error(), Some("already_spent"), "{replay:?}");
            // a second early: still waiting; once the wait is over the code is sent
            g.now = g.now.plus(secs - 1);
            assert!(matches!(ask(&mut g, number).0, Sent::Wait(1)), "{number}");
            g.now = g.now.plus(1);
            assert_eq!(ask(&mut g, number).0, Sent::Forwarded, "{number} code {n} after its wait");
        }
        // a wrong code changes nothing; a right one clears the number
        check(&mut g, number, false);
        assert!(matches!(ask(&mut g, number).0, Sent::Wait(s) if s >= plain_wait(5)));
        check(&mut g, number, true);
        assert_eq!(ask(&mut g, number).0, Sent::Forwarded, "{number}: back at no wait");
        // a right code checked again (or an origin that says 200 to anything) clears it once
        // a window, not once a check
        assert!(matches!(ask(&mut g, number).0, Sent::Wait(_)));
        check(&mut g, number, true);
        assert!(matches!(ask(&mut g, number).0, Sent::Wait(_)), "{number}: cleared twice in a window");
    }
}

#[test]
fn other_numbers_are_untouched_and_a_send_the_origin_failed_is_given_back() {
    let mut g = gate(false);
    let numbers = people(3);
    let bombed = &numbers[0];
    assert_eq!(ask(&mut g, bombed).0, Sent::Forwarded);
    for _ in 0..20 {
        assert!(matches!(ask(&mut g, bombed).0, Sent::Wait(_)));
    }
    for number in &numbers[1..] {
        assert_eq!(ask(&mut g, number).0, Sent::Forwarded, "{number} is not kept waiting by another's");
    }
    // the origin did not send (unreachable, refused with a 4xx, a gateway's 502–504): given
    // back to the number, so the person asks again at once; a 500 (it may have sent, then
    // failed) keeps the wait
    let fresh = &numbers[1];
    for (status, given_back) in [
        (Err("down".to_string()), true),
        (Ok(400), true),
        (Ok(429), true),
        (Ok(502), true),
        (Ok(504), true),
        (Ok(500), false),
    ] {
        check(&mut g, fresh, true);
        g.now = g.now.plus(3600);
        g.world.origin = status.clone();
        let client = Req::post("/api/otp/send", &form(fresh));
        let sol = g.solved(&client, "/api/otp/send");
        let failed = g.send(&client.solution(&sol));
        assert!(failed.forwarded().is_some(), "{status:?}: {failed:?}");
        g.world.origin = Ok(200);
        let again = ask(&mut g, fresh).0;
        assert_eq!(again == Sent::Forwarded, given_back, "{status:?}: {again:?}");
    }
    // an unreachable number cell refuses like an unreachable ledger, or sends with FAIL_OPEN
    for fail_open in [false, true] {
        let mut g = Gate::new(
            &policy(false, "enabled = false", OTP),
            &[("FAIL_OPEN", if fail_open { "true" } else { "false" })],
        );
        g.keep_isolate = true;
        g.world.cohorts = Cohorts::Live;
        g.world.number = Err("ledger shard down".into());
        let client = Req::post("/api/otp/send", &form(bombed));
        let sol = g.solved(&client, "/api/otp/send");
        let run = g.send(&client.solution(&sol));
        if fail_open {
            assert_eq!(run.status(), 200);
            assert!(run.log().counters_unreadable.as_deref().unwrap().contains("number backoff not read"));
        } else {
            assert_eq!((run.status(), run.error()), (503, Some("ledger_unavailable")), "{run:?}");
            assert!(run.forwarded().is_none());
        }
    }
}

#[test]
fn a_national_number_beside_a_calling_code_waits_like_the_same_number_written_whole() {
    let otp = OTP.to_string();
    let text = policy(false, "enabled = false", &otp)
        .replace("phone_field = \"phone\"", "phone_field = \"phone\"\nphone_code_field = \"cc\"");
    assert!(text.contains("phone_code_field"), "{text}");
    let mut g = Gate::new(&text, &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    let send = |g: &mut Gate, body: &str| {
        let client = Req::post("/api/otp/send", body);
        let sol = g.solved(&client, "/api/otp/send");
        g.send(&client.solution(&sol)).status()
    };
    // British, Italian, Russian and Hungarian numbers, each in three spellings
    for spellings in [
        ["cc=44&phone=07400123456", "cc=44&phone=%2B447400123456", "cc=44&phone=7400%20123%20456"],
        ["cc=39&phone=0612345678", "cc=39&phone=%2B390612345678", "cc=39&phone=06%2012345678"],
        // a trunk prefix that is not a zero
        ["cc=7&phone=89161234567", "cc=7&phone=%2B79161234567", "cc=7&phone=8%20916%20123-45-67"],
        ["cc=36&phone=06201234567", "cc=36&phone=%2B36201234567", "cc=36&phone=06%2020%20123%204567"],
    ] {
        assert_eq!(send(&mut g, spellings[0]), 200, "{}", spellings[0]);
        for s in &spellings[1..] {
            assert_eq!(send(&mut g, s), 429, "{s}: the same number");
        }
    }
}

#[test]
fn over_an_hour_of_random_asking_no_number_is_sent_codes_faster_than_its_backoff() {
    let numbers = people(2);
    for seed in 1..=6u64 {
        let mut g = gate(false);
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // per number: forwarded sends since its last right code, and the last one's time
        let mut streak: HashMap<&str, (u32, u64)> = HashMap::new();
        let mut cleared = std::collections::HashSet::new();
        let mut forwarded = 0;
        let mut t = 0u64;
        while t < 3600 {
            t += 1 + next() % 20;
            g.now = NOW.plus(t);
            let number = numbers[(next() % numbers.len() as u64) as usize].as_str();
            if next() % 10 == 0 {
                check(&mut g, number, true);
                // the first right code in a counting window (an hour) clears the number
                if cleared.insert((number, t / 3600)) {
                    streak.remove(number);
                }
                continue;
            }
            match ask(&mut g, number).0 {
                Sent::Forwarded => {
                    let (n, last) = streak.get(number).copied().unwrap_or((0, 0));
                    if n >= 1 {
                        assert!(
                            t - last >= plain_wait(n),
                            "seed {seed} {number}: {} s after code {n}",
                            t - last
                        );
                    }
                    streak.insert(number, (n + 1, t));
                    forwarded += 1;
                }
                Sent::Wait(secs) => {
                    let (n, last) = streak[number];
                    // the wait asked is the backoff's from the last code, jitter included
                    let (until, plain) = (t + secs, plain_wait(n));
                    assert!(
                        until >= last + plain && until <= last + plain * 5 / 4 + 1,
                        "seed {seed} {number}"
                    );
                }
            }
        }
        assert!(forwarded > 10, "seed {seed}: {forwarded} codes sent");
    }
}

#[test]
fn shadow_mode_logs_a_numbers_wait_and_sends() {
    let mut g = gate(true);
    let number = &people(1)[0];
    assert_eq!(ask(&mut g, number).0, Sent::Forwarded);
    let client = Req::post("/api/otp/send", &form(number));
    let sol = g.solved(&client, "/api/otp/send");
    let run = g.send(&client.solution(&sol));
    assert_eq!(run.status(), 200, "shadow mode enforces only the base price");
    assert!(run.log().why.as_deref().unwrap().contains("shadow: the number waits"), "{:?}", run.log());
}

#[test]
fn nothing_that_is_not_a_paid_spent_send_touches_a_numbers_cell() {
    use gate::memory::Io;
    let mut g = gate(false);
    let number = &people(1)[0];
    let touched = |run: &Run| run.io.iter().filter(|io| matches!(io, Io::Number(_))).count();
    // no solution, a broken one, a number that is not one, a wrong code on the check route
    let client = Req::post("/api/otp/send", &form(number));
    g.world.origin = Ok(400);
    for run in [
        g.send(&client.clone()),
        g.send(&client.clone().solution("garbage")),
        g.send(&Req::post("/api/otp/send", "phone=%2B8612")),
        g.send(&Req::post("/api/otp/check", &format!("{}&code=1", form(number)))),
    ] {
        assert_eq!(touched(&run), 0, "{run:?}");
    }
    g.world.origin = Ok(200);
    // a paid send: one call; its replay: none (refused at the ledger)
    let sol = g.solved(&client, "/api/otp/send");
    let first = g.send(&client.clone().solution(&sol));
    assert_eq!((first.status(), touched(&first)), (200, 1));
    let replay = g.send(&client.clone().solution(&sol));
    assert_eq!((replay.error(), touched(&replay)), (Some("already_spent"), 0));
    // a waiting number: one call, nothing given back
    let sol = g.solved(&client, "/api/otp/send");
    let waits = g.send(&client.clone().solution(&sol));
    assert_eq!((waits.error(), touched(&waits)), (Some("phone_number_wait"), 1));
    // a right code: the once-a-window row, then one call to clear; again: the row only
    g.world.origin = Ok(200);
    let right = g.send(&Req::post("/api/otp/check", &format!("{}&code=1", form(number))));
    assert_eq!(touched(&right), 1);
    let again = g.send(&Req::post("/api/otp/check", &format!("{}&code=1", form(number))));
    assert_eq!(touched(&again), 0);
}
