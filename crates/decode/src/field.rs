//! The one uniform field tree that every renderer (CLI text, one-line summary,
//! JSON, both bindings) consumes.

use serde::Serialize;
use std::borrow::Cow;

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

    /// Appends [`Field::to_text`]'s lines to `out`, indented for `depth`.
    pub fn write_text(&self, out: &mut String, depth: usize) {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push_str(&self.name);
        out.push_str(" [");
        push_decimal(out, self.hi);
        if self.hi != self.lo {
            out.push(':');
            push_decimal(out, self.lo);
        }
        out.push_str("] ");
        push_hex(out, self.value);
        if let Some(m) = &self.meaning {
            out.push_str(": ");
            out.push_str(m);
        }
        out.push('\n');
        for f in &self.fields {
            f.write_text(out, depth + 1);
        }
    }

    /// JSON: `{"name","hi","lo","value":"0x..","meaning","fields":[..]}`.
    /// `value` is a hex string because JSON numbers cannot carry 64 bits.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.write_json(&mut out);
        out
    }

    /// Appends [`Field::to_json`] to `out`: serde_json's output for this
    /// struct, byte for byte (a test holds them equal), written by hand
    /// because serde_json took 1.6 µs a tree.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"name\":");
        push_json_string(out, &self.name);
        out.push_str(",\"hi\":");
        push_decimal(out, self.hi);
        out.push_str(",\"lo\":");
        push_decimal(out, self.lo);
        out.push_str(",\"value\":\"");
        push_hex(out, self.value);
        out.push_str("\",\"meaning\":");
        match &self.meaning {
            Some(m) => push_json_string(out, m),
            None => out.push_str("null"),
        }
        out.push_str(",\"fields\":[");
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            f.write_json(out);
        }
        out.push_str("]}");
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it (RFC 8259
/// section 7: `"`, `\\` and the control characters; short forms where JSON has them).
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if short.is_empty() {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends `v` in decimal (`core::fmt` cost more than the rest of a line).
fn push_decimal(out: &mut String, v: u8) {
    if v >= 10 {
        push_decimal(out, v / 10);
    }
    out.push(char::from(b'0' + v % 10));
}

/// Appends `v` as `{:#x}` writes it: `0x`, then hex digits without leading zeros.
fn push_hex(out: &mut String, v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push_str("0x");
    let digits = (64 - v.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(char::from(DIGITS[((v >> (i * 4)) & 0xf) as usize]));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_json_is_serde_json_byte_for_byte() {
        let mut v: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            v ^= v << 13;
            v ^= v >> 7;
            v ^= v << 17;
            for value in [v, v & 0xffff_ffff, v & 0x00ff_ffff_ffff_ffff] {
                let tree = crate::decode(value);
                assert_eq!(
                    tree.to_json(),
                    serde_json::to_string(&tree).unwrap(),
                    "{value:#x}"
                );
            }
        }
        let odd = Field::of("q\"\\\u{1}\u{8}\u{c}\n\r\t\u{1f}é\u{7f}", 5, 3, 0)
            .meaning("a \"quoted\" \u{0} thing");
        assert_eq!(odd.to_json(), serde_json::to_string(&odd).unwrap());
    }

    #[test]
    fn push_hex_and_push_decimal_write_what_format_writes() {
        for v in [
            0u64,
            1,
            9,
            0xa,
            0xf,
            0x10,
            0x45,
            0x9600_0045,
            0xdead_beef_0000_0001,
            u64::MAX,
        ] {
            let mut s = String::new();
            push_hex(&mut s, v);
            assert_eq!(s, format!("{v:#x}"));
        }
        for v in [0u8, 5, 9, 10, 25, 63, 99, 100, 255] {
            let mut s = String::new();
            push_decimal(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }
}
