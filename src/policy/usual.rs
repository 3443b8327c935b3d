//! Usual shares for attack mode's levels (`[attack.usual]`): each cohort's share of the site's
//! sign-ups, learned slowly (sign-ups over `usual_days`, a decaying count, `usual:asn:16509`
//! beside the site's `usual:site`). A cohort's levels then count only its sign-ups beyond its
//! usual share of the site's sign-ups now: a calling code most of the site's people have (a
//! country of 39 %), a national carrier's CGNAT, the commonest browser never reach a level by
//! being what they usually are, while a cohort that grows out of its share pays as before. A
//! site whose people move together (a launch crowd) keeps every share where it was, so no
//! cohort is priced for it; what no share tells apart is the waiting line's to ration.
//!
//! The counts ride the counters like every key (batched, sharded, never hot) and are moved
//! only by sign-ups the origin accepted. Like the OTP surge's usual shares
//! (`super::otp::surge`), they are of time, not volume: up to twice the site's usual rate every
//! sign-up counts, above it one in `n` at `n` times that rate, so a burst cannot make itself
//! usual by its own volume; on a cold site (fewer than `warm_up_signups` usual sign-ups) every
//! sign-up counts and nothing is measured against a share yet (the static levels apply as
//! written). A site that starts during an attack learns the attack's mix in its warm-up: the
//! limit of learning anything (docs/attack-mode.md § Usual shares).

use super::{CohortKey, CohortState};

/// The site's rate of sign-ups, as a multiple of its usual rate, up to which every sign-up
/// counts in the usual shares (twice: a decaying count held to its own rate would never grow
/// past where it stands).
const PEAK: f64 = 2.0;

/// `usual:site_rate` counts the site's rate in tenths (a count is whole).
const RATE_SCALE: f64 = 10.0;

/// `[attack.usual]`: how usual shares are learned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UsualShares {
    /// How long the usual shares remember, days (the time constant of their decaying counts).
    pub usual_days: u32,
    /// Usual sign-ups on the site (over `usual_days`) before shares are trusted.
    pub warm_up_signups: u32,
}

impl UsualShares {
    /// The counting period of the usual shares, seconds.
    pub fn usual_secs(&self) -> u32 {
        self.usual_days.saturating_mul(86_400)
    }

    /// The site's usual count in `state`, when the site is warm.
    fn warm_site(&self, state: &CohortState) -> Option<f64> {
        let site = rate_of(state, &CohortKey::usual_site())?;
        (site >= f64::from(self.warm_up_signups.max(1))).then_some(site)
    }

    /// A cohort's usual share of the site's sign-ups, once the site is warm (a cohort the
    /// site has not seen usually has share 0).
    pub fn share(&self, state: &CohortState, cohort: &CohortKey) -> Option<f64> {
        let site = self.warm_site(state)?;
        let own = cohort.usual().and_then(|k| rate_of(state, &k)).unwrap_or(0.0);
        Some((own / site).clamp(0.0, 1.0))
    }

    /// The site's usual rate (sign-ups per window): the rate its usual sign-ups saw, on
    /// average (a ratio of two counts over the same period, so a young site reads it as well
    /// as an old one). `None` before any was counted.
    pub fn site_rate(&self, state: &CohortState) -> Option<f64> {
        let site = rate_of(state, &CohortKey::usual_site())?;
        let sum = rate_of(state, &CohortKey::usual_site_rate())?;
        (site > 0.0).then(|| sum / RATE_SCALE / site)
    }

    /// What a sign-up counted in the usual shares adds to `usual:site_rate`: the site's rate
    /// it saw, in tenths.
    pub fn rate_weight(&self, state: &CohortState) -> u32 {
        (state.site_rate.max(0.0) * RATE_SCALE).round().min(f64::from(u32::MAX)) as u32
    }

    /// The part of a cohort's `rate` (sign-ups per window) beyond its usual share of the
    /// site's sign-ups now, with the share it was measured against (`None` on a cold site,
    /// where the whole rate counts). The site's rate it is a share of is at most twice its
    /// usual rate (a daily peak): an attack that multiplies the site's volume does not widen
    /// every cohort's allowance with it, so a fleet spread over the site's own cohorts counts
    /// where its volume goes past what they usually bring.
    pub fn over_usual(&self, state: &CohortState, cohort: &CohortKey, rate: f64) -> (f64, Option<f64>) {
        match self.share(state, cohort) {
            Some(share) => {
                let site = match self.site_rate(state) {
                    Some(usual) => state.site_rate.min(PEAK * usual),
                    None => 0.0,
                };
                ((rate - share * site).max(0.0), Some(share))
            }
            None => (rate, None),
        }
    }

    /// The chance that a sign-up accepted now counts in the usual shares: 1 up to twice the
    /// site's usual rate, `usual ÷ now` above it; 1 on a cold site (it is learning).
    pub fn learn_chance(&self, state: &CohortState, window_secs: u32) -> f64 {
        let Some(site) = self.warm_site(state) else { return 1.0 };
        of_time(site, self.usual_secs(), state.site_rate, window_secs)
    }
}

