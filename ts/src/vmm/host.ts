/**
 * Host checks shared by `kvm-debug run` and `kvm-debug caps`: loading the addon's KVM
 * API (never a fallback: the KVM path is native only) and the host checks with
 * what to do about each failure.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadNative } from '../binding';
import { codedError } from '../errors';
import type { KvmCapabilities, KvmModule } from './native-vm';

/** The addon's KVM API, or ERR_BACKEND_UNAVAILABLE saying why not. */
export function loadKvm(): KvmModule {
  const mod = loadNative() as unknown as Partial<KvmModule>;
  if (typeof mod.kvmCapabilities !== 'function' || typeof mod.Vm?.create !== 'function') {
    throw codedError('ERR_BACKEND_UNAVAILABLE', 'the native addon has no KVM API (kvmCapabilities, Vm): rebuild it (npm run build:native)');
  }
  return mod as KvmModule;
}

/** The package's root: ts/src/vmm or ts/dist/vmm, three levels up. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A checkout has the emulated arm64 lane; an installed package does not. */
export function isCheckout(root: string = PACKAGE_ROOT): boolean {
  return fs.existsSync(path.join(root, 'scripts', 'arm64', 'lane.sh'));
}

/** What to do on x86_64 (or any non-arm64 host), for a checkout or for an installed package. */
export function emulatedHint(checkout: boolean = isCheckout()): string {
  return checkout
    ? 'on x86_64 use `npm start`, which boots the emulated arm64 machine (qemu-system-aarch64 with KVM inside) and runs kvm-debug there, or `npm run test:arm64`'
    : 'run it on an arm64 Linux host with /dev/kvm (a cloud arm64 instance, or an arm64 VM with nested virtualization); `kvm-debug decode` and `kvm-debug symbols` work on any host';
}

/** Why `run` cannot create a VM on this host, with what to do; undefined when it can. */
export function hostProblem(caps: KvmCapabilities): string | undefined {
  const problems: string[] = [];
  if (caps.arch !== 'aarch64') {
    problems.push(`this host is ${caps.arch}, not arm64: kvm-debug runs arm64 guests on arm64 KVM only; ${emulatedHint()}`);
  }
  if (!caps.available) {
    const why = caps.reason ?? 'no reason given';
    switch (caps.code) {
      case 'ERR_NO_KVM':
        problems.push(
          `no /dev/kvm (${why}) [ERR_NO_KVM]: load the KVM module (modprobe kvm), enable virtualization in the firmware, or use a machine or VM that exposes KVM`,
        );
        break;
      case 'ERR_KVM_PERMISSION':
        problems.push(
          `cannot open /dev/kvm (${why}) [ERR_KVM_PERMISSION]: join the kvm group (sudo usermod -aG kvm $USER, then log in again) or run as root`,
        );
        break;
      default:
        problems.push(`KVM is unavailable (${why}) [${caps.code ?? 'ERR_KVM_IOCTL'}]`);
    }
  } else if (caps.arch === 'aarch64' && !caps.vmSupported) {
    problems.push('KVM answered but cannot create arm64 VMs here');
  }
  return problems.length > 0 ? problems.join('; and ') : undefined;
}
