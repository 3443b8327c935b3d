//! Policy fixtures: every file in tests/data/policy/good loads; every file in
//! tests/data/policy/bad fails with exactly the problems listed in its `.errors` file (one per
//! line, location and message), all reported at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

mod common;

use common::fixtures::{assert_bad_fixtures, toml_files};
use std::fs;

#[test]
fn good_policies_load() {
    let good = toml_files("tests/data/policy/good");
    assert!(good.len() >= 3);
    for f in good {
        if let Err(e) = gate::policy::load(&fs::read_to_string(&f).unwrap()) {
            panic!("{}: {e}", f.display());
        }
    }
}

#[test]
fn bad_policies_report_every_problem_with_its_place() {
    assert_bad_fixtures("tests/data/policy/bad", 4, |text| gate::policy::load(text).err().map(|e| e.0));
}
