//! What happened in a drill: per population, per device class and per minute; as a plain-text
//! table, JSON (the [`Report`] serialized) and a self-contained HTML page with an SVG
//! timeline.

use crate::drill::engine::{Defence, End};
use crate::drill::scenario::Scenario;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

/// Time to admission of one device class: people admitted, p50 and p95 (ms).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Admission {
    /// Device class.
    pub device: String,
    /// People of this class admitted.
    pub admitted: u64,
    /// Median ms from the first request to the origin's acceptance.
    pub p50_ms: u64,
    /// 95th percentile.
    pub p95_ms: u64,
    #[serde(skip)]
    samples: Vec<u32>,
}

/// One population's tally.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PopStats {
    /// Name.
    pub name: String,
    /// `people` or `attacker`.
    pub kind: String,
    /// The attacker's realism level (people: `-`).
    pub realism: String,
    /// The protected route.
    pub route: String,
    /// Attempts made (one per arrival; retries belong to their attempt).
    pub offered: u64,
    /// HTTP requests sent to the gate (challenges, submissions, retries, replays).
    pub requests: u64,
    /// Challenges issued to it.
    pub challenges: u64,
    /// Attempts that ended with the origin accepting the sign-up.
    pub admitted: u64,
    /// Attempts that ended refused, by rejection code.
    pub refused: BTreeMap<String, u64>,
    /// Attempts that ended shed (`busy`, or the origin over its capacity) and stopped trying.
    pub shed: u64,
    /// Attempts that ran out of patience (the solve would end after `give_up_secs`).
    pub gave_up: u64,
    /// Attacker attempts not made: the fleet's solvers were booked beyond `max_queue_secs`.
    pub unaffordable: u64,
    /// Attempts that got at least one busy answer (people: wrongly shed).
    pub ever_shed: u64,
    /// Answers "over capacity" from the origin itself (it refuses sign-ups past its capacity).
    pub origin_full: u64,
    /// Attempts refused as `denied` (people: wrongly denied).
    pub ever_denied: u64,
    /// Replays of an admitted solution that got through / were refused.
    pub replays_admitted: u64,
    /// Replays refused, by code.
    pub replays_refused: BTreeMap<String, u64>,
    /// Admitted as a share of offered, %.
    pub admitted_pct: f64,
    /// CPU core-seconds spent solving (full price).
    pub core_seconds: f64,
    /// GPU-seconds spent solving.
    pub gpu_seconds: f64,
    /// Core-seconds per admitted sign-up.
    pub core_seconds_per_admitted: Option<f64>,
    /// GPU-seconds per admitted sign-up.
    pub gpu_seconds_per_admitted: Option<f64>,
    /// Admitted bot sign-ups per minute (attackers), mean over the run.
    pub admitted_per_minute: f64,
    /// People: time to admission by device class.
    pub admission: Vec<Admission>,
}

impl PopStats {
    /// Records one person's time to admission.
    pub fn admission_ms(&mut self, device: usize, ms: u64) {
        if let Some(a) = self.admission.get_mut(device) {
            a.samples.push(u32::try_from(ms).unwrap_or(u32::MAX));
        }
    }
}

/// One virtual minute.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Minute {
    /// Minute index from the start.
    pub minute: usize,
    /// People admitted.
    pub people_admitted: u64,
    /// Bot sign-ups admitted (OTP sends included).
    pub bots_admitted: u64,
    /// Sign-ups the gate forwarded to the origin (its load; above capacity the origin refuses).
    pub signups_forwarded: u64,
    /// OTP sends forwarded.
    pub otp_forwarded: u64,
}

/// Headline figures for people.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PeopleSummary {
    /// People attempts.
    pub offered: u64,
    /// Admitted.
    pub admitted: u64,
    /// Admitted, %.
    pub admitted_pct: f64,
    /// People whose ASN and /24 no attacker request came from.
    pub outside_attack_offered: u64,
    /// Of those, admitted.
    pub outside_attack_admitted: u64,
    /// Of those, admitted, %.
    pub outside_attack_pct: f64,
    /// People who got a busy answer at least once.
    pub wrongly_shed: u64,
    /// People refused as denied.
    pub wrongly_denied: u64,
    /// Time to admission by device class, all people populations together.
    pub admission: Vec<Admission>,
}

