//! The stats page as one typed value, [`StatsView`]: built from what the objects answered
//! (`control::StatsRead`) and the configuration, serialized as the JSON answer and rendered
//! as a small script-free HTML page, so both always say the same.

use crate::config::Loaded;
use crate::control::StatsRead;
use crate::control::snapshot::Health;
use crate::decision_log::tenth;
use crate::policy::{CapacityOf, CohortKey, CohortState, Level, Policy};
use crate::present::page::escape;
use crate::store::stats::Action;
use serde::Serialize;
use std::collections::BTreeMap;

/// Minutes the page covers.
pub const MINUTES: u64 = 60;

/// The stats page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatsView {
    /// The policy and whether it loaded.
    pub policy: PolicyView,
    /// Decision counts.
    pub decisions: Decisions,
    /// The busiest cohorts with their level under the policy.
    pub cohorts: Vec<CohortRow>,
    /// The counters' condition and this isolate's object calls.
    pub health: Health,
    /// Each capacity route beside what this isolate's controller measured and charges.
    pub capacity: Vec<CapacityRow>,
    /// SMS by number range: the ranges with the most codes sent and not entered.
    pub otp_ranges: Vec<RangeRow>,
}

/// A number range's row (SMS by number range).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RangeRow {
    /// The range (`+996 500`), a calling code (`+996`: its ranges together) or a network's
    /// name (`[[otp.networks]]`).
    pub range: String,
    /// `range`, `calling code` or `network`.
    pub scope: &'static str,
    /// Codes sent over the window, one decimal.
    pub sent: f64,
    /// Codes verified over the window, one decimal.
    pub verified: f64,
    /// Send attempts over the grace period, one decimal.
    pub tries: f64,
    /// `verified / sent` (none without sends).
    pub conversion: Option<f64>,
    /// Its share of the site's codes over the window, with `[otp.surge]` on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Its usual share (of the codes over `otp.surge.usual_days`), with `[otp.surge]` on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_share: Option<f64>,
    /// `blocked` or `open`.
    pub state: &'static str,
}

/// The policy, as loaded (or its problems).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyView {
    /// Where it came from, with its fingerprint.
    pub source: String,
    /// Whether it loaded.
    pub ok: bool,
    /// Its problems, when it did not.
    pub problems: Vec<String>,
    /// What a broken configuration does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<&'static str>,
    /// Shadow mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<bool>,
    /// Attack mode on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<bool>,
    /// The counters' window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u32>,
    /// The escalation levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<LevelView>>,
    /// Levels per cohort kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort_levels: Option<BTreeMap<&'static str, Vec<LevelView>>>,
}

/// One escalation level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelView {
    /// From this rate on.
    pub at: u32,
    /// Extra bits.
    pub extra_bits: Option<u8>,
    /// Shed.
    pub busy: bool,
}

/// Decision counts over the last hour.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Decisions {
    /// Minutes covered.
    pub last_minutes: u64,
    /// By action.
    pub by_action: BTreeMap<Action, u64>,
    /// Refusals by code.
    pub rejections_by_code: BTreeMap<String, u64>,
    /// Issue, forward and shadow counts by the rule that decided.
    pub by_rule: BTreeMap<Action, BTreeMap<String, u64>>,
    /// Per minute, oldest first.
    pub per_minute: Vec<Minute>,
}

/// One minute of decisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Minute {
    /// Unix minute.
    pub minute: u64,
    /// Challenges issued.
    pub issue: u64,
    /// Sign-ups forwarded.
    pub forward: u64,
    /// Refusals.
    pub reject: u64,
}

/// A cohort's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CohortRow {
    /// The key.
    pub key: String,
    /// Its rate, one decimal.
    pub rate: f64,
    /// Its usual share of the site's sign-ups, with `[attack.usual]` on a warm site (the
    /// level counts only its rate beyond that share of the site's rate now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_share: Option<f64>,
    /// The level reached.
    pub level: usize,
    /// `normal`, `escalated` or `busy`.
    pub state: &'static str,
    /// A run-time panic switch is on.
    pub panic: bool,
}

/// A capacity route's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityRow {
    /// The route.
    pub route: String,
    /// `signups` or `otp_sends`.
    pub counts: &'static str,
    /// Its capacity per minute.
    pub per_minute: u32,
    /// Admitted per minute, last measured.
    pub admitted_per_minute: f64,
    /// Everyone's extra bits.
    pub site_extra_bits: u8,
    /// Cohorts priced above the base.
    pub raised: Vec<Raised>,
    /// Price changes so far.
    pub price_changes: Changes,
}

