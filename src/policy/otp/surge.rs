//! The usual share (`[otp.surge]`): each range's, calling code's and network's share of the
//! site's codes, learned slowly (sends over `usual_days`, a decaying count), beside its share
//! now (sends over `otp.window_secs`). Conversion cannot see a pump whose owner enters its own
//! codes (numbers it rents or runs receive them), nor an SMS-activation farm; what neither hides
//! is volume where the site's codes do not usually go. A scope whose share now stands out
//! above its usual share pays `extra_bits` more per code while it does; a site whose people
//! move together (a launch crowd) keeps every share where it was.

use super::super::load::Problems;
use super::load::within;
use super::{Otp, OtpCount, RangeReading, WiderReadings, calling_code_scope, network_scope};
use crate::policy::CohortKey;
use serde::Deserialize;

/// `[otp.surge]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SurgeFile {
    #[serde(default = "defaults::usual_days")]
    usual_days: u32,
    #[serde(default = "defaults::share_above_usual")]
    share_above_usual: f64,
    #[serde(default = "defaults::times_usual")]
    times_usual: f64,
    #[serde(default = "defaults::extra_bits")]
    extra_bits: u32,
    #[serde(default = "defaults::warm_up_sends")]
    warm_up_sends: u32,
}

mod defaults {
    pub(super) fn usual_days() -> u32 {
        7
    }
    pub(super) fn share_above_usual() -> f64 {
        0.05
    }
    pub(super) fn times_usual() -> f64 {
        3.0
    }
    pub(super) fn extra_bits() -> u32 {
        2
    }
    pub(super) fn warm_up_sends() -> u32 {
        1000
    }
}

/// The usual share and what standing out above it costs.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Surge {
    /// How long the usual share remembers, days (the time constant of its decaying counts).
    pub usual_days: u32,
    /// A scope stands out when its share now exceeds its usual share by this much (a share:
    /// 0.05 is five points of the site's codes) ...
    pub share_above_usual: f64,
    /// ... and is at least this multiple of it.
    pub times_usual: f64,
    /// Extra bits per sub-puzzle for a code to a scope that stands out (0: the shares are
    /// learned and shown, nothing is priced).
    pub extra_bits: u8,
    /// Codes sent on the site over `usual_days` before usual shares are trusted (before, no
    /// scope stands out: on a new site every share would be new).
    pub warm_up_sends: u32,
}

/// A scope's share of the site's codes, now and usually.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Share {
    /// Its share of the window's sends.
    pub now: f64,
    /// Its share of the sends over `usual_days`.
    pub usual: f64,
}

impl Surge {
    /// The counting period of the usual shares, seconds.
    pub fn usual_secs(&self) -> u32 {
        self.usual_days.saturating_mul(86_400)
    }

    /// The scope's shares, once the site is warm and the scope has `min_sends` sends in the
    /// window (a share of a handful of codes says nothing).
    pub fn share(&self, r: &RangeReading, min_sends: u32) -> Option<Share> {
        let enough = r.sent >= f64::from(min_sends.max(1));
        (self.warm(r) && enough).then(|| Share {
            now: (r.sent / r.site.sent).clamp(0.0, 1.0),
            usual: (r.usual / r.site.usual).clamp(0.0, 1.0),
        })
    }

    /// The chance that a code sent now counts in the usual shares. Usual shares are of time,
    /// not of volume: up to twice the site's usual rate of codes (a daily peak) every code
    /// counts; when the site sends `n` times that (a launch crowd, a pump) one in `n` does, so
    /// busy minutes weigh about what quiet ones do and a surge cannot make itself usual by its
    /// own volume. (Twice, not once: the usual count is a decaying count, and one held to its
    /// own rate would never grow past where it stands.) A code to a scope that stands out
    /// counts `2 / times_usual` as often on top: learned slowly, yet a lasting shift (a country
    /// that stays popular) settles, since at that rate its usual share heads for twice the
    /// `1 / times_usual` of its share where it stops standing out, and gets there in about
    /// `ln 2` (0.7) of `usual_days` (at `1 / times_usual` it would head for exactly that point
    /// and stand out for ever). Every code counts on a cold site (fewer than `warm_up_sends`
    /// usual sends): it is learning.
    pub fn learn_chance(&self, site: &super::SiteSends, window_secs: u32, stands_out: bool) -> f64 {
        if site.usual < f64::from(self.warm_up_sends) {
            return 1.0;
        }
        let by_volume = super::super::usual::of_time(site.usual, self.usual_secs(), site.sent, window_secs);
        let by_standing = if stands_out { (2.0 / self.times_usual).min(1.0) } else { 1.0 };
        (by_volume * by_standing).clamp(0.0, 1.0)
    }

