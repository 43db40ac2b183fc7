/**
 * The npm packages as a user gets them (issue 9): scripts/pack.sh packs the
 * main package and the host's platform package; each scenario installs the
 * tarballs into an empty directory with no registry access (--offline, an
 * empty cache, a dead registry address) and uses the package from there:
 * the CLI through npx, a CommonJS require, an ESM import and a `tsc --strict`
 * check of consumer files. Once with the native package, once without it,
 * where the wasm build must serve decoding and the KVM path must refuse.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativePlatform } from '../../src/binding';

const REPO = path.resolve(__dirname, '..', '..', '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const PLATFORM_PACKAGE = `kvm-debug-${nativePlatform()}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-debug-pack-'));
const tarballs = path.join(tmp, 'npm');
const tarball = (name: string): string => path.join(tarballs, `${name}-${VERSION}.tgz`);

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, KVM_DEBUG_BACKEND: '', KVM_DEBUG_NATIVE: '' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** An empty project with `packages` installed from tarballs, never from a registry. */
function install(name: string, packages: string[]): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true }));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--registry', 'http://127.0.0.1:9/', '--cache', path.join(tmp, `cache-${name}`), ...packages], dir);
  return dir;
}

const CJS = `
const k = require('kvm-debug');
const b = k.defaultBackend();
console.log(JSON.stringify({ backend: b.backend, reason: b.reason, summary: k.summary(0x96000045n), ec: k.decodeTree(0x96000045n).fields.find((f) => f.name === 'EC').value }));
`;
const ESM = `
import { defaultBackend, summary, listen } from 'kvm-debug';
import k from 'kvm-debug';
console.log(JSON.stringify({ backend: defaultBackend().backend, summary: summary(0x96000045n), listen: typeof listen, same: k.summary === summary }));
`;
const CONSUMER_MTS = `
import { decodeTree, summary, loadBackend, type Field, type Backend } from 'kvm-debug';
const b: Backend = loadBackend({ backend: 'wasm' });
const tree: Field = decodeTree(0x96000045n, b);
const line: string = summary('0x96000045');
export const names: string[] = [tree.name, line, ...tree.fields.map((f) => f.name)];
`;
const CONSUMER_CTS = `
import k = require('kvm-debug');
export const s: string = k.summary(0xf2000123n);
`;

