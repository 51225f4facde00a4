//! Typed result rows (one struct per kind of row), the unit files that hold them, and
//! `results.json` ([`Results`]).
//!
//! Scores are `f64`; a non-finite score (an SIR of `+∞` for a perfect estimate, a NaN) is stored
//! as `"inf"`/`"-inf"`/`"nan"` ([`innmf::io::json_float`]), so every file reads back as written.

use crate::config::{ExperimentConfig, Study};
use crate::corpus::Corpus;
use innmf::separate::TemplateMethod;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A list of `f64` written as [`innmf::io::json_float`] writes each (`"inf"`, `"-inf"`, `"nan"`
/// for non-finite values).
pub mod float_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct F(#[serde(with = "innmf::io::json_float")] f64);

    /// Writes each value.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| F(x)))
    }

    /// Reads each value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<F>::deserialize(d)?.into_iter().map(|f| f.0).collect())
    }
}

/// Which excerpt a reconstruction score is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training excerpt (what the paper measures).
    Train,
    /// The held-out seconds after it.
    Heldout,
}

impl Split {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Heldout => "heldout",
        }
    }
}

/// A model trained by an `innmf-train` or `transfer-train` unit (not part of any study's table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRow {
    /// Recording name.
    pub recording: String,
    /// The representation trained on (transfer models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representation: Option<String>,
    /// Points trained on (transfer models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    /// Steps taken (iN-NMF models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Final training loss.
    #[serde(with = "innmf::io::json_float")]
    pub final_loss: f64,
}

/// The paper's spectral scores of a model of `V = |X|^p` (arXiv 2404.04439, its reconstruction
/// experiment; [`innmf::metrics::spectral`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpectralScores {
    /// KL on `|X|^p`.
    #[serde(with = "innmf::io::json_float")]
    pub kl: f64,
    /// NMSE on `|X|`.
    #[serde(with = "innmf::io::json_float")]
    pub nmse: f64,
    /// Spectral SDR on `|X|` (dB).
    #[serde(with = "innmf::io::json_float")]
    pub sdr_freq: f64,
    /// Itakura–Saito on `|X|^p` (without the authors' +2).
    #[serde(with = "innmf::io::json_float")]
    pub is: f64,
}

impl SpectralScores {
    /// The score named `metric` (`kl`, `nmse`, `sdr_freq`, `is`); `None` for another name.
    pub fn get(&self, metric: &str) -> Option<f64> {
        match metric {
            "kl" => Some(self.kl),
            "nmse" => Some(self.nmse),
            "sdr_freq" => Some(self.sdr_freq),
            "is" => Some(self.is),
            _ => None,
        }
    }
}

/// One reconstruction score: a recording, a method, a window, an excerpt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconstructionRow {
    /// Recording name.
    pub recording: String,
    /// iN-NMF (refit `H`) or NMF (fit at this window).
    pub method: TemplateMethod,
    /// Window (samples; hop = window/2).
    pub window: usize,
    /// Training or held-out excerpt.
    pub split: Split,
    /// The scores.
    #[serde(flatten)]
    pub scores: SpectralScores,
    /// Final loss of the fit that produced the model.
    #[serde(with = "innmf::io::json_float")]
    pub fit_loss: f64,
}

/// Per-source scores of a separation, in reference order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerSource {
    /// SDR (dB).
    #[serde(with = "float_vec")]
    pub sdr: Vec<f64>,
    /// SIR (dB).
    #[serde(with = "float_vec")]
    pub sir: Vec<f64>,
    /// SAR (dB).
    #[serde(with = "float_vec")]
    pub sar: Vec<f64>,
    /// SI-SDR (dB).
    #[serde(with = "float_vec")]
    pub si_sdr: Vec<f64>,
    /// STOI.
    #[serde(with = "float_vec")]
    pub stoi: Vec<f64>,
    /// `perm[j]`: the estimate matched to reference `j`.
    pub perm: Vec<usize>,
}

