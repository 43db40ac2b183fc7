#!/bin/bash
# guests/build.sh - assemble the test guests into ELF + raw images + symbol maps.
#   guests/build.sh [OUT_DIR]      (default: <repo>/target/guests)
# For each guests/NAME.S: NAME.elf (linked at RAM_BASE by link.ld), NAME.bin (the loadable
# bytes, to be placed at RAM_BASE) and NAME.sym.json ({"symbol": "0x4000...", ...}: global
# and local labels, as hex strings for BigInt()). Needs binutils-aarch64-linux-gnu only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../target/guests}
CROSS=${CROSS:-aarch64-linux-gnu-}
mkdir -p "$OUT"
for src in "$HERE"/*.S; do
	name=$(basename "$src" .S)
	obj="$OUT/$name.o"
	# make-style: skip when the outputs are newer than every input
	if [ -f "$OUT/$name.sym.json" ] && [ "$OUT/$name.sym.json" -nt "$src" ] &&
		[ "$OUT/$name.sym.json" -nt "$HERE/common.inc" ] && [ "$OUT/$name.sym.json" -nt "$HERE/link.ld" ] &&
		[ "$OUT/$name.sym.json" -nt "$0" ]; then
		continue
	fi
	"${CROSS}as" -I "$HERE" -o "$obj" "$src"
	"${CROSS}ld" -T "$HERE/link.ld" -nostdlib -static --no-warn-rwx-segments -o "$OUT/$name.elf" "$obj"
	"${CROSS}objcopy" -O binary --only-section=.text --only-section=.rodata "$OUT/$name.elf" "$OUT/$name.bin"
	"${CROSS}nm" "$OUT/$name.elf" |
		awk 'BEGIN { printf "{"; n = 0 }
		     $2 ~ /^[TtBbRrDdA]$/ && $3 !~ /^\$/ { printf "%s\n  \"%s\": \"0x%s\"", (n++ ? "," : ""), $3, $1 }
		     END { print "\n}" }' >"$OUT/$name.sym.json"
	rm -f "$obj"
	echo "guest $name: $(stat -c %s "$OUT/$name.bin") bytes"
done
