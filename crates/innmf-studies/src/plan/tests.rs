//! Tests of the plan: every setting recomputes exactly the units that read it; hashes, seeds
//! and dependencies.

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
