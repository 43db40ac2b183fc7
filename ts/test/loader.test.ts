/** The loader reports which backend it loaded and why; forcing works; KVM never falls back. */
import { loadBackend, loadNative, nativePackage, nativePath, nativePlatform, REQUIRED_FUNCTIONS, wasmPath } from '../src/binding';
import { isError } from '../src/errors';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('loadBackend', () => {
  it.each(['native', 'wasm'] as const)('option backend=%s loads it and says it was forced', (name) => {
    const b = loadBackend({ backend: name });
    expect(b.backend).toBe(name);
    expect(b.reason).toMatch(/^forced by option backend/);
    for (const f of REQUIRED_FUNCTIONS) expect(typeof b.api[f]).toBe('function');
  });

  it.each(['native', 'wasm'] as const)('env KVM_DEBUG_BACKEND=%s loads it and says so', (name) => {
    process.env.KVM_DEBUG_BACKEND = name;
    const b = loadBackend();
    expect(b.backend).toBe(name);
    expect(b.reason).toMatch(/^forced by KVM_DEBUG_BACKEND/);
  });

  it('the option wins over the environment', () => {
    process.env.KVM_DEBUG_BACKEND = 'native';
    expect(loadBackend({ backend: 'wasm' }).backend).toBe('wasm');
  });

  it('defaults to native and says so', () => {
    delete process.env.KVM_DEBUG_BACKEND;
    const b = loadBackend();
    expect(b.backend).toBe('native');
    expect(b.reason).toContain(nativePath() ?? 'no addon');
  });

  it('falls back to wasm for decoding, naming why native failed', () => {
    delete process.env.KVM_DEBUG_BACKEND;
    process.env.KVM_DEBUG_NATIVE = '/nonexistent/kvm-debug.node';
    const b = loadBackend();
    expect(b.backend).toBe('wasm');
    // Both reasons: which wasm serves, and why native could not.
    expect(b.reason.startsWith(
      `fell back to wasm (${wasmPath()}) because native backend unavailable: cannot load /nonexistent/kvm-debug.node: `,
    )).toBe(true);
    expect(b.api.summary(0, 0)).toMatch(/^EC 0x0/);
  });

  it('a forced native backend that cannot load is an error, not a fallback', () => {
    process.env.KVM_DEBUG_NATIVE = '/nonexistent/kvm-debug.node';
    expect(() => loadBackend({ backend: 'native' })).toThrow(
      expect.objectContaining({ code: 'ERR_BACKEND_UNAVAILABLE' }) as Error,
    );
  });

  it('rejects an unknown backend name in the environment', () => {
    process.env.KVM_DEBUG_BACKEND = 'jvm';
    expect(() => loadBackend()).toThrow(/KVM_DEBUG_BACKEND="jvm": expected native or wasm/);
  });
});

describe('nativePlatform and nativePackage', () => {
  it('name the napi-rs platform of this glibc Linux host and its package', () => {
    expect(nativePlatform()).toBe(`linux-${process.arch}-gnu`);
    expect(nativePackage()).toBe(`kvm-debug-linux-${process.arch}-gnu`);
  });
});

describe('loadNative (the KVM path)', () => {
  it('loads the addon', () => {
    expect(typeof loadNative().summary).toBe('function');
  });

  it('throws with the reason instead of falling back', () => {
    process.env.KVM_DEBUG_NATIVE = '/nonexistent/kvm-debug.node';
    let err: unknown;
    try {
      loadNative();
    } catch (e) {
      err = e;
    }
    expect(isError(err)).toBe(true);
    expect((err as { code?: string }).code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect((err as Error).message).toContain('/nonexistent/kvm-debug.node');
  });
});
