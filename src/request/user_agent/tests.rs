//! The reader's tables: families, versions, platforms, in-app and regional browsers.

use super::*;

#[test]
fn families_and_versions() {
    let cases: &[(&str, &str, bool)] = &[
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "chrome/131",
            false,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "chrome/131",
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "chrome/131",
            true,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "edge/131",
            false,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
            "opera/115",
            false,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "samsung/26",
            true,
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            "headlesschrome/131",
            false,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            "firefox/133",
            false,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
            "firefox/133",
            true,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "safari/18",
            false,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
            "safari/17",
            true,
        ),
        ("curl/8.5.0", "curl/8", false),
        ("python-requests/2.32.3", "python-requests/2", false),
        ("Go-http-client/1.1", "go-http-client/1", false),
        ("Wget/1.21.4", "wget/1", false),
        ("node", "node", false),
        ("Mozilla/5.0", "mozilla/5", false),
        ("", "-", false),
        ("   ", "-", false),
        ("/////", "unknown", false),
        ("Mozilla/5.0 Chrome/", "chrome", false),
    ];
    for (raw, want, mobile) in cases {
        let ua = UserAgent::parse(raw);
        assert_eq!(ua.family_major(), *want, "{raw}");
        assert_eq!(ua.mobile, *mobile, "{raw}");
    }
}

#[test]
fn chromium_and_browser_flags() {
    assert!(UserAgent::parse("Mozilla/5.0 (X11) Chrome/131.0 Safari/537.36").family.is_chromium());
    assert!(
        !UserAgent::parse("Mozilla/5.0 (X11; rv:133.0) Gecko/20100101 Firefox/133.0").family.is_chromium()
    );
    assert!(!UserAgent::parse("curl/8.5.0").family.is_browser());
}

#[test]
fn platforms_and_capabilities() {
    let cases: &[(&str, Platform, bool, bool)] = &[
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            Platform::Windows,
            true,
            true,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            Platform::MacOs,
            true,
            false,
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:78.0) Gecko/20100101 Firefox/78.0",
            Platform::Linux,
            false,
            false,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            Platform::Android,
            true,
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            Platform::Ios,
            true,
            false,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
            Platform::Ios,
            false,
            false,
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            Platform::ChromeOs,
            true,
            true,
        ),
        ("curl/8.5.0", Platform::Unknown, false, false),
    ];
    for (raw, platform, fetch_md, hints) in cases {
        let ua = UserAgent::parse(raw);
        assert_eq!(ua.platform, *platform, "{raw}");
        assert_eq!(ua.sends_fetch_metadata(), *fetch_md, "fetch metadata {raw}");
        assert_eq!(ua.sends_client_hints(), *hints, "client hints {raw}");
    }
    assert_eq!(UserAgent::parse(cases[4].0).ios_major, Some(17));
    assert_eq!(Platform::from_client_hint("\"macOS\""), Platform::MacOs);
    assert_eq!(Platform::from_client_hint("Chrome OS"), Platform::ChromeOs);
}

