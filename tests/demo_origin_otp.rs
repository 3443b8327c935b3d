//! The demo origin's one-time-code flow, against the real `demo-origin` binary: a send needs a
//! gate verdict, a check does not, numbers are compared by their digits, and a code is spent
//! by its first right check.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::protocol::key::Key;
use gate::protocol::time::UnixTime;
use gate::protocol::verdict::{self, Verdict};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "demo-origin-otp-test-secret";

/// The running origin; killed when dropped, so a failing assertion does not leave it behind.
struct Origin {
    child: Child,
    addr: String,
    /// Its stderr so far, line by line (where codes are logged).
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Origin {
    /// Waits up to 5 s for a stderr line equal to `line`.
    fn logged(&self, line: &str) -> bool {
        for _ in 0..100 {
            if self.stderr.lock().unwrap().iter().any(|l| l == line) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Origin {
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo-origin"))
        .args(["--port", "0", "--dev-vars", "/nonexistent"])
        .env("ORIGIN_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start demo-origin");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    // Guard first, so the child is killed even if the first line is not what we expect.
    let mut origin = Origin { child, addr: String::new(), stderr: lines };
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the first line");
    origin.addr = line
        .trim()
        .strip_prefix("demo-origin listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    origin
}

/// One HTTP/1.1 request on its own connection; returns the status and the body as JSON.
fn request(origin: &Origin, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(&origin.addr).expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        origin.addr,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body.as_bytes()).expect("write body");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("body {body:?} is not JSON: {e}"));
    (status, json)
}

/// A verdict for `method path`, signed as the gate signs the ones it forwards.
fn verdict_for(method: &str, path: &str) -> String {
    #[allow(clippy::disallowed_methods)] // the test plays the gate, whose adapter reads the clock
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    Verdict {
        time: UnixTime::from_secs(now),
        id: "AAECAwQFBgcICQoLDA0ODw".into(),
        method: method.into(),
        path: path.into(),
        difficulty: 16,
        k: 1,
        score: 0,
        reasons: Vec::new(),
    }
    .sign(&Key::new(SECRET.as_bytes()))
}

#[test]
fn otp_send_needs_a_verdict_and_a_code_is_checked_once() {
    let origin = start();
    let json = [("Content-Type", "application/json")];
    let form = [("Content-Type", "application/x-www-form-urlencoded")];

    // Without a verdict a send is refused, like a sign-up, and nothing is stored.
    let (status, body) = request(&origin, "POST", "/api/otp/send", &json, r#"{"phone":"+86 138 0013 8000"}"#);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "unverified");
    let (status, _) = request(&origin, "GET", "/__origin/otp?phone=%2B8613800138000", &[], "");
    assert_eq!(status, 404);

    // With one: sent, and the code is stored under the compact spelling of the number.
    let signed = verdict_for("POST", "/api/otp/send");
    let with_verdict = [("Content-Type", "application/json"), (verdict::HEADER, signed.as_str())];
    let (status, body) =
        request(&origin, "POST", "/api/otp/send", &with_verdict, r#"{"phone":"+86 138 0013 8000"}"#);
    assert_eq!((status, &body), (200, &serde_json::json!({"sent": true})));
    let (status, body) = request(&origin, "GET", "/__origin/otp?phone=%2B8613800138000", &[], "");
    assert_eq!(status, 200, "{body}");
    let code = body["code"].as_str().expect("a code").to_string();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
    let log = format!("demo-origin: code for +8613800138000 is {code} (logged, not sent)");
    assert!(origin.logged(&log), "no {log:?} in {:?}", origin.stderr.lock().unwrap());

    // A wrong code is refused and leaves the right one pending.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = request(
        &origin,
        "POST",
        "/api/otp/check",
        &json,
        &format!(r#"{{"phone":"+8613800138000","code":"{wrong}"}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "wrong_code");

    // The right code, as a form (with the number spelled with spaces, `+` as %2B), verifies.
    let right = format!("phone=%2B86+138+0013+8000&code=+{code}+");
    let (status, body) = request(&origin, "POST", "/api/otp/check", &form, &right);
    assert_eq!((status, &body), (200, &serde_json::json!({"verified": true})));

    // It is single use.
    let (status, body) = request(&origin, "POST", "/api/otp/check", &form, &right);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "wrong_code");
    let (status, _) = request(&origin, "GET", "/__origin/otp?phone=%2B8613800138000", &[], "");
    assert_eq!(status, 404);

    // Missing fields say which.
    let (status, body) = request(&origin, "POST", "/api/otp/check", &form, "phone=%2B8613800138000");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "missing_code");
    let (status, body) = request(&origin, "POST", "/api/otp/check", &json, r#"{"code":"123456"}"#);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "missing_phone");
    let signed = verdict_for("POST", "/api/otp/send");
    let with_verdict = [("Content-Type", "application/json"), (verdict::HEADER, signed.as_str())];
    let (status, body) = request(&origin, "POST", "/api/otp/send", &with_verdict, r#"{"phone":" "}"#);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "missing_phone");

    // Every OTP request reached the origin's records, verdict or not.
    let (_, body) = request(&origin, "GET", "/__origin/records", &[], "");
    let otp_paths: Vec<&str> = body["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.starts_with("/api/otp/"))
        .collect();
    assert_eq!(otp_paths.len(), 8, "{otp_paths:?}");
}