/// The chance that keeps a usual share one of time, not volume (here and in the OTP surge's
/// `super::otp::surge`): 1 while the count now (`now` over `window_secs`) is at most [`PEAK`]
/// times the usual count's rate (`usual` over `usual_secs`), the ratio of the two rates above
/// it, so a burst counts as a usual day's peak would, however large.
pub(crate) fn of_time(usual: f64, usual_secs: u32, now: f64, window_secs: u32) -> f64 {
    let usual_rate = PEAK * usual / f64::from(usual_secs.max(1));
    let rate_now = now / f64::from(window_secs.max(1));
    if rate_now > usual_rate { (usual_rate / rate_now).clamp(0.0, 1.0) } else { 1.0 }
}

/// A key's rate in the state read, if it was read.
fn rate_of(state: &CohortState, key: &CohortKey) -> Option<f64> {
    state.rates.iter().find(|(k, _)| k == key).map(|(_, r)| *r)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::*;
    use crate::policy::CohortKind;

    /// The state with the site at `site_rate` now, `usual_site` usual sign-ups that saw the
    /// site at `usual_rate` on average, and each cohort's rate now and usual count.
    fn state_at(
        site_rate: f64,
        usual_site: f64,
        usual_rate: f64,
        cohorts: &[(&CohortKey, f64, f64)],
    ) -> CohortState {
        let mut rates = vec![
            (CohortKey::usual_site(), usual_site),
            (CohortKey::usual_site_rate(), usual_site * usual_rate * RATE_SCALE),
        ];
        for (k, rate, usual) in cohorts {
            rates.push(((*k).clone(), *rate));
            rates.push((k.usual().unwrap(), *usual));
        }
        CohortState { rates, site_rate, ..CohortState::default() }
    }

    /// The same with the site now at its usual rate.
    fn state(site_rate: f64, usual_site: f64, cohorts: &[(&CohortKey, f64, f64)]) -> CohortState {
        state_at(site_rate, usual_site, site_rate, cohorts)
    }

    #[test]
    fn only_the_rate_beyond_the_usual_share_counts_once_the_site_is_warm() {
        let u = UsualShares { usual_days: 7, warm_up_signups: 500 };
        let cn = CohortKey::new(CohortKind::PhoneCode, "86");
        // every usual share, the site at any rate, the cohort at or under its share: nothing over
        for share in [0.0f64, 0.01, 0.1, 0.39, 0.7, 1.0] {
            for site_rate in [0.0, 10.0, 240.0, 10_000.0] {
                for times in [0.0, 0.5, 1.0] {
                    let rate = share * times * site_rate;
                    let s = state(site_rate, 5000.0, &[(&cn, rate, share * 5000.0)]);
                    let (over, seen) = u.over_usual(&s, &cn, rate);
                    assert!(over.abs() < 1e-9, "{share} {site_rate} {times}: {over}");
                    assert!((seen.unwrap() - share).abs() < 1e-9);
                }
                // beyond it: exactly the excess
                let rate = share * site_rate + 75.0;
                let s = state(site_rate + 75.0, 5000.0, &[(&cn, rate, share * 5000.0)]);
                let (over, _) = u.over_usual(&s, &cn, rate);
                assert!((over - (rate - share * (site_rate + 75.0))).abs() < 1e-6);
            }
        }
        // an attack that multiplies the site's volume widens no allowance past twice the
        // site's usual rate: a cohort at its share of ten times the usual volume counts what
        // goes past its share of twice it
        for share in [0.05f64, 0.39, 0.8] {
            let (usual_rate, now) = (240.0, 2400.0);
            let s = state_at(now, 5000.0, usual_rate, &[(&cn, share * now, share * 5000.0)]);
            let (over, _) = u.over_usual(&s, &cn, share * now);
            assert!((over - share * (now - 2.0 * usual_rate)).abs() < 1e-6, "{share}: {over}");
            assert!((u.site_rate(&s).unwrap() - usual_rate).abs() < 1e-9);
            // and what a sign-up adds to the site's rate sum is the rate it saw, in tenths
            assert_eq!(u.rate_weight(&s), 24_000);
        }
        // a cold site, or one whose usual count was not read: the whole rate
        for s in [
            state(240.0, 499.0, &[(&cn, 100.0, 200.0)]),
            CohortState { site_rate: 240.0, ..Default::default() },
        ] {
            assert_eq!(u.over_usual(&s, &cn, 100.0), (100.0, None));
        }
        // a cohort never seen on a warm site: share 0, the whole rate
        let s = state(240.0, 5000.0, &[]);
        assert_eq!(u.over_usual(&s, &cn, 100.0), (100.0, Some(0.0)));
    }

    #[test]
    fn a_burst_counts_at_the_chance_that_keeps_the_shares_of_time() {
        let u = UsualShares { usual_days: 1, warm_up_signups: 500 };
        // 86,400 usual sign-ups over a day: a usual rate of 1/s, every one counts up to 2/s
        let usual = 86_400.0;
        for (per_min, chance) in [(0.0, 1.0), (60.0, 1.0), (120.0, 1.0), (240.0, 0.5), (1200.0, 0.1)] {
            let s = state(per_min, usual, &[]);
            assert!((u.learn_chance(&s, 60) - chance).abs() < 1e-9, "{per_min}");
        }
        // cold: everything counts, whatever the volume
        assert_eq!(u.learn_chance(&state(100_000.0, 100.0, &[]), 60), 1.0);
    }
}
