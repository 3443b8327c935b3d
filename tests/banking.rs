//! Banked effort through the pipeline (docs/protocol.md § Top-ups): a price that rose after
//! the challenge was solved is answered with what is missing and a top-up, nothing spent; the
//! topped-up bundle is forwarded once; the top-up endpoint quotes the price now and never
//! signs more work than the gate asks or suggests.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::driver::*;
use gate::policy::{CohortKey, CohortKind};
use gate::protocol::solution::{self, Solution, TopUpPart};
use gate::protocol::topup::{self, TopUpJson};

const FORM: &str = "email=a%40example.com&password=hunter2hunter2";

fn client() -> Req {
    Req::post("/signup", FORM)
}

fn rate(r: f64) -> Cohorts {
    Cohorts::Rates(vec![(CohortKey::new(CohortKind::Asn, "64500"), r)], Vec::new())
}

/// Solves `n` sub-puzzles (all when `None`) of an offered top-up and adds it to `s`.
fn add(s: &mut Solution, offer: &TopUpJson, n: Option<usize>) {
    let token = topup::token_bytes(&offer.token).unwrap();
    let seed = gate::pow::seed(&token, &s.signals);
    let n = n.unwrap_or(usize::from(offer.k));
    let nonces = (0..n as u32).map(|i| gate::pow::solve(&seed, i, offer.difficulty).unwrap()).collect();
    s.topups.push(TopUpPart { token, nonces });
}

#[test]
fn a_price_that_rose_is_topped_up_and_the_sign_up_forwarded_once() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let first = g.solved(&client(), "/signup");
    // the cohort's rate rises while the form is filled: two bits dearer
    g.world.cohorts = rate(3.0);
    let refused = g.send(&client().solution(&first));
    assert_eq!((refused.status(), refused.error()), (402, Some("more_work")));
    assert_eq!(refused.reply().header("Set-Cookie"), None, "an API client reads the JSON");
    assert!(!refused.spent(), "nothing spent: the same challenge is sent again");
    let body = refused.json().clone();
    let (asked, paid) = (body["work"]["asked"].as_u64().unwrap(), body["work"]["paid"].as_u64().unwrap());
    assert_eq!((asked, paid), (4 << 6, 4 << 4));
    assert_eq!(body["work"]["missing"].as_u64(), Some(asked - paid));
    let offer: TopUpJson = serde_json::from_value(body["topup"].clone()).unwrap();
    assert!(u64::from(offer.k) * offer.each >= asked - paid);
    // the work done before the rise is kept: only the top-up is solved
    let mut s = Solution::parse(&first).unwrap();
    add(&mut s, &offer, None);
    let ok = g.send(&client().solution(&s.encode()));
    assert_eq!(ok.status(), 200, "{ok:?}");
    assert!(ok.forwarded().is_some());
    // the same bundle again is a replay: the first challenge was spent
    assert_eq!(g.send(&client().solution(&s.encode())).error(), Some("already_spent"));
}

#[test]
fn partly_solved_top_ups_count_what_they_solved() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let first = g.solved(&client(), "/signup");
    g.world.cohorts = rate(3.0);
    let body = g.send(&client().solution(&first)).json().clone();
    let offer: TopUpJson = serde_json::from_value(body["topup"].clone()).unwrap();
    // a sub-puzzle of it is not enough: still short, a second top-up is offered for the rest
    let mut s = Solution::parse(&first).unwrap();
    add(&mut s, &offer, Some(1));
    let again = g.send(&client().solution(&s.encode()));
    if offer.k > 2 {
        assert_eq!(again.error(), Some("more_work"), "{again:?}");
        let rest: TopUpJson = serde_json::from_value(again.json()["topup"].clone()).unwrap();
        add(&mut s, &rest, None);
        assert_eq!(g.send(&client().solution(&s.encode())).status(), 200);
    }
}

fn topup_req(token: &str, query: &str) -> Req {
    Req::get(&format!("/__gate/topup?token={token}&{query}"))
}

