//! `--against`: two policies played as paired runs over the same seeds, each figure shown as
//! the per-seed difference. The engine's draws are per population (docs/drill.md § Paired
//! runs), so a seed's difference is what the policy change did, and its spread over seeds is
//! what the change did through the state people and fleets share: an operator reads whether an
//! edit helped without mistaking one seed's luck for it.

use super::{Comparison, Spread, pc};
use crate::drill::report::Report;
use std::fmt::Write as _;

/// One figure under both policies.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedRow {
    /// What is measured (`all people: admitted`, `<population>: admitted`, …).
    pub figure: String,
    /// Under the first policy (A), over the seeds.
    pub a: Spread,
    /// Under the second (B).
    pub b: Spread,
    /// B − A per seed, in points.
    pub diff: Spread,
    /// Their mean.
    pub mean: f64,
    /// Its standard error (0 with one seed).
    pub standard_error: f64,
    /// Seeds where B is higher.
    pub higher: usize,
    /// Seeds where B is lower.
    pub lower: usize,
}

/// A figure of one report, %.
pub type Figure = Box<dyn Fn(&Report) -> Option<f64>>;

/// The figures compared: people's headline figures, then each population's admitted share
/// (people: of their attempts; fleets: of all attempts, the unaffordable included).
fn figures(first: &Report) -> Vec<(String, Figure)> {
    let mut out: Vec<(String, Figure)> = vec![
        ("all people: admitted".into(), Box::new(|r: &Report| Some(r.people.admitted_pct))),
        (
            "people outside attacking networks: admitted".into(),
            Box::new(|r: &Report| Some(r.people.outside_attack_pct)),
        ),
        (
            "people outside attacking networks: charged more or denied".into(),
            Box::new(|r: &Report| Some(r.people.outside_attack_false_positive_pct)),
        ),
    ];
    for p in &first.populations {
        let name = p.name.clone();
        let people = p.kind == "people";
        let figure: Figure = Box::new(move |r: &Report| {
            let s = r.populations.iter().find(|q| q.name == name)?;
            Some(if people { s.admitted_pct } else { s.admitted_of_attempts_pct })
        });
        out.push((format!("{}: admitted", p.name), figure));
    }
    out
}

/// Every figure of `a` and `b`, each run of `a` paired with the run of `b` of the same seed (a
/// seed played on one side only is left out).
pub fn rows(a: &[Report], b: &[Report]) -> Vec<PairedRow> {
    let Some(first) = a.first() else { return Vec::new() };
    figures(first).into_iter().filter_map(|(figure, f)| row(figure, a, b, &*f)).collect()
}

/// One figure `f` of `a` and `b`, paired by seed (`None` when no seed has it on both sides).
pub fn row(
    figure: String,
    a: &[Report],
    b: &[Report],
    f: &dyn Fn(&Report) -> Option<f64>,
) -> Option<PairedRow> {
    let pairs: Vec<(f64, f64)> =
        a.iter().filter_map(|x| Some((f(x)?, f(b.iter().find(|y| y.seed == x.seed)?)?))).collect();
    let diffs: Vec<f64> = pairs.iter().map(|(x, y)| y - x).collect();
    let diff = Spread::of(diffs.iter().copied())?;
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let standard_error = if diffs.len() > 1 {
        (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt()
    } else {
        0.0
    };
    Some(PairedRow {
        figure,
        a: Spread::of(pairs.iter().map(|p| p.0))?,
        b: Spread::of(pairs.iter().map(|p| p.1))?,
        diff,
        mean,
        standard_error,
        higher: diffs.iter().filter(|d| **d > 0.0).count(),
        lower: diffs.iter().filter(|d| **d < 0.0).count(),
    })
}

/// `median [min–max]` of a difference in points.
pub fn show_diff(r: &PairedRow) -> String {
    r.diff.show(&points)
}

fn points(x: f64) -> String {
    format!("{x:+.2}")
}

/// The table of a two-policy comparison (`c.runs[0]`: A, `c.runs[1]`: B).
pub fn table(c: &Comparison, a_name: &str, b_name: &str) -> String {
    let mut o = String::new();
    let (Some(a), Some(b)) = (c.runs.first(), c.runs.get(1)) else { return o };
    let Some(first) = a.first() else { return o };
    let seeds: Vec<String> = c.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(
        o,
        "drill \"{}\", seeds {}, {} s virtual: A = {a_name}, B = {b_name}, played as paired runs \
         (docs/drill.md#paired-runs)",
        first.scenario,
        seeds.join(" "),
        first.duration_secs
    );
    let _ = writeln!(
        o,
        "A and B: median [min–max] over the seeds; B − A: the difference seed by seed, in points; \
         fleets: % of all attempts.\n"
    );
    let _ = writeln!(o, "| figure | A | B | B − A per seed | mean ± standard error | B higher / lower |");
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
    let n = c.seeds.len();
    for r in rows(a, b) {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {:+.2} ± {:.2} | {} / {} of {n} |",
            r.figure,
            r.a.show(&pc),
            r.b.show(&pc),
            show_diff(&r),
            r.mean,
            r.standard_error,
            r.higher,
            r.lower
        );
    }
    o
}
