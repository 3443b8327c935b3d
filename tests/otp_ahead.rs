//! A number range's price paid ahead (issue 20 item 3, "sign-ups on the other routes are priced
//! by the number's range too", for a plain form): the widget sends the number's first digits
//! (never its last four) with its top-up before the form is posted, the gate prices the range
//! on the counts this isolate already read, and the form goes with the range's price paid: no
//! `402 more_work` that a plain form could only answer with the retry page. Never priced ahead
//! on counts the isolate has not read (the submission judges alone), never blocked or counted
//! ahead, and the lines replay to what was decided.
//!
//! Shapes: pumps that enter one code in four (priced by conversion) in six ranges of six
//! countries, each beside people of another country, with the widget's prefix and, as the
//! baseline in the same run, with the calling code only (the widget before this change); a new
//! isolate for every request; a sign-up in a blocked range (its strongest price, ahead).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::driver::*;
use common::otp::*;
use gate::decision_log::DecisionLog;
use gate::protocol::challenge::ChallengeJson;
use gate::protocol::solution::{self, Solution};
use gate::protocol::topup::{self, TopUpJson};
use gate::request::phone;

/// What a widget's post came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Post {
    /// Forwarded; `ahead`: a top-up was paid before the post.
    Forwarded { ahead: bool },
    /// `402 more_work`: the price was only known at the post (a plain form's retry page).
    MoreWork,
    /// `429 phone_range_blocked`.
    Blocked,
}

/// As the widget on a plain form: a challenge with the calling code, solved; before the post a
/// top-up request with the number's first digits (`prefix`) or, for the baseline, its calling
/// code only; the offer solved; the form posted. The top-up's log line too.
fn widget_post(g: &mut Gate, route: &str, body: &str, number: &str, prefix: bool) -> (Post, DecisionLog) {
    let client = Req::post(route, body);
    let code = phone::prefix_of(number, 3);
    let run = g.send(&client.gate_get("challenge", &format!("route={route}&phone={code}")));
    assert_eq!(run.status(), 200, "{run:?}");
    let c: ChallengeJson = serde_json::from_value(run.json().clone()).unwrap();
    assert_eq!(
        c.phone_digits,
        Some(phone::PREFIX_DIGITS as u8),
        "the challenge says how many digits to send"
    );
    let mut s = Solution::parse(&solve(&c.token)).unwrap();
    let paid = solution::work_of(usize::from(c.k), c.difficulty);
    let sent = if prefix { phone::prefix_of(number, phone::PREFIX_DIGITS) } else { code };
    let run = g.send(&client.gate_get("topup", &format!("token={}&paid={paid}&phone={sent}", c.token)));
    assert_eq!(run.status(), 200, "{run:?}");
    let line = run.log().clone();
    let offer: Option<TopUpJson> = serde_json::from_value(run.json()["topup"].clone()).unwrap();
    if let Some(o) = &offer {
        solution::add_top_up(&mut s, &topup::token_bytes(&o.token).unwrap(), &mut |_| true).unwrap();
    }
    let run = g.send(&client.solution(&s.encode()));
    let post = match (run.status(), run.done().own_reply().and_then(|_| run.error())) {
        (200, None) => Post::Forwarded { ahead: offer.is_some() },
        (402, Some("more_work")) => Post::MoreWork,
        (429, Some("phone_range_blocked")) => Post::Blocked,
        other => panic!("{route} {number}: {other:?} {run:?}"),
    };
    (post, line)
}

fn count(v: &[Post], what: Post) -> usize {
    v.iter().filter(|p| **p == what).count()
}

/// Pumped ranges and, beside each, people's.
const PAIRS: [(&str, &str); 6] = [
    ("+996 500", "+33 6 1"),
    ("+358 41", "+44 7400"),
    ("+44 7400", "+49 1512"),
    ("+91 98100", "+55 11 9"),
    ("+55 11 9", "+358 41"),
    ("+49 1512", "+91 98100"),
];

