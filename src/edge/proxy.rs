//! Forwarding to the origin: pass-through routes untouched, verified sign-ups with a verdict.

use crate::pipeline::step::STRIPPED_HEADERS as STRIPPED;
use url::Url;
use worker::{Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response, Result};

/// The origin URL for an incoming request: same path and query, origin's scheme/host/port.
pub fn target(origin: &Url, req: &Request) -> Result<Url> {
    let incoming = req.url()?;
    let mut out = origin.clone();
    out.set_path(incoming.path());
    out.set_query(incoming.query());
    Ok(out)
}

/// Copies the request headers minus the gate's own, plus forwarding headers and `extra`.
fn headers(req: &Request, extra: &[(&str, &str)]) -> Result<Headers> {
    let out = Headers::new();
    for (name, value) in req.headers().entries() {
        if !STRIPPED.contains(&name.to_ascii_lowercase().as_str()) {
            out.append(&name, &value)?;
        }
    }
    if let Ok(url) = req.url() {
        if let Some(host) = url.host_str() {
            let host = match url.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            };
            out.set("X-Forwarded-Host", &host)?;
        }
        out.set("X-Forwarded-Proto", url.scheme().trim_end_matches(':'))?;
    }
    for (name, value) in extra {
        out.set(name, value)?;
    }
    Ok(out)
}

/// Sends `req` to the origin unchanged (method, headers, streamed body), not following
/// redirects, and returns the origin's response with origin-absolute redirects rewritten to
/// the public host.
pub async fn pass_through(origin: &Url, req: &Request) -> Result<Response> {
    let url = target(origin, req)?;
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(headers(req, &[])?).with_redirect(RequestRedirect::Manual);
    // OPTIONS is judged as a safe method, so it carries no body to the origin
    if !matches!(req.method(), Method::Get | Method::Head | Method::Options) {
        init.with_body(req.inner().body().map(Into::into));
    }
    let upstream = Request::new_with_init(url.as_str(), &init)?;
    let resp = Fetch::Request(upstream).send().await?;
    public_redirect(origin, req, resp)
}

/// Sends a request with its already-read body: a verified one with the verdict header, an
/// observed pass-through (an OTP check) without one.
pub async fn forward(origin: &Url, req: &Request, body: &[u8], verdict: Option<&str>) -> Result<Response> {
    let url = target(origin, req)?;
    let mut init = RequestInit::new();
    let extra: Vec<(&str, &str)> =
        verdict.map(|v| (crate::protocol::verdict::HEADER, v)).into_iter().collect();
    init.with_method(req.method())
        .with_headers(headers(req, &extra)?)
        .with_redirect(RequestRedirect::Manual)
        .with_body(Some(js_sys::Uint8Array::from(body).into()));
    let upstream = Request::new_with_init(url.as_str(), &init)?;
    let resp = Fetch::Request(upstream).send().await?;
    public_redirect(origin, req, resp)
}

/// Rewrites a `Location` that points at the origin so clients never see the origin's address.
fn public_redirect(origin: &Url, req: &Request, resp: Response) -> Result<Response> {
    let Some(location) = resp.headers().get("Location")? else { return Ok(resp) };
    let origin_base = origin.as_str().trim_end_matches('/');
    let Some(rest) = location.strip_prefix(origin_base) else { return Ok(resp) };
    let public = req.url()?;
    let public_base = public.origin().ascii_serialization();
    let rewritten = format!("{public_base}{rest}");
    let headers = Headers::new();
    for (name, value) in resp.headers().entries() {
        headers.append(&name, &value)?;
    }
    headers.set("Location", &rewritten)?;
    Ok(resp.with_headers(headers))
}
