//! The header corpus (tests/data/corpus.json): real browsers and common tools, each labelled
//! with the verdict the server-side signals alone must give at the default thresholds. Real
//! browsers must never be denied by server signals alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;
use common::corpus::{Entry, entries as corpus, verdict_of};

#[test]
fn every_entry_gets_its_labelled_verdict() {
    let mut wrong = Vec::new();
    for e in corpus() {
        let (got, a) = verdict_of(&e);
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

#[test]
fn real_browsers_are_never_denied_by_server_signals_alone() {
    let browsers: Vec<Entry> = corpus().into_iter().filter(|e| e.kind == "browser").collect();
    assert!(browsers.len() >= 15, "the corpus covers the major browsers");
    for e in &browsers {
        let (got, a) = verdict_of(e);
        assert_ne!(got, "deny", "{}: {:?}", e.name, a.codes());
    }
}

#[test]
fn every_tool_is_priced_up_or_refused() {
    let tools: Vec<Entry> = corpus().into_iter().filter(|e| e.kind == "tool").collect();
    assert!(tools.len() >= 12);
    for e in &tools {
        let (got, a) = verdict_of(e);
        assert_ne!(got, "allow", "{} slipped through with {:?}", e.name, a.codes());
    }
}
