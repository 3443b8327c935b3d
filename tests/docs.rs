//! The manual stays true to the tree: in README.md, docs/*.md and drills/README.md every
//! relative link names a file that exists (and a heading of it, when it has a `#anchor`), every
//! command quoted from `scripts/` names a script and arguments that script accepts, and
//! docs/testing.md names every test file under tests/. Reads files only: no network, no build.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages checked, relative to the crate root.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![PathBuf::from("README.md"), PathBuf::from("drills/README.md")];
    pages.extend(files_with(Path::new("docs"), ".md"));
    pages
}

/// The files directly in `dir` (relative to the crate root) whose names end in `suffix`, sorted.
fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .map(|p| dir.join(p.file_name().unwrap()))
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a Markdown page says, split the way the checks need it.
#[derive(Default, Debug)]
struct Page {
    /// Link targets in prose, with their line: `[text](target)`, `![alt](target)`, `[ref]: target`.
    links: Vec<(usize, String)>,
    /// Code as written: each line of a fenced block, each inline code span (joined across lines).
    code: Vec<(usize, String)>,
    /// Prose with the code spans taken out, per line.
    prose: Vec<(usize, String)>,
    /// The anchors a link can name: the headings' GitHub slugs and explicit `<a id="…">`s.
    anchors: BTreeSet<String>,
}

/// GitHub's heading anchor: lowercase, punctuation other than `-` and `_` dropped, spaces as
/// `-`. Markdown syntax (backticks, emphasis, a link's target) goes with the punctuation.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    while let Some(at) = rest.find("](") {
        text.push_str(&rest[..at]);
        rest = rest[at..].find(')').map_or("", |end| &rest[at + end + 1..]);
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn parse(text: &str) -> Page {
    let mut page = Page::default();
    let mut fence: Option<&str> = None;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    // an inline code span may run over a line break inside a paragraph
    let mut span: Option<(usize, usize, String)> = None; // (line, delimiter length, text)
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            } else {
                page.code.push((n, line.to_string()));
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            span = None;
            continue;
        }
        if trimmed.is_empty() {
            span = None;
            continue;
        }
        if let Some(h) = trimmed.strip_prefix('#') {
            let h = h.trim_start_matches('#');
            if h.starts_with(' ') {
                let base = slug(h);
                let count = seen.entry(base.clone()).or_insert(0);
                page.anchors.insert(if *count == 0 { base.clone() } else { format!("{base}-{count}") });
                *count += 1;
            }
        }
        for key in ["<a id=\"", "<a name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(key) {
                rest = &rest[at + key.len()..];
                if let Some(end) = rest.find('"') {
                    page.anchors.insert(rest[..end].to_string());
                }
            }
        }
        let mut prose = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut c = 0;
        while c < chars.len() {
            if chars[c] == '`' {
                let run = chars[c..].iter().take_while(|&&ch| ch == '`').count();
                c += run;
                match span.take() {
                    None => span = Some((n, run, String::new())),
                    Some((at, len, code)) if len == run => page.code.push((at, code)),
                    Some((at, len, mut code)) => {
                        code.extend(std::iter::repeat_n('`', run));
                        span = Some((at, len, code));
                    }
                }
                continue;
            }
            match span.as_mut() {
                Some((_, _, code)) => code.push(chars[c]),
                None => prose.push(chars[c]),
            }
            c += 1;
        }
        if let Some((_, _, code)) = span.as_mut() {
            code.push(' ');
        }
        if let Some(target) = reference_definition(&prose) {
            page.links.push((n, target));
        }
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(|ch: char| ch == ')' || ch.is_whitespace()).unwrap_or(rest.len());
            page.links.push((n, rest[..end].trim_matches(|ch| ch == '<' || ch == '>').to_string()));
        }
        page.prose.push((n, prose));
    }
    page
}

/// `[label]: target` at the start of a line.
fn reference_definition(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('[')?;
    let (label, after) = rest.split_once("]:")?;
    (!label.is_empty() && !label.contains(']'))
        .then(|| after.split_whitespace().next().unwrap_or("").to_string())
}

fn is_external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:") || target.starts_with("tel:")
}

