//! SMS by number range (`[otp]`): the gate sees both the route that sends a one-time code and
//! the route that checks it, so it measures, per number range, how many codes it let through
//! and how many were verified. A range whose codes are sent but never entered is being pumped
//! (the numbers earn whoever runs the range): it pays more per code, then is refused codes for a
//! while, Fraud Guard style, while every other range and country goes on as before.
//!
//! Conversion is judged with the Wilson upper bound (z = 1.96) of `verified / judged`, where
//! `judged` leaves out sends too recent to have been verified: a small range is judged low only
//! when even the optimistic reading is low (20 sends, 0 verified: 0.16; 20 sends, 12 verified:
//! 0.78). Everything here is pure; the counters' readings come in as a [`RangeReading`].

use super::{CohortKey, OtpCount};
use crate::request::route::Route;
use serde::Deserialize;

mod backoff;
mod calling_code;
mod first_seen;
mod load;
mod network;
mod surge;
pub use backoff::Backoff;
pub use calling_code::{
    RangeScope, WiderReadings, calling_code_in_scope, calling_code_of, calling_code_scope,
    is_calling_code_scope,
};
pub use first_seen::FirstSeen;
pub(super) use load::{OtpFile, load};
pub use network::{Network, network_in_scope, network_of, network_scope};
pub use surge::{Share, Surge};

/// SMS by number range.
#[derive(Clone, Debug, PartialEq)]
pub struct Otp {
    /// The protected route that sends a code (normalized path, as `Subject::route`); its number
    /// is `routes.phone_field`.
    pub send_route: String,
    /// The pass-through route that checks a code (never priced, never refused).
    pub check: Route,
    /// Where a check carries the number.
    pub check_number: NumberSource,
    /// The origin's statuses that mean "the code was right".
    pub verified_status: Vec<u16>,
    /// The sent and verified counters' decay window, seconds ("per hour").
    pub window_secs: u32,
    /// Sends younger than this are not judged yet (people enter a code within it), seconds.
    pub verify_grace_secs: u32,
    /// Judged sends before a range can be judged at all.
    pub min_sends: u32,
    /// Send attempts within `verify_grace_secs` from which a low range is blocked rather than
    /// priced: a block is for a range being pumped now (and so renews while it is); a range that
    /// was pumped and is quiet is priced until its counters decay (or refused, with
    /// `unentered_block_sends`, while nobody entered a code in it). A range with `min_sends`
    /// verified codes or more in the window is never blocked, only priced.
    pub block_at_tries: u32,
    /// Sends in the window (this one included) from which a range (or a calling code) where
    /// nobody entered a code in the window is blocked for `verify_grace_secs` at once, without
    /// waiting for its sends to be judged (0: off). Conversion needs about 22 judged sends to
    /// block a range, and a send is judged only after the grace period: a pump spread over many
    /// ranges would get that many per range and the grace period's worth on top. This block is
    /// short, is written again while the count holds, and yields to the range's first right
    /// code. Only once the site has had `min_sends` codes entered in the window (its
    /// warm-up: on a cold start every busy range would look pumped); a busy range of people
    /// nobody has entered a code in yet waits until one of them enters theirs.
    pub unentered_block_sends: u32,
    /// By conversion, strongest first (lowest `conversion_below`).
    pub levels: Vec<RangeLevel>,
    /// Sign-up routes (normalized paths) whose `routes.phone_field` is priced by its range too
    /// (a blocked range costs the strongest price level there, never a refusal).
    pub apply_to: Vec<String>,
    /// The wait between codes sent to one number (`[otp.backoff]`), if on.
    pub backoff: Option<Backoff>,
    /// A price for ranges and calling codes where nobody has entered a code yet
    /// (`[otp.first_seen]`), if on.
    pub first_seen: Option<FirstSeen>,
    /// Named groups of ranges (`[[otp.networks]]`), counted and blocked like a calling code.
    pub networks: Vec<Network>,
    /// The usual share and the price of standing out above it (`[otp.surge]`), if on.
    pub surge: Option<Surge>,
}

/// Where a check request carries the phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberSource {
    /// A form or JSON field (dotted for nested JSON).
    Field(String),
    /// A request header.
    Header(String),
}

/// One level: below this conversion, price or block.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RangeLevel {
    /// Applies when the range's conversion (its upper bound) is below this.
    pub conversion_below: f64,
    /// What it does.
    pub action: RangeAction,
}

