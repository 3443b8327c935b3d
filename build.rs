//! Bundles the policy file into the crate: `GATE_POLICY` (a path relative to the crate, set by
//! scripts/build-worker from wrangler.toml's POLICY_FILE) or `policy/gate.toml`. The Worker
//! then needs no file system. The TOML is handed over as JSON, so the Worker carries no TOML
//! parser; scripts/build-worker has already validated the file (`gate policy check`), and the
//! fingerprint is taken over the TOML text, so stats show what `gate policy check` printed.
//!
//! It also turns the translation catalogs (`www/i18n/<lang>.json`, one per language, shared
//! with the widget) into Rust: the `Lang` enum, the pages' strings and the list of widget
//! files (`$OUT_DIR/i18n.rs`, included by `src/pipeline/page.rs`). The Worker so carries only
//! the pages' strings, as literals, and parses nothing at run time.
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let rel = std::env::var("GATE_POLICY").unwrap_or_else(|_| "policy/gate.toml".to_string());
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let src = Path::new(&manifest).join(&rel);
    println!("cargo:rerun-if-env-changed=GATE_POLICY");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = match std::fs::read_to_string(&src) {
        Ok(t) => t,
        Err(e) => {
            println!("cargo:warning=cannot read policy {}: {e}; bundling an empty policy", src.display());
            String::new()
        }
    };
    // A file that is not valid TOML is bundled as it is: the Worker then reports it as
    // unreadable and keeps protected routes closed (the build script refuses it first).
    let json = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|table| serde_json::to_string(&table).ok())
        .unwrap_or_else(|| text.clone());
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out).join("policy.json"), json) {
        println!("cargo:warning=cannot write bundled policy: {e}");
    }
    let mut fingerprint = String::new();
    for b in Sha256::digest(text.as_bytes()).iter().take(8) {
        let _ = write!(fingerprint, "{b:02x}");
    }
    println!("cargo:rustc-env=GATE_POLICY_PATH={rel}");
    println!("cargo:rustc-env=GATE_POLICY_FINGERPRINT={fingerprint}");

    let i18n = Path::new(&manifest).join("www/i18n");
    println!("cargo:rerun-if-changed={}", i18n.display());
    match catalogs(&i18n).and_then(|c| generate(&c)) {
        Ok(code) => {
            if let Err(e) = std::fs::write(Path::new(&out).join("i18n.rs"), code) {
                fail(&format!("cannot write i18n.rs: {e}"));
            }
        }
        Err(e) => fail(&format!("translation catalogs in {}: {e}", i18n.display())),
    }
}

/// Stops the build with a message (a build script cannot report an error otherwise).
fn fail(message: &str) {
    eprintln!("error: {message}");
    std::process::exit(1);
}

/// The widget's files other than the translations (what scripts/build-widget writes).
const WIDGET_SCRIPTS: &[&str] = &[
    "gate.js",
    "gate-worker.js",
    "gate-solver-js.js",
    "gate_solver.js",
    "gate_solver_bg.wasm",
    "gate_solver_simd.js",
    "gate_solver_simd_bg.wasm",
];

/// The page refusals in a catalog's `page` object, each `{title, body}`.
const PAGE_CASES: &[&str] =
    &["denied", "no_script", "retry", "more_work", "too_large", "phone", "closed", "other"];
/// The wait page's strings in `page.wait`.
const WAIT_KEYS: &[&str] = &["title", "body", "early", "kept", "button"];
/// The waiting line's page strings in `page.line`.
const LINE_KEYS: &[&str] = &["title", "body", "button"];
/// The top-up page's strings in `page.topup`.
const TOPUP_KEYS: &[&str] = &["title", "body", "sending", "failed", "button"];

/// Every catalog as (tag, JSON), English first, then by tag.
fn catalogs(dir: &Path) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let (Some(tag), Some("json")) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str()))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((tag.to_string(), json));
    }
    out.sort_by(|a, b| (a.0 != "en", &a.0).cmp(&(b.0 != "en", &b.0)));
    if out.first().is_none_or(|(tag, _)| tag != "en") {
        return Err("en.json (the fallback language) is missing".into());
    }
    Ok(out)
}