/// `docs/../README.md` as `README.md` (lexically: the pages link no symlinks).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The problems with one link target, found on `page` (relative to the crate root).
fn check_link(page: &Path, target: &str) -> Option<String> {
    if target.is_empty() || is_external(target) {
        return None;
    }
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let file =
        if path.is_empty() { page.to_path_buf() } else { normalize(&page.parent().unwrap().join(path)) };
    let full = root().join(&file);
    if !full.exists() {
        return Some(format!("{target}: {} does not exist", file.display()));
    }
    if anchor.is_empty() {
        return None;
    }
    if full.extension().is_none_or(|e| e != "md") {
        return Some(format!("{target}: an anchor into a file that is not Markdown"));
    }
    let anchors = parse(&fs::read_to_string(&full).unwrap()).anchors;
    (!anchors.contains(anchor))
        .then(|| format!("{target}: no heading in {} has the anchor #{anchor}", file.display()))
}

/// The words a script accepts as arguments: from its `# Usage: scripts/x [a|b ...]` line and
/// from the arms of its `case` statements (`a|b) …`, `--flag) …`).
/// What [`accepted_arguments`] holds for a script whose usage names a free-form value.
const ANY: &str = "*";

fn accepted_arguments(script: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let mut add = |patterns: &str| {
        for w in patterns.split(['|', ' ']).map(str::trim) {
            // an upper-case placeholder (`[SECONDS]`, `[TARGET ...]`) takes any value
            if w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase()) {
                words.insert(ANY.to_string());
            } else if is_word(w) {
                words.insert(w.to_string());
            }
        }
    };
    let mut in_case = false;
    for line in script.lines() {
        let t = line.trim();
        if let Some(usage) = t.strip_prefix('#').and_then(|u| u.trim().strip_prefix("Usage:")) {
            for group in usage.split('[').skip(1).filter_map(|g| g.split_once(']').map(|(g, _)| g)) {
                add(group);
            }
            continue;
        }
        if t.starts_with('#') {
            continue;
        }
        if let Some(arms) = t.strip_prefix("case ").and_then(|c| c.split_once(" in").map(|(_, arms)| arms)) {
            in_case = !arms.contains("esac");
            for arm in arms.split(";;") {
                if let Some((pattern, _)) = arm.split_once(')') {
                    add(pattern);
                }
            }
            continue;
        }
        if in_case {
            if t.starts_with("esac") {
                in_case = false;
            } else if let Some((pattern, _)) = t.split_once(')')
                && !pattern.contains(['(', '"', '$', ' '])
            {
                add(pattern);
            }
        }
    }
    words
}

