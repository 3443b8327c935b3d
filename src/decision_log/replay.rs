//! Policy replay: re-decide recorded decision-log lines under another policy, to see what a
//! change would have done before deploying it (`gate replay policy.toml decisions.jsonl`).
//!
//! A log line carries what the policy decides on: route, ASN, country, IP prefix, User-Agent,
//! phone calling code, the fingerprint score and reasons, and the cohort rates read at the
//! time. Lines the policy did not decide (a malformed solution, a replay) are skipped. The
//! client address is known only to its /24 or /48, so CIDR rules narrower than that are
//! matched against the prefix's first address.

use crate::decision_log::{DecisionLog, Stage};
use crate::policy::{CohortKey, CohortState, Decision, Known, Outcome, Policy, Subject};
use crate::signals::{Assessment, Reason, ReasonCode};
use serde_json::Value;

/// The decision-log lines in `text` ([`DecisionLog`], the type the Worker writes): JSON
/// lines (optionally behind a prefix such as a timestamp), or `wrangler tail --format json`
/// events, whose `logs[].message[]` hold the lines. Other lines (`config`, `siteverify`, ...)
/// and lines that are not decision-log lines are skipped.
pub fn decision_lines(text: &str) -> Vec<DecisionLog> {
    json_lines(text)
        .into_iter()
        .filter(|v| v.get("gate").and_then(Value::as_str) == Some("decision"))
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

/// Every JSON object with a `gate` key in `text`.
fn json_lines(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut values = Vec::new();
    let whole = loop {
        match stream.next() {
            None => break true,
            Some(Ok(v)) => values.push(v),
            Some(Err(_)) => break false,
        }
    };
    if !whole {
        values = text
            .lines()
            .filter_map(|l| l.find('{').and_then(|i| l.get(i..)))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
    }
    for v in values {
        collect(v, &mut out);
    }
    out
}

fn collect(v: Value, out: &mut Vec<Value>) {
    if v.get("gate").is_some() {
        out.push(v);
        return;
    }
    let Some(logs) = v.get("logs").and_then(Value::as_array) else { return };
    for log in logs {
        for m in log.get("message").and_then(Value::as_array).into_iter().flatten() {
            match m {
                Value::String(s) => {
                    if let Some(j) =
                        s.find('{').and_then(|i| s.get(i..)).and_then(|t| serde_json::from_str(t).ok())
                    {
                        collect(j, out);
                    }
                }
                Value::Object(_) => collect(m.clone(), out),
                _ => {}
            }
        }
    }
}

/// One replayed decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Replayed {
    /// The outcome logged.
    pub before: Outcome,
    /// The outcome under the new policy.
    pub after: Decision,
    /// A short description of the request (time, method, path, ASN, country).
    pub request: String,
}

impl Replayed {
    /// Whether the outcome changes.
    pub fn changed(&self) -> bool {
        self.before != self.after.outcome
    }
}