/// One separation: a pair, a method, a window; scores averaged over the two sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeparationRow {
    /// `a+b`: the two recordings' names.
    pub pair: String,
    /// iN-NMF or NMF templates.
    pub method: TemplateMethod,
    /// Window (samples; hop = window/2).
    pub window: usize,
    /// Mean SDR (dB).
    #[serde(with = "innmf::io::json_float")]
    pub sdr: f64,
    /// Mean SIR (dB).
    #[serde(with = "innmf::io::json_float")]
    pub sir: f64,
    /// Mean SAR (dB).
    #[serde(with = "innmf::io::json_float")]
    pub sar: f64,
    /// Mean SI-SDR (dB).
    #[serde(with = "innmf::io::json_float")]
    pub si_sdr: f64,
    /// Mean STOI.
    #[serde(with = "innmf::io::json_float")]
    pub stoi: f64,
    /// The scores of each source.
    pub per_source: PerSource,
    /// Final loss of the activations' fit on the mixture.
    #[serde(with = "innmf::io::json_float")]
    pub fit_final_loss: f64,
    /// Steps (or MU iterations) of that fit.
    pub fit_steps: usize,
}

impl SeparationRow {
    /// The mean score named `metric` (`sdr`, `sir`, `sar`, `si_sdr`, `stoi`); `None` for another
    /// name.
    pub fn get(&self, metric: &str) -> Option<f64> {
        match metric {
            "sdr" => Some(self.sdr),
            "sir" => Some(self.sir),
            "sar" => Some(self.sar),
            "si_sdr" => Some(self.si_sdr),
            "stoi" => Some(self.stoi),
            _ => None,
        }
    }
}

/// One transfer score: `W` learned on `from`, `H` refit on `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRow {
    /// Recording name.
    pub recording: String,
    /// Representation `W` was learned on.
    pub from: String,
    /// Representation `H` was refit on.
    pub to: String,
    /// KL of the refit model on `to`'s points.
    #[serde(with = "innmf::io::json_float")]
    pub kl: f64,
    /// Points of `to`.
    pub points: usize,
    /// Final loss of the refit.
    #[serde(with = "innmf::io::json_float")]
    pub fit_final_loss: f64,
}

/// One hybrid decomposition of a music recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HybridRow {
    /// Recording name.
    pub recording: String,
    /// Seconds decomposed.
    #[serde(with = "innmf::io::json_float")]
    pub seconds: f64,
    /// Points of the three representations together.
    pub points: usize,
    /// Final training loss.
    #[serde(with = "innmf::io::json_float")]
    pub final_loss: f64,
    /// Steps taken.
    pub steps: usize,
    /// Where a note list gives two pitches: min over the two components of (activity on its own
    /// note) / (activity on the other).
    #[serde(with = "innmf::io::json_float::option")]
    pub separation_ratio: Option<f64>,
    /// Figures, relative to the output folder.
    pub figures: Vec<String>,
}

/// One instrument's scores in one music separation ([`crate::plan::Unit::MusicSeparate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicRow {
    /// The track.
    pub track: String,
    /// The stems mixed, `+`-joined in name order (`bass+flute`).
    pub mix: String,
    /// The held-out fold (0: the selection part; the others are reported).
    pub fold: usize,
    /// `innmf`, `nmf` or `oracle`.
    pub method: String,
    /// The representation separated in (`nsgt-48-30-9922`, `stft-1024-256`, ...).
    pub representation: String,
    /// NMF's window (NMF rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    /// The stem scored.
    pub instrument: String,
    /// BSS Eval v3 SDR (dB), no permutation search.
    #[serde(with = "innmf::io::json_float")]
    pub sdr: f64,
    /// SIR (dB).
    #[serde(with = "innmf::io::json_float")]
    pub sir: f64,
    /// SAR (dB).
    #[serde(with = "innmf::io::json_float")]
    pub sar: f64,
    /// SI-SDR (dB, zero-mean signals).
    #[serde(with = "innmf::io::json_float")]
    pub si_sdr: f64,
    /// Figures of this estimate (and its reference), relative to the output folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
}

impl MusicRow {
    /// The score named `metric` (`sdr`, `sir`, `sar`, `si_sdr`).
    pub fn get(&self, metric: &str) -> Option<f64> {
        match metric {
            "sdr" => Some(self.sdr),
            "sir" => Some(self.sir),
            "sar" => Some(self.sar),
            "si_sdr" => Some(self.si_sdr),
            _ => None,
        }
    }
}

