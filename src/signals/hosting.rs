//! The bundled list of hosting, cloud and colocation networks (data/hosting-asns.txt).

use std::sync::OnceLock;

/// Whether `asn` is on the bundled hosting/cloud list (data/hosting-asns.txt).
pub fn hosting_asn(asn: u32) -> bool {
    static LIST: OnceLock<Vec<u32>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<u32> = include_str!("../../data/hosting-asns.txt")
            .lines()
            .filter_map(|l| l.split('#').next()?.trim().parse().ok())
            .collect();
        v.sort_unstable();
        v
    })
    .binary_search(&asn)
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosting_list_is_loaded() {
        for asn in [16509, 14061, 24940, 16276, 396982] {
            assert!(hosting_asn(asn), "{asn}");
        }
        for asn in [3320, 7922, 13335, 0] {
            assert!(!hosting_asn(asn), "{asn}");
        }
    }
}