/// Re-decides one log line; `None` for lines the policy did not decide (no outcome: a
/// malformed solution, a replay).
pub fn replay(policy: &Policy, line: &DecisionLog) -> Option<Replayed> {
    let before = line.outcome.clone()?;
    let route = line.route.as_deref()?;
    let reasons: Vec<Reason> = line
        .reasons
        .iter()
        .filter_map(|r| {
            Some(Reason { code: ReasonCode::parse(&r.code)?, weight: r.weight, detail: r.detail.clone() })
        })
        .collect();
    let assessment = Assessment { score: line.score.unwrap_or(0), reasons };
    // At issue the phone number may not be typed yet; at submission every field is known.
    // (Lines written before `stage` existed: a challenge request's path says it.)
    let stage = line.stage.unwrap_or(if line.path.ends_with("/challenge") {
        Stage::Issue
    } else {
        Stage::Submission
    });
    let phone_code = match (stage, line.phone_code.clone()) {
        (_, Some(code)) => Known::Is(Some(code)),
        (Stage::Issue, None) => Known::Unknown,
        (Stage::Submission, None) => Known::Is(None),
    };
    // a type is logged only where the whole number was read (at submission)
    let phone_type = match (stage, line.phone_type.as_deref()) {
        (_, Some(name)) => Known::Is(crate::request::phone::NumberType::from_name(name)),
        (Stage::Issue, None) => Known::Unknown,
        (Stage::Submission, None) => Known::Is(None),
    };
    let ip = line.ip_prefix.as_deref().and_then(|p| p.split('/').next()).and_then(|a| a.parse().ok());
    let subject = Subject {
        route: route.to_string(),
        country: line.country.as_deref(),
        asn: line.asn,
        ip,
        user_agent: line.user_agent.as_deref(),
        assessment,
        phone_code,
        phone_type,
    };
    let state = CohortState {
        rates: line.cohorts.iter().filter_map(|(k, r)| Some((CohortKey::parse(k)?, *r))).collect(),
        site_rate: line.site_rate.unwrap_or(0.0),
        panicked: Vec::new(),
        switches: Vec::new(),
        capacity: line.capacity.clone(),
        degraded: None,
        peeked: Vec::new(),
    };
    let decided = policy.decide(&subject, &state);
    let after = match (&policy.otp, &line.otp) {
        (Some(otp), Some(logged)) if !policy.shadow => {
            range_replayed(otp, route, logged, line.t, stage == Stage::Issue, decided)
        }
        _ => decided,
    };
    // a send refused for its range was priced by the rest of the policy and then refused
    let before = match line.otp.as_ref().map(|o| o.verdict.as_str()) {
        Some("blocked") if line.code.as_deref() == Some("phone_range_blocked") => Outcome::Busy,
        _ => before,
    };
    let request = format!(
        "t={} {} {} asn={} country={}",
        line.t,
        line.method,
        line.path,
        line.asn.map_or("-".to_string(), |a| a.to_string()),
        line.country.as_deref().unwrap_or("-"),
    );
    Some(Replayed { before, after, request })
}

