//! The plain-text report: the table a drill prints, one line per fleet, SMS costs.

use super::{PopStats, Report, pct, segments};
use std::fmt::Write as _;

impl Report {
    /// SMS codes sent on the OTP route and entered, people beside attackers, per minute and
    /// at the site's price per SMS (empty without an OTP route).
    fn sms_text(&self) -> String {
        let Some(route) = &self.otp_route else { return String::new() };
        let minutes = (f64::from(self.duration_secs) / 60.0).max(1.0 / 60.0);
        let sum = |kind: &str| {
            self.populations
                .iter()
                .filter(|p| p.kind == kind && &p.route == route)
                .fold((0u64, 0u64), |(s, e), p| (s + p.admitted, e + p.codes_entered))
        };
        let cost =
            |n: u64| self.sms_price.map_or(String::new(), |c| format!(", {}", self.money(c * n as f64)));
        let mut o = format!("SMS codes sent on {route}:\n");
        for (who, kind) in [("people", "people"), ("attackers", "attacker")] {
            let (sent, entered) = sum(kind);
            o.push_str(&format!(
                "  {who:<10} {sent:>8} sent ({:>7.1}/min{}), {entered} entered ({:.0}%)\n",
                sent as f64 / minutes,
                cost(sent),
                pct(entered, sent)
            ));
        }
        o
    }

    /// Money with its currency.
    pub fn money(&self, amount: f64) -> String {
        money_text(amount, &self.currency)
    }

