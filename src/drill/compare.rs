//! `--compare`: one scenario under several defences side by side, each played with several
//! seeds (at least five) and summarised as the median and the range over them.
//!
//! (a) no gate; (b) the incident's blunt responses — only +86 numbers, then registration
//! closed; (c) proof of work alone at the base price (no fingerprint pricing, no rules, no
//! attack mode); (d) the shipped policy; (e) the shipped policy with capacity pricing: an
//! `[[attack.capacity]]` entry per route stating the scenario origin's capacity; (f) the same with
//! banked effort (the widget banks while people type and tops up a price that moved); (g) the
//! same with a waiting line instead of a site-wide price (issue 19). Rows
//! (a)–(e) play the widget as it was before banking (solve on focus, refetch on a rise), so
//! they stay comparable with earlier reports. Eight defences.

use crate::drill::engine::{self, Defence, Widget};
use crate::drill::gate::Lowered;
use crate::drill::report::{PopStats, Report, html, money_text};
use crate::drill::scenario::{Realism, Scenario};
use crate::policy::{Capacity, CapacityOf};
use crate::request::route::MatchKey;
use crate::signals::RiskPolicy;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod paired;

/// The waiting line's bound in the line row, seconds (a challenge on a route with a line lives
/// this much longer, so its place is kept through the wait).
pub const LINE_MAX_WAIT_SECS: u32 = 900;

/// Seeds a comparison plays by default.
pub const DEFAULT_SEEDS: u32 = 5;

/// The policy with the scenario origin's capacity stated: the OTP route at the SMS provider's,
/// the sign-up routes sharing the origin's (split evenly when there are several).
pub fn with_capacity(scenario: &Scenario, policy: &Lowered) -> Lowered {
    with_capacity_line(scenario, policy, 0)
}

/// [`with_capacity`] with a waiting line of at most `line_max_wait_secs` on every route.
pub fn with_capacity_line(scenario: &Scenario, policy: &Lowered, line_max_wait_secs: u32) -> Lowered {
    let mut p = policy.clone();
    let otp = scenario.origin.otp_route.clone();
    let mut routes: Vec<String> = scenario
        .people
        .iter()
        .map(|g| g.route.clone())
        .chain(scenario.attackers.iter().map(|a| a.route.clone()))
        .filter(|r| Some(r) != otp.as_ref())
        .collect();
    routes.sort();
    routes.dedup();
    let share = scenario.origin.signup_capacity_per_min / u32::try_from(routes.len().max(1)).unwrap_or(1);
    let entry = |route: String, what, per_minute: u32| Capacity {
        route: MatchKey::of(&route).full,
        what,
        per_minute: per_minute.max(1),
        ceiling_bits: 8,
        period_secs: 10,
        line_max_wait_secs,
    };
    p.policy.attack.capacity = routes.into_iter().map(|r| entry(r, CapacityOf::Signups, share)).collect();
    if let (Some(route), Some(n)) = (otp, scenario.origin.otp_capacity_per_min) {
        p.policy.attack.capacity.push(entry(route, CapacityOf::OtpSends, n));
    }
    p
}

/// The defences compared, built from the (lowered) policy given.
pub fn defences(scenario: &Scenario, policy: &Lowered) -> Vec<Defence> {
    let mut pow_only = policy.clone();
    pow_only.policy.rules.clear();
    pow_only.policy.risk = RiskPolicy { more_work_at: u32::MAX - 1, deny_at: u32::MAX, max_extra_bits: 0 };
    pow_only.policy.attack.enabled = false;
    let line = Defence::Gate(
        Box::new(with_capacity_line(scenario, policy, LINE_MAX_WAIT_SECS)),
        "the policy with a waiting line and banked effort".into(),
        Widget::Banking,
    );
    // the control: the same people with no attacker, under the last defence
    let control = (!scenario.attackers.is_empty()).then(|| Defence::PeopleOnly(Box::new(line.clone())));
    let mut list = vec![
        Defence::NoGate,
        Defence::OnlyCallingCode("86".into()),
        Defence::Closed,
        Defence::Gate(Box::new(pow_only), "proof of work alone, base price".into(), Widget::SolveOnFocus),
        Defence::Gate(Box::new(policy.clone()), "the policy".into(), Widget::SolveOnFocus),
        Defence::Gate(
            Box::new(with_capacity(scenario, policy)),
            "the policy with capacity pricing".into(),
            Widget::SolveOnFocus,
        ),
        Defence::Gate(
            Box::new(with_capacity(scenario, policy)),
            "the policy with capacity pricing and banked effort".into(),
            Widget::Banking,
        ),
        line,
    ];
    list.extend(control);
    list
}

