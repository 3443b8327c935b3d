//! Policy fixtures: every file in tests/data/policy/good loads; every file in
//! tests/data/policy/bad fails with exactly the problems listed in its `.errors` file (one per
//! line, location and message), all reported at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use std::fs;
use std::path::Path;

fn files(dir: &str, ext: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy").join(dir);
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn good_policies_load() {
    let good = files("good", "toml");
    assert!(good.len() >= 3);
    for f in good {
        if let Err(e) = gate::policy::load(&fs::read_to_string(&f).unwrap()) {
            panic!("{}: {e}", f.display());
        }
    }
}

#[test]
fn bad_policies_report_every_problem_with_its_place() {
    let bad = files("bad", "toml");
    assert!(bad.len() >= 4);
    for f in bad {
        let errors =
            gate::policy::load(&fs::read_to_string(&f).unwrap()).expect_err(&f.display().to_string());
        let got: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        let expected_file = f.with_extension("errors");
        if std::env::var_os("GATE_BLESS").is_some() {
            fs::write(&expected_file, got.join("\n") + "\n").unwrap();
        }
        let want: Vec<String> = fs::read_to_string(&expected_file)
            .unwrap_or_else(|_| panic!("{} is missing (GATE_BLESS=1 writes it)", expected_file.display()))
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(got, want, "{}", f.display());
    }
}
