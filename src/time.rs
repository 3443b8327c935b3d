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
