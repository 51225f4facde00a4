//! Rational resampling with a Kaiser-windowed sinc filter (the same design as SciPy's
//! `resample_poly`).

use crate::error::{Error, Result};

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

/// Largest reduced factor `max(up, down)` [`resample_poly`] accepts: its filter then has 2^26
/// taps (512 MiB). Any two rates up to [`super::MAX_SAMPLE_RATE`] have smaller factors.
pub const MAX_RESAMPLE_FACTOR: usize = (1 << 26) / 20;

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
    // the filter has 20·max(up, down) + 1 taps: a file that claims 4294967295 Hz resampled to
    // 8000 Hz (858993459/1) asked for 137 GB of taps
    if up.max(down) > MAX_RESAMPLE_FACTOR {
        return Err(Error::param(
            "resampling factor",
            format!("{up}/{down}"),
            format!(
                "up and down factors (after reduction) of at most {MAX_RESAMPLE_FACTOR}; the \
                 filter has 20·max(up, down) + 1 taps"
            ),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

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
