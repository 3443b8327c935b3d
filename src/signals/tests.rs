//! The checks as a whole: consistent browsers score zero, each inconsistency is named once,
//! in-app and regional browsers are judged as their engine.

use super::*;
use crate::request::facts::{CfFacts, Headers};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn chrome_nav() -> RequestFacts {
    RequestFacts {
        method: "POST".into(),
        path: "/signup".into(),
        query: None,
        scheme: "https".into(),
        host: "example.com".into(),
        headers: Headers::from_pairs([
            ("user-agent", CHROME),
            ("sec-ch-ua", "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", "\"Windows\""),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
            ("accept", "text/html,application/xhtml+xml"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("accept-language", "de-DE,de;q=0.9,en;q=0.8"),
        ]),
        client_ip: None,
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

fn chrome_signals() -> ClientSignals {
    ClientSignals {
        v: 1,
        webdriver: Some(false),
        software_renderer: Some(false),
        outer: Some((1280, 800)),
        screen: Some((1920, 1080)),
        time_zone: Some("Europe/Berlin".into()),
        languages: Some(vec!["de-DE".into(), "de".into(), "en".into()]),
        plugins: Some(5),
        ua_data: Some(UaData {
            brands: vec![("Google Chrome".into(), "131".into()), ("Chromium".into(), "131".into())],
            mobile: false,
            platform: "Windows".into(),
        }),
        cores: Some(8),
        rtt: Some(35),
        ..Default::default()
    }
}

fn present(s: ClientSignals) -> ClientSide {
    ClientSide::Present(Box::new(s))
}

#[test]
fn a_consistent_browser_scores_zero() {
    let a = assess(&chrome_nav(), &present(chrome_signals()));
    assert_eq!(a, Assessment::default(), "{:?}", a.reasons);
}

#[test]
fn each_inconsistency_is_named() {
    struct Case {
        name: &'static str,
        change: fn(&mut RequestFacts, &mut ClientSignals),
        want: ReasonCode,
    }
    let cases = [
        Case { name: "webdriver", change: |_, s| s.webdriver = Some(true), want: ReasonCode::Webdriver },
        Case {
            name: "playwright global",
            change: |_, s| s.automation = vec!["__playwright__binding__".into()],
            want: ReasonCode::AutomationGlobals,
        },
        Case {
            name: "swiftshader",
            change: |_, s| s.software_renderer = Some(true),
            want: ReasonCode::SoftwareRenderer,
        },
        Case { name: "0x0", change: |_, s| s.outer = Some((0, 0)), want: ReasonCode::ZeroWindow },
        Case {
            name: "no languages",
            change: |_, s| s.languages = Some(vec![]),
            want: ReasonCode::NoLanguages,
        },
        Case { name: "no plugins", change: |_, s| s.plugins = Some(0), want: ReasonCode::NoPlugins },
        Case {
            name: "tz other continent",
            change: |_, s| s.time_zone = Some("Asia/Tokyo".into()),
            want: ReasonCode::TzMismatch,
        },
        Case {
            name: "tz same continent",
            change: |_, s| s.time_zone = Some("Europe/Paris".into()),
            want: ReasonCode::TzRegionDiffers,
        },
        Case {
            name: "languages vs header",
            change: |_, s| s.languages = Some(vec!["en-US".into()]),
            want: ReasonCode::LangMismatch,
        },
        Case {
            name: "languages vs country",
            change: |f, s| {
                s.languages = Some(vec!["ja".into()]);
                f.headers = Headers::from_pairs(f.headers.0.iter().map(|(k, v)| {
                    (k.clone(), if k == "accept-language" { "ja".to_string() } else { v.clone() })
                }));
            },
            want: ReasonCode::LangCountry,
        },
        Case {
            name: "uad platform",
            change: |_, s| {
                if let Some(u) = s.ua_data.as_mut() {
                    u.platform = "macOS".into()
                }
            },
            want: ReasonCode::UadMismatch,
        },
        Case {
            name: "uad version",
            change: |_, s| {
                if let Some(u) = s.ua_data.as_mut() {
                    u.brands = vec![("Chromium".into(), "120".into())]
                }
            },
            want: ReasonCode::UadMismatch,
        },
        Case { name: "uad missing", change: |_, s| s.ua_data = None, want: ReasonCode::UadMissing },
        Case { name: "relay", change: |_, s| s.rtt = Some(400), want: ReasonCode::RttGap },
        Case {
            name: "header platform",
            change: |f, _| {
                f.headers.0.iter_mut().for_each(|(k, v)| {
                    if k == "sec-ch-ua-platform" {
                        *v = "\"macOS\"".into()
                    }
                })
            },
            want: ReasonCode::ChMismatch,
        },
        Case {
            name: "header mobile",
            change: |f, _| {
                f.headers.0.iter_mut().for_each(|(k, v)| {
                    if k == "sec-ch-ua-mobile" {
                        *v = "?1".into()
                    }
                })
            },
            want: ReasonCode::ChMismatch,
        },
        Case {
            name: "ch version",
            change: |f, _| {
                f.headers.0.iter_mut().for_each(|(k, v)| {
                    if k == "sec-ch-ua" {
                        *v = "\"Chromium\";v=\"99\"".into()
                    }
                })
            },
            want: ReasonCode::ChMismatch,
        },
        Case {
            name: "headless brand",
            change: |f, _| {
                f.headers.0.iter_mut().for_each(|(k, v)| {
                    if k == "sec-ch-ua" {
                        *v = "\"HeadlessChrome\";v=\"131\", \"Chromium\";v=\"131\"".into()
                    }
                })
            },
            want: ReasonCode::UaHeadless,
        },
        Case {
            name: "no accept-language",
            change: |f, _| f.headers.0.retain(|(k, _)| k != "accept-language"),
            want: ReasonCode::AcceptLanguageMissing,
        },
        Case {
            name: "no fetch metadata",
            change: |f, _| f.headers.0.retain(|(k, _)| !k.starts_with("sec-fetch")),
            want: ReasonCode::FetchMetadataMissing,
        },
        Case {
            name: "cross site",
            change: |f, _| {
                f.headers.0.iter_mut().for_each(|(k, v)| {
                    if k == "sec-fetch-site" {
                        *v = "cross-site".into()
                    }
                })
            },
            want: ReasonCode::FetchCrossSite,
        },
        Case {
            name: "odd dest",
            change: |f, _| {
                f.headers.0.iter_mut().for_each(|(k, v)| {
                    if k == "sec-fetch-dest" {
                        *v = "image".into()
                    }
                })
            },
            want: ReasonCode::FetchUnusual,
        },
        Case {
            name: "no client hints",
            change: |f, _| f.headers.0.retain(|(k, _)| !k.starts_with("sec-ch-ua")),
            want: ReasonCode::ChMissing,
        },
        Case { name: "hosting", change: |f, _| f.cf.asn = Some(16509), want: ReasonCode::HostingAsn },
        Case {
            name: "http/1.0",
            change: |f, _| f.cf.http_protocol = Some("HTTP/1.0".into()),
            want: ReasonCode::Http10,
        },
        Case {
            name: "old tls",
            change: |f, _| f.cf.tls_version = Some("TLSv1.1".into()),
            want: ReasonCode::TlsOld,
        },
        Case {
            name: "bot score",
            change: |f, _| {
                f.cf.bot = Some(crate::request::facts::BotFacts { score: Some(2), ..Default::default() })
            },
            want: ReasonCode::BotScoreLow,
        },
        Case {
            name: "verified bot",
            change: |f, _| {
                f.cf.bot =
                    Some(crate::request::facts::BotFacts { verified_bot: Some(true), ..Default::default() })
            },
            want: ReasonCode::VerifiedBot,
        },
    ];
    for c in cases {
        let mut f = chrome_nav();
        let mut s = chrome_signals();
        (c.change)(&mut f, &mut s);
        let a = assess(&f, &present(s));
        assert!(a.has(c.want), "{}: want {} in {:?}", c.name, c.want, a.codes());
        assert!(a.score > 0, "{}", c.name);
    }
}

/// A relay the edge already sees (a hosting network: a VPN, a datacentre proxy) is priced once,
/// as `hosting_asn`, not again as a round-trip gap: a VPN user whose tunnel goes abroad is
/// charged more, never refused for one fact counted twice.
#[test]
fn a_round_trip_gap_on_a_hosting_network_is_not_counted_twice() {
    let mut f = chrome_nav();
    let mut s = chrome_signals();
    s.rtt = Some(400);
    assert!(assess(&f, &present(s.clone())).has(ReasonCode::RttGap));
    f.cf.asn = Some(16509);
    let a = assess(&f, &present(s.clone()));
    assert!(a.has(ReasonCode::HostingAsn) && !a.has(ReasonCode::RttGap), "{:?}", a.codes());
    // a VPN user abroad: hosting, another continent's time zone, the gap: more work, not refused
    s.time_zone = Some("Asia/Tokyo".into());
    let a = assess(&f, &present(s));
    assert!(a.score < RiskPolicy::default().deny_at, "{:?} = {}", a.codes(), a.score);
}

/// On a hosting network the edge's location is the relay's: a VPN user's time zone or
/// languages against it say nothing `hosting_asn` has not said, so alone they stay below
/// `more_work_at` wherever the exit is; off a hosting network the same mismatches are named.
#[test]
fn location_checks_do_not_count_a_hosting_networks_exit_again() {
    let zones =
        ["Europe/Berlin", "Europe/Paris", "Asia/Tokyo", "America/New_York", "UTC", "Australia/Sydney"];
    let exits = [
        ("DE", "Europe/Berlin"),
        ("NL", "Europe/Amsterdam"),
        ("US", "America/Chicago"),
        ("SG", "Asia/Singapore"),
    ];
    let languages = [vec!["de-DE", "de"], vec!["ja"], vec!["en-US", "en"], vec!["zh-CN", "zh"]];
    let location = [ReasonCode::TzMismatch, ReasonCode::TzRegionDiffers, ReasonCode::LangCountry];
    for zone in zones {
        for (country, exit_zone) in exits {
            for langs in &languages {
                let mut f = chrome_nav();
                f.cf.country = Some(country.into());
                f.cf.timezone = Some(exit_zone.into());
                let header = langs.join(",");
                f.headers = Headers::from_pairs(f.headers.0.iter().map(|(k, v)| {
                    (k.clone(), if k == "accept-language" { header.clone() } else { v.clone() })
                }));
                let s = ClientSignals {
                    time_zone: Some(zone.into()),
                    languages: Some(langs.iter().map(|l| (*l).to_string()).collect()),
                    ..chrome_signals()
                };
                let home = assess(&f, &present(s.clone()));
                f.cf.asn = Some(16509);
                let vpn = assess(&f, &present(s));
                let case = format!("{zone} via {country} {langs:?}");
                assert!(location.iter().all(|c| !vpn.has(*c)), "{case}: {:?}", vpn.codes());
                assert!(vpn.has(ReasonCode::HostingAsn), "{case}");
                assert!(
                    vpn.score < RiskPolicy::default().more_work_at,
                    "{case}: {:?} = {}",
                    vpn.codes(),
                    vpn.score
                );
                // the same person at home: each location mismatch is still named
                let moved = zone != exit_zone;
                assert_eq!(location[..2].iter().any(|c| home.has(*c)), moved, "{case}: {:?}", home.codes());
            }
        }
    }
}

/// The round trip read is the edge's own (the stamp), never the one the browser reports:
/// a short report does not hide a long measure, and signals without a measure cost as much as
/// a gap; nothing is compared over HTTP/3 (no TCP round trip) or on a hosting network.
#[test]
fn the_round_trip_checked_is_the_edges_own_measure() {
    let f = chrome_nav();
    for (reported, edge, want_gap, want_unmeasured) in [
        (Some(35), EdgeRtt::Measured(400), true, false),
        (Some(400), EdgeRtt::Measured(40), false, false),
        (Some(35), EdgeRtt::Unmeasured("no stamp".into()), false, true),
        (None, EdgeRtt::Unmeasured("no stamp".into()), false, true),
        (Some(400), EdgeRtt::NotRead, true, false),
    ] {
        let s = ClientSignals { rtt: reported, edge_rtt: edge.clone(), ..chrome_signals() };
        let a = assess(&f, &present(s.clone()));
        assert_eq!(a.has(ReasonCode::RttGap), want_gap, "{reported:?} {edge:?}: {:?}", a.codes());
        assert_eq!(a.has(ReasonCode::RttUnmeasured), want_unmeasured, "{reported:?} {edge:?}");
        let mut quic = f.clone();
        quic.cf.client_tcp_rtt = Some(0);
        let a = assess(&quic, &present(s.clone()));
        assert!(!a.has(ReasonCode::RttGap) && !a.has(ReasonCode::RttUnmeasured), "{:?}", a.codes());
        let mut hosting = f.clone();
        hosting.cf.asn = Some(16509);
        let a = assess(&hosting, &present(s));
        assert!(!a.has(ReasonCode::RttGap) && !a.has(ReasonCode::RttUnmeasured), "{:?}", a.codes());
    }
}

#[test]
fn tools_and_headless_are_named_browsers_checks_skip_api_clients() {
    let cases = [
        ("curl/8.5.0", ReasonCode::UaAutomation),
        ("python-requests/2.32.3", ReasonCode::UaAutomation),
        ("Go-http-client/2.0", ReasonCode::UaAutomation),
        ("node", ReasonCode::UaAutomation),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            ReasonCode::UaHeadless,
        ),
        (
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            ReasonCode::UaHeadless,
        ),
        ("Mozilla/5.0", ReasonCode::UaMalformed),
        ("", ReasonCode::UaMissing),
        ("MyApp/3.2 (iOS 17.1)", ReasonCode::UaNotBrowser),
    ];
    for (ua, want) in cases {
        let f = RequestFacts {
            method: "POST".into(),
            headers: Headers::from_pairs([("user-agent", ua)]),
            ..Default::default()
        };
        let a = assess(&f, &ClientSide::Absent);
        assert!(a.has(want), "{ua}: {:?}", a.codes());
    }
    // an app's API client is not judged by browser rules
    let app = RequestFacts {
        method: "POST".into(),
        headers: Headers::from_pairs([("user-agent", "MyApp/3.2")]),
        ..Default::default()
    };
    assert_eq!(assess(&app, &ClientSide::Absent).score, weight::UA_NOT_BROWSER);
}

#[test]
fn firefox_and_safari_have_no_client_hints() {
    let mut f = chrome_nav();
    f.headers = Headers::from_pairs([
        ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
        ("accept", "text/html"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "de,en-US;q=0.7,en;q=0.3"),
    ]);
    let mut s = chrome_signals();
    s.ua_data = None;
    assert_eq!(assess(&f, &present(s.clone())).score, 0);
    f.headers.0.push(("sec-ch-ua".into(), "\"Chromium\";v=\"131\"".into()));
    assert!(assess(&f, &present(s.clone())).has(ReasonCode::ChUnexpected));
    s.ua_data = chrome_signals().ua_data;
    assert!(assess(&f, &present(s)).has(ReasonCode::UadMismatch));
}

/// A request as a browser of this User-Agent sends it: a form post with every header, and
/// the client hints given (none for WebKit and rewritten WebView headers).
fn browser_post(ua: &str, hints: &[(&str, &str)]) -> RequestFacts {
    let mut f = chrome_nav();
    f.headers.0.retain(|(k, _)| !k.starts_with("sec-ch-ua") && k != "user-agent");
    f.headers.0.push(("user-agent".into(), ua.into()));
    f.headers.0.extend(hints.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f
}

fn signals_with(ua_data: Option<UaData>, plugins: u32) -> ClientSide {
    present(ClientSignals { ua_data, plugins: Some(plugins), ..chrome_signals() })
}

#[test]
fn in_app_and_regional_browsers_score_zero() {
    let ios_wechat = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.59(0x18003b26) NetType/4G Language/zh_CN";
    let ios_line = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1";
    let android_ig = "Mozilla/5.0 (Linux; Android 14; SM-S921N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 324.0.0.27.50 Android (34/14; 420dpi; 1080x2127; samsung; SM-S921N; e1s; s5e9945; ko_KR; 581020724)";
    let webview = "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36";
    let webview_tablet = "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Safari/537.36";
    let uc = "Mozilla/5.0 (Linux; U; Android 16; en-US; NLA-NX1 Build/HONORNLA-N31N) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.80 UCBrowser/15.1.9.1395 Mobile Safari/537.36";
    let qq_no_chrome = "Mozilla/5.0 (Linux; U; Android 11; zh-cn; NX659J Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0   MQQBrowser/9.6 Mobile Safari/537.36";
    let opera_mobile = "Mozilla/5.0 (Linux; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36 OPR/67.1.3508.63168";
    let webview_brands = "\"Android WebView\";v=\"125\", \"Chromium\";v=\"125\", \"Not.A/Brand\";v=\"24\"";
    let uad = |brands: &[(&str, &str)], mobile: bool| {
        Some(UaData {
            brands: brands.iter().map(|(b, v)| (b.to_string(), v.to_string())).collect(),
            mobile,
            platform: "Android".into(),
        })
    };
    let wv_uad = uad(&[("Android WebView", "125"), ("Chromium", "125")], true);
    let android = ("sec-ch-ua-platform", "\"Android\"");
    let cases: Vec<(&str, RequestFacts, ClientSide)> = vec![
        ("WeChat iOS", browser_post(ios_wechat, &[]), signals_with(None, 5)),
        ("LINE iOS", browser_post(ios_line, &[]), signals_with(None, 5)),
        (
            "Facebook iOS with empty Sec-CH-UA headers",
            browser_post(ios_wechat, &[("sec-ch-ua", ""), ("sec-ch-ua-mobile", "")]),
            signals_with(None, 5),
        ),
        ("Instagram Android, rewritten UA: no hints", browser_post(android_ig, &[]), signals_with(None, 0)),
        (
            "Instagram Android, an unpopulated userAgentData",
            browser_post(android_ig, &[]),
            signals_with(Some(UaData::default()), 0),
        ),
        (
            "default WebView with its brand",
            browser_post(webview, &[("sec-ch-ua", webview_brands), ("sec-ch-ua-mobile", "?1"), android]),
            signals_with(wv_uad.clone(), 0),
        ),
        (
            "WebView on a tablet (?0, no Mobile token)",
            browser_post(
                webview_tablet,
                &[("sec-ch-ua", webview_brands), ("sec-ch-ua-mobile", "?0"), android],
            ),
            signals_with(uad(&[("Android WebView", "125"), ("Chromium", "125")], false), 0),
        ),
        ("UC Browser without hints", browser_post(uc, &[]), signals_with(None, 0)),
        ("QQ Browser without Chrome/", browser_post(qq_no_chrome, &[]), signals_with(None, 0)),
        (
            "Opera Mobile: Opera 82 and OperaMobile 67",
            browser_post(
                opera_mobile,
                &[
                    ("sec-ch-ua", "\"Chromium\";v=\"96\", \"Opera\";v=\"82\", \"OperaMobile\";v=\"67\""),
                    ("sec-ch-ua-mobile", "?1"),
                    android,
                ],
            ),
            signals_with(uad(&[("Chromium", "96"), ("Opera", "82"), ("OperaMobile", "67")], true), 0),
        ),
    ];
    for (name, f, client) in cases {
        let a = assess(&f, &client);
        assert_eq!(a.score, 0, "{name}: {:?}", a.reasons);
    }
}

#[test]
fn x_requested_with_marks_a_webview_whose_app_replaced_the_user_agent() {
    // Telegram's in-app browser: a Chrome-like header, no `; wv)`, no hints.
    let ua = "Mozilla/5.0 (Linux; Android 11; Pixel 3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Mobile Safari/537.36";
    let app = browser_post(ua, &[("x-requested-with", "org.telegram.messenger")]);
    assert_eq!(assess(&app, &signals_with(None, 0)).score, 0);
    // Without it, or with a script library's value, Chrome's hints are owed.
    for f in [browser_post(ua, &[]), browser_post(ua, &[("x-requested-with", "XMLHttpRequest")])] {
        let a = assess(&f, &signals_with(None, 0));
        assert!(a.has(ReasonCode::ChMissing) && a.has(ReasonCode::UadMissing), "{:?}", a.codes());
    }
    // On a desktop header it excuses nothing.
    let desktop = browser_post(CHROME, &[("x-requested-with", "org.telegram.messenger")]);
    assert!(assess_server(&desktop).has(ReasonCode::ChMissing));
}

#[test]
fn fakes_of_in_app_browsers_are_still_caught() {
    let py = |ua: &str| RequestFacts {
        method: "POST".into(),
        scheme: "https".into(),
        headers: Headers::from_pairs([
            ("user-agent", ua),
            ("accept-encoding", "gzip, deflate"),
            ("accept", "*/*"),
            ("connection", "keep-alive"),
        ]),
        cf: CfFacts { http_protocol: Some("HTTP/1.1".into()), ..Default::default() },
        ..Default::default()
    };
    let more_work = RiskPolicy::default().more_work_at;
    // A WeChat token on a desktop Linux header with no engine: malformed, and held to the
    // headers every browser sends.
    let a = assess_server(&py(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) MicroMessenger/8.0.47",
    ));
    assert!(a.has(ReasonCode::UaMalformed) && a.has(ReasonCode::AcceptLanguageMissing), "{:?}", a.codes());
    assert!(a.score >= more_work, "{:?}", a.reasons);
    // The same token on desktop Chrome does not excuse Chrome's client hints.
    let a = assess_server(&py(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 MicroMessenger/8.0.47",
    ));
    assert!(a.has(ReasonCode::ChMissing) && a.has(ReasonCode::FetchMetadataMissing), "{:?}", a.codes());
    // The WeChat iOS header from a script: no fetch metadata or Accept-Language.
    let a = assess_server(&py(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.59(0x18003b26) NetType/4G Language/zh_CN",
    ));
    assert!(a.score >= more_work, "{:?}", a.reasons);
    // userAgentData from an iOS WebView (which has none) contradicts it.
    let f = browser_post(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1",
        &[],
    );
    assert!(assess(&f, &present(chrome_signals())).has(ReasonCode::UadMismatch));
    // Client hints on an iOS WebView are unexpected.
    let f = browser_post(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1",
        &[("sec-ch-ua", "\"Chromium\";v=\"131\"")],
    );
    assert!(assess_server(&f).has(ReasonCode::ChUnexpected));
    // A WebView's hints that contradict its header still count.
    let f = browser_post(
        "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36",
        &[("sec-ch-ua", "\"HeadlessChrome\";v=\"131\", \"Chromium\";v=\"131\""), ("sec-ch-ua-mobile", "?0")],
    );
    let a = assess_server(&f);
    assert!(a.has(ReasonCode::UaHeadless) && a.has(ReasonCode::ChMismatch), "{:?}", a.codes());
    // Opera's own brands must agree with OPR/ in one of them.
    let f = browser_post(
        "Mozilla/5.0 (Linux; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36 OPR/67.1.3508.63168",
        &[
            ("sec-ch-ua", "\"Chromium\";v=\"96\", \"Opera\";v=\"82\", \"OperaMobile\";v=\"70\""),
            ("sec-ch-ua-mobile", "?1"),
        ],
    );
    assert!(assess_server(&f).has(ReasonCode::ChMismatch));
}

#[test]
fn a_reason_counts_once() {
    let mut f = chrome_nav();
    f.headers.0.iter_mut().for_each(|(k, v)| match k.as_str() {
        "sec-ch-ua" => *v = "\"Chromium\";v=\"120\"".into(),
        "sec-ch-ua-platform" => *v = "\"macOS\"".into(),
        _ => {}
    });
    let a = assess_server(&f);
    assert_eq!(a.codes(), vec!["ch_mismatch"]);
    assert_eq!(a.score, weight::CH_MISMATCH);
    assert!(a.reasons[0].detail.contains("; "), "both findings are in the detail");
}

#[test]
fn signals_parse_defensively() {
    assert_eq!(ClientSide::parse(b""), ClientSide::Absent);
    assert!(matches!(ClientSide::parse(b"{not json"), ClientSide::Malformed(_)));
    assert!(matches!(ClientSide::parse(&vec![b' '; MAX_SIGNALS_LEN + 1]), ClientSide::Malformed(_)));
    let many = format!("{{\"languages\":[{}]}}", vec!["\"en\""; 40].join(","));
    assert!(matches!(ClientSide::parse(many.as_bytes()), ClientSide::Malformed(_)));
    let json = serde_json::to_vec(&chrome_signals()).unwrap();
    assert_eq!(ClientSide::parse(&json), present(chrome_signals()));
    // unknown fields are ignored (older gates, newer widgets)
    assert!(matches!(ClientSide::parse(br#"{"v":1,"future":true}"#), ClientSide::Present(_)));
}
