//! Step 3 of a separation: per-coefficient gains from the sources' models `V̂_j`.

use super::check_power;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Time-frequency masks (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaskKind {
    /// `|X̂_j|² / Σ|X̂_i|²` with `X̂_j = V̂_j^{1/p}`; the estimates sum to the mixture.
    #[default]
    Wiener,
    /// The paper's ratio mask on compressed magnitudes, expanded: gain `(V̂_j/ΣV̂)^{1/p}`.
    Paper,
    /// 1 where source j's model is the largest, else 0.
    Binary,
}

crate::error::from_str_by_serde_name!(MaskKind, "mask", "wiener, paper, binary");

/// Real gains per output from the compressed models `V̂_j` (all of one length) and the power p.
/// Where every model is 0 the gain is split equally (Wiener, paper) or given to output 0
/// (binary).
///
/// # Errors
/// No models, models of different lengths, a bad power.
pub fn masks(models: &[Vec<f64>], power: f64, kind: MaskKind) -> Result<Vec<Vec<f64>>> {
    check_power(power)?;
    let j = models.len();
    if j == 0 {
        return Err(Error::Empty { what: "models" });
    }
    let n = models[0].len();
    if let Some(m) = models.iter().find(|m| m.len() != n) {
        return Err(Error::LengthMismatch {
            what: "models".into(),
            expected: n,
            got: m.len(),
        });
    }
    let mut out = vec![vec![0.0; n]; j];
    let (mut values, mut buf, mut gains) = (vec![0.0; j], vec![0.0; j], vec![0.0; j]);
    for i in 0..n {
        for (v, m) in values.iter_mut().zip(models) {
            *v = m[i];
        }
        gains_at(&values, power, kind, &mut buf, &mut gains);
        for (o, &g) in out.iter_mut().zip(&gains) {
            o[i] = g;
        }
    }
    Ok(out)
}

/// The gains of [`masks`] at one point: `values[j]` is `V̂_j` there, `gains[j]` receives output
/// j's gain, `buf` is working space (all three of one length, at least 1; the power checked by
/// the caller).
pub(crate) fn gains_at(
    values: &[f64],
    power: f64,
    kind: MaskKind,
    buf: &mut [f64],
    gains: &mut [f64],
) {
    let j = values.len();
    gains.iter_mut().for_each(|g| *g = 0.0);
    let vmax = values
        .iter()
        .fold(0.0f64, |a, &b| if b.is_finite() { a.max(b) } else { a });
    if vmax <= 0.0 {
        match kind {
            MaskKind::Binary => gains[0] = 1.0,
            _ => gains.iter_mut().for_each(|g| *g = 1.0 / j as f64),
        }
        return;
    }
    match kind {
        MaskKind::Wiener => {
            // (V̂_j/max)^{2/p}: scaled to avoid overflow at small p
            for (b, &v) in buf.iter_mut().zip(values) {
                *b = (v.max(0.0) / vmax).powf(2.0 / power);
            }
            let s: f64 = buf.iter().sum();
            for (g, b) in gains.iter_mut().zip(buf.iter()) {
                *g = b / s;
            }
        }
        MaskKind::Paper => {
            let s: f64 = values.iter().map(|v| v.max(0.0)).sum();
            for (g, &v) in gains.iter_mut().zip(values) {
                *g = (v.max(0.0) / s).powf(1.0 / power);
            }
        }
        MaskKind::Binary => {
            let best = (0..j)
                .max_by(|&a, &b| values[a].total_cmp(&values[b]))
                .unwrap_or(0);
            gains[best] = 1.0;
        }
    }
}
