//! Attack mode's cohorts: the kinds counted, the keys a request falls under, the escalation
//! levels, the decaying [`Counter`] (the pure part of the cohort Durable Objects) and the
//! [`CohortState`] the edge reads from the counters before deciding.

use super::{CohortKey, Known, Subject};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Per-cohort attack mode settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Attack {
    /// Counting and escalation on.
    pub enabled: bool,
    /// The counters' decay time constant: a rate is "sign-ups per window".
    pub window_secs: u32,
    /// Which cohorts are counted.
    pub cohorts: Vec<CohortKind>,
    /// Escalation levels, by rising rate.
    pub levels: Vec<Level>,
    /// Levels for particular kinds (broad cohorts such as a country see far more sign-ups
    /// than one network), instead of `levels`.
    pub cohort_levels: Vec<(CohortKind, Vec<Level>)>,
    /// Site-wide rate above which every sign-up is shed.
    pub global_ceiling: Option<u32>,
    /// Site-wide panic: shed every sign-up.
    pub panic: bool,
    /// Cohorts shed outright.
    pub panic_cohorts: Vec<CohortKey>,
    /// `Retry-After` for shed requests, seconds.
    pub retry_after_secs: u32,
    /// Capacity-driven pricing, per protected route.
    pub capacity: Vec<Capacity>,
    /// Usual shares (`[attack.usual]`): levels count a cohort's sign-ups beyond its usual
    /// share of the site's (`None`: the whole rate, as written).
    pub usual: Option<super::UsualShares>,
}

/// What one protected route's origin (or SMS provider) can take: the capacity controller
/// (`control::capacity`) prices that route's cohorts to keep admitted requests under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// The protected route (normalized path, as [`Subject::route`]).
    pub route: String,
    /// What the origin does per admitted request: a sign-up, or an SMS send.
    pub what: CapacityOf,
    /// Admitted requests per minute the route can take.
    pub per_minute: u32,
    /// Extra bits at which a cohort is shed (`busy`).
    pub ceiling_bits: u8,
    /// How often the controller moves prices, seconds.
    pub period_secs: u32,
    /// The waiting line (docs/attack-mode.md § The waiting line): 0 for none (over capacity,
    /// everyone's price rises); else the longest wait the line offers, seconds (a sign-up
    /// whose estimated wait is longer is answered `busy` with the line's `Retry-After`).
    pub line_max_wait_secs: u32,
}

/// What a route's capacity counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CapacityOf {
    /// Accounts created.
    Signups,
    /// One-time codes sent by SMS.
    OtpSends,
}

impl Capacity {
    /// The counter key of the route's admitted total.
    pub fn total_key(&self) -> CohortKey {
        CohortKey::capacity(&self.route)
    }

    /// The counter key of one cohort's admitted requests on the route (`None` for a key that is
    /// not a JS cohort).
    pub fn cohort_key(&self, cohort: &CohortKey) -> Option<CohortKey> {
        cohort.on_capacity(&self.route)
    }
}

/// One escalation level.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// From this rate on (sign-ups per window).
    pub at: u32,
    /// Extra difficulty bits; `None` for the shedding level.
    pub extra_bits: Option<u8>,
    /// Shed (`busy`).
    pub busy: bool,
}

/// A kind of cohort the counters track.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortKind {
    /// Autonomous system.
    Asn,
    /// IPv4 /24 or IPv6 /48.
    IpPrefix,
    /// Country.
    Country,
    /// Browser or tool family from the User-Agent.
    UaFamily,
    /// Phone calling code of the sign-up.
    PhoneCode,
    /// The kind of network, when it is a hosting one: every hosting, cloud, colocation and VPN
    /// network together (`network_kind:hosting`; other networks are in none). VPN users and
    /// company egress share these networks with scripts, so a hosting network alone does not
    /// raise the price; a fleet spread over many of them does, once together they stand out
    /// above their usual share.
    NetworkKind,
}

impl Attack {
    /// The escalation levels for a cohort: its kind's own, or the common ones.
    pub fn levels_for(&self, cohort: &CohortKey) -> &[Level] {
        let kind = cohort.kind();
        self.cohort_levels.iter().find(|(k, _)| Some(*k) == kind).map_or(&self.levels, |(_, l)| l)
    }

