//! Per-number backoff (`[otp.backoff]`): the wait between codes sent to one phone number grows
//! with every send that was not followed by a right code, Auth0 and GitLab style, so nobody can
//! have a number texted again and again (SMS bombing a person, or pumping one premium number)
//! however much work they pay. A right code clears it, so a person who enters their code is
//! back at no wait.
//!
//! Unlike the cohort counters this must be exact (two isolates must not both send inside one
//! wait), so a send makes one awaited call to the number's cell in the ledger object of its
//! shard, the same kind of call as the spend it has just made; nothing on a free path touches
//! it. The cell is keyed by the number's keyed hash, never the number. What the object does
//! with a request is [`apply`]: it only stores the cell and answers.

pub use crate::policy::Backoff;
use serde::{Deserialize, Serialize};

/// What the ledger object keeps for a number.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberCell {
    /// Codes sent since the last right code (or since the number was idle `reset_after_secs`).
    pub sends: u32,
    /// The last send, ms.
    pub last_ms: u64,
}

/// What to do with a number's cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NumberOp {
    /// A code is about to be sent: grant it if the number's wait is over, and count it.
    Take {
        /// The policy's backoff.
        backoff: Backoff,
    },
    /// The send granted did not happen (the origin failed): put the cell back as it was.
    Restore {
        /// The cell before the grant (none: there was none).
        before: Option<NumberCell>,
        /// The grant being undone: restored only while the cell is still this one.
        granted: NumberCell,
        /// How long a restored cell is kept, seconds.
        reset_after_secs: u32,
    },
    /// A right code was entered: the number starts over.
    Clear,
}

/// A request to a number's cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumberRequest {
    /// The number's keyed hash, hex.
    pub key: String,
    /// What to do.
    #[serde(flatten)]
    pub op: NumberOp,
}

/// The object's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberReply {
    /// The send may go (a `take`), or the cell was changed (the others).
    pub granted: bool,
    /// When the number's wait ends, ms (a `take` that was not granted).
    #[serde(default)]
    pub until_ms: u64,
    /// The cell before a granted `take` (to restore it if the send does not happen).
    #[serde(default)]
    pub before: Option<NumberCell>,
    /// The cell a granted `take` wrote.
    #[serde(default)]
    pub cell: Option<NumberCell>,
}

/// What the object stores after a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Nothing changes.
    Keep,
    /// Store this cell, forgotten after `forget_after_ms`.
    Put {
        /// The cell.
        cell: NumberCell,
        /// When the object may drop it, ms.
        forget_after_ms: u64,
    },
    /// Drop the cell.
    Delete,
}

/// Longest key accepted (a 16-byte hash in hex is 32).
const MAX_KEY: usize = 64;

/// What the object does with `req` on `stored` at its `now_ms`: the answer and the write.
pub fn apply(
    stored: Option<NumberCell>,
    req: &NumberRequest,
    now_ms: u64,
) -> Result<(NumberReply, Write), &'static str> {
    if req.key.is_empty() || req.key.len() > MAX_KEY {
        return Err("bad key");
    }
    let keep = |ms: u32| now_ms.saturating_add(u64::from(ms) * 1000);
    match &req.op {
        NumberOp::Take { backoff } => {
            // an idle number starts over
            let live = stored
                .filter(|c| now_ms.saturating_sub(c.last_ms) < u64::from(backoff.reset_after_secs) * 1000);
            let sends = live.map_or(0, |c| c.sends);
            let until_ms = live.map_or(0, |c| c.last_ms.saturating_add(backoff.wait_ms(&req.key, sends)));
            if until_ms > now_ms {
                return Ok((NumberReply { granted: false, until_ms, before: live, cell: live }, Write::Keep));
            }
            let cell = NumberCell { sends: sends.saturating_add(1), last_ms: now_ms };
            let reply = NumberReply { granted: true, until_ms: 0, before: live, cell: Some(cell) };
            Ok((reply, Write::Put { cell, forget_after_ms: keep(backoff.reset_after_secs) }))
        }
        NumberOp::Restore { before, granted, reset_after_secs } => {
            if stored != Some(*granted) {
                // another send took the number since: its count stands
                return Ok((
                    NumberReply { granted: false, until_ms: 0, before: stored, cell: stored },
                    Write::Keep,
                ));
            }
            let write = match before {
                Some(cell) => Write::Put { cell: *cell, forget_after_ms: keep(*reset_after_secs) },
                None => Write::Delete,
            };
            Ok((NumberReply { granted: true, until_ms: 0, before: stored, cell: *before }, write))
        }
        NumberOp::Clear => {
            let write = if stored.is_some() { Write::Delete } else { Write::Keep };
            Ok((NumberReply { granted: true, until_ms: 0, before: stored, cell: None }, write))
        }
    }
}

