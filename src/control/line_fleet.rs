//! A waiting line played over real shards and a fleet of isolates in virtual time, with
//! people who come back when told: the order the line promises holds once a place is served.

use super::line::Stand;
use super::tests::{W, World, keys_on, line_route, xorshift};
use crate::policy::Turn;
use crate::protocol::time::UnixTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What one crowd did: per admitted place, how long it waited after its turn came (ms) and
/// when it was forwarded.
struct Played {
    served_waits: Vec<u64>,
    forwarded: Vec<u64>,
    /// Per place whose turn came, the wait it was first told (ms) and the wait it had (ms),
    /// both from that first answer.
    told: Vec<(u64, u64)>,
}

/// One person in the crowd: their place (the challenge's issue time), when their turn first
/// came, and the first `in_line` answer ahead of the mark (when, the wait it stated, ms).
struct Person {
    place: u64,
    turn_came: Option<u64>,
    first_told: Option<(u64, u64)>,
}

/// `per_minute` people a minute for `minutes` minutes against a capacity of 300, spread over
/// `n_isolates`; each fills the form in for 20–50 s after its challenge (its place), then
/// submits and asks again when told (at most 10 s on), until admitted.
fn crowd(n_isolates: usize, per_minute: u64, minutes: u64, seed: u64) -> Played {
    let cap = line_route();
    let keys_of = |asn: u32| keys_on(&cap, asn);
    let mut w = World::new(64, n_isolates);
    let n_shards = w.shards.len() as u32;
    let start = 1_000_000u64;
    let mut x = 0x9e37_79b9_u64 ^ seed;
    // (when, person)
    let mut asks: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut people: Vec<Person> = Vec::new();
    let gap = 60_000 / per_minute.max(1);
    for n in 0..per_minute * minutes {
        let place = start + n * gap;
        people.push(Person { place, turn_came: None, first_told: None });
        asks.push(Reverse((place + 20_000 + xorshift(&mut x) % 30_000, people.len() - 1)));
    }
    let mut played = Played { served_waits: Vec::new(), forwarded: Vec::new(), told: Vec::new() };
    let end = start + (minutes + 30) * 60_000;
    while let Some(Reverse((t, who))) = asks.pop() {
        if t > end {
            break;
        }
        let Some(&Person { place, turn_came, .. }) = people.get(who) else { continue };
        let i = (xorshift(&mut x) % n_isolates as u64) as usize;
        let keys = keys_of(64_500 + (xorshift(&mut x) % 50) as u32);
        let cold = w.isolates[i].cold(&keys, n_shards, W, 20.0, t);
        w.run(i, cold, t);
        let st = w.isolates[i].state(&keys, false, n_shards, W, Some(&cap), t);
        let draw = (xorshift(&mut x) >> 11) as f64 / (1u64 << 53) as f64;
        let turn = st.capacity.and_then(|c| c.line).map_or(Turn::Now, |l| l.turn(place, draw));
        // asked again after `retry` seconds, standing where the place stood; or forwarded
        let asked = match turn {
            Turn::Now
                if w.isolates[i].hold_forward(&cap.route, cap.per_minute, UnixTime::from_millis(t)) == 0 =>
            {
                w.isolates[i].count_signup(&keys, false, n_shards, W, t);
                w.isolates[i].capacity.entry(cap.route.clone()).or_default().served(place);
                played.served_waits.push(t.saturating_sub(turn_came.unwrap_or(t)));
                played.forwarded.push(t);
                None
            }
            Turn::Now => Some((1, Stand::Held)),
            Turn::Wait { wait_secs, ahead_secs: 0 } => Some((wait_secs, Stand::Held)),
            Turn::Wait { wait_secs, .. } => Some((wait_secs, Stand::Ahead)),
        };
        if let Some((_, stand)) = asked {
            w.isolates[i].capacity.entry(cap.route.clone()).or_default().asked(place, stand);
        }
        if let Some(person) = people.get_mut(who) {
            match turn {
                Turn::Wait { wait_secs, ahead_secs: 1.. } => {
                    person.first_told.get_or_insert((t, u64::from(wait_secs) * 1000));
                }
                _ if person.turn_came.is_none() => {
                    person.turn_came = Some(t);
                    if let Some((asked_at, stated)) = person.first_told {
                        played.told.push((stated, t.saturating_sub(asked_at)));
                    }
                }
                _ => {}
            }
        }
        if let Some((r, _)) = asked {
            let spread = xorshift(&mut x) % 4;
            asks.push(Reverse((t + (u64::from(r) + spread).clamp(1, 10) * 1000, who)));
        }
        let (bg, _) = w.isolates[i].background(20.0, t);
        w.run(i, bg, t);
    }
    played
}

/// The line promises order: a place is served when the watermark passes it, and then comes
/// in. Served places the full route holds wait among all the others served, drawn at random;
/// a watermark that runs ahead of what the origin takes makes that pool the line (people told
/// "now" for minutes). Over crowds of 1.5, 2 and 3 times capacity and 2, 8 and 20 isolates,
/// 95 % of served places come in within a minute of their turn and none waits two minutes
/// (without holding still: 95 % within 632 s at 20 isolates and three times capacity); no
/// sliding minute after the first takes 10 % over capacity.
#[test]
fn a_served_place_comes_in_soon_after_its_turn_whatever_the_crowd() {
    for (n_isolates, per_minute) in [(2usize, 450u64), (8, 600), (20, 900), (20, 450)] {
        let p = crowd(n_isolates, per_minute, 6, per_minute ^ n_isolates as u64);
        let mut waits = p.served_waits.clone();
        waits.sort_unstable();
        let p95 = waits.get(waits.len() * 95 / 100).copied().unwrap_or(0);
        let most = waits.last().copied().unwrap_or(0);
        let at = format!("{n_isolates} isolates, {per_minute} a minute");
        // the wait a place is first told against the wait it has from then: never much longer
        // (people leave on a long estimate; 2026-12-07 p95 2–10 s over, and at 20 isolates and
        // three times capacity told ~95 s too short at the median, see docs/drill.md)
        let mut over: Vec<i64> = p.told.iter().map(|(s, a)| *s as i64 - *a as i64).collect();
        over.sort_unstable();
        let over_p95 = over.get(over.len() * 95 / 100).copied().unwrap_or(0);
        assert!(
            p.told.len() as u64 > per_minute * 6 / 4,
            "{at}: only {} places were told a wait",
            p.told.len()
        );
        assert!(
            over_p95 <= 15_000,
            "{at}: 5 % of places were told a wait {over_p95} ms or more over the one they had"
        );
        assert!(waits.len() as u64 > per_minute * 6 / 2, "{at}: only {} admitted", waits.len());
        assert!(p95 <= 60_000, "{at}: 95 % of served places came in within {p95} ms of their turn");
        assert!(most <= 120_000, "{at}: a served place waited {most} ms after its turn");
        let times = &p.forwarded;
        let first = times.iter().min().copied().unwrap_or(0);
        let last = times.iter().max().copied().unwrap_or(0);
        // from the second minute on, as the guard's own test (the first one opens the line)
        for from in (first + 60_000..last.saturating_sub(60_000)).step_by(1_000) {
            let n = times.iter().filter(|t| (from..from + 60_000).contains(*t)).count();
            // not a flood: the guard's own test holds the bound exactly with requests that come
            // at random; here served places come back on their own schedule, and a sliding
            // minute reaches ~4 % over with or without holding still (2026-12-05: most 313
            // either way)
            assert!(n <= 330, "{at}: {n} forwarded in a minute from {from}, capacity 300");
        }
    }
}
