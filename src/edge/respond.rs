//! Turns decisions into responses and one structured log line each.

use crate::decision::Rejection;
use serde::Serialize;
use worker::{Headers, Response, Result};

/// A JSON response with the given status and no caching.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    let text = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(Response::ok(text)?.with_status(status).with_headers(headers))
}

/// The client-facing response for a rejection. The private detail is not in it.
pub fn rejection(r: &Rejection, challenge_url: Option<&str>) -> Result<Response> {
    let resp = json(r.kind().status(), &r.body(challenge_url))?;
    if let Some(secs) = r.kind().retry_after() {
        resp.headers().set("Retry-After", &secs.to_string())?;
    }
    Ok(resp)
}

/// One decision, as the JSON log line operators read (`wrangler tail`, Workers Logs).
#[derive(Debug, Default, Serialize)]
pub struct LogLine<'a> {
    /// Always "decision".
    pub gate: &'static str,
    /// Unix seconds.
    pub t: u64,
    /// `issue`, `forward`, `reject`.
    pub action: &'static str,
    /// HTTP status returned.
    pub status: u16,
    /// Rejection code, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Private detail (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    /// Request method.
    pub method: &'a str,
    /// Request path.
    pub path: &'a str,
    /// Protected route matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<&'a str>,
    /// Challenge id (base64url), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `cf.asn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// `cf.country`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<&'a str>,
    /// `cf.colo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colo: Option<&'a str>,
    /// Browser family/major from the User-Agent.
    pub ua: String,
}

impl LogLine<'_> {
    /// Writes the line to the Worker log.
    pub fn emit(&self) {
        match serde_json::to_string(self) {
            Ok(line) => worker::console_log!("{line}"),
            Err(e) => worker::console_error!("{{\"gate\":\"log_error\",\"error\":\"{e}\"}}"),
        }
    }
}
