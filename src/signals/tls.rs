//! The TLS handshake against the browser the headers claim, from the fields Cloudflare
//! exposes on every plan. Desktop Chrome and Edge from version 124 put a post-quantum key
//! share (X25519Kyber768, X25519MLKEM768 from 131: 1,216 bytes) in their ClientHello, which
//! is then about 1.6–1.8 kB; a classical ClientHello is a few hundred bytes. A short one under
//! such headers comes from another TLS stack: a script's HTTP library (Python on OpenSSL before
//! 3.5, Node before 24, Go before 1.24, curl) wearing a browser's headers, or a TLS-intercepting
//! middlebox in front of a real browser (antivirus, corporate proxy), which is why the check
//! only adds weight and never refuses on its own (docs/drill-tiers.md § What the drill found).
//!
//! The cipher and extension hashes (`tlsClientCiphersSha1`, `tlsClientExtensionsSha1`) are not
//! compared: Chrome adds a random GREASE value to its cipher list and permutes its extensions
//! on every connection (Chrome 110), so a table of Chrome's hashes would need Cloudflare's own
//! measurements, which are not published.

use super::{Assessment, ReasonCode};
use crate::request::facts::RequestFacts;
use crate::request::user_agent::{Family, Platform, UserAgent};

/// Below this many bytes a ClientHello carries no post-quantum key share.
pub const SHORT_HELLO: u32 = 1_000;

/// The first Chrome (and Edge) release that sends a post-quantum key share by default.
pub const FIRST_POST_QUANTUM: u32 = 124;

/// Whether the headers claim a desktop Chrome or Edge that sends a post-quantum key share:
/// the vendor's brand in `Sec-CH-UA` (which scripts copying a full header set send, and forks
/// that may have turned the key share off do not) at a version from 124.
fn claims_post_quantum(facts: &RequestFacts, raw_ua: &str, ua: &UserAgent) -> bool {
    let desktop =
        matches!(ua.platform, Platform::Windows | Platform::MacOs | Platform::Linux | Platform::ChromeOs);
    let vendor = match ua.family {
        Family::Chrome => "Google Chrome",
        Family::Edge => "Microsoft Edge",
        _ => return false,
    };
    let branded = facts.headers.get("sec-ch-ua").is_some_and(|h| h.contains(vendor));
    desktop
        && !ua.mobile
        && !ua.webview
        && branded
        && UserAgent::chromium_major(raw_ua).is_some_and(|m| m >= FIRST_POST_QUANTUM)
}

pub(super) fn tls(facts: &RequestFacts, raw_ua: &str, ua: &UserAgent, a: &mut Assessment) {
    let Some(len) = facts.cf.tls_client_hello_length.filter(|l| *l > 0) else { return };
    if len < SHORT_HELLO && claims_post_quantum(facts, raw_ua, ua) {
        a.add(ReasonCode::TlsHelloShort, format!("ClientHello {len} bytes under {}", ua.family_major()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::facts::{CfFacts, Headers};
    use crate::signals::{ClientSide, assess_server, weight};
    use proptest::prelude::*;

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const HINTS: &str = "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"";

    fn facts(ua: &str, hints: Option<&str>, hello: Option<u32>) -> RequestFacts {
        let mut h = vec![("user-agent", ua.to_string())];
        if let Some(x) = hints {
            h.push(("sec-ch-ua", x.to_string()));
        }
        RequestFacts {
            method: "POST".into(),
            scheme: "https".into(),
            host: "example.com".into(),
            headers: Headers::from_pairs(h),
            cf: CfFacts { tls_client_hello_length: hello, ..Default::default() },
            ..Default::default()
        }
    }

    fn short(f: &RequestFacts) -> bool {
        assess_server(f).has(ReasonCode::TlsHelloShort)
    }

    #[test]
    fn a_short_hello_under_a_desktop_chrome_from_124_is_flagged() {
        assert!(short(&facts(CHROME, Some(HINTS), Some(517))));
        // a ClientHello with the post-quantum key share, or no length at all: nothing to say
        assert!(!short(&facts(CHROME, Some(HINTS), Some(1_780))));
        assert!(!short(&facts(CHROME, Some(HINTS), None)));
        assert!(!short(&facts(CHROME, Some(HINTS), Some(0))));
        // no vendor brand (a fork, or a copied User-Agent without hints): not claimed
        assert!(!short(&facts(CHROME, None, Some(517))));
        assert!(!short(&facts(CHROME, Some("\"Brave\";v=\"131\", \"Chromium\";v=\"131\""), Some(517))));
        // before 124, on a phone, on iOS, or another engine: not claimed
        let old = CHROME.replace("131.0.0.0", "120.0.0.0");
        assert!(!short(&facts(&old, Some(&HINTS.replace("131", "120")), Some(517))));
        let android = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        assert!(!short(&facts(android, Some(HINTS), Some(517))));
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert!(!short(&facts(firefox, None, Some(517))));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert!(short(&facts(edge, Some("\"Microsoft Edge\";v=\"131\", \"Chromium\";v=\"131\""), Some(400))));
    }

    proptest! {
        /// Whatever the length, the finding is exactly "shorter than 1,000 bytes", and on its
        /// own it stays below the extra-work threshold (30): a person behind an intercepting
        /// middlebox is never charged more for it alone.
        #[test]
        fn fires_exactly_below_the_threshold_and_never_prices_alone(len in 1u32..4_000) {
            let f = facts(CHROME, Some(HINTS), Some(len));
            let a = crate::signals::assess(&f, &ClientSide::Absent);
            prop_assert_eq!(a.has(ReasonCode::TlsHelloShort), len < SHORT_HELLO);
            prop_assert!(weight::TLS_HELLO_SHORT < crate::signals::RiskPolicy::default().more_work_at);
        }
    }
}
