//! The allocation-free fast path: ESR_ELx -> EC, class, IL, ISS, ISS2 and the
//! debug facts a run loop needs. (Skeleton: the decoder issue fills it in.)

/// The debug-relevant facts of a syndrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugEvent {
    /// Not a debug exception.
    None,
}

/// Result of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// ESR_ELx.EC, bits 31:26.
    pub ec: u8,
    /// ESR_ELx.IL, bit 25.
    pub il: bool,
    /// ESR_ELx.ISS, bits 24:0.
    pub iss: u32,
    /// ESR_ELx.ISS2, bits 55:32.
    pub iss2: u32,
    /// Debug facts.
    pub debug: DebugEvent,
}

/// Classifies one value without allocating.
pub fn classify(esr: u64) -> Classification {
    Classification {
        ec: ((esr >> 26) & 0x3f) as u8,
        il: (esr >> 25) & 1 == 1,
        iss: (esr & 0x1ff_ffff) as u32,
        iss2: ((esr >> 32) & 0xff_ffff) as u32,
        debug: DebugEvent::None,
    }
}

/// Classifies `values` into `out` (packed form, see [`Classification::pack`]).
pub fn classify_batch(values: &[u64], out: &mut [u32]) {
    for (v, o) in values.iter().zip(out.iter_mut()) {
        *o = ((*v >> 26) & 0x3f) as u32;
    }
}
