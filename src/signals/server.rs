//! What the edge sees: the User-Agent, transport, network and Cloudflare's bot signals for
//! any client, then the headers every browser of the claimed family sends (client hints,
//! fetch metadata, content negotiation) for clients that claim a browser.

use super::{Assessment, ReasonCode, hosting_asn};
use crate::request::facts::{Headers, RequestFacts};
use crate::request::user_agent::{Family, Platform, UserAgent};

/// Tools that announce themselves (first product token, lower-case).
const TOOLS: &[&str] = &[
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "python",
    "aiohttp",
    "httpx",
    "go-http-client",
    "node",
    "node-fetch",
    "undici",
    "axios",
    "got",
    "okhttp",
    "java",
    "java-http-client",
    "apache-httpclient",
    "jakarta",
    "libwww-perl",
    "lwp",
    "scrapy",
    "ruby",
    "faraday",
    "guzzlehttp",
    "php",
    "postmanruntime",
    "insomnia",
    "httpie",
    "powershell",
    "deno",
    "bun",
    "reqwest",
    "hyper",
    "ureq",
    "dart",
    "rest-client",
    "mechanize",
    "winhttp",
    "wininet",
];

/// Substrings that mark automation anywhere in a User-Agent.
const AUTOMATION_MARKERS: &[&str] = &[
    "phantomjs",
    "selenium",
    "webdriver",
    "puppeteer",
    "playwright",
    "headless",
    "slimerjs",
    "nightmare",
    "bot/",
    "crawler",
    "spider",
];

