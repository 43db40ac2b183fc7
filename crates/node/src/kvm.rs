//! KVM bindings: class `Vm` and `kvmCapabilities()` over the `kvm-debug`
//! crate (contract: docs/native-api.md). Each method converts its arguments,
//! calls one `kvm_debug::Vm` method and converts the result.
//!
//! `run()` never blocks Node: the core runs the vCPU on its own dedicated
//! thread and the promise is settled from there through a napi deferred
//! (a threadsafe function underneath). The deferred owns no reference to the
//! Vm; the job owns the VM's shared state (`Arc`), so a Vm closed or
//! garbage-collected during a run is safe: close()/drop stop the vCPU, the
//! run resolves `interrupted`, and the thread ends before memory is freed.

use kvm_debug::{DebugExit, RemoveAllReport, RunOptions, VmConfig, VmExit, WatchKind, Watchpoint};
use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{BigInt, Buffer, Error, Object, Result, Uint8Array};
use napi::{Env, JsValue};
use napi_derive::napi;
use std::sync::Arc;

/// The JS `Error.code` of a failed call: the core's `Error::code()`.
pub struct KvmCode(&'static str);

impl AsRef<str> for KvmCode {
    fn as_ref(&self) -> &str {
        self.0
    }
}

fn to_js(e: kvm_debug::Error) -> Error<KvmCode> {
    Error::new(KvmCode(e.code()), e.to_string())
}

fn bad_arg(why: String) -> Error<KvmCode> {
    to_js(kvm_debug::Error::BadArgument { why })
}

fn u64_arg(name: &str, v: &BigInt) -> kvm_debug::Result<u64> {
    let (neg, x, lossless) = v.get_u64();
    if neg || !lossless {
        return Err(kvm_debug::Error::BadArgument {
            why: format!("{name} must be a bigint in 0..2^64"),
        });
    }
    Ok(x)
}

fn u64_of(name: &str, v: &BigInt) -> Result<u64, KvmCode> {
    u64_arg(name, v).map_err(to_js)
}

fn u128_of(name: &str, v: &BigInt) -> Result<u128, KvmCode> {
    let (neg, x, lossless) = v.get_u128();
    if neg || !lossless {
        return Err(bad_arg(format!("{name} must be a bigint in 0..2^128")));
    }
    Ok(x)
}

/// What this host's KVM offers (docs/native-api.md `KvmCapabilities`).
#[napi(object)]
pub struct KvmCapabilities {
    pub available: bool,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub arch: String,
    pub vm_supported: bool,
    pub api_version: i32,
    pub set_guest_debug: bool,
    pub guest_debug_control_mask: u32,
    pub hw_breakpoints: u32,
    pub hw_watchpoints: u32,
    pub ipa_size: u32,
    pub one_reg: bool,
    #[napi(js_name = "psci02")]
    pub psci_0_2: bool,
    pub debug_unavailable: Option<String>,
}

/// Probes /dev/kvm. Never throws.
#[napi]
pub fn kvm_capabilities() -> KvmCapabilities {
    let c = kvm_debug::probe();
    KvmCapabilities {
        available: c.available,
        code: c.code.map(str::to_string),
        reason: c.reason,
        arch: c.arch.to_string(),
        vm_supported: c.vm_supported,
        api_version: c.api_version,
        set_guest_debug: c.set_guest_debug,
        guest_debug_control_mask: c.guest_debug_control_mask,
        hw_breakpoints: c.hw_breakpoints,
        hw_watchpoints: c.hw_watchpoints,
        ipa_size: c.ipa_size,
        one_reg: c.one_reg,
        psci_0_2: c.psci_0_2,
        debug_unavailable: c.debug_unavailable,
    }
}

/// Every register name getReg/setReg accept.
#[napi]
pub fn kvm_register_names() -> Vec<String> {
    kvm_debug::arch::aarch64::reg_names()
}

#[napi(object)]
pub struct VmOptions {
    pub mem_mib: u32,
    pub vcpus: Option<u32>,
    pub ram_base: Option<BigInt>,
    /// The Linux board (vGIC + a PL011 served in Rust); absent: bare metal.
    pub board: Option<BoardOptions>,
}

#[napi(object)]
pub struct BoardOptions {
    /// Where the UART's output goes (default 1, stdout).
    pub console_fd: Option<i32>,
}

#[napi(object)]
pub struct LinuxBootOptions {
    pub kernel: Uint8Array,
    pub initrd: Option<Uint8Array>,
    pub cmdline: String,
    pub kaslr_seed: Option<BigInt>,
}

#[napi(object)]
pub struct LinuxBootResult {
    pub kernel: BigInt,
    pub kernel_end: BigInt,
    pub initrd_start: Option<BigInt>,
    pub initrd_end: Option<BigInt>,
    pub dtb_addr: BigInt,
    pub dtb: Buffer,
    /// 'v3' | 'v2'
    pub gic: String,
}

/// A watchpoint: `kind` is 'read' | 'write' | 'access' (gdb's Z3, Z2, Z4).
#[napi(object)]
pub struct WatchpointObject {
    pub addr: BigInt,
    pub len: u32,
    pub kind: String,
}

#[napi(object)]
pub struct RunOpts {
    pub single_step: Option<bool>,
    pub report_reinjections: Option<bool>,
}

#[napi(object)]
pub struct Translation {
    pub va: BigInt,
    pub pa: BigInt,
    pub level: Option<i32>,
    pub page_size: BigInt,
    pub mmu_on: bool,
    pub writable: bool,
}

#[napi(object)]
pub struct Conflict {
    pub addr: BigInt,
    pub code: String,
    pub message: String,
}

#[napi(object)]
pub struct RemoveAllResult {
    pub removed: Vec<BigInt>,
    pub conflicts: Vec<Conflict>,
}

fn report(r: RemoveAllReport) -> RemoveAllResult {
    RemoveAllResult {
        removed: r.removed.into_iter().map(BigInt::from).collect(),
        conflicts: r
            .conflicts
            .into_iter()
            .map(|(a, e)| Conflict {
                addr: a.into(),
                code: e.code().to_string(),
                message: e.to_string(),
            })
            .collect(),
    }
}

/// One exit (docs/native-api.md `VmExit`): `kind` says which fields are set.
#[napi(object)]
#[derive(Default)]
pub struct VmExitObject {
    pub kind: String,
    pub vcpu: u32,
    pub cause: Option<String>,
    pub esr: Option<BigInt>,
    pub ec: Option<u32>,
    pub hsr_high_valid: Option<bool>,
    pub summary: Option<String>,
    pub pc: Option<BigInt>,
    pub far: Option<BigInt>,
    pub watch: Option<WatchpointObject>,
    pub addr: Option<BigInt>,
    pub len: Option<u32>,
    pub is_write: Option<bool>,
    pub data: Option<BigInt>,
    pub event: Option<String>,
    pub event_type: Option<u32>,
    pub event_data: Option<Vec<BigInt>>,
    pub suberror: Option<u32>,
    pub hardware_reason: Option<BigInt>,
    pub cpu: Option<u32>,
    pub elr: Option<BigInt>,
    pub vector: Option<BigInt>,
    pub exit_reason: Option<u32>,
}

fn exit_object(vcpu: u32, e: VmExit) -> VmExitObject {
    let base = |kind: &str| VmExitObject {
        kind: kind.to_string(),
        vcpu,
        ..Default::default()
    };
    match e {
        VmExit::Debug(DebugExit {
            esr,
            hsr_high_valid,
            ec,
            summary,
            pc,
            far,
            watch,
            cause,
        }) => VmExitObject {
            cause: Some(cause.name().to_string()),
            watch: watch.map(watch_object),
            esr: Some(esr.into()),
            ec: Some(ec.into()),
            hsr_high_valid: Some(hsr_high_valid),
            summary: Some(summary),
            pc: Some(pc.into()),
            far: far.map(BigInt::from),
            ..base("debug")
        },
        VmExit::Mmio {
            addr,
            len,
            is_write,
            data,
            pc,
        } => VmExitObject {
            addr: Some(addr.into()),
            len: Some(len),
            is_write: Some(is_write),
            data: Some(data.into()),
            pc: Some(pc.into()),
            ..base("mmio")
        },
        VmExit::SystemEvent { kind, data } => VmExitObject {
            event: Some(kind.name().to_string()),
            event_type: Some(match kind {
                kvm_debug::SystemEventKind::Shutdown => 1,
                kvm_debug::SystemEventKind::Reset => 2,
                kvm_debug::SystemEventKind::Crash => 3,
                kvm_debug::SystemEventKind::Other(n) => n,
            }),
            event_data: Some(data.into_iter().map(BigInt::from).collect()),
            ..base("systemEvent")
        },
        VmExit::InternalError { suberror } => VmExitObject {
            suberror: Some(suberror),
            ..base("internalError")
        },
        VmExit::FailEntry { reason, cpu } => VmExitObject {
            hardware_reason: Some(reason.into()),
            cpu: Some(cpu),
            ..base("failEntry")
        },
        VmExit::Interrupted => base("interrupted"),
        VmExit::Reinjected(r) => VmExitObject {
            esr: Some(r.esr.into()),
            elr: Some(r.elr.into()),
            vector: Some(r.vector.into()),
            ..base("reinjected")
        },
        VmExit::Unknown { reason } => VmExitObject {
            exit_reason: Some(reason),
            ..base("unknown")
        },
    }
}

/// gdb's names of the watch kinds (Z3 read, Z2 write, Z4 access), as TS spells them.
const WATCH_KINDS: [(&str, WatchKind); 3] = [
    ("read", WatchKind::Load),
    ("write", WatchKind::Store),
    ("access", WatchKind::Access),
];

fn watchpoint(w: &WatchpointObject) -> Result<Watchpoint, KvmCode> {
    let kind = WATCH_KINDS
        .iter()
        .find(|(n, _)| *n == w.kind)
        .map(|&(_, k)| k)
        .ok_or_else(|| {
            bad_arg(format!(
                "watchpoint kind {:?} (expected 'read', 'write' or 'access')",
                w.kind
            ))
        })?;
    Ok(Watchpoint {
        addr: u64_of("addr", &w.addr)?,
        len: w.len.into(),
        kind,
    })
}

fn watch_object(w: Watchpoint) -> WatchpointObject {
    let name = WATCH_KINDS
        .iter()
        .find(|(_, k)| *k == w.kind)
        .map_or("access", |(n, _)| n);
    WatchpointObject {
        addr: w.addr.into(),
        len: w.len as u32,
        kind: name.to_string(),
    }
}

/// A KVM VM (docs/native-api.md `class Vm`).
#[napi(js_name = "Vm")]
pub struct JsVm {
    inner: Arc<kvm_debug::Vm>,
}

#[napi]
impl JsVm {
    /// KVM_CREATE_VM + RAM + vCPUs at the entry state.
    #[napi(factory)]
    pub fn create(opts: VmOptions) -> Result<JsVm, KvmCode> {
        let ram_base = match &opts.ram_base {
            Some(b) => u64_of("ramBase", b)?,
            None => kvm_debug::DEFAULT_RAM_BASE,
        };
        let vm = kvm_debug::Vm::create(VmConfig {
            mem_size: u64::from(opts.mem_mib) << 20,
            vcpus: opts.vcpus.unwrap_or(1),
            ram_base,
            board: opts.board.map(|b| kvm_debug::board::BoardConfig {
                console_fd: b.console_fd.unwrap_or(1),
            }),
        })
        .map_err(to_js)?;
        Ok(JsVm {
            inner: Arc::new(vm),
        })
    }

    #[napi(getter)]
    pub fn ram_base(&self) -> BigInt {
        self.inner.ram_base().into()
    }

    #[napi(getter)]
    pub fn ram_size(&self) -> BigInt {
        self.inner.ram_size().into()
    }

    #[napi(getter)]
    pub fn vcpu_count(&self) -> u32 {
        self.inner.vcpu_count()
    }

    /// 'v3' | 'v2' on a board VM, else undefined.
    #[napi(getter)]
    pub fn gic(&self) -> Option<String> {
        self.inner.gic().map(|g| g.name().to_string())
    }

    #[napi]
    pub fn boot_linux(&self, boot: LinuxBootOptions) -> Result<LinuxBootResult, KvmCode> {
        let seed = match &boot.kaslr_seed {
            Some(s) => Some(u64_of("kaslrSeed", s)?),
            None => None,
        };
        let info = self
            .inner
            .boot_linux(&kvm_debug::LinuxBoot {
                kernel: &boot.kernel,
                initrd: boot.initrd.as_deref(),
                cmdline: &boot.cmdline,
                kaslr_seed: seed,
            })
            .map_err(to_js)?;
        let l = info.layout;
        Ok(LinuxBootResult {
            kernel: l.kernel.into(),
            kernel_end: l.kernel_end.into(),
            initrd_start: l.initrd.map(|(s, _)| s.into()),
            initrd_end: l.initrd.map(|(_, e)| e.into()),
            dtb_addr: l.dtb.into(),
            dtb: info.dtb.into(),
            gic: info.gic.name().to_string(),
        })
    }

    #[napi]
    pub fn console_input(&self, bytes: Uint8Array) -> Result<(), KvmCode> {
        self.inner.console_input(&bytes).map_err(to_js)
    }

    #[napi]
    pub fn load_image(&self, gpa: BigInt, bytes: Uint8Array) -> Result<(), KvmCode> {
        self.inner
            .load_image(u64_of("gpa", &gpa)?, &bytes)
            .map_err(to_js)
    }

    #[napi]
    pub fn load_elf(&self, bytes: Uint8Array) -> Result<BigInt, KvmCode> {
        self.inner.load_elf(&bytes).map(BigInt::from).map_err(to_js)
    }

    #[napi]
    pub fn reset_vcpu(&self, vcpu: u32, entry: BigInt) -> Result<(), KvmCode> {
        self.inner
            .reset_vcpu(vcpu, u64_of("entry", &entry)?)
            .map_err(to_js)
    }

    #[napi]
    pub fn get_reg(&self, vcpu: u32, name: String) -> Result<BigInt, KvmCode> {
        self.inner
            .get_reg(vcpu, &name)
            .map(BigInt::from)
            .map_err(to_js)
    }

    #[napi]
    pub fn set_reg(&self, vcpu: u32, name: String, value: BigInt) -> Result<(), KvmCode> {
        let v = u128_of("value", &value)?;
        self.inner.set_reg(vcpu, &name, v).map_err(to_js)
    }

    #[napi]
    pub fn read_phys(&self, gpa: BigInt, len: u32) -> Result<Buffer, KvmCode> {
        self.inner
            .read_phys(u64_of("gpa", &gpa)?, len as usize)
            .map(Buffer::from)
            .map_err(to_js)
    }

    #[napi]
    pub fn write_phys(&self, gpa: BigInt, bytes: Uint8Array) -> Result<(), KvmCode> {
        self.inner
            .write_phys(u64_of("gpa", &gpa)?, &bytes)
            .map_err(to_js)
    }

    // The calls that translate a VA throw errors made by `coded_error`, so a
    // translation failure carries the walker's finer code as `.fault`.

    #[napi]
    pub fn read_virt(&self, env: &Env, vcpu: u32, va: BigInt, len: u32) -> Result<Buffer> {
        let va = u64_arg("va", &va).map_err(|e| coded_error(env, &e))?;
        self.inner
            .read_virt(vcpu, va, len as usize)
            .map(Buffer::from)
            .map_err(|e| coded_error(env, &e))
    }

    /// `readVirt` framed as the GDB `m` reply (crate::rsp): the debugger's memory reads
    /// reach the socket without a JS pass over the bytes.
    #[napi]
    pub fn read_virt_reply(&self, env: &Env, vcpu: u32, va: BigInt, len: u32) -> Result<Buffer> {
        let va = u64_arg("va", &va).map_err(|e| coded_error(env, &e))?;
        self.inner
            .read_virt(vcpu, va, len as usize)
            .map(|bytes| crate::rsp::hex_frame(&bytes).into())
            .map_err(|e| coded_error(env, &e))
    }

    #[napi]
    pub fn write_virt(&self, env: &Env, vcpu: u32, va: BigInt, bytes: Uint8Array) -> Result<()> {
        let va = u64_arg("va", &va).map_err(|e| coded_error(env, &e))?;
        self.inner
            .write_virt(vcpu, va, &bytes)
            .map_err(|e| coded_error(env, &e))
    }

    #[napi]
    pub fn translate(&self, env: &Env, vcpu: u32, va: BigInt) -> Result<Translation> {
        let va = u64_arg("va", &va).map_err(|e| coded_error(env, &e))?;
        let t = self
            .inner
            .translate(vcpu, va)
            .map_err(|e| coded_error(env, &e))?;
        Ok(Translation {
            va: t.va.into(),
            pa: t.pa.into(),
            level: t.level.map(i32::from),
            page_size: t.page_size.into(),
            mmu_on: t.mmu_on,
            writable: t.writable,
        })
    }

    #[napi]
    pub fn insert_sw_breakpoint(&self, gpa: BigInt) -> Result<(), KvmCode> {
        self.inner
            .insert_sw_breakpoint(u64_of("gpa", &gpa)?)
            .map_err(to_js)
    }

    /// Translates `va` of `vcpu` and plants the BRK there; returns the physical address.
    #[napi]
    pub fn insert_sw_breakpoint_virt(&self, env: &Env, vcpu: u32, va: BigInt) -> Result<BigInt> {
        let va = u64_arg("va", &va).map_err(|e| coded_error(env, &e))?;
        self.inner
            .insert_sw_breakpoint_virt(vcpu, va)
            .map(BigInt::from)
            .map_err(|e| coded_error(env, &e))
    }

    #[napi]
    pub fn insert_hw_breakpoint(&self, va: BigInt) -> Result<(), KvmCode> {
        self.inner
            .insert_hw_breakpoint(u64_of("va", &va)?)
            .map_err(to_js)
    }

    #[napi]
    pub fn remove_hw_breakpoint(&self, va: BigInt) -> Result<(), KvmCode> {
        self.inner
            .remove_hw_breakpoint(u64_of("va", &va)?)
            .map_err(to_js)
    }

    #[napi]
    pub fn hw_breakpoints(&self) -> Vec<BigInt> {
        self.inner
            .hw_breakpoints()
            .into_iter()
            .map(BigInt::from)
            .collect()
    }

    #[napi]
    pub fn insert_watchpoint(&self, w: WatchpointObject) -> Result<(), KvmCode> {
        self.inner.insert_watchpoint(watchpoint(&w)?).map_err(to_js)
    }

    #[napi]
    pub fn remove_watchpoint(&self, w: WatchpointObject) -> Result<(), KvmCode> {
        self.inner.remove_watchpoint(watchpoint(&w)?).map_err(to_js)
    }

    #[napi]
    pub fn watchpoints(&self) -> Vec<WatchpointObject> {
        self.inner
            .watchpoints()
            .into_iter()
            .map(watch_object)
            .collect()
    }

    #[napi]
    pub fn probe_guest_debug(&self) -> Result<(), KvmCode> {
        self.inner.probe_guest_debug().map_err(to_js)
    }

    #[napi]
    pub fn turn_debug_off(&self, reason: String) -> Result<RemoveAllResult, KvmCode> {
        self.inner
            .turn_debug_off(&reason)
            .map(report)
            .map_err(to_js)
    }

    #[napi]
    pub fn remove_sw_breakpoint(&self, gpa: BigInt) -> Result<(), KvmCode> {
        self.inner
            .remove_sw_breakpoint(u64_of("gpa", &gpa)?)
            .map_err(to_js)
    }

    #[napi]
    pub fn remove_all(&self) -> RemoveAllResult {
        report(self.inner.remove_all_sw_breakpoints())
    }

    #[napi]
    pub fn sw_breakpoints(&self) -> Vec<BigInt> {
        self.inner
            .sw_breakpoints()
            .into_iter()
            .map(BigInt::from)
            .collect()
    }

    #[napi]
    pub fn set_mmio_read_data(&self, vcpu: u32, data: BigInt) -> Result<(), KvmCode> {
        self.inner
            .set_mmio_read_data(vcpu, u64_of("data", &data)?)
            .map_err(to_js)
    }

    #[napi]
    pub fn reinjections(&self, vcpu: u32) -> Result<f64, KvmCode> {
        self.inner
            .reinjections(vcpu)
            .map(|n| n as f64)
            .map_err(to_js)
    }

    /// Runs the vCPU on its dedicated thread; the promise settles from there.
    /// A failed run rejects with an Error whose `.code` is the core's code.
    #[napi(ts_return_type = "Promise<VmExitObject>")]
    pub fn run<'env>(
        &self,
        env: &'env Env,
        vcpu: u32,
        opts: Option<RunOpts>,
    ) -> Result<Object<'env>, KvmCode> {
        type Resolver = Box<dyn FnOnce(Env) -> Result<VmExitObject> + Send>;
        let (deferred, promise) = env
            .create_deferred::<VmExitObject, Resolver>()
            .map_err(|e| bad_arg(format!("cannot create a promise: {e}")))?;
        let opts = RunOptions {
            single_step: opts.as_ref().and_then(|o| o.single_step).unwrap_or(false),
            report_reinjections: opts.and_then(|o| o.report_reinjections).unwrap_or(false),
        };
        self.inner
            .run_async(
                vcpu,
                opts,
                Box::new(move |r| {
                    deferred.resolve(Box::new(move |env| match r {
                        Ok(exit) => Ok(exit_object(vcpu, exit)),
                        Err(e) => Err(coded_error(&env, &e)),
                    }))
                }),
            )
            .map_err(to_js)?;
        Ok(promise)
    }

    #[napi]
    pub fn stop(&self, vcpu: u32) -> Result<(), KvmCode> {
        self.inner.stop(vcpu).map_err(to_js)
    }

    #[napi]
    pub fn is_running(&self, vcpu: u32) -> Result<bool, KvmCode> {
        self.inner.is_running(vcpu).map_err(to_js)
    }

    #[napi]
    pub fn detach(&self) -> Result<RemoveAllResult, KvmCode> {
        self.inner.detach().map(report).map_err(to_js)
    }

    #[napi]
    pub fn close(&self) -> Result<RemoveAllResult, KvmCode> {
        self.inner.close().map(report).map_err(to_js)
    }
}

/// A JS Error with `.code` = the core's code (and `.fault` = the page-table
/// walker's code for a translation failure), made as a JS value: napi's
/// deferred rejects with a plain `Error`, and one made from a JS value is
/// thrown as is, so this serves both promises and synchronous calls.
fn coded_error(env: &Env, e: &kvm_debug::Error) -> Error {
    let make = || -> Result<Error> {
        let mut obj = env.create_error(Error::new(napi::Status::GenericFailure, e.to_string()))?;
        obj.set_named_property("code", e.code())?;
        if let Some(fault) = e.fault_code() {
            obj.set_named_property("fault", fault)?;
        }
        Ok(Error::from(obj.to_unknown()))
    };
    make().unwrap_or_else(|_| Error::new(napi::Status::GenericFailure, e.to_string()))
}
