//! `innmf experiment` end to end on the synthetic corpus it writes itself.

mod common;
use common::innmf;

#[test]
fn experiment_runs_resumes_and_redraws_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let out = dir.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let (ok, _, err) = innmf(&["experiment", "synth-corpus", "--out", d]);
    assert!(ok, "{err}");
    assert!(data.join("speech/a.wav").is_file() && data.join("music/two_notes.wav").is_file());

    let args = [
        "experiment",
        "separation",
        "--quick",
        "--data",
        d,
        "--out",
        o,
        "--pairs",
        "1",
        "--jobs",
        "2",
    ];
    let (ok, stdout, err) = innmf(&args);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // 1 pair × 2 methods × 2 windows
    assert_eq!(summary["rows"]["separation"], 4);
    for f in ["results.json", "REPORT.md", "figures/separation_sdr.png"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(md.contains("## Separation across window sizes"), "{md}");

    // a second run finds every unit done
    let (ok, _, err) = innmf(&args);
    assert!(ok, "{err}");
    // off a terminal the resume note goes to stderr as a plain line (2 models, 2 × 2 NMF fits,
    // 2 methods × 2 windows)
    assert!(
        err.contains("resuming: 10 of 10 units already done"),
        "{err}"
    );
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["rows"]["separation"].as_array().unwrap().len(), 4);

    // the report is redrawn from results.json alone
    std::fs::remove_file(out.join("REPORT.md")).unwrap();
    let (ok, _, err) = innmf(&["experiment", "report", "--out", o]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(out.join("REPORT.md")).unwrap(), md);
}

