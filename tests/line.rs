//! The waiting line through the pipeline (issue 19, item 1): a route over its capacity admits
//! challenges in the order they were issued, at the capacity's rate. A place whose turn has
//! not come is answered `429 in_line` with nothing spent and is forwarded once its turn comes;
//! the top-up answer carries the same place; a copied place is refused; a place is not moved
//! forward by asking again; the origin is held near its capacity.
//!
//! One isolate, the stores in memory (`Cohorts::Live`) and virtual time.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::driver::*;
use gate::protocol::solution::Solution;
use gate::protocol::time::UnixTime;

/// The first challenge's token (base64url) of a solution.
fn token_of(solution: &str) -> String {
    URL_SAFE_NO_PAD.encode(Solution::parse(solution).unwrap().token)
}

/// 30 sign-ups a minute on /signup, a line of up to 10 minutes; attack mode on only for the
/// controller (its static levels never trip).
fn gate() -> Gate {
    let attack = "enabled = true\nwindow_secs = 60\ncohorts = [\"asn\"]\nlevels = [{ at = 100000, extra_bits = 1 }]\n\
        [[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = 30\nperiod_secs = 5\nline_max_wait_secs = 600";
    let mut g = Gate::new(&policy(false, attack, ""), &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    g
}

/// Person `n`'s client (its own network: its own binding).
fn client(n: u32) -> Req {
    Req::post("/signup", "").asn(65_000 + n)
}

fn submit(g: &mut Gate, who: &Req, solution: &str) -> Run {
    g.send(
        &who.clone()
            .body(format!("email=p{}%40example.com", who.facts.cf.asn.unwrap_or(0)))
            .solution(solution),
    )
}

/// Drives `per_minute` people for `secs` seconds, each fetching, solving and submitting at
/// once, and sending again when an `in_line` answer says (as the widget does); returns the
/// forwarded count per minute and the places still waiting, with their last stated wait.
fn crowd(g: &mut Gate, per_minute: u32, secs: u64, first: u32) -> (Vec<u32>, Vec<(Req, String, u64)>) {
    let mut forwarded = vec![0u32; secs.div_ceil(60) as usize];
    // (client, solution, last stated wait, when to send again)
    let mut waiting: Vec<(Req, String, u64, UnixTime)> = Vec::new();
    let step_ms = 60_000 / u64::from(per_minute);
    let start = g.now;
    let mut n = first;
    let mut answer = |g: &mut Gate, who: Req, s: String, waiting: &mut Vec<(Req, String, u64, UnixTime)>| {
        let run = submit(g, &who, &s);
        let minute = (g.now.millis_since(start) / 60_000) as usize;
        match run.status() {
            200 => forwarded[minute] += 1,
            429 => {
                assert_eq!(run.error(), Some("in_line"), "{run:?}");
                assert!(!run.spent(), "a place waiting spends nothing");
                assert!(run.forwarded().is_none());
                let line = &run.json()["line"];
                let wait = line["wait_secs"].as_u64().unwrap();
                let retry = line["retry_after"].as_u64().unwrap();
                assert!(wait >= 1 && (1..=10).contains(&retry), "{line}");
                assert_eq!(run.reply().header("Retry-After"), Some(retry.to_string().as_str()));
                waiting.push((who, s, wait, g.now.plus(retry)));
            }
            other => panic!("{other}: {run:?}"),
        }
    };
    while g.now.millis_since(start) < secs * 1000 {
        let due: Vec<_> = waiting.iter().filter(|w| w.3 <= g.now).cloned().collect();
        waiting.retain(|w| w.3 > g.now);
        for (who, s, _, _) in due {
            answer(g, who, s, &mut waiting);
        }
        let who = client(n);
        n += 1;
        let s = g.solved(&who, "/signup");
        answer(g, who, s, &mut waiting);
        g.now = UnixTime::from_millis(g.now.millis() + step_ms);
    }
    waiting.sort_by_key(|w| w.0.facts.cf.asn);
    (forwarded, waiting.into_iter().map(|(who, s, wait, _)| (who, s, wait)).collect())
}

/// Sends a waiting place again unless it was served (then `served_at` says when); it is
/// either served or still `in_line`.
fn ask_until_served(g: &mut Gate, who: &Req, solution: &str, served_at: &mut Option<UnixTime>) {
    if served_at.is_some() {
        return;
    }
    let run = submit(g, who, solution);
    match run.status() {
        200 => *served_at = Some(g.now),
        429 => assert_eq!(run.error(), Some("in_line")),
        other => panic!("{other}: {run:?}"),
    }
}

#[test]
fn over_capacity_places_wait_their_turn_with_nothing_spent_and_are_served_in_order() {
    let mut g = gate();
    // a calm minute, then twice the capacity for three minutes
    let (calm, waiting) = crowd(&mut g, 20, 60, 0);
    assert!(waiting.is_empty(), "no line under capacity");
    assert!(calm[0] >= 19, "{calm:?}");
    let (over, waiting) = crowd(&mut g, 60, 180, 1000);
    assert!(!waiting.is_empty(), "a line opened: {over:?}");
    // once the line holds, the origin gets about its capacity, not the crowd
    let last = *over.last().unwrap();
    assert!((20..=36).contains(&last), "held near 30/min: {over:?}");
    // the earliest places are served first: go back to each in turn, asking as told
    let (first_who, first_s, _) = waiting[0].clone();
    let (last_who, last_s, _) = waiting.last().unwrap().clone();
    let mut first_at = None;
    let mut last_at = None;
    for _ in 0..2000 {
        ask_until_served(&mut g, &first_who, &first_s, &mut first_at);
        ask_until_served(&mut g, &last_who, &last_s, &mut last_at);
        if first_at.is_some() && last_at.is_some() {
            break;
        }
        g.now = g.now.plus(1);
    }
    let (Some(a), Some(b)) = (first_at, last_at) else { panic!("both served: {first_at:?} {last_at:?}") };
    assert!(a <= b, "the first place is served no later than the last");
    // served once: the same place again is a replay
    let again = submit(&mut g, &first_who, &first_s);
    assert_eq!(again.error(), Some("already_spent"), "{again:?}");
}

#[test]
fn a_copied_place_is_refused_and_asking_again_does_not_move_it_forward() {
    let mut g = gate();
    crowd(&mut g, 20, 60, 0);
    let (_, waiting) = crowd(&mut g, 60, 120, 1000);
    let (who, s, wait) = waiting.last().cloned().unwrap();
    // another client (another network) presenting the same place
    let thief = client(999_999);
    let stolen = submit(&mut g, &thief, &s);
    assert_eq!(stolen.error(), Some("binding_mismatch"), "{stolen:?}");
    // asking again and again: the distance between the place and the one served only shrinks
    // (the place is the signed issue time; the watermark only moves forward)
    let _ = wait;
    let mut ahead = u64::MAX;
    for _ in 0..30 {
        let run = submit(&mut g, &who, &s);
        if run.status() != 429 {
            assert_eq!(run.status(), 200, "{run:?}");
            break;
        }
        let now_ahead = run.json()["line"]["ahead_secs"].as_u64().unwrap();
        assert!(now_ahead <= ahead, "{now_ahead} after {ahead}");
        ahead = now_ahead;
        g.now = g.now.plus(1);
    }
}

#[test]
fn the_top_up_answer_carries_the_place_so_the_widget_waits_before_posting() {
    let mut g = gate();
    crowd(&mut g, 20, 60, 0);
    let (_, waiting) = crowd(&mut g, 60, 120, 1000);
    let (who, s, _) = waiting.last().cloned().unwrap();
    let run = g.send(&who.gate_get("topup", &format!("token={}&paid=1000000", token_of(&s))));
    assert_eq!(run.status(), 200, "{run:?}");
    let line = &run.json()["line"];
    assert!(line["wait_secs"].as_u64().unwrap() >= 1, "{}", run.json());
    // a place already served: no line object
    let mut calm = gate();
    let calm_who = client(1).asn(64_999);
    let c = calm.challenge(&calm_who, "/signup");
    let run = calm.send(&calm_who.gate_get("topup", &format!("token={}&paid=1000000", c.token)));
    assert_eq!(run.status(), 200, "{run:?}");
    assert!(run.json().get("line").is_none(), "{}", run.json());
}

/// The value of hidden input `name` on a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.split(&format!("name=\"{name}\" value=\"")).nth(1)?;
    Some(at.split('"').next()?.replace("&amp;", "&"))
}