/// A bare word or flag, as a subcommand is written (`e2e`, `verify`, `--bench`).
fn is_word(s: &str) -> bool {
    let s = s.trim_start_matches('-');
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Each `scripts/NAME args…` in `code`: the script's name and the words that follow it, up to
/// the first token that is not a word (a comment, `&&`, a redirection, a path).
fn script_commands(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("scripts/") {
        let start = from + at;
        from = start + "scripts/".len();
        let before = code[..start].trim_end_matches("./");
        if !(before.is_empty() || before.ends_with([' ', '\t', '(', '"', '\'', '=', '`'])) {
            continue; // part of another path (`bench/scripts/…`)
        }
        let rest = &code[from..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.').to_string();
        let args = rest[end..].split_whitespace().take_while(|w| is_word(w)).map(str::to_string).collect();
        if !name.is_empty() {
            out.push((name, args));
        }
    }
    out
}

/// The problems with the `scripts/` commands `page` quotes.
fn check_commands(page: &Page) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |n: usize, name: &str, args: &[String]| {
        let path = root().join("scripts").join(name);
        if !path.is_file() {
            problems.push(format!("{n}: scripts/{name} does not exist"));
            return;
        }
        let accepted = accepted_arguments(&fs::read_to_string(&path).unwrap());
        for a in args {
            if !accepted.contains(a) && !accepted.contains(ANY) {
                let known = if accepted.is_empty() {
                    "it takes no arguments".to_string()
                } else {
                    format!("it accepts {}", accepted.iter().cloned().collect::<Vec<_>>().join(", "))
                };
                problems.push(format!("{n}: scripts/{name} {a}: {known}"));
            }
        }
    };
    for (n, code) in &page.code {
        let code = code.split(" #").next().unwrap_or("");
        for (name, args) in script_commands(code) {
            check(*n, &name, &args);
        }
    }
    // a script named in prose must exist; its arguments are only read from code
    for (n, prose) in &page.prose {
        for (name, _) in script_commands(prose) {
            check(*n, &name, &[]);
        }
    }
    problems
}

fn report(problems: Vec<String>, what: &str) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

#[test]
fn every_relative_link_resolves() {
    let (mut problems, mut checked) = (Vec::new(), 0);
    for page in pages() {
        for (n, target) in parse(&read(&page)).links {
            checked += 1;
            if let Some(p) = check_link(&page, &target) {
                problems.push(format!("{}:{n}: {p}", page.display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} links found: is the parser reading the pages?");
    report(problems, "links that do not resolve");
}

#[test]
fn every_quoted_script_command_exists_and_takes_its_arguments() {
    let (mut problems, mut quoted) = (Vec::new(), 0);
    for page in pages() {
        let parsed = parse(&read(&page));
        quoted += parsed.code.iter().filter(|(_, c)| c.contains("scripts/")).count();
        for p in check_commands(&parsed) {
            problems.push(format!("{}:{p}", page.display()));
        }
    }
    assert!(quoted > 10, "only {quoted} code pieces quote scripts/: is the parser reading the pages?");
    report(problems, "commands quoted from scripts/ that would not run");
}

#[test]
fn the_testing_page_names_every_test_file() {
    let testing = read(Path::new("docs/testing.md"));
    let mut files = files_with(Path::new("tests"), ".rs");
    for (dir, suffix) in [("tests/common", ".rs"), ("tests/e2e", ".mjs"), ("tests/e2e/fixtures", "")] {
        files.extend(files_with(Path::new(dir), suffix));
    }
    assert!(files.len() > 20, "the test tree was not found: {files:?}");
    let problems = files
        .iter()
        .map(|f| f.to_string_lossy().replace('\\', "/"))
        .filter(|f| !testing.contains(f.as_str()))
        .map(|f| format!("{f} is not named in docs/testing.md"))
        .collect();
    report(problems, "test files the Testing page leaves out");
}

#[test]
fn slugs_follow_github() {
    for (heading, want) in [
        ("Protocol (version 1)", "protocol-version-1"),
        ("The widget (for the site's pages)", "the-widget-for-the-sites-pages"),
        ("Load (`scripts/bench load`)", "load-scriptsbench-load"),
        ("1. Get a challenge", "1-get-a-challenge"),
        ("snake_case and dash-es", "snake_case-and-dash-es"),
        ("See [the file](policy.md#x) now", "see-the-file-now"),
        ("Ünïcode stays", "ünïcode-stays"),
    ] {
        assert_eq!(slug(heading), want, "{heading}");
    }
}

#[test]
fn the_parser_reads_links_code_and_anchors_as_github_does() {
    let page = parse(
        "# Title\n\nSee [a](a.md#x) and `not [a](link)` or `scripts/test\nunit`.\n\n```sh\n[b](c.md)\n# not a heading\n```\n\n## Title\n<a id=\"here\"></a>![i](s.png)\n[r]: ref.md\n",
    );
    let links: Vec<&str> = page.links.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(links, ["a.md#x", "s.png", "ref.md"]);
    let anchors: Vec<&str> = page.anchors.iter().map(String::as_str).collect();
    assert_eq!(anchors, ["here", "title", "title-1"]);
    let code: Vec<&str> = page.code.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(code, ["not [a](link)", "scripts/test unit", "[b](c.md)", "# not a heading"]);
}

#[test]
fn script_commands_and_their_arguments_are_read_from_code_and_scripts() {
    assert_eq!(
        script_commands("GATE_NO_OPT=1 bash scripts/build-worker && scripts/bench verify bundle > out"),
        [
            ("build-worker".to_string(), vec![]),
            ("bench".to_string(), vec!["verify".to_string(), "bundle".to_string()])
        ]
    );
    assert_eq!(
        script_commands("bench/scripts/x ./scripts/setup --bench"),
        [("setup".to_string(), vec!["--bench".to_string()])]
    );
    let accepted = |s: &str| accepted_arguments(&read(&Path::new("scripts").join(s)));
    assert_eq!(accepted("test"), ["e2e", "lint", "unit", "wasm"].map(String::from).into());
    assert!(["verify", "bundle", "signals", "widget", "load"].iter().all(|w| accepted("bench").contains(*w)));
    assert_eq!(accepted("setup"), ["--bench", "--test"].map(String::from).into());
    assert!(accepted("dev").is_empty());
}
