/**
 * Spawns the built CLI (ts/dist/cli.js, made by `npm run build:ts`) as a user
 * would, on both backends.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadBackend } from '../src/binding';
import { decodeJson, decodeText, summary } from '../src/decode';

const CLI = path.resolve(__dirname, '..', 'dist', 'cli.js');

/** Runs the CLI; the backend variables come only from `env` (not from the outer run). */
function kvmDebug(args: string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  delete base.KVM_DEBUG_BACKEND;
  delete base.KVM_DEBUG_NATIVE;
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: input ?? '',
    encoding: 'utf8',
    env: { ...base, ...env },
    timeout: 30_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:ts\` first`);
});

describe.each(['native', 'wasm'] as const)('kvm-debug decode --backend %s', (backend) => {
  it('0xf2000123 prints BRK64 and comment 0x123, then the indented tree', () => {
    const r = kvmDebug(['decode', '0xf2000123', '--backend', backend]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [first, ...rest] = r.stdout.split('\n');
    expect(first).toMatch(/^EC 0x3c BRK64\b.*comment 0x123$/);
    expect(rest[0]).toMatch(/^ESR_ELx \[63:0\] 0xf2000123/);
    expect(rest.join('\n')).toMatch(/\n {2}EC \[31:26\] 0x3c/);
    expect(rest.join('\n')).toMatch(/\n {4}Comment \[15:0\] 0x123/);
  });

  it('--json prints the tree', () => {
    const r = kvmDebug(['decode', '--json', `--backend=${backend}`, '0xf2000123']);
    expect(r.code).toBe(0);
    const tree = JSON.parse(r.stdout) as { name: string; value: string; fields: { name: string; value: string }[] };
    expect(tree.name).toBe('ESR_ELx');
    expect(tree.value).toBe('0xf2000123');
    expect(tree.fields.find((f) => f.name === 'EC')?.value).toBe('0x3c');
  });

  it('reads whitespace-separated values from stdin when none are given', () => {
    const r = kvmDebug(['decode', '--json', '--backend', backend], '0xf2000000\n 0xc2000022\t0xcb000022\n');
    expect(r.code).toBe(0);
    const trees = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: string }).value);
    expect(trees).toEqual(['0xf2000000', '0xc2000022', '0xcb000022']);
  });

  it("reads stdin where '-' is given, after the arguments", () => {
    const r = kvmDebug(['decode', '--json', '--backend', backend, '0x1', '-'], '0x2 3');
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: string }).value)).toEqual([
      '0x1',
      '0x2',
      '0x3',
    ]);
  });

  it.each([
    ['0xzz', /bad value "0xzz": not a number/],
    ['0x1ffffffffffffffff', /bad value "0x1ffffffffffffffff": more than 64 bits/],
  ])('bad input %s exits 2 naming it, and still decodes the others', (bad, message) => {
    const r = kvmDebug(['decode', '--backend', backend, '0xf2000000', bad, '0xf2000123']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toMatch(/^EC 0x3c BRK64.*comment 0x0$/m);
    expect(r.stdout).toMatch(/^EC 0x3c BRK64.*comment 0x123$/m);
  });

  it('many values across blocks and chunks print as each value alone would, a bad one named and skipped', () => {
    // 5,000 values: several of the CLI's 1,024-value blocks and several stdin chunks.
    let x = 0x1234_5678;
    const values = Array.from({ length: 5000 }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return `0x${((x | 0x0200_0000) >>> 0).toString(16)}`;
    });
    values.splice(2500, 0, '0xnope');
    const b = loadBackend({ backend });
    const want = values.filter((v) => v !== '0xnope').map((v) => `${summary(v, b)}\n${decodeText(v, b)}`);
    const r = kvmDebug(['decode', '--backend', backend], values.join('\n'));
    expect(r.stderr).toBe('kvm-debug decode: bad value "0xnope": not a number (expected 0x-hex, 0b-binary or decimal; _ may group digits)\n');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(want.join('\n'));
    const j = kvmDebug(['decode', '--json', '--backend', backend], values.join(' '));
    expect(j.stdout).toBe(values.filter((v) => v !== '0xnope').map((v) => `${decodeJson(v, b)}\n`).join(''));
  });

  it('bad input on stdin exits 2 naming it', () => {
    const r = kvmDebug(['decode', '--backend', backend], 'banana 0xf2000000');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"banana"');
    expect(r.stdout).toMatch(/^EC 0x3c/);
  });
});

