//! Bundles the policy file into the crate: `GATE_POLICY` (a path relative to the crate, set by
//! scripts/build-worker from wrangler.toml's POLICY_FILE) or `policy/gate.toml`. The Worker
//! then needs no file system; the build script validates the file before building.
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
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out).join("policy.toml"), text) {
        println!("cargo:warning=cannot write bundled policy: {e}");
    }
    println!("cargo:rustc-env=GATE_POLICY_PATH={rel}");
}
