//! Audio in and out: WAV files (8/16/24/32-bit integer and 32-bit float PCM) and rational
//! resampling with a Kaiser-windowed sinc filter (the same design as SciPy's `resample_poly`).

use crate::error::{Error, Result};
use std::path::Path;

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

/// Reads a WAV file. Integer samples are scaled by 1/2^(bits−1).
pub fn read_wav(path: &Path) -> Result<Audio> {
    let mut reader = hound::WavReader::open(path).map_err(|e| match e {
        hound::Error::IoError(io) => Error::io(path, io),
        other => Error::format(path, format!("not a readable WAV file: {other}")),
    })?;
    let spec = reader.spec();
    let nch = spec.channels as usize;
    if nch == 0 || spec.sample_rate == 0 {
        return Err(Error::format(
            path,
            "WAV header has no channels or a zero sample rate",
        ));
    }
    let interleaved: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .map(|s| s.map(|v| v as f64))
            .collect::<std::result::Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f64 * scale))
                .collect::<std::result::Result<_, _>>()
        }
    }
    .map_err(|e| Error::format(path, format!("corrupt WAV data: {e}")))?;
    if interleaved.is_empty() {
        return Err(Error::format(path, "WAV file holds no samples"));
    }
    let mut channels = vec![Vec::with_capacity(interleaved.len() / nch); nch];
    for frame in interleaved.chunks_exact(nch) {
        for (c, &v) in channels.iter_mut().zip(frame) {
            c.push(v);
        }
    }
    if let Some(i) = channels[0].iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "audio samples",
            index: i,
            value: channels[0][i],
        });
    }
    Ok(Audio {
        sample_rate: spec.sample_rate,
        channels,
    })
}

/// Writes a mono 32-bit float WAV file atomically.
pub fn write_wav(path: &Path, samples: &[f64], sample_rate: u32) -> Result<()> {
    if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "audio samples to write",
            index: i,
            value: samples[i],
        });
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
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

/// Greatest common divisor.
pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Modified Bessel function of the first kind, order 0 (power series).
pub(crate) fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..500 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// The anti-aliasing filter `resample_poly` uses: a Kaiser(β = 5) windowed sinc with cutoff
/// 1/max(up, down) (of Nyquist), 20·max(up, down) + 1 taps, unit DC gain, times `up`.
fn polyphase_filter(up: usize, down: usize) -> Vec<f64> {
    let max_rate = up.max(down);
    let half_len = 10 * max_rate;
    let n = 2 * half_len + 1;
    let cutoff = 1.0 / max_rate as f64;
    let beta = 5.0;
    let alpha = (n - 1) as f64 / 2.0;
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let m = i as f64 - alpha;
            let x = cutoff * m;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let r = 2.0 * i as f64 / (n - 1) as f64 - 1.0;
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta);
            cutoff * sinc * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v *= up as f64 / s);
    h
}

/// Resamples by the rational factor `up/down` with a zero-phase polyphase FIR filter; the output
/// has `ceil(len·up/down)` samples and is aligned with the input (sample 0 stays at time 0),
/// like `scipy.signal.resample_poly(x, up, down)`.
pub fn resample_poly(x: &[f64], up: usize, down: usize) -> Result<Vec<f64>> {
    if up == 0 || down == 0 {
        return Err(Error::param(
            "resampling factor",
            format!("{up}/{down}"),
            "positive integers",
        ));
    }
    if x.is_empty() {
        return Err(Error::Empty {
            what: "signal to resample",
        });
    }
    let g = gcd(up as u64, down as u64) as usize;
    let (up, down) = (up / g, down / g);
    if up == 1 && down == 1 {
        return Ok(x.to_vec());
    }
    let h = polyphase_filter(up, down);
    let half_len = (h.len() - 1) / 2;
    let n_out = (x.len() * up).div_ceil(down);
    let pre_pad = down - half_len % down;
    let pre_remove = (half_len + pre_pad) / down;
    let mut y = vec![0.0; n_out];
    for (j, out) in y.iter_mut().enumerate() {
        // position in the upsampled, filtered stream (filter shifted by pre_pad)
        let m = (j + pre_remove) * down;
        // h index q = m − i·up − pre_pad must lie in [0, len(h))
        let hi = m.saturating_sub(pre_pad);
        let i_max = (hi / up).min(x.len() - 1);
        let lo = (m as i64 - pre_pad as i64 - h.len() as i64 + 1).max(0) as usize;
        let i_min = lo.div_ceil(up);
        let mut acc = 0.0;
        if m >= pre_pad {
            for i in i_min..=i_max {
                acc += h[m - pre_pad - i * up] * x[i];
            }
        }
        *out = acc;
    }
    Ok(y)
}

/// Resamples from `from` Hz to `to` Hz (see [`resample_poly`]).
pub fn resample(x: &[f64], from: u32, to: u32) -> Result<Vec<f64>> {
    let g = gcd(from as u64, to as u64);
    resample_poly(x, (to as u64 / g) as usize, (from as u64 / g) as usize)
}

/// Highest sample rate accepted for resampling targets (Hz): 16 × 192 kHz. Higher is a typo.
pub const MAX_SAMPLE_RATE: u32 = 3_072_000;
/// Most samples a resampled or loaded signal may hold (about 6 hours at 48 kHz, 8 GB of f64).
pub const MAX_SAMPLES: usize = 1 << 30;

/// A mono signal and its sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Samples.
    pub samples: Vec<f64>,
    /// Samples per second.
    pub sample_rate: f64,
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
    let a = read_wav(path)?;
    let select = match options.channel {
        Some(_) if a.channels.len() == 1 => ChannelSelect::Index(0),
        Some(c) => ChannelSelect::Index(c),
        None => ChannelSelect::Mix,
    };
    let mut x = a.mono(select).map_err(|e| Error::format(path, e))?;
    let mut sr = a.sample_rate;
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
    fn resampling_keeps_a_low_tone_and_length() {
        let sr = 44100.0;
        let x: Vec<f64> = (0..44100)
            .map(|i| (2.0 * std::f64::consts::PI * 220.0 * i as f64 / sr).sin())
            .collect();
        let y = resample_poly(&x, 1, 10).unwrap();
        assert_eq!(y.len(), 4410);
        // interior samples match the tone at the new rate
        for (j, v) in y.iter().enumerate().skip(200).take(4000) {
            let want = (2.0 * std::f64::consts::PI * 220.0 * j as f64 / 4410.0).sin();
            assert!((v - want).abs() < 2e-3, "sample {j}: {v} vs {want}");
        }
        let z = resample(&x[..16000], 16000, 10000).unwrap();
        assert_eq!(z.len(), 10000);
    }
}
