//! Compressed formats through [symphonia](https://crates.io/crates/symphonia) 0.6 (pure Rust,
//! MPL-2.0): FLAC, MPEG audio layers I–III, Ogg Vorbis, AAC-LC and ALAC in MP4/M4A, AAC in ADTS,
//! AIFF.
//!
//! - **Strict decoding**: a packet that fails to decode, a container error before the end, a
//!   stream that ends before the frame count its header announces, or a FLAC stream whose MD5
//!   signature disagrees with the decoded samples is an error naming the file and the frame, not
//!   a glitch skipped in silence.
//! - **Encoder delay**: symphonia removes it where the container says how much it is (MP3 with a
//!   LAME/Xing tag, Ogg Vorbis pre-skip and end trimming, FLAC has none). For AAC in MP4 the
//!   priming samples (1024 for most encoders, stated in an edit list symphonia 0.6 does not
//!   apply) are *kept*: the signal starts 1024 samples late, as with `ffmpeg -i x.m4a` without
//!   its edit-list handling. The test suite checks both facts on fixtures.
//! - **Opus**: not decoded. Symphonia has no Opus decoder (its adapter wraps the C libopus) and
//!   the pure-Rust decoders on crates.io (opus-decoder, opus-pure, mousiki) are 0.1–0.2 releases
//!   by single authors; Ogg Opus files get an error asking for a conversion instead.
//! - **Robustness**: the decoder runs under `catch_unwind`, so a panic inside symphonia on a
//!   crafted file is an error, not an abort; the decoded length is checked against
//!   [`MAX_SAMPLES`] before each packet is appended, and the number of packets is bounded by the
//!   number of bytes (so a container describing billions of empty packets cannot hang).

use super::{Audio, Format, MAX_CHANNELS, MAX_SAMPLES};
use crate::error::{Error, Result};
use std::path::Path;
use symphonia::core::codecs::audio::well_known as codec;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

/// A name for a codec symphonia can identify but not decode here.
fn codec_name(id: AudioCodecId) -> String {
    let known = [
        (codec::CODEC_ID_VORBIS, "Vorbis"),
        (codec::CODEC_ID_OPUS, "Opus"),
        (codec::CODEC_ID_SPEEX, "Speex"),
        (codec::CODEC_ID_MP1, "MPEG layer I"),
        (codec::CODEC_ID_MP2, "MPEG layer II"),
        (codec::CODEC_ID_MP3, "MP3"),
        (codec::CODEC_ID_AAC, "AAC"),
        (codec::CODEC_ID_AC3, "AC-3"),
        (codec::CODEC_ID_EAC3, "E-AC-3"),
        (codec::CODEC_ID_DCA, "DTS"),
        (codec::CODEC_ID_WMA, "WMA"),
        (codec::CODEC_ID_FLAC, "FLAC"),
        (codec::CODEC_ID_WAVPACK, "WavPack"),
        (codec::CODEC_ID_ALAC, "ALAC"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map_or_else(|| format!("codec id {id}"), |(_, n)| n.to_string())
}

/// Decodes a compressed file held in memory (`format` as [`super::detect`] found it).
pub fn decode(bytes: &[u8], name: &Path, format: Format) -> Result<Audio> {
    let run = std::panic::AssertUnwindSafe(|| decode_inner(bytes, name, format));
    match std::panic::catch_unwind(run) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(Error::format(
                name,
                format!("the {format} decoder failed on this (corrupt?) file: {msg}"),
            ))
        }
    }
}

