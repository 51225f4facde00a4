//! Audio in and out.
//!
//! [`read`] (and [`decode`] for bytes in memory) reads every format the field's corpora come in,
//! detected from the content, never from the file name:
//!
//! | format | how | what is supported |
//! |---|---|---|
//! | WAV (RIFF, RF64, BW64) | own parser ([`wav`]) | PCM 8/16/24/32-bit (any valid bits in those containers), float 32/64, A-law, µ-law, `WAVE_FORMAT_EXTENSIBLE` of each |
//! | NIST SPHERE (TIMIT, LDC) | own parser ([`sphere`]) | PCM 2/3/4-byte in either byte order, µ-law, A-law; shorten-compressed files get an error naming the coding |
//! | FLAC | symphonia | every bit depth, bit-exact |
//! | MP3 (and MPEG layers I/II) | symphonia | encoder delay and padding removed (LAME/Xing tag) |
//! | Ogg Vorbis | symphonia | pre-skip and end trimming from the granule positions |
//! | MP4/M4A: AAC-LC, ALAC | symphonia | the AAC priming samples are *not* removed (see [`compressed`]) |
//! | AIFF/AIFC | symphonia | PCM |
//!
//! Ogg Opus is recognized and refused with a clear error: no pure-Rust Opus decoder is mature
//! enough yet (see [`compressed`]).
//!
//! Integer samples are scaled by 1/2^(B−1) for a B-bit container (so 16-bit 16384 reads 0.5, and
//! a FLAC, WAV or SPHERE file of the same integers reads to the same bits); float samples are
//! taken as they are. Every sample of every channel must be finite. Sizes read from a header are
//! checked against [`MAX_SAMPLES`], [`MAX_CHANNELS`] and against the bytes actually present
//! before anything is allocated, so a header that lies gives an error, not an abort.
//!
//! Writing is WAV only ([`write_wav`], 32-bit float, atomic). Resampling is [`resample`] (a
//! Kaiser-windowed sinc, like SciPy's `resample_poly`): output sample k sits at t = k/fs, and
//! tones up to 0.45 (0.8) of the Nyquist frequency come out at 58 (56) dB SNR. rubato 4's FFT
//! resampler was measured against it (`cargo run --release -p innmf --example
//! resampler_compare`): far more accurate at some ratios (above 200 dB), but its output grid is
//! offset by a ratio-dependent fraction of a sample (−0.5 at 16000→4410 and 48000→44100, +0.18
//! at 44100→16000, where it reaches 57 dB only after the shift), which would move every frame
//! time; so the resampler stays.

pub mod compressed;
mod pcm;
mod resample;
pub mod sphere;
pub mod wav;

use crate::error::{Error, Result};
use std::path::Path;

pub(crate) use resample::{bessel_i0, gcd};
pub use resample::{resample, resample_poly, MAX_RESAMPLE_FACTOR};

/// The most samples (all channels together) a file may decode to: 2^30, 8 GiB as `f64`, about
/// 3 h of 48 kHz stereo. A header announcing more is refused before anything is allocated.
pub const MAX_SAMPLES: u64 = 1 << 30;

/// The most channels a file may have. More is taken to be a corrupt header.
pub const MAX_CHANNELS: usize = 256;

/// The largest file [`read`] opens (8 GiB): files are read whole into memory before decoding,
/// and an uncompressed file this large would already exceed [`MAX_SAMPLES`].
pub const MAX_FILE_BYTES: u64 = MAX_SAMPLES * 8;

/// Decoded audio: one vector per channel, samples in [-1, 1] for integer formats.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels, each the same length.
    pub channels: Vec<Vec<f64>>,
}

/// Which channel(s) to take when a mono signal is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelSelect {
    /// The mean of all channels.
    #[default]
    Mix,
    /// One channel, counted from 0.
    Index(usize),
}

