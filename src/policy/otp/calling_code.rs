//! A range's calling code as a second, coarser scope: its sends, verified codes and tries are
//! counted beside the range's (`otp_sent:+996 *` beside `otp_sent:+996 500`), so the stats page
//! shows each calling code's conversion, and a calling code nobody entered a code in gets the
//! unentered block for all its ranges at once: a pump spread over many ranges of one calling
//! code pays the evidence once, not once per range. Levels by conversion stay per range: a
//! calling code's people are never priced for a pump in one of its ranges.

use super::{Otp, RangeReading, RangeVerdict, network_scope};

/// The calling code of a range (`+996` of `+996 500`; `+683` of `+683`, a range with no
/// destination digits).
pub fn calling_code_of(range: &str) -> Option<&str> {
    range.split(' ').next().filter(|c| c.starts_with('+') && c.len() > 1)
}

/// The counters' value for a range's calling code as a whole: `+996 *`, spelled apart from
/// every range (a range with no destination digits is spelled `+683`, its calling code's
/// scope `+683 *`).
pub fn calling_code_scope(range: &str) -> Option<String> {
    calling_code_of(range).map(|c| format!("{c} *"))
}

/// The calling code a counter value is the scope of (`+996` of `+996 *`), or `None` for a range.
pub fn calling_code_in_scope(value: &str) -> Option<&str> {
    value.strip_suffix(" *")
}

/// Whether a counter value is a calling code's scope (`+996 *`), not a range.
pub fn is_calling_code_scope(value: &str) -> bool {
    calling_code_in_scope(value).is_some()
}

/// Which scope a verdict is about (whose block switch it reads or writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeScope {
    /// The number's range.
    Range,
    /// The range's calling code.
    CallingCode,
    /// The named network the range belongs to (`[[otp.networks]]`).
    Network(String),
}

impl RangeScope {
    /// The scope's counter value for `range` (the range, its calling code's `+996 *`, its
    /// network's `network kg-operator`).
    pub fn of(&self, range: &str) -> String {
        match self {
            RangeScope::Range => range.to_string(),
            RangeScope::CallingCode => calling_code_scope(range).unwrap_or_else(|| range.to_string()),
            RangeScope::Network(name) => network_scope(name),
        }
    }

    /// The scope named for people (`range +996 500`, `calling code +996`, `network kg-operator`).
    pub fn named(&self, range: &str) -> String {
        match self {
            RangeScope::Range => format!("range {range}"),
            RangeScope::CallingCode => format!("calling code {}", calling_code_of(range).unwrap_or(range)),
            RangeScope::Network(name) => format!("network {name}"),
        }
    }
}

/// The readings of a range's wider scopes, for [`Otp::judge_number`].
#[derive(Copy, Clone, Debug, Default)]
pub struct WiderReadings<'a> {
    /// Its calling code's.
    pub calling_code: Option<&'a RangeReading>,
    /// Its network's, with the network's name.
    pub network: Option<(&'a str, &'a RangeReading)>,
}

