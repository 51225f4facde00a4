//! NIST SPHERE files (TIMIT, and many LDC corpora): an ASCII header (`NIST_1A`, the header
//! size, then `name -type value` lines up to `end_head`) followed by interleaved samples.
//!
//! Supported codings: `pcm` of 2, 3 or 4 bytes in either byte order (`sample_byte_format` `01`,
//! `10`, `012`, `210`, `0123`, `3210`), `ulaw` and `alaw` of one byte. Compressed codings
//! (`pcm,embedded-shorten-v2.00`, `wavpack`, `shortpack`) give an error naming the coding: such
//! files must be decompressed first (`sph2pipe -f rif in.sph out.wav`).
//!
//! Fields read: `sample_rate` (required), `channel_count` (default 1), `sample_n_bytes`
//! (default 2, or 1 for the G.711 codings), `sample_count` (per channel; default: as many whole
//! frames as the file holds), `sample_byte_format`, `sample_coding` (default `pcm`). Bytes after
//! the announced samples are ignored.

use super::pcm::{deinterleave, Encoding};
use super::{Audio, MAX_CHANNELS, MAX_SAMPLES};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The largest header accepted (the standard one is 1024 bytes).
const MAX_HEADER: usize = 1 << 20;

/// Decodes a NIST SPHERE file held in memory.
pub fn decode(b: &[u8], name: &Path) -> Result<Audio> {
    let err = |m: String| Error::format(name, format!("NIST SPHERE: {m}"));
    // "NIST_1A\n" then the header size in ASCII on the second line
    let second: Vec<u8> = b
        .iter()
        .skip(8)
        .take(16)
        .take_while(|&&c| c != b'\n')
        .copied()
        .collect();
    let hsize: usize = std::str::from_utf8(&second)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            err(format!(
                "the second header line {:?} is not a header size",
                String::from_utf8_lossy(&second)
            ))
        })?;
    if !(16..=MAX_HEADER).contains(&hsize) || hsize > b.len() {
        return Err(err(format!(
            "header size {hsize} is impossible for a file of {} bytes (expected 16 to {} and \
             within the file)",
            b.len(),
            MAX_HEADER.min(b.len())
        )));
    }
    let text = String::from_utf8_lossy(&b[..hsize]);
    let mut fields: HashMap<&str, &str> = HashMap::new();
    let mut ended = false;
    for line in text.lines().skip(2) {
        let line = line.trim();
        if line == "end_head" {
            ended = true;
            break;
        }
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let key = parts.next().unwrap_or_default();
        let _ty = parts.next();
        let value = parts.next().unwrap_or_default().trim();
        fields.insert(key, value);
    }
    if !ended {
        return Err(err(format!(
            "no end_head line within the {hsize}-byte header"
        )));
    }
    let int = |key: &str, default: Option<u64>| -> Result<u64> {
        match fields.get(key) {
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| err(format!("{key} = {v:?} is not a non-negative integer"))),
            None => default.ok_or_else(|| err(format!("the header has no {key} field"))),
        }
    };
    let coding = fields
        .get("sample_coding")
        .copied()
        .unwrap_or("pcm")
        .to_ascii_lowercase();
    let compressed = ["shorten", "wavpack", "shortpack"];
    if compressed.iter().any(|c| coding.contains(c)) {
        return Err(err(format!(
            "sample_coding {coding:?} is compressed, which is not supported; supported codings: \
             pcm, ulaw, alaw. Decompress it first, e.g. `sph2pipe -f rif in.sph out.wav`"
        )));
    }
    let law = match coding.as_str() {
        "pcm" => None,
        "ulaw" | "mu-law" => Some(Encoding::MuLaw),
        "alaw" => Some(Encoding::ALaw),
        other => {
            return Err(err(format!(
                "sample_coding {other:?} is not supported; supported codings: pcm, ulaw, alaw"
            )))
        }
    };
    let rate_text = fields
        .get("sample_rate")
        .copied()
        .ok_or_else(|| err("the header has no sample_rate field".into()))?;
    let rate: f64 = rate_text
        .parse()
        .map_err(|_| err(format!("sample_rate = {rate_text:?} is not a number")))?;
    if !(rate >= 1.0 && rate <= u32::MAX as f64 && rate.fract() == 0.0) {
        return Err(err(format!(
            "sample_rate = {rate_text} Hz: expected a positive whole number of Hz"
        )));
    }
    let nch = int("channel_count", Some(1))?;
    if nch == 0 || nch > MAX_CHANNELS as u64 {
        return Err(err(format!(
            "channel_count = {nch}: expected 1 to {MAX_CHANNELS}"
        )));
    }
    let nch = nch as usize;
    let width = int("sample_n_bytes", Some(if law.is_some() { 1 } else { 2 }))?;
    let order = fields.get("sample_byte_format").copied().unwrap_or("");
    let enc = match law {
        Some(l) if width == 1 => l,
        Some(_) => {
            return Err(err(format!(
                "sample_coding {coding} with sample_n_bytes = {width}: G.711 codings have 1 byte"
            )))
        }
        None => {
            let big_endian = match (width, order) {
                (2, "01") | (3, "012") | (4, "0123") => false,
                (2, "10") | (3, "210") | (4, "3210") => true,
                (2..=4, "") => false,
                (2..=4, o) => {
                    return Err(err(format!(
                        "sample_byte_format {o:?} for {width}-byte samples is not supported; \
                         supported: 01/10, 012/210, 0123/3210"
                    )))
                }
                (w, _) => {
                    return Err(err(format!(
                        "pcm with sample_n_bytes = {w} is not supported; supported: 2, 3 or 4 \
                         bytes (1-byte pcm is ambiguous in SPHERE: signed or not)"
                    )))
                }
            };
            Encoding::Int {
                bytes: width as usize,
                big_endian,
            }
        }
    };
    let frame = nch * enc.bytes();
    let available = (b.len() - hsize) / frame;
    let frames = int("sample_count", Some(available as u64))?;
    let total = frames.saturating_mul(nch as u64);
    if total > MAX_SAMPLES {
        return Err(err(format!(
            "sample_count = {frames} of {nch} channels is more than the {MAX_SAMPLES} samples a \
             file may hold"
        )));
    }
    if frames > available as u64 {
        return Err(err(format!(
            "truncated: the header announces {frames} frames of {frame} bytes, the file holds \
             {} bytes of samples",
            b.len() - hsize
        )));
    }
    if frames == 0 {
        return Err(err("the file holds no samples".into()));
    }
    let data = &b[hsize..hsize + frames as usize * frame];
    let channels = deinterleave(data, nch, enc, name)?;
    Ok(Audio {
        sample_rate: rate as u32,
        channels,
    })
}
