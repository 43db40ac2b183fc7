#!/bin/bash
# scripts/arm64/gdb/host.sh LOG PORT [PID] - on the host, while qemu runs: wait for the guest's
# LANE-GDB-READY, drive the kvm-debug GDB server with a real gdb-multiarch through the
# forwarded PORT, check its output, and print `GDB-TEST: N passed, N failed` (lane.sh counts
# it) into $LANE_OUT/logs/gdb.log. Waits for LANE-GDB-END (the guest ran to its end).
# Then real lldb against the CLI's second run (the same guest), by symbol: the second client.
# Then the bench session against the CLI's third run (spin guest, see serve.sh): STEPS stepi
# timed against the guest's raw steps, and a 1 MiB read (dump binary memory), printed as
# `BENCH: gdb-...` lines; its mechanism (gdb's status, the steps, the dumped bytes) is checked.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
LOG=$1 PORT=$2 CONSOLE_PID=${3:-}  # the console logger: gone = the guest is gone
OUT="$LANE_OUT/logs/gdb.log"
ELF="$LANE_OUT/guests/demo.elf"
SYMS="$LANE_OUT/guests/demo.sym.json"
: >"$OUT"
# The settings every gdb session here starts with (`-x` or `source` it): no pager or prompts,
# a timeout that survives a slow TCG host, and the target's architecture before connecting.
GDB_SETUP="$LANE_OUT/logs/gdb-setup.gdb"
printf '%s\n' 'set pagination off' 'set confirm off' 'set remotetimeout 60' 'set architecture aarch64' >"$GDB_SETUP"
say() { echo "$*" | tee -a "$OUT"; }
# The timed 100 stepi both Linux sessions run (ours and QEMU's), so the two figures measure the
# same commands: a host-clock stamp either side, the pc after each step for the IRQ-path check.
GDB_STEPI100="$LANE_OUT/logs/gdb-stepi100.gdb"
cat >"$GDB_STEPI100" <<'EOF'
set $i = 0
shell date +%s%N
while $i < 100
  stepi
  printf "GDBPC %lx\n", $pc
  set $i = $i + 1
