#!/usr/bin/env bash
# Packs kvm-debug for npm the napi-rs way, into $1 (default target/npm):
#   kvm-debug-<version>.tgz                  the TS host (compiled afresh, so no
#                                            leftovers ship), the wasm build, types
#   kvm-debug-linux-<arch>-gnu-<version>.tgz one per addon built in crates/node,
#                                            stripped, with os/cpu/libc from
#                                            `napi create-npm-dirs`
# The main package names every napi target as an optionalDependency, as
# `napi pre-publish` would, so npm installs only the one matching the host.
# Prints each tarball's file count and size. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/npm}")
stage=$out/stage
rm -rf "$out"
mkdir -p "$stage/main"
say() { printf 'pack: %s\n' "$*"; }

version=$(node -p 'require("./package.json").version')
for f in crates/wasm/pkg/kvm_debug_wasm.js crates/wasm/pkg/kvm_debug_wasm_bg.wasm; do
  [ -f "$f" ] || { say "$f missing: run npm run build:wasm" >&2; exit 1; }
done

# 1. The main package: a fresh tsc output without source maps (they would point
#    at ts/src, which does not ship), its ESM entry, the wasm build, the docs.
main=$stage/main
npx --no-install tsc -p tsconfig.build.json --outDir "$main/ts/dist" --sourceMap false
node scripts/esm-entry.js "$main/ts/dist" >/dev/null
mkdir -p "$main/crates/wasm/pkg"
cp crates/wasm/pkg/kvm_debug_wasm.js crates/wasm/pkg/kvm_debug_wasm_bg.wasm \
   crates/wasm/pkg/kvm_debug_wasm.d.ts crates/wasm/pkg/kvm_debug_wasm_bg.wasm.d.ts "$main/crates/wasm/pkg/"
cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$main/"

# 2. One directory per napi target (package.json with os, cpu and libc).
cp package.json "$stage/package.json"
(cd "$stage" && npx --prefix "$OLDPWD" --no-install napi create-npm-dirs --npm-dir platforms >/dev/null 2>&1)

# package.json for the tarball: no scripts or devDependencies (nothing runs on
# install), and the platform packages as optionalDependencies.
node - "$stage" "$main" <<'JS'
const fs = require('fs');
const path = require('path');
const [stage, main] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(path.join(stage, 'package.json'), 'utf8'));
delete pkg.scripts;
delete pkg.devDependencies;
delete pkg.napi;
pkg.optionalDependencies = {};
for (const dir of fs.readdirSync(path.join(stage, 'platforms')).sort()) {
  const p = JSON.parse(fs.readFileSync(path.join(stage, 'platforms', dir, 'package.json'), 'utf8'));
  pkg.optionalDependencies[p.name] = p.version;
}
fs.writeFileSync(path.join(main, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
JS

# strip(1) for each addon architecture; GNU strip handles only its own.
strip_tool() {
  case "$1" in
    linux-x64-gnu) echo strip ;;
    linux-arm64-gnu) echo aarch64-linux-gnu-strip ;;
    *) return 1 ;;
  esac
}

packs=("$main")
for dir in "$stage"/platforms/*/; do
  platform=$(basename "$dir")
  addon=crates/node/kvm-debug.$platform.node
  if [ ! -f "$addon" ]; then
    say "no $addon built here: kvm-debug-$platform not packed"
    continue
  fi
  tool=$(strip_tool "$platform") || { say "no strip tool known for $platform" >&2; exit 1; }
  command -v "$tool" >/dev/null || { say "$tool missing: cannot strip $addon" >&2; exit 1; }
  "$tool" --strip-unneeded -o "$dir/kvm-debug.$platform.node" "$addon"
  cp LICENSE-MIT LICENSE-APACHE "$dir"
  node -e '
    const f = process.argv[1] + "/package.json", p = require(f);
    p.files.push("LICENSE-MIT", "LICENSE-APACHE");
    require("fs").writeFileSync(f, JSON.stringify(p, null, 2) + "\n");
  ' "$dir"
  packs+=("$dir")
done

for p in "${packs[@]}"; do
  json=$(cd "$p" && npm pack --json --pack-destination "$out" 2>/dev/null)
  node -e '
    const [r] = JSON.parse(process.argv[1]);
    console.log(`pack: ${r.filename}: ${r.entryCount} files, ${(r.size / 1024).toFixed(1)} KiB packed, ${(r.unpackedSize / 1024).toFixed(1)} KiB unpacked`);
  ' "$json"
done
