//! The scenario file as written: serde's view of the TOML, before any check.

use serde::Deserialize;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// The file as written

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) version: u32,
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    pub(super) duration_secs: u32,
    #[serde(default)]
    pub(super) seed: u64,
    pub(super) origin: OriginFile,
    #[serde(default)]
    pub(super) drill: DrillFile,
    #[serde(default)]
    pub(super) money: MoneyFile,
    #[serde(default)]
    pub(super) devices: BTreeMap<String, DeviceFile>,
    #[serde(default)]
    pub(super) networks: Vec<NetworkFile>,
    #[serde(default)]
    pub(super) people: Vec<PeopleFile>,
    #[serde(default)]
    pub(super) attackers: Vec<AttackerFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OriginFile {
    pub(super) signup_capacity_per_min: u32,
    #[serde(default)]
    pub(super) otp_route: Option<String>,
    #[serde(default)]
    pub(super) otp_capacity_per_min: Option<u32>,
    #[serde(default)]
    pub(super) sms_price: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct DrillFile {
    pub(super) discount_bits: u32,
    pub(super) max_queue_secs: u32,
    pub(super) rtt_ms: u32,
    pub(super) isolates: u32,
    pub(super) isolate_life_secs: u32,
}

impl Default for DrillFile {
    fn default() -> Self {
        DrillFile { discount_bits: 16, max_queue_secs: 60, rtt_ms: 80, isolates: 1, isolate_life_secs: 0 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct MoneyFile {
    pub(super) core_hour: f64,
    pub(super) gpu_hour: f64,
    pub(super) currency: String,
}

/// Defaults: docs/drill-tiers.md § Money gives their sources.
impl Default for MoneyFile {
    fn default() -> Self {
        MoneyFile { core_hour: 0.01, gpu_hour: 0.40, currency: "USD".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeviceFile {
    #[serde(default)]
    pub(super) hash_rate: Option<f64>,
    #[serde(default)]
    pub(super) threads: Option<u32>,
    #[serde(default)]
    pub(super) overhead_ms: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkFile {
    pub(super) name: String,
    pub(super) kind: String,
    #[serde(default)]
    pub(super) asns: Option<u32>,
    #[serde(default)]
    pub(super) asn_list: Vec<u32>,
    #[serde(default = "default_prefixes")]
    pub(super) prefixes: u32,
    #[serde(default)]
    pub(super) countries: BTreeMap<String, f64>,
}

pub(super) fn default_prefixes() -> u32 {
    16
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeopleFile {
    pub(super) name: String,
    #[serde(default = "default_route")]
    pub(super) route: String,
    pub(super) rate: Vec<(f64, f64)>,
    pub(super) networks: BTreeMap<String, f64>,
    pub(super) countries: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) devices: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) browsers: Vec<String>,
    #[serde(default)]
    pub(super) patience: PatienceFile,
    #[serde(default)]
    pub(super) fill_secs: Option<FillFile>,
    #[serde(default)]
    pub(super) quirks: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) vpn_networks: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) no_js: f64,
    #[serde(default)]
    pub(super) verify: Option<super::sms::VerifyFile>,
}

pub(super) fn default_route() -> String {
    "/signup".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct PatienceFile {
    pub(super) give_up_secs: u32,
    pub(super) busy_answers: u32,
    pub(super) retry_probability: f64,
    pub(super) come_back_secs: Option<u32>,
    pub(super) line_secs: u32,
}

impl Default for PatienceFile {
    fn default() -> Self {
        PatienceFile {
            give_up_secs: 60,
            busy_answers: 2,
            retry_probability: 0.5,
            come_back_secs: None,
            line_secs: 600,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FillFile {
    pub(super) median: f64,
    pub(super) p90: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AttackerFile {
    pub(super) name: String,
    #[serde(default = "default_route")]
    pub(super) route: String,
    pub(super) rate: Vec<(f64, f64)>,
    #[serde(default)]
    pub(super) budget: BudgetFile,
    pub(super) networks: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) countries: BTreeMap<String, f64>,
    pub(super) realism: String,
    #[serde(default = "yes")]
    pub(super) rotate: bool,
    #[serde(default = "default_addresses")]
    pub(super) addresses: u32,
    #[serde(default)]
    pub(super) retry_on_busy: bool,
    #[serde(default)]
    pub(super) replays: u32,
    #[serde(default)]
    pub(super) flood: bool,
    #[serde(default)]
    pub(super) no_js: bool,
    #[serde(default)]
    pub(super) phone_codes: Vec<String>,
    #[serde(default)]
    pub(super) phone_ranges: Vec<String>,
    #[serde(default)]
    pub(super) sequential: bool,
    #[serde(default)]
    pub(super) verify: Option<super::sms::VerifyFile>,
    #[serde(default)]
    pub(super) browsers: Vec<String>,
    #[serde(default)]
    pub(super) devices: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) tls: Option<String>,
    #[serde(default)]
    pub(super) proxy: Option<ProxyFile>,
    #[serde(default)]
    pub(super) pulse: Option<PulseFile>,
    #[serde(default)]
    pub(super) ceiling: Option<CeilingFile>,
    #[serde(default)]
    pub(super) stockpile: Option<StockpileFile>,
    #[serde(default)]
    pub(super) cheapest_cohort: bool,
    #[serde(default)]
    pub(super) patience: Option<PatienceFile>,
    #[serde(default)]
    pub(super) value: Option<ValueFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProxyFile {
    pub(super) extra_rtt_ms: (u32, u32),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PulseFile {
    pub(super) on_secs: u32,
    pub(super) off_secs: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CeilingFile {
    #[serde(default)]
    pub(super) solver_seconds: Option<f64>,
    #[serde(default)]
    pub(super) money: Option<f64>,
    #[serde(default = "default_then")]
    pub(super) then: String,
    #[serde(default = "default_wait")]
    pub(super) wait_secs: u32,
}

pub(super) fn default_then() -> String {
    "wait".into()
}

pub(super) fn default_wait() -> u32 {
    300
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StockpileFile {
    pub(super) every_secs: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValueFile {
    #[serde(default)]
    pub(super) per_account: Option<f64>,
    #[serde(default)]
    pub(super) per_sms: Option<f64>,
}

pub(super) fn yes() -> bool {
    true
}

pub(super) fn default_addresses() -> u32 {
    16
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetFile {
    #[serde(default)]
    pub(super) cores: Option<u32>,
    #[serde(default)]
    pub(super) core_hash_rate: Option<f64>,
    #[serde(default)]
    pub(super) gpus: Option<u32>,
    #[serde(default)]
    pub(super) gpu_hash_rate: Option<f64>,
    #[serde(default)]
    pub(super) devices: Option<u32>,
}