impl Otp {
    /// The verdict for a send to a number in a range, from the range's reading and its wider
    /// scopes': a calling code's or a network's block applies to every range in it; otherwise
    /// the range's verdict, unless its network, or its calling code, as a whole is one nobody
    /// entered a code in.
    pub fn judge_number(
        &self,
        range: &RangeReading,
        wider: WiderReadings<'_>,
        now_ms: u64,
    ) -> (RangeVerdict, RangeScope) {
        let held = |r: &RangeReading| self.held_block(r, now_ms, r.verified < 0.5);
        if let Some(block) = wider.calling_code.and_then(held) {
            return (block, RangeScope::CallingCode);
        }
        let network = |(name, _): (&str, &RangeReading)| RangeScope::Network(name.to_string());
        if let Some((block, n)) = wider.network.and_then(|n| held(n.1).map(|b| (b, n))) {
            return (block, network(n));
        }
        let verdict = self.judge(range, now_ms);
        if matches!(verdict, RangeVerdict::Blocked { .. }) {
            return (verdict, RangeScope::Range);
        }
        if let Some((block, n)) =
            wider.network.and_then(|n| self.unentered_block(n.1, now_ms).map(|b| (b, n)))
        {
            return (block, network(n));
        }
        if let Some(block) = wider.calling_code.and_then(|c| self.unentered_block(c, now_ms)) {
            return (block, RangeScope::CallingCode);
        }
        // a wider scope whose share of the site's codes stands out prices its ranges whose own
        // share is above usual (the network's first: it is the narrower); a range at its usual
        // share (people, in a country with a pump elsewhere) is not priced for it
        let range_above = self.surge.is_some_and(|s| super::surge::above_usual(&s, range));
        let surging = |r: &RangeReading| {
            let v = self.surge_over(r, verdict);
            (range_above && v != verdict).then_some(v)
        };
        if let Some((v, n)) = wider.network.and_then(|n| surging(n.1).map(|v| (v, n))) {
            return (v, network(n));
        }
        match wider.calling_code.and_then(surging) {
            Some(v) => (v, RangeScope::CallingCode),
            None => (verdict, RangeScope::Range),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::super::{Seen, SiteSends};
    use super::*;
    use crate::policy::OtpCount;

    #[test]
    fn a_calling_code_is_the_ranges_first_part() {
        assert_eq!(calling_code_of("+996 500"), Some("+996"));
        assert_eq!(calling_code_of("+55 11 9"), Some("+55"));
        assert_eq!(calling_code_of("+683"), Some("+683"), "a range with no destination digits");
        assert_eq!(calling_code_of(""), None);
        assert_eq!(RangeScope::CallingCode.of("+358 41"), "+358 *");
        assert_eq!(RangeScope::Range.of("+358 41"), "+358 41");
        // a calling code's counters never share a key with a range, even one with no digits
        assert_eq!(calling_code_scope("+683").as_deref(), Some("+683 *"));
        assert!(
            is_calling_code_scope("+683 *")
                && !is_calling_code_scope("+683")
                && !is_calling_code_scope("+996 500")
        );
        assert_eq!(RangeScope::CallingCode.named("+358 41"), "calling code +358");
        assert_eq!(calling_code_in_scope("+358 *"), Some("+358"));
        assert_eq!(calling_code_in_scope("+358 41"), None);
    }

    /// A calling code's reading alone.
    fn code(r: &RangeReading) -> WiderReadings<'_> {
        WiderReadings { calling_code: Some(r), network: None }
    }

    #[test]
    fn a_calling_code_nobody_entered_a_code_in_blocks_its_ranges_and_one_people_use_never_does() {
        let text = "unentered_block_sends = 20\n";
        let o = super::super::test_otp(text).unwrap();
        let now = 1_000_000;
        let warm = Seen { site: 50.0, ..Seen::default() };
        let read = |sent: f64, verified: f64| RangeReading {
            sent,
            verified,
            tries: 10.0,
            seen: warm,
            ..RangeReading::default()
        };
        let short = RangeVerdict::Blocked { until_ms: now + 120_000, new: true };
        // a fresh range (3 sends) of a calling code with 30 sends, none entered: blocked as the code
        assert_eq!(
            o.judge_number(&read(3.0, 0.0), code(&read(30.0, 0.0)), now),
            (short, RangeScope::CallingCode)
        );
        // the calling code's people enter codes: the range alone is judged
        for verified in [0.5, 5.0, 300.0] {
            let (v, scope) = o.judge_number(&read(3.0, 0.0), code(&read(400.0, verified)), now);
            assert_eq!((v, scope), (RangeVerdict::Normal, RangeScope::Range), "{verified}");
        }
        // ... and its pumped range is still blocked on its own evidence (sends not judged yet)
        let pumped = RangeReading { recent: 30.0, ..read(30.0, 0.0) };
        assert_eq!(o.judge_number(&pumped, code(&read(400.0, 300.0)), now), (short, RangeScope::Range));
        // a calling code's block holds for every range in it; without a code, the range alone
        let on = RangeReading { blocked_until: Some(now + 90_000), ..read(30.0, 0.0) };
        let held = o.judge_number(&read(0.0, 0.0), code(&on), now);
        assert_eq!(
            held,
            (RangeVerdict::Blocked { until_ms: now + 90_000, new: false }, RangeScope::CallingCode)
        );
        // ... renewed once less than half the grace period is left, while still tried and unentered
        // (tried as fast as a pump: the count's tries within the grace period)
        let ending = |sent: f64, verified: f64, tries: f64| RangeReading {
            blocked_until: Some(now + 9),
            tries,
            ..read(sent, verified)
        };
        let judged = |r: &RangeReading| o.judge_number(&read(0.0, 0.0), code(r), now);
        assert_eq!(judged(&ending(5.0, 0.0, 30.0)), (short, RangeScope::CallingCode));
        let lapsing = (RangeVerdict::Blocked { until_ms: now + 9, new: false }, RangeScope::CallingCode);
        assert_eq!(judged(&ending(30.0, 1.0, 30.0)), lapsing, "a code entered");
        assert_eq!(judged(&ending(30.0, 0.0, 10.0)), lapsing, "tried at people's pace");
        assert_eq!(
            o.judge_number(&read(3.0, 0.0), WiderReadings::default(), now),
            (RangeVerdict::Normal, RangeScope::Range)
        );
        // with the unentered block off, a calling code never blocks
        let off = super::super::test_otp(&text.replace("unentered_block_sends = 20\n", "")).unwrap();
        assert_eq!(off.judge_number(&read(3.0, 0.0), code(&read(300.0, 0.0)), now).0, RangeVerdict::Normal);
    }

    #[test]
    fn a_network_nobody_entered_a_code_in_blocks_its_ranges_while_its_calling_code_has_people() {
        let text = "unentered_block_sends = 20\n[[otp.networks]]\nname = \"kg-b\"\nranges = [\"+996 77\"]\n";
        let o = super::super::test_otp(text).unwrap();
        assert_eq!(o.network_of("+996 775"), Some("kg-b"));
        assert_eq!(o.network_of("+996 500"), None);
        let keys: Vec<String> =
            o.scope_keys(OtpCount::Sent, "+996 775").iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["otp_sent:+996 775", "otp_sent:+996 *", "otp_sent:network kg-b"]);
        assert_eq!(o.scope_keys(OtpCount::Sent, "+996 500").len(), 2, "a range in no network");
        let now = 1_000_000;
        let read = |sent: f64, verified: f64| RangeReading {
            sent,
            verified,
            tries: 10.0,
            seen: Seen { site: 50.0, ..Seen::default() },
            ..RangeReading::default()
        };
        let kg_b = RangeScope::Network("kg-b".into());
        let short = RangeVerdict::Blocked { until_ms: now + 120_000, new: true };
        // people enter codes in the calling code (another operator); nobody in this network
        let people = read(400.0, 300.0);
        for (range_sent, network_sent) in [(1.0, 19.0), (3.0, 30.0), (0.0, 500.0)] {
            let pumped = read(network_sent, 0.0);
            let wider = WiderReadings { calling_code: Some(&people), network: Some(("kg-b", &pumped)) };
            assert_eq!(o.judge_number(&read(range_sent, 0.0), wider, now), (short, kg_b.clone()));
        }
        // fewer sends in the network, or a code entered in it: the range alone
        for (sent, verified) in [(18.0, 0.0), (500.0, 0.5), (500.0, 40.0)] {
            let net = read(sent, verified);
            let wider = WiderReadings { calling_code: Some(&people), network: Some(("kg-b", &net)) };
            assert_eq!(
                o.judge_number(&read(3.0, 0.0), wider, now).0,
                RangeVerdict::Normal,
                "{sent} {verified}"
            );
        }
        // a network's block holds for every range in it; a calling code's block comes first
        let on = RangeReading { blocked_until: Some(now + 90_000), ..read(30.0, 0.0) };
        let held = RangeVerdict::Blocked { until_ms: now + 90_000, new: false };
        let wider = WiderReadings { calling_code: Some(&people), network: Some(("kg-b", &on)) };
        assert_eq!(o.judge_number(&read(0.0, 0.0), wider, now), (held, kg_b.clone()));
        let wider = WiderReadings { calling_code: Some(&on), network: Some(("kg-b", &on)) };
        assert_eq!(o.judge_number(&read(0.0, 0.0), wider, now).1, RangeScope::CallingCode);
        assert_eq!(kg_b.of("+996 775"), "network kg-b");
        assert_eq!(kg_b.named("+996 775"), "network kg-b");
    }