pub(super) fn server(facts: &RequestFacts, raw_ua: &str, ua: &UserAgent, a: &mut Assessment) {
    let h = &facts.headers;
    let lower = raw_ua.to_ascii_lowercase();
    match &ua.family {
        Family::Missing => a.add(ReasonCode::UaMissing, "no User-Agent"),
        Family::HeadlessChrome => a.add(ReasonCode::UaHeadless, ua.family_major()),
        Family::Other(name) if TOOLS.contains(&name.as_str()) => {
            a.add(ReasonCode::UaAutomation, ua.family_major())
        }
        _ if AUTOMATION_MARKERS.iter().any(|m| lower.contains(m)) => {
            let marker = AUTOMATION_MARKERS.iter().find(|m| lower.contains(*m)).copied().unwrap_or("");
            if lower.contains("headless") || lower.contains("phantomjs") {
                a.add(ReasonCode::UaHeadless, marker)
            } else {
                a.add(ReasonCode::UaAutomation, marker)
            }
        }
        Family::Other(name) if raw_ua.starts_with("Mozilla/") => {
            a.add(ReasonCode::UaMalformed, format!("Mozilla/ with no browser token ({name})"))
        }
        Family::Other(name) => a.add(ReasonCode::UaNotBrowser, name.clone()),
        _ => {}
    }

    // Transport (any client).
    match facts.cf.http_protocol.as_deref() {
        Some("HTTP/1.0") => a.add(ReasonCode::Http10, "HTTP/1.0"),
        Some("HTTP/1.1") if ua.family.is_browser() && ua.sends_fetch_metadata() => {
            a.add(ReasonCode::Http1Browser, "HTTP/1.1 from a modern browser")
        }
        _ => {}
    }
    match facts.cf.tls_version.as_deref() {
        Some("TLSv1") | Some("TLSv1.0") | Some("TLSv1.1") => {
            a.add(ReasonCode::TlsOld, facts.cf.tls_version.clone().unwrap_or_default())
        }
        Some("") if ua.family.is_browser() && facts.scheme == "https" => {
            a.add(ReasonCode::NoTls, "browser without TLS")
        }
        _ => {}
    }
    super::tls::tls(facts, raw_ua, ua, a);
    if let Some(asn) = facts.cf.asn
        && hosting_asn(asn)
    {
        let org = facts.cf.as_organization.clone().unwrap_or_default();
        a.add(ReasonCode::HostingAsn, format!("AS{asn} {org}").trim().to_string());
    }
    if let Some(bot) = &facts.cf.bot {
        if let Some(score) = bot.score
            && score < 30
        {
            a.add_weighted(
                ReasonCode::BotScoreLow,
                ReasonCode::bot_score_weight(score),
                format!("bot score {score}"),
            );
        }
        if bot.verified_bot == Some(true) {
            a.add(ReasonCode::VerifiedBot, "Cloudflare verified bot");
        }
        if bot.js_detection_passed == Some(false) {
            a.add(ReasonCode::JsDetectionFailed, "Cloudflare JS detection failed");
        }
    }

    // The rest only applies to clients that claim to be a browser. A `Mozilla/` header that
    // names no engine still claims one: it is held to the headers every browser sends.
    if !ua.family.is_browser() {
        if matches!(ua.family, Family::Other(_)) && raw_ua.starts_with("Mozilla/") {
            content_negotiation(h, a);
        }
        return;
    }
    // An Android WebView that leaves out `Chrome/` states no engine version; that is not absurd.
    let unversioned_webview = ua.major.is_none() && ua.webview;
    if ua.major.is_none_or(|m| m == 0 || m > 500) && !unversioned_webview {
        a.add(ReasonCode::UaMalformed, format!("implausible version in {}", ua.family_major()));
    }

    // Client hints (an empty `Sec-CH-UA` says nothing).
    let ch = h.get("sec-ch-ua").filter(|v| !v.trim().is_empty());
    if let Some(ch) = ch {
        if !ua.may_send_client_hints() {
            a.add(ReasonCode::ChUnexpected, format!("{} sent Sec-CH-UA", ua.family_major()));
        } else {
            let brands = parse_brands(ch);
            if brands.iter().any(|(b, _)| b.eq_ignore_ascii_case("HeadlessChrome")) {
                a.add(ReasonCode::UaHeadless, "HeadlessChrome brand in Sec-CH-UA");
            }
            if let Some(why) = brands_disagree(raw_ua, ua, &brands) {
                a.add(ReasonCode::ChMismatch, why);
            }
            if let Some(p) = h.get("sec-ch-ua-platform") {
                let claimed = Platform::from_client_hint(p);
                if claimed != Platform::Unknown && ua.platform != Platform::Unknown && claimed != ua.platform
                {
                    a.add(ReasonCode::ChMismatch, format!("Sec-CH-UA-Platform {p} vs UA {:?}", ua.platform));
                }
            }
            if let Some(m) = h.get("sec-ch-ua-mobile") {
                let claimed = m.trim() == "?1";
                if claimed != ua.hint_mobile() && ua.platform != Platform::Unknown {
                    a.add(
                        ReasonCode::ChMismatch,
                        format!("Sec-CH-UA-Mobile {m} vs UA mobile {}", ua.hint_mobile()),
                    );
                }
            }
        }
    } else if hints_required(facts, ua) {
        a.add(ReasonCode::ChMissing, format!("{} without Sec-CH-UA", ua.family_major()));
    }

    // Fetch metadata.
    let site = h.get("sec-fetch-site");
    let mode = h.get("sec-fetch-mode");
    let dest = h.get("sec-fetch-dest");
    match (site, mode, dest) {
        (None, None, None) => {
            if ua.sends_fetch_metadata() {
                a.add(ReasonCode::FetchMetadataMissing, format!("{} without Sec-Fetch-*", ua.family_major()));
            }
        }
        _ => {
            if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
                a.add(ReasonCode::FetchCrossSite, "Sec-Fetch-Site: cross-site");
            }
            let mode = mode.unwrap_or("").to_ascii_lowercase();
            let plausible = matches!(
                (mode.as_str(), dest.unwrap_or("").to_ascii_lowercase().as_str()),
                ("navigate", "document")
                    | ("navigate", "iframe")
                    | ("cors", "empty")
                    | ("same-origin", "empty")
                    | ("no-cors", "empty")
            ) || (
                // Chromium 76-79 (old WebViews such as WeChat's XWEB 78) sent Sec-Fetch-Site,
                // -Mode and -User, but Sec-Fetch-Dest only from 80.
                dest.is_none()
                    && ua.family.is_chromium()
                    && !ua.sends_fetch_metadata()
                    && matches!(mode.as_str(), "navigate" | "cors" | "same-origin" | "no-cors")
            );
            if !plausible {
                a.add(ReasonCode::FetchUnusual, format!("Sec-Fetch-Mode {mode:?}, Sec-Fetch-Dest {dest:?}"));
            }
        }
    }

    content_negotiation(h, a);
}

