#!/usr/bin/env bash
# Builds the decoder web page into web/dist: web/app.ts and the CLI's value and
# text parsing (ts/src/syndrome-text.ts) as ES modules, and the static files.
# The wasm (web/dist/pkg) comes from scripts/build-wasm.sh. Static: any file
# server can serve web/dist (`npm run web` is one).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f web/dist/pkg/kvm_debug_wasm_bg.wasm ] || { echo "build-web: web/dist/pkg missing: run npm run build:wasm" >&2; exit 1; }
npx --no-install tsc -p web/tsconfig.json
cp web/index.html web/style.css web/sw.js web/dist/
echo "build-web: web/dist ($(find web/dist -type f | wc -l) files)"
