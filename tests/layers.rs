//! The tree's rules, read from the source as text: the layer map `src/lib.rs` states is the one
//! the imports obey (no module uses one listed after it, nor a driver beside it); a refusal
//! reply is built in one place only; the request flow stays flat; cohort keys are never
//! strings sniffed by prefix.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments and doc comments: they may name
/// any module).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The layers in `src/lib.rs`'s map, bottom first: each numbered line's backticked modules.
fn layers(lib: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut in_map = false;
    for line in lib.lines().filter_map(|l| l.strip_prefix("//!")) {
        let line = line.trim();
        if line == "## Layers" {
            in_map = true;
            continue;
        }
        if !in_map {
            continue;
        }
        let numbered = line.split_once(". ").filter(|(n, _)| n.parse::<u32>().is_ok());
        let (rest, continues) = match numbered {
            Some((_, rest)) => (rest, false),
            // a numbered item's continuation line
            None if !line.is_empty() && !out.is_empty() => (line, true),
            None => continue,
        };
        let names: Vec<String> = rest
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .map(str::to_string)
            .collect();
        match out.last_mut() {
            Some(last) if continues => last.extend(names),
            _ if !names.is_empty() => out.push(names),
            _ => {}
        }
    }
    out
}

/// The top-level module a file under `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// Every `crate::x` a file's code names.
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        let before = rest[..i].chars().last();
        // `gate::crate::` never occurs; `$crate::` is a macro's own crate
        if !name.is_empty() && before != Some('$') {
            out.push(name);
        }
        rest = after;
    }
    out
}

#[test]
fn no_import_runs_up_the_layer_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layers = layers(&lib);
    let level: BTreeMap<String, usize> =
        layers.iter().enumerate().flat_map(|(i, names)| names.iter().map(move |n| (n.clone(), i))).collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let Some(own) = level.get(&module) else {
            problems
                .push(format!("{}: module {module} is not in the layer map of src/lib.rs", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in uses(&code(&text)) {
            if used == module {
                continue;
            }
            match level.get(&used) {
                None => problems.push(format!("{}: crate::{used} is not in the layer map", file.display())),
                Some(l) if l > own => problems.push(format!(
                    "{}: {module} (layer {}) imports {used} (layer {})",
                    file.display(),
                    own + 1,
                    l + 1
                )),
                Some(l) if l == own => {
                    problems.push(format!("{}: {module} imports {used}, a module beside it", file.display()))
                }
                Some(_) => {}
            }
        }
    }
    assert!(layers.len() >= 10, "the layer map was not found in src/lib.rs: {layers:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_of_this_test_finds_the_modules_it_guards() {
    // the parsers above, on a sample: so a change that breaks them cannot pass silently
    let lib = "//! ## Layers\n//!\n//! 1. `pow` — x\n//! 2. `request` — a `crate` word\n//! 3. `drill`; `cli`\n//!    `edge`\n";
    assert_eq!(layers(lib), [vec!["pow"], vec!["request", "crate"], vec!["drill", "cli", "edge"]]);
    let code = code("use crate::policy::X; // crate::edge\n/// [`crate::drill`]\nlet y = crate::store::z();");
    assert_eq!(uses(&code), ["policy", "store"]);
}

fn files_under(dir: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(&f).unwrap())).collect()
}

#[test]
fn a_refusal_reply_is_built_in_one_place() {
    let mut problems = Vec::new();
    for (file, text) in files_under("src") {
        let name = file.to_string_lossy().replace('\\', "/");
        let allowed = name.ends_with("src/pipeline/refusal.rs") || name.ends_with("src/present/reply.rs");
        let code = code(&text);
        if !allowed && (code.contains("reply::rejection(") || code.contains("Reply::error(")) {
            problems.push(name);
        }
    }
    assert!(problems.is_empty(), "refusal replies built outside pipeline::refusal: {problems:?}");
}

#[test]
fn the_request_flow_stays_flat() {
    for (file, text) in files_under("src/pipeline") {
        let deepest = code(&text).lines().map(|l| (l.len() - l.trim_start().len()) / 4).max().unwrap_or(0);
        assert!(
            deepest <= 6,
            "{}: nested {deepest} levels deep (flatten it into named states)",
            file.display()
        );
    }
}

#[test]
fn cohort_keys_are_types_not_strings() {
    for (file, text) in files_under("src") {
        let code = code(&text);
        for needle in ["CohortKey(", ".starts_with(\"nojs:", ".starts_with(\"cap:", "strip_prefix(\"nojs:"] {
            assert!(!code.contains(needle), "{}: {needle}", file.display());
        }
    }
}
