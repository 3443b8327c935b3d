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

/// The largest bundle the protocol allows, in sub-puzzles and bytes: a challenge with
/// [`solution::MAX_K`] sub-puzzles and [`solution::MAX_TOP_UPS`] top-ups of
/// [`gate::protocol::topup::MAX_K`] each, every one solved. Verification hashes each
/// sub-puzzle once whatever its difficulty, so the parts are solved at `difficulty` (small,
/// so the fixture is quick to build under Wasm too).
pub fn largest_solution(difficulty: u8) -> String {
    use gate::protocol::topup;
    let k = u8::try_from(solution::MAX_K).unwrap_or_else(|_| unreachable!());
    let terms = Terms { route: ROUTE.into(), difficulty, k, risk: 0, ttl: defaults::TTL, binding: BINDING };
    let signed =
        challenge::issue(&Key::new(SECRET), &terms, NOW, [0x5a; 16]).unwrap_or_else(|_| unreachable!());
    let mut bundle = solution::solve(signed.bytes(), b"").unwrap_or_else(|_| unreachable!());
    let first = challenge::decode(signed.bytes()).unwrap_or_else(|_| unreachable!()).challenge;
    for n in 0..solution::MAX_TOP_UPS {
        let id = [u8::try_from(n).unwrap_or(0); 16];
        let token = topup::issue(&Key::new(SECRET), &first, difficulty, topup::MAX_K, NOW.plus(1), id)
            .unwrap_or_else(|| unreachable!());
        let seed = gate::pow::seed(&token, b"");
        let nonces = (0..u32::from(topup::MAX_K))
            .map(|i| gate::pow::solve(&seed, i, difficulty).unwrap_or_else(|| unreachable!()))
            .collect();
        bundle.topups.push(solution::TopUpPart { token, nonces });
    }
    bundle.encode()
}

/// The difficulty of every part of the largest bundle.
pub const LARGEST_DIFFICULTY: u8 = 12;

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