#[test]
fn a_form_a_browser_posts_before_its_turn_gets_a_page_that_keeps_its_fields_and_its_place() {
    let mut g = gate();
    crowd(&mut g, 20, 60, 0);
    let (_, waiting) = crowd(&mut g, 60, 120, 1000);
    assert!(!waiting.is_empty());
    // a German browser whose widget paid for a place now posts its form (the field, not the header)
    let who = client(5000).navigation().header("accept-language", "de-DE,de;q=0.9");
    let s = g.solved(&who, "/signup");
    let person = who.clone().body(format!("email=late%40example.com&password=a+b%26c&gate-solution={s}"));
    let run = g.send(&person);
    assert_eq!(run.status(), 429, "{run:?}");
    assert!(!run.spent(), "nothing spent");
    assert!(run.forwarded().is_none(), "nothing forwarded");
    let retry: u32 = run.reply().header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry));
    let html = run.html();
    assert!(html.contains("<html lang=\"de\">") && html.contains("Warteschlange"), "{html}");
    assert_eq!(hidden(html, "email").as_deref(), Some("late@example.com"));
    assert_eq!(hidden(html, "password").as_deref(), Some("a b&c"), "the fields as typed");
    assert_eq!(hidden(html, "gate-solution").as_deref(), Some(s.as_str()), "the same place");
    assert!(html.contains("action=\"/signup\""));
    // pressing Continue until the turn comes: the page again, then the sign-up, fields intact
    let again = person.clone().body(format!("email=late%40example.com&password=a+b%26c&gate-solution={s}"));
    for _ in 0..3000 {
        let run = g.send(&again);
        if let Some((_, body)) = run.forwarded() {
            assert!(
                body.starts_with(b"email=late%40example.com&password=a+b%26c&"),
                "the person's fields as typed"
            );
            return;
        }
        assert_eq!(run.status(), 429, "{run:?}");
        g.now = g.now.plus(1);
    }
    panic!("never served");
}

