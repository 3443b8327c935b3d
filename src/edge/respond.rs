//! Turns a pipeline [`Reply`] into a `worker::Response`: the headers each body type implies,
//! and the reply's own.

use crate::present::reply::{Body, Reply};
use worker::{Headers, Response, Result};

/// The response for a reply. Every gate response is uncached and not sniffed; pages get a
/// script-free Content-Security-Policy unless the reply carries its own (set after, so it wins).
pub fn reply(r: &Reply) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    let resp = match &r.body {
        Body::Json(value) => {
            headers.set("Content-Type", "application/json; charset=utf-8")?;
            Response::ok(value.to_string())?
        }
        Body::Html(html) => {
            headers.set("Content-Type", "text/html; charset=utf-8")?;
            headers.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")?;
            Response::ok(html.clone())?
        }
        Body::Css(css) => {
            headers.set("Content-Type", "text/css; charset=utf-8")?;
            Response::ok(*css)?
        }
        Body::Empty => Response::empty()?,
    };
    for (name, value) in &r.headers {
        headers.set(name, value)?;
    }
    Ok(resp.with_status(r.status).with_headers(headers))
}
