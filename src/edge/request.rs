//! Reads a `worker::Request` once: its facts (headers, `request.cf`, path, query) for the
//! core, its body up to a cap, and the platform clock and CSPRNG. Every `cf` field is read
//! from the raw object and may be absent (local dev, zones without Bot Management): absent
//! is `None`, never an error.

use crate::pipeline::step::BodyRead;
use crate::protocol::time::UnixTime;
use crate::request::facts::{BotFacts, CfFacts, Headers, RequestFacts};
use wasm_bindgen::JsValue;
use worker::worker_sys::ext::RequestExt as _;
use worker::{Method, Request, wasm_bindgen, wasm_bindgen_futures, web_sys};

/// Most headers kept, and longest value kept, per request (a hostile client can send more).
const MAX_HEADERS: usize = 100;
const MAX_HEADER_LEN: usize = 8192;

/// Reads the facts of a request. Never fails.
pub fn read(req: &Request) -> RequestFacts {
    let url = req.url().ok();
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .take(MAX_HEADERS)
        .map(|(k, v)| {
            let v = if v.len() > MAX_HEADER_LEN { v.chars().take(MAX_HEADER_LEN).collect() } else { v };
            (k.to_ascii_lowercase(), v)
        })
        .collect();
    let headers = Headers(headers);
    let cf = req.inner().cf().map(JsValue::from);
    RequestFacts {
        method: req.method().to_string(),
        path: req.path(),
        query: url.as_ref().and_then(|u| u.query().map(str::to_string)),
        scheme: url.as_ref().map(|u| u.scheme().to_string()).unwrap_or_default(),
        host: url
            .as_ref()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_default(),
        client_ip: headers.get("cf-connecting-ip").map(str::to_string),
        headers,
        cf: cf.as_ref().map(cf_facts).unwrap_or_default(),
    }
}

fn cf_facts(cf: &JsValue) -> CfFacts {
    let bot = field(cf, "botManagement").map(|b| BotFacts {
        score: number(&b, "score").and_then(|n| u8::try_from(n).ok()),
        verified_bot: boolean(&b, "verifiedBot"),
        ja3_hash: string(&b, "ja3Hash"),
        ja4: string(&b, "ja4"),
        js_detection_passed: field(&b, "jsDetection").and_then(|j| boolean(&j, "passed")),
    });
    CfFacts {
        asn: number(cf, "asn").and_then(|n| u32::try_from(n).ok()),
        as_organization: string(cf, "asOrganization"),
        country: string(cf, "country"),
        timezone: string(cf, "timezone"),
        // an empty tlsVersion is meaningful (no TLS), so keep it
        tls_version: field(cf, "tlsVersion")
            .and_then(|v| v.as_string())
            .map(|s| s.chars().take(32).collect()),
        tls_cipher: string(cf, "tlsCipher"),
        tls_client_hello_length: number(cf, "tlsClientHelloLength").and_then(|n| u32::try_from(n).ok()),
        http_protocol: string(cf, "httpProtocol"),
        client_tcp_rtt: number(cf, "clientTcpRtt").and_then(|n| u32::try_from(n).ok()),
        colo: string(cf, "colo"),
        bot,
    }
}

fn field(obj: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(obj, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn string(obj: &JsValue, name: &str) -> Option<String> {
    field(obj, name)?.as_string().filter(|s| !s.is_empty() && s.len() <= 256)
}

fn boolean(obj: &JsValue, name: &str) -> Option<bool> {
    field(obj, name)?.as_bool()
}

fn number(obj: &JsValue, name: &str) -> Option<u64> {
    let v = field(obj, name)?;
    let n = v.as_f64().or_else(|| v.as_string().and_then(|s| s.parse().ok()))?;
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < 9.0e15).then_some(n as u64)
}

/// The current time from the Workers clock. Read when a request arrives and again when its
/// body has arrived (the client sets how long that takes); nowhere else on a request.
#[allow(clippy::disallowed_methods)] // the one clock read (clippy.toml)
pub fn now() -> UnixTime {
    UnixTime::from_millis_f64(js_sys::Date::now())
}

/// Fresh random bytes from the platform CSPRNG.
#[allow(clippy::disallowed_methods)] // the one randomness read (clippy.toml)
pub fn random_id() -> Result<[u8; 16], getrandom::Error> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id)?;
    Ok(id)
}

/// How much of an oversized chunked upload is read and discarded before the gate gives up on
/// it. Draining a modest overflow keeps the client's connection reusable (abandoning a body
/// mid-upload breaks keep-alive connections, notably in `wrangler dev`'s proxy); anything
/// larger is cancelled so the gate never pays for an unbounded upload.
const DRAIN_LIMIT: usize = 1 << 20;

/// Reads the body, keeping at most `cap` bytes whatever the client declared.
pub async fn read_body(req: &Request, cap: usize) -> BodyRead {
    use wasm_bindgen::JsCast as _;
    if matches!(req.method(), Method::Get | Method::Head) {
        return BodyRead::Bytes(Vec::new());
    }
    let Some(stream) = req.inner().body() else { return BodyRead::Bytes(Vec::new()) };
    let failed = |e: JsValue| BodyRead::Failed(format!("{:?}", e.as_string()));
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    let mut total: usize = 0;
    loop {
        let chunk = match wasm_bindgen_futures::JsFuture::from(reader.read()).await {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let done = match js_sys::Reflect::get(&chunk, &"done".into()) {
            Ok(d) => d,
            Err(e) => return failed(e),
        };
        if done.as_bool().unwrap_or(true) {
            break;
        }
        let value = match js_sys::Reflect::get(&chunk, &"value".into()) {
            Ok(v) => v,
            Err(e) => return failed(e),
        };
        let bytes = js_sys::Uint8Array::new(&value);
        total = total.saturating_add(bytes.length() as usize);
        if total > cap.saturating_add(DRAIN_LIMIT) {
            let _ = wasm_bindgen_futures::JsFuture::from(reader.cancel()).await;
            break;
        }
        if total <= cap {
            body.extend_from_slice(&bytes.to_vec());
        }
    }
    if total > cap {
        return BodyRead::TooLarge(total);
    }
    BodyRead::Bytes(body)
}