impl Audio {
    /// Number of samples per channel.
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, |c| c.len())
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.len() as f64 / self.sample_rate as f64
    }

    /// A mono signal: the mean of the channels or one of them.
    pub fn mono(&self, select: ChannelSelect) -> Result<Vec<f64>> {
        match select {
            ChannelSelect::Mix => {
                let n = self.channels.len() as f64;
                Ok((0..self.len())
                    .map(|i| self.channels.iter().map(|c| c[i]).sum::<f64>() / n)
                    .collect())
            }
            ChannelSelect::Index(i) => self.channels.get(i).cloned().ok_or_else(|| {
                Error::param(
                    "channel",
                    i,
                    format!("a channel index below {}", self.channels.len()),
                )
            }),
        }
    }
}

/// A container or stream format, as recognized from the first bytes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RIFF/WAVE, RF64 or BW64.
    Wav,
    /// NIST SPHERE (`NIST_1A` header).
    Sphere,
    /// Native FLAC (`fLaC`).
    Flac,
    /// MPEG audio layer I, II or III, possibly behind an ID3v2 tag.
    Mpeg,
    /// AAC in ADTS frames.
    Adts,
    /// Ogg holding Vorbis (or FLAC).
    Ogg,
    /// Ogg holding Opus: recognized, not decoded.
    OggOpus,
    /// ISO base media (MP4, M4A).
    Mp4,
    /// AIFF or AIFF-C.
    Aiff,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Wav => "WAV",
            Format::Sphere => "NIST SPHERE",
            Format::Flac => "FLAC",
            Format::Mpeg => "MPEG audio (MP3)",
            Format::Adts => "AAC (ADTS)",
            Format::Ogg => "Ogg",
            Format::OggOpus => "Ogg Opus",
            Format::Mp4 => "MP4/M4A",
            Format::Aiff => "AIFF",
        })
    }
}

/// What [`read`] accepts, for error messages.
pub const SUPPORTED: &str = "WAV (PCM 8-32 bit, float 32/64, A-law, µ-law, extensible, RF64), \
                             NIST SPHERE, FLAC, MP3, Ogg Vorbis, MP4/M4A (AAC-LC, ALAC), AIFF";

/// The length of an ID3v2 tag at the start of `b` (0 when there is none).
fn id3v2_len(b: &[u8]) -> usize {
    if b.len() >= 10 && &b[..3] == b"ID3" && b[6..10].iter().all(|&x| x < 0x80) {
        let size = b[6..10]
            .iter()
            .fold(0usize, |acc, &x| (acc << 7) | x as usize);
        let footer = if b[5] & 0x10 != 0 { 10 } else { 0 };
        10 + size + footer
    } else {
        0
    }
}

/// Recognizes the format from the first bytes (the file name plays no part).
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let b = bytes;
    let at = |i: usize, magic: &[u8]| b.len() >= i + magic.len() && &b[i..i + magic.len()] == magic;
    if (at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64")) && at(8, b"WAVE") {
        return Some(Format::Wav);
    }
    if at(0, b"NIST_1A") {
        return Some(Format::Sphere);
    }
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        return Some(Format::Aiff);
    }
    if at(4, b"ftyp") {
        return Some(Format::Mp4);
    }
    if at(0, b"OggS") {
        // the first page holds the codec's identification header
        let head = &b[..b.len().min(512)];
        if head.windows(8).any(|w| w == b"OpusHead") {
            return Some(Format::OggOpus);
        }
        return Some(Format::Ogg);
    }
    let skip = id3v2_len(b);
    let rest = b.get(skip..).unwrap_or(&[]);
    if rest.starts_with(b"fLaC") {
        return Some(Format::Flac);
    }
    if rest.len() >= 2 && rest[0] == 0xFF && rest[1] & 0xE0 == 0xE0 {
        // frame sync; layer bits 00 in an MPEG-2/4 header mean ADTS
        return Some(if rest[1] & 0x06 == 0 {
            Format::Adts
        } else {
            Format::Mpeg
        });
    }
    if skip > 0 {
        // an ID3 tag in front of something else: let the demuxers search
        return Some(Format::Mpeg);
    }
    None
}

