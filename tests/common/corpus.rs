//! The header corpus (tests/data/corpus.json) and how the server-side signals judge an entry
//! at the default thresholds: shared by the corpus tests and `scripts/bench signals`, so the
//! report measures exactly what the tests assert.
#![allow(dead_code)] // each user reads some of the fields
use gate::request::facts::{CfFacts, Headers, RequestFacts};
use gate::signals::{self, RiskAction, RiskPolicy};
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    entries: Vec<Entry>,
}

/// One labelled header set.
#[derive(Deserialize)]
pub struct Entry {
    pub name: String,
    /// "browser" or "tool".
    pub kind: String,
    /// The label expected: "allow", "more_work" or "deny".
    pub expect: String,
    pub why: String,
    /// Where the User-Agent and headers were documented (in-app, WebView and regional browsers).
    #[serde(default)]
    pub source: Option<String>,
    pub method: String,
    pub scheme: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub cf: CfFacts,
    pub headers: Vec<(String, String)>,
}

/// Every entry of the corpus file.
pub fn entries() -> Vec<Entry> {
    serde_json::from_str::<Corpus>(include_str!("../data/corpus.json")).unwrap().entries
}

/// The label ("allow", "more_work" or "deny") and the assessment the server-side signals give
/// an entry posting a sign-up, at the default thresholds and base difficulty 17.
pub fn label_of(e: &Entry) -> (&'static str, signals::Assessment) {
    let facts = RequestFacts {
        method: e.method.clone(),
        path: "/signup".into(),
        query: None,
        scheme: e.scheme.clone(),
        host: e.host.clone().unwrap_or_else(|| "example.com".into()),
        headers: Headers::from_pairs(e.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        client_ip: None,
        cf: e.cf.clone(),
    };
    let a = signals::assess_server(&facts);
    let label = match RiskPolicy::default().action(17, a.score) {
        RiskAction::Deny => "deny",
        RiskAction::Work(d) if d > 17 => "more_work",
        RiskAction::Work(_) => "allow",
    };
    (label, a)
}
