#!/bin/bash
# scripts/arm64/gdb/host.sh LOG PORT [PID] - on the host, while qemu runs: wait for the guest's
# LANE-GDB-READY, drive the kvm-debug GDB server with a real gdb-multiarch through the
# forwarded PORT, check its output, and print `GDB-TEST: N passed, N failed` (lane.sh counts
# it) into $LANE_OUT/logs/gdb.log. Waits for LANE-GDB-END (the guest ran to its end).
# Then the bench session against the CLI's second run (spin guest, see serve.sh): STEPS stepi
# timed against the guest's raw steps, and a 1 MiB read (dump binary memory), printed as
# `BENCH: gdb-...` lines; its mechanism (gdb's status, the steps, the dumped bytes) is checked.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
LOG=$1 PORT=$2 CONSOLE_PID=${3:-}  # the console logger: gone = the guest is gone
OUT="$LANE_OUT/logs/gdb.log"
ELF="$LANE_OUT/guests/demo.elf"
SYMS="$LANE_OUT/guests/demo.sym.json"
: >"$OUT"
say() { echo "$*" | tee -a "$OUT"; }
wait_for() { # pattern seconds
	local i=0
	while [ $i -lt $(($2 * 5)) ]; do
		grep -q "$1" "$LOG" 2>/dev/null && return 0
		grep -q 'LANE-DONE' "$LOG" 2>/dev/null && return 1
		if [ -n "$CONSOLE_PID" ] && ! kill -0 "$CONSOLE_PID" 2>/dev/null; then
			grep -q "$1" "$LOG" 2>/dev/null
			return
		fi
		sleep 0.2; i=$((i + 1))
	done
	return 1
}
if ! wait_for LANE-GDB-READY "${GDB_READY_TIMEOUT:-900}"; then
	say "GDB-TEST: 0 passed, 1 failed (the guest never printed LANE-GDB-READY)"
	exit 1
fi
sym() { node -e 'console.log(require(process.argv[1])[process.argv[2]])' "$SYMS" "$1"; }
SQUARE=$(sym square); ADD=$(sym add); RESULT=$(sym result)

# One gdb session: every command of the issue, against the guest on real KVM/arm64.
timeout 300 gdb-multiarch -nx -batch \
	-ex 'set pagination off' -ex 'set confirm off' -ex 'set remotetimeout 60' \
	-ex 'set architecture aarch64' -ex "file $ELF" \
	-ex "target remote 127.0.0.1:$PORT" \
	-ex 'break square' \
	-ex 'continue' \
	-ex 'echo GDBCHK pc-at-break\n' -ex 'p/x $pc' \
	-ex 'stepi' \
	-ex 'echo GDBCHK pc-after-stepi\n' -ex 'p/x $pc' \
	-ex 'info registers x0 pc cpsr' \
	-ex 'x/4i $pc' \
	-ex 'delete' \
	-ex 'hbreak add' \
	-ex 'continue' \
	-ex 'echo GDBCHK pc-at-hbreak\n' -ex 'p/x $pc' \
	-ex 'delete' \
	-ex "watch *(long *)$RESULT" \
	-ex 'continue' \
	-ex 'echo GDBCHK after-watch\n' -ex "p/d *(long *)$RESULT" \
	-ex 'delete' \
	-ex "set debug remote ${LANE_GDB_DEBUG:-0}" \
	-ex 'detach' \
	>"$LANE_OUT/logs/gdb-session.log" 2>&1
GRC=$?
sed 's/^/[gdb] /' "$LANE_OUT/logs/gdb-session.log" | tee -a "$OUT"

pass=0 fail=0
check() { # name regex (on the session log)
	if grep -Eq "$2" "$LANE_OUT/logs/gdb-session.log"; then say "GDB PASS $1"; pass=$((pass + 1))
	else say "GDB FAIL $1 (no /$2/)"; fail=$((fail + 1)); fi
}
hexre() { printf '0x0*%x' "$1"; }
check "target remote"            '^0x0*40000000 in _start \(\)$'
check "break + continue stops"   "Breakpoint 1, $(hexre "$SQUARE") in square|Breakpoint 1, square"
check "pc at the breakpoint"     "^\\\$1 = $(hexre "$SQUARE")\$"
check "stepi advances by 4"      "^\\\$2 = $(hexre $((SQUARE + 4)))\$"
check "info registers"           '^x0 +0x1 '
check "x/4i disassembles"        'mul +x0, x0, x0|ret'
check "hbreak is hardware"       '^Hardware assisted breakpoint [0-9]+ at '
check "hbreak + continue stops"  "^\\\$3 = $(hexre "$ADD")\$"
check "watch is hardware"        '^Hardware watchpoint [0-9]+: \*\(long \*\)'
check "watch fires (old value)"  '^Old value = 0$'
check "watch new value 385"      '^New value = 385$'
check "detach"                   'Detaching from program|Inferior 1 .* detached'
[ $GRC = 0 ] || { say "GDB FAIL gdb-multiarch exit status $GRC"; fail=$((fail + 1)); }
if wait_for LANE-GDB-END 300 && grep -q 'CLI: exit status 0' "$LOG" && grep -q '^\[guest[^]]*\] CLI: 385' "$LOG"; then
	say "GDB PASS guest ran to its end after detach (printed 385)"; pass=$((pass + 1))
