//! Breakpoint instruction codec. (Skeleton: filled in by the codec work.)

/// A breakpoint instruction kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakpointKind {
    /// A64 `BRK #imm16`.
    Brk64,
    /// A64 `HLT #imm16`.
    Hlt64,
    /// A32 `BKPT #imm16`.
    Bkpt32,
    /// T32 `BKPT #imm8`.
    Bkpt16,
}
