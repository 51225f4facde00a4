//! Timing of `bss_eval_sources` for `tests/data/metrics/bench_bss_eval.py` (not a test: ignored).
//!
//! `INNMF_BENCH_DIR` names a folder with ref0.wav, ref1.wav, est0.wav, est1.wav; the timing is
//! printed as one JSON line starting with `RUST_BENCH `.

use innmf::audio::{read_wav, ChannelSelect};
use innmf::metrics::bench_bss_eval;

#[test]
#[ignore = "benchmark: run through tests/data/metrics/bench_bss_eval.py"]
fn bench_bss_eval_sources() {
    let dir = std::path::PathBuf::from(std::env::var("INNMF_BENCH_DIR").expect("INNMF_BENCH_DIR"));
    let repeats: usize = std::env::var("INNMF_BENCH_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let load = |n: &str| {
        read_wav(&dir.join(n))
            .unwrap()
            .mono(ChannelSelect::Index(0))
            .unwrap()
    };
    let refs = vec![load("ref0.wav"), load("ref1.wav")];
    let ests = vec![load("est0.wav"), load("est1.wav")];
    let b = bench_bss_eval(&refs, &ests, repeats).unwrap();
    println!(
        "RUST_BENCH {}",
        serde_json::json!({
            "threads": rayon::current_num_threads(),
            "min_s": b.min_s,
            "median_s": b.median_s,
            "repeats": b.repeats,
            "sdr": b.result.sdr, "sir": b.result.sir, "sar": b.result.sar, "perm": b.result.perm,
        })
    );
}
