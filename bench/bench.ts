/**
 * kvm-debug benchmarks: native addon vs wasm build vs the plain-TS baseline
 * (baseline.ts) vs the plain Rust loop (bench/rust), on the same inputs
 * (inputs.ts; the Rust binary builds the same ones and bench.ts compares
 * checksums).
 *
 * Workloads, each through the public paths: the host (ts/dist: what users
 * call) and the raw binding calls under it:
 *  1. one value -> its structured form, two ways:
 *     - FULL FIELD TREE: decodeJson + JSON.parse, and the host's decodeTree;
 *     - FAST CLASSIFICATION: the host's classify(value) for bigint and number
 *       values, and the raw classify(lo, hi) + unpackClassification.
 *  2. batch: 1,000,000 values, BigUint64Array -> Uint32Array packed words
 *     (raw classifyBatch, the host's classifyBatch, wasm's BatchBuffer).
 *
 * Every result is checked inside the timed function against a value computed
 * once before timing; a mismatch throws and the bench exits non-zero. Each
 * task call runs a whole pass over the 1024-value ring (or one 1M batch), so
 * the timer's own cost is spread over many operations.
 *
 * Usage: node dist/bench.js [--quick] (bench/run.sh builds everything first).
 */
import { Bench, type Task } from 'tinybench';
import { createRequire } from 'node:module';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH, RING, batchValues, checksum, ringValues } from './inputs.js';
import { classifyBatchBigInt, classifyBatchWords, classifyTs, packTs } from './baseline.js';

type Host = typeof import('../ts/dist/index.js');
type Api = import('../ts/dist/index.js').DecodeApi;
type Backend = import('../ts/dist/index.js').Backend;

const here = path.dirname(fileURLToPath(import.meta.url)); // bench/dist
const ROOT = path.resolve(here, '..', '..');
const RUST_BIN = path.join(ROOT, 'target', 'bench', 'release', 'kvm-debug-bench');
const require = createRequire(import.meta.url);
const host = require(path.join(ROOT, 'ts', 'dist', 'index.js')) as Host;

/** Targets from issue 2, "Bench". */
const TARGET_SINGLE_NATIVE_NS = 150;
const TARGET_SINGLE_WASM_NS = 100;
const TARGET_BATCH_VS_RUST = 2;
/** Issue 9: a whole field tree as JS objects, without JSON (8-11 µs through JSON). */
const TARGET_TREE_NS = 1000;
/** Batch results checked per call (positions rotate between calls), as in the Rust bench. */
const BATCH_CHECKS = 257;
const BATCH_CHECK_STRIDE = 3_889;
const RING_MASK = RING - 1;

const quick = process.argv.includes('--quick');

class Mismatch extends Error {
  constructor(what: string, value: bigint | number, got: unknown, want: unknown) {
    super(`${what}: wrong result for 0x${value.toString(16)}: got ${String(got)}, want ${String(want)}`);
  }
}

function machine(): string {
  let cpu = 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1];
  } catch {
    /* not Linux: keep 'unknown CPU' */
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  return `${cpu}, ${os.cpus().length} cores (load average ${load} at start), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()} ${os.arch()}, node ${process.version}`;
}

interface RustResult {
  ringChecksum: string;
  batchChecksum: string;
  nsPerOp: { classify: number; tree: number; treeJson: number; batch: number; render: number };
}

function runRust(): RustResult {
  const args = ['--json', ...(quick ? ['--quick'] : [])];
  const out = execFileSync(RUST_BIN, args, { encoding: 'utf8' });
  return JSON.parse(out) as RustResult;
}

// ---- inputs and expected values, computed once ----------------------------

if (os.endianness() !== 'LE') throw new Error('the word-view baseline assumes a little-endian host');
const ringBig = ringValues();
const batch = batchValues();
const LO = Array.from(ringBig, (v) => Number(v & 0xffff_ffffn));
const HI = Array.from(ringBig, (v) => Number(v >> 32n));

