//! Time as a value. The core never reads a clock: callers pass `UnixTime` in.

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, as read by the caller (the edge glue reads `Date.now()`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The number of whole seconds since the epoch.
    pub fn seconds(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating instead of overflowing.
    pub fn plus(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }

    /// `self - secs`, saturating at the epoch.
    pub fn minus(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_sub(secs))
    }

    /// RFC 3339 in UTC, e.g. `2026-11-22T14:17:18Z` (siteverify's `challenge_ts`).
    pub fn rfc3339(self) -> String {
        let secs = self.0;
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

    /// Converts milliseconds (as JavaScript's `Date.now()` returns them) to whole seconds.
    /// Negative or non-finite input maps to the epoch rather than panicking.
    pub fn from_millis_f64(ms: f64) -> UnixTime {
        if ms.is_finite() && ms > 0.0 {
            // `as` saturates for floats, so this cannot panic.
            UnixTime((ms / 1000.0) as u64)
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
        assert_eq!(UnixTime(u64::MAX).plus(5), UnixTime(u64::MAX));
        assert_eq!(UnixTime(3).minus(5), UnixTime(0));
        assert_eq!(UnixTime(10).plus(5).seconds(), 15);
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
            assert_eq!(UnixTime(secs).rfc3339(), want);
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
            (1e30, u64::MAX),
        ];
        for (ms, want) in cases {
            assert_eq!(UnixTime::from_millis_f64(ms), UnixTime(want), "{ms}");
        }
    }
}