/// A drill's result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// The defence played.
    pub defence: String,
    /// Seed.
    pub seed: u64,
    /// Virtual seconds.
    pub duration_secs: u32,
    /// Bits taken off every price for the real solve (0 without the gate).
    pub discount_bits: u8,
    /// Sign-ups per minute the origin takes.
    pub signup_capacity_per_min: u32,
    /// OTP sends per minute the origin takes.
    pub otp_capacity_per_min: Option<u32>,
    /// HTTP requests played, all populations.
    pub requests: u64,
    /// Store calls the in-memory gate made (cohort reads and counts, ledger spends).
    pub store_calls: u64,
    /// Minutes in which the origin was offered more sign-ups than its capacity.
    pub minutes_over_capacity: u64,
    /// Longest run of consecutive such minutes.
    pub longest_over_capacity_run: u64,
    /// People.
    pub people: PeopleSummary,
    /// Every population.
    pub populations: Vec<PopStats>,
    /// Per minute.
    pub minutes: Vec<Minute>,
    /// Wall-clock seconds the run took (filled by the caller; 0 in tests).
    pub wall_secs: f64,
    #[serde(skip)]
    scratch_pop: PopStats,
    #[serde(skip)]
    scratch_minute: Minute,
}

fn defence_name(d: &Defence) -> String {
    match d {
        Defence::NoGate => "no gate".into(),
        Defence::OnlyCallingCode(cc) => format!("only +{cc} numbers"),
        Defence::Closed => "registration closed".into(),
        Defence::Gate(_, label) => format!("gate: {label}"),
    }
}

fn percentile(sorted: &[u32], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    u64::from(sorted.get(i.min(sorted.len() - 1)).copied().unwrap_or(0))
}

impl Report {
    /// An empty report for a scenario.
    pub fn new(s: &Scenario, defence: &Defence, seed: u64, minutes: usize) -> Report {
        let devices: Vec<Admission> =
            s.devices.iter().map(|d| Admission { device: d.name.clone(), ..Default::default() }).collect();
        let mut populations = Vec::new();
        for p in &s.people {
            populations.push(PopStats {
                name: p.name.clone(),
                kind: "people".into(),
                realism: "-".into(),
                route: p.route.clone(),
                admission: devices.clone(),
                ..Default::default()
            });
        }
        for a in &s.attackers {
            let mut realism = a.realism.name().to_string();
            if a.flood {
                realism.push_str(", challenge flood");
            }
            populations.push(PopStats {
                name: a.name.clone(),
                kind: "attacker".into(),
                realism,
                route: a.route.clone(),
                ..Default::default()
            });
        }
        Report {
            scenario: s.name.clone(),
            defence: defence_name(defence),
            seed,
            duration_secs: s.duration_secs,
            discount_bits: match defence {
                Defence::Gate(l, _) => l.bits,
                _ => 0,
            },
            signup_capacity_per_min: s.origin.signup_capacity_per_min,
            otp_capacity_per_min: s.origin.otp_capacity_per_min,
            populations,
            minutes: (0..minutes).map(|m| Minute { minute: m, ..Default::default() }).collect(),
            people: PeopleSummary { admission: devices, ..Default::default() },
            ..Default::default()
        }
    }

    /// A population's tally (a scratch one for an index out of range).
    pub fn pop_mut(&mut self, p: usize) -> &mut PopStats {
        match self.populations.get_mut(p) {
            Some(s) => s,
            None => &mut self.scratch_pop,
        }
    }

    /// A minute's tally.
    pub fn minutes_mut(&mut self, m: usize) -> &mut Minute {
        match self.minutes.get_mut(m) {
            Some(s) => s,
            None => &mut self.scratch_minute,
        }
    }