#[test]
fn without_javascript_continue_waits_its_turn_too() {
    let no_js = "[no_js]\nroutes = [\"/signup\"]\nwait_secs = 5\nttl_secs = 1200\nwindow_secs = 600\nbusy_at = { asn = 50 }";
    let attack = "enabled = true\nwindow_secs = 60\ncohorts = [\"asn\"]\nlevels = [{ at = 100000, extra_bits = 1 }]\n\
        [[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = 30\nperiod_secs = 5\nline_max_wait_secs = 600";
    let mut g = Gate::new(&policy(false, attack, no_js), &[]);
    g.keep_isolate = true;
    g.world.cohorts = Cohorts::Live;
    crowd(&mut g, 20, 60, 0);
    crowd(&mut g, 60, 120, 1000);
    // a person without JavaScript: the wait page, then Continue while the line holds
    let person = Req::post("/signup", "email=nojs%40example.com&password=x").asn(70_000).navigation();
    let first = g.send(&person);
    assert_eq!(first.status(), 200, "{first:?}");
    let token = hidden(first.html(), "gate-wait").unwrap();
    g.now = g.now.plus(6);
    let body = format!("email=nojs%40example.com&password=x&gate-wait={token}");
    let run = g.send(&person.clone().body(body.clone()));
    assert_eq!(run.status(), 429, "in line: {run:?}");
    assert_eq!(run.log().code.as_deref(), Some("in_line"));
    assert!(run.forwarded().is_none() && !run.spent());
    assert_eq!(hidden(run.html(), "gate-wait").as_deref(), Some(token.as_str()), "the place kept");
    assert_eq!(hidden(run.html(), "email").as_deref(), Some("nojs@example.com"));
    for _ in 0..3000 {
        let run = g.send(&person.clone().body(body.clone()));
        if let Some((_, fwd)) = run.forwarded() {
            assert_eq!(fwd, b"email=nojs%40example.com&password=x");
            return;
        }
        assert_eq!(run.status(), 429, "{run:?}");
        g.now = g.now.plus(1);
    }
    panic!("never served");
}