const native: Backend = host.loadBackend({ backend: 'native' });
const wasm: Backend = host.loadBackend({ backend: 'wasm' });
const nativeNames = host.classNames(native);
/** The wasm-only zero-copy batch path (crates/wasm/src/lib.rs `BatchBuffer`). */
interface WasmBatchBuffer {
  readonly capacity: number;
  valuesPtr(): number;
  outPtr(): number;
  classify(len: number): void;
}
interface WasmExtras {
  BatchBuffer?: new (capacity: number) => WasmBatchBuffer;
  wasmMemory?: () => { buffer: ArrayBuffer };
}
const wasmExtras = require(host.wasmPath()) as WasmExtras;
/**
 * The ring as JS numbers, for the host's number path: u32 values as they are
 * (3/4 of the ring), the others cut to 53 bits (a safe integer, mostly above
 * 2^32). Bits 31:0 are unchanged, so the expected classifications are the
 * ring's (checked below against both builds before timing).
 */
const SAFE_MASK = BigInt(Number.MAX_SAFE_INTEGER);
const ringNum = Array.from(ringBig, (v) => Number(v & SAFE_MASK));
const wasmNames = host.classNames(wasm);

// Classification: the TS baseline gives the expected words; both builds must agree.
const expPack = LO.map((lo) => packTs(lo));
const expName = LO.map((lo) => classifyTs(lo, 0).className);
for (let i = 0; i < RING; i++) {
  const lo = LO[i]!;
  const hi = HI[i]!;
  const base = JSON.stringify(classifyTs(lo, hi));
  for (const b of [native, wasm]) {
    const got = JSON.stringify(host.classify(ringBig[i]!, b));
    if (got !== base) throw new Mismatch(`classify (${b.backend} vs TS baseline)`, ringBig[i]!, got, base);
    const num = host.classify(ringNum[i]!, b).packed;
    if (num !== expPack[i]) throw new Mismatch(`classify(number) (${b.backend} vs TS baseline)`, ringNum[i]!, num, expPack[i]);
  }
}
// Tree: native gives the expected JSON; wasm must give the identical string.
const expJson = LO.map((lo, i) => native.api.decodeJson(lo, HI[i]!));
const expJsonLen = expJson.map((s) => s.length);
const expRootValue = expJson.map((s) => (JSON.parse(s) as { value: string }).value);
for (let i = 0; i < RING; i++) {
  const w = wasm.api.decodeJson(LO[i]!, HI[i]!);
  if (w !== expJson[i]) throw new Mismatch('decodeJson (wasm vs native)', ringBig[i]!, w, expJson[i]);
}
// Batch: the TS baseline gives the expected words; checked in full after timing.
const expBatch = new Uint32Array(BATCH);
classifyBatchWords(batch, expBatch);

// ---- tasks -----------------------------------------------------------------

type Workload = 'tree' | 'json' | 'classify' | 'batch';
type Impl = 'native' | 'wasm' | 'ts' | 'rust';
interface Spec {
  workload: Workload;
  impl: Impl;
  label: string;
  opsPerCall: number;
  fn: () => void;
  after?: () => void;
}
const specs: Spec[] = [];
let i = 0; // ring cursor shared by the single-value tasks

