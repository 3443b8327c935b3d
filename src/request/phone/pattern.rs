//! A matcher for the regular-expression subset libphonenumber's metadata is written in:
//! digits, `[0-9]` classes, `\d`, `(…)` and `(?:…)` groups, `|`, greedy `?`, `{n}` and
//! `{n,m}`, and the `$` anchor (scripts/phone-data refuses metadata that needs more).
//!
//! It walks the pattern text itself, backtracking like Java's engine (libphonenumber's
//! reference): alternatives in order, quantifiers greedy, so a prefix match ends where Java's
//! `lookingAt` ends and captures what it captures. Nothing is compiled: the first time an
//! isolate uses a pattern of the table, one pass over its text records where each group and
//! branch ends ([`Jumps`], kept for the isolate's life), so a match skips a failed branch in
//! one step instead of scanning it; a pattern outside the table is scanned as it goes. A step
//! budget bounds the work on any input ([`STEPS`]); an exhausted budget is a non-match, and the
//! tests check that no number of the metadata comes near it.

/// Capturing groups a pattern may have (the metadata's most is 5, in number formats).
const MAX_GROUPS: usize = 8;

/// Backtracking steps one match may take. The longest pattern walks a few hundred steps for a
/// number of its region; the budget only stops inputs built to make it backtrack.
pub(super) const STEPS: u32 = 20_000;

/// Where each atom and each branch of a pattern ends (byte positions; 0 where none starts).
pub(super) struct Jumps {
    atom_end: Box<[u32]>,
    branch_end: Box<[u32]>,
}

impl Jumps {
    /// One pass over `pattern`: a stack of open groups and their current branch.
    pub(super) fn of(pattern: &str) -> Jumps {
        let p = pattern.as_bytes();
        let n = p.len();
        let at = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
        let mut atom_end = vec![0u32; n + 1];
        let mut branch_end = vec![0u32; n + 1];
        // (the group's `(`, or None for the pattern; where its current branch starts)
        let mut open: Vec<(Option<usize>, usize)> = vec![(None, 0)];
        let mut k = 0;
        while let Some(c) = p.get(k) {
            match c {
                b'(' => {
                    let start = if p.get(k + 1) == Some(&b'?') { k + 3 } else { k + 1 };
                    open.push((Some(k), start));
                    k = start;
                    continue;
                }
                b'|' => {
                    if let Some(top) = open.last_mut() {
                        if let Some(e) = branch_end.get_mut(top.1) {
                            *e = at(k);
                        }
                        top.1 = k + 1;
                    }
                }
                b')' => {
                    if let Some((group, start)) = open.pop().filter(|(g, _)| g.is_some()) {
                        if let Some(e) = branch_end.get_mut(start) {
                            *e = at(k);
                        }
                        if let Some(e) = group.and_then(|g| atom_end.get_mut(g)) {
                            *e = at(k + 1);
                        }
                    }
                }
                b'[' => {
                    let close =
                        p.get(k..).and_then(|r| r.iter().position(|c| *c == b']')).map_or(n, |c| k + c);
                    if let Some(e) = atom_end.get_mut(k) {
                        *e = at(close + 1);
                    }
                    k = close;
                }
                b'\\' => {
                    if let Some(e) = atom_end.get_mut(k) {
                        *e = at(k + 2);
                    }
                    k += 1;
                }
                _ => {
                    if let Some(e) = atom_end.get_mut(k) {
                        *e = at(k + 1);
                    }
                }
            }
            k += 1;
        }
        // groups left open by a malformed pattern end with it
        while let Some((group, start)) = open.pop() {
            if let Some(e) = branch_end.get_mut(start) {
                *e = at(n);
            }
            if let Some(e) = group.and_then(|g| atom_end.get_mut(g)) {
                *e = at(n);
            }
        }
        Jumps { atom_end: atom_end.into(), branch_end: branch_end.into() }
    }
}

/// A successful match: where it ends and what its groups captured (input byte ranges).
#[derive(Clone, Copy, Debug)]
pub(super) struct Captures {
    pub(super) end: usize,
    groups: [Option<(usize, usize)>; MAX_GROUPS],
}

impl Captures {
    /// Group `n` (0 is the whole match), if it took part in the match.
    pub(super) fn group(&self, n: usize) -> Option<(usize, usize)> {
        match n {
            0 => Some((0, self.end)),
            _ => self.groups.get(n - 1).copied().flatten(),
        }
    }
}

