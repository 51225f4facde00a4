//! `innmf bench`: one smoke run per workload (a step or one run each, on the synthesized stand-in
//! when the baselines' recordings are absent) checking the JSON keys the speed comparisons read
//! (`bench/compare.sh`, `bench/before_after.sh`): `workload`, and `median_ms` or `median_s`.

mod common;
use common::innmf_code;

#[test]
fn every_workload_prints_the_keys_the_comparisons_read() {
    let cases: &[(&str, &str)] = &[
        ("stft-fit", "median_ms"),
        ("hybrid-fit", "median_ms"),
        ("nmf-kl", "median_s"),
        ("bss-eval", "median_ms"),
        ("analyze-cqt", "median_s"),
        ("analyze-cqt-direct", "median_s"),
        ("analyze-vqt", "median_s"),
        ("analyze-nsgt", "median_s"),
        ("analyze-cwt", "median_s"),
        ("analyze-cwt-full", "median_s"),
    ];
    for (w, key) in cases {
        let (code, out, err) = innmf_code(&[
            "bench",
            w,
            "--steps",
            "1",
            "--warmup",
            "0",
            "--repeats",
            "1",
        ]);
        assert_eq!(code, 0, "{w}: {err}");
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{w}: {e}"));
        assert_eq!(v["workload"], *w, "{w}");
        let t = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{w}: no {key} in {v}"));
        assert!(t > 0.0 && t.is_finite(), "{w}: {key} = {t}");
        assert!(v["threads"].as_u64().unwrap() >= 1, "{w}");
    }
    let (code, _, err) = innmf_code(&["bench", "stft"]);
    assert_eq!(code, 2);
    assert!(err.contains("stft-fit"), "{err}");
}
