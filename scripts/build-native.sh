#!/usr/bin/env bash
# Builds the napi-rs addon crates/node into crates/node/kvm-debug.<platform>.node
# (e.g. kvm-debug.linux-x64-gnu.node) with @napi-rs/cli. Extra arguments go to
# `napi build`, e.g. `--target aarch64-unknown-linux-gnu` for the arm64 lane.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_NATIVE:-$PWD/target/native}"
# The generated .d.ts is not used (ts/src/binding.ts declares the API). napi
# resolves --dts against --output-dir, so it is a plain name, ignored by git.
npx --no-install napi build --platform --release \
  --manifest-path crates/node/Cargo.toml \
  --package-json-path package.json \
  --output-dir crates/node \
  --no-js \
  --dts napi-index.d.ts \
  "$@"
ls -l crates/node/*.node