fn decode_inner(bytes: &[u8], name: &Path, format: Format) -> Result<Audio> {
    let fail = |what: &str, e: SymError| -> Error {
        let detail = match e {
            SymError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                "unexpected end of file (truncated)".to_string()
            }
            other => other.to_string(),
        };
        Error::format(name, format!("{format}: {what}: {detail}"))
    };
    let source = Box::new(std::io::Cursor::new(bytes));
    let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let mut reader = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| fail("not a readable stream", e))?;
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(|| Error::format(name, format!("{format}: the file has no audio track")))?;
    let track_id = track.id;
    let announced = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| {
            Error::format(
                name,
                format!("{format}: the audio track has no codec parameters"),
            )
        })?
        .clone();
    let registry = symphonia::default::get_codecs();
    if registry.get_audio_decoder(params.codec).is_none() {
        return Err(Error::format(
            name,
            format!(
                "{format} holding {} is not supported; supported: {}",
                codec_name(params.codec),
                super::SUPPORTED
            ),
        ));
    }
    let mut opts = AudioDecoderOptions::default();
    opts.verify = true;
    let mut decoder = registry
        .make_audio_decoder(&params, &opts)
        .map_err(|e| fail(&format!("cannot decode {}", codec_name(params.codec)), e))?;

    let mut channels: Vec<Vec<f64>> = Vec::new();
    let mut rate = 0u32;
    let mut frames: u64 = 0;
    let mut packets: u64 = 0;
    let max_packets = bytes.len() as u64 + 64;
    let mut planar: Vec<Vec<f64>> = Vec::new();
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::ResetRequired) => {
                return Err(Error::format(
                    name,
                    format!(
                        "{format}: a new stream starts after frame {frames} (a chained file); \
                         only single streams are supported"
                    ),
                ))
            }
            Err(e) => return Err(fail(&format!("after frame {frames}"), e)),
        };
        packets += 1;
        if packets > max_packets {
            return Err(Error::format(
                name,
                format!(
                    "{format}: the container describes more packets than the file has bytes \
                     ({}): corrupt",
                    bytes.len()
                ),
            ));
        }
        if packet.track_id != track_id {
            continue;
        }
        let buf = decoder
            .decode(&packet)
            .map_err(|e| fail(&format!("corrupt packet after frame {frames}"), e))?;
        let spec = buf.spec();
        let nch = spec.channels().count();
        if nch == 0 || nch > MAX_CHANNELS || spec.rate() == 0 {
            return Err(Error::format(
                name,
                format!(
                    "{format}: decoded {nch} channels at {} Hz: expected 1 to {MAX_CHANNELS} \
                     channels at a positive rate",
                    spec.rate()
                ),
            ));
        }
        if channels.is_empty() {
            channels = vec![Vec::new(); nch];
            rate = spec.rate();
        } else if nch != channels.len() || spec.rate() != rate {
            return Err(Error::format(
                name,
                format!(
                    "{format}: the stream changes from {} channels at {rate} Hz to {nch} at {} Hz \
                     after frame {frames}; a fixed layout is needed",
                    channels.len(),
                    spec.rate()
                ),
            ));
        }
        let n = buf.frames() as u64;
        if (frames + n) * nch as u64 > MAX_SAMPLES {
            return Err(Error::format(
                name,
                format!(
                    "{format}: more than {MAX_SAMPLES} samples (the most a file may hold) after \
                     frame {frames}"
                ),
            ));
        }
        buf.copy_to_vecs_planar::<f64>(&mut planar);
        for (dst, src) in channels.iter_mut().zip(&planar) {
            dst.extend_from_slice(&src[..buf.frames()]);
        }
        frames += n;
    }
    if let Some(want) = announced {
        if frames < want {
            return Err(Error::format(
                name,
                format!(
                    "{format}: the header announces {want} frames, the stream holds {frames}: \
                     the file is truncated or corrupt"
                ),
            ));
        }
    }
    if decoder.finalize().verify_ok == Some(false) {
        return Err(Error::format(
            name,
            format!(
                "{format}: the decoded samples do not match the checksum the encoder stored \
                 (corrupt file)"
            ),
        ));
    }
    if frames == 0 {
        return Err(Error::format(
            name,
            format!("{format}: the file holds no samples"),
        ));
    }
    Ok(Audio {
        sample_rate: rate,
        channels,
    })
}
