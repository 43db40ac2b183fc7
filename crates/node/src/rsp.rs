//! GDB remote protocol frames built from bytes the addon already holds, so a memory reply
//! goes from guest RAM to the socket with no JS pass over it. A frame is `$`, the data, `#`
//! and two hex digits of the modulo-256 sum of the data (gdb docs "Overview"); an `m` reply's
//! data is the bytes in lowercase hex (gdb docs "Packets", `m addr,length`), which never
//! needs escaping. Same bytes as `encodePacket(toHex(bytes))` in ts/src/gdb/packet.ts.

use napi::bindgen_prelude::{Buffer, Uint8Array};
use napi_derive::napi;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
/// `$`, `#` and the two checksum digits.
const FRAME_OVERHEAD: usize = 4;

/// `$<hex of bytes>#<checksum>`.
pub fn hex_frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2 + FRAME_OVERHEAD);
    out.push(b'$');
    let mut sum = 0u8;
    for &b in bytes {
        let hi = HEX_DIGITS[usize::from(b >> 4)];
        let lo = HEX_DIGITS[usize::from(b & 0xf)];
        sum = sum.wrapping_add(hi).wrapping_add(lo);
        out.push(hi);
        out.push(lo);
    }
    out.push(b'#');
    out.push(HEX_DIGITS[usize::from(sum >> 4)]);
    out.push(HEX_DIGITS[usize::from(sum & 0xf)]);
    out
}

/// The framed hex reply for `bytes` (what `Vm.readVirtReply` sends for guest memory).
#[napi(js_name = "hexReplyFrame")]
pub fn hex_reply_frame(bytes: Uint8Array) -> Buffer {
    hex_frame(&bytes).into()
}

#[cfg(test)]
mod tests {
    use super::hex_frame;

    #[test]
    fn frames_hex_with_the_modulo_256_sum() {
        // "OK" is the protocol's own example pair: $OK#9a. Here: bytes 0x1f 0x20 -> "1f20".
        let sum = b"1f20".iter().fold(0u8, |s, &c| s.wrapping_add(c));
        assert_eq!(
            hex_frame(&[0x1f, 0x20]),
            format!("$1f20#{sum:02x}").into_bytes()
        );
        assert_eq!(hex_frame(&[]), b"$#00".to_vec());
        // 64 KiB of 0xff: the sum wraps many times.
        let big = hex_frame(&vec![0xff; 0x10000]);
        let expect = (0x20000u32 * u32::from(b'f')) & 0xff;
        assert_eq!(&big[big.len() - 3..], format!("#{expect:02x}").as_bytes());
    }
}