/// The range's verdict under the new policy on the logged counts, applied to the decision: a
/// price level adds its bits; a block (on the send route) refuses, shown as `busy` (try later),
/// and on a sign-up route costs the strongest price level. Ahead of a submission (`ahead`: a
/// challenge or top-up priced on the number's first digits) a send's block adds nothing. The block switches other decisions
/// wrote are not in the line: a logged block is replayed from its counts.
fn range_replayed(
    otp: &crate::policy::Otp,
    route: &str,
    logged: &super::OtpLog,
    t: u64,
    ahead: bool,
    decided: crate::policy::Decision,
) -> crate::policy::Decision {
    use crate::policy::RangeVerdict;
    let send = otp.send_route == route;
    if !send && !otp.apply_to.iter().any(|r| r == route) {
        return decided;
    }
    let site = logged.site.unwrap_or_default();
    let reading = logged.counts.reading(logged.seen.unwrap_or_default(), site);
    let code = logged.calling_code.as_ref().map(|c| c.counts.reading(reading.seen, site));
    // the logged network only where the replayed policy puts the range in it too
    let network = logged
        .network
        .as_ref()
        .filter(|n| otp.network_of(&logged.range) == Some(n.name.as_str()))
        .map(|n| (n.name.as_str(), n.counts.reading(reading.seen, site)));
    let wider = crate::policy::WiderReadings {
        calling_code: code.as_ref(),
        network: network.as_ref().map(|(n, r)| (*n, r)),
    };
    let why = format!("range {}", logged.range);
    match otp.judge_number(&reading, wider, t.saturating_mul(1000)).0 {
        RangeVerdict::Normal => decided,
        RangeVerdict::Priced { extra_bits, .. } => decided.priced_up(extra_bits, &why),
        RangeVerdict::FirstSeen { extra_bits, scope } => {
            decided.priced_up(extra_bits, &format!("{why} first seen ({scope})"))
        }
        RangeVerdict::Surge { extra_bits, .. } => decided.priced_up(extra_bits, &format!("{why} surge")),
        RangeVerdict::Blocked { .. } if send && ahead => decided,
        RangeVerdict::Blocked { .. } if send => {
            crate::policy::Decision { outcome: Outcome::Busy, why: format!("{why} blocked"), ..decided }
        }
        RangeVerdict::Blocked { .. } => match otp.strongest_price_bits() {
            Some(bits) => decided.priced_up(bits, &why),
            None => decided,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &str) -> Policy {
        crate::policy::load(&format!(
            "version = 1\n[routes]\nprotected = [\"POST /signup\"]\nphone_field = \"phone\"\n{rules}"
        ))
        .unwrap()
    }

    const FORWARD: &str = r#"{"gate":"decision","t":1795360000,"action":"forward","status":200,"method":"POST","path":"/signup","route":"/signup","score":35,"reasons":[{"code":"hosting_asn","weight":30,"detail":"AS16509"},{"code":"http1_browser","weight":5,"detail":""}],"asn":16509,"country":"US","ua":"chrome/131","user_agent":"Mozilla/5.0 Chrome/131.0.0.0","ip_prefix":"198.51.100.0/24","phone_code":"1","cohorts":[["asn:16509",12.0],["country:US",3.0]],"site_rate":15.0,"outcome":"price 18x32","why":"risk 35 +1"}"#;

    #[test]
    fn replays_what_a_rule_would_change() {
        let line: DecisionLog = serde_json::from_str(FORWARD).unwrap();
        let same = replay(&policy(""), &line).unwrap();
        assert_eq!(same.after.outcome.to_string(), "price 18x32", "the logged decision is reproduced");
        assert!(!same.changed());
        for (rules, want) in [
            ("[[rules]]\nname = \"aws\"\nwhen = { asn = [16509] }\naction = \"deny\"\n", "deny"),
            ("[[rules]]\nname = \"only cn\"\nnot = { phone_code = [\"86\"] }\naction = \"busy\"\n", "busy"),
            (
                "[[rules]]\nname = \"net\"\nwhen = { cidr = [\"198.51.100.0/24\"] }\naction = \"allow\"\n",
                "price 17x32",
            ),
            ("[attack]\nlevels = [{ at = 10, extra_bits = 3 }, { at = 40, busy = true }]\n", "price 21x32"),
        ] {
            let r = replay(&policy(rules), &line).unwrap();
            assert_eq!(r.after.outcome.to_string(), want, "{rules}");
            assert!(r.changed());
        }
    }

    #[test]
    fn a_range_verdict_replays_from_the_logged_counts() {
        let otp = |levels: &str| {
            crate::policy::load(&format!(
                "version = 1\n[routes]\nprotected = [\"POST /signup\", \"POST /api/otp/send\"]\nphone_field = \"phone\"\n\
                 [otp]\nsend = {{ route = \"/api/otp/send\" }}\ncheck = {{ route = \"POST /api/otp/check\", field = \"phone\" }}\n\
                 apply_to = [\"/signup\"]\n{levels}"
            ))
            .unwrap()
        };
        let send = |sent: f64, verified: f64, route: &str| {
            let text = FORWARD.replace(r#""route":"/signup""#, &format!(r#""route":"{route}""#)).replace(
                r#""why":"risk 35 +1"}"#,
                &format!(
                    r#""why":"risk 35 +1","otp":{{"range":"+996 500","sent":{sent},"recent":0.0,"verified":{verified},"tries":10.0,"verdict":"normal"}}}}"#
                ),
            );
            serde_json::from_str::<DecisionLog>(&text).unwrap()
        };
        // a range nobody enters, being used: blocked on the send route, the strongest price on
        // a sign-up route; a range people enter: as logged
        let shipped = otp("");
        assert_eq!(
            replay(&shipped, &send(200.0, 0.0, "/api/otp/send")).unwrap().after.outcome,
            Outcome::Busy
        );
        assert_eq!(
            replay(&shipped, &send(200.0, 0.0, "/signup")).unwrap().after.outcome.to_string(),
            "price 22x32"
        );
        assert_eq!(
            replay(&shipped, &send(200.0, 170.0, "/api/otp/send")).unwrap().after.outcome.to_string(),
            "price 18x32"
        );
        // milder levels: priced, not blocked; without [otp]: as logged
        let mild = otp("levels = [{ conversion_below = 0.5, extra_bits = 3 }]\n");
        assert_eq!(
            replay(&mild, &send(200.0, 0.0, "/api/otp/send")).unwrap().after.outcome.to_string(),
            "price 21x32"
        );
        assert_eq!(
            replay(&policy(""), &send(200.0, 0.0, "/signup")).unwrap().after.outcome.to_string(),
            "price 18x32"
        );
        // sends too recent to judge, none entered, on a site with codes entered: blocked at
        // once with `unentered_block_sends`, as logged without it or on a cold site
        let young = |site: f64| {
            let text = serde_json::to_string(&send(25.0, 0.0, "/api/otp/send")).unwrap().replace(
                r#""recent":0.0"#,
                &format!(r#""recent":25.0,"seen":{{"range":0.0,"calling_code":0.0,"site":{site}}}"#),
            );
            serde_json::from_str::<DecisionLog>(&text).unwrap()
        };
        let fast = otp("unentered_block_sends = 20\n");
        assert_eq!(replay(&fast, &young(40.0)).unwrap().after.outcome, Outcome::Busy);
        assert_eq!(replay(&fast, &young(3.0)).unwrap().after.outcome.to_string(), "price 18x32");
        assert_eq!(replay(&shipped, &young(40.0)).unwrap().after.outcome.to_string(), "price 18x32");
        // a range with two sends in a network with thirty, logged with the network's counts:
        // blocked as the network while nobody entered a code in it, as logged once someone did
        let in_network = |verified: f64| {
            let text = serde_json::to_string(&send(2.0, 0.0, "/api/otp/send")).unwrap().replace(
                r#""recent":0.0"#,
                &format!(
                    r#""recent":2.0,"seen":{{"range":0.0,"calling_code":0.0,"site":40.0}},"network":{{"name":"kg-b","sent":30.0,"recent":30.0,"verified":{verified},"tries":5.0}}"#
                ),
            );
            serde_json::from_str::<DecisionLog>(&text).unwrap()
        };
        assert_eq!(in_network(0.0).otp.as_ref().unwrap().network.as_ref().unwrap().counts.sent, 30.0);
        let named =
            otp("unentered_block_sends = 20\n[[otp.networks]]\nname = \"kg-b\"\nranges = [\"+996 5\"]\n");
        assert_eq!(replay(&named, &in_network(0.0)).unwrap().after.outcome, Outcome::Busy);
        assert_eq!(replay(&named, &in_network(3.0)).unwrap().after.outcome.to_string(), "price 18x32");
        // a policy without the network, or with the range in another: the range alone
        let other =
            otp("unentered_block_sends = 20\n[[otp.networks]]\nname = \"kg-a\"\nranges = [\"+996 5\"]\n");
        for p in [&fast, &other] {
            assert_eq!(replay(p, &in_network(0.0)).unwrap().after.outcome.to_string(), "price 18x32");
        }
    }

    #[test]
    fn a_rule_on_the_number_type_replays_from_the_logged_type() {
        let rule =
            "[[rules]]\nname = \"premium\"\nwhen = { phone_type = [\"premium_rate\"] }\naction = \"deny\"\n";
        let premium =
            FORWARD.replace(r#""phone_code":"1","#, r#""phone_code":"1","phone_type":"premium_rate","#);
        let line: DecisionLog = serde_json::from_str(&premium).unwrap();
        assert_eq!(replay(&policy(rule), &line).unwrap().after.outcome.to_string(), "deny");
        // a line with no type (a fixed-or-mobile number, or none) keeps its price
        let line: DecisionLog = serde_json::from_str(FORWARD).unwrap();
        assert_eq!(replay(&policy(rule), &line).unwrap().after.outcome.to_string(), "price 18x32");
    }

    #[test]
    fn reads_json_lines_and_wrangler_tail_events() {
        let lines = format!("{FORWARD}\n2026-11-22T10:00:00Z {FORWARD}\nnot json\n");
        assert_eq!(decision_lines(&lines).len(), 2);
        let event = serde_json::json!({"outcome": "ok", "logs": [{"message": [FORWARD], "level": "log"}, {"message": ["plain text"]}]});
        let tail = format!("{:#}\n{:#}\n", event, event);
        let found = decision_lines(&tail);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].asn, Some(16509));
    }

    #[test]
    fn skips_lines_the_policy_did_not_decide() {
        let p = policy("");
        for line in [
            r#"{"gate":"decision","t":1,"action":"reject","status":400,"code":"malformed_solution","method":"POST","path":"/signup","route":"/signup"}"#,
            r#"{"gate":"config"}"#,
            "{}",
        ] {
            for l in decision_lines(line) {
                assert!(replay(&p, &l).is_none(), "{line}");
            }
        }
        assert_eq!(decision_lines(r#"{"gate":"config"}"#).len(), 0, "not a decision line");
    }
}
