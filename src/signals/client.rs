//! What the browser says: the widget's client signals (a small JSON object, bounded in size
//! and shape) and the checks on them alone.

use super::{Assessment, ReasonCode};
use crate::request::user_agent::UserAgent;
use serde::{Deserialize, Serialize};

pub use crate::protocol::solution::MAX_SIGNALS_LEN;

/// `navigator.userAgentData` as the widget reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UaData {
    /// `brands`: `[brand, version]` pairs.
    pub brands: Vec<(String, String)>,
    /// `mobile`.
    pub mobile: bool,
    /// `platform`.
    pub platform: String,
}

/// What the widget reports about the browser (see `www/gate/gate.js`, `collectSignals`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientSignals {
    /// Format version (1).
    pub v: u8,
    /// `navigator.webdriver`.
    pub webdriver: Option<bool>,
    /// Names of automation globals found on `window`.
    pub automation: Vec<String>,
    /// WebGL renders in software (the renderer string itself is not sent).
    pub software_renderer: Option<bool>,
    /// `[outerWidth, outerHeight]`.
    pub outer: Option<(u32, u32)>,
    /// `[screen.width, screen.height]`.
    pub screen: Option<(u32, u32)>,
    /// `Intl.DateTimeFormat().resolvedOptions().timeZone`.
    pub time_zone: Option<String>,
    /// `navigator.languages`.
    pub languages: Option<Vec<String>>,
    /// `navigator.plugins.length`.
    pub plugins: Option<u32>,
    /// `navigator.userAgentData`, when the browser has it.
    pub ua_data: Option<UaData>,
    /// `navigator.hardwareConcurrency`.
    pub cores: Option<u32>,
    /// Round trip to the gate measured in JavaScript, ms: what the browser says, kept for
    /// the operator's log; the checks read [`ClientSignals::edge_rtt`].
    pub rtt: Option<u32>,
    /// The last round-trip stamp of the widget's ping chain (`protocol::rtt_stamp`).
    pub rtt_stamp: Option<String>,
    /// What the gate read from `rtt_stamp` (filled by the pipeline, which holds the key).
    #[serde(skip)]
    pub edge_rtt: EdgeRtt,
}

/// The round trip the edge measured itself, read from the signals' stamp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum EdgeRtt {
    /// Not read: a caller without the gate key (the signals' unit tests) compares the
    /// browser's own `rtt`, as the gate did before stamps.
    #[default]
    NotRead,
    /// The stamp verified: its best round trip, ms.
    Measured(u32),
    /// No stamp, or one that does not count for this request: why.
    Unmeasured(String),
}

/// The client side of an observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientSide {
    /// No signals were sent (API clients, or a browser without the widget).
    Absent,
    /// Signals were sent but cannot be read.
    Malformed(String),
    /// The signals.
    Present(Box<ClientSignals>),
}

impl ClientSide {
    /// Reads signal bytes (empty means absent). Bounded in size and shape: never panics.
    pub fn parse(bytes: &[u8]) -> ClientSide {
        if bytes.is_empty() {
            return ClientSide::Absent;
        }
        if bytes.len() > MAX_SIGNALS_LEN {
            return ClientSide::Malformed(format!("{} bytes, limit {MAX_SIGNALS_LEN}", bytes.len()));
        }
        match serde_json::from_slice::<ClientSignals>(bytes) {
            Ok(s) if s.automation.len() > 32 => ClientSide::Malformed("too many automation names".into()),
            Ok(s) if s.languages.as_ref().is_some_and(|l| l.len() > 32) => {
                ClientSide::Malformed("too many languages".into())
            }
            Ok(s) if s.ua_data.as_ref().is_some_and(|u| u.brands.len() > 16) => {
                ClientSide::Malformed("too many brands".into())
            }
            Ok(s) => ClientSide::Present(Box::new(s)),
            Err(e) => ClientSide::Malformed(format!("not signals JSON: {e}")),
        }
    }
}

pub(super) fn client_only(ua: &UserAgent, s: &ClientSignals, a: &mut Assessment) {
    if s.webdriver == Some(true) {
        a.add(ReasonCode::Webdriver, "navigator.webdriver is true");
    }
    if !s.automation.is_empty() {
        let names: Vec<&str> = s.automation.iter().take(4).map(String::as_str).collect();
        a.add(ReasonCode::AutomationGlobals, names.join(","));
    }
    if s.software_renderer == Some(true) {
        a.add(ReasonCode::SoftwareRenderer, "WebGL renders in software");
    }
    if s.outer == Some((0, 0)) {
        a.add(ReasonCode::ZeroWindow, "outer window 0x0");
    }
    if s.languages.as_ref().is_some_and(Vec::is_empty) {
        a.add(ReasonCode::NoLanguages, "navigator.languages is empty");
    }
    if s.plugins == Some(0)
        && ua.family.is_chromium()
        && !ua.mobile
        && !ua.on_ios()
        && ua.major.unwrap_or(0) >= 94
    {
        a.add(ReasonCode::NoPlugins, "desktop Chromium without PDF plugins");
    }
    if let Some((w, h)) = s.screen
        && (w < 200 || h < 200 || w > 16384 || h > 16384)
    {
        a.add(ReasonCode::ScreenImplausible, format!("screen {w}x{h}"));
    }
}
