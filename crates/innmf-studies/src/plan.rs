//! The plan of a run: its units, their ids, dependencies, seeds and settings hashes.
//!
//! A **unit** is one piece of work (train one model, refit one window, separate one pair at one
//! window, ...). Its id names it (`separate.a+b.innmf.512`); its seed derives from the run's seed
//! and its id, so the numbers do not depend on the order or the number of parallel jobs; its
//! hash covers exactly the settings its computation reads ([`unit_settings`]) and the hashes of
//! the units whose files it reads (its dependencies: a separation needs its two speakers'
//! models). A unit whose result file holds the same hash is not recomputed.

use crate::config::{music_representation_name, representation_name, ExperimentConfig, Study};
use crate::corpus::Corpus;
use innmf::separate::{HSolver, TemplateMethod};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// How the music study separates a mixture ([`Unit::MusicSeparate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum MusicMethod {
    /// iN-NMF templates learned in music representation `rep`, separated in it.
    Innmf {
        /// Index into the music study's representations.
        rep: usize,
    },
    /// NMF templates learned at STFT `window` (hop = window/4), separated in that STFT.
    Nmf {
        /// Window (samples).
        window: usize,
    },
    /// Oracle ratio masks from the true stems in representation `rep`: that representation's
    /// limit with the study's mask.
    Oracle {
        /// Index into the music study's representations.
        rep: usize,
    },
}

/// One piece of work. Indices refer to the corpus' `speech` (or `music` for
/// [`Unit::Hybrid`]) recordings and to the transfer study's representations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum Unit {
    /// iN-NMF's model of one recording, trained at the training window.
    #[serde(rename = "innmf-train")]
    TrainInnmf {
        /// Speech recording.
        rec: usize,
    },
    /// Classical NMF of one recording at one window (its `W` is stored for the separation).
    #[serde(rename = "nmf")]
    Nmf {
        /// Speech recording.
        rec: usize,
        /// Window (samples).
        window: usize,
    },
    /// iN-NMF's `H` refit at one window with the trained `W` frozen.
    #[serde(rename = "innmf-refit")]
    ReconInnmf {
        /// Speech recording.
        rec: usize,
        /// Window (samples).
        window: usize,
    },
    /// Separation of one pair's mixture at one window by one method.
    #[serde(rename = "separate")]
    Separate {
        /// First speech recording.
        a: usize,
        /// Second speech recording.
        b: usize,
        /// iN-NMF or NMF templates.
        method: TemplateMethod,
        /// Window (samples).
        window: usize,
    },
    /// A model with implicit `W` and `H` trained on one representation.
    #[serde(rename = "transfer-train")]
    TransferTrain {
        /// Speech recording.
        rec: usize,
        /// Representation index.
        rep: usize,
    },
    /// `W` from representation `from`, frozen; `H` fitted on representation `to`.
    #[serde(rename = "transfer")]
    Transfer {
        /// Speech recording.
        rec: usize,
        /// Representation the templates were learned on.
        from: usize,
        /// Representation they are refit on.
        to: usize,
    },
    /// The hybrid decomposition of one music recording.
    #[serde(rename = "hybrid")]
    Hybrid {
        /// Music recording.
        rec: usize,
    },
    /// iN-NMF templates of one music stem in one representation, learned on every fold of its
    /// track but `fold`.
    #[serde(rename = "music-train")]
    MusicTrain {
        /// Music recording (a stem).
        rec: usize,
        /// The held-out fold.
        fold: usize,
        /// Index into the music study's representations.
        rep: usize,
    },
    /// NMF templates of one music stem at one STFT window, learned on every fold but `fold`.
    #[serde(rename = "music-nmf")]
    MusicNmf {
        /// Music recording (a stem).
        rec: usize,
        /// The held-out fold.
        fold: usize,
        /// Window (samples; hop = window/4).
        window: usize,
    },
    /// The mixture of some stems of a track on one held-out fold, separated by one method.
    #[serde(rename = "music-separate")]
    MusicSeparate {
        /// Index into the corpus' music tracks ([`crate::music::tracks`]).
        track: usize,
        /// Which of the track's stems are mixed (bit i: its i-th stem in name order).
        subset: u32,
        /// The held-out fold.
        fold: usize,
        /// How.
        method: MusicMethod,
    },
}

/// Every kind of unit ([`Unit::kind`]).
pub const KINDS: [&str; 10] = [
    "innmf-train",
    "nmf",
    "innmf-refit",
    "separate",
    "transfer-train",
    "transfer",
    "hybrid",
    "music-train",
    "music-nmf",
    "music-separate",
];