/// What a range level does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RangeAction {
    /// Each sub-puzzle of a send costs this many more bits.
    Price {
        /// Extra difficulty bits.
        extra_bits: u8,
    },
    /// Sends to the range are refused (429) for this long.
    Block {
        /// Seconds.
        secs: u32,
    },
}

/// What the counters say about one range, for a send to it.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct RangeReading {
    /// Sends over the window.
    pub sent: f64,
    /// Sends over the grace period (not judged yet).
    pub recent: f64,
    /// Verified codes over the window.
    pub verified: f64,
    /// Verified codes over the grace period (anyone entering codes in the range lately).
    pub verified_recent: f64,
    /// Send attempts over the grace period (sent or refused), not counting this one.
    pub tries: f64,
    /// The range's block switch, when one is on: its end, ms.
    pub blocked_until: Option<u64>,
    /// Codes entered over the first-seen period: in the range, its calling code, the site.
    pub seen: Seen,
    /// Sends over `otp.surge.usual_days` (the usual share's slow count; 0 with surge off).
    pub usual: f64,
    /// The site's sends, now and usually (with surge on).
    pub site: SiteSends,
}

/// The whole site's sends, for a scope's share of them.
#[derive(Copy, Clone, Debug, Default, PartialEq, serde::Serialize, Deserialize)]
pub struct SiteSends {
    /// Over `otp.window_secs`.
    pub sent: f64,
    /// Over `otp.surge.usual_days`.
    pub usual: f64,
}

/// Verified codes over `otp.first_seen.learn_days` (decayed).
#[derive(Copy, Clone, Debug, Default, PartialEq, serde::Serialize, Deserialize)]
pub struct Seen {
    /// In the range.
    pub range: f64,
    /// In its calling code.
    pub calling_code: f64,
    /// On the whole site.
    pub site: f64,
}

/// What a send to a range gets.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum RangeVerdict {
    /// Its usual price.
    Normal,
    /// More work: its conversion is low.
    Priced {
        /// Extra bits per sub-puzzle.
        extra_bits: u8,
        /// The conversion's upper bound it was judged on.
        conversion: f64,
    },
    /// More work: nobody has entered a code in the range or its calling code yet
    /// (`[otp.first_seen]`).
    FirstSeen {
        /// Extra bits per sub-puzzle.
        extra_bits: u8,
        /// What was never seen: `range` or `calling code`.
        scope: &'static str,
    },
    /// More work: the scope's share of the site's codes stands out above its usual share
    /// (`[otp.surge]`).
    Surge {
        /// Extra bits per sub-puzzle.
        extra_bits: u8,
        /// Its share of the window's sends.
        share: f64,
        /// Its usual share.
        usual: f64,
    },
    /// Refused until `until_ms`; `new` when this send starts (or renews) the block, so the
    /// switch is to be written.
    Blocked {
        /// When the block ends, ms.
        until_ms: u64,
        /// Whether to write the switch.
        new: bool,
    },
}

impl RangeVerdict {
    /// The extra bits it asks (`Some(0)` for the usual price; `None` for a block).
    pub fn extra_bits(&self) -> Option<u8> {
        match self {
            RangeVerdict::Normal => Some(0),
            RangeVerdict::Priced { extra_bits, .. }
            | RangeVerdict::FirstSeen { extra_bits, .. }
            | RangeVerdict::Surge { extra_bits, .. } => Some(*extra_bits),
            RangeVerdict::Blocked { .. } => None,
        }
    }
}

impl RangeReading {
    /// Sends old enough to have been verified.
    pub fn judged(&self) -> f64 {
        (self.sent - self.recent).max(0.0)
    }

    /// Whether the scope is being used now: `block_at_tries` tries within the grace period,
    /// this one counted (what starts a conversion block and keeps any block holding).
    pub fn being_tried(&self, block_at_tries: u32) -> bool {
        self.tries + 1.0 >= f64::from(block_at_tries)
    }

    /// Whether people entered `min_sends` codes or more in the window: the scope is theirs too,
    /// and however many unentered codes are sent to it (someone pushing it low on purpose), it
    /// is priced, never blocked.
    pub fn people_use_it(&self, min_sends: u32) -> bool {
        self.verified >= f64::from(min_sends)
    }

