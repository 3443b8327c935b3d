//! The policy file as written: the serde structures of the TOML (or JSON) document, with
//! the defaults a file may leave out. Nothing here is validated; `load` does that.

use super::CohortKind;
use crate::signals::RiskPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) version: u32,
    #[serde(default)]
    pub(super) defaults: DefaultsFile,
    #[serde(default)]
    pub(super) risk: RiskFile,
    pub(super) routes: RoutesFile,
    #[serde(default)]
    pub(super) attack: AttackFile,
    #[serde(default)]
    pub(super) rules: Vec<RuleFile>,
    #[serde(default)]
    pub(super) no_js: NoJsFile,
    #[serde(default)]
    pub(super) otp: Option<super::otp::OtpFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct NoJsFile {
    pub(super) routes: Vec<String>,
    pub(super) wait_secs: u32,
    pub(super) ttl_secs: u32,
    pub(super) window_secs: u32,
    pub(super) busy_at: BTreeMap<String, u32>,
}

impl Default for NoJsFile {
    fn default() -> Self {
        NoJsFile {
            routes: Vec::new(),
            wait_secs: 5,
            ttl_secs: 600,
            window_secs: 600,
            busy_at: [("asn", 10), ("ip_prefix", 3), ("site", 60)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct DefaultsFile {
    pub(super) difficulty: u32,
    pub(super) k: u32,
    pub(super) shadow: bool,
}

impl Default for DefaultsFile {
    fn default() -> Self {
        DefaultsFile { difficulty: 17, k: 32, shadow: false }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RiskFile {
    pub(super) more_work_at: u32,
    pub(super) deny_at: u32,
    pub(super) max_extra_bits: u32,
}

impl Default for RiskFile {
    fn default() -> Self {
        let d = RiskPolicy::default();
        RiskFile {
            more_work_at: d.more_work_at,
            deny_at: d.deny_at,
            max_extra_bits: u32::from(d.max_extra_bits),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoutesFile {
    pub(super) protected: Vec<String>,
    #[serde(default)]
    pub(super) pass: Vec<String>,
    #[serde(default)]
    pub(super) phone_field: Option<String>,
    #[serde(default)]
    pub(super) phone_code_field: Option<String>,
    #[serde(default)]
    pub(super) phone_region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct AttackFile {
    pub(super) enabled: bool,
    pub(super) window_secs: u32,
    pub(super) cohorts: Vec<String>,
    pub(super) levels: Vec<LevelFile>,
    pub(super) cohort_levels: BTreeMap<String, Vec<LevelFile>>,
    pub(super) global_ceiling: Option<u32>,
    pub(super) panic: bool,
    pub(super) panic_cohorts: Vec<String>,
    pub(super) retry_after_secs: u32,
    pub(super) capacity: Vec<CapacityFile>,
    pub(super) usual: Option<UsualFile>,
}

/// `[attack.usual]`: the usual shares levels are measured against.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UsualFile {
    #[serde(default = "default_usual_days")]
    pub(super) usual_days: u32,
    #[serde(default = "default_warm_up_signups")]
    pub(super) warm_up_signups: u32,
}

fn default_usual_days() -> u32 {
    7
}

fn default_warm_up_signups() -> u32 {
    500
}

/// `[[attack.capacity]]`: what the origin (or its SMS provider) can take on one route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CapacityFile {
    pub(super) route: String,
    #[serde(default)]
    pub(super) signups_per_minute: Option<u32>,
    #[serde(default)]
    pub(super) otp_sends_per_minute: Option<u32>,
    #[serde(default = "default_ceiling_bits")]
    pub(super) ceiling_bits: u32,
    #[serde(default = "default_period_secs")]
    pub(super) period_secs: u32,
    #[serde(default)]
    pub(super) line_max_wait_secs: u32,
}

fn default_ceiling_bits() -> u32 {
    8
}

fn default_period_secs() -> u32 {
    10
}

impl Default for AttackFile {
    fn default() -> Self {
        AttackFile {
            enabled: true,
            window_secs: 60,
            cohorts: CohortKind::ALL.iter().map(|k| k.name().to_string()).collect(),
            levels: vec![
                LevelFile { at: 20, extra_bits: Some(2), busy: false },
                LevelFile { at: 50, extra_bits: Some(4), busy: false },
                LevelFile { at: 100, extra_bits: None, busy: true },
            ],
            cohort_levels: [
                ("country", vec![(600, Some(1)), (2000, Some(3))]),
                ("ua_family", vec![(600, Some(1)), (2000, Some(3))]),
                ("phone_code", vec![(60, Some(2)), (200, Some(4)), (600, None)]),
                ("network_kind", vec![(20, Some(2)), (60, Some(4))]),
            ]
            .into_iter()
            .map(|(kind, levels)| {
                let levels = levels
                    .into_iter()
                    .map(|(at, extra_bits)| LevelFile { at, extra_bits, busy: extra_bits.is_none() })
                    .collect();
                (kind.to_string(), levels)
            })
            .collect(),
            global_ceiling: None,
            panic: false,
            panic_cohorts: Vec::new(),
            retry_after_secs: 120,
            capacity: Vec::new(),
            usual: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LevelFile {
    pub(super) at: u32,
    #[serde(default)]
    pub(super) extra_bits: Option<u32>,
    #[serde(default)]
    pub(super) busy: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub(super) name: String,
    pub(super) action: String,
    #[serde(default)]
    pub(super) routes: Vec<String>,
    #[serde(default)]
    pub(super) when: ConditionsFile,
    #[serde(default)]
    pub(super) not: Option<ConditionsFile>,
    #[serde(default)]
    pub(super) difficulty: Option<u32>,
    #[serde(default)]
    pub(super) k: Option<u32>,
    #[serde(default)]
    pub(super) shadow: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct ConditionsFile {
    pub(super) country: Vec<String>,
    pub(super) asn: Vec<u32>,
    pub(super) cidr: Vec<String>,
    pub(super) user_agent: Vec<String>,
    pub(super) reasons: Vec<String>,
    pub(super) phone_code: Vec<String>,
    pub(super) phone_type: Vec<String>,
    pub(super) risk_at_least: Option<u32>,
}
