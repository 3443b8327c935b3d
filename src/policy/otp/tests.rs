//! The `[otp]` section: the Wilson bound, a pumped range priced then blocked (people not), a
//! range nobody entered a code in, first seen, and how the section loads (every problem at once).

#![allow(clippy::unwrap_used)] // tests may panic
use super::*;

use super::test_otp as otp;

#[test]
fn the_wilson_bound_is_optimistic_for_small_ranges_only() {
    assert!((wilson_upper(0.0, 20.0) - 0.161).abs() < 0.01);
    assert!((wilson_upper(12.0, 20.0) - 0.781).abs() < 0.01);
    assert!(wilson_upper(0.0, 1000.0) < 0.005);
    assert!(wilson_upper(850.0, 1000.0) > 0.85);
    assert_eq!(wilson_upper(0.0, 0.0), 1.0);
    // monotone in successes and, for a fixed share, falls towards it as n grows
    for n in [5.0, 20.0, 100.0, 1000.0] {
        let mut last = 0.0;
        for k in 0..=(n as u32) {
            let w = wilson_upper(f64::from(k), n);
            assert!(w >= last - 1e-12 && w >= f64::from(k) / n - 1e-12, "{k}/{n}");
            last = w;
        }
    }
}

#[test]
fn a_pumped_range_is_priced_then_blocked_while_it_is_used_and_people_are_not() {
    let o = otp("").unwrap();
    let now = 1_000_000;
    let reading = |sent: f64, verified: f64, tries: f64| RangeReading {
        sent,
        recent: 0.0,
        verified,
        tries,
        ..RangeReading::default()
    };
    // too few judged sends: nothing is known
    assert_eq!(o.judge(&reading(10.0, 0.0, 50.0), now), RangeVerdict::Normal);
    // people verify most codes: never priced, however many
    for sent in [20.0, 100.0, 10_000.0] {
        assert_eq!(o.judge(&reading(sent, sent * 0.8, 50.0), now), RangeVerdict::Normal);
    }
    // a range nobody verifies, being used now: blocked for the level's time
    assert_eq!(
        o.judge(&reading(200.0, 0.0, 10.0), now),
        RangeVerdict::Blocked { until_ms: now + 3_600_000, new: true }
    );
    // the same range, quiet now: priced at the strongest price level, not blocked
    assert!(matches!(o.judge(&reading(200.0, 0.0, 0.0), now), RangeVerdict::Priced { extra_bits: 4, .. }));
    // middling conversion: the milder price
    assert!(matches!(o.judge(&reading(400.0, 160.0, 9.0), now), RangeVerdict::Priced { extra_bits: 2, .. }));
    // a block on: refused until its end while the range is tried, whatever else the counters
    // say; once quiet (fewer than block_at_tries tries within the grace period, this one
    // counted), judged as if unblocked: priced, or nothing known
    for tries in [2.0, 3.0, 50.0] {
        let on = RangeReading { blocked_until: Some(now + 5), ..reading(0.0, 0.0, tries) };
        assert_eq!(o.judge(&on, now), RangeVerdict::Blocked { until_ms: now + 5, new: false });
    }
    for tries in [0.0, 1.0, 1.9] {
        let quiet = RangeReading { blocked_until: Some(now + 5), ..reading(0.0, 0.0, tries) };
        assert_eq!(o.judge(&quiet, now), RangeVerdict::Normal, "{tries}");
        let low = RangeReading { blocked_until: Some(now + 5), ..reading(200.0, 0.0, tries) };
        assert!(matches!(o.judge(&low, now), RangeVerdict::Priced { extra_bits: 4, .. }), "{tries}");
    }
    let over = RangeReading { blocked_until: Some(now), ..reading(0.0, 0.0, 10.0) };
    assert_eq!(o.judge(&over, now), RangeVerdict::Normal);
    // sends inside the grace period are not judged: a burst is not yet low
    let burst = RangeReading { recent: 190.0, ..reading(200.0, 0.0, 50.0) };
    assert_eq!(o.judge(&burst, now), RangeVerdict::Normal);
    // a range people use (many verified codes), pushed low by unentered sends: priced only
    for flood in [500.0, 5_000.0, 500_000.0] {
        let pushed = reading(100.0 + flood, 85.0, 100.0);
        assert!(matches!(o.judge(&pushed, now), RangeVerdict::Priced { extra_bits: 4, .. }), "{flood}");
    }
    // a pumped range that enters a few codes to look used is still blocked below min_sends
    assert!(matches!(o.judge(&reading(500.0, 19.0, 10.0), now), RangeVerdict::Blocked { .. }));
}