/// In-app and regional browsers, as their vendors or well-known UA references document
/// them (sources in tests/data/corpus.json): read as the engine they are.
pub(super) const IN_APP: &[(&str, &str, Option<&str>, bool)] = &[
    // iOS WKWebViews: Safari's engine, versioned like iOS, no `Version/`.
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.59(0x18003b26) NetType/4G Language/zh_CN",
        "safari/18",
        Some("wechat"),
        true,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 283.0.0.16.103 (iPhone15,3; iOS 16_5; ru_UZ; ru-UZ; scale=3.00; 1290x2796; 474411477)",
        "safari/16",
        Some("instagram"),
        true,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21G93 [FBAN/FBIOS;FBAV/479.1.0.33.109;FBBV/637241220;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.6.1;FBSS/3;FBID/phone;FBLC/es_ES;FBOP/5;FBRV/639094949;IABMV/1]",
        "safari/17",
        Some("facebook"),
        true,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 BytedanceWebview/d8a21c6 trill_34.9.0 JsSdk/2.0 NetType/4G Channel/App Store ByteLocale/en Region/MY",
        "safari/17",
        Some("tiktok"),
        true,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1",
        "safari/18",
        Some("line"),
        true,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "safari/17",
        None,
        true,
    ),
    // iOS browsers that keep Safari's `Version/`: Safari's version, not a WebView.
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 MQQBrowser/19.2.7 Mobile/15E148 Safari/604.1 QBWebViewUA/2 QBWebViewType/1 WKType/1",
        "safari/18",
        Some("qqbrowser"),
        false,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1 musical_ly_34.3.1 JsSdk/2.0 NetType/4G Channel/App Store ByteLocale/en Region/US isDarkMode/1 WKWebView/1 RevealType/Dialog",
        "safari/17",
        Some("tiktok"),
        false,
    ),
    // Android WebViews (`; wv)`, `Version/4.0`): Chromium, versioned by `Chrome/`.
    (
        "Mozilla/5.0 (Linux; Android 12; DCO-AL00 Build/HUAWEIDCO-AL00; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/134.0.6998.136 Mobile Safari/537.36 XWEB/1340075 MMWEBSDK/20250201 MMWEBID/7690 MicroMessenger/8.0.58.2841(0x28003A3C) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
        "chrome/134",
        Some("wechat"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S921N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 324.0.0.27.50 Android (34/14; 420dpi; 1080x2127; samsung; SM-S921N; e1s; s5e9945; ko_KR; 581020724)",
        "chrome/122",
        Some("instagram"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; SM-A105M Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/95.0.4638.50 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/357.0.0.23.115;]",
        "chrome/95",
        Some("facebook"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; moto g(7) Build/QP6_S30.52-23-13-4; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.128 Mobile Safari/537.36 musical_ly_2022704050 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/27.4.5",
        "chrome/108",
        Some("tiktok"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; SC-42A Build/RP1A.200720.012; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.128 Mobile Safari/537.36 Line/12.21.1/IAB",
        "chrome/108",
        Some("line"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36",
        "chrome/125",
        None,
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; CLT-AL01 Build/HUAWEICLT-AL01; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/76.0.3809.89 Mobile Safari/537.36 T7/12.24 BDOS/1.0 (HarmonyOS 2.2.0) SP-engine/2.36.0 baiduboxapp/12.25.0.10 (Baidu; P1 10) NABar/1.0",
        "chrome/76",
        Some("baidu"),
        true,
    ),
    // Regional browsers on Chromium.
    (
        "Mozilla/5.0 (Linux; U; Android 16; en-US; NLA-NX1 Build/HONORNLA-N31N) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.80 UCBrowser/15.1.9.1395 Mobile Safari/537.36",
        "chrome/123",
        Some("ucbrowser"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 12; zh-cn; DCO-AL00 Build/HUAWEIDCO-AL00) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.71 MQQBrowser/16.3 Mobile Safari/537.36 COVC/047707",
        "chrome/121",
        Some("qqbrowser"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 11; zh-cn; NX659J Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0   MQQBrowser/9.6 Mobile Safari/537.36",
        "chrome",
        Some("qqbrowser"),
        true,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 QQBrowser/19.4.5.209",
        "chrome/123",
        Some("qqbrowser"),
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; HarmonyOS; DCO-AL00; HMSCore 6.15.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.196 HuaweiBrowser/16.0.4.301 Mobile Safari/537.36",
        "chrome/114",
        Some("huawei"),
        false,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 14; zh-cn; 24094RAD4C Build/UP1A.231005.007) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.119 Mobile Safari/537.36 XiaoMi/MiuiBrowser/18.7.921118",
        "chrome/122",
        Some("miui"),
        false,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 16; zh-CN; iPA2575 Build/BP2A.250605.031.A3_V000L1) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/144.0.7559.86 Quark/10.12.3.1098 Mobile Safari/537.36",
        "chrome/144",
        Some("quark"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; arm_64; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.174 YaApp_Android/22.14.1 YaSearchBrowser/22.14.1 BroPP/1.0 SA/3 Mobile Safari/537.36",
        "chrome/96",
        Some("yandex"),
        false,
    ),
    (
        "Mozilla/5.0 (Wayland; Linux x86_64; System76) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.133 Safari/537.36 Ubuntu/22.04 (5.2.2623.34-1) Vivaldi/5.2.2623.39",
        "chrome/100",
        Some("vivaldi"),
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0.4758.104 Whale/3.13.131.36 Safari/537.36",
        "chrome/98",
        Some("whale"),
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/128.0.0.0 Mobile DuckDuckGo/5 Safari/537.36",
        "chrome/128",
        Some("duckduckgo"),
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.1 Chrome/130.0.0.0 Mobile Safari/537.36",
        "samsung/28",
        None,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36 OPR/67.1.3508.63168",
        "opera/67",
        None,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 11; 2201116SG Build/RKQ1.211001.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/94.0.4606.85 Mobile Safari/537.36 OPR/63.0.2254.61370",
        "opera/63",
        None,
        true,
    ),
    (
        "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
        "opera/12",
        Some("operamini"),
        false,
    ),
];

#[test]
fn in_app_and_regional_browsers_are_their_engine() {
    for (raw, want, app, webview) in IN_APP {
        let ua = UserAgent::parse(raw);
        assert_eq!(ua.family_major(), *want, "{raw}");
        assert_eq!(ua.app, *app, "app of {raw}");
        assert_eq!(ua.webview, *webview, "webview of {raw}");
        assert!(ua.family.is_browser(), "{raw}");
        assert!(ua.mobile || !raw.contains("Android"), "{raw}");
        if ua.on_ios() {
            assert!(
                !ua.may_send_client_hints() && !ua.sends_client_hints(),
                "iOS has no client hints: {raw}"
            );
            assert_eq!(ua.family, Family::Safari, "every iOS WebView is WebKit: {raw}");
        }
        if ua.platform == Platform::Android && ua.family.is_chromium() {
            assert!(ua.may_send_client_hints(), "a Chromium on Android may send hints: {raw}");
            // Only the vendor's own browsers must: WebViews and apps that rewrite the
            // header may not.
            if ua.webview || ua.app.is_some() {
                assert!(!ua.sends_client_hints(), "hints optional for {raw}");
            }
        }
    }
}

#[test]
fn hints_stay_required_where_the_vendor_sends_them() {
    // Plain Chrome, and a desktop User-Agent that carries an app token (apps run as
    // WebViews on phones; a desktop "WeChat" built on Chrome 131 would send its hints).
    for raw in [
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 MicroMessenger/8.0.47",
    ] {
        assert!(UserAgent::parse(raw).sends_client_hints(), "{raw}");
    }
    // A desktop WeChat token without an engine stays unread: not a browser family.
    let fake = UserAgent::parse(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) MicroMessenger/8.0.47",
    );
    assert_eq!(fake.family, Family::Other("mozilla".into()));
    assert_eq!(fake.app, Some("wechat"));
}

#[test]
fn the_mobile_hint_follows_the_mobile_token_on_android() {
    let phone = UserAgent::parse(
        "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36",
    );
    let tablet = UserAgent::parse(
        "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Safari/537.36",
    );
    assert!(phone.hint_mobile() && phone.mobile);
    assert!(!tablet.hint_mobile() && tablet.mobile, "a tablet: mobile device, ?0 hint");
    let desktop = UserAgent::parse(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    );
    assert!(!desktop.hint_mobile());
}

#[test]
fn family_names_stay_short_and_stable() {
    // The names feed the client binding and the `ua_family` cohort: in-app browsers share
    // their engine's, so no per-app key appears.
    let mut names: Vec<&str> =
        IN_APP.iter().map(|(_, want, _, _)| want.split('/').next().unwrap_or("")).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names, ["chrome", "opera", "safari", "samsung"]);
    for (raw, ..) in IN_APP {
        let ua = UserAgent::parse(raw);
        assert!(ua.family.name().len() <= 16 && ua.family.name().bytes().all(|b| b.is_ascii_lowercase()));
    }
}

#[test]
fn hostile_input_does_not_panic() {
    for raw in [
        "Mozilla/5.0 Edg/",
        "Mozilla/5.0 Version/99999999999999999999 Safari/1",
        "\u{0}\u{ffff}/é",
        "Mozilla/5.0 Firefox/ä",
    ] {
        let _ = UserAgent::parse(raw).family_major();
    }
}

#[test]
fn the_memo_answers_each_header_for_itself() {
    let chrome = "Mozilla/5.0 (X11) Chrome/131.0 Safari/537.36";
    let curl = "curl/8.5.0";
    for _ in 0..3 {
        assert_eq!(UserAgent::parse(chrome), UserAgent::parse_fresh(chrome));
        assert_eq!(UserAgent::parse(curl), UserAgent::parse_fresh(curl));
        assert_eq!(UserAgent::parse(curl), UserAgent::parse_fresh(curl));
    }
    assert!(UserAgent::parse(chrome).family.is_chromium());
    assert!(!UserAgent::parse(curl).family.is_browser());
}