    /// The Wilson upper bound (z = 1.96) of the range's conversion, or `None` below
    /// `min_sends` judged sends.
    pub fn conversion_bound(&self, min_sends: u32) -> Option<f64> {
        let n = self.judged();
        (n >= f64::from(min_sends).max(1.0)).then(|| wilson_upper(self.verified.min(n), n))
    }
}

/// The Wilson score interval's upper bound of `k` successes in `n` trials (z = 1.96).
pub fn wilson_upper(k: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return 1.0;
    }
    let z2 = 1.96f64 * 1.96;
    let p = (k / n).clamp(0.0, 1.0);
    let centre = p + z2 / (2.0 * n);
    let spread = 1.96 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre + spread) / (1.0 + z2 / n)).clamp(0.0, 1.0)
}

impl Otp {
    /// Whether numbers' ranges are judged on `route`: the send route and `apply_to`.
    pub fn judges(&self, route: &str) -> bool {
        self.send_route == route || self.apply_to.iter().any(|r| r == route)
    }

    /// The verdict for a send to a range, at `now_ms`.
    pub fn judge(&self, r: &RangeReading, now_ms: u64) -> RangeVerdict {
        if let Some(held) = self.held_block(r, now_ms, !r.people_use_it(self.min_sends)) {
            return held;
        }
        let by_conversion = self.judge_conversion(r, now_ms);
        if matches!(by_conversion, RangeVerdict::Blocked { .. }) {
            return by_conversion;
        }
        let verdict = self
            .unentered_block(r, now_ms)
            .or_else(|| self.pumped_now_block(r, now_ms))
            .unwrap_or(by_conversion);
        self.surge_over(r, verdict)
    }

    /// The end of the scope's block while it holds: until its end, and only while the scope is
    /// being tried (`block_at_tries` tries within the grace period, counting this one). A block
    /// is for a pump going on now; once it stops (its tries decay, a few minutes after its
    /// last), the scope is judged again as if unblocked: a range people entered codes in is
    /// priced by its conversion for the person who comes next, where an hour-long block would
    /// have refused everyone in it for the rest of the hour; one nobody entered a code in is
    /// blocked again by the unentered count. A pump that comes back is blocked again at its
    /// `block_at_tries`-th try.
    fn block_on(&self, r: &RangeReading, now_ms: u64) -> Option<u64> {
        let tried = r.being_tried(self.block_at_tries);
        r.blocked_until.filter(|u| *u > now_ms && tried)
    }

    /// The scope's block while it holds ([`Otp::block_on`]), renewed for the grace period once
    /// less than half of that is left while the scope is tried as fast as a pump
    /// (`unentered_block_sends` tries within the grace period, none entered over it) and is
    /// not one people use (`open`: for a range, fewer than `min_sends` codes entered in the
    /// window; for a calling code or network, none): the block lasts without the one send each
    /// lapse let through as the decaying count fell a send short, the probe a pump trying every
    /// few seconds always took. People asking at people's pace (a person every half minute)
    /// do not renew it, so they still get that probe, and their code opens the scope.
    pub(crate) fn held_block(&self, r: &RangeReading, now_ms: u64, open: bool) -> Option<RangeVerdict> {
        let until_ms = self.block_on(r, now_ms)?;
        let ending = until_ms.saturating_sub(now_ms) <= self.grace_ms() / 2;
        let renew = ending && open && self.tried_as_fast_as_a_pump(r) && self.short_blocks(r);
        let until_ms = if renew { now_ms.saturating_add(self.grace_ms()) } else { until_ms };
        Some(RangeVerdict::Blocked { until_ms, new: renew })
    }

    /// Whether the scope was tried `unentered_block_sends` times within the grace period, this
    /// one counted, with no code entered over it: a pump's pace (people asking that fast enter
    /// their codes within a minute or two).
    fn tried_as_fast_as_a_pump(&self, r: &RangeReading) -> bool {
        r.verified_recent < 0.5 && r.tries + 1.0 >= f64::from(self.unentered_block_sends)
    }

    /// The grace period, ms: how long a short block lasts.
    fn grace_ms(&self) -> u64 {
        u64::from(self.verify_grace_secs) * 1000
    }