beforeAll(() => {
  execFileSync('bash', [path.join(REPO, 'scripts', 'pack.sh'), tarballs], { cwd: REPO, stdio: 'pipe' });
}, 120000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the Node version', () => {
  it('CI (.nvmrc, which setup.sh enforces), engines and @types/node name the same Node', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    const ci = fs.readFileSync(path.join(REPO, '.nvmrc'), 'utf8').trim();
    expect(pkg.engines.node).toBe(`>=${ci}`);
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${ci}\\.`));
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(Number(ci));
  });
});

describe('the tarballs', () => {
  it('hold the TS build, the wasm build, types and licences, and no tests, sources or leftovers', () => {
    const files = run('tar', ['tzf', tarball('kvm-debug')], tmp).trim().split('\n');
    const bytes = fs.statSync(tarball('kvm-debug')).size;
    console.log(`kvm-debug-${VERSION}.tgz: ${files.length} files, ${(bytes / 1024).toFixed(1)} KiB`);
    for (const f of ['package/ts/dist/index.js', 'package/ts/dist/index.mjs', 'package/ts/dist/index.d.ts', 'package/ts/dist/index.d.mts',
      'package/ts/dist/cli.js', 'package/crates/wasm/pkg/kvm_debug_wasm.js', 'package/crates/wasm/pkg/kvm_debug_wasm_bg.wasm',
      'package/LICENSE-MIT', 'package/LICENSE-APACHE', 'package/README.md']) {
      expect(files).toContain(f);
    }
    const unwanted = files.filter((f) => /\/test\/|\.test\.|\.rs$|\.map$|\.tsbuildinfo$|\/ts\/src\/|Cargo\.|\.node$|\.gitignore$/.test(f));
    expect(unwanted).toEqual([]);
    const pkg = JSON.parse(run('tar', ['xzOf', tarball('kvm-debug'), 'package/package.json'], tmp)) as Record<string, unknown>;
    expect(pkg.scripts).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toEqual({ 'kvm-debug-linux-arm64-gnu': VERSION, 'kvm-debug-linux-x64-gnu': VERSION });
  });

  it(`${PLATFORM_PACKAGE} holds the stripped addon, limited to its os, cpu and libc`, () => {
    const files = run('tar', ['tzf', tarball(PLATFORM_PACKAGE)], tmp).trim().split('\n').sort();
    expect(files).toEqual(['package/LICENSE-APACHE', 'package/LICENSE-MIT', 'package/README.md',
      `package/kvm-debug.${nativePlatform()}.node`, 'package/package.json']);
    const pkg = JSON.parse(run('tar', ['xzOf', tarball(PLATFORM_PACKAGE), 'package/package.json'], tmp)) as Record<string, unknown>;
    expect(pkg).toMatchObject({ os: ['linux'], cpu: [process.arch], libc: ['glibc'], main: `kvm-debug.${nativePlatform()}.node` });
    const addon = path.join(tmp, 'addon.node');
    fs.writeFileSync(addon, execFileSync('tar', ['xzOf', tarball(PLATFORM_PACKAGE), `package/kvm-debug.${nativePlatform()}.node`]));
    expect(run('readelf', ['-S', '-W', addon], tmp)).not.toContain('.symtab');
  });
});

describe.each([
  { scenario: 'with the native package', native: true },
  { scenario: 'without it (wasm serves)', native: false },
])('installed $scenario', ({ native }) => {
  let dir = '';
  beforeAll(() => {
    dir = install(native ? 'native' : 'wasm', native ? [tarball('kvm-debug'), tarball(PLATFORM_PACKAGE)] : [tarball('kvm-debug')]);
  }, 120000);

  it('npx kvm-debug decode 0xf2000123 prints the BRK64 tree', () => {
    const out = run('npx', ['--offline', '--no-install', 'kvm-debug', 'decode', '0xf2000123'], dir);
    expect(out).toMatch(/^EC 0x3c BRK64 \(AArch64\) comment 0x123\n/);
    expect(out).toContain('Comment [15:0] 0x123');
  });

  it('a CommonJS require loads the expected backend and decodes', () => {
    fs.writeFileSync(path.join(dir, 'cjs.js'), CJS);
    const r = JSON.parse(run('node', ['cjs.js'], dir)) as { backend: string; reason: string; summary: string; ec: string };
    expect(r.backend).toBe(native ? 'native' : 'wasm');
    expect(r.summary).toMatch(/^EC 0x25 DABT_CUR /);
    expect(r.ec).toBe('0x25');
    if (native) {
      expect(r.reason).toContain(path.join('node_modules', PLATFORM_PACKAGE, `kvm-debug.${nativePlatform()}.node`));
    } else {
      // Both reasons: the wasm build that serves, and why no addon loaded.
      expect(r.reason).toContain(`fell back to wasm (${path.join(fs.realpathSync(dir), 'node_modules', 'kvm-debug', 'crates', 'wasm', 'pkg', 'kvm_debug_wasm.js')})`);
      expect(r.reason).toContain(`package ${PLATFORM_PACKAGE} is not installed`);
    }
  });

  it('an ESM import sees the same API', () => {
    fs.writeFileSync(path.join(dir, 'esm.mjs'), ESM);
    const r = JSON.parse(run('node', ['esm.mjs'], dir)) as Record<string, unknown>;
    expect(r).toEqual({ backend: native ? 'native' : 'wasm', summary: expect.stringMatching(/^EC 0x25 DABT_CUR /) as unknown, listen: 'function', same: true });
  });

  it('consumer files pass tsc --strict (ESM and CommonJS, nodenext)', () => {
    fs.writeFileSync(path.join(dir, 'consumer.mts'), CONSUMER_MTS);
    fs.writeFileSync(path.join(dir, 'consumer.cts'), CONSUMER_CTS);
    run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--noEmit',
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2020',
      '--typeRoots', path.join(REPO, 'node_modules', '@types'), '--types', 'node',
      'consumer.mts', 'consumer.cts'], dir);
  });

  it(native ? 'the KVM path loads the addon' : 'the KVM path refuses rather than falling back', () => {
    const r = spawnSync('npx', ['--offline', '--no-install', 'kvm-debug', 'caps'], { cwd: dir, encoding: 'utf8', env: { ...process.env, KVM_DEBUG_BACKEND: '' } });
    if (native) {
      expect(r.stderr).not.toContain('backend unavailable');
      expect(r.stdout).toMatch(/\S/);
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`native backend unavailable: no addon for ${nativePlatform()}`);
    }
  });
});