/// What the first bytes look like, for the error on an unrecognized file.
fn describe_unknown(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "the file is empty".into();
    }
    let head = &bytes[..bytes.len().min(8)];
    let known: &[(&[u8], &str)] = &[
        (b"RIFX", "a big-endian RIFF (RIFX) file"),
        (b"RIFF", "a RIFF file that is not WAVE"),
        (b"\x1A\x45\xDF\xA3", "a Matroska/WebM file"),
        (b"caff", "a Core Audio (CAF) file"),
        (b"wvpk", "a WavPack file"),
        (b"MAC ", "a Monkey's Audio file"),
        (b"ajkg", "a raw shorten stream"),
        (b"#!AMR", "an AMR file"),
        (b".snd", "a Sun/NeXT .au file"),
        (b"PK\x03\x04", "a ZIP archive (or .npz)"),
        (b"\x93NUMPY", "a NumPy .npy array"),
    ];
    for (magic, what) in known {
        if bytes.starts_with(magic) {
            return format!("it is {what}");
        }
    }
    let text = head
        .iter()
        .all(|&c| c.is_ascii_graphic() || c.is_ascii_whitespace());
    let hex: Vec<String> = head.iter().map(|c| format!("{c:02x}")).collect();
    format!(
        "it starts with bytes {}{}",
        hex.join(" "),
        if text { " (text)" } else { "" }
    )
}

/// Decodes audio held in memory; `name` (a path or any label) names the input in errors.
///
/// The format is detected from the content (see the [module docs](self)).
pub fn decode(bytes: &[u8], name: impl AsRef<Path>) -> Result<Audio> {
    let name = name.as_ref();
    let audio =
        match detect(bytes) {
            Some(Format::Wav) => wav::decode(bytes, name)?,
            Some(Format::Sphere) => sphere::decode(bytes, name)?,
            Some(Format::OggOpus) => return Err(Error::format(
                name,
                "Ogg Opus is not supported (no mature pure-Rust Opus decoder yet); convert it to \
                 FLAC or WAV first, e.g. `ffmpeg -i in.opus out.flac`",
            )),
            Some(f) => compressed::decode(bytes, name, f)?,
            None => {
                return Err(Error::format(
                    name,
                    format!(
                        "not a recognized audio file: {}; supported: {SUPPORTED}",
                        describe_unknown(bytes)
                    ),
                ))
            }
        };
    check_audio(&audio, name)?;
    Ok(audio)
}

/// Checks what every decoder returns: samples present, equal channel lengths, all finite.
fn check_audio(a: &Audio, name: &Path) -> Result<()> {
    if a.channels.is_empty() || a.is_empty() {
        return Err(Error::format(name, "the file holds no samples"));
    }
    if a.sample_rate == 0 {
        return Err(Error::format(name, "the sample rate is 0 Hz"));
    }
    let n = a.len();
    for (c, ch) in a.channels.iter().enumerate() {
        if ch.len() != n {
            return Err(Error::format(
                name,
                format!("channel {c} has {} samples, channel 0 has {n}", ch.len()),
            ));
        }
        if let Some(i) = ch.iter().position(|v| !v.is_finite()) {
            return Err(Error::format(
                name,
                format!(
                    "channel {c}, sample {i} is {}: audio samples must be finite",
                    ch[i]
                ),
            ));
        }
    }
    Ok(())
}

/// Reads an audio file of any supported format (see the [module docs](self)).
pub fn read(path: &Path) -> Result<Audio> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::format(path, "is a directory, not an audio file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::format(
            path,
            format!(
                "the file has {} bytes, more than the {MAX_FILE_BYTES} an audio file may have \
                 (at most {MAX_SAMPLES} decoded samples)",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, path)
}

/// Reads an audio file: the same reader as [`read`] (every supported format, not only WAV),
/// under the name the call sites have always used.
pub fn read_wav(path: &Path) -> Result<Audio> {
    read(path)
}

