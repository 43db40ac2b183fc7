import {
  capabilityPolicy,
  isRefusal,
  type BreakpointRequest,
  type DebugMode,
  type PolicyCapabilities,
} from '../src/policy';

// The control bits and their mask are the Rust probe's to judge (caps.rs debug_verdict, with
// its own tests); the policy takes its verdict, `debugUnavailable`, as it comes.
const FULL: PolicyCapabilities = { available: true, hwBreakpoints: 6, hwWatchpoints: 4 };
const NO_DEBUG: PolicyCapabilities = { ...FULL, debugUnavailable: 'the kernel lacks KVM_CAP_SET_GUEST_DEBUG' };
const NO_KVM: PolicyCapabilities = { available: false, reason: '/dev/kvm: ENOENT', hwBreakpoints: 0, hwWatchpoints: 0 };
const NO_SW_FLAG: PolicyCapabilities = {
  ...FULL,
  debugUnavailable: 'the kernel rejects guest-debug control flags 0x10000 (KVM_CAP_SET_GUEST_DEBUG2 mask 0x3)',
};
const X86_HOST: PolicyCapabilities = { ...FULL, arch: 'x86_64', vmSupported: false };

describe('session policy', () => {
  // [caps, mode, expected debug (or 'refused'), reason pattern]
  const table: [string, PolicyCapabilities, DebugMode, boolean | 'refused', RegExp | undefined][] = [
    ['full/auto', FULL, 'auto', true, undefined],
    ['full/require', FULL, 'require', true, undefined],
    ['full/off', FULL, 'off', false, /turned off/],
    ['no cap/auto', NO_DEBUG, 'auto', false, /KVM_CAP_SET_GUEST_DEBUG/],
    ['no cap/require', NO_DEBUG, 'require', 'refused', /required but the kernel lacks KVM_CAP_SET_GUEST_DEBUG/],
    ['no cap/off', NO_DEBUG, 'off', false, /turned off/],
    ['flags rejected/auto', NO_SW_FLAG, 'auto', false, /rejects guest-debug control flags 0x10000/],
    ['flags rejected/require', NO_SW_FLAG, 'require', 'refused', /rejects guest-debug control flags/],
    ['no kvm/auto', NO_KVM, 'auto', false, /KVM unavailable: \/dev\/kvm: ENOENT/],
    ['no kvm/require', NO_KVM, 'require', 'refused', /KVM unavailable/],
    ['x86_64 host/auto', X86_HOST, 'auto', false, /this host \(x86_64\) cannot create arm64 VMs/],
    ['x86_64 host/require', X86_HOST, 'require', 'refused', /required but this host \(x86_64\)/],
  ];
  test.each(table)('%s', (_name, caps, debug, want, reason) => {
    const r = capabilityPolicy(caps, { type: 'session', debug });
    if (want === 'refused') {
      expect(isRefusal(r)).toBe(true);
      if (!isRefusal(r)) return;
      expect(r.code).toBe('ERR_DEBUG_UNAVAILABLE');
      expect(r.reason).toMatch(reason as RegExp);
      return;
    }
    expect(isRefusal(r)).toBe(false);
    if (isRefusal(r)) return;
    expect(r.debug).toBe(want);
    if (reason) expect(r.reason).toMatch(reason);
    else expect(r.reason).toBeUndefined();
  });

  test('the kernel rejecting KVM_SET_GUEST_DEBUG at run time: the guest still runs', () => {
    const r = capabilityPolicy(FULL, { type: 'session', debug: 'auto', controlRejected: 'EINVAL' });
    expect(r).toEqual({ type: 'session', debug: false, reason: 'the kernel rejected KVM_SET_GUEST_DEBUG: EINVAL' });
    expect(isRefusal(capabilityPolicy(FULL, { type: 'session', debug: 'require', controlRejected: 'EINVAL' }))).toBe(true);
  });

  test('pure: same inputs, same output, inputs untouched', () => {
    const caps = { ...FULL };
    const a = capabilityPolicy(caps, { type: 'session', debug: 'auto' });
    const b = capabilityPolicy(caps, { type: 'session', debug: 'auto' });
    expect(a).toEqual(b);
    expect(caps).toEqual(FULL);
  });
});

describe('breakpoint policy', () => {
  const req = (over: Partial<BreakpointRequest>): BreakpointRequest => ({
    type: 'breakpoint',
    kind: 'sw',
    addr: 0x40001000n,
    length: 4,
    ...over,
  });
  const unmapped = { writable: false as const, reason: 'unmapped VA' };

  test.each([
    ['sw, not tried yet', req({}), { kind: 'sw' }],
    ['sw on patchable memory', req({ memory: { writable: true } }), { kind: 'sw' }],
    ['sw the target could not patch -> hw with a note', req({ memory: unmapped }), { kind: 'hw', note: /placed as a hardware breakpoint: unmapped VA/ }],
    ['sw on not-RAM, no hw at all', req({ memory: unmapped }), { code: 'ERR_NOT_WRITABLE', reason: /unmapped VA.*no hardware breakpoint slots/ }, { ...FULL, hwBreakpoints: 0 }],
    ['hw', req({ kind: 'hw' }), { kind: 'hw' }],
    ['hw, no slots at all', req({ kind: 'hw' }), { code: 'ERR_HW_SLOTS', reason: /0x40001000.*no hardware breakpoint slots/ }, { ...FULL, hwBreakpoints: 0 }],
    ['watch write', req({ kind: 'watch-write', length: 8 }), { kind: 'watch-write' }],
    ['watch read, no slots at all', req({ kind: 'watch-read' }), { code: 'ERR_HW_SLOTS', reason: /no hardware watchpoint slots/ }, { ...FULL, hwWatchpoints: 0 }],
    ['watch access too long', req({ kind: 'watch-access', length: 16 }), { code: 'ERR_BAD_LENGTH', reason: /length 16/ }],
  ] as [string, BreakpointRequest, { kind?: string; note?: RegExp; code?: string; reason?: RegExp }, PolicyCapabilities?][])(
    '%s',
    (_name, request, want, caps = FULL) => {
      const r = capabilityPolicy(caps, request);
      if (want.code !== undefined) {
        expect(isRefusal(r)).toBe(true);
        if (!isRefusal(r)) return;
        expect(r.code).toBe(want.code);
        expect(r.reason).toMatch(want.reason as RegExp);
      } else {
        expect(isRefusal(r)).toBe(false);
        if (isRefusal(r)) return;
        expect(r.kind).toBe(want.kind);
        if (want.note) expect(r.note).toMatch(want.note);
        else expect(r.note).toBeUndefined();
      }
    },
  );
});
