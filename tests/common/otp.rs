//! Sending and checking one-time codes through the pipeline, for the `[otp]` tests: a client
//! that pays whatever price it is asked, numbers in a range, a site that people already use.

use super::driver::*;
use gate::protocol::solution::{self, Solution};
use gate::protocol::topup::{self, TopUpJson};
use gate::request::phone;

pub const OTP: &str = "[otp]\nsend = { route = \"/api/otp/send\" }\n\
    check = { route = \"POST /api/otp/check\", field = \"phone\" }\n\
    window_secs = 1800\nverify_grace_secs = 10\nmin_sends = 10\nblock_at_tries = 3\n\
    levels = [{ conversion_below = 0.5, extra_bits = 2 }, { conversion_below = 0.2, block_secs = 120 }]\n";

pub fn gate() -> Gate {
    gate_with(OTP)
}

pub fn gate_with(otp: &str) -> Gate {
    let mut g = Gate::new(&policy(false, "enabled = false", otp), &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    g
}

/// `n` numbers in use in `range` (`+996 500`; a space-separated third part is a leading digit
/// of its subscriber numbers, `+55 11 9`), counting up from the range's first: what a pumping
/// fleet sends to.
pub fn numbers_in(spec: &str, n: usize) -> Vec<String> {
    let digits: String = spec.chars().filter(char::is_ascii_digit).collect();
    let range: String = spec.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" ");
    let range = range.as_str();
    let mut out = Vec::new();
    for width in 4..=9usize {
        for tail in 0..10u64.pow(width as u32).min(200_000) {
            let candidate = format!("+{digits}{tail:0width$}");
            if let Ok(p) = phone::parse(&candidate, None)
                && p.range().to_string() == range
            {
                out.push(candidate);
                if out.len() == n {
                    return out;
                }
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    panic!("no numbers in {range}")
}

pub fn form(number: &str, extra: &str) -> String {
    format!("phone={}{extra}", number.replace('+', "%2B"))
}

/// What a send came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Got {
    /// Forwarded (paid at the base price).
    Base,
    /// Forwarded after a top-up (the range was priced).
    Dearer,
    /// `429 phone_range_blocked`.
    Blocked,
}

/// Asks for a code to `number` as a client that pays whatever price it is asked (a native
/// solver: a top-up is solved at once).
pub fn send(g: &mut Gate, number: &str) -> (Got, Run) {
    let client = Req::post("/api/otp/send", &form(number, ""));
    let sol = g.solved(&client, "/api/otp/send");
    let run = g.send(&client.clone().solution(&sol));
    match (run.status(), run.done().own_reply().map(|_| run.error())) {
        (200, None) => (Got::Base, run),
        (429, Some(Some("phone_range_blocked"))) => {
            let retry = run.reply().headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after"));
            assert!(retry.is_some_and(|(_, v)| v.parse::<u32>().unwrap() >= 1), "{run:?}");
            assert!(!run.spent() && run.forwarded().is_none(), "a blocked send is never spent or sent");
            (Got::Blocked, run)
        }
        (402, Some(Some("more_work"))) => {
            let offer: TopUpJson = serde_json::from_value(run.json()["topup"].clone()).unwrap();
            let mut s = Solution::parse(&sol).unwrap();
            solution::add_top_up(&mut s, &topup::token_bytes(&offer.token).unwrap(), &mut |_| true).unwrap();
            let again = g.send(&client.solution(&s.encode()));
            match again.status() {
                200 => (Got::Dearer, again),
                429 => (Got::Blocked, again),
                other => panic!("after a top-up: {other} {again:?}"),
            }
        }
        other => panic!("send to {number}: {other:?} {run:?}"),
    }
}

/// Enters a code for `number`; the origin says whether it was right.
pub fn check(g: &mut Gate, number: &str, right: bool) -> Run {
    g.world.origin = Ok(if right { 200 } else { 400 });
    let run = g.send(&Req::post("/api/otp/check", &form(number, "&code=123456")));
    g.world.origin = Ok(200);
    run
}

/// The shipped shape of `[otp]` (a two-minute grace period) with the block for ranges nobody
/// entered a code in at `sends`.
pub fn unentered(sends: u32) -> String {
    OTP.replace("verify_grace_secs = 10", "verify_grace_secs = 120")
        .replace("block_at_tries = 3", &format!("block_at_tries = 3\nunentered_block_sends = {sends}"))
}

/// The site before the test: people in France asked for 30 codes over the five minutes before
/// `NOW` and entered them.
pub fn warm(mut g: Gate) -> Gate {
    for (i, number) in numbers_in("+33 6 1", 30).iter().enumerate() {
        g.now = NOW.minus(300 - 10 * i as u64);
        assert_eq!(send(&mut g, number).0, Got::Base);
        assert!(!check(&mut g, number, true).done().counts.events.is_empty(), "a right code counts");
    }
    g
}
