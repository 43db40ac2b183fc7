#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine of this kind (rustup stable with only
# the x86_64 target, Node 20, root, registries reachable: Debian apt,
# crates.io, npm) lacks to build and test kvm-debug. Idempotent: each step is
# skipped when what it installs is already there.
#
#  1. wasm32 toolchain: rustup's wasm32-unknown-unknown target if installed,
#     else Debian's rustc-web + cargo-web + rust-web-src (std sources for
#     -Zbuild-std) + lld-22 (wasm-ld-22) from apt.
#  2. cargo install wasm-bindgen-cli 0.2.130 (= the workspace's pinned
#     wasm-bindgen; no --locked: a locked dependency version is gone from the
#     index) and wasm-pack 0.15.1.
#  3. npm ci (only when package-lock.json changed since the last one).
#  4. gdb-multiarch, gdbserver, lldb and chromium from apt: jest drives the GDB server
#     with both real clients and the decoder page in headless Chromium, and the bench
#     sets the server beside gdbserver.
# The arm64 lane (dpkg --add-architecture arm64, ...) sets itself up.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
APT_WASM_PACKAGES=(rustc-web cargo-web rust-web-src lld-22)

say() { printf 'setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

for tool in cargo node npm; do
  command -v "$tool" >/dev/null || { say "$tool is missing: this machine kind should provide it" >&2; exit 1; }
done

# The Node major CI runs (.nvmrc), which package.json's engines names as the minimum.
want_node=$(cat .nvmrc)
have_node=$(node -p 'process.versions.node.split(".")[0]')
if [ "$have_node" -lt "$want_node" ]; then
  say "node $(node --version) is older than $want_node (.nvmrc, package.json engines)" >&2
  exit 1
fi

# 1. wasm32 toolchain.
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup has wasm32-unknown-unknown: no apt packages needed"
else
  missing=()
  for p in "${APT_WASM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "apt-get install ${missing[*]} (Debian rustc-web route for wasm32)"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    say "apt packages present: ${APT_WASM_PACKAGES[*]}"
  fi
fi

# 2. wasm-bindgen-cli and wasm-pack, each only when its version differs.
version_of() { "$1" --version 2>/dev/null | awk '{print $2}'; }
if [ "$(version_of wasm-bindgen)" = "$WASM_BINDGEN_VERSION" ]; then
  say "wasm-bindgen $WASM_BINDGEN_VERSION present"
else
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if [ "$(version_of wasm-pack)" = "$WASM_PACK_VERSION" ]; then
  say "wasm-pack $WASM_PACK_VERSION present"
else
  say "cargo install wasm-pack $WASM_PACK_VERSION"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --force
fi

# 3. npm dependencies, reinstalled only when the lock file changed.
stamp=node_modules/.kvm-debug-setup.sha256
want=$(sha256sum package-lock.json | awk '{print $1}')
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "node_modules up to date with package-lock.json"
else
  say "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
# 4. The real clients the server must satisfy (ts/test/gdb/real-gdb.test.ts,
#    real-lldb.test.ts, the lane's host.sh), GNU gdbserver, the peer of `npm run bench`
#    (bench/gdb-peer.ts), and Chromium, the headless browser of the decoder web
#    page's test (ts/test/web/page.test.ts; puppeteer-core never downloads one).
if command -v gdb-multiarch >/dev/null && command -v gdbserver >/dev/null && [ -x /usr/bin/lldb ] && [ -x /usr/bin/chromium ]; then
  say "gdb-multiarch, gdbserver, lldb and chromium present"
else
  say "apt-get install gdb-multiarch gdbserver lldb chromium"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gdb-multiarch gdbserver lldb chromium
fi
say "done"
