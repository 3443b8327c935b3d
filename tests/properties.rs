//! Property tests: whatever bytes arrive, the verifier and the parsers return a value and
//! never panic (a panic would kill the Worker's Wasm instance).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gate::protocol::binding::Binding;
use gate::protocol::challenge::{self, Terms};
use gate::protocol::key::{Key, KeyRing};
use gate::protocol::solution::{self, Expectation, Solution};
use gate::protocol::time::UnixTime;
use gate::request::form::{self, BodyKind};
use gate::request::route;
use gate::request::user_agent::UserAgent;
use proptest::prelude::*;

fn ring() -> KeyRing {
    KeyRing::new(Key::new(b"property-test secret, long enough!!!"), None)
}

fn expect(keys: &KeyRing) -> Expectation<'_> {
    Expectation {
        keys,
        now: UnixTime::from_secs(1_700_000_010),
        skew: 30,
        route: Some("/signup"),
        binding: Some(Binding([1; 16])),
        order: 0,
    }
}

fn valid_solution() -> Solution {
    let terms =
        Terms { route: "/signup".into(), difficulty: 4, k: 3, risk: 0, ttl: 300, binding: Binding([1; 16]) };
    let signed =
        challenge::issue(ring().current(), &terms, UnixTime::from_secs(1_700_000_000), [3; 16]).unwrap();
    solution::solve(signed.bytes(), b"").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(raw in ".{0,600}") {
        let keys = ring();
        let _ = solution::verify(&raw, &expect(&keys));
    }

    #[test]
    fn arbitrary_bytes_in_every_part_never_panic(
        token in proptest::collection::vec(any::<u8>(), 0..400),
        nonces in proptest::collection::vec(any::<u8>(), 0..600),
        signals in proptest::collection::vec(any::<u8>(), 0..200),
        dots in 0usize..4,
    ) {
        let keys = ring();
        let mut raw = URL_SAFE_NO_PAD.encode(&token);
        for part in [&nonces, &signals].iter().take(dots) {
            raw.push('.');
            raw.push_str(&URL_SAFE_NO_PAD.encode(part));
        }
        let _ = solution::verify(&raw, &expect(&keys));
        let _ = challenge::decode(&token);
    }

    #[test]
    fn any_single_byte_change_to_a_valid_token_is_rejected(at in 0usize..103, bit in 0u8..8) {
        let keys = ring();
        let mut sol = valid_solution();
        prop_assume!(at < sol.token.len());
        sol.token[at] ^= 1 << bit;
        let result = solution::verify(&sol.encode(), &expect(&keys));
        prop_assert!(result.is_err(), "tampered byte {at} bit {bit} accepted");
    }

    #[test]
    fn parsers_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..500),
        ct in "(multipart/form-data; boundary=[a-z-]{0,12}|application/json|application/x-www-form-urlencoded|[ -~]{0,40})",
        ua in ".{0,200}",
        path in ".{0,100}",
        header in ".{0,300}",
    ) {
        if let Ok(fields) = form::Fields::parse(&BodyKind::of(Some(&ct)), &body) {
            let _ = fields.with_query(&header).get("gate-solution");
        }
        let _ = gate::request::phone::calling_code(&header, false);
        let _ = UserAgent::parse(&ua).family_major();
        let _ = route::MatchKey::of(&path);
        let _ = route::canonical(&path);
        let _ = route::Route::parse(&path);
        let key = Key::new(b"origin secret for property tests!!!");
        let _ = gate::protocol::verdict::verify(&header, &key, UnixTime::from_secs(0), 60, "POST", "/signup");
    }

    #[test]
    fn wait_tokens_never_panic_and_arbitrary_bytes_never_verify(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        raw in ".{0,500}",
        kind_byte in any::<bool>(),
        now in any::<u64>(),
    ) {
        let keys = ring();
        let mut bytes = bytes;
        if kind_byte && let Some(b) = bytes.first_mut() {
            *b = gate::protocol::wait_token::KIND; // get past the kind check to the layout and signature
        }
        let token = URL_SAFE_NO_PAD.encode(&bytes);
        for t in [token.as_str(), raw.as_str()] {
            let got = gate::protocol::wait_token::verify(t, &keys, UnixTime::from_secs(now), 30, "/signup", Binding([1; 16]));
            prop_assert!(got.is_err(), "arbitrary input verified as a wait token");
        }
    }

    #[test]
    fn no_js_form_readers_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..500),
        ct in "(multipart/form-data; boundary=[a-z-]{0,12}|application/x-www-form-urlencoded|[ -~]{0,40})",
    ) {
        let kind = BodyKind::of(Some(&ct));
        let read = gate::request::form::Fields::parse(&kind, &body).unwrap_or_default();
        let _ = gate::pipeline::nojs::fields(&read);
        let _ = gate::pipeline::nojs::without_field(&kind, &body, &read, gate::protocol::wait_token::FIELD);
    }

    /// Removing the wait token from a form leaves exactly the other fields, byte for byte
    /// readable again by the same parser (the origin reads what the person sent).
    #[test]
    fn no_js_token_removal_keeps_every_other_field(
        fields in proptest::collection::vec(("(gate-wait|email|name|note)", "[a-zA-Z0-9 @.\r\n]{0,12}"), 0..6),
        multipart in any::<bool>(),
    ) {
        use gate::pipeline::nojs;
        use gate::protocol::wait_token::FIELD;
        use gate::request::form::Fields;
        let boundary = "----B0undary";
        let (kind, body) = if multipart {
            let mut b = String::new();
            for (k, v) in &fields {
                b.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
            }
            b.push_str(&format!("--{boundary}--\r\n"));
            (BodyKind::Multipart(boundary.into()), b.into_bytes())
        } else {
            let b = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish();
            (BodyKind::UrlEncoded, b.into_bytes())
        };
        let read = Fields::parse(&kind, &body).unwrap();
        let stripped = nojs::without_field(&kind, &body, &read, FIELD);
        let again = Fields::parse(&kind, &stripped).unwrap();
        let want: Vec<(String, String)> = fields.iter().filter(|(k, _)| k != FIELD).cloned().collect();
        prop_assert_eq!(nojs::fields(&again).unwrap(), want);
    }
}

#[test]
fn the_valid_solution_used_above_verifies() {
    let keys = ring();
    assert!(solution::verify(&valid_solution().encode(), &expect(&keys)).is_ok());
}