end
shell date +%s%N
EOF
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
	-x "$GDB_SETUP" -ex "file $ELF" \
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
# figures LOG: from its 10 `shell date` stamps (connect, continue to start_kernel, 1 MiB read,
# continue to openat, 100 stepi): "connect-ms start-s read-MiB/s openat-s stepi-ms".
figures() {
	grep -E '^[0-9]{18,}$' "$1" | awk '{ t[NR] = $1 } END {
		if (NR != 10) exit
		printf "%.0f %.2f %.2f %.2f %.1f\n", (t[2]-t[1])/1e6, (t[4]-t[3])/1e9, 1/((t[6]-t[5])/1e9), (t[8]-t[7])/1e9, (t[10]-t[9])/1e6/100 }'
}
describe() { [ $# = 5 ] && echo "target remote $1 ms, --wait -> start_kernel $2 s, 1 MiB kernel text read $3 MiB/s, break + continue -> first do_sys_openat2 $4 s, stepi $5 ms/step" || echo "no figures"; }
ratio() { echo "$1 $2" | awk '$2 > 0 { printf "%.2f", $1 / $2 }'; }
median() { printf '%s\n' "$@" | grep -E '^[0-9]+(\.[0-9]+)?$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
# One round (serve.sh): wait for session MARK, time gdb's `target remote` to it (stopped at the
# kernel's entry under --wait or -S), then ROUND_STEPS stepi from start_kernel (an hbreak: QEMU's
# software breakpoints fail before the MMU is on), and kill it. Prints `connect-ms stepi-ms`, or
# `- -` when a stop was not where it should be.
CONNECT_ROUNDS=5 # serve.sh CONNECT_ROUNDS
ROUND_STEPS=20
round_figures() { # MARK NAME
	local rlog="$LANE_OUT/logs/gdb-round-$2-${1##*-}.log"
	wait_for "LANE-GDB-$1-READY" 300 || { echo - -; return; }
	cat >"$rlog.gdb" <<-EOF
		source $GDB_SETUP
		symbol-file $KSYM
		shell date +%s%N
		target remote 127.0.0.1:$PORT
		shell date +%s%N
		echo GDBROUND entry\n
		p/x \$pc
		hbreak start_kernel
		continue
		delete
		echo GDBROUND start\n
		p/x \$pc
		set \$i = 0
		shell date +%s%N
		while \$i < $ROUND_STEPS
		  stepi
		  set \$i = \$i + 1
		end
		shell date +%s%N
		kill
	EOF
	timeout 120 gdb-multiarch -nx -batch -x "$rlog.gdb" >"$rlog" 2>&1
	wait_for "LANE-GDB-$1-END" 120
	awk -v start="$START" -v n="$ROUND_STEPS" '/^[0-9]+$/ && length($1) >= 18 { t[++k] = $1 }
		/^GDBROUND / { at = $2; next } at && /^\$[0-9]+ = 0x/ { pc[at] = $3; at = "" }
		END { if (k == 4 && pc["entry"] "" == "0x40000000" && pc["start"] "" == start "") printf "%.0f %.1f\n", (t[2] - t[1]) / 1e6, (t[4] - t[3]) / 1e6 / n; else print "- -" }' "$rlog"
}
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

# ---- LLDB, the second client: the same demo guest (second CLI run), by symbols from the ELF
LLOG_L="$LANE_OUT/logs/lldb-session.log"
if wait_for LANE-GDB-LLDB-READY 300; then
	# auto-confirm: deleting every breakpoint asks first, and a batch run has nobody to answer.
	timeout 300 lldb --no-lldbinit --batch -O 'settings set auto-confirm true' \
		-o "target create $ELF" \
		-o "gdb-remote 127.0.0.1:$PORT" \
		-o 'register read pc' \
		-o 'breakpoint set -n square' \
		-o 'continue' \
		-o 'register read x0' \
		-o 'stepi' \
		-o 'register read pc' \
		-o 'breakpoint delete' \
		-o 'breakpoint set -H -n add' \
		-o 'continue' \
		-o 'breakpoint delete' \
		-o "watchpoint set expression -w write -s 8 -- $RESULT" \
		-o 'continue' \
		-o 'watchpoint delete' \
		-o "memory read -s8 -fd -c1 $RESULT" \
		-o 'detach' \
		</dev/null >"$LLOG_L" 2>&1
	LLRC=$?
	sed 's/^/[lldb] /' "$LLOG_L" | tee -a "$OUT" >/dev/null
	check_x() { # name regex (on the lldb log as one string, so [[:space:]] spans lines)
		if grep -Ezq "$2" "$LLOG_L"; then say "GDB PASS lldb: $1"; pass=$((pass + 1))
		else say "GDB FAIL lldb: $1 (no /$2/)"; fail=$((fail + 1)); fi
	}
	check_x "gdb-remote stops at _start (--wait)" 'stop reason = signal SIGTRAP[[:space:]]+frame #0: 0x0*40000000 demo.elf`_start'
	check_x "break by name + continue stops in square" 'stop reason = breakpoint 1\.1[[:space:]]+frame #0: 0x[0-9a-f]+ demo.elf`square'
	check_x "register read x0 at square (i = 1)" 'x0 = 0x0000000000000001'
	check_x "stepi advances by 4" "pc = 0x0*$(printf '%x' $((SQUARE + 4))) +demo.elf\`square \+ 4"
	check_x "hardware breakpoint by name stops in add" 'stop reason = breakpoint 2\.1[[:space:]]+frame #0: 0x[0-9a-f]+ demo.elf`add'
	check_x "watchpoint fires: old 0, new 385 (stepped over the store)" 'Watchpoint 1 hit:[[:space:]]+old value: 0[[:space:]]+new value: 385'
	check_x "memory read of result" "$(printf '0x%x' "$RESULT"): 385"
	check_x "detach" 'Process 1 detached'
	[ $LLRC = 0 ] || { say "GDB FAIL lldb exit status $LLRC"; fail=$((fail + 1)); }
	if wait_for LANE-GDB-LLDB-END 300 && grep -q 'CLI-LLDB: 385' "$LOG" && grep -q 'CLI-LLDB: exit status 0' "$LOG"; then
		say "GDB PASS lldb: guest ran to its end after detach (printed 385)"; pass=$((pass + 1))
	else
		say "GDB FAIL lldb: guest did not run to its end after detach (want \"CLI-LLDB: 385\" and \"CLI-LLDB: exit status 0\")"; fail=$((fail + 1))
	fi
else
	say "GDB FAIL lldb: the guest never printed LANE-GDB-LLDB-READY"; fail=$((fail + 1))
fi

# ---- bench: stepi round trips and a 1 MiB read, on the spin guest (third CLI run)
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
		source $GDB_SETUP
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
# ---- Linux: debug the lane's own Debian kernel by name (fourth CLI run, see serve.sh)
KIMG=$(ls "$(kernel_dir)"/boot/vmlinuz-* | head -1)
KSYM="$LANE_OUT/logs/kernel.sym"
KNM="$LANE_OUT/logs/kernel.nm"
LLOG="$LANE_OUT/logs/gdb-linux.log"
LCMDS="$LANE_OUT/logs/gdb-linux.gdb"
TEXT0="$LANE_OUT/logs/ktext-before.bin"
TEXT1="$LANE_OUT/logs/ktext-after.bin"
rm -f "$TEXT0" "$TEXT1"
check_l() { # name condition-result [detail]
	if [ "$2" = 0 ]; then say "GDB PASS linux: $1"; pass=$((pass + 1))
	else say "GDB FAIL linux: $1 ${3:-}"; fail=$((fail + 1)); fi
}
node "$ROOT/ts/dist/cli.js" symbols "$KIMG" -o "$KSYM" --nm >"$KNM" 2>>"$OUT"
ksym() { awk -v n="$1" '$3 == n { print "0x" $1; exit }' "$KNM"; }
OPENAT=$(ksym do_sys_openat2); START=$(ksym start_kernel); VECTORS=$(ksym vectors)
TEXT_AT=$(printf '0x%x' $((OPENAT & ~0xfffff)))
if [ -n "$OPENAT" ] && wait_for LANE-GDB-LINUX-READY 600; then
	cat >"$LCMDS" <<-EOF
		source $GDB_SETUP
		symbol-file $KSYM
		shell date +%s%N
		target remote 127.0.0.1:$PORT
		shell date +%s%N
		echo GDBLX entry\n
		p/x \$pc
		break do_sys_openat2
		hbreak start_kernel
		shell date +%s%N
		continue
		shell date +%s%N
		echo GDBLX at-start-kernel\n
		p/x \$pc
		monitor breakpoints
		shell date +%s%N
		dump binary memory $LANE_OUT/logs/ktext-read.bin $TEXT_AT $TEXT_AT+0x100000
		shell date +%s%N
		delete 2
		shell date +%s%N
		continue
		shell date +%s%N
		echo GDBLX at-openat\n
		p/x \$pc
		info registers x0 x1 sp pc cpsr
		x/4i \$pc
		bt 3
		info threads
		dump binary memory $TEXT0 $TEXT_AT $TEXT_AT+0x100000
		echo GDBLX if-before\n
		p/x \$cpsr & 0xc0
		source $GDB_STEPI100
		echo GDBLX if-after\n
		p/x \$cpsr & 0xc0
		delete
		watch *(unsigned long *)&jiffies
		continue
		echo GDBLX after-watch\n
		delete
		dump binary memory $TEXT1 $TEXT_AT $TEXT_AT+0x100000
		echo GDBLX detach\n
		detach
	EOF
	timeout 600 gdb-multiarch -nx -batch -x "$LCMDS" >"$LLOG" 2>&1
	LRC=$?
	grep -v '^GDBPC' "$LLOG" | sed 's/^/[gdb-linux] /' | tee -a "$OUT"
	after() { awk -v m="GDBLX $1" 'f && /^\$[0-9]+ = / { print $3; exit } $0 == m { f = 1 }' "$LLOG"; }
	check_l "gdb-multiarch exit status 0 (got $LRC)" "$([ $LRC = 0 ]; echo $?)"
	check_l "--wait: the first instruction has not run (pc 0x40000000)" "$([ "$(after entry)" = 0x40000000 ]; echo $?)" "$(after entry)"
	check_l "hbreak start_kernel from --wait stops there" "$([ "$(after at-start-kernel)" = "$START" ]; echo $?)" "pc $(after at-start-kernel), start_kernel $START"
	check_l "break on a not-yet-mapped kernel VA placed in hardware and reported" \
		"$(grep -q 'kvm-debug: software breakpoint at .* placed as a hardware breakpoint' "$LLOG"; echo $?)"
	check_l "break do_sys_openat2 (by name) + continue stops there" "$([ "$(after at-openat)" = "$OPENAT" ]; echo $?)" "pc $(after at-openat), do_sys_openat2 $OPENAT"
	check_l "info registers" "$(grep -Eq '^pc +0x[0-9a-f]+ +0x[0-9a-f]+ <do_sys_openat2>' "$LLOG"; echo $?)"
	check_l "x/4i disassembles at the stop" "$(grep -Eq '^=> 0x[0-9a-f]+ <do_sys_openat2>:' "$LLOG"; echo $?)"
	check_l "bt names the caller" "$(grep -Eq '^#1 +0x[0-9a-f]+ in [a-z_0-9]+' "$LLOG"; echo $?)"
	check_l "info threads shows both vCPUs" "$(grep -Eq '^[* ] +1 +Thread 1' "$LLOG" && grep -Eq '^[* ] +2 +Thread 2' "$LLOG"; echo $?)"
	# 100 stepi: no pc in the vector table or in IRQ entry code (the symbol each pc falls in)
	grep '^GDBPC ' "$LLOG" | awk '{ print $2 }' >"$LANE_OUT/logs/gdb-linux-pcs.txt"
	NPC=$(wc -l <"$LANE_OUT/logs/gdb-linux-pcs.txt")
	IRQPC=$(node -e '
		const fs = require("fs");
		const syms = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" ")).map(([a, , n]) => [BigInt("0x" + a), n]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
		const vec = BigInt(process.argv[3]);
		// The arm64 IRQ entry path of Linux 6.1 (arch/arm64/kernel/entry.S, entry-common.c) and the GIC/timer handlers.
		const IRQ_PATH = /^(el[01]h?t?_64_(irq|fiq)(_handler)?|el[01]_interrupt|__el[01]_irq|do_interrupt_handler|call_on_irq_stack|gic_handle_irq|irq_(enter|exit)(_rcu)?|generic_handle_domain_irq|handle_percpu_devid_irq|arch_timer_handler_(virt|phys)|__do_softirq)$/;
		let bad = 0;
		for (const p of fs.readFileSync(process.argv[2], "utf8").trim().split("\n").filter(Boolean)) {
			const pc = BigInt("0x" + p);
			let lo = 0, hi = syms.length - 1;
			while (lo < hi) { const m = (lo + hi + 1) >> 1; if (syms[m][0] <= pc) lo = m; else hi = m - 1; }
			const name = syms[lo][1];
			if ((pc >= vec && pc < vec + 0x800n) || IRQ_PATH.test(name)) { bad++; console.error("IRQ-PC " + p + " " + name); }
		}
		console.log(bad);' "$KNM" "$LANE_OUT/logs/gdb-linux-pcs.txt" "$VECTORS" 2>>"$OUT")
	check_l "100 stepi inside the kernel: none in the vectors or IRQ entry code" "$([ "$NPC" = 100 ] && [ "$IRQPC" = 0 ]; echo $?)" "$NPC steps, $IRQPC in IRQ code"
	# Time runs on while gdb holds the guest, so the first update after the resume adds every
	# elapsed tick at once (NO_HZ catch-up): the new value is larger, not old + 1.
	check_l "watch jiffies (an exported symbol from __ksymtab) fires as the timer ticks" \
		"$(grep -Eq '^Hardware watchpoint [0-9]+: \*\(unsigned long \*\)&jiffies' "$LLOG" && awk '/^Old value = / { o = $4 } /^New value = / { n = $4 } END { exit !(o != "" && n > o) }' "$LLOG"; echo $?)" \
		"$(grep -E '^(Old|New) value' "$LLOG" | tr '\n' ' ')"
	check_l "the guest's own I/F bits are back after the steps" "$([ -n "$(after if-before)" ] && [ "$(after if-before)" = "$(after if-after)" ]; echo $?)" "before $(after if-before) after $(after if-after)"
	# At the stop the BRK is armed and reads show the guest's bytes; after delete nothing of ours is
	# recorded, so the read is raw RAM: a BRK left behind would differ.
	check_l "kernel text around do_sys_openat2: shadowed read with our BRK = raw read after delete (no BRK left)" \
		"$([ -s "$TEXT0" ] && cmp -s "$TEXT0" "$TEXT1"; echo $?)"
	check_l "detach: the kernel runs on to its /init and powers off" \
		"$(wait_for LANE-GDB-LINUX-END 300 && grep -q 'CLI-LINUX: L2-DONE' "$LOG" && grep -q 'CLI-LINUX: exit status 0' "$LOG"; echo $?)"
	# Session B: software breakpoints armed on functions the init never calls, and the guest's
	# own BRKs (kprobe, uprobe, brk #0x77) firing meanwhile: handed back, never a stop.
	L2LOG="$LANE_OUT/logs/gdb-linux2.log"
	if wait_for LANE-GDB-LINUX2-READY 600; then
		timeout 600 gdb-multiarch -nx -batch -x "$GDB_SETUP" -ex "symbol-file $KSYM" -ex "target remote 127.0.0.1:$PORT" \
			-ex 'hbreak start_kernel' -ex 'continue' -ex 'delete' \
			-ex 'break __arm64_sys_swapon' -ex 'break __arm64_sys_kexec_load' \
			-ex 'echo GDBLX2 continue\n' -ex 'continue' -ex 'echo GDBLX2 end\n' >"$L2LOG" 2>&1
		sed 's/^/[gdb-linux2] /' "$L2LOG" | tee -a "$OUT" >/dev/null
		wait_for LANE-GDB-LINUX2-END 300
		cli() { sed -E 's/^\[guest +[0-9.]+\] //' "$LOG" | grep "^$1: " | sed "s/^$1: //"; }
		A=$(cli CLI-LINUX | grep -m1 '^L2-KPROBE-HITS' | awk '{print $2}')
		B=$(cli CLI-LINUX2 | grep -m1 '^L2-KPROBE-HITS' | awk '{print $2}')
		REINJ=$(cli CLI-LINUX2 | grep -m1 -oE '\(([0-9]+) guest exception\(s\) re-injected\)' | grep -oE '[0-9]+')
		check_l "the guest's own BRKs are not reported to gdb: it runs to its end" \
			"$(awk '/^GDBLX2 continue/ { f = 1; next } f' "$L2LOG" | grep -Eq 'exited normally' && ! awk '/^GDBLX2 continue/ { f = 1; next } f' "$L2LOG" | grep -Eq 'received signal|Breakpoint [0-9]+,'; echo $?)"
		check_l "a kprobe fires, its hit count as without the debugger ($B vs $A)" "$([ -n "$A" ] && [ "${A:-0}" -gt 0 ] && [ "$A" = "$B" ]; echo $?)"
		check_l "a uprobe on busybox fires (10 runs)" "$(cli CLI-LINUX2 | grep -q '^L2-UPROBE-HITS 10$'; echo $?)" "$(cli CLI-LINUX2 | grep -m1 '^L2-UPROBE')"
		check_l "a program's own brk #0x77 gets SIGTRAP in the guest" "$(cli CLI-LINUX2 | grep -q '^L2-BRK77 SIGTRAP signo=5 code=1$'; echo $?)" "$(cli CLI-LINUX2 | grep -m1 '^L2-BRK77')"
		# KVM traps the guest's BRKs to us only while USE_SW_BP is on, i.e. while gdb's BRKs are armed.
		check_l "armed: those BRKs trapped to kvm-debug and were re-injected (count > kprobe hits)" "$([ "${REINJ:-0}" -gt "${B:-0}" ]; echo $?)" "re-injected ${REINJ:-none}, kprobe hits ${B:-none}"
	else
		check_l "the second Linux gdb session ran" 1
	fi
	OURS=$(figures "$LLOG")
	say "BENCH: gdb-linux (kvm-debug): $(describe $OURS)"
	# ---- the peer: QEMU's gdbstub on the same kernel, KVM and port, the same timed gdb steps
	# (its software breakpoints cannot be set before the MMU is on: hbreak first, break after).
	QLOG="$LANE_OUT/logs/gdb-qemu.log"
	if wait_for 'LANE-GDB-QEMU-READY$' 600; then
		cat >"$LCMDS.qemu" <<-EOF
			source $GDB_SETUP
			symbol-file $KSYM
			shell date +%s%N
			target remote 127.0.0.1:$PORT
			shell date +%s%N
			hbreak start_kernel
			shell date +%s%N
			continue
			shell date +%s%N
			shell date +%s%N
			dump binary memory $LANE_OUT/logs/ktext-qemu.bin $TEXT_AT $TEXT_AT+0x100000
			shell date +%s%N
			delete
			break do_sys_openat2
			shell date +%s%N
			continue
			shell date +%s%N
			source $GDB_STEPI100
			delete
			detach
		EOF
		timeout 600 gdb-multiarch -nx -batch -x "$LCMDS.qemu" >"$QLOG" 2>&1
		wait_for 'LANE-GDB-QEMU-END' 300
		QEMU_FIG=$(figures "$QLOG")
		say "BENCH: gdb-linux (QEMU 7.2 gdbstub): $(describe $QEMU_FIG)"
		# `target remote` and 20 stepi on fresh sessions, ours and QEMU's alternated (serve.sh): the
		# median of each, since one connect varies by +-40% on either side in this emulated machine.
		OURS_C="" QEMU_C="" OURS_S="" QEMU_S=""
		for r in $(seq 1 "$CONNECT_ROUNDS"); do
			read -r c st < <(round_figures "CONNECT-K$r" kvm-debug); OURS_C="$OURS_C $c" OURS_S="$OURS_S $st"
			read -r c st < <(round_figures "CONNECT-Q$r" qemu); QEMU_C="$QEMU_C $c" QEMU_S="$QEMU_S $st"
		done
		check_l "$CONNECT_ROUNDS fresh sessions of each server: target remote stops at the entry, hbreak start_kernel there, $ROUND_STEPS stepi (ours:$OURS_C ms; QEMU:$QEMU_C ms)" \
			"$([ "$(printf '%s\n' $OURS_C $QEMU_C $OURS_S $QEMU_S | grep -cE '^[0-9]+(\.[0-9]+)?$')" = $((4 * CONNECT_ROUNDS)) ]; echo $?)"
		say "BENCH: vs-qemu: $CONNECT_ROUNDS fresh sessions each, alternated: target remote ours$OURS_C ms, QEMU's$QEMU_C ms; stepi from start_kernel ours$OURS_S ms, QEMU's$QEMU_S ms"
		if [ "$(echo $OURS | wc -w)" = 5 ] && [ "$(echo $QEMU_FIG | wc -w)" = 5 ]; then
			read -r oc os orr oo ost <<<"$OURS"
			read -r qc qs qr qo qst <<<"$QEMU_FIG"
			omc=$(median $OURS_C) qmc=$(median $QEMU_C) oms=$(median $OURS_S) qms=$(median $QEMU_S)
			say "BENCH: vs-qemu: stepi $ost vs $qst ms/step ($(ratio "$ost" "$qst")x, target <= 1.0; median of the rounds from start_kernel $oms vs $qms, $(ratio "$oms" "$qms")x); 1 MiB read $orr vs $qr MiB/s ($(ratio "$orr" "$qr")x, target >= 1.0); break + continue to openat $oo vs $qo s ($(ratio "$oo" "$qo")x); target remote median $omc vs $qmc ms ($(ratio "$omc" "$qmc")x, target <= 1.0; in the sessions above $oc vs $qc ms)"
			# The exception vectors and entry code of this kernel sit in its first 8 KiB of text.
			QENT=$(grep -cE '^GDBPC ffff80000801[01][0-9a-f]{3}$' "$QLOG")
			say "BENCH: vs-qemu: QEMU's 100 stepi from do_sys_openat2: $QENT in the vectors/entry code at 0xffff800008010000-0xffff800008011fff (kvm-debug: 0 in any IRQ path, checked above)"
		fi
	else
		say "BENCH: vs-qemu: no QEMU peer session (LANE-GDB-QEMU-READY missing)"
	fi
else
	check_l "the Linux gdb session ran (symbols: ${OPENAT:-none}; see $OUT)" 1
fi
say "GDB-TEST: $pass passed, $fail failed"