/// Writes a mono 32-bit float WAV file atomically.
///
/// # Errors
/// A non-finite sample or one beyond the f32 range, a sample rate of 0 or above `u32::MAX / 4`
/// (the header's byte rate), the file's I/O.
pub fn write_wav(path: &Path, samples: &[f64], sample_rate: u32) -> Result<()> {
    if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "audio samples to write",
            index: i,
            value: samples[i],
        });
    }
    // the file holds 32-bit floats: a larger sample became inf, and the file could not be read
    if let Some(i) = samples.iter().position(|v| v.abs() > f32::MAX as f64) {
        return Err(Error::param(
            "audio sample to write",
            format!("{} (sample {i})", samples[i]),
            format!(
                "at most {:e} in magnitude (the file holds 32-bit floats)",
                f32::MAX
            ),
        ));
    }
    // the header's byte rate (4 bytes a sample) is a u32: above this it wrapped, and the file
    // written could not be read back
    if sample_rate == 0 || sample_rate > u32::MAX / 4 {
        return Err(Error::param(
            "sample rate",
            sample_rate,
            format!(
                "between 1 and {} Hz (a 32-bit float WAV's byte rate)",
                u32::MAX / 4
            ),
        ));
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    // the file's exact size at once (hound's 68-byte extensible header, 4 bytes a sample): no
    // doubling of a growing buffer (a second copy of a long output while it is moved)
    let mut cursor = std::io::Cursor::new(Vec::with_capacity(68 + 4 * samples.len()));
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec).map_err(|e| Error::format(path, e))?;
        for &s in samples {
            w.write_sample(s as f32)
                .map_err(|e| Error::format(path, e))?;
        }
        w.finalize().map_err(|e| Error::format(path, e))?;
    }
    crate::io::write_atomic(path, &cursor.into_inner())
}

/// Highest sample rate accepted for resampling targets (Hz): 16 × 192 kHz. Higher is a typo.
pub const MAX_SAMPLE_RATE: u32 = 3_072_000;

/// Checks a rate signals are analysed or scored at: 1 kHz (no speech band below it) to
/// [`MAX_SAMPLE_RATE`]; `why` ends the message (" (STOI resamples to 10 kHz)", or "").
///
/// # Errors
/// [`Error::InvalidParameter`] naming `name` and the rate.
pub fn check_sample_rate(name: &'static str, rate: u32, why: &str) -> Result<()> {
    if !(1000..=MAX_SAMPLE_RATE).contains(&rate) {
        return Err(Error::param(
            name,
            rate,
            format!("a sample rate between 1000 and {MAX_SAMPLE_RATE} Hz{why}"),
        ));
    }
    Ok(())
}
/// A mono signal and its sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Samples.
    pub samples: Vec<f64>,
    /// Samples per second.
    pub sample_rate: f64,
}

/// Refuses a silent signal (every sample 0), naming `path`: nothing can be learned from it,
/// and a separation would still hand it part of the mixture.
///
/// # Errors
/// [`Error::Format`] for a silent signal.
pub fn check_audible(samples: &[f64], path: &Path) -> Result<()> {
    if samples.iter().all(|&v| v == 0.0) {
        return Err(Error::format(
            path,
            "the signal is silent (every sample is 0): there is nothing to learn from or score \
             against",
        ));
    }
    Ok(())
}

/// What [`load`] takes from a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadOptions {
    /// One channel (counted from 0; a mono file's only channel whatever the index), or the mean
    /// of all channels (`None`).
    pub channel: Option<usize>,
    /// Resample to this rate (Hz) first.
    pub sample_rate: Option<u32>,
    /// Start of the excerpt (s, ≥ 0).
    pub start: f64,
    /// Length of the excerpt (s, > 0; `None`: to the end).
    pub seconds: Option<f64>,
}