/// A cohort priced above the base on a capacity route.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Raised {
    /// The cohort.
    pub cohort: String,
    /// Its extra bits (at most the ceiling).
    pub extra_bits: u8,
    /// Shed at the ceiling.
    pub shed: bool,
}

/// Price changes up and down.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changes {
    /// Raised.
    pub up: u64,
    /// Lowered.
    pub down: u64,
}

fn levels(l: &[Level]) -> Vec<LevelView> {
    l.iter().map(|l| LevelView { at: l.at, extra_bits: l.extra_bits, busy: l.busy }).collect()
}

impl StatsView {
    /// The page for the minutes `since ..= now_minute`.
    pub fn of(loaded: &Loaded, read: StatsRead, since: u64, now_minute: u64) -> StatsView {
        let mut d = Decisions { last_minutes: MINUTES, ..Decisions::default() };
        d.per_minute = (since..=now_minute).map(|minute| Minute { minute, ..Minute::default() }).collect();
        for c in &read.counts {
            let n = u64::try_from(c.n).unwrap_or(0);
            *d.by_action.entry(c.action).or_default() += n;
            if c.action == Action::Reject {
                *d.rejections_by_code.entry(c.code.clone()).or_default() += n;
            } else if c.code != "-" {
                *d.by_rule.entry(c.action).or_default().entry(c.code.clone()).or_default() += n;
            }
            let minute = u64::try_from(c.minute).unwrap_or(0);
            if let Some(m) = d.per_minute.iter_mut().find(|m| m.minute == minute) {
                match c.action {
                    Action::Issue => m.issue += n,
                    Action::Forward => m.forward += n,
                    Action::Reject => m.reject += n,
                    Action::Shadow | Action::Siteverify => {}
                }
            }
        }
        let (policy, cohorts, capacity, otp_ranges) = match &loaded.config {
            Ok(config) => {
                let p = &config.policy;
                // the busiest counters as the levels read them (usual counts and the site's)
                let rates: Vec<(CohortKey, f64)> =
                    read.cohorts.iter().filter_map(|e| Some((CohortKey::parse(&e.key)?, e.rate))).collect();
                let site_rate = rates.iter().find(|(k, _)| k.is_site()).map_or(0.0, |(_, r)| *r);
                let state = CohortState { rates, site_rate, ..CohortState::default() };
                let rows = read
                    .cohorts
                    .iter()
                    .filter(|e| {
                        !CohortKey::parse(&e.key)
                            .is_some_and(|k| k.is_capacity() || k.otp_count().is_some() || k.is_usual())
                    })
                    .map(|e| cohort_row(p, &state, &e.key, e.rate, e.panic))
                    .collect();
                let view = PolicyView {
                    source: config.policy_source.clone(),
                    ok: true,
                    problems: Vec::new(),
                    effect: None,
                    shadow: Some(p.shadow),
                    attack: Some(p.attack.enabled),
                    window_secs: Some(p.attack.window_secs),
                    levels: Some(levels(&p.attack.levels)),
                    cohort_levels: Some(
                        p.attack.cohort_levels.iter().map(|(k, l)| (k.name(), levels(l))).collect(),
                    ),
                };
                (view, rows, capacity_rows(p, &read), range_rows(&read))
            }
            Err(errors) => {
                let view = PolicyView {
                    source: loaded.policy_source.clone(),
                    ok: false,
                    problems: errors.0.iter().map(ToString::to_string).collect(),
                    effect: Some("protected routes answer 503 until the configuration is fixed"),
                    shadow: None,
                    attack: None,
                    window_secs: None,
                    levels: None,
                    cohort_levels: None,
                };
                (view, Vec::new(), Vec::new(), Vec::new())
            }
        };
        StatsView { policy, decisions: d, cohorts, health: read.health, capacity, otp_ranges }
    }

