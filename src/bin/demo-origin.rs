//! `demo-origin`: a small real HTTP origin for the demo and the end-to-end tests.
//!
//! It serves the demo sign-up and login pages from `www/demo/`, accepts sign-ups only with a
//! valid `X-Gate-Verdict` (the check an origin team adds), and records every request it
//! receives so tests can assert exactly what reached it:
//!
//! - `GET /__origin/records` → `{"records": [...]}`; `DELETE /__origin/records` clears them.
//! - `POST /api/otp/send` (needs a verdict, like sign-ups) and `POST /api/otp/check` (does not:
//!   the gate passes checks through) are a real one-time-code flow, so the gate's counting of
//!   SMS sends per number range can be shown end to end. Codes are logged to stderr, never
//!   sent; `GET /__origin/otp?phone=<number>` → `{"code": "…"}` lets tests read one.
//! - any other path is recorded; unknown paths echo the request back as JSON.
//!
//! It listens on 127.0.0.1 only. `--port 0` picks a free port; the first line on stdout is
//! `demo-origin listening on http://127.0.0.1:<port>`.

use gate::present::page::escape as escape_html;
use gate::protocol::key::Key;
use gate::protocol::time::UnixTime;
use gate::protocol::verdict;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use subtle::ConstantTimeEq as _;
use tiny_http::{Header, Method, Request, Response, Server};

/// The policy the demo pages are served with (docs/widget.md § Content-Security-Policy).
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
                   connect-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Pending one-time codes kept at most: past this the store is cleared before the next insert,
/// so a flood of sends cannot grow the demo's memory without bound.
const MAX_PENDING_CODES: usize = 10_000;

struct Origin {
    www: PathBuf,
    key: Option<Key>,
    records: Mutex<Vec<Value>>,
    /// Pending one-time codes by normalized phone number (see [`normalize_phone`]).
    codes: Mutex<HashMap<String, String>>,
    base: String,
}

