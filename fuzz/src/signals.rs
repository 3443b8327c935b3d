//! The widget's client signals (`signals::ClientSide::parse`) and the checks that read them.

use gate::request::facts::{CfFacts, Headers, RequestFacts};
use gate::signals::{self, Assessment, ClientSide, MAX_SIGNALS_LEN};
use std::collections::HashSet;

/// Browsers the signals are judged against: each family takes other branches of the checks.
const BROWSERS: &[&[(&str, &str)]] = &[
    &[
        (
            "user-agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        ),
        ("sec-ch-ua", "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
        ("sec-ch-ua-mobile", "?0"),
        ("sec-ch-ua-platform", "\"Windows\""),
        ("accept-language", "de-DE,de;q=0.9,en;q=0.8"),
    ],
    &[
        (
            "user-agent",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        ),
        ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Google Chrome\";v=\"131\""),
        ("sec-ch-ua-mobile", "?1"),
        ("sec-ch-ua-platform", "\"Android\""),
    ],
    &[(
        "user-agent",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    )],
    &[("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")],
];

/// A sign-up POST with these headers, from a German network.
pub(crate) fn facts(headers: Headers) -> RequestFacts {
    RequestFacts {
        method: "POST".into(),
        path: "/signup".into(),
        scheme: "https".into(),
        host: "example.com".into(),
        headers,
        client_ip: Some("192.0.2.7".into()),
        cf: CfFacts {
            asn: Some(3320),
            country: Some("DE".into()),
            timezone: Some("Europe/Berlin".into()),
            http_protocol: Some("HTTP/2".into()),
            tls_version: Some("TLSv1.3".into()),
            client_tcp_rtt: Some(20),
            ..CfFacts::default()
        },
        ..RequestFacts::default()
    }
}

/// What an assessment promises: each reason code once, the score their (saturating) sum.
pub(crate) fn assert_assessment(a: &Assessment) {
    let codes: HashSet<_> = a.reasons.iter().map(|r| r.code).collect();
    assert_eq!(codes.len(), a.reasons.len(), "a reason code counted twice: {:?}", a.codes());
    let sum = a.reasons.iter().fold(0u32, |s, r| s.saturating_add(r.weight));
    assert_eq!(a.score, sum, "score is not the sum of the weights");
}

/// Signal bytes as the widget sends them: read, judged against several browsers, and (when
/// present) written back by the gate's own serializer, as the drill writes them, reading back
/// the same.
pub fn signals(data: &[u8]) {
    let side = ClientSide::parse(data);
    match &side {
        ClientSide::Absent => assert!(data.is_empty(), "non-empty signals read as absent"),
        ClientSide::Malformed(why) => assert!(!why.is_empty(), "malformed without a reason"),
        ClientSide::Present(s) => {
            assert!(data.len() <= MAX_SIGNALS_LEN, "oversized signals read");
            let ours = serde_json::to_vec(s).unwrap_or_default();
            if ours.len() <= MAX_SIGNALS_LEN {
                assert_eq!(ClientSide::parse(&ours), side, "signals do not read back as written");
            }
        }
    }
    for browser in BROWSERS {
        let a = signals::assess(&facts(Headers::from_pairs(browser.iter().copied())), &side);
        assert_assessment(&a);
    }
}