/// Reads an audio file as one mono signal: a channel or the mean of the channels, resampled when
/// asked, then cut to `[start, start + seconds)`.
///
/// # Errors
/// Those of the reader; a channel the file does not have; a negative, non-finite or too late
/// start; a non-positive or non-finite duration; a resampling target of 0 or above
/// [`MAX_SAMPLE_RATE`], or one whose output would exceed [`MAX_SAMPLES`] — each named with the
/// file.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Signal> {
    if !(options.start.is_finite() && options.start >= 0.0) {
        return Err(Error::param("start", options.start, "a time ≥ 0 s"));
    }
    if let Some(d) = options.seconds {
        if !(d.is_finite() && d > 0.0) {
            return Err(Error::param("seconds", d, "a positive duration in seconds"));
        }
    }
    if let Some(to) = options.sample_rate {
        if to == 0 || to > MAX_SAMPLE_RATE {
            return Err(Error::param(
                "sample rate",
                to,
                format!("a resampling target between 1 and {MAX_SAMPLE_RATE} Hz"),
            ));
        }
    }
    let a = read(path)?;
    let select = match options.channel {
        Some(_) if a.channels.len() == 1 => ChannelSelect::Index(0),
        Some(c) => ChannelSelect::Index(c),
        None => ChannelSelect::Mix,
    };
    let mut sr = a.sample_rate;
    let mut x = if a.channels.len() == 1 {
        // one channel (select is Mix or Index(0)): the mean of one channel is the channel, bit
        // for bit; moved, not copied (a long recording's samples are its largest buffer)
        a.channels.into_iter().next().expect("one channel")
    } else {
        a.mono(select).map_err(|e| Error::format(path, e))?
    };
    if let Some(to) = options.sample_rate {
        if to != sr {
            let n = (x.len() as u128 * to as u128).div_ceil(sr as u128);
            if n > MAX_SAMPLES as u128 {
                return Err(Error::param(
                    "sample rate",
                    to,
                    format!(
                        "a rate at which {} ({} samples at {sr} Hz) holds at most {MAX_SAMPLES} \
                         samples",
                        path.display(),
                        x.len()
                    ),
                ));
            }
            x = resample(&x, sr, to)?;
            sr = to;
        }
    }
    let rate = sr as f64;
    let s0 = (options.start * rate).round();
    if s0 >= x.len() as f64 {
        return Err(Error::param(
            "start",
            options.start,
            format!(
                "a time before the end of {} ({:.3} s)",
                path.display(),
                x.len() as f64 / rate
            ),
        ));
    }
    let s0 = s0 as usize;
    let s1 = match options.seconds {
        Some(d) => (s0 as f64 + (d * rate).round()).min(x.len() as f64) as usize,
        None => x.len(),
    };
    x.truncate(s1);
    x.drain(..s0);
    Ok(Signal {
        samples: x,
        sample_rate: rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let x: Vec<f64> = (0..100).map(|i| (i as f64 * 0.1).sin() * 0.5).collect();
        write_wav(&p, &x, 8000).unwrap();
        let a = read_wav(&p).unwrap();
        assert_eq!(a.sample_rate, 8000);
        assert_eq!(a.len(), 100);
        assert!((a.mono(ChannelSelect::Mix).unwrap()[7] - x[7]).abs() < 1e-7);
        assert!(a.mono(ChannelSelect::Index(1)).is_err());
        std::fs::write(dir.path().join("bad.wav"), b"RIFF1234not a wave").unwrap();
        let e = read_wav(&dir.path().join("bad.wav")).unwrap_err();
        assert!(e.to_string().contains("bad.wav"));
        assert!(read_wav(&dir.path().join("missing.wav")).is_err());
        assert!(write_wav(&p, &[f64::NAN], 8000).is_err());
    }

    #[test]
    fn detection_uses_the_content() {
        assert_eq!(detect(b"RIFF\0\0\0\0WAVEfmt "), Some(Format::Wav));
        assert_eq!(detect(b"RF64\xff\xff\xff\xffWAVE"), Some(Format::Wav));
        assert_eq!(detect(b"NIST_1A\n   1024\n"), Some(Format::Sphere));
        assert_eq!(detect(b"fLaC\0\0\0\x22"), Some(Format::Flac));
        assert_eq!(detect(b"\xff\xfb\x90\x00"), Some(Format::Mpeg));
        assert_eq!(detect(b"\xff\xf1\x50\x80"), Some(Format::Adts));
        assert_eq!(detect(b"\0\0\0\x20ftypM4A "), Some(Format::Mp4));
        assert_eq!(detect(b"FORM\0\0\0\0AIFF"), Some(Format::Aiff));
        // an ID3v2 tag of 4 bytes, then FLAC
        assert_eq!(
            detect(b"ID3\x04\0\0\0\0\0\x04\0\0\0\0fLaC"),
            Some(Format::Flac)
        );
        assert_eq!(detect(b"hello world"), None);
        assert_eq!(detect(b""), None);
        let e = decode(b"\x1A\x45\xDF\xA3rest", "x.webm").unwrap_err();
        assert!(e.to_string().contains("Matroska"), "{e}");
        let e = decode(b"hello world", "x.wav").unwrap_err();
        assert!(e.to_string().contains("(text)"), "{e}");
    }
}