    /// Whether the site has the usual codes to trust usual shares, and codes now to share.
    fn warm(&self, r: &RangeReading) -> bool {
        r.site.usual >= f64::from(self.warm_up_sends) && r.site.sent > 0.0
    }

    /// Whether a share stands out above its usual share.
    pub fn stands_out(&self, s: Share) -> bool {
        s.now >= s.usual + self.share_above_usual && s.now >= self.times_usual * s.usual
    }
}

impl Otp {
    /// The usual counts a code sent to `range` leaves out, for a uniform `draw` in [0, 1): each
    /// scope's (the range's, its calling code's, its network's) against its own
    /// [`Surge::learn_chance`], slowed while that scope stands out, and the site's against the
    /// volume's alone, so a pump spread thin (no range standing out, its network or calling code
    /// well above usual) is learned slowly where it shows.
    pub fn usual_left_out(
        &self,
        range: &str,
        r: &RangeReading,
        wider: WiderReadings<'_>,
        draw: f64,
    ) -> Vec<CohortKey> {
        let Some(surge) = self.surge else { return Vec::new() };
        let stands_out =
            |r: &RangeReading| surge.share(r, self.min_sends).is_some_and(|s| surge.stands_out(s));
        let scopes = [
            Some((range.to_string(), stands_out(r))),
            calling_code_scope(range).zip(wider.calling_code).map(|(c, r)| (c, stands_out(r))),
            wider.network.map(|(name, r)| (network_scope(name), stands_out(r))),
            Some(("*".to_string(), false)),
        ];
        scopes
            .into_iter()
            .flatten()
            .filter(|(_, out)| draw >= surge.learn_chance(&r.site, self.window_secs, *out))
            .map(|(value, _)| CohortKey::otp(OtpCount::Usual, &value))
            .collect()
    }
}

/// Whether a range's share now is above its usual share (a wider scope's surge prices only
/// such ranges: a calling code's people whose share is where it usually is are never priced for
/// a pump elsewhere in it).
pub(super) fn above_usual(surge: &Surge, r: &RangeReading) -> bool {
    surge.warm(r) && r.sent / r.site.sent > r.usual / r.site.usual
}