/// A defence's name, as the reports print it.
pub fn name(d: &Defence) -> String {
    crate::drill::report::defence_name(d)
}

/// Every defence under every seed: `runs[defence][seed]`.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// The seeds played.
    pub seeds: Vec<u64>,
    /// Reports per defence, per seed.
    pub runs: Vec<Vec<Report>>,
}

/// Plays every defence (of [`defences`], or some of them) with every seed on `jobs` threads
/// (the gate's runs first, as they are the long ones); `progress` gets (runs done, runs in all).
pub fn run(
    scenario: &Scenario,
    list: &[Defence],
    seeds: &[u64],
    jobs: usize,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Comparison {
    let mut work: Vec<(usize, usize)> =
        (0..list.len()).flat_map(|d| (0..seeds.len()).map(move |s| (d, s))).collect();
    work.sort_by_key(|(d, _)| !matches!(list.get(*d), Some(Defence::Gate(..))));
    let results: Mutex<Vec<Option<Report>>> = Mutex::new(vec![None; work.len()]);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(d, s)) = work.get(i) else { break };
                    let (Some(defence), Some(seed)) = (list.get(d), seeds.get(s)) else { break };
                    #[allow(clippy::disallowed_methods)] // the CLI reports each run's wall time
                    let started = std::time::Instant::now();
                    let mut report = engine::run(scenario, defence, *seed, None, None);
                    report.wall_secs = started.elapsed().as_secs_f64();
                    if let Ok(mut r) = results.lock()
                        && let Some(slot) = r.get_mut(i)
                    {
                        *slot = Some(report);
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if let Some(p) = progress {
                        p(n, work.len());
                    }
                }
            });
        }
    });
    let mut flat = results.into_inner().unwrap_or_default();
    let mut runs: Vec<Vec<Report>> = vec![Vec::new(); list.len()];
    let mut order: Vec<(usize, usize, Report)> = Vec::new();
    for (i, r) in flat.iter_mut().enumerate() {
        if let (Some(&(d, s)), Some(r)) = (work.get(i), r.take()) {
            order.push((d, s, r));
        }
    }
    order.sort_by_key(|(d, s, _)| (*d, *s));
    for (d, _, r) in order {
        if let Some(v) = runs.get_mut(d) {
            v.push(r);
        }
    }
    Comparison { seeds: seeds.to_vec(), runs }
}

/// The median and the range of some figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// Of these values (`None` when empty; NaNs are ignored).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match (v.get((n - 1) / 2), v.get(n / 2)) {
            (Some(a), Some(b)) => (a + b) / 2.0,
            _ => 0.0,
        };
        Some(Spread { median, min: v.first().copied().unwrap_or(0.0), max: v.last().copied().unwrap_or(0.0) })
    }

    /// `median [min–max]` with `f` for each, or the value alone when all agree.
    pub fn show(&self, f: &dyn Fn(f64) -> String) -> String {
        let (m, lo, hi) = (f(self.median), f(self.min), f(self.max));
        if lo == hi { m } else { format!("{m} [{lo}–{hi}]") }
    }
}

/// A cell over the seeds: `f` per report, shown with `show`; `-` when no report has it.
fn cell(reports: &[Report], f: &dyn Fn(&Report) -> Option<f64>, show: &dyn Fn(f64) -> String) -> String {
    Spread::of(reports.iter().filter_map(f)).map_or("-".into(), |s| s.show(show))
}

/// The tier groups of the main table.
const GROUPS: [(&str, &[Realism]); 3] = [
    ("scripts: tool, copied UA", &[Realism::Tool, Realism::CopiedUa]),
    ("full headers, forged signals", &[Realism::FullHeaders, Realism::ForgedSignals]),
    ("stealth, browser and phone farms", &[Realism::Stealth, Realism::BrowserFarm, Realism::PhoneFarm]),
];

fn fleets<'r>(r: &'r Report, tiers: &'r [Realism]) -> impl Iterator<Item = &'r PopStats> + 'r {
    r.populations.iter().filter(move |p| {
        p.kind == "attacker" && !p.label.contains("flood") && tiers.iter().any(|t| t.name() == p.realism)
    })
}

