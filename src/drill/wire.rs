//! What the wire shows of a client, beyond its headers: the round trips `cf.clientTcpRtt`
//! and the widget's JavaScript measure, and the length of the TLS ClientHello Cloudflare
//! reports (`cf.tlsClientHelloLength`). Each model states its source in docs/drill-tiers.md;
//! ranges are assumptions where no measurement was published.

use crate::drill::rng::Rng;
use crate::drill::scenario::NetworkKind;
use crate::request::user_agent::UserAgent;

/// The TCP round trip from a network of this kind to the edge, around the scenario's median
/// `rtt_ms`: mobile and CGNAT paths are slower, data centres sit next to the edge.
pub fn tcp_rtt(rng: &mut Rng, kind: NetworkKind, median_ms: u32) -> u32 {
    let factor = match kind {
        NetworkKind::Residential => 1.0,
        NetworkKind::Mobile | NetworkKind::CarrierCgnat => 1.5,
        NetworkKind::University => 0.6,
        NetworkKind::Hosting => 0.3,
    };
    let jitter = 0.6 + 0.8 * rng.f64();
    ((f64::from(median_ms) * factor * jitter).round() as u32).max(1)
}

/// What the widget's best-of-three `fetch('ping')` measures over the same path: the network
/// round trip plus a few ms of HTTP and timer overhead, plus whatever sits between the browser
/// and the address the edge sees (a VPN's or a proxy's detour).
pub fn js_rtt(rng: &mut Rng, tcp_ms: u32, detour_ms: u32) -> u32 {
    let overhead = 5 + rng.below(36) as u32;
    tcp_ms.saturating_add(detour_ms).saturating_add(overhead)
}

/// A detour drawn from a range, ms.
pub fn detour(rng: &mut Rng, range: (u32, u32)) -> u32 {
    let (lo, hi) = range;
    lo + rng.below(u64::from(hi.saturating_sub(lo)) + 1) as u32
}

/// Whose TLS stack opens the connection the edge sees.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stack {
    /// The browser the User-Agent names (or a perfect impersonation of it).
    Browser,
    /// Something else: a script's HTTP library without a post-quantum key share, or a
    /// TLS-intercepting middlebox (antivirus, corporate proxy).
    Other,
}

/// Whether this browser's own TLS sends the 1,216-byte X25519MLKEM768 key share (Chromium
/// 124 and later outside iOS: Kyber768 by default from Chrome 124, ML-KEM from 131). iOS
/// browsers use Apple's TLS, which added it only in iOS 26.
pub fn sends_post_quantum(raw_ua: &str) -> bool {
    let ua = UserAgent::parse(raw_ua);
    ua.family.is_chromium() && !ua.on_ios() && UserAgent::chromium_major(raw_ua).is_some_and(|m| m >= 124)
}

/// The ClientHello length the edge would report: with the post-quantum key share a
/// ClientHello is about 1.6–1.8 kB; without, a few hundred bytes (classical X25519 only).
pub fn hello_length(rng: &mut Rng, raw_ua: &str, stack: Stack) -> u32 {
    let pq = stack == Stack::Browser && sends_post_quantum(raw_ua);
    let (lo, hi) = if pq { (1_600, 1_850) } else { (220, 720) };
    lo + rng.below(u64::from(hi - lo) + 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_stay_apart_from_the_gap_check_unless_a_detour_is_added() {
        let mut rng = Rng::new(1);
        for kind in [NetworkKind::Residential, NetworkKind::Mobile, NetworkKind::Hosting] {
            for _ in 0..1000 {
                let tcp = tcp_rtt(&mut rng, kind, 80);
                let js = js_rtt(&mut rng, tcp, 0);
                // the gate's rtt_gap: js > 3 tcp + 150
                assert!(js <= tcp * 3 + 150 && js > tcp, "{kind:?} {tcp} {js}");
            }
        }
        assert!(js_rtt(&mut rng, 20, 400) > 20 * 3 + 150);
    }

    #[test]
    fn only_chromium_124_and_later_outside_ios_sends_a_long_hello() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let old = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.150 Safari/537.36";
        let crios = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1";
        let mut rng = Rng::new(2);
        assert!(hello_length(&mut rng, chrome, Stack::Browser) >= 1_600);
        assert!(hello_length(&mut rng, chrome, Stack::Other) < 1_000);
        assert!(hello_length(&mut rng, old, Stack::Browser) < 1_000);
        assert!(hello_length(&mut rng, crios, Stack::Browser) < 1_000);
    }
}