impl Unit {
    /// The kind: `innmf-train`, `nmf`, `innmf-refit`, `separate`, `transfer-train`, `transfer`,
    /// `hybrid`, `music-train`, `music-nmf`, `music-separate` (the keys of `seconds_by_kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Unit::TrainInnmf { .. } => "innmf-train",
            Unit::Nmf { .. } => "nmf",
            Unit::ReconInnmf { .. } => "innmf-refit",
            Unit::Separate { .. } => "separate",
            Unit::TransferTrain { .. } => "transfer-train",
            Unit::Transfer { .. } => "transfer",
            Unit::Hybrid { .. } => "hybrid",
            Unit::MusicTrain { .. } => "music-train",
            Unit::MusicNmf { .. } => "music-nmf",
            Unit::MusicSeparate { .. } => "music-separate",
        }
    }

    /// The unit's id: its kind and what it works on, file-safe.
    pub fn id(&self, cfg: &ExperimentConfig, corpus: &Corpus) -> String {
        let s = |i: usize| &corpus.speech[i].name;
        let rep = |i: usize| representation_name(&cfg.transfer.representations[i]);
        match *self {
            Unit::TrainInnmf { rec } => format!("innmf-train.{}", s(rec)),
            Unit::Nmf { rec, window } => format!("nmf.{}.{window}", s(rec)),
            Unit::ReconInnmf { rec, window } => format!("innmf-refit.{}.{window}", s(rec)),
            Unit::Separate {
                a,
                b,
                method,
                window,
            } => format!("separate.{}+{}.{method}.{window}", s(a), s(b)),
            Unit::TransferTrain { rec, rep: r } => format!("transfer-train.{}.{}", s(rec), rep(r)),
            Unit::Transfer { rec, from, to } => {
                format!("transfer.{}.{}.{}", s(rec), rep(from), rep(to))
            }
            Unit::Hybrid { rec } => format!("hybrid.{}", corpus.music[rec].name),
            Unit::MusicTrain { rec, fold, rep } => format!(
                "music-train.{}.f{fold}.{}",
                corpus.music[rec].name,
                music_rep(cfg, rep)
            ),
            Unit::MusicNmf { rec, fold, window } => {
                format!("music-nmf.{}.f{fold}.{window}", corpus.music[rec].name)
            }
            Unit::MusicSeparate {
                track,
                subset,
                fold,
                method,
            } => {
                let tracks = crate::music::tracks(corpus);
                let (name, stems) = &tracks[track];
                let mix = crate::music::subset_name(corpus, stems, subset);
                let how = match method {
                    MusicMethod::Innmf { rep } => format!("innmf-{}", music_rep(cfg, rep)),
                    MusicMethod::Nmf { window } => format!("nmf-{window}"),
                    MusicMethod::Oracle { rep } => format!("oracle-{}", music_rep(cfg, rep)),
                };
                format!("music-separate.{name}.{mix}.f{fold}.{how}")
            }
        }
    }

    /// The speech recordings this unit reads (indices into the corpus' `speech`).
    pub fn speech_recordings(&self) -> Vec<usize> {
        match *self {
            Unit::TrainInnmf { rec }
            | Unit::Nmf { rec, .. }
            | Unit::ReconInnmf { rec, .. }
            | Unit::TransferTrain { rec, .. }
            | Unit::Transfer { rec, .. } => vec![rec],
            Unit::Separate { a, b, .. } => vec![a, b],
            Unit::Hybrid { .. }
            | Unit::MusicTrain { .. }
            | Unit::MusicNmf { .. }
            | Unit::MusicSeparate { .. } => Vec::new(),
        }
    }

    /// The units whose files this one reads (a music separation: its stems' templates).
    pub fn dependencies(&self, cfg: &ExperimentConfig, corpus: &Corpus) -> Vec<Unit> {
        match *self {
            Unit::MusicSeparate {
                track,
                subset,
                fold,
                method,
            } => {
                let tracks = crate::music::tracks(corpus);
                let recs = crate::music::members(&tracks[track].1, subset);
                match method {
                    MusicMethod::Innmf { rep } => recs
                        .into_iter()
                        .map(|rec| Unit::MusicTrain { rec, fold, rep })
                        .collect(),
                    MusicMethod::Nmf { window } => recs
                        .into_iter()
                        .map(|rec| Unit::MusicNmf { rec, fold, window })
                        .collect(),
                    MusicMethod::Oracle { .. } => Vec::new(),
                }
            }
            Unit::ReconInnmf { rec, .. } => vec![Unit::TrainInnmf { rec }],
            Unit::Separate {
                a,
                b,
                method: TemplateMethod::Innmf,
                ..
            } => vec![Unit::TrainInnmf { rec: a }, Unit::TrainInnmf { rec: b }],
            Unit::Separate {
                a,
                b,
                method: TemplateMethod::Nmf,
                window,
            } => {
                let window = crate::separation::nmf_template_window(cfg, window);
                vec![Unit::Nmf { rec: a, window }, Unit::Nmf { rec: b, window }]
            }
            Unit::Transfer { rec, from, .. } => vec![Unit::TransferTrain { rec, rep: from }],
            Unit::TrainInnmf { .. }
            | Unit::Nmf { .. }
            | Unit::TransferTrain { .. }
            | Unit::Hybrid { .. }
            | Unit::MusicTrain { .. }
            | Unit::MusicNmf { .. } => Vec::new(),
        }
    }
}

