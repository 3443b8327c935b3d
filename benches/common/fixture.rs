//! The proof every verification benchmark checks: a default-terms challenge (k = 32,
//! difficulty 17), solved once, so native and Wasm measure exactly the same bytes.
#![allow(dead_code)] // each benchmark uses part of it

#[path = "../../tests/common/chrome.rs"]
mod chrome;

use gate::config::defaults;
use gate::protocol::binding::Binding;
use gate::protocol::challenge::{self, Terms};
use gate::protocol::key::{Key, KeyRing};
use gate::protocol::solution::{self, Expectation};
use gate::protocol::time::UnixTime;

/// The default challenge's difficulty: the base price of the shipped policy (policy/gate.toml).
pub const DIFFICULTY: u8 = 17;
/// The default challenge's sub-puzzles.
pub const K: u8 = 32;
/// The challenge key.
pub const SECRET: &[u8] = b"benchmark secret, at least thirty-two bytes long";
/// Issue time.
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
/// The protected route.
pub const ROUTE: &str = "/signup";
/// The client binding.
pub const BINDING: Binding = Binding([7; 16]);

/// The key ring holding `SECRET`.
pub fn keys() -> KeyRing {
    KeyRing::new(Key::new(SECRET), None)
}

/// A solved default challenge, as the wire string.
pub fn solution(difficulty: u8, k: u8) -> String {
    let terms = Terms { route: ROUTE.into(), difficulty, k, risk: 0, ttl: defaults::TTL, binding: BINDING };
    let signed =
        challenge::issue(&Key::new(SECRET), &terms, NOW, [0x5a; 16]).unwrap_or_else(|_| unreachable!());
    solution::solve(signed.bytes(), b"").unwrap_or_else(|_| unreachable!()).encode()
}

/// What the verifier checks the proof against (5 s after issue).
pub fn expectation(keys: &KeyRing) -> Expectation<'_> {
    Expectation {
        keys,
        now: NOW.plus(5),
        skew: defaults::SKEW,
        route: Some(ROUTE),
        binding: Some(BINDING),
        order: 0,
    }
}

/// The facts of a Chrome 131 form post from a residential network in Berlin.
pub fn chrome_facts() -> gate::request::facts::RequestFacts {
    use gate::request::facts::{CfFacts, Headers, RequestFacts};
    RequestFacts {
        method: "POST".into(),
        path: "/signup".into(),
        query: None,
        scheme: "https".into(),
        host: "example.com".into(),
        headers: Headers::from_pairs(
            chrome::WINDOWS
                .navigation()
                .into_iter()
                .chain([("content-type", "application/x-www-form-urlencoded")]),
        ),
        client_ip: Some("203.0.113.7".into()),
        cf: CfFacts {
            asn: Some(3320),
            country: Some("DE".into()),
            timezone: Some("Europe/Berlin".into()),
            tls_version: Some("TLSv1.3".into()),
            http_protocol: Some("HTTP/2".into()),
            client_tcp_rtt: Some(20),
            ..Default::default()
        },
    }
}

/// The signals this Chrome's widget would send (as bytes, like the solution carries them).
pub const CHROME_SIGNALS: &str = r#"{"v":1,"webdriver":false,"automation":[],"softwareRenderer":false,"outer":[1280,800],"screen":[1920,1080],"timeZone":"Europe/Berlin","languages":["de-DE","de","en"],"plugins":5,"uaData":{"brands":[["Google Chrome","131"],["Chromium","131"],["Not_A Brand","24"]],"mobile":false,"platform":"Windows"},"cores":8,"rtt":38}"#;