    /// The plain-text table.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "drill {:?} under {}, seed {}, {} s virtual, {} isolate(s) ({} cold starts), {} requests{}",
            self.scenario,
            self.defence,
            self.seed,
            self.duration_secs,
            self.isolates,
            self.cold_starts,
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
            "\n{:<26} {:<16} {:>8} {:>8} {:>7} {:>7} {:>7} {:>8}  refused by reason",
            "population", "kind", "offered", "admitted", "adm %", "shed", "gave up", "unafford"
        );
        for p in &self.populations {
            let refused: Vec<String> = p.refused.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(
                o,
                "{:<26} {:<16} {:>8} {:>8} {:>6.1}% {:>7} {:>7} {:>8}  {}",
                clip(&p.name, 26),
                clip(&p.label, 16),
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
        let more_work: u64 =
            self.populations.iter().filter(|p| p.kind == "people").map(|p| p.more_work_at_post).sum();
        let _ = writeln!(
            o,
            "\npeople: {origin_full} \"over capacity\" answers from the origin itself (the gate forwarded them); \
             {more_work} posts answered 402 more_work (the top-up page: the work kept, topped up and posted by itself)"
        );
        let _ = writeln!(
            o,
            "people admitted {:.2}% ({} of {}; the origin's capacity admits at most {:.2}%); outside the attacking ASNs and /24s {:.2}% ({} of {}), \
             charged more or denied {:.2}%;\n  outside every attacking cohort (network, /24, country, browser family, calling code) \
             {:.2}% of {}, charged more or denied {:.2}%;\n  wrongly shed {} (a busy answer at least once), wrongly denied {}, \
             charged more {}, without JavaScript turned away {}",
            pe.admitted_pct,
            pe.admitted,
            pe.offered,
            pe.most_admissible_pct,
            pe.outside_attack_pct,
            pe.outside_attack_admitted,
            pe.outside_attack_offered,
            pe.outside_attack_false_positive_pct,
            pe.outside_cohorts_pct,
            pe.outside_cohorts_offered,
            pe.outside_cohorts_false_positive_pct,
            pe.wrongly_shed,
            pe.wrongly_denied,
            pe.charged_more,
            pe.turned_away
        );
        if !pe.outside_attack_not_admitted.is_empty() {
            let ends: Vec<String> =
                pe.outside_attack_not_admitted.iter().map(|(end, n)| format!("{end} {n}")).collect();
            let _ = writeln!(o, "  outside the attacking ASNs and /24s, not admitted: {}", ends.join(", "));
        }
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
        let _ = writeln!(o, "felt wait (pressing submit to the end), everyone who tried:");
        for f in &pe.felt {
            let _ = writeln!(
                o,
                "  {:<12} {:>8} tried      p50 {:>6.2} s   p95 {:>6.2} s",
                f.device,
                f.people,
                f.p50_ms as f64 / 1000.0,
                f.p95_ms as f64 / 1000.0
            );
        }
        let people_topups: u64 =
            self.populations.iter().filter(|p| p.kind == "people").map(|p| p.topups).sum();
        if people_topups > 0 {
            let _ = writeln!(
                o,
                "  {people_topups} top-ups added by people's widgets (banked work or a price that moved)"
            );
        }
        o.push_str(&segments::text(&pe.segments));
        o.push_str(&self.sms_text());
        let bots: Vec<&PopStats> = self.populations.iter().filter(|p| p.kind == "attacker").collect();
        if !bots.is_empty() {
            let _ = writeln!(
                o,
                "attackers (money at {} per core-hour, {} per GPU-hour):",
                self.money(self.core_hour),
                self.money(self.gpu_hour)
            );
            for p in bots {
                let _ = writeln!(o, "  {:<26} {}", clip(&p.name, 26), self.fleet_line(p));
            }
        }
        let peak = self.minutes.iter().map(|m| m.signups_forwarded).max().unwrap_or(0);
        let _ = writeln!(
            o,
            "origin: capacity {}/min; peak load {}/min; {} minute(s) over capacity (longest run {})",
            self.signup_capacity_per_min, peak, self.minutes_over_capacity, self.longest_over_capacity_run
        );
        if self.line_minutes > 0 {
            let _ = writeln!(
                o,
                "waiting line: open {} minute(s), {} of them with less than {}% of capacity used",
                self.line_minutes,
                self.line_minutes_under_capacity,
                super::UNDER_CAPACITY_PCT
            );
        }
        o
    }

    /// One fleet's outcome and cost in a line.
    fn fleet_line(&self, p: &PopStats) -> String {
        let cost = match (p.core_seconds_per_admitted, p.gpu_seconds_per_admitted) {
            (Some(c), _) => {
                format!("{c:.2} core-s ({}) per admitted", self.money(p.money_per_admitted.unwrap_or(0.0)))
            }
            (_, Some(g)) => {
                format!("{g:.4} GPU-s ({}) per admitted", self.money(p.money_per_admitted.unwrap_or(0.0)))
            }
            _ if p.admitted + p.replays_admitted == 0 && (p.core_seconds + p.gpu_seconds) > 0.0 => format!(
                "{:.0} core-s + {:.1} GPU-s ({}) spent, nothing admitted",
                p.core_seconds,
                p.gpu_seconds,
                self.money(p.money)
            ),
            _ => "no work paid".into(),
        };
        let mut extra = String::new();
        if p.replays_admitted + p.replays_refused.values().sum::<u64>() > 0 {
            let _ = write!(
                extra,
                "; replays admitted {}, refused {}",
                p.replays_admitted,
                p.replays_refused.values().sum::<u64>()
            );
        }
        if p.unfinished > 0 {
            let _ = write!(extra, "; {} unfinished at the end", p.unfinished);
        }
        if p.held_back + p.declined > 0 {
            let _ = write!(extra, "; {} held back, {} declined above its ceiling", p.held_back, p.declined);
        }
        if let Some(profit) = p.profit {
            let _ = write!(
                extra,
                "; {} {}",
                if profit > 0.0 { "pays:" } else { "does not pay:" },
                self.money(profit)
            );
        }
        format!(
            "admitted {:.2}% of {} attempts ({:.1}% unaffordable), {:.1}/min; {}; {} challenges{}",
            p.admitted_of_attempts_pct,
            p.attempts,
            p.unaffordable_pct,
            p.admitted_per_minute,
            cost,
            p.challenges,
            extra
        )
    }
}

/// An amount with its currency, with enough digits to tell small sums apart.
pub fn money_text(amount: f64, currency: &str) -> String {
    let a = amount.abs();
    let digits = if a == 0.0 || a >= 10.0 {
        0
    } else if a >= 0.1 {
        2
    } else if a >= 0.001 {
        4
    } else {
        6
    };
    format!("{amount:.digits$} {currency}")
}

pub(crate) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}
