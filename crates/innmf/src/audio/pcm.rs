//! Uncompressed sample encodings shared by the WAV and SPHERE readers: interleaved bytes to one
//! `f64` vector per channel.

use super::MAX_SAMPLES;
use crate::error::{Error, Result};
use std::path::Path;

/// How one sample is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Unsigned 8-bit, 128 = silence (WAV's 8-bit PCM).
    U8,
    /// Two's complement integer of 2, 3 or 4 bytes.
    Int {
        /// Bytes per sample.
        bytes: usize,
        /// Byte order.
        big_endian: bool,
    },
    /// IEEE float of 4 bytes (little-endian).
    F32,
    /// IEEE float of 8 bytes (little-endian).
    F64,
    /// G.711 A-law, one byte.
    ALaw,
    /// G.711 µ-law, one byte.
    MuLaw,
}

impl Encoding {
    /// Bytes per sample.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Encoding::U8 | Encoding::ALaw | Encoding::MuLaw => 1,
            Encoding::Int { bytes, .. } => bytes,
            Encoding::F32 => 4,
            Encoding::F64 => 8,
        }
    }
}

/// G.711 µ-law to a 16-bit value (ITU-T G.711; the same table as ffmpeg's `ulaw2linear`).
pub(crate) fn ulaw_to_i16(u: u8) -> i16 {
    let u = !u;
    let mut t = (((u & 0x0F) as i32) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

/// G.711 A-law to a 16-bit value (ITU-T G.711; the same table as ffmpeg's `alaw2linear`).
pub(crate) fn alaw_to_i16(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t = (a & 0x0F) as i32;
    let seg = (a & 0x70) >> 4;
    if seg != 0 {
        t = (t + t + 1 + 32) << (seg + 2);
    } else {
        t = (t + t + 1) << 3;
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// Appends each frame's samples, converted by `conv`, to the channels.
fn fill_with<F: Fn(&[u8]) -> f64>(data: &[u8], width: usize, channels: &mut [Vec<f64>], conv: &F) {
    let frame = width * channels.len();
    for f in data.chunks_exact(frame) {
        for (c, s) in channels.iter_mut().zip(f.chunks_exact(width)) {
            c.push(conv(s));
        }
    }
}

/// Splits interleaved samples into channels. `data` must hold whole frames of `nch` samples.
/// Integers are scaled by 1/2^(bits−1) of their container (G.711 by 1/2^15, as 16-bit values).
pub(crate) fn deinterleave(
    data: &[u8],
    nch: usize,
    enc: Encoding,
    name: &Path,
) -> Result<Vec<Vec<f64>>> {
    let width = enc.bytes();
    let frame = nch * width;
    debug_assert!(nch > 0 && data.len().is_multiple_of(frame));
    let frames = data.len() / frame;
    let total = frames as u64 * nch as u64;
    if total > MAX_SAMPLES {
        return Err(Error::format(
            name,
            format!("{total} samples is more than the {MAX_SAMPLES} a file may hold"),
        ));
    }
    let mut channels: Vec<Vec<f64>> = (0..nch).map(|_| Vec::with_capacity(frames)).collect();
    match enc {
        Encoding::U8 => fill_with(data, width, &mut channels, &|s| {
            (s[0] as f64 - 128.0) / 128.0
        }),
        Encoding::Int { bytes, big_endian } => {
            let scale = 1.0 / (1u64 << (8 * bytes - 1)) as f64;
            let shift = 32 - 8 * bytes as u32;
            // the bytes placed at the top of an i32, then shifted back to extend the sign
            if big_endian {
                fill_with(data, width, &mut channels, &|s| {
                    let v = s.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << shift;
                    ((v as i32) >> shift) as f64 * scale
                })
            } else {
                fill_with(data, width, &mut channels, &|s| {
                    let v = s.iter().rev().fold(0u32, |acc, &b| (acc << 8) | b as u32) << shift;
                    ((v as i32) >> shift) as f64 * scale
                })
            }
        }
        Encoding::F32 => fill_with(data, width, &mut channels, &|s| {
            f32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f64
        }),
        Encoding::F64 => fill_with(data, width, &mut channels, &|s| {
            f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
        }),
        Encoding::ALaw => {
            let table: Vec<f64> = (0..=255u8)
                .map(|b| alaw_to_i16(b) as f64 / 32768.0)
                .collect();
            fill_with(data, width, &mut channels, &|s| table[s[0] as usize])
        }
        Encoding::MuLaw => {
            let table: Vec<f64> = (0..=255u8)
                .map(|b| ulaw_to_i16(b) as f64 / 32768.0)
                .collect();
            fill_with(data, width, &mut channels, &|s| table[s[0] as usize])
        }
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_tables_match_the_standard_end_points() {
        // ITU-T G.711: µ-law 0x00 is −32124, 0x80 is +32124, 0xFF and 0x7F are 0
        assert_eq!(ulaw_to_i16(0x00), -32124);
        assert_eq!(ulaw_to_i16(0x80), 32124);
        assert_eq!(ulaw_to_i16(0xFF), 0);
        assert_eq!(ulaw_to_i16(0x7F), 0);
        // A-law 0xD5 is +8, 0x55 is −8, 0xAA is +32256, 0x2A is −32256
        assert_eq!(alaw_to_i16(0xD5), 8);
        assert_eq!(alaw_to_i16(0x55), -8);
        assert_eq!(alaw_to_i16(0xAA), 32256);
        assert_eq!(alaw_to_i16(0x2A), -32256);
    }

    #[test]
    fn integers_of_every_width_and_order() {
        let p = Path::new("x");
        // −2 and 3 in 24-bit little- and big-endian, 2 channels
        let le = [0xFE, 0xFF, 0xFF, 0x03, 0x00, 0x00];
        let be = [0xFF, 0xFF, 0xFE, 0x00, 0x00, 0x03];
        for (d, big_endian) in [(&le, false), (&be, true)] {
            let ch = deinterleave(
                d,
                2,
                Encoding::Int {
                    bytes: 3,
                    big_endian,
                },
                p,
            )
            .unwrap();
            assert_eq!(ch, vec![vec![-2.0 / 8388608.0], vec![3.0 / 8388608.0]]);
        }
        let ch = deinterleave(&[0, 128, 255], 1, Encoding::U8, p).unwrap();
        assert_eq!(ch, vec![vec![-1.0, 0.0, 127.0 / 128.0]]);
        let ch = deinterleave(
            &i32::MIN.to_le_bytes(),
            1,
            Encoding::Int {
                bytes: 4,
                big_endian: false,
            },
            p,
        )
        .unwrap();
        assert_eq!(ch, vec![vec![-1.0]]);
    }
}