#[test]
fn a_range_nobody_entered_a_code_in_is_blocked_at_once_for_the_grace_period_until_one_is() {
    assert_eq!(otp("").unwrap().unentered_block_sends, 0, "off unless asked for");
    let o = otp("unentered_block_sends = 20").unwrap();
    let now = 1_000_000;
    let grace_end = now + u64::from(o.verify_grace_secs) * 1000;
    let read = |sent: f64, recent: f64, verified: f64, tries: f64| RangeReading {
        sent,
        recent,
        verified,
        tries,
        seen: Seen { site: 20.0, ..Seen::default() },
        ..RangeReading::default()
    };
    // every reading of a used range with the sends and no code entered: blocked for the grace
    // period, whether its sends are judged yet or not
    for sent in [19.0, 20.0, 25.0, 200.0] {
        for recent in [0.0, sent / 2.0, sent] {
            let v = o.judge(&read(sent, recent, 0.0, 5.0), now);
            let hour = RangeVerdict::Blocked { until_ms: now + 3_600_000, new: true };
            let short = RangeVerdict::Blocked { until_ms: grace_end, new: true };
            assert!(v == short || v == hour, "{sent} {recent}: {v:?}");
            // conversion's own block, when it can judge, is the longer one
            assert_eq!(v == hour, sent - recent >= 22.0, "{sent} {recent}: {v:?}");
        }
    }
    // not yet, or not any more: fewer sends (the count decayed a send short: the probe), a
    // code entered
    for (r, why) in [
        (read(18.0, 18.0, 0.0, 50.0), "fewer sends"),
        (read(18.9, 0.0, 0.0, 0.0), "decayed a send short"),
        (RangeReading { verified_recent: 0.5, ..read(20.0, 19.0, 0.5, 50.0) }, "half a code entered"),
        (RangeReading { verified_recent: 3.0, ..read(20.0, 19.0, 3.0, 50.0) }, "three codes entered"),
        (
            RangeReading { seen: Seen { site: 19.0, ..Seen::default() }, ..read(200.0, 200.0, 0.0, 50.0) },
            "cold site",
        ),
    ] {
        assert!(!matches!(o.judge(&r, now), RangeVerdict::Blocked { .. }), "{why}");
    }
    // while on, refused until its end; then renewed by the next send if still nobody entered one
    let on = RangeReading { blocked_until: Some(grace_end), ..read(30.0, 30.0, 0.0, 40.0) };
    assert_eq!(o.judge(&on, now), RangeVerdict::Blocked { until_ms: grace_end, new: false });
    let after = RangeReading { blocked_until: Some(grace_end), ..read(30.0, 0.0, 0.0, 40.0) };
    assert!(matches!(o.judge(&after, grace_end), RangeVerdict::Blocked { new: true, .. }));
    assert!(otp("unentered_block_sends = 100001").unwrap_err().contains("otp.unentered_block_sends"));
}

