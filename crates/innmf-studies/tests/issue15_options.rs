//! The issue-15 training settings of the studies (`innmf_training`, `separation_solver`): what
//! they recompute.

#[test]
fn changing_innmf_settings_keeps_the_nmf_units() {
    use innmf_studies::{self as experiment, Event, ExperimentConfig, RunOptions, Study};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    experiment::synthesize_corpus(&data, 3).unwrap();
    let out = dir.path().join("out");
    let run = |cfg: &ExperimentConfig| {
        let (total, cached) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let progress = |e: Event| {
            if let Event::Planned {
                total: t,
                cached: c,
            } = e
            {
                total.store(t, Ordering::Relaxed);
                cached.store(c, Ordering::Relaxed);
            }
        };
        let opts = RunOptions {
            data: data.clone(),
            out: out.clone(),
            studies: vec![Study::Separation],
            pairs: 1,
            jobs: 2,
        };
        let r = experiment::run(cfg, &opts, &progress).unwrap();
        (r, total.into_inner(), cached.into_inner())
    };
    let mut cfg = ExperimentConfig::quick();
    cfg.innmf_steps = 40;
    let (first, total, cached) = run(&cfg);
    assert_eq!(cached, 0);
    // 2 models and 2 × 2 NMF fits, then 2 methods × 2 windows
    assert_eq!(total, 2 + 4 + 4);
    // the paper's settings serialize as before: the new options are left out
    let json = serde_json::to_value(&cfg).unwrap();
    assert!(json.get("innmf_training").is_none() && json.get("separation_solver").is_none());

    // an iN-NMF training setting: the NMF fits and NMF separations are kept
    cfg.innmf_training.match_scale = true;
    let (second, _, cached) = run(&cfg);
    assert_eq!(cached, 4 + 2);
    let nmf_rows = |r: &experiment::Results| -> Vec<innmf_studies::results::SeparationRow> {
        r.rows
            .separation
            .iter()
            .filter(|v| v.method == innmf::separate::TemplateMethod::Nmf)
            .cloned()
            .collect()
    };
    assert_eq!(nmf_rows(&first), nmf_rows(&second));
    assert_ne!(first.rows.separation, second.rows.separation);

    // a separation setting of iN-NMF: the models are kept too
    cfg.separation_solver = innmf::separate::HSolver::Mu;
    let (_, _, cached) = run(&cfg);
    assert_eq!(cached, 2 + 4 + 2);
}

#[test]
fn a_preset_sets_its_fields_and_refuses_a_conflicting_one() {
    use innmf::separate::{HSolver, Preset};
    use innmf_studies::ExperimentConfig;
    let c = ExperimentConfig::with_preset(Preset::Innmf);
    assert_eq!(c.innmf_training, Preset::Innmf.training());
    assert_eq!(
        (c.separation_solver, c.separation_steps),
        Preset::Innmf.activations()
    );
    c.validate().unwrap();
    // the paper preset is the default settings, and a config without a preset is the paper's
    let mut p = ExperimentConfig::with_preset(Preset::Paper);
    p.preset = None;
    assert_eq!(p, ExperimentConfig::default());
    // a results.json of a preset run reads back to the same settings
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.contains("\"preset\":\"innmf\""), "{json}");
    let mut back: ExperimentConfig = serde_json::from_str(&json).unwrap();
    back.apply_preset().unwrap();
    assert_eq!(back, c);
    // "preset" on the paper's fields (what a user writes) gives the preset's values
    let mut v = serde_json::to_value(ExperimentConfig::default()).unwrap();
    v["preset"] = "innmf".into();
    let mut user: ExperimentConfig = serde_json::from_value(v).unwrap();
    assert!(
        user.validate().is_err(),
        "a preset not applied yet must not run"
    );
    user.apply_preset().unwrap();
    assert_eq!(user, c);
    // a field that is neither the paper's nor the preset's: which was meant is unclear
    let mut bad = user.clone();
    bad.separation_steps = 500;
    let e = bad.apply_preset().unwrap_err().to_string();
    assert!(
        e.contains("separation_steps") && e.contains("500") && e.contains("3000"),
        "{e}"
    );
    let mut bad = user;
    bad.separation_solver = HSolver::Rprop;
    bad.separation_steps = 100;
    bad.innmf_training.nmf_warm_start = 7;
    let e = bad.apply_preset().unwrap_err().to_string();
    assert!(e.contains("innmf_training"), "{e}");
}

#[test]
fn a_run_that_names_no_preset_gets_ours_unless_its_fields_say_otherwise() {
    use innmf::separate::{HSolver, Preset};
    use innmf_studies::{ExperimentConfig, DEFAULT_PRESET};
    assert_eq!(DEFAULT_PRESET, Preset::Innmf);
    // the paper's fields and no preset: the default preset
    let mut c = ExperimentConfig::default();
    c.resolve_preset(None).unwrap();
    assert_eq!(c, ExperimentConfig::with_preset(Preset::Innmf));
    c.validate().unwrap();
    // the quick settings have their own activation steps (60): run as written, or as named
    let mut q = ExperimentConfig::quick();
    q.resolve_preset(None).unwrap();
    assert_eq!(q, ExperimentConfig::quick());
    q.resolve_preset(Some(Preset::Innmf)).unwrap();
    assert_eq!(q.separation_solver, HSolver::Mu);
    // named on the command line, or in the configuration: that one
    let mut p = ExperimentConfig::default();
    p.resolve_preset(Some(Preset::Paper)).unwrap();
    assert_eq!(p, ExperimentConfig::with_preset(Preset::Paper));
    assert_eq!(p.separation_steps, 100);
    let mut named = ExperimentConfig::with_preset(Preset::Paper);
    named.resolve_preset(None).unwrap();
    assert_eq!(named.preset, Some(Preset::Paper));
    // the paper preset records itself, so its results.json reads back as the paper's
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"preset\":\"paper\""), "{json}");
    let mut back: ExperimentConfig = serde_json::from_str(&json).unwrap();
    back.resolve_preset(None).unwrap();
    assert_eq!(back, p);
    // fields of one's own and no preset: run as written (an ablation's configuration)
    let mut own = ExperimentConfig::default();
    own.separation_steps = 1000;
    let before = own.clone();
    own.resolve_preset(None).unwrap();
    assert_eq!(own, before);
    // the command line and the configuration disagree: refused, both named
    let mut both = ExperimentConfig::with_preset(Preset::Paper);
    let e = both
        .resolve_preset(Some(Preset::Innmf))
        .unwrap_err()
        .to_string();
    assert!(e.contains("innmf") && e.contains("paper"), "{e}");
}
