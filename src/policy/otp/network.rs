//! Networks (`[[otp.networks]]`): named groups of ranges, a third scope between a range and its
//! calling code. Pumped numbers sit in a few ranges of one operator, and the gate cannot know a
//! number's operator (portability moves numbers between them); an operator can name the ranges
//! it knows belong together. A network's sends, verified codes and tries are counted beside its
//! ranges' (`otp_sent:network kg-operator`), and a network nobody entered a code in gets the
//! unentered block for all its ranges at once, even while people enter codes in other networks
//! of the same calling code (which keeps the calling code open).

use super::super::load::Problems;
use crate::request::phone::Range;
use serde::Deserialize;

/// One `[[otp.networks]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkFile {
    name: String,
    ranges: Vec<String>,
}

/// A named group of ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Its name (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// Its ranges, or shorter prefixes of ranges (`+996 5`): a range belongs to the network
    /// when one of these is a prefix of it.
    pub ranges: Vec<Range>,
}

/// Most networks a policy names (each send looks its range up in them).
const MAX_NETWORKS: usize = 500;
/// Most ranges in all networks together.
const MAX_RANGES: usize = 5000;

/// The counters' value for a network (`network kg-operator`), spelled apart from every range
/// (`+…`) and calling code (`+996 *`).
pub fn network_scope(name: &str) -> String {
    format!("network {name}")
}

/// The network a counter value is the scope of (`kg-operator` of `network kg-operator`).
pub fn network_in_scope(value: &str) -> Option<&str> {
    value.strip_prefix("network ")
}

/// The network a range (as the gate spells it: `+996 500`) belongs to, if any.
pub fn network_of<'a>(networks: &'a [Network], range: &str) -> Option<&'a Network> {
    if networks.is_empty() {
        return None;
    }
    let range: Range = range.parse().ok()?;
    networks.iter().find(|n| {
        n.ranges
            .iter()
            .any(|r| r.calling_code() == range.calling_code() && range.digits().starts_with(r.digits()))
    })
}

/// Reads `[[otp.networks]]`, every problem into `p`: names unique and plain, ranges readable and
/// no longer than the gate's range for their numbers, no range in two networks (a send counts
/// for one network).
pub(super) fn load(p: &mut Problems, files: &[NetworkFile]) -> Vec<Network> {
    if files.len() > MAX_NETWORKS {
        p.add("otp.networks", format!("{} networks, at most {MAX_NETWORKS}", files.len()));
    }
    let total: usize = files.iter().map(|f| f.ranges.len()).sum();
    if total > MAX_RANGES {
        p.add("otp.networks", format!("{total} ranges in all, at most {MAX_RANGES}"));
    }
    let mut networks: Vec<Network> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let at = format!("otp.networks[{i}]");
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if f.name.is_empty() || f.name.len() > 40 || !f.name.chars().all(plain) {
            p.add(
                format!("{at}.name"),
                format!("{:?} is not 1 to 40 letters, digits, '.', '_' or '-'", f.name),
            );
        } else if networks.iter().any(|n| n.name == f.name) {
            p.add(format!("{at}.name"), format!("{:?} names another network too", f.name));
        }
        if f.ranges.is_empty() {
            p.add(format!("{at}.ranges"), "lists no range");
        }
        let mut ranges = Vec::new();
        for (j, text) in f.ranges.iter().enumerate() {
            let at = format!("{at}.ranges[{j}]");
            match text.parse::<Range>() {
                Err(e) => p.add(at, e.to_string()),
                Ok(r) if r.digits().is_empty() => {
                    p.add(at, format!("{text:?} is a whole calling code (counted as one already)"))
                }
                Ok(r) if read_range(&r).is_some_and(|g| g.digits().len() < r.digits().len()) => {
                    let read = read_range(&r).map(|g| g.to_string()).unwrap_or_default();
                    p.add(
                        at,
                        format!("{text:?} is longer than the range the gate reads for its numbers ({read}): it would hold no range"),
                    )
                }
                Ok(r) => {
                    let overlaps = |o: &Range| {
                        o.calling_code() == r.calling_code()
                            && (o.digits().starts_with(r.digits()) || r.digits().starts_with(o.digits()))
                    };
                    let taken = networks.iter().find(|n| n.ranges.iter().any(overlaps));
                    match taken {
                        Some(n) => p.add(at, format!("{text:?} overlaps a range of network {:?}", n.name)),
                        None if ranges.iter().any(overlaps) => {
                            p.add(at, format!("{text:?} overlaps another range of this network"))
                        }
                        None => ranges.push(r),
                    }
                }
            }
        }
        networks.push(Network { name: f.name.clone(), ranges });
    }
    networks
}