/// Admitted over all attempts (the unaffordable included), %, of the fleets of some tiers.
fn group_share(r: &Report, tiers: &[Realism]) -> Option<f64> {
    let (mut all, mut adm) = (0u64, 0u64);
    for p in fleets(r, tiers) {
        all += p.attempts;
        adm += p.admitted;
    }
    (all > 0).then(|| 100.0 * adm as f64 / all as f64)
}

fn bots(r: &Report) -> impl Iterator<Item = &PopStats> {
    r.populations.iter().filter(|p| p.kind == "attacker")
}

fn pc(x: f64) -> String {
    format!("{x:.1}%")
}

/// The side-by-side tables: defences, then fleets and people's segments under the gate.
pub fn table(c: &Comparison) -> String {
    let mut o = String::new();
    let Some(first) = c.runs.first().and_then(|r| r.first()) else { return o };
    let seeds: Vec<String> = c.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(
        o,
        "drill {:?}, seeds {}, {} s virtual; origin capacity {}/min; {} isolate(s); money at {} per core-hour, {} per GPU-hour\n\
         Each cell: median [min–max] over the seeds. Bots admitted: % of all attempts, unaffordable ones included.",
        first.scenario,
        seeds.join(" "),
        first.duration_secs,
        first.signup_capacity_per_min,
        first.isolates,
        money_text(first.core_hour, &first.currency),
        money_text(first.gpu_hour, &first.currency),
    );
    let mut head = vec![
        "defence",
        "people admitted",
        "most any gate could admit",
        "outside attacking networks",
        "people charged more or denied (outside)",
        "felt p95 desktop / phone (everyone who tried)",
    ];
    head.extend(GROUPS.iter().map(|g| g.0));
    head.extend([
        "bots unaffordable",
        "bot sign-ups/min",
        "attacker cost per bot sign-up",
        "minutes over capacity",
        "line minutes under 95 % of capacity",
    ]);
    let _ = writeln!(o, "\n| {} |", head.join(" | "));
    let _ = writeln!(o, "|---|{}", "---:|".repeat(head.len() - 1));
    for reports in &c.runs {
        let Some(r0) = reports.first() else { continue };
        let p95 = |device: &'static str| {
            move |r: &Report| {
                r.people.felt.iter().find(|f| f.device == device).map(|f| f.p95_ms as f64 / 1000.0)
            }
        };
        let secs = |x: f64| format!("{x:.1} s");
        let mut row = vec![
            r0.defence.clone(),
            cell(reports, &|r| Some(r.people.admitted_pct), &pc),
            cell(reports, &|r| Some(r.people.most_admissible_pct), &pc),
            cell(
                reports,
                &|r| (r.people.outside_attack_offered > 0).then_some(r.people.outside_attack_pct),
                &pc,
            ),
            cell(
                reports,
                &|r| {
                    (r.people.outside_attack_offered > 0)
                        .then_some(r.people.outside_attack_false_positive_pct)
                },
                &pc,
            ),
            format!("{} / {}", cell(reports, &p95("desktop"), &secs), cell(reports, &p95("phone"), &secs)),
        ];
        for (_, tiers) in GROUPS {
            row.push(cell(reports, &|r| group_share(r, tiers), &pc));
        }
        row.push(cell(
            reports,
            &|r| {
                let all: u64 = bots(r).map(|p| p.attempts).sum();
                (all > 0).then(|| 100.0 * bots(r).map(|p| p.unaffordable).sum::<u64>() as f64 / all as f64)
            },
            &pc,
        ));
        row.push(cell(
            reports,
            &|r| {
                Some(
                    bots(r).map(|p| (p.admitted + p.replays_admitted) as f64).sum::<f64>()
                        / (f64::from(r.duration_secs) / 60.0),
                )
            },
            &|x| format!("{x:.1}"),
        ));
        row.push(cost_cell(reports));
        row.push(cell(reports, &|r| Some(r.minutes_over_capacity as f64), &|x| format!("{x:.0}")));
        row.push(format!(
            "{} of {}",
            cell(reports, &|r| Some(r.line_minutes_under_capacity as f64), &|x| format!("{x:.0}")),
            cell(reports, &|r| Some(r.line_minutes as f64), &|x| format!("{x:.0}"))
        ));
        let _ = writeln!(o, "| {} |", row.join(" | "));
    }
    o.push_str(&paired_with_no_gate(c));
    for reports in c.runs.iter().filter(|r| r.first().is_some_and(|r| r.defence.contains("the policy"))) {
        o.push_str(&fleet_table(reports));
        o.push_str(&segment_table(reports));
    }
    o
}

