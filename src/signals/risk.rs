//! How a risk score turns into work or a refusal.

/// How a risk score turns into work or a refusal.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RiskPolicy {
    /// From this score on, challenges get harder.
    pub more_work_at: u32,
    /// From this score on, the request is refused.
    pub deny_at: u32,
    /// Most extra leading zero bits (each doubles the work).
    pub max_extra_bits: u8,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy { more_work_at: 30, deny_at: 80, max_extra_bits: 6 }
    }
}

/// What a score means.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RiskAction {
    /// Issue or accept work at this difficulty.
    Work(u8),
    /// Refuse.
    Deny,
}

impl RiskPolicy {
    /// Extra difficulty bits for a score: none below `more_work_at`, then one bit plus one per
    /// 10 points, up to `max_extra_bits`.
    pub fn extra_bits(&self, score: u32) -> u8 {
        if score < self.more_work_at {
            return 0;
        }
        let steps = (score - self.more_work_at) / 10 + 1;
        u8::try_from(steps).unwrap_or(u8::MAX).min(self.max_extra_bits)
    }

    /// The difficulty a request with this score must pay, given the base difficulty.
    pub fn action(&self, base_difficulty: u8, score: u32) -> RiskAction {
        if score >= self.deny_at {
            return RiskAction::Deny;
        }
        RiskAction::Work(base_difficulty.saturating_add(self.extra_bits(score)).min(32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_policy_table() {
        let p = RiskPolicy::default();
        let cases = [
            (0, RiskAction::Work(17)),
            (29, RiskAction::Work(17)),
            (30, RiskAction::Work(18)),
            (45, RiskAction::Work(19)),
            (79, RiskAction::Work(22)),
            (80, RiskAction::Deny),
            (500, RiskAction::Deny),
        ];
        for (score, want) in cases {
            assert_eq!(p.action(17, score), want, "{score}");
        }
        let big = RiskPolicy { more_work_at: 0, deny_at: 10_000, max_extra_bits: 20 };
        assert_eq!(big.action(30, 500), RiskAction::Work(32), "capped at 32 bits");
    }
}
