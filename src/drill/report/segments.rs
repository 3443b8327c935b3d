//! People per segment: by network kind, country, device class and quirk (what trips a
//! check: privacy browsers, VPNs, intercepting middleboxes, old devices, no JavaScript), with
//! the false positives each suffered (charged more than the base price, or denied), overall
//! and outside the attacking networks.

use super::{End, PersonEnd, clip, pct, percentile};
use crate::drill::scenario::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One segment's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SegmentRow {
    /// `network kind`, `country`, `device` or `quirk`.
    pub by: String,
    /// The segment (`mobile`, `CN`, `old_phone`, `vpn`, `as is`).
    pub segment: String,
    /// People who arrived.
    pub offered: u64,
    /// Admitted, %.
    pub admitted_pct: f64,
    /// Asked more than the base price at least once, %.
    pub charged_more_pct: f64,
    /// Refused as denied, %.
    pub denied_pct: f64,
    /// Got a busy answer at least once, %.
    pub shed_pct: f64,
    /// Gave up (a solve past their patience), %.
    pub gave_up_pct: f64,
    /// Turned away without JavaScript, %.
    pub turned_away_pct: f64,
    /// Charged more or denied, %: the false positives.
    pub false_positive_pct: f64,
    /// People outside the attacking networks (ASN and /24).
    pub outside_offered: u64,
    /// Of those, charged more or denied, %.
    pub outside_false_positive_pct: f64,
    /// Time to admission, 95th percentile, ms.
    pub p95_ms: u64,
}

/// A false positive: a person charged more than the base price, or denied.
pub(super) fn false_positive(e: &PersonEnd) -> bool {
    e.charged_more || e.end == End::Denied
}

fn quirk_name(e: &PersonEnd) -> &'static str {
    match (e.segment.quirk, e.segment.no_js) {
        (Some(q), _) => q.name(),
        (None, true) => "no_js",
        (None, false) => "as is",
    }
}

/// A segment's name for a person.
type Key<'a> = dyn Fn(&PersonEnd) -> String + 'a;

/// The rows, dimension by dimension, segments by size.
pub(super) fn rows(
    s: &Scenario,
    ends: &[PersonEnd],
    outside: &dyn Fn(&PersonEnd) -> bool,
) -> Vec<SegmentRow> {
    let device = |e: &PersonEnd| s.devices.get(e.segment.device).map_or("-".to_string(), |d| d.name.clone());
    let dims: [(&str, &Key<'_>); 4] = [
        ("network kind", &|e| e.segment.kind.name().to_string()),
        ("country", &|e| e.segment.country.to_string()),
        ("device", &device),
        ("quirk", &|e| quirk_name(e).to_string()),
    ];
    let mut out = Vec::new();
    for (by, key) in dims {
        let mut groups: BTreeMap<String, Vec<&PersonEnd>> = BTreeMap::new();
        for e in ends {
            groups.entry(key(e)).or_default().push(e);
        }
        let mut rows: Vec<SegmentRow> =
            groups.into_iter().map(|(name, g)| row(by, name, &g, outside)).collect();
        rows.sort_by(|a, b| b.offered.cmp(&a.offered).then_with(|| a.segment.cmp(&b.segment)));
        out.extend(rows);
    }
    out
}

fn row(by: &str, segment: String, g: &[&PersonEnd], outside: &dyn Fn(&PersonEnd) -> bool) -> SegmentRow {
    let n = g.len() as u64;
    let count = |f: &dyn Fn(&PersonEnd) -> bool| g.iter().filter(|e| f(e)).count() as u64;
    let out: Vec<&&PersonEnd> = g.iter().filter(|e| outside(e)).collect();
    let out_fp = out.iter().filter(|e| false_positive(e)).count() as u64;
    let mut ms: Vec<u32> = g
        .iter()
        .filter(|e| e.end == End::Admitted)
        .map(|e| u32::try_from(e.ms).unwrap_or(u32::MAX))
        .collect();
    ms.sort_unstable();
    SegmentRow {
        by: by.to_string(),
        segment,
        offered: n,
        admitted_pct: pct(count(&|e| e.end == End::Admitted), n),
        charged_more_pct: pct(count(&|e| e.charged_more), n),
        denied_pct: pct(count(&|e| e.end == End::Denied), n),
        shed_pct: pct(count(&|e| e.ever_shed), n),
        gave_up_pct: pct(count(&|e| e.end == End::GaveUp), n),
        turned_away_pct: pct(count(&|e| e.end == End::TurnedAway), n),
        false_positive_pct: pct(count(&false_positive), n),
        outside_offered: out.len() as u64,
        outside_false_positive_pct: pct(out_fp, out.len() as u64),
        p95_ms: percentile(&ms, 0.95),
    }
}

/// People in a country from which its row is shown: every country a scenario gives people in,
/// not the handful a VPN's exit or a stray draw puts elsewhere.
pub const COUNTRY_SHOWN_FROM: u64 = 20;

/// Whether a row is shown in the tables (every row but a country with few people).
pub fn shown(r: &SegmentRow) -> bool {
    r.by != "country" || r.offered >= COUNTRY_SHOWN_FROM
}

/// The rows as text, countries with at least [`COUNTRY_SHOWN_FROM`] people.
pub(super) fn text(rows: &[SegmentRow]) -> String {
    let mut o = String::new();
    if rows.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "people by segment (FP: charged more or denied; outside: not on an attacking ASN or /24):\n  \
         {:<13} {:<12} {:>7} {:>6} {:>7} {:>7} {:>6} {:>6} {:>7} {:>9} {:>7}",
        "by",
        "segment",
        "people",
        "adm %",
        "more %",
        "denied",
        "shed %",
        "FP %",
        "no-JS",
        "out FP %",
        "p95 s"
    );
    for r in rows.iter().filter(|r| shown(r)) {
        let _ = writeln!(
            o,
            "  {:<13} {:<12} {:>7} {:>5.1}% {:>6.1}% {:>6.1}% {:>5.1}% {:>5.1}% {:>6.1}% {:>8.1}% {:>7.1}",
            r.by,
            clip(&r.segment, 12),
            r.offered,
            r.admitted_pct,
            r.charged_more_pct,
            r.denied_pct,
            r.shed_pct,
            r.false_positive_pct,
            r.turned_away_pct,
            r.outside_false_positive_pct,
            r.p95_ms as f64 / 1000.0
        );
    }
    o
}
