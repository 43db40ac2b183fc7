//! The one uniform field tree that every renderer (CLI text, one-line summary,
//! JSON, both bindings) consumes.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;

/// One named bit field of a register value, with its meaning and sub-fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Architectural field name, e.g. `EC`, `ISS`, `WnR`.
    pub name: Cow<'static, str>,
    /// Most significant bit, inclusive.
    pub hi: u8,
    /// Least significant bit, inclusive.
    pub lo: u8,
    /// The field's raw value (already shifted down to bit 0).
    #[serde(serialize_with = "hex")]
    pub value: u64,
    /// What the value means, in the Arm ARM's words where possible.
    pub meaning: Option<Cow<'static, str>>,
    /// Sub-fields, most significant first.
    pub fields: Vec<Field>,
}

fn hex<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

impl Field {
    /// A field of `value` (the whole register) spanning bits `hi..=lo`.
    pub fn of(name: impl Into<Cow<'static, str>>, value: u64, hi: u8, lo: u8) -> Field {
        Field {
            name: name.into(),
            hi,
            lo,
            value: extract(value, hi, lo),
            meaning: None,
            fields: Vec::new(),
        }
    }

    /// Sets the meaning.
    pub fn meaning(mut self, m: impl Into<Cow<'static, str>>) -> Field {
        self.meaning = Some(m.into());
        self
    }

    /// Sets the sub-fields.
    pub fn with(mut self, fields: Vec<Field>) -> Field {
        self.fields = fields;
        self
    }

    /// Finds a direct or nested sub-field by name (depth first).
    pub fn find(&self, name: &str) -> Option<&Field> {
        if self.name == name {
            return Some(self);
        }
        self.fields.iter().find_map(|f| f.find(name))
    }

    /// Multi-line text, one field per line, indented by depth.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out, 0);
        out
    }

    fn write_text(&self, out: &mut String, depth: usize) {
        let bits = if self.hi == self.lo {
            format!("[{}]", self.hi)
        } else {
            format!("[{}:{}]", self.hi, self.lo)
        };
        let _ = write!(
            out,
            "{:indent$}{} {} {:#x}",
            "",
            self.name,
            bits,
            self.value,
            indent = depth * 2
        );
        if let Some(m) = &self.meaning {
            let _ = write!(out, ": {m}");
        }
        out.push('\n');
        for f in &self.fields {
            f.write_text(out, depth + 1);
        }
    }

    /// JSON: `{"name","hi","lo","value":"0x..","meaning","fields":[..]}`.
    /// `value` is a hex string because JSON numbers cannot carry 64 bits.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Field always serialises")
    }
}

/// Bits `hi..=lo` of `value`, shifted down.
#[inline]
pub const fn extract(value: u64, hi: u8, lo: u8) -> u64 {
    let width = hi - lo + 1;
    if width >= 64 {
        value
    } else {
        (value >> lo) & ((1u64 << width) - 1)
    }
}