#[test]
fn a_burst_inside_one_controller_period_stops_at_capacity_before_the_line_opens() {
    let mut g = gate();
    // 50 sign-ups in five seconds, on a route of 30 a minute: the controller has not ticked yet
    let mut forwarded = 0;
    let mut held = 0;
    for n in 0..50 {
        let who = client(n);
        let s = g.solved(&who, "/signup");
        let run = submit(&mut g, &who, &s);
        match run.status() {
            200 => forwarded += 1,
            429 => {
                assert_eq!(run.error(), Some("in_line"), "{run:?}");
                held += 1;
            }
            other => panic!("{other}: {run:?}"),
        }
        g.now = UnixTime::from_millis(g.now.millis() + 100);
    }
    assert_eq!(forwarded, 30, "the capacity, and no more: {held} held");
}

/// Serves `places` as the widget would, asking each again every `poll` s, until all are
/// served or `limit_secs` pass; returns when each was served (s after the start, in order).
fn serve_all(g: &mut Gate, places: &[(Req, String, u64)], poll: u64, limit_secs: u64) -> Vec<Option<u64>> {
    let start = g.now;
    let mut served: Vec<Option<UnixTime>> = vec![None; places.len()];
    while g.now.millis_since(start) < limit_secs * 1000 && served.iter().any(Option::is_none) {
        for ((who, s, _), at) in places.iter().zip(served.iter_mut()) {
            ask_until_served(g, who, s, at);
        }
        g.now = g.now.plus(poll);
    }
    served.iter().map(|at| at.map(|t| t.millis_since(start) / 1000)).collect()
}

#[test]
fn when_the_people_at_the_front_have_left_the_line_skips_to_the_first_place_still_asking() {
    let mut g = gate();
    crowd(&mut g, 20, 60, 0);
    let (_, waiting) = crowd(&mut g, 60, 180, 1000);
    // everyone keeps asking for a minute (so the places still waiting are over a minute old:
    // no form is still being typed behind them)
    let asked = serve_all(&mut g, &waiting, 5, 60);
    let mut still: Vec<_> =
        waiting.into_iter().zip(asked).filter(|(_, at)| at.is_none()).map(|(w, _)| w).collect();
    // then the front two thirds of the line leave (half a minute or more of issue time, at 60
    // a minute); the rest keep asking every 5 s
    let stay = still.split_off(still.len() * 2 / 3);
    assert!(still.len() >= 30, "half a minute of places left: {}", still.len());
    let served = serve_all(&mut g, &stay, 5, 600);
    // the first still asking is served within two controller periods and a poll: a mark moving
    // over the empty stretch (its speed ×1.25 a period, from half of real time) takes longer
    let first = served[0].expect("the first place still asking is served");
    assert!(first <= 15, "served {first} s after the front left: {served:?}");
    assert!(served.iter().all(Option::is_some), "all served: {served:?}");
}