function treeRaw(api: Api): () => void {
  return () => {
    for (let n = 0; n < RING; n++) {
      i = (i + 1) & RING_MASK;
      const s = api.decodeJson(LO[i]!, HI[i]!);
      const t = JSON.parse(s) as { value: string };
      if (s.length !== expJsonLen[i] || t.value !== expRootValue[i]) {
        throw new Mismatch('tree', ringBig[i]!, s.length, expJsonLen[i]);
      }
    }
  };
}
function treeHost(b: Backend): () => void {
  return () => {
    for (let n = 0; n < RING; n++) {
      i = (i + 1) & RING_MASK;
      const t = host.decodeTree(ringBig[i]!, b);
      if (t.value !== expRootValue[i]) throw new Mismatch('decodeTree', ringBig[i]!, t.value, expRootValue[i]);
    }
  };
}
function jsonRaw(api: Api): () => void {
  return () => {
    for (let n = 0; n < RING; n++) {
      i = (i + 1) & RING_MASK;
      const s = api.decodeJson(LO[i]!, HI[i]!);
      if (s.length !== expJsonLen[i]) throw new Mismatch('decodeJson', ringBig[i]!, s.length, expJsonLen[i]);
    }
  };
}
function classifyRaw(api: Api, names: readonly string[]): () => void {
  return () => {
    for (let n = 0; n < RING; n++) {
      i = (i + 1) & RING_MASK;
      const c = host.unpackClassification(api.classify(LO[i]!, HI[i]!), names);
      if (c.packed !== expPack[i] || c.className !== expName[i]) {
        throw new Mismatch('classify', ringBig[i]!, c.packed, expPack[i]);
      }
    }
  };
}
function classifyHost(b: Backend, ring: ArrayLike<bigint | number>): () => void {
  return () => {
    for (let n = 0; n < RING; n++) {
      i = (i + 1) & RING_MASK;
      const c = host.classify(ring[i]!, b);
      if (c.packed !== expPack[i] || c.className !== expName[i]) {
        throw new Mismatch('host classify', ring[i]!, c.packed, expPack[i]);
      }
    }
  };
}
function classifyBaseline(): void {
  for (let n = 0; n < RING; n++) {
    i = (i + 1) & RING_MASK;
    const c = classifyTs(LO[i]!, HI[i]!);
    if (c.packed !== expPack[i] || c.className !== expName[i]) {
      throw new Mismatch('classifyTs', ringBig[i]!, c.packed, expPack[i]);
    }
  }
}
function batchTask(
  what: string,
  run: (v: BigUint64Array, o: Uint32Array) => void,
  outOf: () => Uint32Array = ((o) => () => o)(new Uint32Array(BATCH)),
): Pick<Spec, 'fn' | 'after'> {
  let start = 0;
  return {
    fn: () => {
      run(batch, outOf());
      const out = outOf();
      start = (start + 1) % BATCH;
      for (let k = 0; k < BATCH_CHECKS; k++) {
        const p = (start + k * BATCH_CHECK_STRIDE) % BATCH;
        if (out[p] !== expBatch[p]) throw new Mismatch(what, batch[p]!, out[p], expBatch[p]);
      }
    },
    after: () => {
      const out = outOf();
      for (let p = 0; p < BATCH; p++) {
        if (out[p] !== expBatch[p]) throw new Mismatch(`${what} (full check)`, batch[p]!, out[p], expBatch[p]);
      }
    },
  };
}

