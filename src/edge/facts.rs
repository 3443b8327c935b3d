//! Turns a `worker::Request` and its `request.cf` into plain facts for the core.

use crate::binding::ClientView;
use crate::time::UnixTime;
use wasm_bindgen::JsValue;
use worker::Request;
use worker::worker_sys::ext::RequestExt as _;

/// What the edge knows about the client, as plain data. Absent fields are `None`.
#[derive(Clone, Debug, Default)]
pub struct EdgeFacts {
    /// `cf.asn`.
    pub asn: Option<u32>,
    /// `cf.country`.
    pub country: Option<String>,
    /// `cf.colo`.
    pub colo: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl EdgeFacts {
    /// Reads the facts from a request. Never fails: missing or odd values become `None`.
    pub fn read(req: &Request) -> EdgeFacts {
        let cf = req.inner().cf().map(JsValue::from);
        let cf = cf.as_ref();
        EdgeFacts {
            asn: cf.and_then(|c| number(c, "asn")).and_then(|n| u32::try_from(n).ok()),
            country: cf.and_then(|c| string(c, "country")),
            colo: cf.and_then(|c| string(c, "colo")),
            user_agent: req.headers().get("User-Agent").ok().flatten(),
        }
    }

    /// The view the client binding is computed from.
    pub fn client_view(&self) -> ClientView<'_> {
        ClientView { asn: self.asn, country: self.country.as_deref(), user_agent: self.user_agent.as_deref() }
    }
}

fn field(obj: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(obj, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn string(obj: &JsValue, name: &str) -> Option<String> {
    field(obj, name)?.as_string().filter(|s| !s.is_empty() && s.len() <= 256)
}

fn number(obj: &JsValue, name: &str) -> Option<u64> {
    let v = field(obj, name)?;
    let n = v.as_f64().or_else(|| v.as_string().and_then(|s| s.parse().ok()))?;
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < 9.0e15).then_some(n as u64)
}

/// The current time from the Workers clock.
pub fn now() -> UnixTime {
    UnixTime::from_millis_f64(js_sys::Date::now())
}

/// Fresh random bytes from the platform CSPRNG.
pub fn random_id() -> Result<[u8; 16], getrandom::Error> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id)?;
    Ok(id)
}