describe('kvm-debug CLI usage', () => {
  it('rejects an unknown backend', () => {
    const r = kvmDebug(['decode', '--backend', 'gpu', '0x0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--backend wants native or wasm, got "gpu"');
  });

  it('rejects an unknown command and lists the known ones', () => {
    const r = kvmDebug(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toMatch(/^ {2}decode /m);
  });

  it('KVM_DEBUG_BACKEND forces the backend, and a broken forced native fails loudly', () => {
    const r = kvmDebug(['decode', '0x0'], undefined, {
      KVM_DEBUG_BACKEND: 'native',
      KVM_DEBUG_NATIVE: '/nonexistent/kvm-debug.node',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('native backend unavailable');
  });

  it('without a native addon, decoding falls back to wasm', () => {
    const r = kvmDebug(['decode', '0xf2000123'], undefined, { KVM_DEBUG_NATIVE: '/nonexistent/kvm-debug.node' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^EC 0x3c BRK64/);
  });
});

describe('kvm-debug CLI polish', () => {
  it('--version prints the package version; help decode prints the command\'s own help', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(kvmDebug(['--version'])).toEqual({ code: 0, stdout: `kvm-debug ${pkg.version}\n`, stderr: '' });
    const h = kvmDebug(['help', 'decode']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: kvm-debug decode <value>\.\.\. \[options\]\n/);
    expect(h.stdout).toContain('--backend native|wasm');
    expect(h.stdout).toBe(kvmDebug(['decode', '--help']).stdout);
    expect(kvmDebug(['help', 'nope']).code).toBe(2);
  });

  it('underscores group digits: 0x9600_0045 is 0x96000045; a misplaced one is named', () => {
    expect(kvmDebug(['decode', '0x9600_0045']).stdout).toBe(kvmDebug(['decode', '0x96000045']).stdout);
    const r = kvmDebug(['decode', '0x9600__0045']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"0x9600__0045"');
  });

  it('--grep picks the syndromes out of a dmesg excerpt, and nothing else', () => {
    const dmesg = [
      '[   12.3] Unable to handle kernel paging request at virtual address 0000000000000008',
      '[   12.3] Mem abort info:',
      '[   12.3]   ESR = 0x0000000096000045',
      '[   12.3]   EC = 0x25: DABT (current EL), IL = 32 bits',
      '[   12.4] kvm [301]: Unexpected guest exception: esr=0xf2000123 at pc 0x1000',
      '[   12.5] Internal error: Oops: 0000000096000004 [#1] PREEMPT SMP',
      '[   12.6] x0 : 0000000000000000 x1 : 0000000000000045',
    ].join('\n');
    const r = kvmDebug(['decode', '--grep', '--json'], dmesg);
    expect(r.stderr).toBe('');
    const values = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: string }).value);
    expect(values).toEqual(['0x96000045', '0xf2000123', '0x96000004']);
  });

  it('decode ... | head exits quietly (SIGPIPE status, no EPIPE stack trace)', async () => {
    const { spawn } = await import('child_process');
    const child = spawn(process.execPath, [CLI, 'decode', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Read the first output, then go away as head does, while values keep coming.
    const first = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdin.on('error', () => undefined); // the CLI may be gone before all of it is written
    child.stdin.write('0x96000045\n'.repeat(1000));
    await first;
    child.stdout.destroy();
    child.stdin.write('0x96000045\n'.repeat(200_000));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect([code, err]).toEqual([141, '']);
  }, 30_000);

  it('stdin is streamed: a value is printed as soon as its line arrives, before stdin ends', async () => {
    const { spawn } = await import('child_process');
    const child = spawn(process.execPath, [CLI, 'decode', '--grep'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const first = new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    child.stdin.write('[ 1.0] ESR = 0xf2000123\n');
    expect(await first).toMatch(/^EC 0x3c BRK64/);
    child.stdin.end();
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
  }, 30_000);
});