    /// The part of a cohort's rate its levels count: beyond its usual share of the site's
    /// sign-ups now with `[attack.usual]` on a warm site, else all of it; and the share.
    pub fn counted_rate(&self, state: &CohortState, cohort: &CohortKey, rate: f64) -> (f64, Option<f64>) {
        self.usual.map_or((rate, None), |u| u.over_usual(state, cohort, rate))
    }

    /// Whether a sign-up accepted on `state` counts in the usual shares, for a uniform `draw`
    /// in [0, 1) (all its usual counts or none, so the shares stay shares).
    pub fn learns(&self, state: &CohortState, draw: f64) -> bool {
        self.usual.is_some_and(|u| draw < u.learn_chance(state, self.window_secs))
    }

    /// The most extra bits a cohort's levels charge short of shedding (0: none).
    pub fn top_extra_bits(&self, cohort: &CohortKey) -> u8 {
        self.levels_for(cohort).iter().filter_map(|l| l.extra_bits).max().unwrap_or(0)
    }
}

impl CohortKind {
    /// Every kind.
    pub const ALL: [CohortKind; 6] = [
        CohortKind::Asn,
        CohortKind::IpPrefix,
        CohortKind::Country,
        CohortKind::UaFamily,
        CohortKind::PhoneCode,
        CohortKind::NetworkKind,
    ];

    /// The name used in the policy and in cohort keys.
    pub fn name(self) -> &'static str {
        match self {
            CohortKind::Asn => "asn",
            CohortKind::IpPrefix => "ip_prefix",
            CohortKind::Country => "country",
            CohortKind::UaFamily => "ua_family",
            CohortKind::PhoneCode => "phone_code",
            CohortKind::NetworkKind => "network_kind",
        }
    }

    /// Every kind's name, for the errors that list them (`asn, ip_prefix, …`).
    pub fn names() -> String {
        CohortKind::ALL.map(CohortKind::name).join(", ")
    }

    /// Whether a cohort of this kind can hold a whole population of people: a network (a mobile
    /// carrier's, behind one CGNAT), a country, a browser family, a calling code; not one
    /// address block. On a route with a capacity such a cohort is priced, never shed by a
    /// static level: the origin's room decides shedding there (docs/attack-mode.md).
    pub fn holds_many_people(self) -> bool {
        !matches!(self, CohortKind::IpPrefix)
    }

    pub(super) fn parse(name: &str) -> Option<CohortKind> {
        CohortKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The `network_kind` cohort's one value: a hosting, cloud, colocation or VPN network.
pub const HOSTING: &str = "hosting";

/// The cohort an address belongs to: IPv4 /24, IPv6 /48.
pub fn ip_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

impl Subject<'_> {
    /// The cohorts this request belongs to, for the kinds the policy counts.
    pub fn cohorts(&self, kinds: &[CohortKind]) -> Vec<CohortKey> {
        let mut out = Vec::new();
        for kind in kinds {
            let value = match kind {
                CohortKind::Asn => self.asn.map(|a| a.to_string()),
                CohortKind::IpPrefix => self.ip.map(ip_prefix),
                CohortKind::Country => self.country.map(str::to_ascii_uppercase),
                CohortKind::UaFamily => Some(
                    crate::request::user_agent::UserAgent::parse(self.user_agent.unwrap_or(""))
                        .family
                        .name()
                        .to_string(),
                ),
                CohortKind::PhoneCode => match &self.phone_code {
                    Known::Is(Some(code)) => Some(code.clone()),
                    _ => None,
                },
                CohortKind::NetworkKind => {
                    self.assessment.has(crate::signals::ReasonCode::HostingAsn).then(|| HOSTING.to_string())
                }
            };
            if let Some(v) = value {
                out.push(CohortKey::new(*kind, &v));
            }
        }
        out
    }
}

/// What the counters say, read by the edge before deciding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CohortState {
    /// Current rates (sign-ups per window) of the request's cohorts.
    pub rates: Vec<(CohortKey, f64)>,
    /// Site-wide rate.
    pub site_rate: f64,
    /// Cohorts (or `site`) an operator switched to panic at run time.
    pub panicked: Vec<CohortKey>,
    /// Switches with an end that are not panics (an OTP range's block), with their end, ms.
    pub switches: Vec<(CohortKey, u64)>,
    /// The capacity controller's price for this request, when its route states a capacity.
    pub capacity: Option<CapacityPrice>,
    /// Why some of these counters could not be read now (their last known levels are held),
    /// for the log; the policy decides on the state as it is.
    pub degraded: Option<String>,
    /// The rates of the request's peeked keys (`Counted::peek`), all or none: all when this
    /// isolate read every one from its shard lately and together
    /// ([`crate::control::snapshot::Snapshot::peek`]; 0 when the shard answered that it holds
    /// none). A key missing here is unknown, not 0.
    pub peeked: Vec<(CohortKey, f64)>,
}