#[test]
fn experiment_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("o");
    let (ok, _, err) = innmf(&[
        "experiment",
        "hybrid",
        "--data",
        "/no/such/folder",
        "--out",
        o.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("/no/such/folder"), "{err}");
    // --data is required for a study
    let (ok, _, err) = innmf(&["experiment", "all", "--out", o.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("--data"), "{err}");
    // report without results
    let (ok, _, err) = innmf(&["experiment", "report", "--out", o.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("results.json"), "{err}");
}

#[test]
fn a_planned_study_run_unit_by_unit_equals_the_plain_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let (planned, plain) = (dir.path().join("planned"), dir.path().join("plain"));
    let (d, p, q) = (
        data.to_str().unwrap(),
        planned.to_str().unwrap(),
        plain.to_str().unwrap(),
    );
    assert!(innmf(&["experiment", "synth-corpus", "--out", d]).0);
    let common = ["--quick", "--data", d, "--pairs", "1"];
    let (ok, _, err) = innmf(
        &[
            &["experiment", "plan", "separation", "--out", p],
            &common[..],
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("10 units (2 innmf-train, 4 nmf, 4 separate)"),
        "{err}"
    );
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(planned.join("plan.json")).unwrap()).unwrap();
    let units = plan["units"].as_array().unwrap();
    let ids: Vec<&str> = units.iter().map(|u| u["id"].as_str().unwrap()).collect();
    let sep = units
        .iter()
        .find(|u| u["id"] == "separate.a+b.innmf.256")
        .unwrap();
    assert_eq!(
        sep["deps"],
        serde_json::json!(["innmf-train.a", "innmf-train.b"])
    );

    // a unit whose dependencies are not done is an error naming them; an unknown id too
    let (ok, _, err) = innmf(&[
        "experiment",
        "run-unit",
        "--out",
        p,
        "separate.a+b.innmf.256",
    ]);
    assert!(!ok && err.contains("innmf-train.a, innmf-train.b"), "{err}");
    let (ok, _, err) = innmf(&["experiment", "run-unit", "--out", p, "nmf.z.256"]);
    assert!(!ok && err.contains("nmf.z.256"), "{err}");
    // collecting before every unit is done names the first missing one
    let (ok, _, err) = innmf(&["experiment", "collect", "--out", p]);
    assert!(!ok && err.contains("innmf-train.a"), "{err}");

    // the models and one separation, then everything (finished units are skipped)
    let first = ["innmf-train.a", "innmf-train.b", "separate.a+b.innmf.256"];
    let (ok, _, err) = innmf(&[&["experiment", "run-unit", "--out", p][..], &first[..]].concat());
    assert!(ok, "{err}");
    let (ok, _, err) = innmf(
        &[
            &["experiment", "run-unit", "--out", p, "--jobs", "2"][..],
            &ids[..],
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    assert!(
        !err.contains("innmf-train.a ("),
        "recomputed a finished unit: {err}"
    );
    let (ok, _, err) = innmf(&["experiment", "collect", "--out", p]);
    assert!(ok, "{err}");

    let (ok, _, err) = innmf(&[&["experiment", "separation", "--out", q], &common[..]].concat());
    assert!(ok, "{err}");
    let rows = |dir: &std::path::Path| -> serde_json::Value {
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
        r["rows"].clone()
    };
    assert_eq!(rows(&planned), rows(&plain));
}

#[test]
fn the_configs_seed_holds_unless_the_command_line_names_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let d = data.to_str().unwrap();
    assert!(innmf(&["experiment", "synth-corpus", "--out", d]).0);
    let plan = |out: &str, extra: &[&str]| -> serde_json::Value {
        let o = dir.path().join(out);
        let args = [
            &[
                "experiment",
                "plan",
                "separation",
                "--data",
                d,
                "--pairs",
                "1",
                "--out",
                o.to_str().unwrap(),
            ][..],
            extra,
        ]
        .concat();
        let (ok, _, err) = innmf(&args);
        assert!(ok, "{err}");
        serde_json::from_slice(&std::fs::read(o.join("plan.json")).unwrap()).unwrap()
    };
    // a configuration with seed 7, written from the quick settings' plan
    let quick = plan("quick", &["--quick"]);
    assert_eq!(quick["config"]["seed"], 0);
    let mut cfg = quick["config"].clone();
    cfg["seed"] = serde_json::json!(7);
    let cfg_path = dir.path().join("seed7.json");
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let c = cfg_path.to_str().unwrap();
    assert_eq!(plan("from-config", &["--config", c])["config"]["seed"], 7);
    assert_eq!(
        plan("overridden", &["--config", c, "--seed", "3"])["config"]["seed"],
        3
    );
}

#[test]
fn runs_at_several_seeds_combine_into_one_report() {
    use common::innmf_code;
    let runs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../studies/issue15/runs");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("avg");
    let o = out.to_str().unwrap();
    let run = |s: u32| format!("{runs}/all-mid1-tt-f32-s{s}.results.json");
    let (code, stdout, err) = innmf_code(&[
        "experiment",
        "combine",
        "--out",
        o,
        &run(0),
        &run(1),
        &run(2),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("averaged 3 runs (seeds [0, 1, 2])"), "{err}");
    let kinds: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(kinds["innmf-train"].as_f64().unwrap() > 0.0, "{stdout}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["seeds"], serde_json::json!([0, 1, 2]));
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(md.contains("Seeds 0, 1, 2"), "{md}");
    assert!(out.join("figures/separation_sdr.png").is_file());
    // `report` redraws the same file from the combined results.json
    std::fs::remove_file(out.join("REPORT.md")).unwrap();
    let (code, _, err) = innmf_code(&["experiment", "report", "--out", o]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(out.join("REPORT.md")).unwrap(), md);

    // bad input: exit 2, the value named, nothing written
    let bad = dir.path().join("bad");
    let b = bad.to_str().unwrap();
    let (code, _, err) = innmf_code(&["experiment", "combine", "--out", b, &run(0)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least 2 runs"), "{err}");
    let (code, _, err) = innmf_code(&["experiment", "combine", "--out", b, &run(0), &run(0)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("seed 0 twice"), "{err}");
    let other = format!("{runs}/all-mid1-tt-f32-tw2250-s1.results.json");
    let (code, _, err) = innmf_code(&["experiment", "combine", "--out", b, &run(0), &other]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`train_window` differs"), "{err}");
    assert!(!bad.exists());
    // never over an input
    let (code, _, err) = innmf_code(&["experiment", "combine", "--out", o, &run(3), o]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("would be overwritten"), "{err}");
}
