//! The findings' names and weights: one enum, [`ReasonCode`], carries each code (the stable
//! string in logs, the verdict header and policy rules) and its risk points; docs/signals.md
//! lists them.

use serde::{Serialize, Serializer};
use std::fmt;

/// Declares [`ReasonCode`] from one table, so a code, its string and its weight are written once.
macro_rules! reason_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $weight:expr;)*) => {
        /// A named finding of the fingerprint checks.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ReasonCode {
            $($(#[$doc])* $variant,)*
        }

        impl ReasonCode {
            /// Every code, in the order the checks run.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// The stable code (`ua_automation`).
            pub const fn code(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $code,)*
                }
            }

            /// Its risk points.
            pub const fn weight(self) -> u32 {
                match self {
                    $(ReasonCode::$variant => $weight,)*
                }
            }
        }

        /// Every reason code string the checks produce (policy rules may name them).
        pub const REASON_CODES: &[&str] = &[$($code,)*];
    };
}

reason_codes! {
    /// No User-Agent at all.
    UaMissing = "ua_missing", 50;
    /// A self-declared HTTP library or automation tool (curl, python-requests, ...).
    UaAutomation = "ua_automation", 80;
    /// Headless browsers that say so (HeadlessChrome, PhantomJS).
    UaHeadless = "ua_headless", 80;
    /// A User-Agent that claims no browser (API clients, apps): judged lightly.
    UaNotBrowser = "ua_not_browser", 10;
    /// A browser-looking User-Agent that cannot be read (`Mozilla/5.0` alone, absurd versions).
    UaMalformed = "ua_malformed", 25;
    /// `Sec-CH-UA*` disagree with the User-Agent (brand version, platform or mobile).
    ChMismatch = "ch_mismatch", 35;
    /// Client hints from a browser that does not send them (Firefox, Safari).
    ChUnexpected = "ch_unexpected", 25;
    /// No client hints from a Chromium that always sends them in a secure context.
    ChMissing = "ch_missing", 15;
    /// No `Sec-Fetch-*` from a browser that always sends them.
    FetchMetadataMissing = "fetch_metadata_missing", 20;
    /// `Sec-Fetch-Site: cross-site` on a sign-up or challenge.
    FetchCrossSite = "fetch_cross_site", 25;
    /// `Sec-Fetch-Mode`/`Dest` that no form post or fetch produces.
    FetchUnusual = "fetch_unusual", 15;
    /// Browser without `Accept-Language`.
    AcceptLanguageMissing = "accept_language_missing", 20;
    /// Browser without gzip in `Accept-Encoding`.
    AcceptEncodingUnusual = "accept_encoding_unusual", 15;
    /// Browser without `Accept`.
    AcceptMissing = "accept_missing", 10;
    /// HTTP/1.0.
    Http10 = "http10", 30;
    /// HTTP/1.1 from a modern browser (they speak HTTP/2 or 3 to Cloudflare).
    Http1Browser = "http1_browser", 5;
    /// A browser without TLS.
    NoTls = "no_tls", 10;
    /// TLS 1.0 or 1.1 (no current browser offers them).
    TlsOld = "tls_old", 20;
    /// The network is a hosting/cloud/colocation ASN (data/hosting-asns.txt).
    HostingAsn = "hosting_asn", 25;
    /// Cloudflare Bot Management score below 30: 2 × (30 − score) points (see
    /// [`ReasonCode::bot_score_weight`]), so the weight here is the most it adds.
    BotScoreLow = "bot_score_low", 60;
    /// Cloudflare verified bot (a search engine has no business signing up).
    VerifiedBot = "verified_bot", 50;
    /// Cloudflare JavaScript detection failed.
    JsDetectionFailed = "js_detection_failed", 20;
    /// `navigator.webdriver` is true.
    Webdriver = "webdriver", 60;
    /// Automation framework globals on `window` (Playwright, Puppeteer, Selenium, PhantomJS).
    AutomationGlobals = "automation_globals", 60;
    /// WebGL renders in software (SwiftShader, llvmpipe): headless, or a machine without GPU.
    SoftwareRenderer = "software_renderer", 15;
    /// A 0×0 outer window.
    ZeroWindow = "zero_window", 25;
    /// `navigator.languages` is empty.
    NoLanguages = "no_languages", 25;
    /// Desktop Chromium without its built-in PDF plugins.
    NoPlugins = "no_plugins", 10;
    /// Screen size no device has.
    ScreenImplausible = "screen_implausible", 10;
    /// A browser posting without the widget's signals.
    SignalsMissing = "signals_missing", 20;
    /// Signals that cannot be read.
    SignalsMalformed = "signals_malformed", 30;
    /// Browser time zone on another continent than the network location's.
    TzMismatch = "tz_mismatch", 25;
    /// Browser time zone differs from the location's on the same continent.
    TzRegionDiffers = "tz_region_differs", 5;
    /// `navigator.languages` and `Accept-Language` disagree.
    LangMismatch = "lang_mismatch", 20;
    /// No language of the browser is spoken in the network's country (English excepted).
    LangCountry = "lang_country", 5;
    /// `navigator.userAgentData` disagrees with the User-Agent.
    UadMismatch = "uad_mismatch", 35;
    /// A Chromium without `navigator.userAgentData`.
    UadMissing = "uad_missing", 25;
    /// The JavaScript-measured round trip is far above the TCP round trip (a relay).
    RttGap = "rtt_gap", 20;
    /// Signals without a round trip the edge measured (no round-trip stamp, or one that does
    /// not verify for this client and address): as much as a gap, so that leaving the stamp
    /// out never pays.
    RttUnmeasured = "rtt_unmeasured", 20;
    /// A ClientHello without the post-quantum key share the claimed desktop Chrome or Edge
    /// sends: another TLS stack (a script's library, or an intercepting middlebox).
    TlsHelloShort = "tls_hello_short", 15;
}

