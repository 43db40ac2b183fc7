#!/usr/bin/env bash
# `npm start`, the main job: show the debugger working end to end on this machine.
#
# - Builds everything (setup is idempotent), then decodes the five syndromes that
#   real KVM/arm64 reported in the lab.
# - Host is arm64 with a usable /dev/kvm: runs the demo guest under
#   `kvm-debug run --gdb 127.0.0.1:1234 --wait` and tells you how to attach gdb.
# - Otherwise (e.g. this x86_64 machine): boots the emulated arm64 machine
#   (qemu-system-aarch64 -M virt,virtualization=on; its /dev/kvm is real KVM/arm64),
#   runs the same CLI inside, and drives it from the host with a real gdb-multiarch:
#   break, continue, stepi, info registers, x/4i, hbreak, watch, delete, detach on a
#   bare-metal guest; then Debian's own arm64 kernel under `run --kernel --wait`, debugged
#   by name with symbols recovered from its Image (`kvm-debug symbols`): hbreak
#   start_kernel, break do_sys_openat2, registers, bt, 100 stepi, detach to poweroff, and
#   the kernel's own kprobe, uprobe and BRK firing while gdb's breakpoints are armed.
#   The gdb transcripts are printed with `[gdb]` and `[gdb-linux]` prefixes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n== %s\n' "$*"; }

say "set-up and build"
bash scripts/setup.sh
npm run --silent build

say "decode: the syndromes real KVM/arm64 reported (see shared lab results)"
node ts/dist/cli.js decode 0xf2000000 0xf2000123 0xcb000022 0xca000022 0xc2000022 |
	grep '^EC '

say "capabilities of this host"
node ts/dist/cli.js caps || true

if [ "$(uname -m)" = aarch64 ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	bash scripts/arm64/build.sh guests >/dev/null
	elf=target/aarch64/lane/guests/demo.elf
	say "arm64 host with KVM: serving $elf to gdb on 127.0.0.1:1234"
	echo "attach with: gdb-multiarch -ex 'set architecture aarch64' -ex 'file $elf' -ex 'target remote 127.0.0.1:1234'"
	exec node ts/dist/cli.js run "$elf" --gdb 127.0.0.1:1234 --wait
fi

say "no arm64 KVM here ($(uname -m)): booting the emulated arm64 machine, real gdb against real KVM/arm64 inside (a bare-metal guest, then a Linux kernel)"
LANE_ONLY=gdb bash scripts/arm64/lane.sh