fn main() {
    let mut port: u16 = 8788;
    let mut www = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demo");
    let mut dev_vars = Path::new(env!("CARGO_MANIFEST_DIR")).join(".dev.vars");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage("--port N")),
            "--www" => www = args.next().map(PathBuf::from).unwrap_or_else(|| usage("--www DIR")),
            "--dev-vars" => {
                dev_vars = args.next().map(PathBuf::from).unwrap_or_else(|| usage("--dev-vars FILE"))
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let secret = std::env::var("ORIGIN_SECRET").ok().or_else(|| read_dev_var(&dev_vars, "ORIGIN_SECRET"));
    if secret.is_none() {
        eprintln!(
            "demo-origin: no ORIGIN_SECRET (env or {}); every sign-up will be refused",
            dev_vars.display()
        );
    }
    let server = match Server::http(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo-origin: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(port);
    let base = format!("http://127.0.0.1:{port}");
    println!("demo-origin listening on {base}");
    let origin = Arc::new(Origin {
        www,
        key: secret.map(|s| Key::new(s.as_bytes())),
        records: Mutex::new(Vec::new()),
        codes: Mutex::new(HashMap::new()),
        base,
    });
    let server = Arc::new(server);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let server = server.clone();
            let origin = origin.clone();
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    origin.handle(req);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("demo-origin: {problem}");
    }
    eprintln!("usage: demo-origin [--port 8788] [--www www/demo] [--dev-vars .dev.vars]");
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

/// Reads `NAME=value` from a `.dev.vars` file (quotes optional).
fn read_dev_var(path: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

#[allow(clippy::disallowed_methods)] // a real server reads its own clock; the core never does
fn now() -> UnixTime {
    UnixTime::from_secs(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    )
}

#[allow(clippy::disallowed_methods)] // a real server reads its own clock; the core never does
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Adds a header when it is well-formed (all callers pass constants or URLs).
fn with_header(
    resp: Response<std::io::Cursor<Vec<u8>>>,
    name: &str,
    value: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    match Header::from_bytes(name.as_bytes(), value.as_bytes()) {
        Ok(h) => resp.with_header(h),
        Err(()) => resp,
    }
}

impl Origin {
    fn handle(&self, mut req: Request) {
        let method = req.method().as_str().to_string();
        let url = req.url().to_string();
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (url.clone(), String::new()),
        };
        let mut body = Vec::new();
        let _ = req.as_reader().read_to_end(&mut body);
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.to_string()))
            .collect();

        if path == "/__origin/records" {
            let resp = match req.method() {
                Method::Delete => {
                    self.records.lock().map(|mut r| r.clear()).ok();
                    json_response(200, &json!({"cleared": true}))
                }
                _ => {
                    let records = self.records.lock().map(|r| r.clone()).unwrap_or_default();
                    json_response(200, &json!({"records": records}))
                }
            };
            let _ = req.respond(resp);
            return;
        }
        if path == "/__origin/otp" {
            let phone = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "phone")
                .map(|(_, v)| normalize_phone(&v))
                .unwrap_or_default();
            let code = self.codes.lock().unwrap_or_else(PoisonError::into_inner).get(&phone).cloned();
            let resp = match code {
                Some(code) => json_response(200, &json!({"code": code})),
                None => json_response(404, &json!({"error": "no_code"})),
            };
            let _ = req.respond(resp);
            return;
        }
        if path == "/__origin/health" {
            let _ = req.respond(json_response(200, &json!({"ok": true})));
            return;
        }

        let verdict_header = headers.iter().find(|(k, _)| k == "x-gate-verdict").map(|(_, v)| v.clone());
        let verdict = match (&verdict_header, &self.key) {
            (None, _) => json!({"present": false, "valid": false}),
            (Some(_), None) => {
                json!({"present": true, "valid": false, "error": "origin has no ORIGIN_SECRET"})
            }
            (Some(h), Some(key)) => match verdict::verify(h, key, now(), 60, &method, &path) {
                Ok(v) => {
                    json!({"present": true, "valid": true, "id": v.id, "score": v.score, "reasons": v.reasons, "d": v.difficulty, "k": v.k})
                }
                Err(e) => json!({"present": true, "valid": false, "error": e.to_string()}),
            },
        };
        let verified = verdict.get("valid") == Some(&json!(true));
        let record = json!({
            "method": method,
            "path": path,
            "query": query,
            "headers": headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "body": String::from_utf8_lossy(&body),
            "body_len": body.len(),
            "verdict": verdict,
            // when it arrived (ms since the epoch): tests check the rate the origin received
            "at_ms": now_ms(),
        });
        if let Ok(mut r) = self.records.lock() {
            let seq = r.len();
            let mut record = record.clone();
            if let Some(obj) = record.as_object_mut() {
                obj.insert("seq".into(), json!(seq));
            }
            r.push(record);
        }

        let wants_json = path.starts_with("/api/")
            || headers
                .iter()
                .any(|(k, v)| k == "accept" && v.contains("application/json") && !v.contains("text/html"));
        let resp = match (method.as_str(), path.as_str()) {
            ("GET" | "HEAD", "/") => redirect(302, "/signup"),
            ("GET" | "HEAD", "/signup") => self.page("signup.html", "text/html; charset=utf-8"),
            ("GET" | "HEAD", "/login") => self.page("login.html", "text/html; charset=utf-8"),
            ("GET" | "HEAD", "/phone") => self.page("phone.html", "text/html; charset=utf-8"),
            ("GET" | "HEAD", "/demo.css") => self.page("demo.css", "text/css"),
            ("GET" | "HEAD", "/noscript.css") => self.page("noscript.css", "text/css"),
            ("GET" | "HEAD", "/account") => html(
                200,
                "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Account</title><main><h1>Your account</h1><p>You are logged in.</p></main></html>",
            ),
            ("POST", "/signup" | "/api/register") if !verified => json_response(
                403,
                &json!({"error": "unverified", "message": "sign-ups must come through the gate"}),
            ),
            ("POST", "/signup" | "/api/register") => {
                let email = form_value(&body, "email").unwrap_or_default();
                if wants_json {
                    json_response(201, &json!({"ok": true, "email": email}))
                } else {
                    html(
                        200,
                        &format!(
                            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Welcome</title><main><h1>Welcome!</h1><p id=\"result\">Signed up as {}</p></main></html>",
                            escape_html(&email)
                        ),
                    )
                }
            }
            ("POST", "/api/otp/send") if !verified => json_response(
                403,
                &json!({"error": "unverified", "message": "code requests must come through the gate"}),
            ),
            // the demo page's forms ask for pages (`?page=1`); API clients get JSON
            ("POST", "/api/otp/send") if query == "page=1" => page_of(self.otp_send(&body), &body, "sent"),
            ("POST", "/api/otp/check") if query == "page=1" => {
                page_of(self.otp_check(&body), &body, "checked")
            }
            ("POST", "/api/otp/send") => self.otp_send(&body),
            ("POST", "/api/otp/check") => self.otp_check(&body),
            ("POST", "/login") => redirect(303, &format!("{}/account", self.base)),
            _ => json_response(200, &json!({"echo": record})),
        };
        let _ = req.respond(resp);
    }

    /// Makes a fresh code for the body's `phone`, replacing any earlier one, and logs it.
    fn otp_send(&self, body: &[u8]) -> Response<std::io::Cursor<Vec<u8>>> {
        let Some(phone) = body_field(body, "phone").map(|p| normalize_phone(&p)).filter(|p| !p.is_empty())
        else {
            return json_response(
                400,
                &json!({"error": "missing_phone", "message": "Enter the phone number to send the code to."}),
            );
        };
        let Some(code) = random_code() else {
            eprintln!("demo-origin: cannot read /dev/urandom; no code made for {phone}");
            return json_response(
                500,
                &json!({"error": "no_randomness", "message": "The code could not be made; try again."}),
            );
        };
        {
            let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
            if codes.len() > MAX_PENDING_CODES {
                codes.clear();
            }
            codes.insert(phone.clone(), code.clone());
        }
        eprintln!("demo-origin: code for {phone} is {code} (logged, not sent)");
        json_response(200, &json!({"sent": true}))
    }

    /// Checks the body's `code` against the pending code for its `phone`; a match is spent.
    fn otp_check(&self, body: &[u8]) -> Response<std::io::Cursor<Vec<u8>>> {
        let Some(phone) = body_field(body, "phone").map(|p| normalize_phone(&p)).filter(|p| !p.is_empty())
        else {
            return json_response(
                400,
                &json!({"error": "missing_phone", "message": "Enter the phone number the code was sent to."}),
            );
        };
        let Some(code) = body_field(body, "code").map(|c| c.trim().to_string()).filter(|c| !c.is_empty())
        else {
            return json_response(
                400,
                &json!({"error": "missing_code", "message": "Enter the code we sent you."}),
            );
        };
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        // Constant-time, as a real origin's check would be (only the length can leak).
        let right =
            codes.get(&phone).is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(code.as_bytes())));
        if right {
            codes.remove(&phone);
            json_response(200, &json!({"verified": true}))
        } else {
            json_response(
                400,
                &json!({"error": "wrong_code", "message": "That code is not right, or it has expired."}),
            )
        }
    }

    /// A file from `www/demo`, with the strict Content-Security-Policy the widget is built for:
    /// scripts and workers from this origin only, and WebAssembly compilation.
    fn page(&self, name: &str, content_type: &str) -> Response<std::io::Cursor<Vec<u8>>> {
        match std::fs::read(self.www.join(name)) {
            Ok(bytes) => {
                let resp = with_header(
                    Response::from_data(bytes).with_status_code(200),
                    "Content-Type",
                    content_type,
                );
                with_header(resp, "Content-Security-Policy", CSP)
            }
            Err(_) => html(404, "<!doctype html><title>Not found</title><p>Page not found."),
        }
    }
}