/// Hex of a number's keyed hash: its cell's key.
pub fn key_of(hash: &[u8; 16]) -> String {
    crate::protocol::key::hex(hash)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::*;

    const BACKOFF: Backoff = Backoff {
        free_sends: 1,
        base_secs: 30,
        factor: 2.0,
        max_secs: 3600,
        jitter: 0.25,
        reset_after_secs: 86_400,
    };

    fn take(key: &str) -> NumberRequest {
        NumberRequest { key: key.into(), op: NumberOp::Take { backoff: BACKOFF } }
    }

    /// Plays requests on one cell the way the object does.
    fn play(cell: &mut Option<NumberCell>, req: &NumberRequest, now_ms: u64) -> NumberReply {
        let (reply, write) = apply(*cell, req, now_ms).unwrap();
        match write {
            Write::Keep => {}
            Write::Put { cell: c, .. } => *cell = Some(c),
            Write::Delete => *cell = None,
        }
        reply
    }

    #[test]
    fn the_wait_doubles_with_each_send_and_stays_within_its_jitter_and_cap() {
        for n in 0..200u32 {
            let key = key_of(&[n as u8; 16]);
            assert_eq!(BACKOFF.wait_ms(&key, 0), 0, "the first code is free");
            let mut last = 0;
            for sends in 1..30 {
                let w = BACKOFF.wait_ms(&key, sends);
                let plain = (30.0 * 2f64.powi(sends as i32 - 1)).min(3600.0) * 1000.0;
                assert!(w as f64 >= plain - 1.0 && w as f64 <= plain * 1.25 + 1.0, "{sends}: {w} vs {plain}");
                // the same key and streak: the same wait (every isolate agrees)
                assert_eq!(w, BACKOFF.wait_ms(&key, sends));
                if plain < 3_600_000.0 / 1.25 {
                    assert!(w >= last, "{sends}: {w} after {last}");
                }
                last = w;
            }
        }
        // the jitter spreads numbers apart
        let waits: std::collections::BTreeSet<u64> =
            (0..50u8).map(|n| BACKOFF.wait_ms(&key_of(&[n; 16]), 3)).collect();
        assert!(waits.len() > 40, "{}", waits.len());
    }

    #[test]
    fn a_number_is_sent_a_code_only_once_its_wait_is_over_and_a_right_code_clears_it() {
        let key = key_of(&[7; 16]);
        let mut cell = None;
        let t0 = 1_000_000_000;
        assert!(play(&mut cell, &take(&key), t0).granted, "first code");
        let second = play(&mut cell, &take(&key), t0 + 1_000);
        assert!(!second.granted);
        let wait = BACKOFF.wait_ms(&key, 1);
        assert_eq!(second.until_ms, t0 + wait);
        // a refused try does not move the wait
        assert_eq!(play(&mut cell, &take(&key), t0 + 20_000).until_ms, t0 + wait);
        assert!(play(&mut cell, &take(&key), t0 + wait).granted, "second code after the wait");
        let t2 = t0 + wait;
        let third = play(&mut cell, &take(&key), t2 + 1);
        assert_eq!(third.until_ms, t2 + BACKOFF.wait_ms(&key, 2));
        assert!(BACKOFF.wait_ms(&key, 2) >= 60_000);
        // a right code: back to no wait
        assert!(play(&mut cell, &NumberRequest { key: key.clone(), op: NumberOp::Clear }, t2 + 5).granted);
        assert_eq!(cell, None);
        assert!(play(&mut cell, &take(&key), t2 + 6).granted);
        // an idle day: starts over
        let mut busy = Some(NumberCell { sends: 9, last_ms: t0 });
        assert!(!play(&mut busy, &take(&key), t0 + 3_000_000).granted);
        assert!(play(&mut busy, &take(&key), t0 + 86_400_000).granted);
        assert_eq!(busy.unwrap().sends, 1);
    }

    #[test]
    fn a_send_that_did_not_happen_is_given_back_unless_another_took_the_number_since() {
        let key = key_of(&[9; 16]);
        let mut cell = None;
        let granted = play(&mut cell, &take(&key), 5_000);
        let restore = |g: &NumberReply| NumberRequest {
            key: key.clone(),
            op: NumberOp::Restore { before: g.before, granted: g.cell.unwrap(), reset_after_secs: 86_400 },
        };
        assert!(play(&mut cell, &restore(&granted), 6_000).granted);
        assert_eq!(cell, None, "as if never sent");
        assert!(play(&mut cell, &take(&key), 6_500).granted, "so the retry is not kept waiting");
        // a later send took the number: an old restore leaves it
        let mut other = Some(NumberCell { sends: 3, last_ms: 9_000 });
        let stale = restore(&NumberReply {
            granted: true,
            until_ms: 0,
            before: None,
            cell: Some(NumberCell { sends: 1, last_ms: 5_000 }),
        });
        assert!(!play(&mut other, &stale, 9_500).granted);
        assert_eq!(other, Some(NumberCell { sends: 3, last_ms: 9_000 }));
    }

    #[test]
    fn requests_survive_json_and_bad_keys_are_refused() {
        let req = take("abcd");
        let text = serde_json::to_string(&req).unwrap();
        assert!(text.contains("\"op\":\"take\""), "{text}");
        assert_eq!(serde_json::from_str::<NumberRequest>(&text).unwrap(), req);
        let clear: NumberRequest = serde_json::from_str(r#"{"key":"ab","op":"clear"}"#).unwrap();
        assert_eq!(clear.op, NumberOp::Clear);
        assert!(apply(None, &take(""), 1).is_err());
        assert!(apply(None, &take(&"f".repeat(65)), 1).is_err());
    }
}