/// Where a challenge issued at a time stands.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Turn {
    /// Served now.
    Now,
    /// Waiting: the estimated wait and the line ahead, both in seconds.
    Wait {
        /// Estimated seconds until served.
        wait_secs: u32,
        /// Seconds of issue time between the watermark and this challenge.
        ahead_secs: u32,
    },
}

/// What the pipeline needs of the line for one request.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Serving {
    /// The watermark, ms.
    pub serving_ms: u64,
    /// Its speed, issue seconds per second.
    pub speed: f64,
    /// Seconds until the route's admitted rate, as this isolate counts it (with what the
    /// others forwarded since its last refresh), falls back under `FULL_AT` of capacity (0:
    /// under it). While over, even a served place waits: the watermark orders the
    /// places, this bounds the burst when those served all arrive at once.
    #[serde(default)]
    pub full_secs: u32,
    /// Thousandths of the served places forwarded now (1000: all). Near full, a route lets
    /// only a share of them through, each place drawn once per few seconds
    /// (`pipeline::line`), so a crowd of held places does not all pass in the moment its count
    /// dips under full (each isolate reads that moment up to the staleness bound late).
    #[serde(default = "all_served")]
    pub room_milli: u16,
}

fn all_served() -> u16 {
    1000
}

impl Serving {
    /// Where a challenge issued at `issued_ms` stands at `now`.
    /// `draw` is the place's draw, uniform in [0, 1) (see `room_milli`).
    pub fn turn(&self, issued_ms: u64, draw: f64) -> Turn {
        if issued_ms <= self.serving_ms {
            if self.full_secs > 0 {
                return Turn::Wait { wait_secs: self.full_secs, ahead_secs: 0 };
            }
            if draw * 1000.0 >= f64::from(self.room_milli) {
                return Turn::Wait { wait_secs: 1, ahead_secs: 0 };
            }
            return Turn::Now;
        }
        let ahead = (issued_ms - self.serving_ms) as f64 / 1000.0;
        let wait = (ahead / self.speed.max(0.02)).ceil().max(f64::from(self.full_secs));
        Turn::Wait { wait_secs: wait.min(f64::from(u32::MAX)) as u32, ahead_secs: ahead.ceil() as u32 }
    }
}

/// The capacity controller's answer for one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityPrice {
    /// Extra bits (0: the base price), or the cohort shed at the ceiling.
    pub extra_bits: u8,
    /// The cohort whose price reached the ceiling: shed (`busy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shed: Option<CohortKey>,
    /// Admitted per minute on the route, as last measured.
    pub admitted_per_minute: f64,
    /// The route's capacity per minute.
    pub per_minute: u32,
    /// The extra bits the controller expects to ask soon (the banked-effort suggestion).
    #[serde(default)]
    pub forecast_bits: u8,
    /// The route's waiting line, while there is one: what it serves now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<Serving>,
}

/// An exponentially decaying count: roughly "events in the last `window`".
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// The count at `at_ms`.
    pub value: f64,
    /// When it was last updated, ms since the epoch.
    pub at_ms: f64,
}

impl Counter {
    /// The count decayed to `now_ms`.
    pub fn at(&self, now_ms: f64, window_secs: u32) -> f64 {
        let dt = ((now_ms - self.at_ms) / 1000.0).max(0.0);
        self.value * (-dt / f64::from(window_secs.max(1))).exp()
    }

    /// Adds one event at `now_ms`.
    pub fn add(&self, now_ms: f64, window_secs: u32) -> Counter {
        Counter { value: self.at(now_ms, window_secs) + 1.0, at_ms: now_ms.max(self.at_ms) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_decay() {
        let mut c = Counter::default();
        for i in 0..60 {
            c = c.add(f64::from(i) * 1000.0, 60);
        }
        let now = 59_000.0;
        assert!((30.0..60.0).contains(&c.at(now, 60)), "{}", c.at(now, 60));
        assert!(c.at(now + 300_000.0, 60) < 1.0, "decays back after a few windows");
    }
}
