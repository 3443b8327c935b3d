//! The HTML report: self-contained (inline SVG, no script), tables that wrap instead of
//! overflowing the page. A comparison opens with one picture of every defence side by side
//! ([`side_by_side`]); each report then has its timeline, its people by network kind over
//! time, and its tables.

use super::{Minute, PopStats, Report, SegmentRow, clip};
use std::fmt::Write as _;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em}\
    table{border-collapse:collapse;margin:1em 0;width:100%;table-layout:auto}\
    th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:right;overflow-wrap:anywhere}\
    th:first-child,td:first-child,th.l,td.l{text-align:left}\
    pre{background:#f6f6f6;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}\
    h2{margin-top:2em;border-top:2px solid #333;padding-top:.5em}";

/// A page around a body.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{}</title><style>{STYLE}</style>{body}</html>",
        esc(title)
    )
}

/// A table from a header row and rows of cells (the first column left-aligned).
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut o = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for c in r {
            let _ = write!(o, "<td>{}</td>", esc(c));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
    o
}

impl Report {
    /// A self-contained page for this report.
    pub fn html(&self) -> String {
        page(
            &format!("drill {}", self.scenario),
            &format!("<h1>Attack drill: {}</h1>{}", esc(&self.scenario), self.section()),
        )
    }

    /// This report's part of a page: the defence, its timelines and tables.
    pub fn section(&self) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "<h2>{}</h2><p>seed {}, {} s virtual, {} isolate(s) ({} cold starts), {} requests</p>",
            esc(&self.defence),
            self.seed,
            self.duration_secs,
            self.isolates,
            self.cold_starts,
            self.requests
        );
        o.push_str(&self.svg());
        o.push_str(&self.kinds_svg());
        o.push_str(&table(
            &[
                "population",
                "kind",
                "offered",
                "admitted",
                "adm %",
                "of all attempts",
                "unaffordable",
                "shed",
                "gave up",
                "cost per admitted",
                "refused by reason",
            ],
            &self.populations.iter().map(|p| self.population_row(p)).collect::<Vec<_>>(),
        ));
        o.push_str(&segment_table(&self.people.segments));
        let _ = write!(o, "<pre>{}</pre>", esc(&self.table()));
        o
    }

    fn population_row(&self, p: &PopStats) -> Vec<String> {
        let refused: Vec<String> = p.refused.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let cost = match (p.core_seconds_per_admitted, p.gpu_seconds_per_admitted) {
            (Some(c), _) => format!("{c:.1} core-s, {}", self.money(p.money_per_admitted.unwrap_or(0.0))),
            (_, Some(g)) => format!("{g:.3} GPU-s, {}", self.money(p.money_per_admitted.unwrap_or(0.0))),
            _ => "-".into(),
        };
        vec![
            p.name.clone(),
            p.label.clone(),
            p.offered.to_string(),
            p.admitted.to_string(),
            format!("{:.1}%", p.admitted_pct),
            if p.kind == "people" { "-".into() } else { format!("{:.1}%", p.admitted_of_attempts_pct) },
            p.unaffordable.to_string(),
            p.shed.to_string(),
            p.gave_up.to_string(),
            cost,
            if refused.is_empty() { "-".into() } else { refused.join(", ") },
        ]
    }

    /// The timeline: people admitted, bots admitted, the origin's load and its capacity.
    pub fn svg(&self) -> String {
        let cap = f64::from(self.signup_capacity_per_min);
        let max = self
            .minutes
            .iter()
            .map(|m| (m.people_admitted.max(m.bots_admitted).max(m.signups_forwarded)) as f64)
            .fold(cap, f64::max)
            .max(1.0);
        chart(&self.minutes, max, cap, 1000.0, 320.0, true)
    }

    /// People admitted, % of those who arrived that minute, per network kind.
    pub fn kinds_svg(&self) -> String {
        let kinds: Vec<String> = {
            let mut k: Vec<String> =
                self.minutes.iter().flat_map(|m| m.people_by_kind.keys().cloned()).collect();
            k.sort();
            k.dedup();
            k
        };
        if kinds.is_empty() {
            return String::new();
        }
        let (w, h, pad) = (1000.0, 220.0, 40.0);
        let n = self.minutes.len().max(2) as f64;
        let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
        let y = |v: f64| h - pad - (h - 2.0 * pad) * v / 100.0;
        let colors = ["#1a7f37", "#0969da", "#bf8700", "#8250df", "#cf222e", "#57606a"];
        let mut o = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
             aria-label=\"people admitted per minute by network kind, percent\"><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
             <text x=\"4\" y=\"{}\" font-size=\"11\">100%</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>",
            y(100.0) + 4.0,
            y(0.0)
        );
        for (ci, kind) in kinds.iter().enumerate() {
            let color = colors.get(ci % colors.len()).copied().unwrap_or("#000");
            let pts: Vec<String> = self
                .minutes
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let k = m.people_by_kind.get(kind)?;
                    (k.offered > 0).then(|| {
                        format!("{:.1},{:.1}", x(i), y(100.0 * k.admitted as f64 / k.offered as f64))
                    })
                })
                .collect();
            let _ = write!(
                o,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
                 <rect x=\"{}\" y=\"12\" width=\"12\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"18\" font-size=\"12\">{}</text>",
                pts.join(" "),
                pad + 10.0 + 130.0 * ci as f64,
                pad + 26.0 + 130.0 * ci as f64,
                esc(&format!("{kind} (admitted %)"))
            );
        }
        o.push_str("</svg>");
        o
    }
}

