//! The studies of the iN-NMF paper (Subramani, Smaragdis, Higuchi, Souden, arXiv 2404.04439) as
//! one resumable run on a folder of recordings (`innmf experiment`): reconstruction across
//! window sizes, two-speaker separation across window sizes, transfer of templates across
//! representations, and the hybrid decomposition.
//!
//! # Where things are
//! | module | what it holds |
//! |---|---|
//! | [`config`] | [`ExperimentConfig`]: every setting that changes the numbers, its checks |
//! | [`corpus`] | [`Corpus`]: the recordings, speakers and pairs; [`synthesize_corpus`] |
//! | [`material`] | what each speech recording of a study is made of (a file, or a speaker's short files joined); what is left out |
//! | [`mod@plan`] | [`Plan`]: units, ids, dependencies, seeds and settings hashes |
//! | [`reconstruction`], [`separation`], [`transfer`], [`hybrid`] | one file per study: its units |
//! | [`music`] | the music separation study in every representation (part of the separation study) |
//! | [`runner`] | [`plan()`], [`run_units`], [`collect`], [`run`]: computing units, resuming; shards |
//! | [`claims`] | one process per unit on a shared output folder; stale claims, leftover temp files |
//! | [`results`] | typed rows, unit files, `results.json` ([`Results`]) |
//! | [`report`] | `REPORT.md` and the figures, drawn from [`Results`] alone |
//! | [`mod@combine`] | runs at different seeds averaged row by row (`innmf experiment combine`) |
//!
//! # How a run is organised
//! A run is a list of **units** (train one model, refit one window, separate one pair at one
//! window, ...). Each unit has a stable id, derives its seed from the run's seed and its id (so
//! the results do not depend on the order or the number of parallel jobs), and writes its result
//! atomically to `OUT/units/<id>.json` together with a hash of the settings it reads and of the
//! units it depends on. A rerun skips every unit whose file exists with the same hash: an
//! interrupted run resumes where it stopped, and changing a setting recomputes only the units
//! that read it (and those that read their files). Units run after the units they depend on;
//! models are stored under `OUT/models/` and always read back from there, so a resumed run and a
//! fresh run compute the same numbers.
//!
//! `OUT/results.json` ([`Results`]) collects every unit's rows in plan order; `REPORT.md` and the
//! figures are drawn from it alone ([`report`]), so `innmf experiment report` redraws them
//! without recomputing anything.

pub mod claims;
pub mod combine;
pub mod config;
pub mod corpus;
pub mod hybrid;
pub mod material;
pub mod music;
pub mod out_dir;
pub mod plan;
pub mod reconstruction;
pub mod report;
pub mod results;
pub mod runner;
pub mod separation;
pub mod transfer;

pub use claims::ClaimSettings;
pub use combine::{combine, combine_runs};
pub use config::{
    music_representation, music_representation_name, representation_name, ExperimentConfig,
    HybridConfig, InnmfTemplateGrid, MusicConfig, NmfTemplates, Study, TransferConfig,
    DEFAULT_PRESET,
};
pub use corpus::{
    synthesize_corpus, Corpus, CorpusSummary, Layout, Part, PartRole, Recording, Sex, Skipped,
};
pub use innmf::stats;
pub use material::MaterialSummary;
pub use plan::{MusicMethod, Plan, PlannedUnit, Unit};
pub use results::{MusicRow, Results, Row, Rows};
pub use runner::{
    collect, collect_planned, plan, run, run_planned, run_units, shard_units, stage_units,
    write_plan, write_plan_of, Event, PlanFile, RunOptions, Selection, Shard, Stage,
};