/// `X-Requested-With: <app package>` (`com.tencent.mm`): Android's WebView names the app that
/// embeds it, which Chrome never does (`XMLHttpRequest` is a script library's, not a package).
/// Apps that replace the whole User-Agent with a Chrome-like one are WebViews all the same.
pub(super) fn webview_by_header(facts: &RequestFacts, ua: &UserAgent) -> bool {
    matches!(ua.platform, Platform::Android | Platform::Unknown)
        && facts.headers.get("x-requested-with").is_some_and(|v| {
            let v = v.trim();
            v.contains('.')
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        })
}

/// Whether missing client hints count: a Chromium that always sends them, in a secure
/// context, and not an Android WebView (which sends them only with its default User-Agent).
pub(super) fn hints_required(facts: &RequestFacts, ua: &UserAgent) -> bool {
    ua.sends_client_hints() && facts.secure_context() && !webview_by_header(facts, ua)
}

/// Content negotiation headers every browser sends.
fn content_negotiation(h: &Headers, a: &mut Assessment) {
    if !h.has("accept-language") {
        a.add(ReasonCode::AcceptLanguageMissing, "browser without Accept-Language");
    }
    if !h.get("accept-encoding").is_some_and(|e| e.to_ascii_lowercase().contains("gzip")) {
        a.add(ReasonCode::AcceptEncodingUnusual, format!("Accept-Encoding {:?}", h.get("accept-encoding")));
    }
    if !h.has("accept") {
        a.add(ReasonCode::AcceptMissing, "browser without Accept");
    }
}

/// Parses `"Brand";v="123", ...` into `(brand, version)` pairs (at most 16).
pub fn parse_brands(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .take(16)
        .filter_map(|item| {
            let (brand, rest) = item.trim().split_once(';')?;
            let version = rest.trim().strip_prefix("v=")?;
            Some((brand.trim().trim_matches('"').to_string(), version.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// Why the client-hint brands contradict the User-Agent, if they do.
pub(super) fn brands_disagree(raw_ua: &str, ua: &UserAgent, brands: &[(String, String)]) -> Option<String> {
    let chromium = brands
        .iter()
        .find(|(b, _)| b == "Chromium")
        .and_then(|(_, v)| v.split('.').next()?.parse::<u32>().ok());
    let ua_chromium = UserAgent::chromium_major(raw_ua);
    if let (Some(ch), Some(uv)) = (chromium, ua_chromium)
        && ch != uv
    {
        return Some(format!("Chromium {ch} in Sec-CH-UA, Chrome/{uv} in User-Agent"));
    }
    // The vendor's own brands. Chromium forks, WebViews and in-app browsers name themselves
    // otherwise ("Android WebView", "YaBrowser", "DuckDuckGo", "Brave") or not at all, so only
    // a brand of the family's own vendor is compared; Opera for Android sends two ("Opera" at
    // its desktop-equivalent version and "OperaMobile" at the `OPR/` version), one must agree.
    let own: &[&str] = match ua.family {
        Family::Chrome => &["Google Chrome"],
        Family::Edge => &["Microsoft Edge"],
        Family::Opera => &["Opera", "OperaMobile", "Opera GX"],
        _ => &[],
    };
    let major = ua.major?;
    let claimed: Vec<&(String, String)> = brands.iter().filter(|(b, _)| own.contains(&b.as_str())).collect();
    let agrees = |v: &str| v.split('.').next().and_then(|v| v.parse::<u32>().ok()) == Some(major);
    if let Some((brand, v)) = claimed.first()
        && !claimed.iter().any(|(_, v)| agrees(v))
    {
        return Some(format!("{brand} {v} in Sec-CH-UA, {} in User-Agent", ua.family_major()));
    }
    None
}
