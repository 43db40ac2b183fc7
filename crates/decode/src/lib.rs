//! Pure core of kvm-debug: no JavaScript, no OS, no I/O.
//!
//! * [`esr`]: ESR_ELx syndrome decoding into one uniform [`field::Field`] tree,
//!   plus an allocation-free fast path ([`classify`](mod@classify)).
//! * [`insn`]: the breakpoint instruction codec (A64 BRK/HLT, A32/T32 BKPT).
//! * [`patch`]: patch plans for inserting and removing software breakpoints.
//! * [`exception`]: exception-entry arithmetic (vector offsets, SPSR, PSTATE).
//! * [`kallsyms`]: the kernel's symbol table recovered from an arm64 `Image`.
//! * [`kaslr`]: where a running kernel's KASLR slide is read, found in its `Image`.
//! * [`walk`]: the stage-1 EL1&0 page-table walker over any [`walk::PhysRead`]
//!   (guest RAM on KVM, or a page-table dump on any OS).
//!
//! References are to the Arm Architecture Reference Manual for A-profile
//! (Arm ARM, DDI 0487, issue L.a) unless stated otherwise.
#![deny(missing_docs)]

pub mod classify;
pub mod error;
pub mod esr;
pub mod exception;
pub mod field;
pub mod insn;
pub mod kallsyms;
pub mod kaslr;
pub mod packed;
pub mod patch;
pub mod walk;

pub use classify::{class_name, classify, classify_batch, Classification, DebugEvent, CLASS_NAMES};
pub use error::Error;
pub use esr::{decode, esr_from_kvm_debug_exit, summary, summary_of};
pub use field::Field;
pub use insn::BreakpointKind;

/// How [`render_many`] writes each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// Its summary line, then its text tree; values are separated by a blank line.
    Text,
    /// Its JSON tree on one line.
    Json,
}

/// The decoder's output for many values in one string, as `kvm-debug decode`
/// prints it; with `continued`, the first value follows earlier output (in
/// text, a blank line before it). One call for a block of values: crossing
/// into JS twice per value cost more than decoding it.
pub fn render_many(values: &[u64], rendering: Rendering, continued: bool) -> String {
    let mut out = String::with_capacity(values.len() * 512);
    for (i, &v) in values.iter().enumerate() {
        let tree = decode(v);
        match rendering {
            Rendering::Text => {
                if continued || i > 0 {
                    out.push('\n');
                }
                out.push_str(&summary_of(v, &tree));
                out.push('\n');
                tree.write_text(&mut out, 0);
            }
            Rendering::Json => {
                out.push_str(&tree.to_json());
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_many_is_each_value_rendered_alone() {
        let values = [0xf200_0123, 0x9600_0045, 0x0000_0001_be00_2000, 0];
        let text: Vec<String> = values
            .iter()
            .map(|&v| format!("{}\n{}", summary(v), decode(v).to_text()))
            .collect();
        assert_eq!(
            render_many(&values, Rendering::Text, false),
            text.join("\n")
        );
        assert_eq!(
            render_many(&values[1..], Rendering::Text, true),
            format!("\n{}", text[1..].join("\n"))
        );
        let json: String = values.iter().map(|&v| decode(v).to_json() + "\n").collect();
        assert_eq!(render_many(&values, Rendering::Json, false), json);
        assert_eq!(render_many(&values, Rendering::Json, true), json);
        assert_eq!(render_many(&[], Rendering::Text, true), "");
    }
}
