/**
 * A tiny sequential test runner for the in-guest suite (Node 18 has node:test, but its
 * output format changed across 18.x; the lane parses ours). Prints one line per case:
 * `PASS name (ms)`, `FAIL name: message` or `SKIP name: reason`, then the summary line
 * `NODE-SUITE: N passed, N failed, N skipped` that scripts/arm64/lane.sh counts.
 */

/** A test case body; throw (or reject) to fail. */
export type CaseFn = () => void | Promise<void>;

interface Case {
  name: string;
  fn: CaseFn;
}

const cases: Case[] = [];

/** Register a case. Cases run in registration order, one at a time. */
export function test(name: string, fn: CaseFn): void {
  cases.push({ name, fn });
}

/** Thrown by a case (or the runner) to skip with a printed reason. */
export class Skip extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Skip';
  }
}

/** In the lane (KVM_DEBUG_LANE=1) nothing may skip: a skip there is a failure. */
const STRICT = process.env.KVM_DEBUG_LANE === '1';

/** Per-case time limit: a hung KVM_RUN must fail its case, not the whole lane. */
const CASE_TIMEOUT_MS = Number(process.env.LANE_CASE_TIMEOUT_MS ?? 120_000);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Run the registered cases. `skipAll` (a reason) skips every case, e.g. no /dev/kvm.
 * `filter` (LANE_CASE env) keeps only cases whose name contains it.
 * Returns the number of failures.
 */
export async function run(skipAll?: string, filter?: string): Promise<number> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const c of cases) {
    if (filter && !c.name.includes(filter)) continue;
    if (skipAll) {
      console.log(`${STRICT ? 'FAIL' : 'SKIP'} ${c.name}: ${skipAll}`);
      if (STRICT) failed++;
      else skipped++;
      continue;
    }
    const t0 = Date.now();
    try {
      await withTimeout(Promise.resolve().then(c.fn), CASE_TIMEOUT_MS, c.name);
      console.log(`PASS ${c.name} (${Date.now() - t0} ms)`);
      passed++;
    } catch (e) {
      if (e instanceof Skip && !STRICT) {
        console.log(`SKIP ${c.name}: ${e.message}`);
        skipped++;
      } else {
        const err = e as Error & { code?: string };
        const code = err.code ? ` [${err.code}]` : '';
        console.log(`FAIL ${c.name}: ${err.message}${code}`);
        if (err.stack) console.log(err.stack.split('\n').slice(1, 6).join('\n'));
        failed++;
      }
    }
  }
  console.log(`NODE-SUITE: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed;
}
