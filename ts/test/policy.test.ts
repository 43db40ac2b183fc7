import {
  capabilityPolicy,
  isRefusal,
  KVM_GUESTDBG_ENABLE,
  KVM_GUESTDBG_SINGLESTEP,
  KVM_GUESTDBG_USE_HW,
  KVM_GUESTDBG_USE_SW_BP,
  type BreakpointRequest,
  type DebugMode,
  type PolicyCapabilities,
} from '../src/policy';

const FULL: PolicyCapabilities = {
  available: true,
  setGuestDebug: true,
  guestDebugControlMask: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW,
  hwBreakpoints: 6,
  hwWatchpoints: 4,
};
const NO_DEBUG: PolicyCapabilities = { ...FULL, setGuestDebug: false, guestDebugControlMask: 0 };
const NO_KVM: PolicyCapabilities = { available: false, reason: '/dev/kvm: ENOENT', setGuestDebug: false, hwBreakpoints: 0, hwWatchpoints: 0 };
const NO_SW_FLAG: PolicyCapabilities = { ...FULL, guestDebugControlMask: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
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
    expect(r.control === 0).toBe(!want);
  });

  test('the kernel rejecting KVM_SET_GUEST_DEBUG at run time: the guest still runs', () => {
    const r = capabilityPolicy(FULL, { type: 'session', debug: 'auto', controlRejected: 'EINVAL' });
    expect(r).toEqual({ type: 'session', debug: false, control: 0, reason: 'the kernel rejected KVM_SET_GUEST_DEBUG: EINVAL' });
    expect(isRefusal(capabilityPolicy(FULL, { type: 'session', debug: 'require', controlRejected: 'EINVAL' }))).toBe(true);
  });

  test('control flags: sw breakpoints and step always, hw only with slots', () => {
    const r = capabilityPolicy(FULL, { type: 'session', debug: 'auto' });
    expect(r).toMatchObject({ control: 0x30003 });
    const noHw = capabilityPolicy({ ...FULL, hwBreakpoints: 0, hwWatchpoints: 0 }, { type: 'session', debug: 'auto' });
    expect(noHw).toMatchObject({ control: 0x10003 });
    // No SET_GUEST_DEBUG2 mask (older kernel): assume the flags work.
    expect(capabilityPolicy({ ...FULL, guestDebugControlMask: 0 }, { type: 'session', debug: 'auto' })).toMatchObject({ debug: true });
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
    debugEnabled: true,
    memory: { writable: true },
    hwBreakpointsInUse: 0,
    hwWatchpointsInUse: 0,
    ...over,
  });
  const unmapped = { writable: false as const, reason: 'unmapped VA' };

  test.each([
    ['sw on RAM', req({}), { kind: 'sw' }],
    ['sw on unmapped VA, slot free -> hw with a note', req({ memory: unmapped }), { kind: 'hw', note: /placed as a hardware breakpoint: unmapped VA/ }],
    ['sw on unmapped VA, last slot free', req({ memory: unmapped, hwBreakpointsInUse: 5 }), { kind: 'hw', note: /unmapped VA/ }],
    ['sw on unmapped VA, slots full', req({ memory: unmapped, hwBreakpointsInUse: 6 }), { code: 'ERR_NOT_WRITABLE', reason: /unmapped VA.*all 6 hardware breakpoint slots/ }],
    ['sw on not-RAM, no hw at all', req({ memory: unmapped }), { code: 'ERR_NOT_WRITABLE', reason: /no hardware breakpoint slots/ }, { ...FULL, hwBreakpoints: 0 }],
    ['hw, slot free', req({ kind: 'hw', hwBreakpointsInUse: 5 }), { kind: 'hw' }],
    ['hw, slots full', req({ kind: 'hw', hwBreakpointsInUse: 6 }), { code: 'ERR_NO_SLOT', reason: /0x40001000.*all 6 hardware breakpoint slots/ }],
    ['watch write', req({ kind: 'watch-write', length: 8 }), { kind: 'watch-write' }],
    ['watch read, slots full', req({ kind: 'watch-read', hwWatchpointsInUse: 4 }), { code: 'ERR_NO_SLOT', reason: /all 4 hardware watchpoint slots/ }],
    ['watch access too long', req({ kind: 'watch-access', length: 16 }), { code: 'ERR_BAD_LENGTH', reason: /length 16/ }],
    ['debugging off', req({ debugEnabled: false }), { code: 'ERR_DEBUG_OFF', reason: /debugging is off/ }],
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