    /// `verdict`, or the surge price where the reading's share stands out above its usual share
    /// and that costs more (a block stays a block).
    pub(crate) fn surge_over(&self, r: &RangeReading, verdict: RangeVerdict) -> RangeVerdict {
        let Some(surge) = self.surge else { return verdict };
        let Some(share) = surge.share(r, self.min_sends).filter(|s| surge.stands_out(*s)) else {
            return verdict;
        };
        match verdict.extra_bits() {
            Some(bits) if bits < surge.extra_bits => {
                RangeVerdict::Surge { extra_bits: surge.extra_bits, share: share.now, usual: share.usual }
            }
            _ => verdict,
        }
    }

    /// The short block of a scope (range or calling code) nobody entered a code in: sends that
    /// cost their challenge, none entered in the window (people's ranges have their right codes
    /// within a minute or two; a pumped one never has). While the scope is tried as fast as a
    /// pump it is renewed before it ends ([`Otp::held_block`]); otherwise it ends, and the next
    /// send is blocked again only while the decaying count holds, so one send goes through
    /// each time the count falls a send short (every few minutes): a probe only a paid send
    /// can take (a replayed solution is refused and never counts as a send), whose code, if a
    /// person enters it, opens the range. Not on a cold site (nobody's codes counted yet: every
    /// busy range would look pumped).
    fn unentered_block(&self, r: &RangeReading, now_ms: u64) -> Option<RangeVerdict> {
        self.short_block(r, now_ms, r.verified < 0.5)
    }

    /// The same short block for a range a few codes were entered in earlier in the window
    /// (fewer than `min_sends`: one people use more is only ever priced) while it is pumped
    /// now: tried `unentered_block_sends` times within the grace period with no code entered
    /// over it, or sent that many codes within it with the entered share (its Wilson upper
    /// bound) below the weakest block level's conversion. People enter their codes within a
    /// minute or two, so once their sends are under way some recent ones are entered (a crowd's
    /// first few dozen in one range, in the seconds before anyone has typed a code, are the
    /// exception: refused until the block ends); a pump's never are, whatever was entered an
    /// hour ago. Without it a pump there paid conversion's evidence (about 35 judged sends once
    /// one code was entered, more with each) on top of the grace period's sends. A range's
    /// only: a calling code or network its people use, however thinly, is never closed as a
    /// whole for it (that would close a country).
    fn pumped_now_block(&self, r: &RangeReading, now_ms: u64) -> Option<RangeVerdict> {
        let count = f64::from(self.unentered_block_sends);
        let none_lately = self.tried_as_fast_as_a_pump(r);
        let few_lately = r.recent + 1.0 >= count
            && self.block_conversion().is_some_and(|c| wilson_upper(r.verified_recent, r.recent + 1.0) < c);
        self.short_block(r, now_ms, !r.people_use_it(self.min_sends) && (none_lately || few_lately))
    }

    /// The short block where `unentered` holds, the count is on, the site warm and the scope
    /// has had the count's sends in the window.
    fn short_block(&self, r: &RangeReading, now_ms: u64, unentered: bool) -> Option<RangeVerdict> {
        let unentered =
            unentered && self.short_blocks(r) && r.sent + 1.0 >= f64::from(self.unentered_block_sends);
        let until_ms = now_ms.saturating_add(self.grace_ms());
        unentered.then_some(RangeVerdict::Blocked { until_ms, new: true })
    }

    /// Whether the short block is on at all: the count is set and the site is warm (`min_sends`
    /// codes entered in the window; on a cold start every busy range would look pumped).
    fn short_blocks(&self, r: &RangeReading) -> bool {
        self.unentered_block_sends > 0 && r.seen.site >= f64::from(self.min_sends)
    }

    /// The verdict of the range's conversion (or first seen, when it cannot be judged yet).
    fn judge_conversion(&self, r: &RangeReading, now_ms: u64) -> RangeVerdict {
        let Some(conversion) = r.conversion_bound(self.min_sends) else {
            return self.first_seen_verdict(r);
        };
        let active = r.being_tried(self.block_at_tries);
        let people_use_it = r.people_use_it(self.min_sends);
        for level in self.levels.iter().filter(|l| conversion < l.conversion_below) {
            match level.action {
                RangeAction::Block { secs } if active && !people_use_it => {
                    let until_ms = now_ms.saturating_add(u64::from(secs) * 1000);
                    return RangeVerdict::Blocked { until_ms, new: true };
                }
                RangeAction::Block { .. } => {}
                RangeAction::Price { extra_bits } => return RangeVerdict::Priced { extra_bits, conversion },
            }
        }
        self.first_seen_verdict(r)
    }