/// Whether all of `input` matches `pattern` (Java's `matches()`).
pub(super) fn full_match(pattern: &str, input: &[u8]) -> bool {
    full_captures(pattern, input).is_some()
}

/// The groups of a match of all of `input` (Java's `matches()`).
pub(super) fn full_captures(pattern: &str, input: &[u8]) -> Option<Captures> {
    let mut run = Run::new(pattern, input);
    let len = input.len();
    let matched = run.alternation(0, 0, &mut |_, j| j == len);
    matched.then_some(Captures { end: len, groups: run.groups })
}

/// The match of `pattern` at the start of `input` that Java's `lookingAt()` finds.
pub(super) fn prefix_match(pattern: &str, input: &[u8]) -> Option<Captures> {
    let mut run = Run::new(pattern, input);
    let mut end = 0;
    let matched = run.alternation(0, 0, &mut |_, j| {
        end = j;
        true
    });
    matched.then_some(Captures { end, groups: run.groups })
}

/// Steps a full match takes (the tests check every pattern stays far from [`STEPS`]).
#[cfg(test)]
pub(super) fn steps_for_full_match(pattern: &str, input: &[u8]) -> u32 {
    let mut run = Run::new(pattern, input);
    let len = input.len();
    run.alternation(0, 0, &mut |_, j| j == len);
    STEPS - run.steps
}

/// How many capturing groups `pattern` has (Java's `groupCount()`).
pub(super) fn group_count(pattern: &str) -> usize {
    let p = pattern.as_bytes();
    p.iter().enumerate().filter(|(i, c)| **c == b'(' && p.get(i + 1) != Some(&b'?')).count()
}

/// Appends `template` to `out` with each `$n` replaced by group `n` of `caps` over `input`
/// (empty when the group did not take part), as Java's `Matcher.replaceFirst` does.
pub(super) fn expand(template: &str, input: &str, caps: &Captures, out: &mut String) {
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let group = match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(n)) => n as usize,
            _ => {
                out.push(c);
                continue;
            }
        };
        chars.next();
        if let Some(text) = caps.group(group).and_then(|(a, b)| input.get(a..b)) {
            out.push_str(text);
        }
    }
}

/// One backtracking match in progress. Each step calls `next` with the input position where
/// the part matched so far ends; `next` says whether the rest of the match succeeds.
struct Run<'a> {
    pat: &'a [u8],
    input: &'a [u8],
    jumps: Option<&'static Jumps>,
    steps: u32,
    groups: [Option<(usize, usize)>; MAX_GROUPS],
}

type Next<'n, 'a> = &'n mut dyn FnMut(&mut Run<'a>, usize) -> bool;