/// The defence every other row is paired with: the gate exists to do better than none, for
/// people whatever the attack, for bots during one.
const BASE: &str = "no gate";

/// Every other row against no gate, seed by seed (the engine's draws are per population, so a
/// seed's difference is what the defence did: docs/drill.md § Paired runs).
fn paired_with_no_gate(c: &Comparison) -> String {
    let mut o = String::new();
    let Some(base) = c.runs.iter().find(|r| r.first().is_some_and(|r| r.defence == BASE)) else { return o };
    let others: Vec<&Vec<Report>> =
        c.runs.iter().filter(|r| r.first().is_some_and(|r| r.defence != BASE)).collect();
    if others.is_empty() {
        return o;
    }
    let mut figures: Vec<(&str, paired::Figure)> = vec![
        ("people admitted", Box::new(|r: &Report| Some(r.people.admitted_pct))),
        (
            "outside attacking networks",
            Box::new(|r: &Report| {
                (r.people.outside_attack_offered > 0).then_some(r.people.outside_attack_pct)
            }),
        ),
    ];
    for (name, tiers) in GROUPS {
        figures.push((name, Box::new(move |r: &Report| group_share(r, tiers))));
    }
    let _ = writeln!(
        o,
        "\nEach row against \"{BASE}\", seed by seed: the difference in points, median [min–max]; \
         seeds up, down."
    );
    let head: Vec<&str> = figures.iter().map(|f| f.0).collect();
    let _ = writeln!(o, "\n| defence | {} |", head.join(" | "));
    let _ = writeln!(o, "|---|{}", "---:|".repeat(head.len()));
    for reports in others {
        let Some(r0) = reports.first() else { continue };
        let cells: Vec<String> = figures
            .iter()
            .map(|(name, f)| {
                paired::row((*name).into(), base, reports, &**f).map_or("-".into(), |r| {
                    format!("{}; {} up, {} down", paired::show_diff(&r), r.higher, r.lower)
                })
            })
            .collect();
        let _ = writeln!(o, "| {} | {} |", r0.defence, cells.join(" | "));
    }
    o
}

/// The attackers' cost per admitted sign-up: core-seconds (and GPU-seconds) and money; what
/// they spent when nothing got in.
fn cost_cell(reports: &[Report]) -> String {
    let got = |r: &Report| bots(r).map(|p| p.admitted + p.replays_admitted).sum::<u64>();
    let spent = |r: &Report, f: &dyn Fn(&PopStats) -> f64| bots(r).map(f).sum::<f64>();
    let cur = reports.first().map_or("", |r| r.currency.as_str());
    let none_in = reports.iter().all(|r| got(r) == 0);
    let per = |r: &Report, f: &dyn Fn(&PopStats) -> f64| {
        let (g, s) = (got(r), spent(r, f));
        if none_in { (s > 0.0).then_some(s) } else { (g > 0 && s > 0.0).then(|| s / g as f64) }
    };
    let core = cell(reports, &|r| per(r, &|p| p.core_seconds), &|x| format!("{x:.1} core-s"));
    let gpu = cell(reports, &|r| per(r, &|p| p.gpu_seconds), &|x| format!("{x:.2} GPU-s"));
    let money = cell(reports, &|r| per(r, &|p| p.money), &|x| money_text(x, cur));
    let paid = match (core.as_str(), gpu.as_str()) {
        ("-", "-") => return "0".into(),
        (_, "-") => format!("{core}, {money}"),
        ("-", _) => format!("{gpu}, {money}"),
        _ => format!("{core} + {gpu}, {money}"),
    };
    if none_in { format!("{paid} spent, none admitted") } else { paid }
}

