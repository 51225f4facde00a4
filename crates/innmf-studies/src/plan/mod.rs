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
mod tests;
