//! First seen (`[otp.first_seen]`, issue 20 item 3): once the site has had enough codes
//! entered, a code to a range or a calling code where nobody has entered one within the period
//! costs more (the dearer of the two), until someone does; a sign-up on an `apply_to` route is
//! priced the same way. A new site is not priced anywhere. Through the pipeline, with the
//! stores in memory and virtual time, over ranges of several countries.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;

const OTP: &str = "[otp]\nsend = { route = \"/api/otp/send\" }\n\
    check = { route = \"POST /api/otp/check\", field = \"phone\" }\n\
    apply_to = [\"/signup\"]\n\
    [otp.first_seen]\nlearn_days = 7\nrange_extra_bits = 2\ncalling_code_extra_bits = 4\nwarm_up_verified = 4\n";

fn gate() -> Gate {
    let mut g = Gate::new(&policy(false, "enabled = false", OTP), &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    g
}

fn form(number: &str) -> String {
    format!("phone={}", number.replace('+', "%2B"))
}

/// Sends `route` with `number` at the base price: the range's verdict as logged and the status
/// (200 sent, 402 more work asked).
fn ask(g: &mut Gate, route: &str, number: &str) -> (String, u16) {
    let client = Req::post(route, &form(number));
    let sol = g.solved(&client, route);
    let run = g.send(&client.solution(&sol));
    let verdict = run.log().otp.as_ref().map_or("none".into(), |o| o.verdict.clone());
    (verdict, run.status())
}

fn enter(g: &mut Gate, number: &str) {
    let run = g.send(&Req::post("/api/otp/check", &format!("{}&code=123456", form(number))));
    assert!(run.relayed().is_some(), "{run:?}");
}

#[test]
fn ranges_and_calling_codes_nobody_entered_a_code_in_pay_more_once_the_site_is_warm() {
    let mut g = gate();
    // a new site: nothing has been seen, nothing is priced for it
    assert_eq!(ask(&mut g, "/api/otp/send", "+996500123456"), ("normal".into(), 200));
    // people in Britain and China enter codes: the site warms up
    let people = ["+447400123451", "+447400123452", "+447400123453", "+8613800138001", "+8613800138002"];
    for (i, n) in people.iter().enumerate() {
        g.now = NOW.plus(i as u64);
        assert_eq!(ask(&mut g, "/api/otp/send", n).1, 200);
        enter(&mut g, n);
    }
    g.now = NOW.plus(60);
    // seen ranges: the base price; an unseen range of a seen code: +2; an unseen code: +4
    for (number, verdict, status) in [
        ("+447400123459", "normal", 200),
        ("+8613800138009", "normal", 200),
        ("+447911123456", "first seen (range) +2", 402),
        ("+8613900139000", "first seen (range) +2", 402),
        ("+996500123457", "first seen (calling code) +4", 402),
        ("+3584012345678", "first seen (calling code) +4", 402),
    ] {
        assert_eq!(ask(&mut g, "/api/otp/send", number), (verdict.to_string(), status), "{number}");
        // a sign-up carrying the number is priced the same way
        assert_eq!(ask(&mut g, "/signup", number), (verdict.to_string(), status), "sign-up with {number}");
    }
    // someone in Kyrgyzstan enters a code (after paying the price): the code and range are seen
    enter(&mut g, "+996500123457");
    g.now = NOW.plus(120);
    assert_eq!(ask(&mut g, "/api/otp/send", "+996500123458"), ("normal".into(), 200));
    assert_eq!(ask(&mut g, "/api/otp/send", "+996555123456").0, "first seen (range) +2");
    // a wrong code does not count
    g.world.origin = Ok(400);
    enter(&mut g, "+3584012345678");
    g.world.origin = Ok(200);
    assert_eq!(ask(&mut g, "/api/otp/send", "+3584012345679").0, "first seen (calling code) +4");
    // three weeks later nothing entered in Britain is remembered: its range is first seen again
    // (the site stays warm from codes entered in China since)
    for i in 0..5u64 {
        g.now = NOW.plus(20 * 86_400 + i);
        enter(&mut g, &format!("+86138001380{:02}", 10 + i));
    }
    g.now = NOW.plus(21 * 86_400);
    assert_eq!(ask(&mut g, "/api/otp/send", "+447400123450").0, "first seen (calling code) +4");
    assert_eq!(ask(&mut g, "/api/otp/send", "+8613800138030"), ("normal".into(), 200));
}
