//! What operators feed the gate: the policy file, decision-log lines (`gate replay`) and drill
//! scenario files.

use crate::request::shipped;
use gate::decision_log::replay::{decision_lines, replay};
use gate::drill::{self, scenario};
use gate::policy::{self, PolicyErrors};
use serde_json::Value;

/// Top-level keys of a policy file, the places an error may name besides a syntax position.
const POLICY_KEYS: &[&str] = &["version", "defaults", "risk", "routes", "attack", "rules", "no_js", "otp"];

/// A policy file, TOML or JSON: every error has a place; a valid TOML policy's JSON form (what
/// `gate policy json` prints for the Worker) loads to the same policy; the routes a broken
/// policy keeps are a valid one's routes.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let routes = policy::routes_only(text);
    let _ = policy::fingerprint(text);
    match policy::load(text) {
        Err(e) => assert_placed(&e),
        Ok(p) => {
            if let Some((protected, pass)) = routes {
                assert_eq!((protected, pass), (p.protected.clone(), p.pass.clone()), "routes_only differs");
            }
            if !text.trim_start().starts_with('{') {
                let json = match policy::to_json(text) {
                    Ok(json) => json,
                    Err(e) => panic!("a valid policy has no JSON form: {e}"),
                };
                assert_eq!(policy::load(&json).ok(), Some(p), "the JSON form loads to another policy");
            }
            // the drill lowers every stated difficulty: never a panic
            let _ = drill::gate::lower(text, 4);
        }
    }
}

fn assert_placed(e: &PolicyErrors) {
    assert!(!e.0.is_empty(), "an error without a problem");
    for p in &e.0 {
        let l = p.location.as_str();
        let top = l.split(['.', '[']).next().unwrap_or("");
        let placed = l.starts_with("line ") || l == "file" || POLICY_KEYS.contains(&top);
        assert!(placed && !p.message.trim().is_empty(), "no place or no message: {p:?}");
    }
}

/// Decision-log text as `gate replay` reads it (JSON lines, prefixed lines, `wrangler tail`
/// events): each line it finds writes back and reads as the same line (floats to within a few
/// units in the last place: see [`same_value`]), and replays under the shipped policy.
pub fn decision_log(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for line in decision_lines(text) {
        let json = line.to_json();
        let back = decision_lines(&json);
        let [again] = back.as_slice() else { panic!("{json} reads back as {} lines", back.len()) };
        let (a, b) = (serde_json::to_value(&line), serde_json::to_value(again));
        assert!(matches!((&a, &b), (Ok(a), Ok(b)) if same_value(a, b)), "{json} reads back as {again:?}");
        if let Some(r) = replay(shipped(), &line) {
            let _ = (r.changed(), r.after.outcome.to_string());
        }
    }
}

/// Equal JSON values, numbers compared as floats to within 1e-15 of their size. serde_json
/// (without its `float_roundtrip` feature, as the gate builds it) may read a 17-digit decimal one
/// unit in the last place off, so a rate written with every digit can move by that much per
/// write and read (docs/fuzzing.md, finding 1). The gate writes rates to one decimal, which read
/// back exactly.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-15 * x.abs().max(y.abs()),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// A drill scenario file: every error has a place and a message; a valid scenario's rates and
/// indices are what the engine may rely on, and it is checked against the shipped policy.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let s = match scenario::load(text) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.0.is_empty(), "an error without a problem");
            for p in &e.0 {
                assert!(!p.location.is_empty() && !p.message.trim().is_empty(), "unplaced: {p:?}");
            }
            return;
        }
    };
    let duration = f64::from(s.duration_secs);
    let rates = s.people.iter().map(|p| &p.rate).chain(s.attackers.iter().map(|a| &a.rate));
    for rate in rates {
        assert!(rate.0.len() >= 2, "a rate with fewer than two points");
        assert!(rate.0.windows(2).all(|w| matches!(w, [a, b] if a.0 <= b.0)), "rate points out of order");
        assert!(rate.0.iter().all(|(t, r)| (0.0..=duration).contains(t) && (0.0..=1.0e6).contains(r)));
        assert!(rate.peak().is_finite() && rate.expected().is_finite() && rate.expected() >= 0.0);
        let _ = rate.at(duration / 2.0);
    }
    let networks = s.networks.len();
    let devices = s.devices.len();
    for p in &s.people {
        assert!(p.networks.iter().all(|(i, _)| *i < networks), "people network index out of range");
        assert!(p.devices.iter().all(|(i, _)| *i < devices), "device index out of range");
    }
    for a in &s.attackers {
        assert!(a.networks.iter().all(|(i, _)| *i < networks), "attacker network index out of range");
    }
    let _ = drill::prepare(&s, drill::SHIPPED_POLICY);
}