/// A row of a unit's file, tagged with its study (`training` for models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "study", rename_all = "lowercase")]
pub enum Row {
    /// A trained model.
    Training(TrainingRow),
    /// A reconstruction score.
    Reconstruction(ReconstructionRow),
    /// A separation.
    Separation(SeparationRow),
    /// A transfer score.
    Transfer(TransferRow),
    /// A hybrid decomposition.
    Hybrid(HybridRow),
    /// The music separation study (part of the separation study).
    Music(MusicRow),
}

/// The file of a finished unit, `units/<id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRecord {
    /// The unit's id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// The hash of its settings and dependencies when it ran.
    pub config_hash: String,
    /// Seconds it took.
    pub elapsed_s: f64,
    /// What it produced.
    pub rows: Vec<Row>,
}

/// The rows of each study, in plan order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rows {
    /// Reconstruction scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconstruction: Vec<ReconstructionRow>,
    /// Separations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub separation: Vec<SeparationRow>,
    /// Transfer scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer: Vec<TransferRow>,
    /// Hybrid decompositions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hybrid: Vec<HybridRow>,
    /// Music separation rows (one per instrument and unit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub music: Vec<MusicRow>,
}

impl Rows {
    /// Adds `row` if it belongs to one of `studies`.
    pub fn push(&mut self, row: Row, studies: &[Study]) {
        let has = |s: Study| studies.contains(&s);
        match row {
            Row::Reconstruction(r) if has(Study::Reconstruction) => self.reconstruction.push(r),
            Row::Separation(r) if has(Study::Separation) => self.separation.push(r),
            Row::Transfer(r) if has(Study::Transfer) => self.transfer.push(r),
            Row::Hybrid(r) if has(Study::Hybrid) => self.hybrid.push(r),
            Row::Music(r) if has(Study::Separation) => self.music.push(r),
            _ => {}
        }
    }

    /// Rows of `study`.
    pub fn len(&self, study: Study) -> usize {
        match study {
            Study::Reconstruction => self.reconstruction.len(),
            Study::Separation => self.separation.len() + self.music.len(),
            Study::Transfer => self.transfer.len(),
            Study::Hybrid => self.hybrid.len(),
        }
    }
}

/// Everything a run produced (`results.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The settings.
    pub config: ExperimentConfig,
    /// Hash of the settings.
    pub config_hash: String,
    /// The studies run.
    pub studies: Vec<Study>,
    /// The recordings.
    pub corpus: Corpus,
    /// The separation pairs (recording names).
    pub pairs: Vec<(String, String)>,
    /// Rows of each study, in plan order.
    pub rows: Rows,
    /// Seconds of compute per unit kind (summed over units, including cached ones' recorded
    /// times).
    pub seconds_by_kind: BTreeMap<String, f64>,
    /// Wall-clock seconds of this invocation (cached units cost nothing).
    pub wall_s: f64,
    /// Units run at the same time in this invocation.
    pub jobs: usize,
    /// The seeds of the runs whose rows are averaged here (`innmf experiment combine`; the
    /// configuration is the first's); empty for a single run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_scores_read_back_as_written() {
        let row = Row::Separation(SeparationRow {
            pair: "a+b".into(),
            method: TemplateMethod::Nmf,
            window: 256,
            sdr: 3.5,
            sir: f64::INFINITY,
            sar: f64::NEG_INFINITY,
            si_sdr: 1.25,
            stoi: f64::NAN,
            per_source: PerSource {
                sdr: vec![3.0, 4.0],
                sir: vec![f64::INFINITY, 2.0],
                sar: vec![1.0, f64::NAN],
                si_sdr: vec![1.0, 1.5],
                stoi: vec![0.5, 0.75],
                perm: vec![1, 0],
            },
            fit_final_loss: 0.1,
            fit_steps: 7,
        });
        let json = serde_json::to_string(&row).unwrap();
        assert!(json.contains(r#""study":"separation""#), "{json}");
        let Row::Separation(back) = serde_json::from_str::<Row>(&json).unwrap() else {
            panic!("not a separation row: {json}");
        };
        assert_eq!(back.sir, f64::INFINITY);
        assert_eq!(back.sar, f64::NEG_INFINITY);
        assert!(back.stoi.is_nan() && back.per_source.sar[1].is_nan());
        assert_eq!(back.per_source.sir, [f64::INFINITY, 2.0]);
        assert_eq!(
            (back.sdr, back.fit_steps, &back.pair),
            (3.5, 7, &"a+b".to_string())
        );
    }
}