    #[test]
    fn a_wider_scope_that_stands_out_prices_its_ranges_above_their_usual_share_only() {
        let text = "[otp.surge]\nwarm_up_sends = 500\n";
        let o = super::super::test_otp(text).unwrap();
        let now = 1_000_000;
        let site = SiteSends { sent: 1000.0, usual: 10_000.0 };
        // a scope with `sent` of the site's 1000 codes now and `usual` of its 10,000 usually
        let read = |sent: f64, usual: f64| RangeReading {
            sent,
            verified: sent,
            usual,
            site,
            ..RangeReading::default()
        };
        let surge = |v: &RangeVerdict| matches!(v, RangeVerdict::Surge { extra_bits: 2, .. });
        // the calling code at 40 % (usually 5 %), the network at 30 % (usually 1 %)
        let (code, net) = (read(400.0, 500.0), read(300.0, 100.0));
        for (wider, scope) in [
            (WiderReadings { calling_code: Some(&code), network: None }, RangeScope::CallingCode),
            (
                WiderReadings { calling_code: Some(&code), network: Some(("kg-b", &net)) },
                RangeScope::Network("kg-b".into()),
            ),
        ] {
            // a range of the pump: 2 % now, never before (not standing out on its own)
            let (v, s) = o.judge_number(&read(20.0, 0.0), wider, now);
            assert!(surge(&v) && s == scope, "{v:?} {s:?}");
            // a range of people at or under their usual share: as it is
            for (sent, usual) in [(10.0, 100.0), (5.0, 100.0), (0.0, 0.0)] {
                assert_eq!(
                    o.judge_number(&read(sent, usual), wider, now),
                    (RangeVerdict::Normal, RangeScope::Range)
                );
            }
        }
        // neither wider scope standing out: the range alone
        let calm = read(50.0, 500.0);
        let wider = WiderReadings { calling_code: Some(&calm), network: Some(("kg-b", &calm)) };
        assert_eq!(o.judge_number(&read(20.0, 0.0), wider, now).0, RangeVerdict::Normal);
    }
}
