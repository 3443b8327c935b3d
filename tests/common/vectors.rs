//! Known-answer checks shared by the native tests (`tests/vectors.rs`) and the Wasm tests
//! (`tests/wasm_node.rs`, `tests/wasm_browser.rs`): both builds must agree bit for bit with
//! `tests/data/vectors.json`, which an independent Python implementation generated.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gate::pow;
use gate::protocol::binding::Binding;
use gate::protocol::challenge::{self, Terms};
use gate::protocol::key::{Key, KeyRing, hex};
use gate::protocol::solution::{self, Expectation, Solution};
use gate::protocol::time::UnixTime;
use gate::protocol::verdict::{self, Verdict};
use serde_json::Value;

pub const VECTORS: &str = include_str!("../data/vectors.json");

pub fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

/// Runs `check` on every vector of `section`; returns how many there were.
fn each(section: &str, check: impl Fn(&Value)) -> usize {
    let v = vectors();
    let items = v[section].as_array().unwrap_or_else(|| panic!("no {section} in vectors.json"));
    items.iter().for_each(check);
    items.len()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    unhex(s).try_into().unwrap()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} is not a string in {v}"))
}

fn u64_of(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} is not a number in {v}"))
}

/// Key ids are HMAC(key, "gate key id v1")[..4].
pub fn check_keys() -> usize {
    each("keys", |k| {
        assert_eq!(Key::new(str_of(k, "secret").as_bytes()).id().to_hex(), str_of(k, "kid"));
    })
}

/// Client bindings from reduced parts.
pub fn check_bindings() -> usize {
    each("bindings", |b| {
        let asn = b["asn"].as_u64().map(|n| n as u32);
        let got = Binding::from_parts(asn, b["country"].as_str(), str_of(b, "family_major"));
        assert_eq!(hex(&got.0), str_of(b, "binding"), "{b}");
    })
}

