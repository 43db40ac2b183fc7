/**
 * The package exports what the README shows: every name a README code block imports from
 * 'kvm-debug' is a runtime export of ts/src/index.ts (or a type it exports).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as api from '../src/index';

const ROOT = path.join(__dirname, '..', '..');

/** Names imported from 'kvm-debug' in the README's code blocks. */
function readmeImports(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const names: string[] = [];
  for (const m of readme.matchAll(/import\s*(type\s*)?\{([^}]*)\}\s*from\s*'kvm-debug'/g)) {
    names.push(...(m[2] as string).split(',').map((n) => n.trim()).filter(Boolean));
  }
  return names;
}

describe('public API', () => {
  test('every name the README imports from kvm-debug is exported', () => {
    const names = readmeImports();
    expect(names.length).toBeGreaterThanOrEqual(7);
    const missing = names.filter((n) => !(n in api));
    expect(missing).toEqual([]);
  });

  test('the GDB server, its listener and the debug-target tools are exported as values', () => {
    for (const name of ['listen', 'GdbListener', 'GdbServer', 'BreakpointTable', 'Session', 'KvmTarget', 'KernelSlide', 'capabilityPolicy']) {
      expect([name, typeof (api as Record<string, unknown>)[name]]).toEqual([name, 'function']);
    }
    expect(api.TARGET_XML).toContain('org.gnu.gdb.aarch64.core');
  });
});
