//! An arrival: a person focuses the form, or a fleet starts an attempt (if its price and its
//! solvers' queue allow); the attempt's first request is scheduled.

use super::{Attempt, EPOCH_MS, Ev, Run, Setup, next_arrival};
use crate::drill::population::Location;
use crate::drill::report::End;
use crate::drill::scenario::Scenario;

/// Round trips the widget's ping chain takes before it asks for a challenge: a ping and three
/// echoes (`www/gate/gate.js`, `roundTrip`).
const PING_ROUND_TRIPS: u64 = 4;

impl Run<'_, '_> {
    /// Population `p` arrives at `t`.
    pub(super) fn arrive(&mut self, p: usize, t: u64) {
        let scenario: &Scenario = self.scenario;
        let Setup { people_n, max_queue_ms, .. } = self.setup;
        let Run {
            report,
            rngs,
            gate,
            fleets,
            fixed,
            fixed_next,
            range_next,
            attacker_asns,
            attacker_prefixes,
            attacker_cohorts,
            slab,
            free,
            events,
            ends,
            next_attempt_id,
            factory,
            ..
        } = self;
        let Some(rng) = rngs.get_mut(p) else { return };
        if let Some(next) = next_arrival(scenario, p, t as f64 / 1000.0, rng) {
            events.push(next, Ev::Arrive(p as u32));
        }
        let (client, start, press) = if p < people_n {
            let Some(pp) = scenario.people.get(p) else { return };
            let client = factory.person(rng, pp);
            // the first focus is the arrival; submit is pressed after the fill
            (client, t, t + pp.fill.draw_ms(rng))
        } else {
            let ai = p - people_n;
            let (Some(a), Some(fl)) = (scenario.attackers.get(ai), fleets.get(ai)) else { return };
            // above its price ceiling the fleet waits (or has stopped)
            if gate.is_some() && !fl.active(t) {
                report.pop_mut(p).held_back += 1;
                return;
            }
            let (loc, claimed) = if a.rotate {
                fl.choose(rng, a, factory)
            } else {
                let n = fixed_next.get(ai).copied().unwrap_or(0);
                if let Some(slot) = fixed_next.get_mut(ai) {
                    *slot = n + 1;
                }
                let loc = fixed
                    .get(ai)
                    .and_then(|f| f.get(n % f.len().max(1)))
                    .copied()
                    .unwrap_or(Location { network: 0, asn_index: 0, asn: 0, prefix: 0, host: 1 });
                (loc, crate::drill::population::pick(rng, &a.countries))
            };
            // the fleet's solvers: an attempt that would wait too long is not made
            let start = fl.free_at_ms.max(t as f64);
            if !a.flood && gate.is_some() && start - t as f64 > max_queue_ms {
                report.pop_mut(p).unaffordable += 1;
                return;
            }
            let mut client = factory.attacker(rng, a, loc, &claimed);
            if !a.phone_ranges.is_empty() {
                let n = match range_next.get_mut(ai) {
                    Some(next) if a.sequential => {
                        *next += 1;
                        *next - 1
                    }
                    _ => rng.below(1 << 20),
                };
                let len = a.phone_ranges.len() as u64;
                let pick = if a.sequential { n % len } else { rng.below(len) };
                if let Some(r) = a.phone_ranges.get(pick as usize) {
                    client.phone = crate::drill::population::numbers::in_range(&r.range, n / len);
                    client.phone_code = Some(r.code.clone());
                }
            }
            // the fleet remembers prices by what it chose, not by where the ASN is
            client.segment.country = crate::drill::population::country(&claimed).code;
            (client, start as u64, start as u64)
        };
        // the widget (or a forger's script) measures its round trip before asking for a
        // challenge: the chain's stamp goes into the signals, and the challenge is asked after
        // the widget's ping and three echoes
        let mut client = client;
        let mut fetch_at = start;
        if let Some(g) = gate.as_mut()
            && !client.signals.is_empty()
        {
            let rtt = u64::from(client.round_trip_ms);
            if let Some(stamp) = g.ping_chain(&client.fetch, EPOCH_MS + start, rtt) {
                client.stamped(&stamp);
            }
            fetch_at = start + PING_ROUND_TRIPS * rtt;
        }
        if p >= people_n {
            attacker_asns.insert(client.asn);
            attacker_prefixes.insert(client.prefix);
            attacker_cohorts.extend(client.cohorts());
        }
        let replays = scenario.attackers.get(p.wrapping_sub(people_n)).map_or(0, |a| a.replays);
        let no_js = client.segment.no_js;
        let att = Attempt {
            pop: p,
            client,
            first_ms: t,
            busy: 0,
            refetches: 0,
            solution: None,
            press_ms: press,
            want: 0,
            topup_asks: 0,
            sent: false,
            wait_token: None,
            replays_left: if p >= people_n { replays } else { 0 },
            charged_more: false,
            line_answers: 0,
            id: *next_attempt_id,
        };
        *next_attempt_id += 1;
        report.pop_mut(p).offered += 1;
        let idx = match free.pop() {
            Some(i) => {
                if let Some(s) = slab.get_mut(i as usize) {
                    *s = Some(att);
                }
                i
            }
            None => {
                slab.push(Some(att));
                u32::try_from(slab.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let flood = p >= people_n && scenario.attackers.get(p - people_n).is_some_and(|a| a.flood);
        if flood && gate.is_none() {
            // without the gate there is no challenge endpoint to flood
            ends.finish(slab, free, idx, End::Other, t);
            return;
        }
        // a person without JavaScript posts the form as it is, once filled in
        if gate.is_some() && !no_js {
            events.push(fetch_at.max(t), Ev::Fetch(idx));
        } else {
            events.push(press.max(start), Ev::Submit(idx));
        }
    }
}