/// The segment table.
fn segment_table(rows: &[SegmentRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.by.clone(),
                r.segment.clone(),
                r.offered.to_string(),
                format!("{:.1}%", r.admitted_pct),
                format!("{:.1}%", r.charged_more_pct),
                format!("{:.1}%", r.denied_pct),
                format!("{:.1}%", r.shed_pct),
                format!("{:.1}%", r.turned_away_pct),
                format!("{:.1}%", r.false_positive_pct),
                format!("{:.1}%", r.outside_false_positive_pct),
                format!("{:.1} s", r.p95_ms as f64 / 1000.0),
            ]
        })
        .collect();
    format!(
        "<h3>People by segment</h3><p>FP: charged more than the base price, or denied. Outside: people on no \
         ASN or /24 an attacker used.</p>{}",
        table(
            &[
                "by",
                "segment",
                "people",
                "admitted",
                "charged more",
                "denied",
                "shed once",
                "no-JS turned away",
                "FP",
                "FP outside",
                "p95"
            ],
            &cells
        )
    )
}

/// One panel: people admitted, bots admitted and the origin's load per minute, with the
/// capacity line, on a common scale `max`.
fn chart(minutes: &[Minute], max: f64, cap: f64, w: f64, h: f64, legend: bool) -> String {
    let pad = 40.0;
    let n = minutes.len().max(2) as f64;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v / max;
    let line = |f: &dyn Fn(&Minute) -> f64| {
        minutes
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{:.1},{:.1}", x(i), y(f(m))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"per minute: people admitted, bots admitted, origin load and capacity\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
         <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\
         <text x=\"4\" y=\"{}\" font-size=\"11\">{max:.0}/min</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">minute {}</text>",
        h - pad,
        w - pad,
        h - pad,
        pad,
        h - pad,
        w - pad,
        h - 8.0,
        minutes.len()
    );
    let _ = write!(
        o,
        "<line x1=\"{pad}\" y1=\"{y0:.1}\" x2=\"{}\" y2=\"{y0:.1}\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>",
        w - pad,
        y0 = y(cap)
    );
    let series: [Series<'_>; 3] = [
        ("#bbb", "origin load (sign-ups forwarded)", &|m: &Minute| m.signups_forwarded as f64),
        ("#1a7f37", "people admitted", &|m: &Minute| m.people_admitted as f64),
        ("#d1242f", "bots admitted", &|m: &Minute| m.bots_admitted as f64),
    ];
    for (color, _, f) in &series {
        let _ = write!(
            o,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            line(*f)
        );
    }
    if legend {
        let mut lx = pad + 10.0;
        for (color, label) in series.iter().map(|(c, l, _)| (*c, *l)).chain([("#c00", "capacity")]) {
            let _ = write!(
                o,
                "<rect x=\"{lx}\" y=\"12\" width=\"12\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"18\" font-size=\"12\">{}</text>",
                lx + 16.0,
                esc(label)
            );
            lx += 16.0 + 7.0 * label.len() as f64 + 20.0;
        }
    }
    o.push_str("</svg>");
    o
}

/// One picture comparing the defences: a panel each, side by side on one scale (people
/// admitted in green, bots admitted in red, the origin's load in grey, capacity dashed).
pub fn side_by_side(reports: &[&Report]) -> String {
    let Some(first) = reports.first() else { return String::new() };
    let cap = f64::from(first.signup_capacity_per_min);
    let max = reports
        .iter()
        .flat_map(|r| r.minutes.iter())
        .map(|m| m.people_admitted.max(m.bots_admitted).max(m.signups_forwarded) as f64)
        .fold(cap, f64::max)
        .max(1.0);
    let mut o = String::from(
        "<figure style=\"margin:0\"><div style=\"display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:8px\">",
    );
    for r in reports {
        let _ = write!(
            o,
            "<div><div style=\"font-weight:600;font-size:13px\">{}</div>{}</div>",
            esc(&clip(&r.defence, 60)),
            chart(&r.minutes, max, cap, 400.0, 220.0, false)
        );
    }
    let _ = write!(
        o,
        "</div><figcaption>Per minute, one scale ({max:.0}/min at the top): people admitted (green), bots \
         admitted (red), sign-ups forwarded to the origin (grey) and its capacity (dashed red); seed {}.</figcaption></figure>",
        first.seed
    );
    o
}

/// A chart line: colour, label, value per minute.
type Series<'a> = (&'a str, &'a str, &'a dyn Fn(&Minute) -> f64);

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
