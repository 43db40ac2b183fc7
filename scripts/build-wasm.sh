#!/usr/bin/env bash
# Builds crates/wasm into crates/wasm/pkg (wasm-pack, --target nodejs), and the
# same .wasm's browser glue into web/dist/pkg (wasm-bindgen --target web) for the
# decoder web page (scripts/build-web.sh).
#
# Toolchain choice:
#  * rustup with the wasm32-unknown-unknown target installed: plain wasm-pack.
#  * otherwise Debian's rustc-web (/usr/bin/rustc) has no prebuilt wasm32 std,
#    so std is rebuilt from rust-web-src with -Zbuild-std (RUSTC_BOOTSTRAP=1
#    unlocks the nightly flag on a stable compiler) and linked with wasm-ld-22.
#    It gets its own CARGO_TARGET_DIR so the two compilers never thrash.
# wasm-pack must find wasm-bindgen-cli 0.2.130 (= the pinned crate) on PATH,
# so it never downloads one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

want_bindgen=0.2.130
have_bindgen=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
if [ "$have_bindgen" != "$want_bindgen" ]; then
  echo "build-wasm: wasm-bindgen-cli $want_bindgen required, found '${have_bindgen:-none}'; run scripts/setup.sh" >&2
  exit 1
fi

out=(--target nodejs --release --out-name kvm_debug_wasm)
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "build-wasm: rustup has wasm32-unknown-unknown: plain wasm-pack"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_WASM:-$PWD/target/wasm}"
  wasm-pack build crates/wasm "${out[@]}"
else
  echo "build-wasm: no rustup wasm32 target: Debian rustc-web + -Zbuild-std + wasm-ld-22"
  command -v wasm-ld-22 >/dev/null || { echo "build-wasm: wasm-ld-22 missing; run scripts/setup.sh" >&2; exit 1; }
  # ~/.cargo/bin stays on PATH for wasm-bindgen, but cargo/rustc come from /usr/bin.
  export PATH="/usr/bin:$PATH"
  export RUSTC=/usr/bin/rustc
  unset RUSTUP_TOOLCHAIN  # never let a rustup proxy pick another compiler
  export RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_WEB:-$PWD/target/web}"
  # --mode force: wasm-pack 0.15.1 otherwise insists on rustup's sysroot.
  wasm-pack build crates/wasm --mode force "${out[@]}" \
    -- -Zbuild-std=std,panic_abort
fi
ls -l crates/wasm/pkg/*.wasm

# The web page's build of the same module: wasm-bindgen's browser glue (an ES
# module whose default export fetches and instantiates the .wasm).
wasm-bindgen --target web --out-dir web/dist/pkg --out-name kvm_debug_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/kvm_debug_wasm.wasm"
ls -l web/dist/pkg/*.wasm
