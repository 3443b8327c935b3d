//! `cargo run --release --example corpus_report`: how the server-side signals judge the header
//! corpus (tests/data/corpus.json) at the default thresholds: the false-positive rate on real
//! browsers (must be 0 % denied, at most 5 % charged more) against the detection rate on tools,
//! and each entry's score.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use gate::signals::RiskPolicy;

#[path = "../tests/common/corpus.rs"]
mod corpus;

fn main() {
    let policy = RiskPolicy::default();
    let (mut browsers, mut browsers_denied, mut browsers_more) = (0, 0, 0);
    let (mut tools, mut tools_caught, mut tools_denied) = (0, 0, 0);
    let mut rows = Vec::new();
    for e in &corpus::entries() {
        let (label, a) = corpus::label_of(e);
        if e.kind == "browser" {
            browsers += 1;
            browsers_denied += usize::from(label == "deny");
            browsers_more += usize::from(label == "more_work");
        } else {
            tools += 1;
            tools_caught += usize::from(label != "allow");
            tools_denied += usize::from(label == "deny");
        }
        rows.push(format!(
            "  {:<8} {:>5}  {:<10} {:<62} {}",
            e.kind,
            a.score,
            label,
            e.name,
            a.codes().join(",")
        ));
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "header corpus (tests/data/corpus.json), server-side signals only, default thresholds (more work from {}, deny from {})",
        policy.more_work_at, policy.deny_at
    );
    println!(
        "  real browsers denied: {browsers_denied}/{browsers} (false-positive rate {:.1}%)   charged more work: {browsers_more}/{browsers} ({:.1}%, budget 5%)",
        pct(browsers_denied, browsers),
        pct(browsers_more, browsers)
    );
    println!(
        "  tools refused or charged more: {tools_caught}/{tools} (detection rate {:.1}%)   refused outright: {tools_denied}/{tools}",
        pct(tools_caught, tools)
    );
    println!("  {:<8} {:>5}  {:<10} {:<62} reasons", "kind", "score", "label", "entry");
    for r in rows {
        println!("{r}");
    }
}
