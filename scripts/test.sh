#!/usr/bin/env bash
# `npm test`: set-up, both builds, the Rust checks and tests, and jest on both
# backends; then the arm64 lane when package.json defines `test:arm64`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "build: native addon (napi-rs)"
bash scripts/build-native.sh
step "build: wasm (wasm-pack)"
bash scripts/build-wasm.sh
step "build: the decoder web page (web/dist)"
bash scripts/build-web.sh
step "build: TypeScript (tsc)"
npm run --silent build:ts
npx --no-install tsc -p tsconfig.test.json
step "import cycles in ts/src (madge): layers point one way"
npm run --silent lint:cycles

# Host Rust checks use rustup's toolchain and their own target dir.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_HOST:-$PWD/target/host}"
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy -D warnings (every crate; tests of the default members)"
# The bindings' library targets only: napi-rs registers exports outside
# cfg(test), so their test builds see every export as dead code.
cargo clippy --release --workspace -- -D warnings
cargo clippy --release --all-targets -- -D warnings
step "cargo test --release (default members)"
cargo test --release

# Every suite runs with each backend as the default; suites that compare the
# two builds load both explicitly either way.
for backend in native wasm; do
  step "jest (KVM_DEBUG_BACKEND=$backend)"
  KVM_DEBUG_BACKEND=$backend npx --no-install jest --ci --testPathIgnorePatterns /ts/test/package/
done
# Once: it installs the packed tarballs both ways (native package present and
# absent), whatever the default backend.
step "pack and install the npm packages (ts/test/package)"
npx --no-install jest --ci ts/test/package

if node -e 'process.exit(require("./package.json").scripts?.["test:arm64"] ? 0 : 1)'; then
  step "arm64 lane (npm run test:arm64)"
  npm run test:arm64
else
  step "arm64 lane: no test:arm64 script in package.json, nothing to run"
fi
step "all tests passed"
