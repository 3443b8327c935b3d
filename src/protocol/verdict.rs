//! The verdict header the origin receives with every forwarded sign-up.
//!
//! `X-Gate-Verdict: v=1;t=<unix>;id=<challenge id>;m=<method>;p=<path>;d=<difficulty>;k=<k>;score=<risk>;reasons=<a,b|->;sig=<base64url>`
//!
//! `sig` is HMAC-SHA256 with `ORIGIN_SECRET` over every byte before `;sig=`. In `p`, `%` and `;`
//! are written `%25` and `%3B` so the header stays splittable. The origin recomputes the
//! HMAC, checks `t` is recent, and checks `m` and `p` are the request's own.

use crate::protocol::key::Key;
use crate::protocol::time::UnixTime;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The header name.
pub const HEADER: &str = "X-Gate-Verdict";

/// What the gate tells the origin about a forwarded request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// When the gate forwarded it.
    pub time: UnixTime,
    /// The spent challenge's id, base64url (lets the origin de-duplicate too).
    pub id: String,
    /// Request method.
    pub method: String,
    /// Request path, as received.
    pub path: String,
    /// Difficulty that was paid.
    pub difficulty: u8,
    /// Sub-puzzles that were paid.
    pub k: u8,
    /// The fingerprint risk score at submission (0 for a client with no findings).
    pub score: u32,
    /// Reason codes behind the score.
    pub reasons: Vec<String>,
}

/// Why a verdict header was refused by the origin-side check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    /// The header is not in the documented shape.
    #[error("verdict header is malformed: {0}")]
    Malformed(&'static str),
    /// The HMAC does not verify.
    #[error("verdict signature does not verify")]
    BadSignature,
    /// `t` is too far from the origin's clock.
    #[error("verdict is {0} s old")]
    Stale(u64),
    /// The verdict was for another request.
    #[error("verdict is for {0}, not this request")]
    OtherRequest(String),
}

impl Verdict {
    /// The signed header value.
    pub fn sign(&self, key: &Key) -> String {
        let body = self.body();
        let sig = key.sign(&[body.as_bytes()]);
        format!("{body};sig={}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn body(&self) -> String {
        let reasons = if self.reasons.is_empty() { "-".to_string() } else { self.reasons.join(",") };
        format!(
            "v=1;t={};id={};m={};p={};d={};k={};score={};reasons={}",
            self.time.seconds(),
            self.id,
            self.method,
            escape_path(&self.path),
            self.difficulty,
            self.k,
            self.score,
            reasons
        )
    }
}

fn escape_path(p: &str) -> String {
    p.replace('%', "%25").replace(';', "%3B")
}

fn unescape_path(p: &str) -> String {
    p.replace("%3B", ";").replace("%25", "%")
}

/// Origin-side check: signature, freshness (`max_age` seconds either way), and that the
/// verdict is for this method and path.
pub fn verify(
    header: &str,
    key: &Key,
    now: UnixTime,
    max_age: u64,
    method: &str,
    path: &str,
) -> Result<Verdict, VerdictError> {
    let (body, sig) = header.rsplit_once(";sig=").ok_or(VerdictError::Malformed("no ;sig="))?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| VerdictError::Malformed("sig is not base64url"))?;
    if !key.verify(&[body.as_bytes()], &sig) {
        return Err(VerdictError::BadSignature);
    }
    let mut v = Verdict {
        time: UnixTime::from_secs(0),
        id: String::new(),
        method: String::new(),
        path: String::new(),
        difficulty: 0,
        k: 0,
        score: 0,
        reasons: Vec::new(),
    };
    let mut version_seen = false;
    for pair in body.split(';') {
        let (name, value) = pair.split_once('=').ok_or(VerdictError::Malformed("field without ="))?;
        match name {
            "v" => version_seen = value == "1",
            "t" => v.time = UnixTime::from_secs(value.parse().map_err(|_| VerdictError::Malformed("t"))?),
            "id" => v.id = value.to_string(),
            "m" => v.method = value.to_string(),
            "p" => v.path = unescape_path(value),
            "d" => v.difficulty = value.parse().map_err(|_| VerdictError::Malformed("d"))?,
            "k" => v.k = value.parse().map_err(|_| VerdictError::Malformed("k"))?,
            "score" => v.score = value.parse().map_err(|_| VerdictError::Malformed("score"))?,
            "reasons" if value != "-" => v.reasons = value.split(',').map(str::to_string).collect(),
            _ => {}
        }
    }
    if !version_seen {
        return Err(VerdictError::Malformed("v is not 1"));
    }
    let age = now.seconds().abs_diff(v.time.seconds());
    if age > max_age {
        return Err(VerdictError::Stale(age));
    }
    if !v.method.eq_ignore_ascii_case(method) || v.path != path {
        return Err(VerdictError::OtherRequest(format!("{} {}", v.method, v.path)));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> Verdict {
        Verdict {
            time: UnixTime::from_secs(1_700_000_000),
            id: "AAECAwQFBgcICQoLDA0ODw".into(),
            method: "POST".into(),
            path: "/signup;x=1%20".into(),
            difficulty: 18,
            k: 16,
            score: 12,
            reasons: vec!["ua_automation".into(), "tz_mismatch".into()],
        }
    }

    #[test]
    fn sign_then_verify() {
        let key = Key::new(b"origin secret with enough bytes in it!");
        let header = verdict().sign(&key);
        assert!(header.starts_with("v=1;t=1700000000;id=AAECAwQFBgcICQoLDA0ODw;m=POST;p=/signup%3Bx=1%2520;d=18;k=16;score=12;reasons=ua_automation,tz_mismatch;sig="));
        let got =
            verify(&header, &key, UnixTime::from_secs(1_700_000_010), 60, "POST", "/signup;x=1%20").unwrap();
        assert_eq!(got, verdict());
    }

    #[test]
    fn refusals() {
        let key = Key::new(b"origin secret with enough bytes in it!");
        let other = Key::new(b"another origin secret with enough bytes");
        let header = verdict().sign(&key);
        let tampered = header.replace("score=12", "score=0");
        let now = UnixTime::from_secs(1_700_000_000);
        let p = "/signup;x=1%20";
        assert_eq!(verify(&header, &other, now, 60, "POST", p), Err(VerdictError::BadSignature));
        assert_eq!(verify(&tampered, &key, now, 60, "POST", p), Err(VerdictError::BadSignature));
        assert_eq!(verify(&header, &key, now.plus(61), 60, "POST", p), Err(VerdictError::Stale(61)));
        assert!(matches!(
            verify(&header, &key, now, 60, "POST", "/login"),
            Err(VerdictError::OtherRequest(_))
        ));
        assert!(matches!(verify("garbage", &key, now, 60, "POST", p), Err(VerdictError::Malformed(_))));
        let empty_reasons = Verdict { reasons: vec![], ..verdict() };
        assert_eq!(
            verify(&empty_reasons.sign(&key), &key, now, 60, "POST", p).unwrap().reasons,
            Vec::<String>::new()
        );
    }
}