    /// Totals, percentiles and the attacking-cohort split, once the run is over.
    pub(crate) fn finish(
        &mut self,
        s: &Scenario,
        people_ends: &[(u32, u32, End)],
        attacker_asns: &HashSet<u32>,
        attacker_prefixes: &HashSet<u32>,
    ) {
        let minutes = f64::from(s.duration_secs) / 60.0;
        let mut all = self.people.admission.clone();
        for p in &mut self.populations {
            self.requests += p.requests;
            p.admitted_pct = if p.offered > 0 { 100.0 * p.admitted as f64 / p.offered as f64 } else { 0.0 };
            let got = (p.admitted + p.replays_admitted) as f64;
            p.core_seconds_per_admitted = (p.core_seconds > 0.0 && got > 0.0).then(|| p.core_seconds / got);
            p.gpu_seconds_per_admitted = (p.gpu_seconds > 0.0 && got > 0.0).then(|| p.gpu_seconds / got);
            p.admitted_per_minute = got / minutes.max(1.0 / 60.0);
            for (i, a) in p.admission.iter_mut().enumerate() {
                a.samples.sort_unstable();
                a.admitted = a.samples.len() as u64;
                a.p50_ms = percentile(&a.samples, 0.5);
                a.p95_ms = percentile(&a.samples, 0.95);
                if let Some(t) = all.get_mut(i) {
                    t.samples.extend_from_slice(&a.samples);
                }
            }
            if p.kind == "people" {
                self.people.offered += p.offered;
                self.people.admitted += p.admitted;
                self.people.wrongly_shed += p.ever_shed;
                self.people.wrongly_denied += p.ever_denied;
            }
        }
        for a in &mut all {
            a.samples.sort_unstable();
            a.admitted = a.samples.len() as u64;
            a.p50_ms = percentile(&a.samples, 0.5);
            a.p95_ms = percentile(&a.samples, 0.95);
        }
        self.people.admission = all;
        let pct = |a: u64, o: u64| if o > 0 { 100.0 * a as f64 / o as f64 } else { 0.0 };
        self.people.admitted_pct = pct(self.people.admitted, self.people.offered);
        for (asn, prefix, end) in people_ends {
            if attacker_asns.contains(asn) || attacker_prefixes.contains(prefix) {
                continue;
            }
            self.people.outside_attack_offered += 1;
            if *end == End::Admitted {
                self.people.outside_attack_admitted += 1;
            }
        }
        self.people.outside_attack_pct =
            pct(self.people.outside_attack_admitted, self.people.outside_attack_offered);
        let cap = u64::from(s.origin.signup_capacity_per_min);
        let mut run = 0;
        for m in &self.minutes {
            if m.signups_forwarded > cap {
                self.minutes_over_capacity += 1;
                run += 1;
                self.longest_over_capacity_run = self.longest_over_capacity_run.max(run);
            } else {
                run = 0;
            }
        }
    }