    /// A range or calling code where nobody has entered a code within the period pays the
    /// first-seen price (the dearer of the two), once the site is warm.
    fn first_seen_verdict(&self, r: &RangeReading) -> RangeVerdict {
        let Some(f) = self.first_seen.filter(|f| r.seen.site >= f64::from(f.warm_up_verified)) else {
            return RangeVerdict::Normal;
        };
        // a decayed count: "seen" while at least half a code remains
        let unseen = |n: f64| n < 0.5;
        let code = (unseen(r.seen.calling_code) && f.calling_code_extra_bits > 0)
            .then_some((f.calling_code_extra_bits, "calling code"));
        let range = (unseen(r.seen.range) && f.range_extra_bits > 0).then_some((f.range_extra_bits, "range"));
        match code.into_iter().chain(range).max_by_key(|(bits, _)| *bits) {
            Some((extra_bits, scope)) => RangeVerdict::FirstSeen { extra_bits, scope },
            None => RangeVerdict::Normal,
        }
    }

    /// The keys a range's first-seen judgement reads (and a right code counts): the range, its
    /// calling code, the site.
    pub fn seen_keys(range: &str) -> [CohortKey; 3] {
        let code = calling_code_of(range).unwrap_or(range);
        [CohortKey::otp(OtpCount::Seen, range), CohortKey::otp(OtpCount::Seen, code), Otp::site_seen_key()]
    }

    /// Codes entered on the whole site (first seen's site count; the unentered block's warm-up).
    pub fn site_seen_key() -> CohortKey {
        CohortKey::otp(OtpCount::Seen, "*")
    }

    /// The conversion below which a level blocks (the weakest such level's), if one does.
    fn block_conversion(&self) -> Option<f64> {
        self.levels
            .iter()
            .filter(|l| matches!(l.action, RangeAction::Block { .. }))
            .map(|l| l.conversion_below)
            .reduce(f64::max)
    }

    /// The strongest price level's extra bits (what a blocked range costs a sign-up), if any.
    pub fn strongest_price_bits(&self) -> Option<u8> {
        self.levels
            .iter()
            .filter_map(|l| match l.action {
                RangeAction::Price { extra_bits } => Some(extra_bits),
                RangeAction::Block { .. } => None,
            })
            .max()
    }

    /// The keys a send to `range` reads: the sent, recent, verified and tries counters and the
    /// block switch of the range, its calling code and its network; with first seen on, its
    /// seen counts (with the unentered block, the site's); with surge on, their usual counts
    /// and the site's sends.
    pub fn read_keys(&self, range: &str) -> Vec<CohortKey> {
        let counts = [
            OtpCount::Sent,
            OtpCount::Recent,
            OtpCount::Verified,
            OtpCount::VerifiedRecent,
            OtpCount::Tries,
            OtpCount::Block,
        ];
        let mut keys: Vec<CohortKey> = self
            .scopes(range)
            .into_iter()
            .flat_map(|scope| counts.iter().map(move |c| CohortKey::otp(*c, &scope)))
            .collect();
        keys.extend(self.entered_keys(range));
        keys.extend(self.usual_keys(range));
        keys
    }

    /// The keys a send the origin accepted moves: its range's, calling code's and network's
    /// sent counts; with surge on, their usual counts and the site's.
    pub fn sent_keys(&self, range: &str) -> Vec<CohortKey> {
        let mut keys: Vec<CohortKey> =
            [OtpCount::Sent, OtpCount::Recent].into_iter().flat_map(|c| self.scope_keys(c, range)).collect();
        keys.extend(self.usual_keys(range));
        keys
    }

    /// The "seen" counts of a right code to a number in `range` (read by a send, moved by a
    /// check): with first seen on, its range's, calling code's and the site's; with only the
    /// unentered block on, the site's (its warm-up).
    pub fn entered_keys(&self, range: &str) -> Vec<CohortKey> {
        if self.first_seen.is_some() {
            Otp::seen_keys(range).to_vec()
        } else if self.unentered_block_sends > 0 {
            vec![Otp::site_seen_key()]
        } else {
            Vec::new()
        }
    }

