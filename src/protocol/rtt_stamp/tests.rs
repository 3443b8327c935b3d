use super::*;
use crate::protocol::binding::BINDING_LEN;
use proptest::prelude::*;

const T0: u64 = 1_800_000_000_000;

fn ring() -> KeyRing {
    KeyRing::new(Key::new(b"round-trip test secret, long enough!!!"), None)
}

fn binding() -> Binding {
    Binding([7; BINDING_LEN])
}

fn here() -> AddressDigest {
    AddressDigest::of(Some("203.0.113.0/24"))
}

/// A ping chain: the first answer at `t0`, then each echo after one round trip of `rtts[i]`.
fn chain(rtts: &[u64]) -> (String, u64) {
    let (mut stamp, _) = answer(&ring(), &binding(), here(), None, UnixTime::from_millis(T0)).unwrap();
    let mut t = T0;
    for rtt in rtts {
        t += rtt;
        stamp = answer(&ring(), &binding(), here(), Some(&stamp), UnixTime::from_millis(t)).unwrap().0;
    }
    (stamp, t)
}

#[test]
fn an_echo_measures_the_time_between_two_answers_and_keeps_the_best() {
    let (stamp, t) = chain(&[180, 95, 240]);
    let s = verify(&ring(), &binding(), &stamp).unwrap();
    assert_eq!((s.best_ms, s.rounds, s.issued_at.millis()), (Some(95), 3, t));
    assert_eq!(URL_SAFE_NO_PAD.decode(&stamp).unwrap().len(), LEN);
    let at_issue = Reading::AtIssue { address: here(), now: UnixTime::from_millis(t + 2_000) };
    assert_eq!(measured(&ring(), &binding(), &stamp, at_issue), Ok(95));
    // a first answer alone measured nothing
    let (first, _) = chain(&[]);
    assert_eq!(measured(&ring(), &binding(), &first, at_issue), Err(StampError::NotMeasured));
}

#[test]
fn a_stamp_only_counts_for_the_client_and_address_it_was_measured_for() {
    let (stamp, t) = chain(&[120]);
    let now = UnixTime::from_millis(t + 1_000);
    let other_binding = Binding([8; BINDING_LEN]);
    assert_eq!(
        measured(&ring(), &other_binding, &stamp, Reading::AtIssue { address: here(), now }),
        Err(StampError::BadSignature)
    );
    let elsewhere = AddressDigest::of(Some("198.51.100.0/24"));
    assert_eq!(
        measured(&ring(), &binding(), &stamp, Reading::AtIssue { address: elsewhere, now }),
        Err(StampError::OtherAddress)
    );
    // an echo from another address is refused: a round trip is measured over one path
    assert_eq!(
        answer(&ring(), &binding(), elsewhere, Some(&stamp), now).unwrap_err(),
        StampError::OtherAddress
    );
    // the signals of a challenge: its address was checked at issue
    let of_challenge = Reading::OfChallenge { issued_at: now };
    assert_eq!(measured(&ring(), &binding(), &stamp, of_challenge), Ok(120));
    // but not a stamp made after the challenge
    let before = Reading::OfChallenge { issued_at: UnixTime::from_millis(t - 10_000) };
    assert_eq!(measured(&ring(), &binding(), &stamp, before), Err(StampError::AfterChallenge));
}

#[test]
fn other_keys_labels_and_times_are_refused() {
    let (stamp, t) = chain(&[120]);
    let now = UnixTime::from_millis(t);
    let other = KeyRing::new(Key::new(b"another secret, also long enough!!!!!!"), None);
    assert!(matches!(verify(&other, &binding(), &stamp), Err(StampError::UnknownKey(_))));
    // during a rotation the previous key still verifies
    let rotated =
        KeyRing::new(Key::new(b"another secret, also long enough!!!!!!"), Some(ring().current().clone()));
    assert!(verify(&rotated, &binding(), &stamp).is_ok());
    // a stamp from the future
    let (future, _) = answer(&ring(), &binding(), here(), None, UnixTime::from_millis(t + 60_000)).unwrap();
    assert_eq!(answer(&ring(), &binding(), here(), Some(&future), now).unwrap_err(), StampError::NotYetValid);
    // a challenge token or a wait token is not a stamp
    let wait = crate::protocol::wait_token::issue(
        ring().current(),
        &crate::protocol::wait_token::WaitTerms {
            route: "/signup".into(),
            wait_secs: 1,
            ttl_secs: 60,
            binding: binding(),
        },
        now,
        [1; 16],
    )
    .unwrap();
    assert!(verify(&ring(), &binding(), &wait).is_err());
}

#[test]
fn every_flipped_bit_is_refused() {
    let (stamp, _) = chain(&[120]);
    let bytes = URL_SAFE_NO_PAD.decode(&stamp).unwrap();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            assert!(verify(&ring(), &binding(), &URL_SAFE_NO_PAD.encode(&b)).is_err(), "byte {i} bit {bit}");
        }
    }
}

#[test]
fn a_rejection_has_a_status() {
    for e in [
        StampError::Malformed("x"),
        StampError::BadSignature,
        StampError::OtherAddress,
        StampError::NotMeasured,
    ] {
        let status = e.rejection().kind().status();
        assert!((400..500).contains(&status), "{e}: {status}");
    }
}

proptest! {
    /// No input panics, and nothing but the gate's own stamp verifies.
    #[test]
    fn arbitrary_text_never_verifies(s in ".{0,120}", raw in proptest::collection::vec(any::<u8>(), 0..80)) {
        prop_assert!(verify(&ring(), &binding(), &s).is_err());
        prop_assert!(verify(&ring(), &binding(), &URL_SAFE_NO_PAD.encode(&raw)).is_err());
        let now = UnixTime::from_millis(T0);
        prop_assert!(answer(&ring(), &binding(), here(), Some(&s), now).is_err());
    }

    /// The measure is the shortest gap between consecutive answers, whatever their order.
    #[test]
    fn the_best_of_a_chain_is_its_shortest_round_trip(rtts in proptest::collection::vec(1u64..5_000, 1..8)) {
        let (stamp, t) = chain(&rtts);
        let at_issue = Reading::AtIssue { address: here(), now: UnixTime::from_millis(t) };
        let want = u32::try_from(*rtts.iter().min().unwrap()).unwrap();
        prop_assert_eq!(measured(&ring(), &binding(), &stamp, at_issue), Ok(want));
    }
}
