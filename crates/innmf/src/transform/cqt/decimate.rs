//! Decimation by two for the [`Vqt`](super::Vqt)'s octave-by-octave analysis: a Kaiser-windowed
//! half-band low-pass filter designed for 120 dB, then every other sample.

use std::f64::consts::PI;

/// Edge of the flat passband of [`decimate2`], as a fraction of the input rate.
pub(super) const DECIMATE_PASS: f64 = 0.16;

/// Half-band low-pass taps `h[k]`, k = −H..=H (cutoff a quarter of the rate): a Kaiser-windowed
/// sinc designed for 120 dB (β = 0.1102·(120 − 8.7)) with a transition band from 0.16 to 0.34 of
/// the rate; every even tap but the centre is zero. Unit gain at DC.
pub(super) fn halfband_taps() -> Vec<f64> {
    const HALF: usize = 26;
    let beta = 0.1102 * (120.0 - 8.7);
    let i0b = crate::audio::bessel_i0(beta);
    let mut h: Vec<f64> = (0..=2 * HALF)
        .map(|i| {
            let k = i as f64 - HALF as f64;
            let sinc = if k == 0.0 {
                0.5
            } else if (i + HALF).is_multiple_of(2) {
                0.0
            } else {
                (0.5 * PI * k).sin() / (PI * k)
            };
            let r = k / HALF as f64;
            sinc * crate::audio::bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b
        })
        .collect();
    let s: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= s);
    h
}

/// Low-pass filters and keeps every other sample: `y[n] = Σ_k h[k]·x[2n − k]` for every n where
/// it can be nonzero. `x[i]` is sample `base + i` (zero elsewhere); returns `(y, base')` with
/// `y[i]` sample `base' + i` at half the rate (sample 0 stays at time 0).
pub(super) fn decimate2(x: &[f64], base: i64, h: &[f64]) -> (Vec<f64>, i64) {
    let half = (h.len() / 2) as i64;
    let last = base + x.len() as i64 - 1;
    let lo = (base - half).div_euclid(2) + i64::from((base - half).rem_euclid(2) != 0);
    let hi = (last + half).div_euclid(2);
    let centre = h[half as usize];
    // odd offsets only (the half-band zeros skipped): (k, h[k]) for k = 1, 3, …
    let odd: Vec<(i64, f64)> = (1..=half)
        .step_by(2)
        .map(|k| (k, h[(half + k) as usize]))
        .collect();
    let at = |i: i64| -> f64 {
        let j = i - base;
        if j >= 0 && (j as usize) < x.len() {
            x[j as usize]
        } else {
            0.0
        }
    };
    // outputs whose taps all lie inside x: n_lo..=n_hi
    let n_lo = (base + half).div_euclid(2) + i64::from((base + half).rem_euclid(2) != 0);
    let n_hi = (last - half).div_euclid(2);
    let vector = !odd.is_empty() && n_lo <= n_hi;
    let mut y = vec![0.0; (hi - lo + 1) as usize];
    for (i, v) in y.iter_mut().enumerate() {
        let n = lo + i as i64;
        if vector && (n_lo..=n_hi).contains(&n) {
            continue;
        }
        let c = 2 * n;
        let mut acc = centre * at(c);
        for &(k, hk) in &odd {
            acc += hk * (at(c - k) + at(c + k));
        }
        *v = acc;
    }
    // the inside outputs with the same operations in the same order (so the same bits), in
    // chunks that vectorise: the even samples x[2n] and, for the odd offsets, the odd-parity
    // samples o[u] = x[2n₀ − K + 2u] (K the largest odd offset), of which
    // x[2n ∓ k] = o[n − n₀ + (K ∓ k)/2]
    if let (Some(&(kmax, _)), true) = (odd.last(), vector) {
        const CHUNK: usize = 256;
        let kmax = kmax as usize;
        let mut acc = vec![0.0; CHUNK];
        let mut o = vec![0.0; CHUNK + kmax];
        let mut n = n_lo;
        while n <= n_hi {
            let cnt = CHUNK.min((n_hi - n + 1) as usize);
            let j0 = (2 * n - base) as usize;
            for (t, a) in acc[..cnt].iter_mut().enumerate() {
                *a = centre * x[j0 + 2 * t];
            }
            for (u, v) in o[..cnt + kmax].iter_mut().enumerate() {
                *v = x[j0 - kmax + 2 * u];
            }
            for &(k, hk) in &odd {
                let k = k as usize;
                let (lo_o, hi_o) = (&o[(kmax - k) / 2..], &o[(kmax + k) / 2..]);
                for ((a, &l), &r) in acc[..cnt].iter_mut().zip(lo_o).zip(hi_o) {
                    *a += hk * (l + r);
                }
            }
            let at_y = (n - lo) as usize;
            y[at_y..at_y + cnt].copy_from_slice(&acc[..cnt]);
            n += cnt as i64;
        }
    }
    (y, lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex64;

    /// |H(e^{2πiν})| of the taps by a direct DTFT.
    fn response(h: &[f64], nu: f64) -> f64 {
        let half = (h.len() / 2) as f64;
        h.iter()
            .enumerate()
            .map(|(i, &v)| Complex64::from_polar(v, -2.0 * PI * nu * (i as f64 - half)))
            .sum::<Complex64>()
            .norm()
    }

    #[test]
    fn halfband_filter_is_flat_and_rejects_aliases() {
        let h = halfband_taps();
        let (mut ripple, mut leak) = (0.0f64, 0.0f64);
        for i in 0..=1000 {
            let nu = 0.5 * i as f64 / 1000.0;
            let r = response(&h, nu);
            if nu <= DECIMATE_PASS {
                ripple = ripple.max((r - 1.0).abs());
            } else if nu >= 0.5 - DECIMATE_PASS {
                leak = leak.max(r);
            }
        }
        // designed for 120 dB (1e-6); 3e-6 allows for the Kaiser formula being approximate. At
        // this level neither passband ripple nor aliasing shows in a full-scale coefficient.
        assert!(ripple < 3e-6, "passband ripple {ripple}");
        assert!(leak < 3e-6, "stopband leakage {leak}");
    }

    #[test]
    fn decimation_keeps_a_passband_tone_and_its_time_origin() {
        let h = halfband_taps();
        let f = 0.13; // cycles per input sample, inside the passband
        let n = 3001;
        let x: Vec<f64> = (0..n)
            .map(|i| (2.0 * PI * f * i as f64 + 0.4).cos())
            .collect();
        let (y, base) = decimate2(&x, 0, &h);
        let half = (h.len() / 2) as i64;
        // every output sample that any input sample reaches, and no other
        assert_eq!(base, -(half / 2));
        assert_eq!(base + y.len() as i64 - 1, (n as i64 - 1 + half) / 2);
        let mut worst = 0.0f64;
        for (i, &v) in y.iter().enumerate() {
            let t = 2 * (base + i as i64); // input sample index of output sample i
            if t - half >= 0 && t + half < n as i64 {
                worst = worst.max((v - (2.0 * PI * f * t as f64 + 0.4).cos()).abs());
            }
        }
        // the passband ripple bound of the filter (3e-6) plus f64 rounding
        assert!(worst < 3e-6, "{worst}");
    }
}
