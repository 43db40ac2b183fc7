// Smoke test of the addon's KVM API on real arm64 KVM (docs/native-api.md).
// Run inside the arm64 machine: node --expose-gc addon_smoke.js [path/to/addon.node]
// Exits non-zero on any failed check; prints 'JS SUMMARY ok=N fail=M'.
const a = require(process.argv[2] || '/kvm.node');
let ok = 0, fail = 0;
const check = (c, m) => { if (c) { ok++; } else { fail++; console.log('JS FAIL: ' + m); } };
const le = (ws) => Buffer.concat(ws.map((w) => { const b = Buffer.alloc(4); b.writeUInt32LE(w >>> 0); return b; }));
(async () => {
  const caps = a.kvmCapabilities();
  console.log('JS caps ' + JSON.stringify(caps));
  check(caps.available && caps.hwBreakpoints > 0, 'caps');
  const vm = a.Vm.create({ memMib: 2 });
  const base = vm.ramBase;
  check(base === 0x40000000n, 'ramBase');
  // x1 = 0x0a000000; x0 = 1; x0 += 2; [x1] = x0; b .
  vm.loadImage(base, le([0xd2a14001, 0xd2800020, 0x91000800, 0xf9000020, 0x14000000]));
  vm.resetVcpu(0, base);
  vm.insertSwBreakpoint(base + 8n);
  let e = await vm.run(0);
  console.log('JS exit ' + JSON.stringify(e, (k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v)));
  check(e.kind === 'debug' && e.ec === 0x3c && e.pc === base + 8n && e.cause === 'swbreak' && e.far === undefined, 'bp hit');
  try { vm.getReg(0, 'x99'); check(false, 'no throw'); } catch (err) { check(err.code === 'ERR_UNKNOWN_REGISTER', 'code ' + err.code); }
  const rep = vm.removeAll();
  check(rep.removed.length === 1 && rep.removed[0] === base + 8n, 'removeAll');
  e = await vm.run(0);
  check(e.kind === 'mmio' && e.addr === 0x0a000000n && e.data === 3n && e.isWrite, 'mmio ' + JSON.stringify(e, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  // stop a running vCPU (b . loop)
  vm.loadImage(base, le([0x14000000])); vm.resetVcpu(0, base);
  const p = vm.run(0);
  let threw = false; try { vm.getReg(0, 'pc'); } catch (err) { threw = err.code === 'ERR_VCPU_RUNNING'; }
  check(threw, 'running refused');
  let ticks = 0; const iv = setInterval(() => ticks++, 10);
  await new Promise((r) => setTimeout(r, 300));
  clearInterval(iv);
  check(ticks > 5, 'event loop not blocked: ' + ticks);
  vm.stop(0);
  e = await p;
  check(e.kind === 'interrupted', 'interrupted ' + e.kind);
  vm.setReg(0, 'v3', (1n << 127n) + 5n);
  check(vm.getReg(0, 'v3') === (1n << 127n) + 5n, 'v3');
  // close during a run: the promise settles (interrupted), later calls throw ERR_VM_CLOSED
  const p2 = vm.run(0);
  vm.close();
  e = await p2;
  check(e.kind === 'interrupted', 'close during run ' + e.kind);
  try { vm.getReg(0, 'pc'); check(false, 'closed'); } catch (err) { check(err.code === 'ERR_VM_CLOSED', 'closed code ' + err.code); }
  // GC with a run in flight
  (() => { const v2 = a.Vm.create({ memMib: 2 }); v2.loadImage(v2.ramBase, le([0x14000000])); v2.resetVcpu(0, v2.ramBase); v2.run(0).then((x) => console.log('JS gc-run settled ' + x.kind)); v2.stop(0); })();
  if (global.gc) global.gc();
  await new Promise((r) => setTimeout(r, 200));
  try { a.Vm.create({ memMib: 0 }); check(false, 'mem 0'); } catch (err) { check(err.code === 'ERR_BAD_ARGUMENT', 'mem0 ' + err.code); }
  console.log(`JS SUMMARY ok=${ok} fail=${fail}`);
  process.exit(fail ? 1 : 0);
})().catch((err) => { console.log('JS EXCEPTION ' + err.stack + ' code=' + err.code); process.exit(1); });