    /// The page as a small, script-free HTML document: a stacked bar chart of the last hour
    /// and tables.
    pub fn html(&self) -> String {
        let per_minute = &self.decisions.per_minute;
        let max =
            per_minute.iter().map(|m| (m.issue + m.forward + m.reject).max(1)).max().unwrap_or(1) as f64;
        let (w, h) = (600.0, 160.0);
        let bar = w / per_minute.len().max(1) as f64;
        let mut bars = String::new();
        for (i, m) in per_minute.iter().enumerate() {
            let x = i as f64 * bar;
            let mut y = h;
            for (n, color) in [(m.forward, "#1b7f3b"), (m.reject, "#b3261e"), (m.issue, "#7a8aa6")] {
                let bh = n as f64 / max * (h - 10.0);
                y -= bh;
                if n > 0 {
                    bars.push_str(&format!(
                        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"/>",
                        (bar - 1.0).max(1.0)
                    ));
                }
            }
        }
        let list = |rows: Vec<(String, u64)>| -> String {
            rows.iter().map(|(k, n)| format!("<tr><td>{}</td><td>{n}</td></tr>", escape(k))).collect()
        };
        let by_action =
            list(self.decisions.by_action.iter().map(|(a, n)| (a.name().to_string(), *n)).collect());
        let by_code = list(self.decisions.rejections_by_code.iter().map(|(c, n)| (c.clone(), *n)).collect());
        let cohort_rows: String = self
            .cohorts
            .iter()
            .map(|c| {
                let usual =
                    c.usual_share.map(|s| format!(" (usual share {:.1} %)", s * 100.0)).unwrap_or_default();
                format!(
                    "<tr><td>{}</td><td>{:.1}{usual}</td><td>{}</td><td>{}</td></tr>",
                    escape(&c.key),
                    c.rate,
                    c.level,
                    c.state
                )
            })
            .collect();
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Gate stats</title></head>\
             <body style=\"font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a\"><main>\
             <h1>Sign-up gate</h1><p>Policy: {}</p>\
             <h2>Decisions, last 60 minutes</h2>\
             <svg role=\"img\" aria-labelledby=\"chart-title\" viewBox=\"0 0 {w} {h}\" width=\"100%\" style=\"border:1px solid #ccc\"><title id=\"chart-title\">Decisions per minute: forwarded (green), rejected (red), challenges issued (grey)</title>{bars}</svg>\
             <p>Green: forwarded sign-ups. Red: rejected. Grey: challenges issued.</p>\
             <h2>By action</h2><table>{by_action}</table><h2>Rejections by reason</h2><table>{by_code}</table>\
             <h2>Busiest cohorts</h2><table><tr><th>cohort</th><th>rate / window</th><th>level</th><th>state</th></tr>{cohort_rows}</table>\
             {}{}</main></body></html>",
            self.policy_status(),
            self.capacity_table(),
            self.range_table(),
        )
    }

    /// The SMS-by-range section (absent when no range was counted).
    fn range_table(&self) -> String {
        if self.otp_ranges.is_empty() {
            return String::new();
        }
        let rows: String = self
            .otp_ranges
            .iter()
            .map(|r| {
                let percent = |x: Option<f64>| x.map_or("–".to_string(), |c| format!("{:.0} %", c * 100.0));
                let conversion = percent(r.conversion);
                let share = format!("{} ({})", percent(r.share), percent(r.usual_share));
                format!(
                    "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{conversion}</td><td>{share}</td><td>{:.1}</td><td>{}</td></tr>",
                    escape(&if r.scope == "network" { format!("network {}", r.range) } else { r.range.clone() }),
                    r.sent,
                    r.verified,
                    r.tries,
                    r.state
                )
            })
            .collect();
        format!(
            "<h2>SMS by number range</h2><table><tr><th>range, calling code or network</th><th>codes sent</th><th>entered</th><th>conversion</th><th>share of codes (usual)</th><th>tries (grace)</th><th>state</th></tr>{rows}</table>"
        )
    }

    /// "policy/gate.toml (bundled), sha256 …: loaded", or the problems of a broken one.
    fn policy_status(&self) -> String {
        let source = escape(&self.policy.source);
        if self.policy.ok {
            return format!("{source}: loaded");
        }
        let problems: Vec<String> = self.policy.problems.iter().map(|p| escape(p)).collect();
        format!("{source}: <strong>not loaded, sign-ups are closed (503)</strong>: {}", problems.join("; "))
    }

    /// The capacity section (absent when no route states a capacity).
    fn capacity_table(&self) -> String {
        if self.capacity.is_empty() {
            return String::new();
        }
        let rows: String = self
            .capacity
            .iter()
            .map(|r| {
                let raised: Vec<String> = r
                    .raised
                    .iter()
                    .map(|c| {
                        let price = if c.shed { "shed".to_string() } else { format!("+{}", c.extra_bits) };
                        format!("{} {price}", escape(&c.cohort))
                    })
                    .collect();
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{} / {}</td><td>+{}</td><td>{}</td></tr>",
                    escape(&r.route),
                    r.counts,
                    r.admitted_per_minute,
                    r.per_minute,
                    r.site_extra_bits,
                    if raised.is_empty() { "none".to_string() } else { raised.join(", ") }
                )
            })
            .collect();
        format!(
            "<h2>Capacity (this isolate)</h2><table><tr><th>route</th><th>counts</th><th>admitted / capacity per minute</th><th>everyone</th><th>cohorts raised</th></tr>{rows}</table>"
        )
    }
}