const add = (s: Spec): void => void specs.push(s);
add({ workload: 'tree', impl: 'native', label: 'native host decodeTree(bigint)', opsPerCall: RING, fn: treeHost(native) });
add({ workload: 'tree', impl: 'wasm', label: 'wasm host decodeTree(bigint)', opsPerCall: RING, fn: treeHost(wasm) });
add({ workload: 'tree', impl: 'native', label: 'native raw decodeJson + JSON.parse', opsPerCall: RING, fn: treeRaw(native.api) });
add({ workload: 'tree', impl: 'wasm', label: 'wasm raw decodeJson + JSON.parse', opsPerCall: RING, fn: treeRaw(wasm.api) });
add({ workload: 'json', impl: 'native', label: 'native raw decodeJson (string only)', opsPerCall: RING, fn: jsonRaw(native.api) });
add({ workload: 'json', impl: 'wasm', label: 'wasm raw decodeJson (string only)', opsPerCall: RING, fn: jsonRaw(wasm.api) });
add({ workload: 'classify', impl: 'native', label: 'native host classify(bigint)', opsPerCall: RING, fn: classifyHost(native, ringBig) });
add({ workload: 'classify', impl: 'wasm', label: 'wasm host classify(bigint)', opsPerCall: RING, fn: classifyHost(wasm, ringBig) });
add({ workload: 'classify', impl: 'native', label: 'native host classify(number)', opsPerCall: RING, fn: classifyHost(native, ringNum) });
add({ workload: 'classify', impl: 'wasm', label: 'wasm host classify(number)', opsPerCall: RING, fn: classifyHost(wasm, ringNum) });
add({ workload: 'classify', impl: 'native', label: 'native raw classify(lo,hi) + unpack', opsPerCall: RING, fn: classifyRaw(native.api, nativeNames) });
add({ workload: 'classify', impl: 'wasm', label: 'wasm raw classify(lo,hi) + unpack', opsPerCall: RING, fn: classifyRaw(wasm.api, wasmNames) });
add({ workload: 'classify', impl: 'ts', label: 'TS baseline classifyTs(lo,hi)', opsPerCall: RING, fn: classifyBaseline });
add({ workload: 'batch', impl: 'native', label: 'native raw classifyBatch', opsPerCall: BATCH, ...batchTask('native batch', native.api.classifyBatch) });
add({ workload: 'batch', impl: 'wasm', label: 'wasm raw classifyBatch', opsPerCall: BATCH, ...batchTask('wasm batch', wasm.api.classifyBatch) });
/** The host's classifyBatch allocates its output per call: that is part of its cost. */
function hostBatch(b: Backend): Pick<Spec, 'fn' | 'after'> {
  let last: Uint32Array = new Uint32Array(0);
  return batchTask(
    `${b.backend} host classifyBatch`,
    (v) => void (last = host.classifyBatch(v, b)),
    () => last,
  );
}
add({ workload: 'batch', impl: 'native', label: 'native host classifyBatch(values)', opsPerCall: BATCH, ...hostBatch(native) });
add({ workload: 'batch', impl: 'wasm', label: 'wasm host classifyBatch(values)', opsPerCall: BATCH, ...hostBatch(wasm) });
if (wasmExtras.BatchBuffer !== undefined && wasmExtras.wasmMemory !== undefined) {
  // The values live in wasm memory: the producer writes them there (here: once, before timing).
  const buf = new wasmExtras.BatchBuffer(BATCH);
  const memory = wasmExtras.wasmMemory();
  // Views detach when wasm memory grows (other tasks allocate): re-take them then.
  let vals = new BigUint64Array(0);
  let out = new Uint32Array(0);
  const views = (): void => {
    if (out.length === 0) {
      vals = new BigUint64Array(memory.buffer, buf.valuesPtr(), BATCH);
      out = new Uint32Array(memory.buffer, buf.outPtr(), BATCH);
    }
  };
  const outOf = (): Uint32Array => (views(), out);
  views();
  vals.set(batch);
  add({
    workload: 'batch',
    impl: 'wasm',
    label: 'wasm BatchBuffer (values already in wasm memory)',
    opsPerCall: BATCH,
    ...batchTask('wasm BatchBuffer', () => buf.classify(BATCH), outOf),
  });
  add({
    workload: 'batch',
    impl: 'wasm',
    label: 'wasm BatchBuffer + copying values in',
    opsPerCall: BATCH,
    ...batchTask('wasm BatchBuffer+copy', (v) => {
      views();
      vals.set(v);
      buf.classify(BATCH);
    }, outOf),
  });
} else {
  console.log('wasm build has no BatchBuffer (older build): zero-copy wasm batch not measured');
}
add({ workload: 'batch', impl: 'ts', label: 'TS baseline (u32 word view)', opsPerCall: BATCH, ...batchTask('TS batch', classifyBatchWords) });
add({ workload: 'batch', impl: 'ts', label: 'TS baseline (BigInt reads)', opsPerCall: BATCH, ...batchTask('TS bigint batch', classifyBatchBigInt) });

