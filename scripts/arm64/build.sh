#!/bin/bash
# scripts/arm64/build.sh - everything the emulated arm64 lane puts into its initramfs.
#
#   addon   crates/node as an aarch64 cdylib -> crates/node/kvm-debug.linux-arm64-gnu.node
#   rust    kvm-debug's test binaries (cargo test --no-run) and bench/rust's bins
#   guests  guests/*.S -> $LANE_OUT/guests/{NAME.elf,NAME.bin,NAME.sym.json}
#   ts      tsc of ts/test/arm64 -> $LANE_OUT/js (CommonJS, ES2020), and `npm run build:ts` (ts/dist)
#
# Usage: build.sh [addon] [rust] [guests] [ts]   (no argument: all of them)
# Cross compiler: Debian's rustc-web (/usr/bin/rustc, not rustup's, which has no aarch64 std)
# with a sysroot of the host rustlib + libstd-rust-web-dev:arm64 (setup.sh). Binaries link
# dynamically against glibc: the initramfs carries libc6:arm64 for node anyway.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PARTS=${*:-addon rust guests ts}
# LANE_SRC: build the Rust crates from another checkout (e.g. a `git archive` of HEAD)
SRC=${LANE_SRC:-$ROOT}
mkdir -p "$LANE_OUT"

SR=$(sysroot_dir)
[ -d "$SR/lib/rustlib/$TRIPLE" ] || die "no arm64 sysroot at $SR: run scripts/arm64/setup.sh"

cross_cargo() {
	env -u RUSTUP_TOOLCHAIN -u RUSTFLAGS -u CARGO_BUILD_TARGET \
		PATH="/usr/bin:$PATH" \
		RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
		CARGO_TARGET_DIR="$AARCH64_TARGET_DIR" \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="--sysroot=$SR" \
		/usr/bin/cargo "$@" --target "$TRIPLE"
}

build_addon() {
	(cd "$SRC" && cross_cargo build --release -p kvm-debug-node --lib)
	local so="$AARCH64_TARGET_DIR/$TRIPLE/release/libkvm_debug_node.so"
	[ -f "$so" ] || die "addon not built: $so"
	install -m 0644 "$so" "$ROOT/crates/node/kvm-debug.linux-arm64-gnu.node"
	log "addon: crates/node/kvm-debug.linux-arm64-gnu.node ($(stat -c %s "$so") bytes)"
}

# Cargo's JSON messages -> the executables of test (or bin) artifacts, one per line.
executables() { # kind: test|bin
	node -e '
		const kind = process.argv[1];
		let buf = "";
		process.stdin.on("data", (d) => (buf += d)).on("end", () => {
			for (const line of buf.split("\n")) {
				if (!line.startsWith("{")) continue;
				const m = JSON.parse(line);
				if (m.reason !== "compiler-artifact" || !m.executable) continue;
				if (kind === "test" ? m.profile.test : m.target.kind.includes("bin")) console.log(m.executable);
			}
		});' "$1"
}

build_rust() {
	local dir="$LANE_OUT/rust" list exe
	rm -rf "$dir"; mkdir -p "$dir/tests" "$dir/bench"
	list=$(cd "$SRC" && cross_cargo test --no-run -p kvm-debug --message-format=json | executables test)
	[ -n "$list" ] || die "cargo test --no-run -p kvm-debug listed no test binary"
	for exe in $list; do
		# keep cargo's file name (crate-hash); the lane reports per binary
		cp "$exe" "$dir/tests/"
		log "rust test binary: $(basename "$exe")"
	done
	list=$(cd "$SRC" && cross_cargo build --release -p kvm-debug-bench --bins --message-format=json | executables bin)
	for exe in $list; do
		# only the run-loop bench belongs in the emulated machine (the decode benches
		# would take minutes under TCG and measure nothing about KVM)
		case $(basename "$exe") in exit_loop* | exit-loop*) ;; *) continue ;; esac
		cp "$exe" "$dir/bench/"
		log "bench binary: $(basename "$exe")"
	done
}

build_guests() {
	"$ROOT/guests/build.sh" "$LANE_OUT/guests"
}

build_ts() {
	local tsc="$ROOT/node_modules/.bin/tsc"
	if [ ! -x "$tsc" ]; then
		log "ts: no node_modules yet: npm ci"
		(cd "$ROOT" && npm ci --no-audit --no-fund) >&2
	fi
	[ -x "$tsc" ] || die "no $tsc after npm ci"
	rm -rf "$LANE_OUT/js"
	"$tsc" -p "$ROOT/ts/test/arm64/tsconfig.json" --outDir "$LANE_OUT/js"
	# the host package itself (ts/dist: CLI, GDB server), for the gdb test and Session cases
	(cd "$ROOT" && npm run -s build:ts)
	log "ts: $(find "$LANE_OUT/js" -name '*.js' | wc -l) JS files in $LANE_OUT/js"
}

for p in $PARTS; do
	case $p in
	addon) step "build: addon (aarch64 cdylib)" build_addon ;;
	rust) step "build: rust tests + bench (aarch64)" build_rust ;;
	guests) step "build: guests" build_guests ;;
	ts) step "build: ts (tsc)" build_ts ;;
	*) die "unknown part: $p (addon rust guests ts)" ;;
	esac
done
if [ "${LANE_QUIET_TIMES:-}" != 1 ]; then printf '%s\n' "${LANE_TIMES[@]}" >&2; fi
