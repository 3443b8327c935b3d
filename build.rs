//! Bundles the policy file into the crate: `GATE_POLICY` (a path relative to the crate, set by
//! scripts/build-worker from wrangler.toml's POLICY_FILE) or `policy/gate.toml`. The Worker
//! then needs no file system. The TOML is handed over as JSON, so the Worker carries no TOML
//! parser; scripts/build-worker has already validated the file (`gate policy check`), and the
//! fingerprint is taken over the TOML text, so stats show what `gate policy check` printed.
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
}