fn form_value(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .or_else(|| serde_json::from_slice::<Value>(body).ok()?.get(name)?.as_str().map(str::to_string))
}

/// A string field of a request body: a JSON object when the body starts with `{`, else a
/// form (`+` in a form means a space: clients send a number's `+` as `%2B`).
fn body_field(body: &[u8], name: &str) -> Option<String> {
    if body.trim_ascii_start().starts_with(b"{") {
        serde_json::from_slice::<Value>(body).ok()?.get(name)?.as_str().map(str::to_string)
    } else {
        form_value(body, name)
    }
}

/// The key a number's code is stored under: its E.164 form where the numbering data reads it,
/// else only `+` and digits, so "+86 138 0013 8000" and "+8613800138000" are one number.
fn normalize_phone(raw: &str) -> String {
    // as the gate reads it (any spelling, phone keyboards' full-width digits), else its digits
    match gate::request::phone::parse(raw.trim(), None) {
        Ok(number) => number.e164().to_string(),
        Err(_) => raw.chars().filter(|c| *c == '+' || c.is_ascii_digit()).collect(),
    }
}

/// A six-digit code from the operating system's random source. The crate's `getrandom`
/// dependency is enabled only by the `edge` feature (the Worker), and this native demo
/// binary runs on Unix-like hosts, so it reads `/dev/urandom` itself; `None` if it cannot.
fn random_code() -> Option<String> {
    use std::io::Read as _;
    let mut urandom = std::fs::File::open("/dev/urandom").ok()?;
    loop {
        let mut bytes = [0u8; 4];
        urandom.read_exact(&mut bytes).ok()?;
        let n = u32::from_le_bytes(bytes);
        // 4_294_000_000 is the largest multiple of 10^6 below 2^32: rejecting the values above
        // it keeps every code equally likely.
        if n < 4_294_000_000 {
            return Some(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The demo phone page's next page for an OTP answer: after a send, the form to enter the code;
/// after a check, whether it was right.
fn page_of(
    answer: Response<std::io::Cursor<Vec<u8>>>,
    body: &[u8],
    step: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    let ok = answer.status_code().0 == 200;
    let phone = escape_html(&body_field(body, "phone").unwrap_or_default());
    let (title, content) = match (step, ok) {
        ("sent", true) => (
            "Enter your code",
            format!(
                "<p>We sent a code to {phone}. (In this demo it is in the demo origin's terminal.)</p>\
                 <form method=\"post\" action=\"/api/otp/check?page=1\">\
                 <input type=\"hidden\" name=\"phone\" value=\"{phone}\">\
                 <label for=\"code\">Code</label>\
                 <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
                 <button type=\"submit\">Verify</button></form>"
            ),
        ),
        ("checked", true) => ("Your number is verified", format!("<p id=\"result\">Verified {phone}.</p>")),
        ("checked", false) => (
            "That code is not right",
            "<p id=\"result\">That code is not right, or it has expired. <a href=\"/phone\">Ask for a new code</a>.</p>".to_string(),
        ),
        _ => ("No code was sent", "<p id=\"result\"><a href=\"/phone\">Try again</a>.</p>".to_string()),
    };
    html(
        if ok { 200 } else { 400 },
        &format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title><link rel=\"stylesheet\" href=\"/demo.css\"></head><body><main><h1>{title}</h1>{content}</main></body></html>"
        ),
    )
}

fn html(status: u16, body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    with_header(
        Response::from_string(body).with_status_code(status),
        "Content-Type",
        "text/html; charset=utf-8",
    )
}

fn json_response(status: u16, v: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    with_header(
        Response::from_string(v.to_string()).with_status_code(status),
        "Content-Type",
        "application/json",
    )
}

fn redirect(status: u16, location: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    with_header(Response::from_string("").with_status_code(status), "Location", location)
}