/// Ninety seconds: the pump asks for a code to `pumped` every second through the widget and
/// enters every fourth; a person in `people` asks every fifth second and enters theirs. The
/// pump's and the people's posts, and every top-up line.
fn pump(g: &mut Gate, pumped: &str, people: &str, prefix: bool) -> (Vec<Post>, Vec<Post>, Vec<DecisionLog>) {
    let (ours, theirs) = (numbers_in(pumped, 90), numbers_in(people, 18));
    let (mut pump, mut person, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..90usize {
        g.now = NOW.plus(t as u64);
        let (post, line) = widget_post(g, "/api/otp/send", &form(&ours[t], ""), &ours[t], prefix);
        pump.push(post);
        lines.push(line);
        if t % 4 == 0 {
            check(g, &ours[t], true);
        }
        if t % 5 == 0 {
            let number = &theirs[t / 5];
            let (post, line) = widget_post(g, "/api/otp/send", &form(number, ""), number, prefix);
            person.push(post);
            lines.push(line);
            check(g, number, true);
        }
    }
    (pump, person, lines)
}

#[test]
fn a_range_priced_by_its_conversion_is_paid_ahead_by_the_widget_and_never_answered_more_work() {
    let policy = gate::policy::load(&common::driver::policy(false, "enabled = false", OTP)).unwrap();
    for (pumped, people) in PAIRS {
        let mut g = gate();
        let (ours, theirs, lines) = pump(&mut g, pumped, people, true);
        let ahead = count(&ours, Post::Forwarded { ahead: true });
        println!(
            "{pumped}: paid ahead {ahead}, more work {}, blocked {}, base {} of {}",
            count(&ours, Post::MoreWork),
            count(&ours, Post::Blocked),
            count(&ours, Post::Forwarded { ahead: false }),
            ours.len()
        );
        // priced once its conversion is judged (after min_sends), and paid ahead every time
        assert!(ahead >= 20, "{pumped}: {ours:?}");
        assert_eq!(count(&ours, Post::MoreWork), 0, "{pumped}: {ours:?}");
        // people nothing more, ahead or at the post
        assert!(theirs.iter().all(|p| *p == Post::Forwarded { ahead: false }), "{people}: {theirs:?}");
        // the top-up lines say why and replay to what was decided
        let priced =
            lines.iter().filter(|l| l.why.as_deref().is_some_and(|w| w.contains("conversion"))).count();
        assert_eq!(priced, ahead, "{pumped}");
        for l in &lines {
            let r = gate::decision_log::replay::replay(&policy, l).unwrap();
            assert!(!r.changed(), "{pumped}: {l:?} replays to {:?}", r.after);
        }
        // the baseline, in the same run: the calling code alone prices nothing ahead, and
        // every priced post is answered 402 (a plain form's retry page)
        let mut g = gate();
        let (ours, theirs, _) = pump(&mut g, pumped, people, false);
        assert_eq!(count(&ours, Post::Forwarded { ahead: true }), 0);
        assert!(count(&ours, Post::MoreWork) >= 20, "{pumped}: {ours:?}");
        assert!(theirs.iter().all(|p| *p == Post::Forwarded { ahead: false }));
    }
}

#[test]
fn a_range_is_never_priced_ahead_on_counts_the_isolate_has_not_read() {
    // a new isolate for every request: nothing read ahead, the submission judges on the shards
    let mut g = gate();
    g.keep_isolate = false;
    let (ours, _, lines) = pump(&mut g, "+996 500", "+33 6 1", true);
    assert_eq!(count(&ours, Post::Forwarded { ahead: true }), 0, "{ours:?}");
    assert!(count(&ours, Post::MoreWork) >= 20, "the post still prices it: {ours:?}");
    assert!(lines.iter().all(|l| l.otp.is_none()), "no range judged ahead");
}

#[test]
fn a_blocked_range_costs_a_sign_up_its_strongest_price_ahead_and_a_send_nothing_more() {
    let otp = format!("{OTP}apply_to = [\"/signup\"]\n");
    let mut g = gate_with(&otp);
    let pumped = numbers_in("+996 500", 80);
    for (t, number) in pumped.iter().take(40).enumerate() {
        g.now = NOW.plus(t as u64);
        send(&mut g, number);
    }
    assert_eq!(send(&mut g, &pumped[41]).0, Got::Blocked, "the range is blocked for codes");
    // a send ahead: nothing more offered (its post is refused, nothing spent)
    let (post, line) = widget_post(&mut g, "/api/otp/send", &form(&pumped[42], ""), &pumped[42], true);
    assert_eq!(post, Post::Blocked);
    assert_eq!(line.otp.as_ref().map(|o| o.verdict.as_str()), Some("blocked"), "{line:?}");
    assert!(!line.why.as_deref().unwrap_or_default().contains("+996"), "{line:?}");
    // a sign-up with a number in it: the strongest price level, paid ahead, forwarded
    let body = format!("email=a%40example.com&{}", form(&pumped[43], ""));
    let (post, line) = widget_post(&mut g, "/signup", &body, &pumped[43], true);
    assert_eq!(post, Post::Forwarded { ahead: true }, "{line:?}");
    assert_eq!(line.otp.as_ref().map(|o| o.verdict.as_str()), Some("priced +2"), "{line:?}");
    let policy = gate::policy::load(&common::driver::policy(false, "enabled = false", &otp)).unwrap();
    assert!(!gate::decision_log::replay::replay(&policy, &line).unwrap().changed());
    // the same sign-up with the calling code only: answered 402 at the post
    let body = format!("email=b%40example.com&{}", form(&pumped[44], ""));
    assert_eq!(widget_post(&mut g, "/signup", &body, &pumped[44], false).0, Post::MoreWork);
}