impl ReasonCode {
    /// The code named `name`, if the checks produce it.
    pub fn parse(name: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.iter().copied().find(|c| c.code() == name)
    }

    /// The points of [`ReasonCode::BotScoreLow`] for a Bot Management score below 30.
    pub fn bot_score_weight(score: u8) -> u32 {
        u32::from(30u8.saturating_sub(score)) * 2
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Serialized as its code string, so a [`Reason`] in the log reads `{"code":"ua_automation",..}`.
impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// The code for a reason name, if the checks produce it.
pub fn reason_code(name: &str) -> Option<ReasonCode> {
    ReasonCode::parse(name)
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable code (logs, verdict header, policy rules).
    pub code: ReasonCode,
    /// Risk points.
    pub weight: u32,
    /// What was seen, for the operator's log (never sent to the client).
    pub detail: String,
}

/// The weights by constant name, for constant contexts: each is its [`ReasonCode::weight`].
pub mod weight {
    use super::ReasonCode;
    /// [`ReasonCode::UaMissing`].
    pub const UA_MISSING: u32 = ReasonCode::UaMissing.weight();
    /// [`ReasonCode::UaAutomation`].
    pub const UA_AUTOMATION: u32 = ReasonCode::UaAutomation.weight();
    /// [`ReasonCode::UaHeadless`].
    pub const UA_HEADLESS: u32 = ReasonCode::UaHeadless.weight();
    /// [`ReasonCode::UaNotBrowser`].
    pub const UA_NOT_BROWSER: u32 = ReasonCode::UaNotBrowser.weight();
    /// [`ReasonCode::UaMalformed`].
    pub const UA_MALFORMED: u32 = ReasonCode::UaMalformed.weight();
    /// [`ReasonCode::ChMismatch`].
    pub const CH_MISMATCH: u32 = ReasonCode::ChMismatch.weight();
    /// [`ReasonCode::ChUnexpected`].
    pub const CH_UNEXPECTED: u32 = ReasonCode::ChUnexpected.weight();
    /// [`ReasonCode::ChMissing`].
    pub const CH_MISSING: u32 = ReasonCode::ChMissing.weight();
    /// [`ReasonCode::FetchMetadataMissing`].
    pub const FETCH_METADATA_MISSING: u32 = ReasonCode::FetchMetadataMissing.weight();
    /// [`ReasonCode::FetchCrossSite`].
    pub const FETCH_CROSS_SITE: u32 = ReasonCode::FetchCrossSite.weight();
    /// [`ReasonCode::FetchUnusual`].
    pub const FETCH_UNUSUAL: u32 = ReasonCode::FetchUnusual.weight();
    /// [`ReasonCode::AcceptLanguageMissing`].
    pub const ACCEPT_LANGUAGE_MISSING: u32 = ReasonCode::AcceptLanguageMissing.weight();
    /// [`ReasonCode::AcceptEncodingUnusual`].
    pub const ACCEPT_ENCODING_UNUSUAL: u32 = ReasonCode::AcceptEncodingUnusual.weight();
    /// [`ReasonCode::AcceptMissing`].
    pub const ACCEPT_MISSING: u32 = ReasonCode::AcceptMissing.weight();
    /// [`ReasonCode::Http10`].
    pub const HTTP10: u32 = ReasonCode::Http10.weight();
    /// [`ReasonCode::Http1Browser`].
    pub const HTTP1_BROWSER: u32 = ReasonCode::Http1Browser.weight();
    /// [`ReasonCode::NoTls`].
    pub const NO_TLS: u32 = ReasonCode::NoTls.weight();
    /// [`ReasonCode::TlsOld`].
    pub const TLS_OLD: u32 = ReasonCode::TlsOld.weight();
    /// [`ReasonCode::HostingAsn`].
    pub const HOSTING_ASN: u32 = ReasonCode::HostingAsn.weight();
    /// [`ReasonCode::VerifiedBot`].
    pub const VERIFIED_BOT: u32 = ReasonCode::VerifiedBot.weight();
    /// [`ReasonCode::JsDetectionFailed`].
    pub const JS_DETECTION_FAILED: u32 = ReasonCode::JsDetectionFailed.weight();
    /// [`ReasonCode::Webdriver`].
    pub const WEBDRIVER: u32 = ReasonCode::Webdriver.weight();
    /// [`ReasonCode::AutomationGlobals`].
    pub const AUTOMATION_GLOBALS: u32 = ReasonCode::AutomationGlobals.weight();
    /// [`ReasonCode::SoftwareRenderer`].
    pub const SOFTWARE_RENDERER: u32 = ReasonCode::SoftwareRenderer.weight();
    /// [`ReasonCode::ZeroWindow`].
    pub const ZERO_WINDOW: u32 = ReasonCode::ZeroWindow.weight();
    /// [`ReasonCode::NoLanguages`].
    pub const NO_LANGUAGES: u32 = ReasonCode::NoLanguages.weight();
    /// [`ReasonCode::NoPlugins`].
    pub const NO_PLUGINS: u32 = ReasonCode::NoPlugins.weight();
    /// [`ReasonCode::ScreenImplausible`].
    pub const SCREEN_IMPLAUSIBLE: u32 = ReasonCode::ScreenImplausible.weight();
    /// [`ReasonCode::SignalsMissing`].
    pub const SIGNALS_MISSING: u32 = ReasonCode::SignalsMissing.weight();
    /// [`ReasonCode::SignalsMalformed`].
    pub const SIGNALS_MALFORMED: u32 = ReasonCode::SignalsMalformed.weight();
    /// [`ReasonCode::TzMismatch`].
    pub const TZ_MISMATCH: u32 = ReasonCode::TzMismatch.weight();
    /// [`ReasonCode::TzRegionDiffers`].
    pub const TZ_REGION_DIFFERS: u32 = ReasonCode::TzRegionDiffers.weight();
    /// [`ReasonCode::LangMismatch`].
    pub const LANG_MISMATCH: u32 = ReasonCode::LangMismatch.weight();
    /// [`ReasonCode::LangCountry`].
    pub const LANG_COUNTRY: u32 = ReasonCode::LangCountry.weight();
    /// [`ReasonCode::UadMismatch`].
    pub const UAD_MISMATCH: u32 = ReasonCode::UadMismatch.weight();
    /// [`ReasonCode::UadMissing`].
    pub const UAD_MISSING: u32 = ReasonCode::UadMissing.weight();
    /// [`ReasonCode::RttGap`].
    pub const RTT_GAP: u32 = ReasonCode::RttGap.weight();
    /// [`ReasonCode::TlsHelloShort`].
    pub const TLS_HELLO_SHORT: u32 = ReasonCode::TlsHelloShort.weight();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        assert_eq!(ReasonCode::ALL.len(), REASON_CODES.len());
        for (c, s) in ReasonCode::ALL.iter().zip(REASON_CODES) {
            assert_eq!(c.code(), *s);
            assert_eq!(reason_code(s), Some(*c));
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{s}\""));
            assert!(c.weight() > 0, "{c}");
        }
        let mut sorted = REASON_CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), REASON_CODES.len(), "a code is listed twice");
        assert_eq!(reason_code("nope"), None);
        assert_eq!(ReasonCode::bot_score_weight(0), ReasonCode::BotScoreLow.weight());
        assert_eq!(ReasonCode::bot_score_weight(29), 2);
    }

    #[test]
    fn a_reason_serializes_as_before() {
        // the decision log and `gate replay` read this shape: code, weight, detail
        let r = Reason { code: ReasonCode::HostingAsn, weight: 30, detail: "AS16509".into() };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"code":"hosting_asn","weight":30,"detail":"AS16509"}"#
        );
    }
}