/// The range the gate reads for numbers that start with `r` (the first valid number of it,
/// padded with zeros), if any is valid: an entry longer than that range would hold no range.
fn read_range(r: &Range) -> Option<Range> {
    (1..=10).find_map(|pad| {
        let candidate = format!("+{}{}{}", r.calling_code(), r.digits(), "0".repeat(pad));
        crate::request::phone::parse(&candidate, None).ok().map(|n| n.range().clone())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::*;

    fn load_text(networks: &str) -> Result<Vec<Network>, String> {
        super::super::test_otp(networks).map(|o| o.networks)
    }

    #[test]
    fn a_range_belongs_to_the_network_one_of_whose_entries_is_a_prefix_of_it() {
        let n = load_text(
            "[[otp.networks]]\nname = \"kg-a\"\nranges = [\"+996 50\", \"+996 700\"]\n\
             [[otp.networks]]\nname = \"fi.b\"\nranges = [\"+358 4\"]\n",
        )
        .unwrap();
        let of = |r: &str| network_of(&n, r).map(|n| n.name.as_str());
        assert_eq!(of("+996 500"), Some("kg-a"));
        assert_eq!(of("+996 509"), Some("kg-a"));
        assert_eq!(of("+996 700"), Some("kg-a"));
        assert_eq!(of("+996 701"), None);
        assert_eq!(of("+996 5"), None, "a range wider than the entry is not all the network's");
        assert_eq!(of("+358 41"), Some("fi.b"));
        assert_eq!(of("+35 84"), None, "digits are compared within one calling code");
        assert_eq!(of("+1 415"), None);
        assert_eq!(of("not a range"), None);
        assert_eq!(network_of(&[], "+996 500"), None);
        assert_eq!(network_scope("kg-a"), "network kg-a");
        assert_eq!(network_in_scope("network kg-a"), Some("kg-a"));
        assert_eq!(network_in_scope("+996 *"), None);
        assert!(load_text("").unwrap().is_empty(), "none unless named");
    }

    #[test]
    fn every_network_problem_is_reported_at_once() {
        let e = load_text(
            "[[otp.networks]]\nname = \"a b\"\nranges = [\"+996 50\", \"996\", \"+996\", \"+996 5\"]\n\
             [[otp.networks]]\nname = \"x\"\nranges = []\n\
             [[otp.networks]]\nname = \"x\"\nranges = [\"+996 501\", \"+999 1\"]\n",
        )
        .unwrap_err();
        for want in [
            "otp.networks[0].name: \"a b\" is not 1 to 40",
            "otp.networks[0].ranges[1]: \"996\" is not a number range",
            "otp.networks[0].ranges[2]: \"+996\" is a whole calling code",
            "otp.networks[0].ranges[3]: \"+996 5\" overlaps another range of this network",
            "otp.networks[1].ranges: lists no range",
            "otp.networks[2].name: \"x\" names another network too",
            "otp.networks[2].ranges[0]: \"+996 501\" overlaps a range of network \"a b\"",
            "otp.networks[2].ranges[1]: \"+999 1\" is not a number range",
        ] {
            assert!(e.contains(want), "{want} in {e}");
        }
        // an entry longer than the gate's range for its numbers would hold none
        let e = load_text("[[otp.networks]]\nname = \"a\"\nranges = [\"+996 5001\", \"+358 4123\"]\n")
            .unwrap_err();
        for want in [
            "otp.networks[0].ranges[0]: \"+996 5001\" is longer than the range the gate reads for its numbers (+996 500)",
            "otp.networks[0].ranges[1]: \"+358 4123\" is longer than the range the gate reads for its numbers (+358 41)",
        ] {
            assert!(e.contains(want), "{want} in {e}");
        }
        assert!(
            load_text("[[otp.networks]]\nname = \"a\"\nranges = [\"+996 5\"]\nkind = 1\n")
                .unwrap_err()
                .contains("unknown field")
        );
    }
}
