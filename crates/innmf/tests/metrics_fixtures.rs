//! The metrics against the Python reference implementations, on the fixtures made by
//! `tests/data/metrics/make_metrics_fixtures.py` (2 s speech excerpts, 16 and 8 kHz):
//! mir_eval `bss_eval_sources` (+ framewise) to 0.01 dB, fast_bss_eval `si_bss_eval_sources`
//! to 0.01 dB, pystoi STOI/eSTOI to 1e-3.

use innmf::audio::{read_wav, ChannelSelect};
use innmf::metrics::{
    bss_eval_sources, bss_eval_sources_framewise, estoi, si_bss_eval_sources, si_sdr, stoi,
    BssEvalSources,
};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/metrics"
    ))
}

fn expected() -> Value {
    let s = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    serde_json::from_str(&s).unwrap()
}

fn wav(name: &str) -> Vec<f64> {
    read_wav(&dir().join(name))
        .unwrap()
        .mono(ChannelSelect::Index(0))
        .unwrap()
}

fn wavs(list: &Value) -> Vec<Vec<f64>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| wav(n.as_str().unwrap()))
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn check(what: &str, got: &BssEvalSources, want: &Value, tol: f64) {
    for (name, g) in [("sdr", &got.sdr), ("sir", &got.sir), ("sar", &got.sar)] {
        let w = floats(&want[name]);
        assert_eq!(g.len(), w.len());
        for (j, (a, b)) in g.iter().zip(&w).enumerate() {
            assert!(
                (a - b).abs() <= tol,
                "{what} {name}[{j}]: got {a}, expected {b}"
            );
        }
    }
    let perm: Vec<usize> = want["perm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(got.perm, perm, "{what} perm");
}

#[test]
fn bss_eval_sources_matches_mir_eval() {
    let exp = expected();
    let mut n = 0;
    for (name, sc) in exp["scenarios"].as_object().unwrap() {
        let refs = wavs(&sc["references"]);
        let ests = wavs(&sc["estimates"]);
        let r = bss_eval_sources(&refs, &ests, true).unwrap();
        check(&format!("{name} perm"), &r, &sc["bss_eval_perm"], 0.01);
        let r = bss_eval_sources(&refs, &ests, false).unwrap();
        check(&format!("{name} noperm"), &r, &sc["bss_eval_noperm"], 0.01);
        n += 1;
    }
    assert_eq!(n, 2, "scenarios read from expected.json");
}

#[test]
fn framewise_matches_mir_eval() {
    let exp = expected();
    let sc = &exp["scenarios"]["a"];
    let fw = &sc["framewise"];
    let (window, hop) = (
        fw["window"].as_u64().unwrap() as usize,
        fw["hop"].as_u64().unwrap() as usize,
    );
    let mut refs = wavs(&sc["references"]);
    let ests = wavs(&sc["estimates"]);
    for variant in ["plain", "gap"] {
        if variant == "gap" {
            let g = floats(&fw["gap"]);
            let (j, a, b) = (g[0] as usize, g[1] as usize, g[2] as usize);
            refs[j][a..b].iter_mut().for_each(|v| *v = 0.0);
        }
        for perm in [false, true] {
            let want = &fw[format!("{variant}_perm{}", perm as u8)];
            let got = bss_eval_sources_framewise(&refs, &ests, window, hop, perm).unwrap();
            let mut nan_windows = 0;
            for (name, g) in [("sdr", &got.sdr), ("sir", &got.sir), ("sar", &got.sar)] {
                for (j, row) in want[name].as_array().unwrap().iter().enumerate() {
                    let w = floats(row);
                    assert_eq!(g[j].len(), w.len());
                    for (k, (a, b)) in g[j].iter().zip(&w).enumerate() {
                        if b.is_nan() {
                            assert!(
                                a.is_nan(),
                                "{variant} {name}[{j}][{k}]: got {a}, expected NaN"
                            );
                            nan_windows += 1;
                        } else {
                            assert!(
                                (a - b).abs() <= 0.01,
                                "{variant} {name}[{j}][{k}]: got {a}, expected {b}"
                            );
                        }
                    }
                }
            }
            assert_eq!(nan_windows > 0, variant == "gap");
            for (j, row) in want["perm"].as_array().unwrap().iter().enumerate() {
                let w: Vec<Option<usize>> = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_f64().map(|v| v as usize))
                    .collect();
                assert_eq!(got.perm[j], w, "{variant} perm[{j}]");
            }
        }
    }
}

#[test]
fn si_sdr_matches_fast_bss_eval() {
    let exp = expected();
    assert_eq!(
        exp["scenarios"].as_object().unwrap().len(),
        2,
        "scenarios read from expected.json"
    );
    for (name, sc) in exp["scenarios"].as_object().unwrap() {
        let refs = wavs(&sc["references"]);
        let ests = wavs(&sc["estimates"]);
        for (zero_mean, key) in [(false, "si_bss_eval"), (true, "si_bss_eval_zero_mean")] {
            let r = si_bss_eval_sources(&refs, &ests, zero_mean, true).unwrap();
            check(&format!("{name} {key}"), &r, &sc[key], 0.01);
            for j in 0..refs.len() {
                let v = si_sdr(&refs[j], &ests[r.perm[j]], zero_mean).unwrap();
                assert!((v - r.sdr[j]).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn stoi_matches_pystoi() {
    let exp = expected();
    let mut rates = std::collections::BTreeSet::new();
    for case in exp["stoi"].as_array().unwrap() {
        let fs = case["fs"].as_u64().unwrap() as u32;
        rates.insert(fs);
        let x = wav(case["clean"].as_str().unwrap());
        let y = wav(case["processed"].as_str().unwrap());
        let d = stoi(&x, &y, fs, false).unwrap();
        let want = case["stoi"].as_f64().unwrap();
        assert!((d - want).abs() <= 1e-3, "STOI {case}: got {d}");
        let e = estoi(&x, &y, fs).unwrap();
        let want = case["estoi"].as_f64().unwrap();
        assert!((e - want).abs() <= 1e-3, "eSTOI {case}: got {e}");
    }
    assert!(rates.len() >= 4, "{rates:?}");
}
