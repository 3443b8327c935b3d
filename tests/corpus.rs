//! The header corpus (tests/data/corpus.json): real browsers and common tools, each labelled
//! with the outcome the server-side signals alone must give at the default thresholds. Real
//! browsers must never be denied by server signals alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;
use common::corpus::{Entry, entries as corpus, label_of};
use gate::request::user_agent::UserAgent;

#[test]
fn every_entry_gets_its_label() {
    let mut wrong = Vec::new();
    for e in corpus() {
        let (got, a) = label_of(&e);
        if got != e.expect {
            wrong.push(format!(
                "{}: expected {} ({}), got {} with {:?} = {}",
                e.name,
                e.expect,
                e.why,
                got,
                a.codes(),
                a.score
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The false-positive budget on real browsers: none refused, at most 5 % charged more work.
#[test]
fn real_browsers_are_never_denied_and_rarely_charged_more() {
    let browsers: Vec<Entry> = corpus().into_iter().filter(|e| e.kind == "browser").collect();
    assert!(browsers.len() >= 40, "the corpus covers the major, in-app and regional browsers");
    let mut charged = Vec::new();
    for e in &browsers {
        let (got, a) = label_of(e);
        assert_ne!(got, "deny", "{}: {:?}", e.name, a.codes());
        if got == "more_work" {
            charged.push(format!("{}: {:?}", e.name, a.codes()));
        }
    }
    assert!(
        charged.len() * 100 <= browsers.len() * 5,
        "{} of {} real browsers charged more work (budget 5 %):\n{}",
        charged.len(),
        browsers.len(),
        charged.join("\n")
    );
}

/// Every in-app, WebView or regional browser in the corpus says where it was documented, and
/// the User-Agent reader sees it as the engine it is (a browser family, not `Other`).
#[test]
fn in_app_and_regional_browsers_are_sourced_and_read_as_their_engine() {
    let mut seen = 0;
    for e in corpus().into_iter().filter(|e| e.kind == "browser") {
        let raw = e.headers.iter().find(|(k, _)| k == "user-agent").map(|(_, v)| v.as_str()).unwrap_or("");
        let ua = UserAgent::parse(raw);
        assert!(ua.family.is_browser(), "{}: read as {}", e.name, ua.family_major());
        if ua.app.is_some() || ua.webview {
            seen += 1;
            assert!(e.source.as_deref().is_some_and(|s| !s.trim().is_empty()), "{}: no source", e.name);
        }
    }
    assert!(seen >= 20, "only {seen} in-app or regional browsers");
}

#[test]
fn every_tool_is_priced_up_or_refused() {
    let tools: Vec<Entry> = corpus().into_iter().filter(|e| e.kind == "tool").collect();
    assert!(tools.len() >= 12);
    for e in &tools {
        let (got, a) = label_of(e);
        assert_ne!(got, "allow", "{} slipped through with {:?}", e.name, a.codes());
    }
}