#[test]
fn the_top_up_endpoint_quotes_now_and_never_signs_more_than_it_asks_or_suggests() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let c = g.challenge(&client(), "/signup");
    let paid = solution::work_of(usize::from(c.k), c.difficulty);
    // nothing missing: no top-up
    let calm = g.send(&topup_req(&c.token, &format!("paid={paid}")));
    assert_eq!(calm.status(), 200);
    assert_eq!(calm.json()["topup"], serde_json::Value::Null);
    assert_eq!(calm.json()["work"]["asked"].as_u64(), Some(paid));
    // wanting more than the gate suggests gets nothing more (no capacity route: suggestion = price)
    let greedy = g.send(&topup_req(&c.token, &format!("paid={paid}&want={}", paid * 1000)));
    assert_eq!(greedy.json()["topup"], serde_json::Value::Null, "{:?}", greedy.json());
    // the price rose: a top-up for exactly the missing work's size
    g.world.cohorts = rate(3.0);
    let rose = g.send(&topup_req(&c.token, &format!("paid={paid}")));
    let offer: TopUpJson = serde_json::from_value(rose.json()["topup"].clone()).unwrap();
    let asked = rose.json()["work"]["asked"].as_u64().unwrap();
    assert!(u64::from(offer.k) * offer.each >= asked - paid);
    assert!(u64::from(offer.k) * offer.each <= 2 * (asked - paid), "not more than needed");
    assert_eq!(rose.tallies(), [("issue", "topup".to_string())]);
    // before a submission (no `want`) only what the submission would refuse is offered: any
    // amount paid within the one bit of slack gets nothing, any amount below it a top-up
    for paid_now in [asked / 2, asked / 2 + 1, asked - 1, asked, asked / 2 - 1, asked / 4, 0] {
        let r = g.send(&topup_req(&c.token, &format!("paid={paid_now}")));
        let offered = r.json()["topup"] != serde_json::Value::Null;
        assert_eq!(offered, paid_now * 2 < asked, "paid {paid_now} of {asked}: {:?}", r.json());
    }
    // banking (`want`) may still be offered work up to the price within the slack
    let banking = g.send(&topup_req(&c.token, &format!("paid={}&want={asked}", asked / 2)));
    assert_ne!(banking.json()["topup"], serde_json::Value::Null);
    // another client, or a token that is not the gate's: refused
    let other = g.send(&topup_req(&c.token, "paid=0").asn(64501));
    assert_eq!(other.error(), Some("binding_mismatch"));
    assert_eq!(g.send(&topup_req("AAAA", "paid=0")).error(), Some("unknown_route"));
    assert_eq!(g.send(&Req::get("/__gate/topup")).error(), Some("missing_solution"));
    // shed while asking: busy, like a challenge
    g.world.cohorts = rate(9.0);
    assert_eq!(g.send(&topup_req(&c.token, "paid=0")).error(), Some("busy"));
}

#[test]
fn a_browser_navigation_short_of_work_gets_a_page_never_a_spend() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let person = client().navigation();
    let first = g.solved(&person, "/signup");
    g.world.cohorts = rate(3.0);
    let run = g.send(&person.clone().solution(&first));
    assert_eq!(run.status(), 402);
    assert!(run.html().contains("more_work"));
    assert!(!run.spent());
    // the page has no script: a cookie names the unspent challenge for the widget back on
    // the form, for the challenge's life left (an API client reads the JSON instead)
    let bytes = gate::protocol::challenge::token_bytes(first.split('.').next().unwrap()).unwrap();
    let c = gate::protocol::challenge::decode(&bytes).unwrap().challenge;
    let id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, c.id);
    let cookie = run.reply().header("Set-Cookie").unwrap();
    assert!(cookie.starts_with(&format!("gate-unspent={id}; Max-Age=")), "{cookie}");
    let max_age: u64 = cookie.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!(max_age > 0 && max_age <= c.expires_at.seconds() - c.issued_at.seconds(), "{cookie}");
    assert!(cookie.contains("Path=/") && cookie.contains("SameSite=Strict"));
    // refusals that spend or cure nothing carry no such cookie
    let spent = g.send(&person.solution("AAAA.AAAA"));
    assert_eq!(spent.reply().header("Set-Cookie"), None);
}

