/** The README's `console` examples are run against the built CLI, on both backends. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'ts', 'dist', 'cli.js');

/** `$ kvm-debug <args>` lines of ```console blocks, with the output that follows each. */
function examples(): { args: string[]; output: string }[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const out: { args: string[]; output: string }[] = [];
  for (const block of readme.matchAll(/```console\n([\s\S]*?)```/g)) {
    let cur: { args: string[]; lines: string[] } | undefined;
    const flush = () => cur && out.push({ args: cur.args, output: cur.lines.map((l) => `${l}\n`).join('') });
    for (const line of (block[1] ?? '').split('\n').slice(0, -1)) {
      const cmd = /^\$ kvm-debug (.*)$/.exec(line);
      if (cmd) {
        flush();
        cur = { args: (cmd[1] ?? '').split(/\s+/), lines: [] };
      } else {
        cur?.lines.push(line);
      }
    }
    flush();
  }
  return out;
}

const cases = examples();

it('the README has console examples', () => {
  expect(cases.length).toBeGreaterThan(0);
});

describe.each(['native', 'wasm'])('README examples, KVM_DEBUG_BACKEND=%s', (backend) => {
  it.each(cases.map((c) => [c.args.join(' '), c] as const))('kvm-debug %s', (_name, { args, output }) => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      env: { ...process.env, KVM_DEBUG_BACKEND: backend },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(output);
    expect(r.status).toBe(0);
  });
});