/// The settings a unit's own computation reads, by name (the dependencies' settings reach its
/// hash through their hashes). Everything else of [`ExperimentConfig`] does not change its
/// numbers: `windows` and `transfer.recordings` choose which units exist, `bootstrap` is the
/// report's, and each transfer unit reads its own representations only.
pub fn unit_settings(cfg: &ExperimentConfig, unit: &Unit) -> Value {
    let c = cfg;
    match *unit {
        Unit::TrainInnmf { .. } => json!({
            "seed": c.seed, "sample_rate": c.sample_rate, "train_seconds": c.train_seconds,
            "power": c.power, "rank": c.rank, "width": c.width, "train_window": c.train_window,
            "innmf_steps": c.innmf_steps, "innmf_training": c.innmf_training,
        }),
        Unit::Nmf { .. } => with_precision(
            c,
            true,
            json!({
                "seed": c.seed, "sample_rate": c.sample_rate, "train_seconds": c.train_seconds,
                "test_seconds": c.test_seconds, "power": c.power, "rank": c.rank,
                "nmf_iter": c.nmf_iter, "nmf_init": c.nmf_init,
            }),
        ),
        Unit::ReconInnmf { .. } => json!({
            "seed": c.seed, "sample_rate": c.sample_rate, "train_seconds": c.train_seconds,
            "test_seconds": c.test_seconds, "power": c.power, "refit_steps": c.refit_steps,
        }),
        Unit::Separate {
            method: TemplateMethod::Innmf,
            ..
        } => {
            let mut settings = with_precision(
                c,
                c.separation_solver == HSolver::Mu,
                json!({
                    "seed": c.seed, "sample_rate": c.sample_rate, "train_seconds": c.train_seconds,
                    "test_seconds": c.test_seconds, "power": c.power, "mask": c.mask,
                    "separation_steps": c.separation_steps,
                    "separation_solver": c.separation_solver,
                }),
            );
            if !c.innmf_template_grid.is_mixture() {
                settings["innmf_template_grid"] = json!(c.innmf_template_grid);
            }
            settings
        }
        Unit::Separate {
            method: TemplateMethod::Nmf,
            window,
            ..
        } => {
            let mut settings = with_precision(
                c,
                true,
                json!({
                    "seed": c.seed, "sample_rate": c.sample_rate, "train_seconds": c.train_seconds,
                    "test_seconds": c.test_seconds, "power": c.power, "mask": c.mask,
                    "rank": c.rank, "nmf_iter": c.nmf_iter,
                }),
            );
            // templates of another window (`nmf_templates`; the NMF units' hashes do not name
            // their window)
            let tw = crate::separation::nmf_template_window(c, window);
            if tw != window {
                settings["nmf_template_window"] = json!(tw);
            }
            settings
        }
        Unit::TransferTrain { rep, .. } => {
            transfer_settings(c, "transfer.steps", c.transfer.steps, rep)
        }
        Unit::Transfer { to, .. } => {
            transfer_settings(c, "transfer.refit_steps", c.transfer.refit_steps, to)
        }
        Unit::Hybrid { .. } => json!({"seed": c.seed, "power": c.power, "hybrid": c.hybrid}),
        Unit::MusicTrain { rep, .. } => {
            let m = music(c);
            json!({
                "seed": c.seed, "power": c.power, "music.sample_rate": m.sample_rate,
                "music.folds": m.folds, "music.rank": m.rank, "music.width": m.width,
                "music.steps": m.steps, "representation": m.representations[rep],
            })
        }
        Unit::MusicNmf { .. } => {
            let m = music(c);
            json!({
                "seed": c.seed, "power": c.power, "music.sample_rate": m.sample_rate,
                "music.folds": m.folds, "music.rank": m.rank, "music.nmf_iter": m.nmf_iter,
            })
        }
        Unit::MusicSeparate { method, .. } => {
            let m = music(c);
            let common = json!({
                "seed": c.seed, "power": c.power, "music.sample_rate": m.sample_rate,
                "music.folds": m.folds, "music.mask": m.mask,
            });
            let own = match method {
                MusicMethod::Innmf { rep } => json!({
                    "music.separation_steps": m.separation_steps, "music.h_step": m.h_step,
                    "representation": m.representations[rep],
                }),
                MusicMethod::Nmf { .. } => json!({"music.nmf_iter": m.nmf_iter}),
                MusicMethod::Oracle { rep } => json!({"representation": m.representations[rep]}),
            };
            json!([common, own])
        }
    }
}

/// `settings` plus `"nmf_precision"` when the unit runs multiplicative updates (`uses_mu`) and
/// the precision is not the one a configuration without the field means (f64), so runs made
/// before the field existed keep their hashes.
fn with_precision(c: &ExperimentConfig, uses_mu: bool, mut settings: Value) -> Value {
    if uses_mu && !c.nmf_precision.is_f64() {
        settings["nmf_precision"] = json!(c.nmf_precision);
    }
    settings
}

/// The settings a transfer unit reads: the shared ones, its steps (under `steps_key`), its
/// representation (the `rep`-th), and `"transfer.sampling"` when it is not the default (exact),
/// so the exact runs keep their hashes.
fn transfer_settings(c: &ExperimentConfig, steps_key: &str, steps: usize, rep: usize) -> Value {
    let mut settings = json!({
        "seed": c.seed, "sample_rate": c.sample_rate, "power": c.power, "rank": c.rank,
        "transfer.seconds": c.transfer.seconds, "transfer.width": c.transfer.width,
        "representation": c.transfer.representations[rep],
    });
    settings[steps_key] = json!(steps);
    if !c.transfer.sampling.is_exact() {
        settings["transfer.sampling"] = json!(c.transfer.sampling);
    }
    settings
}

/// The music study's settings (a music unit exists only when they do).
fn music(c: &ExperimentConfig) -> &crate::config::MusicConfig {
    c.music
        .as_ref()
        .expect("music units are planned only with music settings")
}

/// The file-safe name of the music study's representation `rep`.
fn music_rep(c: &ExperimentConfig, rep: usize) -> String {
    music_representation_name(&music(c).representations[rep])
}

/// A unit of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedUnit {
    /// Its id (the name of its result file, `units/<id>.json`).
    pub id: String,
    /// What it computes.
    pub unit: Unit,
    /// Indices (into the plan) of the units it reads; all earlier in the plan.
    pub deps: Vec<usize>,
    /// Hash of its settings and its dependencies' hashes.
    pub hash: String,
    /// Its seed (from the run's seed and its id).
    pub seed: u64,
}