impl<'a> Run<'a> {
    fn new(pattern: &'a str, input: &'a [u8]) -> Run<'a> {
        let jumps = super::metadata::jumps(pattern);
        Run { pat: pattern.as_bytes(), input, jumps, steps: STEPS, groups: [None; MAX_GROUPS] }
    }

    /// The alternatives starting at `p` (a group's or the pattern's first branch), in order.
    fn alternation(&mut self, p: usize, i: usize, next: Next<'_, 'a>) -> bool {
        let mut branch = p;
        loop {
            if self.sequence(branch, i, next) {
                return true;
            }
            let end = self.branch_end(branch);
            if self.steps == 0 || self.pat.get(end) != Some(&b'|') {
                return false;
            }
            branch = end + 1;
        }
    }

    /// The rest of the branch from `p`, then `next`.
    fn sequence(&mut self, p: usize, i: usize, next: Next<'_, 'a>) -> bool {
        match self.pat.get(p) {
            None | Some(b'|' | b')') => next(self, i),
            Some(_) => {
                let (min, max, after) = self.quantifier(self.atom_end(p));
                self.repeat(p, min, max, 0, i, after, next)
            }
        }
    }

    /// The atom at `atom`, matched `n` times so far: greedily once more if it may, else (or
    /// if that fails) the rest of the branch from `after`.
    #[allow(clippy::too_many_arguments)] // the state of one quantifier, kept on the stack
    fn repeat(
        &mut self,
        atom: usize,
        min: u32,
        max: u32,
        n: u32,
        i: usize,
        after: usize,
        next: Next<'_, 'a>,
    ) -> bool {
        if self.steps == 0 {
            return false;
        }
        self.steps -= 1;
        if n < max
            && self.atom(atom, i, &mut |run, j| run.repeat(atom, min, max, n + 1, j, after, &mut *next))
        {
            return true;
        }
        n >= min && self.sequence(after, i, next)
    }

    /// One occurrence of the atom at `p`, then `next`.
    fn atom(&mut self, p: usize, i: usize, next: Next<'_, 'a>) -> bool {
        match self.pat.get(p) {
            Some(b'(') if self.pat.get(p + 1) == Some(&b'?') => self.alternation(p + 3, i, next),
            Some(b'(') => {
                let g = group_count(self.pattern_before(p));
                self.alternation(p + 1, i, &mut |run, j| {
                    let saved = run.groups.get(g).copied().flatten();
                    if let Some(slot) = run.groups.get_mut(g) {
                        *slot = Some((i, j));
                    }
                    if next(run, j) {
                        return true;
                    }
                    if let Some(slot) = run.groups.get_mut(g) {
                        *slot = saved;
                    }
                    false
                })
            }
            Some(b'$') => i == self.input.len() && next(self, i),
            Some(_) => match self.input.get(i) {
                Some(d) if d.is_ascii_digit() && (self.class(p) >> (d - b'0')) & 1 == 1 => next(self, i + 1),
                _ => false,
            },
            None => false,
        }
    }

    fn pattern_before(&self, p: usize) -> &'a str {
        std::str::from_utf8(self.pat.get(..p).unwrap_or_default()).unwrap_or_default()
    }

    /// The digits the single-digit atom at `p` accepts, as a bit set.
    fn class(&self, p: usize) -> u32 {
        match self.pat.get(p) {
            Some(b'\\') if self.pat.get(p + 1) == Some(&b'd') => 0x3FF,
            Some(b'[') => {
                let mut set = 0;
                let mut q = p + 1;
                while let Some(&lo) = self.pat.get(q) {
                    if lo == b']' {
                        break;
                    }
                    match (self.pat.get(q + 1), self.pat.get(q + 2)) {
                        (Some(b'-'), Some(&hi)) if hi != b']' => {
                            set |= digits(lo, hi);
                            q += 3;
                        }
                        _ => {
                            set |= digits(lo, lo);
                            q += 1;
                        }
                    }
                }
                set
            }
            Some(&d) => digits(d, d),
            None => 0,
        }
    }

    /// Where the atom starting at `p` ends.
    fn atom_end(&self, p: usize) -> usize {
        if let Some(end) = self.jumps.and_then(|j| j.atom_end.get(p)).filter(|e| **e > 0) {
            return *end as usize;
        }
        match self.pat.get(p) {
            Some(b'(') => {
                let mut depth = 0usize;
                let mut q = p;
                while let Some(c) = self.pat.get(q) {
                    match c {
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return q + 1;
                            }
                        }
                        _ => {}
                    }
                    q += 1;
                }
                q
            }
            Some(b'[') => {
                let close = self.pat.get(p..).and_then(|rest| rest.iter().position(|c| *c == b']'));
                close.map_or(self.pat.len(), |c| p + c + 1)
            }
            Some(b'\\') => p + 2,
            _ => p + 1,
        }
    }

    /// Where the branch starting at `p` ends: its `|`, its group's `)`, or the pattern's end.
    fn branch_end(&self, p: usize) -> usize {
        if let Some(end) = self.jumps.and_then(|j| j.branch_end.get(p)).filter(|e| **e > 0) {
            return *end as usize;
        }
        let mut q = p;
        while let Some(c) = self.pat.get(q) {
            match c {
                b'|' | b')' => return q,
                b'(' | b'[' | b'\\' => q = self.atom_end(q),
                _ => q += 1,
            }
        }
        q
    }

    /// The quantifier at `q` as (min, max, where the branch continues).
    fn quantifier(&self, q: usize) -> (u32, u32, usize) {
        match self.pat.get(q) {
            Some(b'?') => (0, 1, q + 1),
            Some(b'{') => {
                let (min, after_min) = self.number(q + 1);
                let (max, after_max) = match self.pat.get(after_min) {
                    Some(b',') => self.number(after_min + 1),
                    _ => (min, after_min),
                };
                // a malformed quantifier matches nothing rather than something unexpected
                match self.pat.get(after_max) {
                    Some(b'}') if min <= max => (min, max, after_max + 1),
                    _ => (1, 0, after_max),
                }
            }
            _ => (1, 1, q),
        }
    }

    fn number(&self, mut q: usize) -> (u32, usize) {
        let mut n: u32 = 0;
        while let Some(d) = self.pat.get(q).filter(|d| d.is_ascii_digit()) {
            n = n.saturating_mul(10).saturating_add(u32::from(d - b'0'));
            q += 1;
        }
        (n, q)
    }
}