/// A cohort's row: its level under the policy and whether it is shed.
fn cohort_row(policy: &Policy, state: &CohortState, key: &str, rate: f64, panic: bool) -> CohortRow {
    let parsed = CohortKey::parse(key);
    let (level, usual_share) = match &parsed {
        Some(k) if k.kind().is_some() => {
            let (counted, share) = policy.attack.counted_rate(state, k, rate);
            (policy.level_for(k, counted), share)
        }
        Some(k) if !k.is_site() => (policy.level_for(k, rate), None),
        _ => (0, None),
    };
    let busy = panic
        || parsed
            .as_ref()
            .is_some_and(|k| level > 0 && policy.attack.levels_for(k).get(level - 1).is_some_and(|l| l.busy));
    let state = if busy {
        "busy"
    } else if level > 0 {
        "escalated"
    } else {
        "normal"
    };
    CohortRow { key: key.to_string(), rate: tenth(rate), usual_share, level, state, panic }
}

/// The ranges among the busiest keys, by codes sent and not entered (most first).
fn range_rows(read: &StatsRead) -> Vec<RangeRow> {
    use crate::policy::OtpCount;
    /// A scope's counts as the stats read has them.
    #[derive(Default)]
    struct Counts {
        sent: f64,
        verified: f64,
        tries: f64,
        usual: f64,
        blocked: bool,
    }
    let mut by_range: BTreeMap<String, Counts> = BTreeMap::new();
    let mut site = Counts::default();
    for e in &read.cohorts {
        let Some(key) = CohortKey::parse(&e.key) else { continue };
        // first seen's entered codes are not a range's row; the site's sends are every row's base
        let Some(count) = key.otp_count().filter(|c| *c != OtpCount::Seen) else { continue };
        let row =
            if key.value() == "*" { &mut site } else { by_range.entry(key.value().to_string()).or_default() };
        match count {
            OtpCount::Sent => row.sent = e.rate,
            OtpCount::Verified => row.verified = e.rate,
            OtpCount::Tries => row.tries = e.rate,
            OtpCount::Usual => row.usual = e.rate,
            OtpCount::Block => row.blocked = e.panic,
            OtpCount::Recent | OtpCount::VerifiedRecent | OtpCount::Seen => {}
        }
    }
    let share = |part: f64, whole: f64| (whole > 0.0).then(|| (part / whole).clamp(0.0, 1.0));
    let mut rows: Vec<RangeRow> = by_range
        .into_iter()
        .map(|(value, Counts { sent, verified, tries, usual, blocked })| {
            let (scope, range) =
                match (crate::policy::calling_code_in_scope(&value), crate::policy::network_in_scope(&value))
                {
                    (Some(code), _) => ("calling code", code.to_string()),
                    (None, Some(name)) => ("network", name.to_string()),
                    (None, None) => ("range", value),
                };
            RangeRow {
                range,
                scope,
                sent: tenth(sent),
                verified: tenth(verified),
                tries: tenth(tries),
                conversion: (sent > 0.0).then(|| (verified / sent).min(1.0)),
                share: share(sent, site.sent),
                usual_share: share(usual, site.usual),
                state: if blocked { "blocked" } else { "open" },
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.sent - b.verified).total_cmp(&(a.sent - a.verified)).then_with(|| a.range.cmp(&b.range))
    });
    // the worst 20 ranges and, apart, the worst 10 calling codes and the worst 10 networks (a
    // wider scope's counts are at least its ranges': they would crowd the ranges out, and a
    // calling code's would crowd out its networks)
    let of = |scope: &str, n: usize| -> Vec<RangeRow> {
        rows.iter().filter(|r| r.scope == scope).take(n).cloned().collect()
    };
    [of("range", 20), of("calling code", 10), of("network", 10)].concat()
}

fn capacity_rows(policy: &Policy, read: &StatsRead) -> Vec<CapacityRow> {
    policy
        .attack
        .capacity
        .iter()
        .map(|c| {
            let r = read.capacity.iter().find(|r| r.route == c.route).cloned().unwrap_or_default();
            CapacityRow {
                route: c.route.clone(),
                counts: match c.what {
                    CapacityOf::Signups => "signups",
                    CapacityOf::OtpSends => "otp_sends",
                },
                per_minute: c.per_minute,
                admitted_per_minute: tenth(r.admitted_per_minute),
                site_extra_bits: r.site_bits,
                raised: r
                    .raised
                    .iter()
                    .map(|(cohort, bits)| Raised {
                        cohort: cohort.clone(),
                        extra_bits: (*bits).min(c.ceiling_bits),
                        shed: *bits > c.ceiling_bits,
                    })
                    .collect(),
                price_changes: Changes { up: r.changes.0, down: r.changes.1 },
            }
        })
        .collect()
}
