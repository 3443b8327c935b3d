//! The wire formats: the solution a client sends (`X-Gate-Solution`), the challenge token inside
//! it, and the verdict header the origin checks.

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gate::pow;
use gate::protocol::binding::Binding;
use gate::protocol::challenge::{self, Terms};
use gate::protocol::key::{Key, KeyRing};
use gate::protocol::solution::{self, Expectation, Solution, Verified};
use gate::protocol::time::UnixTime;
use gate::protocol::verdict::{self, Verdict};

/// The key of tests/data/vectors.json: the seeds are that file's solutions, so mutations of
/// them carry valid signatures and reach the checks behind the signature.
const VECTOR_SECRET: &[u8] = b"vector secret: 32 bytes or more, never use in production";
/// The origin key of the vectors' verdict headers.
const ORIGIN_SECRET: &[u8] = b"origin vector secret, also at least thirty-two bytes";
/// The vectors' verification time, skew and route.
const NOW: u64 = 1_700_000_010;
const SKEW: u64 = 30;
const ROUTE: &str = "/signup";

fn vector_binding() -> Binding {
    Binding::from_parts(Some(13335), Some("DE"), "chrome/131")
}

/// Whatever a verified solution must satisfy: each check of `solution::verify` held.
fn assert_verified(v: &Verified, solution: &Solution, expect: &Expectation<'_>) {
    let c = &v.challenge;
    assert_eq!(v.signals, solution.signals, "verified signals are the sent ones");
    if let Some(route) = expect.route {
        assert_eq!(c.route, route, "verified for another route");
    }
    if let Some(binding) = expect.binding {
        assert_eq!(c.binding, binding, "verified for another client");
    }
    assert!(expect.now <= c.expires_at.plus(expect.skew), "verified after expiry");
    assert!(c.issued_at <= expect.now.plus(expect.skew), "verified before issue");
    assert_eq!(solution.nonces.len(), usize::from(c.k), "verified with a wrong nonce count");
    let seed = pow::seed(&solution.token, &solution.signals);
    for (i, nonce) in (0u32..).zip(&solution.nonces) {
        assert!(pow::zero_bits(&seed, i, *nonce) >= u32::from(c.difficulty), "sub-puzzle {i} verified short");
    }
}

/// `X-Gate-Solution` as received: parse, re-encode, and the whole verifier.
pub fn solution(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let parsed = Solution::parse(raw);
    if let Ok(s) = &parsed {
        // the encoder's output reads back as the same solution
        assert_eq!(Solution::parse(&s.encode()).ok().as_ref(), Some(s), "encode/parse round trip");
    }
    let keys = KeyRing::new(Key::new(VECTOR_SECRET), None);
    let expect = Expectation {
        keys: &keys,
        now: UnixTime::from_secs(NOW),
        skew: SKEW,
        route: Some(ROUTE),
        binding: Some(vector_binding()),
        order: 0,
    };
    let verified = solution::verify(raw, &expect);
    if let (Ok(v), Ok(s)) = (&verified, &parsed) {
        assert_verified(v, s, &expect);
    }
    assert!(verified.is_err() || parsed.is_ok(), "verified what does not parse");
}

/// A challenge signed here, on terms the fuzzer picks, with the nonces, signals and
/// expectation it picks: what verifies passed every check, and a correct solution verifies.
#[derive(Debug, Arbitrary)]
pub struct VerifyInput {
    route: String,
    difficulty: u8,
    k: u8,
    risk: u8,
    ttl: u32,
    issued_at: u32,
    id: [u8; 16],
    binding: [u8; 16],
    nonces: Vec<u64>,
    signals: Vec<u8>,
    /// Seconds from issue to verification (negative: a clock behind).
    age: i32,
    skew: u16,
    /// The route and binding the verifier expects; `None`: the issued ones.
    other_route: Option<String>,
    other_binding: Option<[u8; 16]>,
    /// Sign with a key the verifier does not hold.
    unknown_key: bool,
    /// Replace the nonces with solved ones (only for cheap puzzles).
    solve: bool,
}