/// The digits `lo` to `hi` (ASCII) as a bit set; empty if either is not a digit.
fn digits(lo: u8, hi: u8) -> u32 {
    if !lo.is_ascii_digit() || !hi.is_ascii_digit() || lo > hi {
        return 0;
    }
    ((1u32 << (hi - lo + 1)) - 1) << (lo - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_java() {
        assert!(full_match("[2-9]\\d{9}|3\\d{6}", b"4155550100"));
        assert!(full_match("[2-9]\\d{9}|3\\d{6}", b"3123456"));
        assert!(!full_match("[2-9]\\d{9}|3\\d{6}", b"1155550100"));
        assert!(!full_match("[2-9]\\d{9}", b"415555010"));
        assert!(full_match("(?:1|6\\d)\\d{7}|[135-9]\\d{5}", b"690123456"));
        assert!(full_match("1(?:3\\d|5[0-35-9])\\d{8}", b"13800138000"));
        assert!(full_match("\\d{2,3}", b"123") && !full_match("\\d{2,3}", b"1234"));
        // lookingAt: the first alternative that matches wins, quantifiers are greedy
        assert_eq!(prefix_match("010|0[0-2]", b"0101").map(|c| c.end), Some(3));
        assert_eq!(prefix_match("0|010", b"0101").map(|c| c.end), Some(1));
        assert_eq!(prefix_match("00(?:1\\d)?", b"00123").map(|c| c.end), Some(4));
        assert!(prefix_match("810", b"8101").is_some() && prefix_match("810", b"81").is_none());
        // groups, and the $ anchor of NANP national prefixes
        let c = prefix_match("([457]\\d{6})$|1", b"4641234").unwrap();
        assert_eq!((c.end, c.group(1)), (7, Some((0, 7))));
        let c = prefix_match("([457]\\d{6})$|1", b"12684641234").unwrap();
        assert_eq!((c.end, c.group(1)), (1, None));
        let c = full_captures("(\\d{3})(\\d{3,4})(\\d{4})", b"13800138000").unwrap();
        assert_eq!((c.group(1), c.group(2), c.group(3)), (Some((0, 3)), Some((3, 7)), Some((7, 11))));
        let mut out = String::new();
        expand("9$1", "0223151234567", &prefix_match("0?(?:(223)15)?", b"0223151234567").unwrap(), &mut out);
        assert_eq!(out, "9223");
        assert_eq!(group_count("(?:0|90)(?:(1[245]|2[1-35])(\\d{10,11}))?"), 2);
    }

    #[test]
    fn malformed_patterns_match_nothing_and_never_panic() {
        for p in
            ["(", ")", "[", "[1-", "\\", "{", "1{", "1{2", "1{3,2}", "(?", "((1)", "1)|(", "[]", "|", "$$"]
        {
            for input in [&b""[..], b"1", b"12", b"123"] {
                let _ = full_match(p, input);
                let _ = prefix_match(p, input);
            }
        }
        assert!(!full_match("1{3,2}", b"111"));
    }

    /// The jump table says what scanning finds, for every atom and branch start.
    #[test]
    fn jumps_agree_with_scanning() {
        for p in [
            "[2-9]\\d{9}|3\\d{6}",
            "(?:1|6\\d)\\d{7}|[135-9]\\d{5}",
            "0?(?:(11|2(?:2(?:02?|[13])|3))?15)?",
            "((1)|(2(3|4)))5|6",
            "(",
            "1)|(2",
        ] {
            let j = Jumps::of(p);
            let run =
                Run { pat: p.as_bytes(), input: b"", jumps: None, steps: STEPS, groups: [None; MAX_GROUPS] };
            let b = p.as_bytes();
            for k in 0..b.len() {
                if j.atom_end[k] > 0 {
                    assert_eq!(j.atom_end[k] as usize, run.atom_end(k), "{p} atom at {k}");
                }
                let starts_branch =
                    k == 0 || matches!(b[k - 1], b'(' | b'|') || (k >= 3 && &b[k - 3..k] == b"(?:");
                if starts_branch && j.branch_end[k] > 0 {
                    assert_eq!(j.branch_end[k] as usize, run.branch_end(k), "{p} branch at {k}");
                }
            }
        }
    }

    #[test]
    fn the_step_budget_stops_runaway_backtracking() {
        // nested optional groups over digits the pattern can never finish on
        let p = "(?:(?:\\d?){9}){9}x";
        assert!(!full_match(p, b"123456789012345678"));
    }
}
