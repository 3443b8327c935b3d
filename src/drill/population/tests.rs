use super::*;
use crate::drill::scenario;
use crate::signals::{Assessment, ClientSide, ReasonCode, assess};

/// Every kind of network, people in every country the drill knows, and one fleet per tier.
fn world(people_extra: &str, fleets: &str) -> Scenario {
    let countries: Vec<String> = COUNTRIES.iter().map(|c| format!("{} = 1.0", c.code)).collect();
    let text = format!(
        r#"
version = 1
name = "t"
duration_secs = 60
[origin]
signup_capacity_per_min = 10
[[networks]]
name = "home"
kind = "residential"
asns = 50
[[networks]]
name = "mobile"
kind = "mobile"
asns = 10
[[networks]]
name = "cgnat"
kind = "carrier_cgnat"
asns = 2
prefixes = 2
countries = {{ CN = 1.0 }}
[[networks]]
name = "campus"
kind = "university"
asns = 1
[[networks]]
name = "vpn"
kind = "hosting"
asn_list = [9009, 60068]
[[people]]
name = "p"
rate = [[0, 1.0], [60, 1.0]]
networks = {{ home = 1.0, mobile = 1.0, cgnat = 1.0, campus = 1.0 }}
countries = {{ {} }}
devices = {{ desktop = 1.0, phone = 1.0, old_phone = 0.2, no_simd = 0.2, js_fallback = 0.2 }}
{people_extra}
{fleets}
"#,
        countries.join(", ")
    );
    scenario::load(&text).unwrap()
}

/// The checks on a client's challenge request and post, with the round trip the gate's ping
/// chain measures over its path (what the engine's stamp carries).
fn judged(c: &Client) -> (Assessment, Assessment) {
    let side = match ClientSide::parse(&c.signals) {
        ClientSide::Present(mut s) => {
            s.edge_rtt = crate::signals::EdgeRtt::Measured(c.round_trip_ms);
            ClientSide::Present(s)
        }
        other => other,
    };
    (assess(&c.fetch, &side), assess(&c.submit, &side))
}

#[test]
fn the_corpus_gives_every_tier_its_headers() {
    assert!(real_browsers().count() >= 40);
    for r in Realism::ALL {
        assert!(!attacker_profiles(r, &[], None).is_empty(), "{r:?}");
    }
    // a phone farm draws phones when asked
    let phones = attacker_profiles(Realism::PhoneFarm, &[], Some(true));
    assert!(phones.iter().all(|i| profiles()[*i].mobile));
}

#[test]
fn people_as_they_are_look_like_people_to_the_checks() {
    // every real browser on every network in every country: the challenge fetch and the form
    // post with its signals score below the extra-work threshold
    let s = world("", "");
    let f = Factory::new(&s, "example.com");
    let mut rng = Rng::new(3);
    for _ in 0..5_000 {
        let c = f.person(&mut rng, &s.people[0]);
        let (get, post) = judged(&c);
        let ua = c.submit.user_agent().unwrap_or("");
        assert!(get.score < 30, "fetch {ua} in {}: {:?}", c.segment.country, get.codes());
        assert!(post.score < 30, "post {ua} in {}: {:?}", c.segment.country, post.codes());
    }
}

#[test]
fn a_national_network_places_its_people_in_its_country() {
    let s = world("", "");
    let f = Factory::new(&s, "example.com");
    let mut rng = Rng::new(4);
    for _ in 0..2_000 {
        let c = f.person(&mut rng, &s.people[0]);
        if c.segment.kind == NetworkKind::CarrierCgnat {
            assert_eq!(c.segment.country, "CN");
            assert_eq!(c.submit.cf.country.as_deref(), Some("CN"));
        }
    }
}

