#!/usr/bin/env bash
# `npm run bench` (root) / `npm run bench` (bench/): builds what the bench
# needs, then runs it: bench.js (decoder), then gdb-peer.js (GDB server vs gdbserver).
# Extra arguments go to both (--quick: short runs).
#  - native addon and wasm package: the project's own build scripts;
#  - the host (ts/dist): the root build:ts;
#  - the Rust loop: bench/rust with the workspace's rustup toolchain, --release,
#    in target/bench (its own target dir);
#  - the bench itself: tsc into bench/dist.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -d bench/node_modules ] || (cd bench && npm ci --no-audit --no-fund)
bash scripts/build-native.sh >/dev/null
bash scripts/build-wasm.sh >/dev/null 2>&1 || { echo "bench: wasm build failed; rerun scripts/build-wasm.sh to see why" >&2; exit 1; }
npm run --silent build:ts
CARGO_TARGET_DIR="$PWD/target/bench" cargo build --quiet --release \
  -p kvm-debug-bench --bin kvm-debug-bench
(cd bench && node ../node_modules/typescript/bin/tsc -p tsconfig.json)
node bench/dist/bench.js "$@"
exec node bench/dist/gdb-peer.js "$@"