/// Per fleet under one defence: admitted, unaffordable, cost and whether it pays.
fn fleet_table(reports: &[Report]) -> String {
    let mut o = String::new();
    let Some(r0) = reports.first() else { return o };
    let cur = r0.currency.as_str();
    let _ = writeln!(
        o,
        "\n{} — fleets (admitted and unaffordable: % of all attempts; pays: value of what got in minus the solving's cost)\n\n\
         | fleet | tier | admitted | unaffordable | held back or declined | core-s per sign-up | money per sign-up | value each | pays? |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|",
        r0.defence
    );
    for (i, p) in r0.populations.iter().enumerate().filter(|(_, p)| p.kind == "attacker") {
        let of = |f: fn(&PopStats) -> Option<f64>| move |r: &Report| r.populations.get(i).and_then(f);
        let profit = Spread::of(reports.iter().filter_map(|r| r.populations.get(i).and_then(|p| p.profit)));
        let pays = match profit {
            None => "-".to_string(),
            Some(s) if s.min > 0.0 => format!("yes, {}", s.show(&|x| money_text(x, cur))),
            Some(s) if s.max <= 0.0 => format!("no, {}", s.show(&|x| money_text(x, cur))),
            Some(s) => format!("some seeds, {}", s.show(&|x| money_text(x, cur))),
        };
        let row = [
            p.name.clone(),
            p.label.clone(),
            cell(reports, &of(|p| Some(p.admitted_of_attempts_pct)), &pc),
            cell(reports, &of(|p| Some(p.unaffordable_pct)), &pc),
            cell(reports, &of(|p| Some((p.held_back + p.declined) as f64)), &|x| format!("{x:.0}")),
            cell(reports, &of(|p| p.core_seconds_per_admitted.or(p.gpu_seconds_per_admitted)), &|x| {
                format!("{x:.1}")
            }),
            cell(reports, &of(|p| p.money_per_admitted), &|x| money_text(x, cur)),
            p.value_each.map_or("-".into(), |v| money_text(v, cur)),
            pays,
        ];
        let _ = writeln!(o, "| {} |", row.join(" | "));
    }
    o
}

/// People per segment under one defence (countries with people enough to say something).
fn segment_table(reports: &[Report]) -> String {
    let mut o = String::new();
    let Some(r0) = reports.first() else { return o };
    let _ = writeln!(
        o,
        "\n{} — people by segment (FP: charged more or denied; outside: on no attacking ASN or /24)\n\n\
         | by | segment | people | admitted | FP | FP outside | shed once | no-JS turned away |\n|---|---|---:|---:|---:|---:|---:|---:|",
        r0.defence
    );
    for s in r0.people.segments.iter().filter(|s| crate::drill::report::segments::shown(s)) {
        let of = |f: fn(&crate::drill::report::SegmentRow) -> f64| {
            move |r: &Report| r.people.segments.iter().find(|x| x.by == s.by && x.segment == s.segment).map(f)
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.by,
            s.segment,
            cell(reports, &of(|x| x.offered as f64), &|x| format!("{x:.0}")),
            cell(reports, &of(|x| x.admitted_pct), &pc),
            cell(reports, &of(|x| x.false_positive_pct), &pc),
            cell(reports, &of(|x| x.outside_false_positive_pct), &pc),
            cell(reports, &of(|x| x.shed_pct), &pc),
            cell(reports, &of(|x| x.turned_away_pct), &pc),
        );
    }
    o
}

/// The HTML page: one picture of every defence side by side (the first seed), the tables,
/// then each defence's report for the first seed.
pub fn html(c: &Comparison) -> String {
    let first: Vec<&Report> = c.runs.iter().filter_map(|r| r.first()).collect();
    let Some(r0) = first.first() else { return String::new() };
    let mut body = format!("<h1>Attack drill: {}, defences compared</h1>", html::esc(&r0.scenario));
    body.push_str(&html::side_by_side(&first));
    body.push_str(&markdown_tables(&table(c)));
    for r in &first {
        body.push_str(&r.section());
    }
    html::page(&format!("drill {} compared", r0.scenario), &body)
}

/// The text tables as HTML: each run of `|` lines a table, every other line a paragraph.
fn markdown_tables(text: &str) -> String {
    let mut o = String::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let flush = |rows: &mut Vec<Vec<String>>, o: &mut String| {
        if let Some((head, body)) = rows.split_first() {
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            o.push_str(&html::table(&head, body));
        }
        rows.clear();
    };
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            let cells: Vec<String> = t.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            if !cells.iter().all(|c| c.chars().all(|ch| matches!(ch, '-' | ':'))) {
                rows.push(cells);
            }
            continue;
        }
        flush(&mut rows, &mut o);
        if !t.is_empty() {
            let _ = write!(o, "<p>{}</p>", html::esc(t));
        }
    }
    flush(&mut rows, &mut o);
    o
}

#[cfg(test)]
mod tests;
