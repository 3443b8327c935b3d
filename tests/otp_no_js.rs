//! Codes asked for without JavaScript (issue 20: people asking for codes admitted in every
//! country, whatever their browser): where `no_js.routes` lists the send route, a browser form
//! post without the widget gets the wait page, and "Continue" sends the code. The path has no
//! price to raise, so its sends are judged and counted by range as the widget's are: they move
//! the range's counts, a range nobody enters codes in is blocked at the same count whichever
//! path the codes were asked by, a blocked range refuses both, and a range the widget's path
//! prices is `busy` for this one. People's ranges send on both paths.
//!
//! The class is tested over several shapes (pumped range × the path the pump uses), with the
//! stores in memory (`Cohorts::Live`) and virtual time.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use common::otp::*;

/// The path on for the send route, with a budget no test here reaches.
const NO_JS_SEND: &str = "[no_js]\nroutes = [\"/api/otp/send\"]\nwait_secs = 5\nttl_secs = 120\n\
    window_secs = 600\nbusy_at = { site = 100000 }\n";

/// What a code asked for without JavaScript came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoJs {
    /// The wait page, then "Continue" was forwarded.
    Sent,
    /// `429 phone_range_blocked` (at the form or at "Continue").
    Blocked,
    /// `503 busy`: the range is priced, and this path cannot pay.
    Busy,
}

/// A browser without JavaScript asks for a code to `number`: the form, the wait page, and
/// "Continue" after the wait (the clock moves on by `wait_secs`).
fn send_no_js(g: &mut Gate, number: &str) -> NoJs {
    let post = Req::post("/api/otp/send", &form(number, "")).navigation();
    let first = g.send(&post);
    if let Some(got) = refused(&first) {
        return got;
    }
    assert_eq!(first.status(), 200, "the wait page: {first:?}");
    assert!(first.forwarded().is_none() && !first.spent());
    let token = token_in(first.html());
    g.now = g.now.plus(5);
    let cont = g.send(&post.body(form(number, &format!("&gate-wait={token}"))));
    if let Some(got) = refused(&cont) {
        return got;
    }
    assert_eq!(cont.status(), 200, "Continue: {cont:?}");
    let (_, body) = cont.forwarded().expect("forwarded");
    assert_eq!(body, form(number, "").as_bytes(), "the form as sent, without the token");
    assert!(cont.log().no_js);
    NoJs::Sent
}

fn refused(run: &Run) -> Option<NoJs> {
    let got = match (run.status(), run.log().code.as_deref()) {
        (429, Some("phone_range_blocked")) => NoJs::Blocked,
        (503, Some("busy")) => NoJs::Busy,
        _ => return None,
    };
    assert!(run.forwarded().is_none() && !run.spent(), "a refused send is never spent or sent: {run:?}");
    assert!(run.html().contains("<html"), "a page for a person: {run:?}");
    assert!(run.reply().header("retry-after").is_some(), "{run:?}");
    // a send's try is counted where the widget's path counts one (a block renews while the
    // range is used), not for a busy answer, which sent nothing
    let tries = run.done().counts.events.len();
    assert_eq!(tries > 0, got == NoJs::Blocked, "{got:?}: {:?}", run.done().counts.events);
    Some(got)
}