/// See [`VerifyInput`].
pub fn verify(input: VerifyInput) {
    let key = Key::new(VECTOR_SECRET);
    let signer = if input.unknown_key {
        Key::new(b"a key the verifier does not hold, 32+ bytes")
    } else {
        key.clone()
    };
    let terms = Terms {
        route: input.route.clone(),
        difficulty: input.difficulty,
        k: input.k,
        risk: input.risk,
        ttl: u64::from(input.ttl),
        binding: Binding(input.binding),
    };
    let issued_at = u64::from(input.issued_at);
    let issued = challenge::issue(&signer, &terms, UnixTime::from_secs(issued_at), input.id);
    let Ok(signed) = issued else {
        assert!(
            input.route.is_empty() || input.route.len() > challenge::MAX_ROUTE_LEN,
            "issue refused a good route"
        );
        return;
    };
    let mut nonces = input.nonces;
    if input.solve && input.difficulty <= 6 && input.k <= 64 {
        match solution::solve(signed.bytes(), &input.signals) {
            Ok(s) => nonces = s.nonces,
            Err(e) => panic!("an issued token does not decode: {e}"),
        }
    }
    let sent =
        Solution { token: signed.bytes().to_vec(), nonces, signals: input.signals, topups: Vec::new() };
    let raw = sent.encode();
    let keys = KeyRing::new(key, None);
    let route = input.other_route.unwrap_or(input.route);
    let binding = input.other_binding.map_or(terms.binding, Binding);
    let now = u64::try_from(i64::from(input.issued_at) + i64::from(input.age)).unwrap_or(0);
    let skew = u64::from(input.skew);
    let expect = Expectation {
        keys: &keys,
        now: UnixTime::from_secs(now),
        skew,
        route: Some(&route),
        binding: Some(binding),
        order: 0,
    };
    let got = solution::verify(&raw, &expect);
    if let Ok(v) = &got {
        assert_verified(v, &sent, &expect);
        assert_eq!(&v.challenge, signed.challenge(), "verified terms are the issued ones");
    }
    // and the other way: a solution that meets every check verifies
    let seed = pow::seed(&sent.token, &sent.signals);
    let correct = !input.unknown_key
        && route == terms.route
        && binding == terms.binding
        && now <= issued_at + terms.ttl + skew
        && issued_at <= now + skew
        && (1..=solution::MAX_K).contains(&sent.nonces.len())
        && sent.nonces.len() == usize::from(terms.k)
        && pow::first_insufficient(&seed, &sent.nonces, terms.difficulty).is_none()
        && raw.len() <= solution::MAX_SOLUTION_LEN;
    if correct {
        assert!(got.is_ok(), "a correct solution is refused: {:?}", got.err());
    }
}

/// Token bytes (`challenge::decode`) and token text (`challenge::token_bytes`).
pub fn token(data: &[u8]) {
    decoded(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bytes) = challenge::token_bytes(text)
    {
        assert!(bytes.len() <= challenge::MAX_TOKEN_LEN, "token_bytes let an oversized token through");
        decoded(&bytes);
    }
}

/// A token that decodes is its signed bytes and a 32-byte tag, and is what `issue` writes for
/// the same terms (all but the key id and the signature, which need the signer's key).
fn decoded(bytes: &[u8]) {
    let Ok(d) = challenge::decode(bytes) else { return };
    assert_eq!([d.signed, d.tag].concat(), bytes, "signed bytes and tag are the token");
    assert_eq!(d.tag.len(), 32, "tag length");
    let c = &d.challenge;
    let (issued, expires) = (c.issued_at.seconds(), c.expires_at.seconds());
    // times past u64::MAX milliseconds saturate when read; `issue` cannot write those
    if expires < issued || expires >= u64::MAX / 1000 {
        return;
    }
    let terms = Terms {
        route: c.route.clone(),
        difficulty: c.difficulty,
        k: c.k,
        risk: c.risk,
        ttl: expires - issued,
        binding: c.binding,
    };
    let again = challenge::issue(&Key::new(VECTOR_SECRET), &terms, c.issued_at, c.id);
    let again = match again {
        Ok(a) => a,
        Err(e) => panic!("decoded terms cannot be issued again: {e}"),
    };
    let (ours, theirs) = (again.bytes(), d.signed);
    assert_eq!(ours.len(), bytes.len(), "re-issued length");
    assert_eq!(ours.first(), theirs.first(), "version byte");
    assert_eq!(ours.get(5..theirs.len()), theirs.get(5..), "re-issued layout");
}

/// The verdict header as the origin checks it (`verdict::verify`), signed here so the parse
/// behind the signature is reached; and any path written into a verdict reads back as written.
pub fn verdict(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = Key::new(ORIGIN_SECRET);
    let now = UnixTime::from_secs(1_700_000_000);
    let body = text.rsplit_once(";sig=").map_or(text, |(body, _)| body);
    let tag = URL_SAFE_NO_PAD.encode(key.sign(&[body.as_bytes()]));
    if let Ok(v) = verdict::verify(&format!("{body};sig={tag}"), &key, now, 60, "POST", ROUTE) {
        assert!(v.method.eq_ignore_ascii_case("POST") && v.path == ROUTE, "verdict for another request");
    }
    let written = Verdict {
        time: now,
        id: "AAECAwQFBgcICQoLDA0ODw".into(),
        method: "POST".into(),
        path: text.to_string(),
        difficulty: 18,
        k: 16,
        score: 35,
        reasons: vec!["ua_automation".into(), "tz_mismatch".into()],
    };
    let read = verdict::verify(&written.sign(&key), &key, now, 0, "POST", text);
    assert_eq!(read, Ok(written), "a verdict's path reads back as written");
}