// ---- run -------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  console.log(`inputs: ring of ${RING} (5 real KVM syndromes + seeded mix), batch of ${BATCH}; ring checksum ${checksum(ringBig)}, batch checksum ${checksum(batch)}`);

  const rust = runRust();
  if (rust.ringChecksum !== checksum(ringBig) || rust.batchChecksum !== checksum(batch)) {
    throw new Error(`the Rust bench used other inputs: ${JSON.stringify(rust)}`);
  }

  const bench = new Bench({
    time: quick ? 150 : 1000,
    warmupTime: quick ? 50 : 200,
    iterations: 8,
    warmupIterations: 2,
    throws: true,
  });
  for (const s of specs) bench.add(s.label, s.fn);
  await bench.run();

  const ns = new Map<string, number>();
  for (const s of specs) {
    const task: Task | undefined = bench.getTask(s.label);
    const r = task?.result;
    if (r === undefined || !('latency' in r) || r.state !== 'completed') {
      throw new Error(`${s.label}: ${r?.state ?? 'no result'} ${r && 'error' in r ? String(r.error) : ''}`);
    }
    s.after?.();
    ns.set(s.label, (r.latency.p50 * 1e6) / s.opsPerCall); // ms per call -> ns per op
  }

  const rustNs: Record<Workload, number> = {
    tree: rust.nsPerOp.tree,
    json: rust.nsPerOp.treeJson,
    classify: rust.nsPerOp.classify,
    batch: rust.nsPerOp.batch,
  };
  const rustLabel: Record<Workload, string> = {
    tree: 'Rust loop decode(v) -> Field',
    json: 'Rust loop decode(v).to_json()',
    classify: 'Rust loop classify(v) -> Classification',
    batch: 'Rust loop classify_batch',
  };
  const tsNs: Partial<Record<Workload, number>> = {
    classify: ns.get('TS baseline classifyTs(lo,hi)'),
    batch: ns.get('TS baseline (u32 word view)'),
  };
  const title: Record<Workload, string> = {
    tree: `1a. one value -> FULL FIELD TREE as a JS object (JSON ${Math.round(expJsonLen.reduce((a, b) => a + b, 0) / RING)} chars on average)`,
    json: '1a\'. one value -> full field tree as JSON text (no parse)',
    classify: '1b. one value -> FAST CLASSIFICATION object (classify -> object)',
    batch: '2. batch classify, 1,000,000 values, BigUint64Array -> Uint32Array (ns per value)',
  };
  const fmt = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
  const ratio = (x: number, base: number | undefined): string => (base === undefined ? 'n/a' : `${(x / base).toFixed(2)}x`);

  console.log('\nns/op = median of tinybench samples (Rust: median of rounds); ratios are ns/op divided by the reference\n');
  console.log('| workload | implementation | ns/op | vs Rust loop | vs TS baseline |');
  console.log('|---|---|---:|---:|---:|');
  for (const w of ['tree', 'json', 'classify', 'batch'] as Workload[]) {
    console.log(`| **${title[w]}** | | | | |`);
    console.log(`| | ${rustLabel[w]} | ${fmt(rustNs[w])} | 1.00x | ${ratio(rustNs[w], tsNs[w])} |`);
    for (const s of specs.filter((x) => x.workload === w)) {
      const v = ns.get(s.label)!;
      console.log(`| | ${s.label} | ${fmt(v)} | ${ratio(v, rustNs[w])} | ${ratio(v, tsNs[w])} |`);
    }
  }

  console.log('\ntargets (issue 2):');
  const verdict = (label: string, v: number, limit: number, unit: string): void => {
    console.log(`  ${v <= limit ? 'MET   ' : 'MISSED'} ${label}: ${fmt(v)} ${unit} (target <= ${limit} ${unit})`);
  };
  const single: [string, number][] = [
    ['native host classify(bigint)', TARGET_SINGLE_NATIVE_NS],
    ['wasm host classify(bigint)', TARGET_SINGLE_WASM_NS],
    ['native host classify(number)', TARGET_SINGLE_NATIVE_NS],
    ['wasm host classify(number)', TARGET_SINGLE_WASM_NS],
    ['native raw classify(lo,hi) + unpack', TARGET_SINGLE_NATIVE_NS],
    ['wasm raw classify(lo,hi) + unpack', TARGET_SINGLE_WASM_NS],
    ['native host decodeTree(bigint)', TARGET_SINGLE_NATIVE_NS],
    ['wasm host decodeTree(bigint)', TARGET_SINGLE_WASM_NS],
  ];
  for (const [label, limit] of single) if (ns.has(label)) verdict(`single structured decode, ${label}`, ns.get(label)!, limit, 'ns');
  for (const label of ['native host decodeTree(bigint)', 'wasm host decodeTree(bigint)']) {
    if (ns.has(label)) verdict(`field tree without JSON (issue 9), ${label}`, ns.get(label)!, TARGET_TREE_NS, 'ns');
  }
  const batchRows = [
    'native raw classifyBatch',
    'wasm raw classifyBatch',
    'native host classifyBatch(values)',
    'wasm host classifyBatch(values)',
    'wasm BatchBuffer (values already in wasm memory)',
  ];
  for (const label of batchRows) {
    if (!ns.has(label)) continue;
    verdict(`batch ${label} vs Rust loop`, ns.get(label)! / rustNs.batch, TARGET_BATCH_VS_RUST, 'x');
  }
  cliBench(rust.nsPerOp.render, verdict);
}