/// Reads `[otp.surge]`, every problem into `p`.
pub(super) fn load(p: &mut Problems, f: &SurgeFile) -> Surge {
    let usual_days = within(p, "otp.surge.usual_days", f.usual_days, 1, 90);
    let extra_bits = within(p, "otp.surge.extra_bits", f.extra_bits, 0, 15) as u8;
    let warm_up_sends = within(p, "otp.surge.warm_up_sends", f.warm_up_sends, 1, 10_000_000);
    if !(f.share_above_usual > 0.0 && f.share_above_usual < 1.0) {
        p.add("otp.surge.share_above_usual", format!("{} is outside (0, 1)", f.share_above_usual));
    }
    if !(1.0..=100.0).contains(&f.times_usual) {
        p.add("otp.surge.times_usual", format!("{} is outside 1..=100", f.times_usual));
    }
    Surge {
        usual_days,
        share_above_usual: f.share_above_usual.clamp(0.001, 0.999),
        times_usual: f.times_usual.clamp(1.0, 100.0),
        extra_bits,
        warm_up_sends,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::super::{RangeVerdict, SiteSends};
    use super::*;

    use super::super::test_otp as otp;

    /// A scope with `sent` of the site's `site_sent` codes now and `usual` of `site_usual`
    /// usually, most of them entered.
    fn read(sent: f64, site_sent: f64, usual: f64, site_usual: f64) -> RangeReading {
        RangeReading {
            sent,
            verified: sent * 0.9,
            usual,
            site: SiteSends { sent: site_sent, usual: site_usual },
            ..RangeReading::default()
        }
    }

    #[test]
    fn a_scope_whose_share_stands_out_above_its_usual_share_pays_more_and_the_usual_mix_never_does() {
        assert_eq!(otp("").unwrap().surge, None, "off unless asked for");
        let o = otp("[otp.surge]\nwarm_up_sends = 500").unwrap();
        let s = o.surge.unwrap();
        assert_eq!((s.usual_days, s.extra_bits, s.usual_secs()), (7, 2, 7 * 86_400));
        let now = 1_000_000;
        let surge = |v: RangeVerdict| matches!(v, RangeVerdict::Surge { extra_bits: 2, .. });
        // every mix of usual shares, the site at any volume: a scope at its usual share (or
        // below, or a little above) is never priced; one well above it is
        for usual in [0.0f64, 0.001, 0.01, 0.05, 0.2, 0.5] {
            for site_sent in [100.0, 1000.0, 50_000.0] {
                for times in [0.0, 0.5, 1.0, 1.2] {
                    let sent = (usual * times * site_sent).max(20.0).min(site_sent);
                    let r = read(sent, site_sent, usual * 10_000.0, 10_000.0);
                    let standing_out = sent / site_sent >= usual + 0.05 && sent / site_sent >= 3.0 * usual;
                    assert_eq!(surge(o.judge(&r, now)), standing_out, "{usual} {site_sent} {times}");
                }
                for now_share in [usual + 0.06, (usual * 3.5).max(usual + 0.06), 0.9] {
                    let sent = now_share.min(1.0) * site_sent;
                    let r = read(sent, site_sent, usual * 10_000.0, 10_000.0);
                    let want = sent >= 20.0 && sent / site_sent >= 3.0 * usual;
                    assert_eq!(surge(o.judge(&r, now)), want, "{usual} {site_sent} {now_share}");
                }
            }
        }
        // not judged: a cold site (fewer usual sends than warm_up_sends), a scope with fewer
        // than min_sends sends now, a site with no sends now
        for (r, why) in [
            (read(900.0, 1000.0, 0.0, 499.0), "cold site"),
            (read(19.0, 20.0, 0.0, 10_000.0), "few sends"),
            (read(0.0, 0.0, 0.0, 10_000.0), "no sends"),
        ] {
            assert_eq!(o.judge(&r, now), RangeVerdict::Normal, "{why}");
            assert_eq!(s.share(&r, o.min_sends), None, "{why}");
        }
        let sh = s.share(&read(300.0, 1000.0, 100.0, 10_000.0), o.min_sends).unwrap();
        assert!((sh.now - 0.3).abs() < 1e-9 && (sh.usual - 0.01).abs() < 1e-9);
    }

    #[test]
    fn with_no_extra_bits_the_shares_are_learned_and_nothing_is_priced() {
        let o = otp("[otp.surge]\nwarm_up_sends = 500\nextra_bits = 0").unwrap();
        let standing = read(500.0, 1000.0, 0.0, 10_000.0);
        assert!(
            o.surge.unwrap().share(&standing, o.min_sends).is_some_and(|s| o.surge.unwrap().stands_out(s))
        );
        assert_eq!(o.judge(&standing, 1_000_000), RangeVerdict::Normal);
        assert!(o.read_keys("+996 500").iter().any(|k| k.to_string() == "otp_usual:+996 500"));
    }

    #[test]
    fn a_surge_adds_to_nothing_stronger_and_a_block_stays_a_block() {
        let o = otp("[otp.surge]\nwarm_up_sends = 500\nextra_bits = 3").unwrap();
        let now = 1_000_000;
        let standing = read(500.0, 1000.0, 0.0, 10_000.0);
        assert!(matches!(o.judge(&standing, now), RangeVerdict::Surge { extra_bits: 3, .. }));
        // low conversion: its price level (+4) is dearer than the surge's
        let low = RangeReading { verified: 100.0, ..standing };
        assert!(matches!(o.judge(&low, now), RangeVerdict::Priced { extra_bits: 4, .. }));
        // a milder level (+2) is replaced by the dearer surge
        let middling = RangeReading { verified: 200.0, ..standing };
        assert!(matches!(o.judge(&middling, now), RangeVerdict::Surge { extra_bits: 3, .. }));
        let on = RangeReading { blocked_until: Some(now + 5), tries: 5.0, ..standing };
        assert_eq!(o.judge(&on, now), RangeVerdict::Blocked { until_ms: now + 5, new: false });
    }

    #[test]
    fn usual_shares_learn_from_time_not_volume() {
        let s = otp("[otp.surge]\nusual_days = 1\nwarm_up_sends = 100").unwrap().surge.unwrap();
        // the site's usual rate: 8,640 codes a day, 360 in an hour's window
        let at = |times: f64| SiteSends { sent: 360.0 * times, usual: 8640.0 };
        for (times, want) in [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (4.0, 0.5), (10.0, 0.2), (100.0, 0.02)] {
            let chance = s.learn_chance(&at(times), 3600, false);
            assert!((chance - want).abs() < 1e-9, "{times}: {chance}");
            // a code to a scope that stands out counts 2 / times_usual as often on top
            let standing = s.learn_chance(&at(times), 3600, true);
            assert!((standing - want * 2.0 / 3.0).abs() < 1e-9, "{times}: {standing}");
        }
        // a cold site learns every code
        let cold = SiteSends { sent: 10_000.0, usual: 99.0 };
        assert_eq!(s.learn_chance(&cold, 3600, true), 1.0);
    }

    #[test]
    fn a_lasting_shift_settles_within_about_ln_2_of_the_usual_period_and_a_burst_does_not() {
        // the counts' expected course, hour by hour: a site of 360 codes an hour whose usual
        // shares were learned; from hour 0 one scope takes `share` of the codes for good (a
        // country that stays popular), or for two hours only (a burst)
        let o = otp("[otp.surge]\nusual_days = 7\nwarm_up_sends = 100").unwrap();
        let s = o.surge.unwrap();
        let (rate, window, usual_secs) = (360.0, 3600u32, f64::from(s.usual_secs()));
        let settle = |share: f64, hours: u32| -> Option<u32> {
            let (mut site_usual, mut scope_usual) = (rate * usual_secs / 3600.0, 0.0);
            let keep = (-3600.0 / usual_secs).exp();
            for hour in 0..hours {
                let r = RangeReading {
                    sent: share * rate,
                    usual: scope_usual,
                    site: SiteSends { sent: rate, usual: site_usual },
                    ..RangeReading::default()
                };
                let out = s.share(&r, o.min_sends).is_some_and(|sh| s.stands_out(sh));
                if !out {
                    return Some(hour);
                }
                site_usual = site_usual * keep + rate * s.learn_chance(&r.site, window, false);
                scope_usual = scope_usual * keep + share * rate * s.learn_chance(&r.site, window, true);
            }
            None
        };
        for share in [0.06, 0.1, 0.3, 0.6] {
            let hours = settle(share, 24 * 30).unwrap_or(u32::MAX);
            // ln 2 of seven days is 116 hours
            assert!((1..=120).contains(&hours), "{share}: stood out {hours} hours");
        }
        // a two-hour burst is far from learned when it ends
        assert_eq!(settle(0.6, 2), None);
    }

    #[test]
    fn every_surge_problem_is_reported_at_once() {
        let e = otp(
            "[otp.surge]\nusual_days = 0\nshare_above_usual = 1.5\ntimes_usual = 0.5\nextra_bits = 16\nwarm_up_sends = 0",
        )
        .unwrap_err();
        for want in [
            "otp.surge.usual_days: 0 is outside 1..=90",
            "otp.surge.share_above_usual: 1.5 is outside (0, 1)",
            "otp.surge.times_usual: 0.5 is outside 1..=100",
            "otp.surge.extra_bits: 16 is outside 0..=15",
            "otp.surge.warm_up_sends: 0 is outside",
        ] {
            assert!(e.contains(want), "{want} in {e}");
        }
        assert!(otp("[otp.surge]\nbits = 2").unwrap_err().contains("unknown field"));
    }
}