/// A short block is renewed for the grace period once less than half of it is left, while its
/// range is tried as fast as a pump (the count's tries within the grace period) and no code
/// was entered over it, whatever its decayed count: a pump trying every few seconds no longer
/// takes the one send each lapse let through. Not when a code was entered lately, people use
/// the range, the site is cold, or it is tried at people's pace (then the count alone decides
/// once it lapses: the probe a person can take).
#[test]
fn a_short_block_is_renewed_while_its_range_is_tried_as_fast_as_a_pump() {
    let o = otp("unentered_block_sends = 20").unwrap();
    let now = 5_000_000;
    let grace_ms = u64::from(o.verify_grace_secs) * 1000;
    let renewed = RangeVerdict::Blocked { until_ms: now + grace_ms, new: true };
    let read = |sent: f64, verified: f64, tries: f64, left_ms: u64| RangeReading {
        sent,
        recent: sent.min(3.0),
        verified,
        tries,
        blocked_until: Some(now + left_ms),
        seen: Seen { site: 40.0, ..Seen::default() },
        ..RangeReading::default()
    };
    for sent in [0.0, 5.0, 18.9, 19.0, 60.0] {
        for tries in [2.0, 7.0, 18.0, 19.0, 60.0] {
            // tried as fast as a pump (the count's tries within the grace period): renewed
            let pumped = tries + 1.0 >= f64::from(o.unentered_block_sends);
            for left_ms in [1, grace_ms / 4, grace_ms / 2] {
                let v = o.judge(&read(sent, 0.0, tries, left_ms), now);
                let held = RangeVerdict::Blocked { until_ms: now + left_ms, new: false };
                assert_eq!(
                    v,
                    if pumped { renewed } else { held },
                    "nobody entered: {sent} {tries} {left_ms}"
                );
            }
            for left_ms in [grace_ms / 2 + 1, grace_ms, 3_600_000] {
                let held = RangeVerdict::Blocked { until_ms: now + left_ms, new: false };
                assert_eq!(o.judge(&read(sent, 0.0, tries, left_ms), now), held, "{sent} {tries} {left_ms}");
            }
        }
    }
    // a range a few entered codes in, pumped now (no code entered over the grace period, the
    // count's tries): renewed too; the same range with a code entered lately, or fewer tries: not
    let few =
        |verified_recent: f64, tries: f64| RangeReading { verified_recent, ..read(30.0, 3.0, tries, 1) };
    assert_eq!(o.judge(&few(0.0, 40.0), now), renewed, "pumped now");
    let lapsing = RangeVerdict::Blocked { until_ms: now + 1, new: false };
    for (r, why) in [
        (few(1.0, 40.0), "a code entered lately"),
        (few(0.0, 10.0), "tried, not pumped"),
        (read(30.0, 20.0, 40.0, 1), "people use it"),
        (RangeReading { seen: Seen::default(), ..read(30.0, 0.0, 40.0, 1) }, "cold site"),
    ] {
        assert_eq!(o.judge(&r, now), lapsing, "{why}");
    }
    // the tries stopped: no block held; the decayed count alone decides (a send short: the probe)
    assert_eq!(o.judge(&read(18.9, 0.0, 1.0, 1), now), RangeVerdict::Normal);
    assert_eq!(
        o.judge(&read(19.0, 0.0, 1.0, 1), now),
        RangeVerdict::Blocked { until_ms: now + grace_ms, new: true }
    );
    // with the count off, a block is never renewed
    let off = otp("").unwrap();
    assert_eq!(off.judge(&read(30.0, 0.0, 40.0, 1), now), lapsing);
}

