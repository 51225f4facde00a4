//! WAV files: RIFF/WAVE, RF64 and BW64 (64-bit sizes in a `ds64` chunk), with PCM (8-bit
//! unsigned; 16, 24 and 32-bit signed), IEEE float (32 and 64-bit), G.711 A-law and µ-law, each
//! also as `WAVE_FORMAT_EXTENSIBLE`.
//!
//! Chunks may come in any order; unknown chunks are skipped. Every size in a header is checked
//! against the bytes present before anything is allocated. A `data` chunk whose size is
//! 0xFFFFFFFF in a plain RIFF file (what streaming writers leave when they cannot seek back)
//! runs to the end of the file, whole frames only.

use super::pcm::{deinterleave, Encoding};
use super::{Audio, MAX_CHANNELS};
use crate::error::{Error, Result};
use std::path::Path;

/// The tail shared by the `WAVE_FORMAT_EXTENSIBLE` sub-format GUIDs
/// (`xxxxxxxx-0000-0010-8000-00aa00389b71`, the first two bytes being the format tag).
const GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

fn u16le(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32le(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64le(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

/// A name for a WAV format tag, for error messages.
fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG layer I/II",
        0x0055 => "MPEG layer 3",
        0x00FF | 0x1600 | 0x1610 => "AAC",
        0x2000 => "AC-3",
        0xFFFE => "extensible",
        _ => "unknown",
    }
}

/// The `fmt ` chunk, as far as decoding needs it.
struct Fmt {
    tag: u16,
    channels: usize,
    sample_rate: u32,
    block_align: usize,
    bits: u16,
}

fn parse_fmt(b: &[u8], name: &Path) -> Result<Fmt> {
    if b.len() < 16 {
        return Err(Error::format(
            name,
            format!(
                "WAV fmt chunk has {} bytes, at least 16 are needed",
                b.len()
            ),
        ));
    }
    let mut tag = u16le(b, 0);
    let fmt = |tag| Fmt {
        tag,
        channels: u16le(b, 2) as usize,
        sample_rate: u32le(b, 4),
        block_align: u16le(b, 12) as usize,
        bits: u16le(b, 14),
    };
    if tag == 0xFFFE {
        if b.len() < 40 {
            return Err(Error::format(
                name,
                format!(
                    "WAVE_FORMAT_EXTENSIBLE fmt chunk has {} bytes, 40 are needed",
                    b.len()
                ),
            ));
        }
        let guid = &b[24..40];
        if guid[2..] != GUID_TAIL {
            let hex: Vec<String> = guid.iter().map(|c| format!("{c:02x}")).collect();
            return Err(Error::format(
                name,
                format!(
                    "WAVE_FORMAT_EXTENSIBLE sub-format GUID {} is not a standard one; supported \
                     sub-formats: PCM, IEEE float, A-law, µ-law",
                    hex.join("")
                ),
            ));
        }
        tag = u16le(guid, 0);
    }
    Ok(fmt(tag))
}

/// Where the samples are and how they are stored.
fn encoding(f: &Fmt, name: &Path) -> Result<Encoding> {
    if f.channels == 0 || f.channels > MAX_CHANNELS {
        return Err(Error::format(
            name,
            format!(
                "WAV header says {} channels: expected 1 to {MAX_CHANNELS}",
                f.channels
            ),
        ));
    }
    if f.sample_rate == 0 {
        return Err(Error::format(
            name,
            "WAV header says the sample rate is 0 Hz",
        ));
    }
    if f.block_align == 0 || !f.block_align.is_multiple_of(f.channels) {
        return Err(Error::format(
            name,
            format!(
                "WAV block align {} is not a positive multiple of the {} channels",
                f.block_align, f.channels
            ),
        ));
    }
    // the container of one sample; the valid bits, if fewer, are its most significant ones
    let width = f.block_align / f.channels;
    let unsupported = |what: &str| {
        Error::format(
            name,
            format!(
                "WAV {} with {} bits per sample in {width}-byte containers is not supported; \
                 supported: {what}",
                tag_name(f.tag),
                f.bits
            ),
        )
    };
    let bits_fit = f.bits >= 1 && f.bits as usize <= 8 * width;
    match f.tag {
        1 => match width {
            1..=4 if bits_fit => Ok(if width == 1 {
                Encoding::U8
            } else {
                Encoding::Int {
                    bytes: width,
                    big_endian: false,
                }
            }),
            _ => Err(unsupported("PCM of 8, 16, 24 or 32 bits")),
        },
        3 => match (width, f.bits) {
            (4, 32) => Ok(Encoding::F32),
            (8, 64) => Ok(Encoding::F64),
            _ => Err(unsupported("IEEE float of 32 or 64 bits")),
        },
        6 | 7 => match (width, f.bits) {
            (1, 8) => Ok(if f.tag == 6 {
                Encoding::ALaw
            } else {
                Encoding::MuLaw
            }),
            _ => Err(unsupported("G.711 of 8 bits")),
        },
        t => Err(Error::format(
            name,
            format!(
                "WAV format tag {t:#06x} ({}) is not supported; supported: PCM (1), IEEE float \
                 (3), A-law (6), µ-law (7), and WAVE_FORMAT_EXTENSIBLE of these",
                tag_name(t)
            ),
        )),
    }
}

/// Decodes a RIFF/RF64/BW64 WAVE file held in memory.
pub fn decode(b: &[u8], name: &Path) -> Result<Audio> {
    let truncated = |what: String| Error::format(name, format!("truncated WAV file: {what}"));
    if b.len() < 12 {
        return Err(truncated(format!(
            "{} bytes, the RIFF header alone has 12",
            b.len()
        )));
    }
    let wide = &b[..4] != b"RIFF"; // RF64 or BW64
    let mut ds64_data: Option<u64> = None;
    let mut fmt: Option<Fmt> = None;
    let mut data: Option<(usize, u64, bool)> = None; // offset, size, runs to the end
    let len = b.len() as u64;
    let mut pos: u64 = 12;
    while pos + 8 <= len {
        let p = pos as usize;
        let id = &b[p..p + 4];
        let size32 = u32le(b, p + 4);
        let body = pos + 8;
        let mut size = size32 as u64;
        match id {
            b"ds64" => {
                if size < 16 || body + 16 > len {
                    return Err(truncated("the ds64 chunk is shorter than 16 bytes".into()));
                }
                ds64_data = Some(u64le(b, body as usize + 8));
            }
            b"fmt " => {
                if size > len - body {
                    return Err(truncated(format!(
                        "the fmt chunk announces {size} bytes, {} are left",
                        len - body
                    )));
                }
                fmt = Some(parse_fmt(&b[body as usize..(body + size) as usize], name)?);
            }
            b"data" => {
                let mut to_end = false;
                if wide && size32 == 0xFFFF_FFFF {
                    size = ds64_data.ok_or_else(|| {
                        Error::format(
                            name,
                            "RF64 data chunk without a preceding ds64 chunk giving its size",
                        )
                    })?;
                } else if !wide && size32 == 0xFFFF_FFFF {
                    size = len - body;
                    to_end = true;
                }
                if size > len - body {
                    return Err(truncated(format!(
                        "the data chunk announces {size} bytes, the file holds {} after its \
                         header",
                        len - body
                    )));
                }
                data = Some((body as usize, size, to_end));
            }
            _ => {}
        }
        // chunks are padded to an even length
        pos = body.saturating_add(size).saturating_add(size & 1);
        if data.is_some() && fmt.is_some() {
            break;
        }
    }
    let fmt = fmt.ok_or_else(|| Error::format(name, "WAV file has no fmt chunk"))?;
    let (off, size, to_end) =
        data.ok_or_else(|| Error::format(name, "WAV file has no data chunk"))?;
    let enc = encoding(&fmt, name)?;
    let mut size = size as usize;
    if !size.is_multiple_of(fmt.block_align) {
        if to_end {
            size -= size % fmt.block_align;
        } else {
            return Err(Error::format(
                name,
                format!(
                    "WAV data chunk of {size} bytes is not a whole number of {}-byte frames",
                    fmt.block_align
                ),
            ));
        }
    }
    if size == 0 {
        return Err(Error::format(name, "WAV file holds no samples"));
    }
    let channels = deinterleave(&b[off..off + size], fmt.channels, enc, name)?;
    Ok(Audio {
        sample_rate: fmt.sample_rate,
        channels,
    })
}