/** Issue 9: `kvm-debug decode` over 100,000 values on stdin, in under 0.3 s. */
const CLI_VALUES = 100_000;
const TARGET_CLI_S = 0.3;

/**
 * The CLI as a user runs it (a new node process, values piped in, its output
 * to /dev/null, as `time kvm-debug decode < values > /dev/null` measures it),
 * wall time, median of runs; the peer is the Rust loop rendering the same text.
 */
function cliBench(rustRenderNs: number, verdict: (label: string, v: number, limit: number, unit: string) => void): void {
  const cli = path.join(here, '..', '..', 'ts', 'dist', 'cli.js');
  const input = Array.from({ length: CLI_VALUES }, (_, i) => `0x${ringBig[i % RING]!.toString(16)}`).join('\n');
  const runs = quick ? 3 : 7;
  const time = (args: string[]): number => {
    const samples: number[] = [];
    for (let k = 0; k < runs; k++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [cli, 'decode', ...args], { input, stdio: ['pipe', 'ignore', 'pipe'] });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`kvm-debug decode ${args.join(' ')} exited ${r.status}: ${String(r.stderr)}`);
      samples.push(s);
    }
    return samples.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  };
  const startup = time(['0x0']);
  const rustS = (rustRenderNs * CLI_VALUES) / 1e9;
  console.log(`\n3. kvm-debug decode, ${CLI_VALUES.toLocaleString('en')} values on stdin, output to /dev/null (wall time, median of ${runs} runs)\n`);
  console.log('| command | s | vs Rust loop + one value\'s run |');
  console.log('|---|---:|---:|');
  console.log(`| Rust loop render_many, same values (text) | ${rustS.toFixed(3)} | |`);
  console.log(`| kvm-debug decode 0x0 (one value: Node, the CLI and the addon loading) | ${startup.toFixed(3)} | |`);
  const rows: [string, string[]][] = [
    ['text, native', ['--backend', 'native']],
    ['text, wasm', ['--backend', 'wasm']],
    ['--json, native', ['--json', '--backend', 'native']],
    ['--json, wasm', ['--json', '--backend', 'wasm']],
  ];
  const results = rows.map(([label, args]) => [label, time(args)] as const);
  for (const [label, s] of results) console.log(`| ${label} | ${s.toFixed(3)} | ${(s / (rustS + startup)).toFixed(2)}x |`);
  console.log('\ntargets (issue 9):');
  for (const [label, s] of results) verdict(`kvm-debug decode of ${CLI_VALUES.toLocaleString('en')} values, ${label}`, s, TARGET_CLI_S, 's');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
