# shellcheck shell=bash
# Shared environment and helpers for the project scripts. Source it; it installs nothing
# (scripts/setup does). It puts node_modules/.bin and cargo's bin on PATH, keeps wrangler and
# worker-build off the network (no telemetry, no downloads of tools this machine already has),
# reads the pinned tool versions, and says how this machine builds for wasm32 (wasm_route,
# with_wasm_env, worker_target_dir).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$ROOT/node_modules/.bin:$CARGO_BIN:$PATH"

# No telemetry, no request.cf sample download (the machines have no general internet).
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
# worker-build downloads these from GitHub unless told where they are.
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
if [ -x "$CARGO_BIN/wasm-bindgen" ]; then export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"; fi

WORKER_BUILD_VERSION=0.8.7
# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Which way this machine gets a wasm32 standard library: "rustup" (prebuilt target),
# "debian" (Debian's rustc-web toolchain with -Z build-std), or "none" yet.
wasm_route() {
  local libdir
  libdir=$(rustc --target wasm32-unknown-unknown --print target-libdir 2>/dev/null || true)
  if [ -n "$libdir" ] && compgen -G "$libdir/libcore-*.rlib" >/dev/null; then
    echo rustup
  elif rustup toolchain list 2>/dev/null | grep -q '^debian-web'; then
    echo debian
  else
    echo none
  fi
}

# Runs a command with the environment its Wasm build needs on this machine's route.
# (Scoped to Wasm builds: set for native builds, build-std would rebuild std for the host.)
with_wasm_env() {
  if [ "$(wasm_route)" = debian ]; then
    RUSTUP_TOOLCHAIN=debian-web RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
      CARGO_TARGET_DIR="$ROOT/target-debian" "$@"
  else
    "$@"
  fi
}

# The Worker's wasm32 build: Wasm SIMD on (the verifier's multi-buffer SHA-256), its own target dir.
WORKER_RUSTFLAGS="-C target-feature=+simd128"
worker_target_dir() {
  if [ "$(wasm_route)" = debian ]; then echo "$ROOT/target-debian/worker"; else echo "$ROOT/target/worker"; fi
}

# Root or sudo for apt.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"
  fi
}