#[test]
fn each_quirk_trips_its_check_and_none_is_refused() {
    let cases = [
        ("privacy", ReasonCode::TzMismatch),
        ("vpn", ReasonCode::HostingAsn),
        ("intercepted", ReasonCode::TlsHelloShort),
        ("old_device", ReasonCode::SoftwareRenderer),
    ];
    for (quirk, code) in cases {
        let s = world(&format!("quirks = {{ {quirk} = 1.0 }}\nvpn_networks = {{ vpn = 1.0 }}"), "");
        let f = Factory::new(&s, "example.com");
        let mut rng = Rng::new(5);
        let mut tripped = 0;
        for _ in 0..1_000 {
            let c = f.person(&mut rng, &s.people[0]);
            assert_eq!(c.segment.quirk.map(Quirk::name), Some(quirk));
            let (_, post) = judged(&c);
            assert!(post.score < 80, "{quirk}: {:?} = {}", post.codes(), post.score);
            tripped += usize::from(post.has(code));
        }
        // the intercepting middlebox shows only under a desktop Chrome or Edge
        let least = if quirk == "intercepted" { 50 } else { 900 };
        assert!(tripped >= least, "{quirk}: {code} in {tripped} of 1000");
    }
}

#[test]
fn people_without_javascript_send_no_signals() {
    let s = world("no_js = 1.0", "");
    let f = Factory::new(&s, "example.com");
    let mut rng = Rng::new(6);
    let c = f.person(&mut rng, &s.people[0]);
    assert!(c.segment.no_js && c.signals.is_empty());
}

fn fleet(realism: &str, extra: &str) -> String {
    format!(
        "[[attackers]]\nname = \"a\"\nrealism = \"{realism}\"\nrate = [[0, 1.0], [60, 1.0]]\n\
         budget = {{ cores = 4 }}\nnetworks = {{ home = 1.0 }}\n{extra}\n"
    )
}

fn attacker_client(realism: &str, extra: &str, seed: u64) -> Client {
    let s = world("", &fleet(realism, extra));
    let f = Factory::new(&s, "example.com");
    let mut rng = Rng::new(seed);
    let a = &s.attackers[0];
    let loc = f.location(&mut rng, &a.networks);
    f.attacker(&mut rng, a, loc, "US")
}

#[test]
fn each_tier_shows_what_it_is_at_the_edge() {
    for seed in 0..200 {
        // a full header set without signals: only signals_missing (and its library's TLS)
        let c = attacker_client("full_headers", "", seed);
        let (get, post) = judged(&c);
        assert!(
            post.has(ReasonCode::SignalsMissing) && post.has(ReasonCode::TlsHelloShort),
            "{:?}",
            post.codes()
        );
        assert!(!get.has(ReasonCode::SignalsMissing));
        // impersonating the browser's TLS: the short hello is gone
        let c = attacker_client("full_headers", "tls = \"impersonated\"", seed);
        assert!(!judged(&c).1.has(ReasonCode::TlsHelloShort));
        // forged signals on an impersonated TLS: nothing a browser would not show
        let c = attacker_client("forged_signals", "tls = \"impersonated\"", seed);
        let (get, post) = judged(&c);
        assert!(
            get.score < 30 && post.score < 30 && !post.has(ReasonCode::SignalsMissing),
            "{:?}",
            post.codes()
        );
        // a stealth browser: software WebGL
        let c = attacker_client("stealth", "", seed);
        assert!(judged(&c).1.has(ReasonCode::SoftwareRenderer));
        // behind a residential proxy with a long detour, the round trip the gate measures gives
        // it away, whatever a forger reports
        let c = attacker_client("stealth", "proxy = { extra_rtt_ms = [400, 600] }", seed);
        assert!(judged(&c).1.has(ReasonCode::RttGap), "{:?}", c.submit.cf.client_tcp_rtt);
        let c = attacker_client("forged_signals", "proxy = { extra_rtt_ms = [400, 600] }", seed);
        assert!(judged(&c).1.has(ReasonCode::RttGap), "{:?}", c.submit.cf.client_tcp_rtt);
        let reported = serde_json::from_slice::<crate::signals::ClientSignals>(&c.signals).unwrap().rtt;
        assert!(reported.is_some_and(|r| r <= 120), "the forger still reports a recorded round trip");
    }
}
