//! Time as a value. The core never reads a clock: callers pass `UnixTime` in.

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch, as read by the caller (the edge glue
/// reads `Date.now()` once when a request arrives, once when its body has). The one time type
/// of the crate: protocol fields are whole seconds ([`UnixTime::seconds`]), counters decay in
/// milliseconds ([`UnixTime::millis`]), stats bucket by minute ([`UnixTime::minute`]).
/// Serialized as whole seconds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(from = "u64", into = "u64")]
pub struct UnixTime(u64);

impl From<u64> for UnixTime {
    /// Whole seconds.
    fn from(secs: u64) -> UnixTime {
        UnixTime::from_secs(secs)
    }
}

impl From<UnixTime> for u64 {
    fn from(t: UnixTime) -> u64 {
        t.seconds()
    }
}

impl UnixTime {
    /// Whole seconds since the epoch.
    pub const fn from_secs(secs: u64) -> UnixTime {
        UnixTime(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn from_millis(ms: u64) -> UnixTime {
        UnixTime(ms)
    }

    /// The number of whole seconds since the epoch.
    pub fn seconds(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// Milliseconds since the epoch as a float (the counters' decay arithmetic).
    pub fn millis_f64(self) -> f64 {
        self.0 as f64
    }

    /// The Unix minute (stats buckets).
    pub fn minute(self) -> u64 {
        self.0 / 60_000
    }

    /// `self + secs`, saturating instead of overflowing.
    pub fn plus(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// `self - secs`, saturating at the epoch.
    pub fn minus(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_sub(secs.saturating_mul(1000)))
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn millis_since(self, earlier: UnixTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 in UTC, e.g. `2026-11-22T14:17:18Z` (siteverify's `challenge_ts`).
    pub fn rfc3339(self) -> String {
        let secs = self.seconds();
        let days = i64::try_from(secs / 86_400).unwrap_or(0);
        let rem = secs % 86_400;
        // civil-from-days (Howard Hinnant), valid for the proleptic Gregorian calendar
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
    }

    /// Converts milliseconds as JavaScript's `Date.now()` returns them. Negative or
    /// non-finite input maps to the epoch rather than panicking.
    pub fn from_millis_f64(ms: f64) -> UnixTime {
        if ms.is_finite() && ms > 0.0 {
            // `as` saturates for floats, so this cannot panic.
            UnixTime(ms as u64)
        } else {
            UnixTime(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(UnixTime::from_millis(u64::MAX).plus(5), UnixTime::from_millis(u64::MAX));
        assert_eq!(UnixTime::from_secs(3).minus(5), UnixTime::from_secs(0));
        assert_eq!(UnixTime::from_secs(10).plus(5).seconds(), 15);
        assert_eq!(UnixTime::from_millis(61_500).minute(), 1);
        assert_eq!(UnixTime::from_millis(2_500).millis_since(UnixTime::from_secs(1)), 1_500);
    }

    #[test]
    fn rfc3339_table() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (1_795_357_873, "2026-11-22T14:31:13Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(UnixTime::from_secs(secs).rfc3339(), want);
        }
    }

    #[test]
    fn from_millis_handles_odd_floats() {
        let cases = [
            (1_700_000_000_999.0, 1_700_000_000),
            (0.0, 0),
            (-5.0, 0),
            (f64::NAN, 0),
            (f64::INFINITY, 0),
            (1e30, u64::MAX / 1000),
        ];
        for (ms, want) in cases {
            assert_eq!(UnixTime::from_millis_f64(ms).seconds(), want, "{ms}");
        }
    }
}