/// A range a few people entered codes in earlier (fewer than `min_sends`) and pumped now, at
/// every mix of its history and the pump: blocked for the grace period once the pump has the
/// unentered count's sends or tries within it and its entered share lately is below the block
/// level's; the same range with people sending now (their codes entered at a share far above)
/// never is, nor one people use more.
#[test]
fn a_range_people_used_earlier_is_blocked_while_it_is_pumped_now_and_not_while_people_use_it() {
    let o = otp("unentered_block_sends = 20").unwrap();
    let now = 1_000_000;
    let short = RangeVerdict::Blocked { until_ms: now + u64::from(o.verify_grace_secs) * 1000, new: true };
    let read = |verified: f64, recent: f64, verified_recent: f64, tries: f64| RangeReading {
        // judged sends one short of conversion judging at all (its own, longer block is tested
        // above)
        sent: recent + 19.0,
        recent,
        verified,
        verified_recent,
        tries,
        seen: Seen { site: 20.0, ..Seen::default() },
        ..RangeReading::default()
    };
    let blocked = |r: &RangeReading| o.judge(r, now) == short;
    for earlier in [0.5, 1.0, 3.0, 10.0, 19.0] {
        for pump in [21.0, 25.0, 40.0, 100.0, 1_000.0] {
            // no code entered lately: blocked on the pump's sends, or on its tries while it is
            // refused (its sends decayed, the block renewed)
            assert!(blocked(&read(earlier, pump, 0.0, pump)), "{earlier} {pump}");
            assert!(blocked(&read(earlier, 2.0, 0.0, pump)), "{earlier} tries {pump}");
            // one person's code entered among the pump's sends: blocked once the share is low
            let one = read(earlier, pump, 1.0, pump);
            assert_eq!(blocked(&one), wilson_upper(1.0, pump + 1.0) < 0.15, "{earlier} {pump}");
            assert_eq!(blocked(&one), pump >= 35.0, "{earlier} {pump}");
        }
        // people sending now: a third or more of their recent sends already entered (most
        // within a minute or two), however many they are
        for sends in [19.0, 20.0, 30.0, 60.0, 200.0] {
            for share in [0.34, 0.5, 0.85] {
                let people = read(earlier, sends, (sends * share).floor(), sends);
                assert!(
                    !matches!(o.judge(&people, now), RangeVerdict::Blocked { .. }),
                    "{earlier} {sends} {share}"
                );
            }
        }
        // fewer than the count within the grace period, sent or tried: not yet
        assert!(!blocked(&read(earlier, 18.0, 0.0, 18.0)), "{earlier}");
    }
    // a range people use (min_sends codes entered in the window): priced, never blocked
    for pump in [25.0, 1_000.0] {
        assert!(!matches!(o.judge(&read(20.0, pump, 0.0, pump), now), RangeVerdict::Blocked { .. }));
    }
    // a range's only: a calling code (or network) a few people entered codes in, pumped in
    // another of its ranges, stays open (the pumped range is blocked on its own counts)
    let code = read(3.0, 30.0, 0.0, 30.0);
    let quiet = read(3.0, 2.0, 0.0, 2.0);
    for wider in [
        WiderReadings { calling_code: Some(&code), network: None },
        WiderReadings { calling_code: None, network: Some(("kg-b", &code)) },
    ] {
        assert!(!matches!(o.judge_number(&quiet, wider, now).0, RangeVerdict::Blocked { .. }));
        assert_eq!(o.judge_number(&code, wider, now), (short, RangeScope::Range));
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = otp(
        "window_secs = 10\nverify_grace_secs = 0\nlevels = [{ conversion_below = 1.5, extra_bits = 2 }, \
         { conversion_below = 0.1 }, { conversion_below = 0.2, extra_bits = 2, block_secs = 60 }, \
         { conversion_below = 0.3, block_secs = 5 }]",
    )
    .unwrap_err();
    for want in [
        "otp.window_secs: 10 is outside 60..=604800",
        "otp.verify_grace_secs: 0 is outside 1..=3600",
        "otp.levels[0].conversion_below: 1.5 is outside (0, 1]",
        "otp.levels[1]: needs exactly one of extra_bits or block_secs",
        "otp.levels[2]: needs exactly one of",
        "otp.levels[3].block_secs: 5 is outside",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
    let head = "version = 1\n[routes]\nprotected = [\"POST /signup\", \"POST /api/*\"]\n[otp]\n";
    let e = crate::policy::load(&format!(
        "{head}send = {{ route = \"/login\" }}\ncheck = {{ route = \"POST /api/otp/check\", field = \"a\", header = \"b\", verified_status = [500] }}\n"
    ))
    .unwrap_err()
    .to_string();
    for want in [
        "otp.send.route: \"/login\" is not a protected route",
        "otp.send: needs routes.phone_field",
        "otp.check.route: \"POST /api/otp/check\" is protected",
        "otp.check: needs exactly one of field or header",
        "otp.check.verified_status",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
}

#[test]
fn the_backoff_is_off_unless_asked_for_and_its_problems_are_reported_at_once() {
    assert_eq!(otp("").unwrap().backoff, None);
    let on = otp("[otp.backoff]").unwrap().backoff.unwrap();
    assert_eq!((on.free_sends, on.base_secs, on.max_secs, on.reset_after_secs), (1, 30, 3600, 86_400));
    let e = otp("[otp.backoff]\nfree_sends = 0\nbase_secs = 600\nmax_secs = 60\nfactor = 0.5\njitter = 2\nreset_after_secs = 30")
        .unwrap_err();
    for want in [
        "otp.backoff.free_sends: 0 is outside 1..=10",
        "otp.backoff.max_secs: 60 is below base_secs (600)",
        "otp.backoff.factor: 0.5 is outside 1..=10",
        "otp.backoff.jitter: 2 is outside 0..=1",
        "otp.backoff.reset_after_secs: 30 is outside 60..=2592000",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
    assert!(otp("[otp.backoff]\nwait = 3").unwrap_err().contains("unknown field"));
}

#[test]
fn first_seen_prices_ranges_and_calling_codes_nobody_entered_a_code_in_once_the_site_is_warm() {
    assert_eq!(otp("").unwrap().first_seen, None);
    let o = otp("[otp.first_seen]\nwarm_up_verified = 50").unwrap();
    let now = 1_000_000;
    let read = |range: f64, code: f64, site: f64| RangeReading {
        seen: Seen { range, calling_code: code, site },
        ..RangeReading::default()
    };
    let fs = |bits: u8, scope: &'static str| RangeVerdict::FirstSeen { extra_bits: bits, scope };
    // a cold site: nothing is first seen
    for site in [0.0, 10.0, 49.9] {
        assert_eq!(o.judge(&read(0.0, 0.0, site), now), RangeVerdict::Normal, "{site}");
    }
    // warm: the dearer of the two unseen scopes
    assert_eq!(o.judge(&read(0.0, 0.0, 50.0), now), fs(4, "calling code"));
    assert_eq!(o.judge(&read(0.0, 3.0, 500.0), now), fs(2, "range"));
    assert_eq!(o.judge(&read(0.2, 3.0, 500.0), now), fs(2, "range"), "less than half a code left");
    assert_eq!(o.judge(&read(1.0, 3.0, 500.0), now), RangeVerdict::Normal);
    // the conversion, once it can be judged, says more than first seen
    let low = RangeReading { sent: 200.0, tries: 0.0, ..read(0.0, 0.0, 500.0) };
    assert!(matches!(o.judge(&low, now), RangeVerdict::Priced { extra_bits: 4, .. }));
    let people = RangeReading { sent: 200.0, verified: 170.0, ..read(0.0, 3.0, 500.0) };
    assert_eq!(o.judge(&people, now), fs(2, "range"), "a range whose counts moved to first seen's period");
    // its keys: the range, its calling code, the site
    let keys: Vec<String> = Otp::seen_keys("+996 500").iter().map(|k| k.to_string()).collect();
    assert_eq!(keys, ["otp_seen:+996 500", "otp_seen:+996", "otp_seen:*"]);
    // the range's and its calling code's six counts each, and the three seen
    assert!(o.read_keys("+996 500").len() == 15 && otp("").unwrap().read_keys("+996 500").len() == 12);
    assert_eq!(o.window_of(OtpCount::Seen), 7 * 86_400);
    let e = otp("[otp.first_seen]\nlearn_days = 0\nrange_extra_bits = 0\ncalling_code_extra_bits = 0")
        .unwrap_err();
    for want in ["otp.first_seen.learn_days: 0 is outside 1..=90", "otp.first_seen: prices nothing"] {
        assert!(e.contains(want), "{want} in {e}");
    }
}

#[test]
fn levels_are_kept_strongest_first_and_the_check_may_read_a_header() {
    let o = otp("").unwrap();
    let below: Vec<f64> = o.levels.iter().map(|l| l.conversion_below).collect();
    assert_eq!(below, [0.15, 0.3, 0.5]);
    assert_eq!(o.check_number, NumberSource::Field("phone".into()));
    assert_eq!(o.send_route, "/api/otp/send");
    let text = "version = 1\n[routes]\nprotected = [\"POST /api/otp/send\"]\nphone_field = \"phone\"\n\
                [otp]\nsend = { route = \"/api/otp/send\" }\ncheck = { route = \"POST /api/otp/check\", header = \"X-Phone\" }\n";
    let o = crate::policy::load(text).unwrap().otp.unwrap();
    assert_eq!(o.check_number, NumberSource::Header("x-phone".into()));
}