    /// The plain-text table.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "drill {:?} under {}, seed {}, {} s virtual, {} requests{}",
            self.scenario,
            self.defence,
            self.seed,
            self.duration_secs,
            self.requests,
            if self.wall_secs > 0.0 {
                format!(
                    " in {:.1} s wall ({:.0} requests/s)",
                    self.wall_secs,
                    self.requests as f64 / self.wall_secs
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            o,
            "\n{:<28} {:<22} {:>9} {:>9} {:>7} {:>8} {:>8} {:>7}  refused by reason",
            "population", "kind", "offered", "admitted", "adm %", "shed", "gave up", "unafford"
        );
        for p in &self.populations {
            let kind = if p.kind == "people" { "people".to_string() } else { p.realism.clone() };
            let refused: Vec<String> = p.refused.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(
                o,
                "{:<28} {:<22} {:>9} {:>9} {:>6.1}% {:>8} {:>8} {:>7}  {}",
                clip(&p.name, 28),
                clip(&kind, 22),
                p.offered,
                p.admitted,
                p.admitted_pct,
                p.shed,
                p.gave_up,
                p.unaffordable,
                if refused.is_empty() { "-".into() } else { refused.join(", ") }
            );
        }
        let pe = &self.people;
        let origin_full: u64 =
            self.populations.iter().filter(|p| p.kind == "people").map(|p| p.origin_full).sum();
        let _ = writeln!(
            o,
            "\npeople: {} \"over capacity\" answers from the origin itself (the gate forwarded them)",
            origin_full
        );
        let _ = writeln!(
            o,
            "people admitted {:.2}% ({} of {}); outside the attacking ASNs and /24s {:.2}% ({} of {}); \
             wrongly shed {} (a busy answer from the gate or the origin at least once), wrongly denied {}",
            pe.admitted_pct,
            pe.admitted,
            pe.offered,
            pe.outside_attack_pct,
            pe.outside_attack_admitted,
            pe.outside_attack_offered,
            pe.wrongly_shed,
            pe.wrongly_denied
        );
        let _ = writeln!(o, "time to admission (first request to origin's 201), people:");
        for a in pe.admission.iter().filter(|a| a.admitted > 0) {
            let _ = writeln!(
                o,
                "  {:<12} {:>8} admitted   p50 {:>6.2} s   p95 {:>6.2} s",
                a.device,
                a.admitted,
                a.p50_ms as f64 / 1000.0,
                a.p95_ms as f64 / 1000.0
            );
        }
        let bots: Vec<&PopStats> = self.populations.iter().filter(|p| p.kind == "attacker").collect();
        if !bots.is_empty() {
            let _ = writeln!(o, "attackers:");
            for p in bots {
                let cost = match (p.core_seconds_per_admitted, p.gpu_seconds_per_admitted) {
                    (Some(c), _) => format!("{c:.2} core-s per admitted"),
                    (_, Some(g)) => format!("{g:.4} GPU-s per admitted"),
                    _ if p.admitted + p.replays_admitted == 0 && (p.core_seconds + p.gpu_seconds) > 0.0 => {
                        format!(
                            "{:.0} core-s + {:.1} GPU-s spent, nothing admitted",
                            p.core_seconds, p.gpu_seconds
                        )
                    }
                    _ => "no work paid".into(),
                };
                let replays = if p.replays_admitted + p.replays_refused.values().sum::<u64>() > 0 {
                    format!(
                        "; replays admitted {}, refused {}",
                        p.replays_admitted,
                        p.replays_refused.values().sum::<u64>()
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(
                    o,
                    "  {:<28} admitted {:>5.2}% of attempts, {:>7.1}/min; {}; {} challenges{}",
                    clip(&p.name, 28),
                    p.admitted_pct,
                    p.admitted_per_minute,
                    cost,
                    p.challenges,
                    replays
                );
            }
        }
        let peak = self.minutes.iter().map(|m| m.signups_forwarded).max().unwrap_or(0);
        let _ = writeln!(
            o,
            "origin: capacity {}/min; peak load {}/min; {} minute(s) over capacity (longest run {})",
            self.signup_capacity_per_min, peak, self.minutes_over_capacity, self.longest_over_capacity_run
        );
        o
    }

    /// A self-contained HTML page: the table and an SVG timeline (people admitted, bots
    /// admitted and capacity, per minute).
    pub fn html(&self) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>drill {}</title>\
             <style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}}\
             pre{{background:#f6f6f6;padding:1em;overflow:auto}}.k span{{margin-right:1.5em}}</style>\
             <h1>Attack drill: {}</h1><p>{}</p>",
            esc(&self.scenario),
            esc(&self.scenario),
            esc(&self.defence)
        );
        o.push_str(&self.svg());
        let _ = writeln!(o, "<pre>{}</pre></html>", esc(&self.table()));
        o
    }

    /// The timeline chart.
    pub fn svg(&self) -> String {
        let (w, h, pad) = (1000.0, 320.0, 40.0);
        let cap = f64::from(self.signup_capacity_per_min);
        let max = self
            .minutes
            .iter()
            .map(|m| (m.people_admitted.max(m.bots_admitted).max(m.signups_forwarded)) as f64)
            .fold(cap, f64::max)
            .max(1.0);
        let n = self.minutes.len().max(2) as f64;
        let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
        let y = |v: f64| h - pad - (h - 2.0 * pad) * v / max;
        let line = |f: &dyn Fn(&Minute) -> f64| {
            self.minutes
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
            self.minutes.len()
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
        let mut lx = pad + 10.0;
        for (color, label, _) in
            series.iter().map(|(c, l, f)| (*c, *l, f)).chain([("#c00", "capacity", &series[0].2)])
        {
            let _ = write!(
                o,
                "<rect x=\"{lx}\" y=\"12\" width=\"12\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"18\" font-size=\"12\">{}</text>",
                lx + 16.0,
                esc(label)
            );
            lx += 16.0 + 7.0 * label.len() as f64 + 20.0;
        }
        o.push_str("</svg>");
        o
    }
}

/// A chart line: colour, label, value per minute.
type Series<'a> = (&'a str, &'a str, &'a dyn Fn(&Minute) -> f64);

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_samples() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 51);
        assert_eq!(percentile(&v, 0.95), 95);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
