//! Whether the two sides agree: the browser's time zone, languages, `userAgentData` and
//! round trip against the headers and the network location the edge saw.

use super::server::{brands_disagree, hints_required, webview_by_header};
use super::{Assessment, ClientSignals, EdgeRtt, ReasonCode};
use crate::request::facts::RequestFacts;
use crate::request::user_agent::{Family, Platform, UserAgent};

/// The cross-checks between client signals and what the edge saw.
pub(super) fn cross(
    facts: &RequestFacts,
    raw_ua: &str,
    ua: &UserAgent,
    s: &ClientSignals,
    a: &mut Assessment,
) {
    // On a hosting network the location the edge sees is the relay's (a VPN's exit, a proxy's),
    // not the person's: the checks against it would count `hosting_asn` again (a VPN user
    // exiting abroad charged for one fact twice), so they are skipped there, like the round trip.
    let hosting = facts.cf.asn.is_some_and(super::hosting_asn);
    // Time zone vs where the network is.
    if let (Some(client), Some(edge)) = (s.time_zone.as_deref(), facts.cf.timezone.as_deref())
        && !hosting
        && !client.eq_ignore_ascii_case(edge)
    {
        if continent(client) != continent(edge) {
            a.add(ReasonCode::TzMismatch, format!("browser {client}, network {edge}"));
        } else {
            a.add(ReasonCode::TzRegionDiffers, format!("browser {client}, network {edge}"));
        }
    }
    // Languages vs Accept-Language (the browser derives one from the other) and the country.
    if let Some(langs) = s.languages.as_ref().filter(|l| !l.is_empty()) {
        let first_js = langs.first().map(|l| base_lang(l)).unwrap_or_default();
        if let Some(header) = facts.headers.get("accept-language") {
            let first_header = header
                .split(',')
                .next()
                .map(|t| base_lang(t.split(';').next().unwrap_or("")))
                .unwrap_or_default();
            if !first_header.is_empty() && first_js != first_header {
                a.add(
                    ReasonCode::LangMismatch,
                    format!("navigator.languages {first_js}, Accept-Language {first_header}"),
                );
            }
        }
        if let Some(country) = facts.cf.country.as_deref().filter(|_| !hosting)
            && let Some(spoken) = country_languages(country)
        {
            let bases: Vec<String> = langs.iter().map(|l| base_lang(l)).collect();
            if !bases.iter().any(|b| b == "en" || spoken.contains(&b.as_str())) {
                a.add(ReasonCode::LangCountry, format!("{} in {country}", bases.join(",")));
            }
        }
    }
    // userAgentData vs the User-Agent header. One with no brands and no platform says nothing.
    let ua_data = s.ua_data.as_ref().filter(|u| !u.brands.is_empty() || !u.platform.trim().is_empty());
    match ua_data {
        // An app's own User-Agent (`mojeek-app`) in its Android WebView: nothing to compare.
        Some(_) if matches!(ua.family, Family::Other(_)) && webview_by_header(facts, ua) => {}
        Some(uad) => {
            if !ua.family.is_chromium() || ua.on_ios() {
                a.add(ReasonCode::UadMismatch, format!("userAgentData from {}", ua.family_major()));
            } else {
                let brands: Vec<(String, String)> = uad.brands.clone();
                if brands.iter().any(|(b, _)| b.eq_ignore_ascii_case("HeadlessChrome")) {
                    a.add(ReasonCode::UaHeadless, "HeadlessChrome brand in userAgentData");
                }
                let platform = Platform::from_client_hint(&uad.platform);
                if let Some(why) = brands_disagree(raw_ua, ua, &brands) {
                    a.add(ReasonCode::UadMismatch, why);
                } else if platform != Platform::Unknown
                    && ua.platform != Platform::Unknown
                    && platform != ua.platform
                {
                    a.add(
                        ReasonCode::UadMismatch,
                        format!("userAgentData {} vs UA {:?}", uad.platform, ua.platform),
                    );
                } else if uad.mobile != ua.hint_mobile() && ua.platform != Platform::Unknown {
                    a.add(
                        ReasonCode::UadMismatch,
                        format!("userAgentData mobile {} vs UA mobile {}", uad.mobile, ua.hint_mobile()),
                    );
                }
            }
        }
        None => {
            if hints_required(facts, ua) {
                a.add(
                    ReasonCode::UadMissing,
                    format!("{} without navigator.userAgentData", ua.family_major()),
                );
            }
        }
    }
    // JavaScript round trip vs the TCP round trip the edge measured: a relay hidden behind the
    // address. On a hosting network the relay is already known (`hosting_asn` names it), and
    // a VPN user's tunnel abroad would otherwise stack both onto one fact, to a refusal with
    // the time zone (docs/drill-tiers.md § What the drill found).
    // The round trip is the edge's own measure (the ping chain's stamp): a browser's report
    // would be whatever a forger recorded. Over HTTP/3 the edge has no TCP round trip to
    // compare with, and nothing is checked.
    let Some(tcp) = facts.cf.client_tcp_rtt.filter(|t| *t > 0) else { return };
    if hosting {
        return;
    }
    let (js, whose) = match &s.edge_rtt {
        EdgeRtt::Measured(ms) => (*ms, "edge-measured"),
        EdgeRtt::NotRead => match s.rtt {
            Some(ms) => (ms, "JS"),
            None => return,
        },
        EdgeRtt::Unmeasured(why) => {
            a.add(ReasonCode::RttUnmeasured, why.clone());
            return;
        }
    };
    if js > tcp.saturating_mul(3).saturating_add(150) {
        a.add(ReasonCode::RttGap, format!("{whose} round trip {js} ms, TCP {tcp} ms"));
    }
}

fn continent(tz: &str) -> &str {
    match tz.split('/').next().unwrap_or("") {
        "US" | "Canada" | "Mexico" | "Brazil" | "Chile" => "America",
        "Etc" | "UTC" | "GMT" | "Universal" | "Zulu" => "UTC",
        other => other,
    }
}

fn base_lang(tag: &str) -> String {
    tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase()
}

/// Languages widely spoken in a country (ISO 639-1), for the weak language/country check.
fn country_languages(country: &str) -> Option<&'static [&'static str]> {
    Some(match country.to_ascii_uppercase().as_str() {
        "CN" | "TW" | "HK" | "SG" => &["zh"],
        "JP" => &["ja"],
        "KR" => &["ko"],
        "DE" | "AT" => &["de"],
        "CH" => &["de", "fr", "it"],
        "FR" => &["fr"],
        "BE" => &["fr", "nl", "de"],
        "NL" => &["nl"],
        "ES" | "MX" | "AR" | "CO" | "CL" | "PE" => &["es", "ca", "eu", "gl"],
        "PT" | "BR" => &["pt"],
        "IT" => &["it"],
        "RU" | "BY" | "KZ" => &["ru"],
        "UA" => &["uk", "ru"],
        "PL" => &["pl"],
        "TR" => &["tr"],
        "SE" => &["sv"],
        "NO" => &["nb", "nn", "no"],
        "DK" => &["da"],
        "FI" => &["fi", "sv"],
        "CZ" => &["cs"],
        "GR" => &["el"],
        "IL" => &["he", "ar"],
        "VN" => &["vi"],
        "TH" => &["th"],
        "ID" => &["id"],
        _ => return None,
    })
}