else
	say "GDB FAIL guest did not run to its end after detach (want "CLI: 385" and "CLI: exit status 0")"; fail=$((fail + 1))
fi

# ---- bench: stepi round trips and a 1 MiB read, on the spin guest (second CLI run)
STEPS=200                 # serve.sh BENCH_STEPS: the raw figure is for the same count
RAM_BASE=0x40000000       # ts/src/vmm/memory-map.ts RAM_BASE; the CLI's default 64 MiB are mapped there
READ_BYTES=$((1 << 20))   # 1 MiB, inside the default --mem 64
SPIN_BIN="$LANE_OUT/guests/spin.bin"
DUMP="$LANE_OUT/logs/gdb-bench-1MiB.bin"
BLOG="$LANE_OUT/logs/gdb-bench.log"
CMDS="$LANE_OUT/logs/gdb-bench.gdb"
rm -f "$DUMP"
if wait_for LANE-GDB-BENCH-READY 300; then
	# A command file: gdb -ex cannot hold a while loop. `shell date` stamps the host clock.
	cat >"$CMDS" <<-EOF
		set pagination off
		set confirm off
		set remotetimeout 60
		set architecture aarch64
		target remote 127.0.0.1:$PORT
		echo GDBBENCH packet-probe\n
		set debug remote 1
		x/4xb $RAM_BASE
		set debug remote 0
		shell date +%s%N
		set \$i = 0
		while \$i < $STEPS
		  stepi
		  set \$i = \$i + 1
		end
		shell date +%s%N
		echo GDBBENCH steps-done\n
		p \$i
		shell date +%s%N
		dump binary memory $DUMP $RAM_BASE $(printf '0x%x' $((RAM_BASE + READ_BYTES)))
		shell date +%s%N
		echo GDBBENCH read-done\n
		kill
	EOF
	timeout 600 gdb-multiarch -nx -batch -x "$CMDS" >"$BLOG" 2>&1
	BRC=$?
	# gdb prints a line per stepi; show the head and tail, not all of them
	{ head -20 "$BLOG"; echo "..."; tail -8 "$BLOG"; } | sed 's/^/[gdb-bench] /' | tee -a "$OUT" >/dev/null
	mapfile -t T < <(grep -E '^[0-9]{18,}$' "$BLOG")
	# which packet gdb read memory with: the first m/x it sent during the short read
	PKT=$(grep -oE 'Sending packet: \$[mx][0-9a-f]+,' "$BLOG" | head -1 | sed -E 's/.*\$(.).*/\1/')
	RAW=$(grep -E 'BENCH: raw-step: [0-9.]+ ms/step' "$LOG" | tail -1 | sed -E 's/.*raw-step: ([0-9.]+) ms\/step.*/\1/')
	if [ ${#T[@]} = 4 ]; then
		STEP_MS=$(echo "${T[0]} ${T[1]} $STEPS" | awk '{printf "%.3f", ($2 - $1) / 1e6 / $3}')
		MBS=$(echo "${T[2]} ${T[3]} $READ_BYTES" | awk '{printf "%.2f", $3 / 1048576 / (($2 - $1) / 1e9)}')
		RATIO=n/a
		[ -n "$RAW" ] && RATIO=$(echo "$STEP_MS $RAW" | awk '$2 > 0 {printf "%.0fx", $1 / $2}')
		say "BENCH: gdb-stepi: $STEP_MS ms/step over $STEPS stepi through gdb-multiarch (raw ${RAW:-n/a} ms/step, ratio ${RATIO:-n/a})"
		say "BENCH: gdb-read-1MiB: $MBS MB/s via ${PKT:-?} (dump binary memory $RAM_BASE +1 MiB)"
	else
		say "BENCH: gdb: no figures (want 4 timestamps, got ${#T[@]}; see $BLOG)"
	fi
	check_b() { # name condition-result
		if [ "$2" = 0 ]; then say "GDB PASS bench: $1"; pass=$((pass + 1))
		else say "GDB FAIL bench: $1"; fail=$((fail + 1)); fi
	}
	check_b "gdb-multiarch exit status 0 (got $BRC)" "$([ $BRC = 0 ]; echo $?)"
	check_b "$STEPS stepi ran" "$(grep -Eq "^\\\$[0-9]+ = $STEPS\$" "$BLOG"; echo $?)"
	check_b "memory read used m or x (got ${PKT:-none})" "$([ -n "$PKT" ]; echo $?)"
	check_b "1 MiB dumped, starting with spin.bin" \
		"$([ "$(stat -c %s "$DUMP" 2>/dev/null)" = $READ_BYTES ] && cmp -s -n "$(stat -c %s "$SPIN_BIN")" "$DUMP" "$SPIN_BIN"; echo $?)"
	wait_for LANE-GDB-BENCH-END 60 || say "GDB NOTE bench: the CLI did not end after kill"
else
	say "GDB FAIL bench: the guest never printed LANE-GDB-BENCH-READY"; fail=$((fail + 1))
fi
say "GDB-TEST: $pass passed, $fail failed"