fn token_in(html: &str) -> String {
    let at = html.find("name=\"gate-wait\" value=\"").unwrap() + "name=\"gate-wait\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// How a pump asks for its codes.
#[derive(Clone, Copy, Debug)]
enum Pump {
    /// Every code without JavaScript (the path costs no work).
    NoJs,
    /// Every other code each way.
    Mixed,
}

#[test]
fn codes_asked_without_javascript_count_toward_their_range_and_are_blocked_with_it() {
    let people = ["+86 138", "+44 7400", "+91 98100"];
    let sends = 20u32;
    for pumped in ["+996 500", "+358 41", "+94 74"] {
        for pump in [Pump::NoJs, Pump::Mixed] {
            let policy = format!("{}{NO_JS_SEND}", unentered(sends));
            let mut g = warm(gate_with(&policy));
            g.now = NOW;
            let targets = numbers_in(pumped, 60);
            let mut people_numbers: Vec<Vec<String>> = people.iter().map(|r| numbers_in(r, 20)).collect();
            let mut sent = 0usize;
            let mut first_blocked = None;
            for (i, number) in targets.iter().enumerate() {
                g.now = NOW.plus(6 * i as u64);
                let through = match (pump, i % 2) {
                    (Pump::NoJs, _) | (Pump::Mixed, 0) => send_no_js(&mut g, number) == NoJs::Sent,
                    (Pump::Mixed, _) => send(&mut g, number).0 != Got::Blocked,
                };
                sent += usize::from(through);
                if !through && first_blocked.is_none() {
                    first_blocked = Some(i);
                }
                // people in other ranges, on both paths, every third send
                if i % 3 == 0 {
                    let which = (i / 3) % people.len();
                    let Some(n) = people_numbers[which].pop() else { continue };
                    let got = if i % 2 == 0 { send_no_js(&mut g, &n) } else { send(&mut g, &n).0.into() };
                    assert_eq!(got, NoJs::Sent, "{pumped} {pump:?}: a person's code to {n}");
                    assert!(!check(&mut g, &n, true).done().counts.events.is_empty(), "a right code counts");
                }
            }
            println!("{pumped} {pump:?}: {sent} of {} sent", targets.len());
            // as on the widget's path alone (tests/otp.rs): the count, and the one or two the
            // isolate's counts lag by
            let want = sends as usize - 1..=sends as usize + 2;
            assert!(want.contains(&sent), "{pumped} {pump:?}: {sent} of {} sent", targets.len());
            assert!(first_blocked.is_some_and(|i| i + 5 >= sent), "blocked once, and stays blocked");
            // the block holds for the widget's path and this one alike
            let more = numbers_in(pumped, 70);
            assert_eq!(send(&mut g, &more[65]).0, Got::Blocked, "{pumped} {pump:?}");
            assert_eq!(send_no_js(&mut g, &more[66]), NoJs::Blocked, "{pumped} {pump:?}");
        }
    }
}

impl From<Got> for NoJs {
    fn from(g: Got) -> NoJs {
        match g {
            Got::Base | Got::Dearer => NoJs::Sent,
            Got::Blocked => NoJs::Blocked,
        }
    }
}

#[test]
fn a_range_the_widget_pays_more_for_is_busy_without_javascript_and_others_send() {
    // no block here: a range whose people enter few codes is priced, never blocked; sign-ups
    // carrying a number are priced by its range too, and have the no-JS path
    let otp = OTP.replace(", { conversion_below = 0.2, block_secs = 120 }", "");
    let no_js = NO_JS_SEND.replace("[\"/api/otp/send\"]", "[\"/api/otp/send\", \"/signup\"]");
    let mut g = warm(gate_with(&format!("{otp}apply_to = [\"/signup\"]\n{no_js}")));
    g.now = NOW;
    let low = numbers_in("+996 500", 40);
    // a range where one code in ten is entered: its conversion falls under the price level
    let mut priced_at = None;
    for (i, n) in low.iter().take(30).enumerate() {
        g.now = NOW.plus(2 * i as u64);
        let (got, _) = send(&mut g, n);
        if i % 10 == 0 {
            check(&mut g, n, true);
        }
        if got == Got::Dearer && priced_at.is_none() {
            priced_at = Some(i);
        }
    }
    assert!(priced_at.is_some(), "the widget's path pays more in the range");
    g.now = g.now.plus(30);
    let busy = Req::post("/api/otp/send", &form(&low[35], "")).navigation();
    let run = g.send(&busy);
    assert_eq!(refused(&run), Some(NoJs::Busy), "{run:?}");
    let detail = run.log().detail.clone().unwrap();
    assert!(detail.contains("+996 500") && detail.contains("no price to raise"), "{detail}");
    // the widget's path still sends to the range at its price
    assert_eq!(send(&mut g, &low[36]).0, Got::Dearer);
    // a sign-up carrying a number in it: priced on the widget's path, so busy on this one; a
    // number in a range at its usual price gets the wait page
    let sign_up = |n: &str| {
        Req::post("/signup", &format!("email=a%40example.com&password=x&{}", form(n, ""))).navigation()
    };
    let run = g.send(&sign_up(&low[37]));
    assert_eq!(refused(&run), Some(NoJs::Busy), "{run:?}");
    assert!(run.log().detail.as_deref().unwrap().contains("+996 500"));
    let elsewhere = g.send(&sign_up(&numbers_in("+44 7400", 1)[0]));
    assert_eq!(elsewhere.status(), 200, "{elsewhere:?}");
    assert!(elsewhere.html().contains("gate-wait"));
    // a range at its usual price sends without JavaScript, in any country
    for range in ["+44 7400", "+55 11 9", "+49 1512"] {
        let n = &numbers_in(range, 3)[2];
        assert_eq!(send_no_js(&mut g, n), NoJs::Sent, "{range}");
    }
}
