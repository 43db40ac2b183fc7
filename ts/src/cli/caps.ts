/**
 * `kvm-debug caps [--json] [--debug require|auto|off]`
 *
 * What KVM offers on this host (the addon's kvmCapabilities()) and what the
 * capability policy makes of it: whether a session would debug the guest, and if
 * not, why. Text for people, `--json` (one object) for scripts. Exit 0 when the
 * report was made, even when KVM is unavailable (the report says so), except that
 * `--debug require` exits 1 when guest debugging is unavailable (so a script can gate on
 * it); 1 when the addon cannot be loaded; 2 on bad usage.
 */
import { messageOf } from '../errors';
import { capabilityPolicy, isRefusal, type DebugMode } from '../policy';
import type { KvmCapabilities, KvmModule } from '../vmm/native-vm';
import { Exit, type CliIo, type Command } from './command';
import { helpText, parseCommandLine, type CommandLine } from './options';
import { hostProblem, loadKvm } from '../vmm/host';

const LINE: CommandLine = {
  name: 'caps',
  synopsis: ['[options]'],
  options: {
    json: { type: 'boolean', description: 'one JSON object: the capabilities plus the debug plan' },
    debug: {
      type: 'string',
      choices: ['require', 'auto', 'off'],
      description: 'the policy request to evaluate (default auto);\nrequire: exit 1 when guest debugging is unavailable',
    },
  },
};
const USAGE = helpText(LINE);

/** The debug verdict of the policy for these capabilities (pure; no VM is created). */
export function debugVerdict(caps: KvmCapabilities, mode: DebugMode): { mode: DebugMode; enabled: boolean; reason?: string } {
  const plan = capabilityPolicy(caps, { type: 'session', debug: mode });
  if (isRefusal(plan)) return { mode, enabled: false, reason: `${plan.reason} [${plan.code}]` };
  const out: { mode: DebugMode; enabled: boolean; reason?: string } = { mode, enabled: plan.debug };
  if (plan.reason !== undefined) out.reason = plan.reason;
  return out;
}

function yes(b: boolean): string {
  return b ? 'yes' : 'no';
}

/** The human-readable report. */
export function capsText(caps: KvmCapabilities, mode: DebugMode): string {
  const v = debugVerdict(caps, mode);
  const rows: [string, string][] = [
    ['KVM', caps.available ? `available (API version ${caps.apiVersion})` : `unavailable: ${caps.reason ?? '?'} [${caps.code ?? '?'}]`],
    ['host arch', caps.arch],
    ['arm64 VMs', yes(caps.vmSupported)],
    ['KVM_CAP_SET_GUEST_DEBUG', yes(caps.setGuestDebug)],
    ['guest-debug control mask', `0x${caps.guestDebugControlMask.toString(16)}${caps.guestDebugControlMask === 0 ? ' (KVM_CAP_SET_GUEST_DEBUG2 not reported)' : ''}`],
    ['hardware breakpoints', String(caps.hwBreakpoints)],
    ['hardware watchpoints', String(caps.hwWatchpoints)],
    ['IPA size', caps.ipaSize === 0 ? 'not reported (40 bits)' : `${caps.ipaSize} bits`],
    ['KVM_CAP_ONE_REG', yes(caps.oneReg)],
    ['PSCI 0.2', yes(caps.psci02)],
    ['guest debugging', v.enabled ? `on (--debug ${mode})` : `off (--debug ${mode}): ${v.reason ?? ''}`],
  ];
  const problem = hostProblem(caps);
  if (problem !== undefined) rows.push(['kvm-debug run', `not possible here: ${problem}`]);
  const w = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, val]) => `${(k + ':').padEnd(w + 1)}${val}`).join('\n') + '\n';
}

/** Runs `caps` with an injectable addon loader (tests). */
export async function runCaps(args: string[], io: CliIo, load: () => KvmModule = loadKvm): Promise<number> {
  const parsed = parseCommandLine(LINE, args);
  if (typeof parsed === 'string' || parsed.positionals.length > 0) {
    const why = typeof parsed === 'string' ? parsed : `unknown argument ${JSON.stringify(parsed.positionals[0])}`;
    io.stderr.write(`kvm-debug caps: ${why}\n${USAGE}`);
    return Exit.BadInput;
  }
  if (parsed.help) {
    io.stdout.write(USAGE);
    return Exit.Ok;
  }
  const json = parsed.values.json === true;
  const mode = (parsed.values.debug ?? 'auto') as DebugMode;
  let caps: KvmCapabilities;
  try {
    caps = load().kvmCapabilities();
  } catch (e) {
    io.stderr.write(`kvm-debug caps: ${messageOf(e)}\n`);
    return Exit.Failure;
  }
  const verdict = debugVerdict(caps, mode);
  if (json) {
    const problem = hostProblem(caps);
    const out = { ...caps, debug: verdict, ...(problem !== undefined ? { runProblem: problem } : {}) };
    io.stdout.write(JSON.stringify(out) + '\n');
  } else {
    io.stdout.write(capsText(caps, mode));
  }
  if (mode === 'require' && !verdict.enabled) {
    io.stderr.write(`kvm-debug caps: --debug require: guest debugging is unavailable here: ${verdict.reason ?? 'no reason given'}\n`);
    return Exit.Failure;
  }
  return Exit.Ok;
}

/** The `caps` subcommand. */
export const command: Command = {
  summary: 'what KVM offers here and whether guest debugging is possible (--json)',
  usage: USAGE,
  run: (args, io) => runCaps(args, io),
};