/// The units of a run, in report order; every unit after those it depends on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The studies, sorted.
    pub studies: Vec<Study>,
    /// The separation pairs (indices into the corpus' speech recordings).
    pub pairs: Vec<(usize, usize)>,
    /// The units.
    pub units: Vec<PlannedUnit>,
}

impl Plan {
    /// The units of `studies` on `corpus` with the separation `pairs`.
    pub fn new(
        cfg: &ExperimentConfig,
        corpus: &Corpus,
        studies: &[Study],
        pairs: &[(usize, usize)],
    ) -> Plan {
        let mut studies = studies.to_vec();
        studies.sort();
        studies.dedup();
        let needs = |s: Study| studies.contains(&s);
        let pairs: Vec<(usize, usize)> = if needs(Study::Separation) {
            pairs.to_vec()
        } else {
            Vec::new()
        };
        let mut units: Vec<Unit> = Vec::new();
        let ns = corpus.speech.len();
        let recon_recs: Vec<usize> = if needs(Study::Reconstruction) {
            (0..ns).collect()
        } else {
            Vec::new()
        };
        let mut model_recs = recon_recs.clone();
        model_recs.extend(pairs.iter().flat_map(|&(a, b)| [a, b]));
        model_recs.sort();
        model_recs.dedup();
        for &rec in &model_recs {
            units.push(Unit::TrainInnmf { rec });
        }
        for &rec in &model_recs {
            for &window in &cfg.windows {
                units.push(Unit::Nmf { rec, window });
            }
        }
        for &rec in &recon_recs {
            for &window in &cfg.windows {
                units.push(Unit::ReconInnmf { rec, window });
            }
        }
        for &(a, b) in &pairs {
            for method in [TemplateMethod::Innmf, TemplateMethod::Nmf] {
                for &window in &cfg.windows {
                    units.push(Unit::Separate {
                        a,
                        b,
                        method,
                        window,
                    });
                }
            }
        }
        if needs(Study::Transfer) {
            let n = match cfg.transfer.recordings {
                0 => ns,
                n => n.min(ns),
            };
            let nr = cfg.transfer.representations.len();
            for rec in 0..n {
                for rep in 0..nr {
                    units.push(Unit::TransferTrain { rec, rep });
                }
                for from in 0..nr {
                    for to in 0..nr {
                        units.push(Unit::Transfer { rec, from, to });
                    }
                }
            }
        }
        if needs(Study::Hybrid) {
            for rec in 0..corpus.music.len() {
                units.push(Unit::Hybrid { rec });
            }
        }
        if let (true, Some(m)) = (needs(Study::Separation), &cfg.music) {
            let tracks = crate::music::tracks(corpus);
            let nr = m.representations.len();
            // the models first (the longest units), then the separations
            for (_, stems) in &tracks {
                for fold in 0..m.folds {
                    for &rec in stems {
                        for rep in 0..nr {
                            units.push(Unit::MusicTrain { rec, fold, rep });
                        }
                    }
                }
            }
            for (_, stems) in &tracks {
                for fold in 0..m.folds {
                    for &rec in stems {
                        for &window in &m.windows {
                            units.push(Unit::MusicNmf { rec, fold, window });
                        }
                    }
                }
            }
            for (track, (_, stems)) in tracks.iter().enumerate() {
                for fold in 0..m.folds {
                    for subset in crate::music::subsets(stems.len()) {
                        let methods = (0..nr)
                            .map(|rep| MusicMethod::Innmf { rep })
                            .chain(m.windows.iter().map(|&window| MusicMethod::Nmf { window }))
                            .chain((0..nr).map(|rep| MusicMethod::Oracle { rep }));
                        for method in methods {
                            units.push(Unit::MusicSeparate {
                                track,
                                subset,
                                fold,
                                method,
                            });
                        }
                    }
                }
            }
        }

        let mut index: HashMap<Unit, usize> = HashMap::new();
        let mut planned: Vec<PlannedUnit> = Vec::with_capacity(units.len());
        for (i, unit) in units.into_iter().enumerate() {
            let deps: Vec<usize> = unit
                .dependencies(cfg, corpus)
                .iter()
                .map(|d| index[d]) // every dependency is planned before its users
                .collect();
            let mut key = serde_json::to_string(&unit_settings(cfg, &unit)).unwrap_or_default();
            // a speaker's joined recordings ([`crate::material`]): which files, for what, and
            // the excerpt lengths they are cut to and normalized over (which a transfer unit's
            // settings do not name)
            for rec in unit.speech_recordings() {
                let parts = &corpus.speech[rec].parts;
                if !parts.is_empty() {
                    key.push_str(&format!(
                        "|joined:{}:{}",
                        cfg.train_seconds, cfg.test_seconds
                    ));
                }
                for p in parts {
                    key.push_str(&format!("|{}:{:?}", p.name, p.role));
                }
            }
            for &d in &deps {
                key.push('|');
                key.push_str(&planned[d].hash);
            }
            let id = unit.id(cfg, corpus);
            planned.push(PlannedUnit {
                seed: unit_seed(cfg.seed, &id),
                hash: format!("{:016x}", fnv1a(key.as_bytes())),
                id,
                unit,
                deps,
            });
            index.insert(unit, i);
        }
        Plan {
            studies,
            pairs,
            units: planned,
        }
    }

    /// The speech recordings some unit reads.
    pub fn speech_used(&self, n_speech: usize) -> Vec<bool> {
        let mut used = vec![false; n_speech];
        for u in &self.units {
            for rec in u.unit.speech_recordings() {
                used[rec] = true;
            }
        }
        used
    }