/// Issuing reproduces the token; the seed, digests and the solution string match.
pub fn check_challenges() -> usize {
    each("challenges", |c| {
        let key = Key::new(str_of(c, "secret").as_bytes());
        let terms = Terms {
            route: str_of(c, "route").to_string(),
            difficulty: u64_of(c, "difficulty") as u8,
            k: u64_of(c, "k") as u8,
            risk: u64_of(c, "risk") as u8,
            ttl: u64_of(c, "expires_at") - u64_of(c, "issued_at"),
            binding: Binding(arr(str_of(c, "binding"))),
        };
        let signed =
            challenge::issue(&key, &terms, UnixTime::from_secs(u64_of(c, "issued_at")), arr(str_of(c, "id")))
                .unwrap();
        assert_eq!(signed.token(), str_of(c, "token"), "token for {}", str_of(c, "route"));
        assert_eq!(signed.to_json().signature, URL_SAFE_NO_PAD.encode(unhex(str_of(c, "signature"))));
        let seed = pow::seed(signed.bytes(), str_of(c, "signals").as_bytes());
        assert_eq!(hex(&seed), str_of(c, "seed"));
        let nonces: Vec<u64> = c["nonces"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
        for (i, (n, d)) in nonces.iter().zip(c["digests"].as_array().unwrap()).enumerate() {
            let mut block = pow::block(&seed, i as u32);
            pow::set_nonce(&mut block, *n);
            let state = pow::digest_block(&block);
            let bytes: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
            assert_eq!(hex(&bytes), d.as_str().unwrap());
            // the vector's nonce is the smallest solution, so the stepped search finds exactly it
            assert_eq!(pow::solve(&seed, i as u32, terms.difficulty), Some(*n));
        }
        let sol = Solution {
            token: signed.bytes().to_vec(),
            nonces,
            signals: str_of(c, "signals").as_bytes().to_vec(),
            topups: Vec::new(),
        };
        assert_eq!(sol.encode(), str_of(c, "solution"));
    })
}

/// Single-block digests and zero-bit counts.
pub fn check_pow() -> usize {
    each("pow", |p| {
        let seed: [u8; 32] = arr(str_of(p, "seed"));
        let nonce: u64 = str_of(p, "nonce").parse().unwrap();
        let index = u64_of(p, "index") as u32;
        let mut block = pow::block(&seed, index);
        pow::set_nonce(&mut block, nonce);
        let bytes: Vec<u8> = pow::digest_block(&block).iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(hex(&bytes), str_of(p, "digest"));
        assert_eq!(u64::from(pow::zero_bits(&seed, index, nonce)), u64_of(p, "zero_bits"));
    })
}

/// Verdict headers sign and verify identically.
pub fn check_verdicts() -> usize {
    each("verdicts", |x| {
        let key = Key::new(str_of(x, "secret").as_bytes());
        let verdict = Verdict {
            time: UnixTime::from_secs(u64_of(x, "time")),
            id: str_of(x, "id").into(),
            method: str_of(x, "method").into(),
            path: str_of(x, "path").into(),
            difficulty: u64_of(x, "difficulty") as u8,
            k: u64_of(x, "k") as u8,
            score: u64_of(x, "score") as u32,
            reasons: x["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
        };
        assert_eq!(verdict.sign(&key), str_of(x, "header"));
        let back =
            verdict::verify(str_of(x, "header"), &key, verdict.time, 60, &verdict.method, &verdict.path)
                .unwrap();
        assert_eq!(back, verdict);
    })
}

/// Every rejection vector gets the expected kind (or passes).
pub fn check_rejections() -> usize {
    each("rejections", |r| {
        let keys = KeyRing::new(Key::new(str_of(r, "secret").as_bytes()), None);
        let expect = Expectation {
            keys: &keys,
            now: UnixTime::from_secs(u64_of(r, "now")),
            skew: u64_of(r, "skew"),
            route: Some(str_of(r, "route")),
            binding: Some(Binding(arr(str_of(r, "binding")))),
            order: 0,
        };
        let got = solution::verify(str_of(r, "solution"), &expect).err().map(|e| e.kind().code());
        assert_eq!(got, r["expect"].as_str(), "{}", str_of(r, "name"));
    })
}

/// Issuing a top-up of the vector challenge reproduces its token; its seed and smallest
/// nonces match; the vector bundle verifies with exactly the vector's work.
pub fn check_topups() -> usize {
    let v = vectors();
    let items = v["topups"].as_array().unwrap();
    for t in items {
        let key = Key::new(str_of(t, "secret").as_bytes());
        let first_bytes = challenge::token_bytes(str_of(t, "first")).unwrap();
        let first = challenge::decode(&first_bytes).unwrap().challenge;
        let bytes = gate::protocol::topup::issue(
            &key,
            &first,
            u64_of(t, "difficulty") as u8,
            u64_of(t, "k") as u8,
            UnixTime::from_secs(u64_of(t, "issued_at")),
            arr(str_of(t, "id")),
        )
        .unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&bytes), str_of(t, "token"));
        let seed = pow::seed(&bytes, b"");
        assert_eq!(hex(&seed), str_of(t, "seed"));
        for (i, n) in t["nonces"].as_array().unwrap().iter().enumerate() {
            let d = u64_of(t, "difficulty") as u8;
            assert_eq!(pow::solve(&seed, i as u32, d), n.as_u64(), "top-up nonce {i}");
        }
    }
    for b in v["bundles"].as_array().unwrap() {
        let keys = KeyRing::new(Key::new(str_of(b, "secret").as_bytes()), None);
        let expect = Expectation {
            keys: &keys,
            now: UnixTime::from_secs(u64_of(b, "now")),
            skew: u64_of(b, "skew"),
            route: Some(str_of(b, "route")),
            binding: Some(Binding(arr(str_of(b, "binding")))),
            order: 3,
        };
        let verified = solution::verify(str_of(b, "solution"), &expect).unwrap();
        assert_eq!(verified.work, u64_of(b, "work"));
    }
    items.len()
}