    /// With surge on, the usual counts of `range`'s scopes and the site's sends (now and
    /// usually): read by a send and moved by it.
    fn usual_keys(&self, range: &str) -> Vec<CohortKey> {
        if self.surge.is_none() {
            return Vec::new();
        }
        let mut keys = self.scope_keys(OtpCount::Usual, range);
        keys.extend(Otp::site_sends_keys());
        keys
    }

    /// The site's sends, now and over the usual period (`otp_sent:*`, `otp_usual:*`).
    pub fn site_sends_keys() -> [CohortKey; 2] {
        [CohortKey::otp(OtpCount::Sent, "*"), CohortKey::otp(OtpCount::Usual, "*")]
    }

    /// The keys one kind of count moves for a range: the range's, its calling code's and its
    /// network's.
    pub fn scope_keys(&self, count: OtpCount, range: &str) -> Vec<CohortKey> {
        self.scopes(range).into_iter().map(|scope| CohortKey::otp(count, &scope)).collect()
    }

    /// The network a range belongs to, if the policy names one.
    pub fn network_of(&self, range: &str) -> Option<&str> {
        network_of(&self.networks, range).map(|n| n.name.as_str())
    }

    /// The counter values a range's counts go under: the range's, its calling code's, its
    /// network's.
    fn scopes(&self, range: &str) -> Vec<String> {
        std::iter::once(range.to_string())
            .chain(calling_code_scope(range))
            .chain(self.network_of(range).map(network_scope))
            .collect()
    }

    /// A send's reading from the cohort state read for it.
    pub fn reading(range: &str, state: &super::CohortState) -> RangeReading {
        let rate = |c: OtpCount| {
            let key = CohortKey::otp(c, range);
            state.rates.iter().find(|(k, _)| *k == key).map_or(0.0, |(_, r)| *r)
        };
        let block = CohortKey::otp(OtpCount::Block, range);
        let [in_range, in_code, on_site] = Otp::seen_keys(range);
        let seen_of = |key: &CohortKey| state.rates.iter().find(|(k, _)| k == key).map_or(0.0, |(_, r)| *r);
        let seen =
            Seen { range: seen_of(&in_range), calling_code: seen_of(&in_code), site: seen_of(&on_site) };
        let [site_sent, site_usual] = Otp::site_sends_keys();
        RangeReading {
            seen,
            usual: rate(OtpCount::Usual),
            site: SiteSends { sent: seen_of(&site_sent), usual: seen_of(&site_usual) },
            sent: rate(OtpCount::Sent),
            recent: rate(OtpCount::Recent),
            verified: rate(OtpCount::Verified),
            verified_recent: rate(OtpCount::VerifiedRecent),
            tries: rate(OtpCount::Tries),
            blocked_until: state.switches.iter().find(|(k, _)| *k == block).map(|(_, u)| *u),
        }
    }

    /// A key's decay window, for the OTP keys.
    pub fn window_of(&self, count: OtpCount) -> u32 {
        match count {
            OtpCount::Recent | OtpCount::VerifiedRecent | OtpCount::Tries => self.verify_grace_secs,
            OtpCount::Sent | OtpCount::Verified | OtpCount::Block => self.window_secs,
            OtpCount::Seen => self.first_seen.map_or(self.window_secs, |f| f.learn_secs()),
            OtpCount::Usual => self.surge.map_or(self.window_secs, |s| s.usual_secs()),
        }
    }
}

/// The `[otp]` section `extra` adds to, in a policy that protects the send route and passes the
/// check route, as loaded (or every problem, as text): what this module's tests load.
#[cfg(test)]
pub(super) fn test_otp(extra: &str) -> Result<Otp, String> {
    let text = format!(
        "version = 1\n[routes]\nprotected = [\"POST /api/otp/send\", \"POST /signup\"]\n\
         pass = [\"POST /api/otp/check\"]\nphone_field = \"phone\"\n\
         [otp]\nsend = {{ route = \"/api/otp/send\" }}\ncheck = {{ route = \"POST /api/otp/check\", field = \"phone\" }}\n{extra}"
    );
    let policy = crate::policy::load(&text).map_err(|e| e.to_string())?;
    policy.otp.ok_or_else(|| "no [otp]".to_string())
}

#[cfg(test)]
mod tests;