/// The Rust for `src/pipeline/page.rs`.
fn generate(catalogs: &[(String, Value)]) -> Result<String, String> {
    let variant = |tag: &str| -> String {
        tag.split('-')
            .map(|part| {
                let lower = part.to_ascii_lowercase();
                let mut chars = lower.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect()
    };
    let english_widget_keys = catalogs.first().and_then(|(_, c)| c.get("widget")).and_then(Value::as_object);
    let mut code = String::from(
        "/// Languages the gate's pages and the widget speak: one per catalog in `www/i18n/`.\n\
         #[derive(Copy, Clone, Debug, PartialEq, Eq)]\npub enum Lang {\n",
    );
    for (tag, _) in catalogs {
        code += &format!("    /// `{tag}` (`www/i18n/{tag}.json`).\n    {},\n", variant(tag));
    }
    code += "}\n\nimpl Lang {\n    /// Every language, English (the fallback) first.\n";
    code += &format!("    pub const ALL: [Lang; {}] = [", catalogs.len());
    for (tag, _) in catalogs {
        code += &format!("Lang::{}, ", variant(tag));
    }
    code += "];\n\n    /// The BCP 47 tag for `<html lang>` (the catalog's file name).\n";
    code += "    pub fn tag(self) -> &'static str {\n        match self {\n";
    for (tag, _) in catalogs {
        code += &format!("            Lang::{} => {tag:?},\n", variant(tag));
    }
    code += "        }\n    }\n\n    fn catalog(self) -> &'static Catalog {\n        match self {\n";
    for (tag, _) in catalogs {
        code +=
            &format!("            Lang::{v} => &{},\n", variant(tag).to_ascii_uppercase(), v = variant(tag));
    }
    code += "        }\n    }\n}\n";
    for (tag, c) in catalogs {
        let text = |path: &[&str]| -> Result<String, String> {
            let mut v = c;
            for key in path {
                v = v.get(key).ok_or_else(|| format!("{tag}.json has no {}", path.join(".")))?;
            }
            v.as_str()
                .map(|s| format!("{s:?}"))
                .ok_or_else(|| format!("{tag}.json: {} is not a string", path.join(".")))
        };
        let widget = c
            .get("widget")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{tag}.json has no widget object"))?;
        if let Some(english) = english_widget_keys {
            if let Some(key) = english.keys().find(|k| !widget.contains_key(*k)) {
                return Err(format!("{tag}.json has no widget.{key}"));
            }
            if let Some(key) = widget.keys().find(|k| !english.contains_key(*k)) {
                return Err(format!("{tag}.json: widget.{key} is not in en.json"));
            }
        }
        code += &format!("\nstatic {}: Catalog = Catalog {{\n", variant(tag).to_ascii_uppercase());
        for case in PAGE_CASES {
            code += &format!(
                "    {case}: ({}, {}),\n",
                text(&["page", case, "title"])?,
                text(&["page", case, "body"])?
            );
        }
        code += &format!("    back: {},\n    wait: WaitText {{\n", text(&["page", "back"])?);
        for key in WAIT_KEYS {
            code += &format!("        {key}: {},\n", text(&["page", "wait", key])?);
        }
        code += "    },\n    line: LineText {\n";
        for key in LINE_KEYS {
            code += &format!("        {key}: {},\n", text(&["page", "line", key])?);
        }
        code += "    },\n    topup: TopUpText {\n";
        for key in TOPUP_KEYS {
            code += &format!("        {key}: {},\n", text(&["page", "topup", key])?);
        }
        code += "    },\n};\n";
    }
    code += "\n/// The widget's files, served under the gate prefix from `www/dist` (scripts/build-widget):\n\
             /// the scripts, the solver builds and a message file per language other than English.\n\
             pub const WIDGET_FILES: &[&str] = &[\n";
    for name in WIDGET_SCRIPTS {
        code += &format!("    {name:?},\n");
    }
    for (tag, _) in catalogs.iter().filter(|(tag, _)| tag != "en") {
        code += &format!("    \"gate-i18n-{tag}.json\",\n");
    }
    code += "];\n";
    Ok(code)
}