    /// The speech recordings that need a training and a test excerpt (those with models).
    pub fn model_recordings(&self) -> Vec<usize> {
        self.units
            .iter()
            .filter_map(|u| match u.unit {
                Unit::TrainInnmf { rec } => Some(rec),
                _ => None,
            })
            .collect()
    }
}

impl std::hash::Hash for Unit {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match *self {
            Unit::TrainInnmf { rec } | Unit::Hybrid { rec } => rec.hash(state),
            Unit::Nmf { rec, window } | Unit::ReconInnmf { rec, window } => {
                (rec, window).hash(state)
            }
            Unit::Separate {
                a,
                b,
                method,
                window,
            } => (a, b, method == TemplateMethod::Innmf, window).hash(state),
            Unit::TransferTrain { rec, rep } => (rec, rep).hash(state),
            Unit::Transfer { rec, from, to } => (rec, from, to).hash(state),
            Unit::MusicTrain { rec, fold, rep } => (rec, fold, rep).hash(state),
            Unit::MusicNmf { rec, fold, window } => (rec, fold, window).hash(state),
            Unit::MusicSeparate {
                track,
                subset,
                fold,
                method,
            } => (track, subset, fold, method).hash(state),
        }
    }
}

/// FNV-1a (64 bit).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The seed of a unit (or of any named random choice): independent of the order in which units
/// run.
pub fn unit_seed(seed: u64, id: &str) -> u64 {
    let mut z = seed ^ fnv1a(id.as_bytes());
    // splitmix64 finalizer
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Recording;
    use innmf::nmf::{Init, Precision};
    use innmf::separate::MaskKind;
    use std::collections::BTreeSet;

    /// Three speakers and one music recording; planning reads no file.
    fn corpus() -> Corpus {
        let rec = |name: &str| Recording {
            name: name.into(),
            speaker: name.split('_').next().unwrap_or(name).into(),
            path: format!("{name}.wav").into(),
            ..Recording::default()
        };
        Corpus {
            speech: vec![rec("a"), rec("a_2"), rec("b"), rec("c")],
            music: vec![rec("two_notes")],
            notes_dir: None,
            ..Corpus::default()
        }
    }

    /// The kind of a unit, with the separation's method.
    fn label(u: &Unit) -> &'static str {
        match u {
            Unit::Separate {
                method: TemplateMethod::Innmf,
                ..
            } => "separate-innmf",
            Unit::Separate { .. } => "separate-nmf",
            u => u.kind(),
        }
    }

    const ALL: [&str; 8] = [
        "innmf-train",
        "nmf",
        "innmf-refit",
        "separate-innmf",
        "separate-nmf",
        "transfer-train",
        "transfer",
        "hybrid",
    ];
    const INNMF: [&str; 3] = ["innmf-train", "innmf-refit", "separate-innmf"];
    const SPEECH: [&str; 5] = [
        "innmf-train",
        "nmf",
        "innmf-refit",
        "separate-innmf",
        "separate-nmf",
    ];
    const TRANSFER: [&str; 2] = ["transfer-train", "transfer"];

    type Change = fn(&mut ExperimentConfig);

    /// Every setting, how the test changes it, and the units that must be recomputed (units
    /// planned both before and after; `windows` and `transfer.recordings` add or drop units).
    fn table() -> Vec<(&'static str, Change, Vec<&'static str>)> {
        let all_but_hybrid: Vec<&str> = ALL.iter().copied().filter(|k| *k != "hybrid").collect();
        vec![
            ("seed", |c| c.seed += 1, ALL.to_vec()),
            ("sample_rate", |c| c.sample_rate = 11025, all_but_hybrid),
            (
                "rank",
                |c| c.rank += 1,
                [&SPEECH[..], &TRANSFER[..]].concat(),
            ),
            ("width", |c| c.width += 1, INNMF.to_vec()),
            ("power", |c| c.power = 1.0, ALL.to_vec()),
            ("train_window", |c| c.train_window = 256, INNMF.to_vec()),
            ("windows", |c| c.windows.push(384), vec![]),
            ("train_seconds", |c| c.train_seconds += 0.5, SPEECH.to_vec()),
            (
                "test_seconds",
                |c| c.test_seconds += 0.5,
                vec!["nmf", "innmf-refit", "separate-innmf", "separate-nmf"],
            ),
            ("innmf_steps", |c| c.innmf_steps += 1, INNMF.to_vec()),
            ("refit_steps", |c| c.refit_steps += 1, vec!["innmf-refit"]),
            (
                "separation_steps",
                |c| c.separation_steps += 1,
                vec!["separate-innmf"],
            ),
            ("nmf_iter", |c| c.nmf_iter += 1, vec!["nmf", "separate-nmf"]),
            (
                "nmf_init",
                |c| c.nmf_init = Init::Random,
                vec!["nmf", "separate-nmf"],
            ),
            (
                "nmf_precision",
                |c| {
                    c.nmf_precision = match c.nmf_precision {
                        Precision::F32 => Precision::F64,
                        Precision::F64 => Precision::F32,
                    }
                },
                vec!["nmf", "separate-nmf"],
            ),
            (
                "nmf_templates",
                |c| c.nmf_templates = crate::config::NmfTemplates::TrainWindow,
                vec!["separate-nmf"],
            ),
            (
                "innmf_template_grid",
                |c| c.innmf_template_grid = crate::config::InnmfTemplateGrid::Training,
                vec!["separate-innmf"],
            ),
            (
                "mask",
                |c| c.mask = MaskKind::Wiener,
                vec!["separate-innmf", "separate-nmf"],
            ),
            (
                "innmf_training",
                |c| c.innmf_training.match_scale = true,
                INNMF.to_vec(),
            ),
            (
                "separation_solver",
                |c| c.separation_solver = HSolver::Mu,
                vec!["separate-innmf"],
            ),
            ("bootstrap", |c| c.bootstrap += 1, vec![]),
            (
                "transfer.seconds",
                |c| c.transfer.seconds += 0.25,
                TRANSFER.to_vec(),
            ),
            (
                "transfer.steps",
                |c| c.transfer.steps += 1,
                TRANSFER.to_vec(),
            ),
            (
                "transfer.refit_steps",
                |c| c.transfer.refit_steps += 1,
                vec!["transfer"],
            ),
            (
                "transfer.width",
                |c| c.transfer.width += 1,
                TRANSFER.to_vec(),
            ),
            (
                "transfer.sampling",
                |c| {
                    c.transfer.sampling = if c.transfer.sampling.is_exact() {
                        innmf::Sampling::Auto
                    } else {
                        innmf::Sampling::Exact
                    }
                },
                TRANSFER.to_vec(),
            ),
            (
                "transfer.representations",
                |c| c.transfer.representations[2] = crate::config::transfer_cqt(110.0, 12, 8000.0),
                TRANSFER.to_vec(),
            ),
            ("transfer.recordings", |c| c.transfer.recordings = 1, vec![]),
            (
                "hybrid.seconds",
                |c| c.hybrid.seconds += 0.5,
                vec!["hybrid"],
            ),
            (
                "hybrid.sample_rate",
                |c| c.hybrid.sample_rate = 8000,
                vec!["hybrid"],
            ),
            ("hybrid.rank", |c| c.hybrid.rank = 3, vec!["hybrid"]),
            ("hybrid.width", |c| c.hybrid.width += 1, vec!["hybrid"]),
            ("hybrid.steps", |c| c.hybrid.steps += 1, vec!["hybrid"]),
            (
                "hybrid.fraction",
                |c| c.hybrid.fraction = 0.25,
                vec!["hybrid"],
            ),
        ]
    }

    /// Ids of the units whose hash differs between the two plans, and of those kept.
    fn diff(before: &Plan, after: &Plan) -> (Vec<(String, Unit)>, Vec<String>) {
        let old: HashMap<&str, &str> = before
            .units
            .iter()
            .map(|u| (u.id.as_str(), u.hash.as_str()))
            .collect();
        let mut changed = Vec::new();
        let mut kept = Vec::new();
        for u in &after.units {
            match old.get(u.id.as_str()) {
                Some(h) if *h == u.hash => kept.push(u.id.clone()),
                Some(_) => changed.push((u.id.clone(), u.unit)),
                None => {}
            }
        }
        (changed, kept)
    }

    #[test]
    fn each_setting_recomputes_exactly_the_units_that_read_it() {
        let corpus = corpus();
        let pairs = [(0, 2), (1, 3), (2, 3)];
        let base = ExperimentConfig::quick();
        let plan0 = Plan::new(&base, &corpus, &Study::ALL, &pairs);
        let labels0: BTreeSet<&str> = plan0.units.iter().map(|u| label(&u.unit)).collect();
        assert_eq!(
            labels0,
            ALL.iter().copied().collect(),
            "every kind is planned"
        );

        // every setting of the configuration has a row (a new setting without one fails here)
        let mut full = base.clone();
        full.innmf_training.match_scale = true; // left out of the JSON at the paper's value
        full.separation_solver = HSolver::Mu;
        full.nmf_templates = crate::config::NmfTemplates::TrainWindow;
        full.innmf_template_grid = crate::config::InnmfTemplateGrid::Training;
        let json = serde_json::to_value(&full).unwrap();
        let mut settings = BTreeSet::new();
        for (k, v) in json.as_object().unwrap() {
            match (k.as_str(), v.as_object()) {
                ("transfer" | "hybrid", Some(o)) => {
                    settings.extend(o.keys().map(|s| format!("{k}.{s}")));
                }
                _ => {
                    settings.insert(k.clone());
                }
            }
        }
        let table = table();
        let rows: BTreeSet<String> = table.iter().map(|r| r.0.to_string()).collect();
        assert_eq!(
            rows, settings,
            "settings without a rule, or rules without a setting"
        );

        for (name, change, expected) in table {
            let mut c = base.clone();
            change(&mut c);
            assert_ne!(c, base, "{name}: the change changes nothing");
            c.validate().unwrap();
            let plan = Plan::new(&c, &corpus, &Study::ALL, &pairs);
            let (changed, kept) = diff(&plan0, &plan);
            let got: BTreeSet<&str> = changed.iter().map(|(_, u)| label(u)).collect();
            let want: BTreeSet<&str> = expected.iter().copied().collect();
            assert_eq!(got, want, "{name}: kinds recomputed");
            // a kind is recomputed entirely or not at all, except for the transfer units of
            // the representation that changed (the CQT's)
            if name == "nmf_templates" {
                // only the windows other than the training window's (512) read other templates
                for (id, _) in &changed {
                    assert!(id.ends_with(".256"), "{name}: {id} recomputed");
                }
                assert!(kept
                    .iter()
                    .any(|id| id.starts_with("separate.") && id.ends_with(".nmf.512")));
            } else if name == "transfer.representations" {
                for (id, _) in &changed {
                    assert!(id.contains("cqt"), "{name}: {id} recomputed");
                }
                assert!(kept.iter().any(|id| id == "transfer.a.stft-256.stft-512"));
                assert!(kept.iter().any(|id| id == "transfer-train.a.stft-512"));
            } else {
                for id in &kept {
                    let unit = plan.units.iter().find(|u| &u.id == id).unwrap().unit;
                    assert!(!want.contains(label(&unit)), "{name}: {id} kept");
                }
            }
        }
    }

    #[test]
    fn the_precision_enters_the_hashes_of_the_mu_units_only_when_it_is_f32() {
        let corpus = corpus();
        let hashes = |c: &ExperimentConfig| {
            Plan::new(c, &corpus, &Study::ALL, &[(0, 2)])
                .units
                .into_iter()
                .map(|u| (u.id, u.hash))
                .collect::<HashMap<String, String>>()
        };
        // iN-NMF's activations by multiplicative updates read it too
        let mut mu = ExperimentConfig::quick();
        mu.separation_solver = HSolver::Mu;
        let mut mu64 = mu.clone();
        mu64.nmf_precision = Precision::F64;
        let (a, b) = (hashes(&mu), hashes(&mu64));
        for id in [
            "separate.a+b.innmf.256",
            "separate.a+b.nmf.256",
            "nmf.a.256",
        ] {
            assert_ne!(a[id], b[id], "{id}");
        }
        assert_eq!(a["innmf-train.a"], b["innmf-train.a"]);
        // a configuration written before the field existed means f64, and keeps its hashes:
        // f64 adds nothing to a unit's settings
        let mut old = serde_json::to_value(&mu64).unwrap();
        assert!(
            old.get("nmf_precision").is_none(),
            "f64 is left out of the JSON"
        );
        old.as_object_mut().unwrap().remove("nmf_precision");
        let parsed: ExperimentConfig = serde_json::from_value(old).unwrap();
        assert_eq!(parsed.nmf_precision, Precision::F64);
        for u in Plan::new(&mu64, &corpus, &Study::ALL, &[(0, 2)]).units {
            let s = unit_settings(&mu64, &u.unit).to_string();
            assert!(!s.contains("nmf_precision"), "{}: {s}", u.id);
        }
        // the built-in settings run in f32
        assert_eq!(ExperimentConfig::default().nmf_precision, Precision::F32);
        assert_eq!(mu.nmf_precision, Precision::F32);
    }

    #[test]
    fn joined_material_enters_the_hashes_of_the_units_that_read_it() {
        use crate::corpus::{Part, PartRole};
        let mut corpus = corpus();
        let part = |name: &str, role| Part {
            name: name.into(),
            path: format!("{name}.wav").into(),
            role,
        };
        corpus.speech[3].parts = vec![part("c_1", PartRole::Train), part("c_2", PartRole::Heldout)];
        let mut cfg = ExperimentConfig::quick();
        cfg.transfer.recordings = 0; // every recording
        let plan = |c: &ExperimentConfig, corpus: &Corpus| {
            let p = Plan::new(c, corpus, &Study::ALL, &[(0, 3)]);
            p.units
                .into_iter()
                .map(|u| (u.id, u.hash))
                .collect::<HashMap<String, String>>()
        };
        let base = plan(&cfg, &corpus);
        // the transfer units of the joined recording read its excerpt lengths; the others' do not
        let mut c = cfg.clone();
        c.test_seconds += 0.5;
        let after = plan(&c, &corpus);
        assert_ne!(base["transfer-train.c.cqt"], after["transfer-train.c.cqt"]);
        assert_eq!(base["transfer-train.a.cqt"], after["transfer-train.a.cqt"]);
        // another file, or another role, recomputes the units of that recording only
        let mut other = corpus.clone();
        other.speech[3].parts[1].role = PartRole::Train;
        let after = plan(&cfg, &other);
        assert_ne!(base["innmf-train.c"], after["innmf-train.c"]);
        assert_ne!(
            base["separate.a+c.innmf.256"],
            after["separate.a+c.innmf.256"]
        );
        assert_eq!(base["innmf-train.a"], after["innmf-train.a"]);
    }

    #[test]
    fn dependencies_come_first_and_name_the_files_a_unit_reads() {
        let corpus = corpus();
        let cfg = ExperimentConfig::quick();
        let plan = Plan::new(&cfg, &corpus, &Study::ALL, &[(0, 2)]);
        for (i, u) in plan.units.iter().enumerate() {
            assert!(u.deps.iter().all(|&d| d < i), "{}", u.id);
            let deps: Vec<&str> = u.deps.iter().map(|&d| plan.units[d].id.as_str()).collect();
            match u.id.as_str() {
                "separate.a+b.innmf.256" => assert_eq!(deps, ["innmf-train.a", "innmf-train.b"]),
                "separate.a+b.nmf.256" => assert_eq!(deps, ["nmf.a.256", "nmf.b.256"]),
                "innmf-refit.c.512" => assert_eq!(deps, ["innmf-train.c"]),
                "transfer.a.cqt.stft-256" => assert_eq!(deps, ["transfer-train.a.cqt"]),
                "innmf-train.a" | "nmf.a.256" | "hybrid.two_notes" => assert!(deps.is_empty()),
                _ => {}
            }
        }
        // seeds follow the ids, not the positions
        let other = Plan::new(&cfg, &corpus, &[Study::Separation], &[(0, 2)]);
        for u in &other.units {
            let same = plan.units.iter().find(|v| v.id == u.id).unwrap();
            assert_eq!((u.seed, &u.hash), (same.seed, &same.hash), "{}", u.id);
        }
    }

    #[test]
    fn each_music_setting_recomputes_exactly_the_music_units_that_read_it() {
        let mut corpus = corpus();
        for stem in ["bass", "flute", "piano"] {
            corpus.music.push(Recording {
                name: format!("ode_{stem}"),
                speaker: "ode".into(),
                path: format!("ode_{stem}.wav").into(),
                track: Some("ode".into()),
                stem: Some(stem.into()),
                ..Recording::default()
            });
        }
        let mut base = ExperimentConfig::quick();
        base.music = Some(crate::config::MusicConfig::quick(&["stft", "nsgt"]).unwrap());
        let plan0 = Plan::new(&base, &corpus, &[Study::Separation], &[(0, 2)]);
        let music = |p: &Plan| p.units.iter().filter(|u| u.id.starts_with("music")).count();
        // 2 folds × (3 stems × 2 representations + 3 stems × 2 windows + 4 mixtures × 6 methods)
        assert_eq!(music(&plan0), 2 * (6 + 6 + 4 * 6));
        // without the music settings, or without the separation study: no music unit, and the
        // speech units keep their hashes
        let mut speech = base.clone();
        speech.music = None;
        let plain = Plan::new(&speech, &corpus, &[Study::Separation], &[(0, 2)]);
        assert_eq!(music(&plain), 0);
        let (_, kept) = diff(&plain, &plan0);
        assert_eq!(kept.len(), plain.units.len());
        assert_eq!(
            music(&Plan::new(&base, &corpus, &[Study::Hybrid], &[])),
            0,
            "music units belong to the separation study"
        );
        type MusicChange = fn(&mut crate::config::MusicConfig);
        let table: Vec<(&str, MusicChange, Vec<&str>)> = vec![
            (
                "sample_rate",
                |m| m.sample_rate = 11025,
                vec![
                    "music-train",
                    "music-nmf",
                    "separate-innmf",
                    "separate-nmf",
                    "oracle",
                ],
            ),
            (
                "rank",
                |m| m.rank += 1,
                vec!["music-train", "music-nmf", "separate-innmf", "separate-nmf"],
            ),
            (
                "width",
                |m| m.width += 1,
                vec!["music-train", "separate-innmf"],
            ),
            (
                "steps",
                |m| m.steps += 1,
                vec!["music-train", "separate-innmf"],
            ),
            (
                "separation_steps",
                |m| m.separation_steps += 1,
                vec!["separate-innmf"],
            ),
            ("h_step", |m| m.h_step = Some(0.01), vec!["separate-innmf"]),
            (
                "nmf_iter",
                |m| m.nmf_iter += 1,
                vec!["music-nmf", "separate-nmf"],
            ),
            (
                "mask",
                |m| m.mask = MaskKind::Paper,
                vec!["separate-innmf", "separate-nmf", "oracle"],
            ),
            ("windows", |m| m.windows.push(384), vec![]),
        ];
        let label = |id: &str| -> &'static str {
            if id.contains(".innmf-") {
                "separate-innmf"
            } else if id.contains(".nmf-") {
                "separate-nmf"
            } else if id.contains(".oracle-") {
                "oracle"
            } else if id.starts_with("music-train") {
                "music-train"
            } else {
                "music-nmf"
            }
        };
        for (name, change, expected) in table {
            let mut c = base.clone();
            change(c.music.as_mut().unwrap());
            c.validate().unwrap();
            let plan = Plan::new(&c, &corpus, &[Study::Separation], &[(0, 2)]);
            let (changed, kept) = diff(&plan0, &plan);
            let got: BTreeSet<&str> = changed.iter().map(|(id, _)| label(id)).collect();
            let want: BTreeSet<&str> = expected.iter().copied().collect();
            assert_eq!(got, want, "{name}: kinds recomputed");
            for id in kept.iter().filter(|id| id.starts_with("music")) {
                assert!(!want.contains(label(id)), "{name}: {id} kept");
            }
        }
        // another NSGT: its own units only (the STFT's are kept)
        let mut c = base.clone();
        c.music.as_mut().unwrap().representations[1] =
            crate::config::music_representation("cwt", 8000.0).unwrap();
        let plan = Plan::new(&c, &corpus, &[Study::Separation], &[(0, 2)]);
        let (_, kept) = diff(&plan0, &plan);
        assert!(kept
            .iter()
            .any(|id| id == "music-train.ode_bass.f0.stft-1024-256"));
        assert!(kept
            .iter()
            .any(|id| id == "music-separate.ode.bass+flute.f1.innmf-stft-1024-256"));
        assert!(plan
            .units
            .iter()
            .any(|u| u.id == "music-train.ode_flute.f1.cwt-24-30-2400"));
        // a separation reads its stems' templates of its fold
        let u = plan0
            .units
            .iter()
            .find(|u| u.id == "music-separate.ode.bass+flute+piano.f1.innmf-nsgt-48-30-3600")
            .unwrap();
        let deps: Vec<&str> = u.deps.iter().map(|&d| plan0.units[d].id.as_str()).collect();
        assert_eq!(
            deps,
            [
                "music-train.ode_bass.f1.nsgt-48-30-3600",
                "music-train.ode_flute.f1.nsgt-48-30-3600",
                "music-train.ode_piano.f1.nsgt-48-30-3600"
            ]
        );
    }
}
