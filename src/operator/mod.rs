//! The operators' side, as plain data: who may call the operator endpoints ([`authorized`]),
//! what a panic request says ([`panic`]), and the stats page as one typed value rendered to
//! JSON and to HTML ([`stats`]). The request flow that reads the objects for them is
//! `crate::pipeline::operator`.

pub mod panic;
pub mod stats;

use crate::request::facts::RequestFacts;
use base64::Engine as _;
use subtle::ConstantTimeEq;

/// Whether `presented` is `expected`, in constant time.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Whether the request carries `token` as a bearer token or a Basic-auth password (so a
/// browser can open the stats page).
pub fn authorized(facts: &RequestFacts, token: Option<&str>) -> bool {
    let Some(token) = token else { return false };
    let Some(header) = facts.headers.get("authorization") else { return false };
    let presented = if let Some(b) = header.strip_prefix("Bearer ") {
        b.trim().to_string()
    } else if let Some(b) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).to_string();
        text.split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default()
    } else {
        return false;
    };
    same_secret(&presented, token)
}

/// The `WWW-Authenticate` value of a 401, so a browser can open the operators' pages.
pub fn basic_realm(realm: &str) -> String {
    format!("Basic realm=\"{realm}\", charset=\"UTF-8\"")
}
