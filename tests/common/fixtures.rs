//! Fixture files: listing a folder's TOML files, and checking a loader's problems against a
//! fixture's `.errors` file (one problem per line; `GATE_BLESS=1` rewrites them), for a whole
//! folder of bad fixtures at once.

use std::fmt::Display;
use std::fs;
use std::path::{Path, PathBuf};

/// The `.toml` files in `dir` (relative to the crate root), sorted.
pub fn toml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// Asserts that `got` is exactly the problems listed in the fixture's `.errors` file.
pub fn assert_errors(fixture: &Path, got: &[String]) {
    let expected_file = fixture.with_extension("errors");
    if std::env::var_os("GATE_BLESS").is_some() {
        fs::write(&expected_file, got.join("\n") + "\n").unwrap();
    }
    let want: Vec<String> = fs::read_to_string(&expected_file)
        .unwrap_or_else(|_| panic!("{} is missing (GATE_BLESS=1 writes it)", expected_file.display()))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, want, "{}", fixture.display());
}

/// Every `.toml` file in `dir` (at least `min` of them) fails to load, with exactly the problems
/// its `.errors` file lists; `problems` loads a file's text and returns its problems, or `None`
/// when it loaded.
pub fn assert_bad_fixtures<E: Display>(dir: &str, min: usize, problems: impl Fn(&str) -> Option<Vec<E>>) {
    let bad = toml_files(dir);
    assert!(bad.len() >= min, "{} fixtures in {dir}", bad.len());
    for f in bad {
        let got =
            problems(&fs::read_to_string(&f).unwrap()).unwrap_or_else(|| panic!("{} loaded", f.display()));
        assert_errors(&f, &got.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
}

/// The shipped policy without its `[otp]` section: the same gate, blind to number ranges (the
/// drills' "before ranges" side).
pub fn shipped_policy_without_otp() -> String {
    let shipped = gate::drill::SHIPPED_POLICY;
    let start = shipped.find("\n[otp]").expect("the shipped policy has [otp]");
    let end = start + 1 + shipped[start + 1..].find("\n# Example").expect("an example follows [otp]");
    format!("{}{}", &shipped[..start], &shipped[end..])
}
