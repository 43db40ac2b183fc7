// stop() from the JS thread ends a running vCPU's KVM_RUN (immediate_exit + signal), and
// Session.interrupt() stops a running guest promptly; guest-physical accesses outside RAM
// are refused with ERR_OUTSIDE_RAM naming the address, and never write partially.
import { test } from '../harness';
import { native } from '../ctx';
import { RAM_BASE, MEM_MIB, expectEq, hex, loadGuest, sha256, withGuest } from '../guest';
import { showExit } from '../native';
import { Session } from '../../../src/session';
import { Vmm, loadGuestImage } from '../../../src/vmm/vmm';
import type { KvmCapabilities, KvmVm } from '../../../src/vmm/native-vm';

/** How long the guest spins before we stop it, and how soon the stop must land. */
const SPIN_MS = 200;
const PROMPT_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('stop(): a spinning vCPU comes back as interrupted, and runs on after', () =>
  withGuest(native(), 'spin', async (g) => {
    const pending = g.run();
    await sleep(SPIN_MS);
    const t0 = Date.now();
    g.vm.stop(0);
    const e = await pending;
    if (e.kind !== 'interrupted') throw new Error(`expected interrupted, got ${showExit(e)}`);
    if (Date.now() - t0 > PROMPT_MS) throw new Error(`stop took ${Date.now() - t0} ms`);
    const x0 = g.vm.getReg(0, 'x0');
    if (x0 === 0n) throw new Error('x0 = 0: the guest never ran');
    const pc = g.vm.getReg(0, 'pc');
    const spin = g.sym('spin');
    if (pc !== spin && pc !== spin + 4n) throw new Error(`pc ${hex(pc)} is not in the spin loop`);
    // the vCPU is usable after a stop: one more run, stopped again, counted further
    const again = g.run();
    await sleep(SPIN_MS);
    g.vm.stop(0);
    const e2 = await again;
    if (e2.kind !== 'interrupted') throw new Error(`second stop: ${showExit(e2)}`);
    if (g.vm.getReg(0, 'x0') <= x0) throw new Error('x0 did not advance after the first stop');
  }));

test('Session.interrupt(): a running guest stops promptly with SIGINT', async () => {
  const guest = loadGuest('spin');
  const vm = native().Vm.create({ memMib: MEM_MIB, vcpus: 1, ramBase: RAM_BASE }) as unknown as KvmVm;
  loadGuestImage(vm, guest.image);
  const session = new Session({
    vm,
    capabilities: native().kvmCapabilities() as unknown as KvmCapabilities,
    vmm: new Vmm({ uart: () => undefined }),
  });
  try {
    const stopped = session.cont();
    await sleep(SPIN_MS);
    const t0 = Date.now();
    session.interrupt();
    const ev = await stopped;
    if (ev.reason.kind !== 'signal' || ev.reason.signal !== 2) throw new Error(`expected a SIGINT stop, got ${JSON.stringify(ev.reason)}`);
    if (Date.now() - t0 > PROMPT_MS) throw new Error(`interrupt took ${Date.now() - t0} ms`);
  } finally {
    await session.close();
  }
});

test('memory: outside RAM is ERR_OUTSIDE_RAM with the address; no partial write', () =>
  withGuest(native(), 'demo', async (g) => {
    const ramEnd = RAM_BASE + BigInt(MEM_MIB) * 0x10_0000n;
    const codeOf = (f: () => unknown): { code?: string; message: string } => {
      try {
        f();
      } catch (e) {
        return e as { code?: string; message: string };
      }
      throw new Error('expected an error, the call succeeded');
    };
    const r = codeOf(() => g.vm.readPhys(ramEnd, 4));
    expectEq(r.code, 'ERR_OUTSIDE_RAM', 'read past RAM: code');
    if (!r.message.toLowerCase().includes(ramEnd.toString(16))) throw new Error(`message does not name ${hex(ramEnd)}: ${r.message}`);
    // a write straddling the end of RAM: refused whole, the in-RAM half untouched
    const before = sha256(g.vm.readPhys(ramEnd - 8n, 8));
    const w = codeOf(() => g.vm.writePhys(ramEnd - 8n, Buffer.alloc(16, 0xee)));
    expectEq(w.code, 'ERR_OUTSIDE_RAM', 'straddling write: code');
    expectEq(sha256(g.vm.readPhys(ramEnd - 8n, 8)), before, 'RAM below the end after a refused write');
    const below = codeOf(() => g.vm.readPhys(RAM_BASE - 4n, 4));
    expectEq(below.code, 'ERR_OUTSIDE_RAM', 'read below RAM: code');
  }));
