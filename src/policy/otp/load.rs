//! Reading `[otp]`: the section as written, its defaults, and every problem at once.

use super::super::load::Problems;
use super::{NumberSource, Otp, RangeAction, RangeLevel, backoff, first_seen, network, surge};
use crate::request::route::{self, Route};
use serde::Deserialize;

/// The `[otp]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::policy) struct OtpFile {
    send: SendFile,
    check: CheckFile,
    #[serde(default = "defaults::window_secs")]
    window_secs: u32,
    #[serde(default = "defaults::verify_grace_secs")]
    verify_grace_secs: u32,
    #[serde(default = "defaults::min_sends")]
    min_sends: u32,
    #[serde(default = "defaults::block_at_tries")]
    block_at_tries: u32,
    #[serde(default)]
    unentered_block_sends: u32,
    #[serde(default = "defaults::levels")]
    levels: Vec<RangeLevelFile>,
    #[serde(default)]
    apply_to: Vec<String>,
    backoff: Option<backoff::BackoffFile>,
    first_seen: Option<first_seen::FirstSeenFile>,
    #[serde(default)]
    networks: Vec<network::NetworkFile>,
    surge: Option<surge::SurgeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendFile {
    route: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    route: String,
    field: Option<String>,
    header: Option<String>,
    #[serde(default = "defaults::verified_status")]
    verified_status: Vec<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeLevelFile {
    conversion_below: f64,
    extra_bits: Option<u32>,
    block_secs: Option<u32>,
}

mod defaults {
    pub(super) fn window_secs() -> u32 {
        3600
    }
    pub(super) fn verify_grace_secs() -> u32 {
        120
    }
    pub(super) fn min_sends() -> u32 {
        20
    }
    pub(super) fn block_at_tries() -> u32 {
        3
    }
    pub(super) fn verified_status() -> Vec<u16> {
        vec![200]
    }
    pub(super) fn levels() -> Vec<super::RangeLevelFile> {
        vec![
            super::RangeLevelFile { conversion_below: 0.5, extra_bits: Some(2), block_secs: None },
            super::RangeLevelFile { conversion_below: 0.3, extra_bits: Some(4), block_secs: None },
            super::RangeLevelFile { conversion_below: 0.15, extra_bits: None, block_secs: Some(3600) },
        ]
    }
}

/// Reads `[otp]`, every problem into `p`.
pub(in crate::policy) fn load(
    p: &mut Problems,
    f: &OtpFile,
    protected: &[Route],
    pass: &[Route],
    phone_field: bool,
) -> Otp {
    let send_route = route::MatchKey::of(&f.send.route).full;
    if !f.send.route.starts_with('/') {
        p.add("otp.send.route", format!("{:?} is not a path", f.send.route));
    } else if route::named(protected, &f.send.route).is_none() {
        p.add(
            "otp.send.route",
            format!("{:?} is not a protected route (a send must cost work)", f.send.route),
        );
    }
    if !phone_field {
        p.add("otp.send", "needs routes.phone_field (the number a code is sent to)");
    }
    let check = match Route::parse(&f.check.route) {
        Ok(r) => r,
        Err(e) => {
            p.add("otp.check.route", e.to_string());
            Route { method: None, path: "/".into(), prefix: false }
        }
    };
    let methods = [check.method.as_deref().unwrap_or("POST")];
    if matches!(
        route::judge_target(protected, pass, &methods, &check.path, None),
        route::Judged::Protected(_)
    ) {
        p.add("otp.check.route", format!("{:?} is protected: a check must never cost work", f.check.route));
    }
    let field_ok = |f: &str| {
        !f.is_empty() && f.len() <= 64 && f.chars().all(|c| c.is_ascii_alphanumeric() || "_-.[]".contains(c))
    };
    let check_number = match (&f.check.field, &f.check.header) {
        (Some(name), None) => {
            if !field_ok(name) {
                p.add("otp.check.field", format!("{name:?} is not a form or JSON field name"));
            }
            NumberSource::Field(name.clone())
        }
        (None, Some(name)) => {
            if !field_ok(name) || name.contains(['.', '[', ']']) {
                p.add("otp.check.header", format!("{name:?} is not a header name"));
            }
            NumberSource::Header(name.to_ascii_lowercase())
        }
        _ => {
            p.add("otp.check", "needs exactly one of field or header (where a check carries the number)");
            NumberSource::Field(String::new())
        }
    };
    if f.check.verified_status.is_empty() || f.check.verified_status.iter().any(|s| !(200..400).contains(s)) {
        p.add("otp.check.verified_status", "lists the origin's 2xx or 3xx statuses for a right code");
    }
    let window_secs = within(p, "otp.window_secs", f.window_secs, 60, 7 * 86_400);
    let verify_grace_secs = within(p, "otp.verify_grace_secs", f.verify_grace_secs, 1, 3600);
    let min_sends = within(p, "otp.min_sends", f.min_sends, 1, 100_000);
    let block_at_tries = within(p, "otp.block_at_tries", f.block_at_tries, 1, 100_000);
    let unentered_block_sends = within(p, "otp.unentered_block_sends", f.unentered_block_sends, 0, 100_000);
    if verify_grace_secs >= window_secs {
        p.add("otp.verify_grace_secs", "must be shorter than otp.window_secs");
    }
    let mut levels = Vec::new();
    for (i, l) in f.levels.iter().enumerate() {
        let at = format!("otp.levels[{i}]");
        if !(l.conversion_below > 0.0 && l.conversion_below <= 1.0) {
            p.add(format!("{at}.conversion_below"), format!("{} is outside (0, 1]", l.conversion_below));
        }
        let action = match (l.extra_bits, l.block_secs) {
            (Some(b), None) if (1..=15).contains(&b) => RangeAction::Price { extra_bits: b as u8 },
            (Some(b), None) => {
                p.add(format!("{at}.extra_bits"), format!("{b} is outside 1..=15"));
                RangeAction::Price { extra_bits: 1 }
            }
            (None, Some(s)) if (60..=7 * 86_400).contains(&s) => RangeAction::Block { secs: s },
            (None, Some(s)) => {
                p.add(format!("{at}.block_secs"), format!("{s} is outside 60..=604800"));
                RangeAction::Block { secs: 60 }
            }
            _ => {
                p.add(&at, "needs exactly one of extra_bits or block_secs");
                RangeAction::Price { extra_bits: 1 }
            }
        };
        if levels.iter().any(|o: &RangeLevel| o.conversion_below == l.conversion_below) {
            p.add(&at, "another level has the same conversion_below");
        }
        levels.push(RangeLevel { conversion_below: l.conversion_below, action });
    }
    levels.sort_by(|a, b| a.conversion_below.total_cmp(&b.conversion_below));
    let mut apply_to = Vec::new();
    for (i, path) in f.apply_to.iter().enumerate() {
        let at = format!("otp.apply_to[{i}]");
        let normalized = route::MatchKey::of(path).full;
        if !path.starts_with('/') {
            p.add(at, format!("{path:?} is not a path"));
        } else if route::named(protected, path).is_none() {
            p.add(at, format!("{path:?} is not a protected route"));
        } else if normalized == send_route {
            p.add(at, format!("{path:?} is the send route, judged already"));
        } else {
            apply_to.push(normalized);
        }
    }
    let backoff = f.backoff.as_ref().map(|b| backoff::load(p, b));
    let first_seen = f.first_seen.as_ref().map(|s| first_seen::load(p, s));
    let networks = network::load(p, &f.networks);
    let surge = f.surge.as_ref().map(|s| surge::load(p, s));
    Otp {
        networks,
        surge,
        backoff,
        first_seen,
        send_route,
        check,
        check_number,
        verified_status: f.check.verified_status.clone(),
        window_secs,
        verify_grace_secs,
        min_sends,
        block_at_tries,
        unentered_block_sends,
        levels,
        apply_to,
    }
}

/// `v` if within `min..=max`, else the nearest bound, with the problem at `at` added to `p`.
pub(super) fn within(p: &mut Problems, at: &str, v: u32, min: u32, max: u32) -> u32 {
    if !(min..=max).contains(&v) {
        p.add(at, format!("{v} is outside {min}..={max}"));
    }
    v.clamp(min, max)
}