/// The value of attribute `name` in `html` (the page escapes `&"'<>`).
fn attribute(html: &str, name: &str) -> String {
    let start = html.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name}")) + name.len() + 2;
    let raw = &html[start..start + html[start..].find('"').unwrap()];
    raw.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn a_persons_form_post_short_of_work_gets_a_page_that_finishes_it_by_itself() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let first = g.solved(&client().navigation(), "/signup");
    g.world.cohorts = rate(3.0);
    let encoded = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", "a\"<b>@example.com")
        .append_pair("password", "hunter2hunter2")
        .append_pair("gate-solution", &first)
        .finish();
    let person = Req::post("/signup?from=%22ad%22", &encoded).navigation();
    let page = g.send(&person);
    assert_eq!(page.status(), 402);
    assert!(!page.spent(), "nothing spent");
    let html = page.html().to_string();
    // the page allows the widget's script, workers and price ask from the site, nothing inline
    assert_eq!(page.reply().header("Content-Security-Policy"), Some(gate::pipeline::submit::TOPUP_PAGE_CSP));
    assert!(html.contains("<script src=\"/__gate/gate.js\" defer></script>"));
    assert_eq!(html.matches("<script").count(), 1);
    // the cookie still names the unspent challenge (back on the form, the work is kept)
    assert!(page.reply().header("Set-Cookie").unwrap().starts_with("gate-unspent="));
    // the form as posted: the fields, the solution once, posted back to the same address
    assert!(html.contains("action=\"/signup?from=%22ad%22\""));
    assert!(html.contains("name=\"email\" value=\"a&quot;&lt;b&gt;@example.com\""));
    assert!(html.contains("name=\"password\" value=\"hunter2hunter2\""));
    assert_eq!(attribute(&html, "name=\"gate-solution\" value"), first);
    assert_eq!(html.matches("name=\"gate-solution\"").count(), 1);
    // the offer: the same answer an API client reads (what is asked, paid, missing, the top-up)
    let offer_json: serde_json::Value = serde_json::from_str(&attribute(&html, "data-gate-topup")).unwrap();
    assert_eq!(offer_json["error"], "more_work");
    let work = &offer_json["work"];
    let (asked, paid) = (work["asked"].as_u64().unwrap(), work["paid"].as_u64().unwrap());
    assert_eq!(paid, 4 << 4, "{offer_json}");
    assert!(asked > 2 * paid && work["missing"].as_u64() == Some(asked - paid), "{offer_json}");
    let size = offer_json["topup"]["k"].as_u64().unwrap() * offer_json["topup"]["each"].as_u64().unwrap();
    assert!(size >= asked - paid && size <= 2 * (asked - paid), "{offer_json}");
    assert_eq!(attribute(&html, "data-gate-phone"), "", "no number on this form");
    // what the widget on the page does: solve the offer, append it, post the form back
    let offer: TopUpJson = serde_json::from_value(offer_json["topup"].clone()).unwrap();
    let mut s = Solution::parse(&first).unwrap();
    add(&mut s, &offer, None);
    let again = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", "a\"<b>@example.com")
        .append_pair("password", "hunter2hunter2")
        .append_pair("gate-solution", &s.encode())
        .finish();
    let ok = g.send(&Req::post("/signup?from=%22ad%22", &again).navigation());
    assert_eq!(ok.status(), 200, "{ok:?}");
    let (_, body) = ok.forwarded().unwrap();
    assert!(
        String::from_utf8_lossy(body).starts_with("email=a%22%3Cb%3E%40example.com&password="),
        "the person's fields as posted"
    );
    // a form that cannot be carried in a page (a file field): the retry page, no script
    let b = "XyZ";
    let file = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"gate-solution\"\r\n\r\n{first}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n\r\nPNG\r\n--{b}--\r\n"
    );
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let first_again = g.solved(&client().navigation(), "/signup");
    let file = file.replace(&first, &first_again);
    g.world.cohorts = rate(3.0);
    let retry = g.send(
        &Req::post("/signup", "")
            .header("content-type", &format!("multipart/form-data; boundary={b}"))
            .body(file)
            .navigation(),
    );
    assert_eq!(retry.status(), 402);
    assert!(!retry.html().contains("<script") && !retry.html().contains("data-gate-topup"));
    assert_eq!(retry.reply().header("Content-Security-Policy"), None, "the edge's script-free policy");
    assert!(retry.reply().header("Set-Cookie").unwrap().starts_with("gate-unspent="));
}

#[test]
fn work_is_never_lost_to_a_failed_forward_and_an_accepted_one_is_never_repeated() {
    let mut g = Gate::new(&policy(false, ATTACK, ""), &[]);
    let sol = g.solved(&client(), "/signup");
    for failure in [Err("connection refused".to_string()), Ok(503), Ok(500)] {
        g.world.origin = failure.clone();
        let run = g.send(&client().solution(&sol));
        let spends: Vec<bool> = run
            .io
            .iter()
            .filter_map(|io| match io {
                Io::Spend(order) => Some(order.release),
                _ => None,
            })
            .collect();
        assert_eq!(spends, [false, true], "{failure:?}: spent, then given back");
        assert_eq!(run.done().counts.signup, None, "{failure:?}: not counted");
        if failure.is_err() {
            assert_eq!((run.status(), run.error()), (502, Some("origin_unavailable")));
        }
    }
    // the origin is back: the same solution is a first use, forwarded and kept spent
    g.world.origin = Ok(201);
    let ok = g.send(&client().solution(&sol));
    assert_eq!(ok.status(), 201);
    let spends = ok.io.iter().filter(|io| matches!(io, Io::Spend(_))).count();
    assert_eq!(spends, 1, "an accepted forward is not given back");
    // a 4xx is the origin's answer: spent too
    assert_eq!(g.send(&client().solution(&sol)).error(), Some("already_spent"));
    let sol = g.solved(&client(), "/signup");
    g.world.origin = Ok(409);
    assert_eq!(g.send(&client().solution(&sol)).status(), 409);
    g.world.origin = Ok(201);
    assert_eq!(g.send(&client().solution(&sol)).error(), Some("already_spent"));
}
