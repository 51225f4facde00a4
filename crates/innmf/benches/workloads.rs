//! The workloads of `innmf bench` (defined once, in `innmf::bench`) under criterion, on
//! synthesized inputs of the workloads' sizes: `cargo bench -p innmf --bench workloads`
//! (`-- stft-fit` for one). The side-by-side comparisons with the Python baselines use
//! `innmf bench WORKLOAD` on the baselines' recordings (README, "Speed").

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use innmf::bench::{self, Workload};
use std::hint::black_box;

fn workloads(c: &mut Criterion) {
    for w in Workload::ALL {
        let x = bench::prepare_input(w, None)
            .expect("synthesized input")
            .signal;
        let mut g = c.benchmark_group(w.name());
        g.sample_size(10);
        if w.is_fit() {
            let fw = bench::fit_workload(w, &x).expect("workload");
            // one training step from the seeded start (the model copy is not timed)
            g.bench_function("step", |b| {
                b.iter_batched(
                    || fw.model.clone(),
                    |mut model| {
                        let cfg = innmf::FitConfig {
                            steps: 1,
                            ..fw.config.clone()
                        };
                        innmf::fit(&mut model, &fw.points, &cfg, None, None).expect("fit");
                        model
                    },
                    BatchSize::LargeInput,
                )
            });
        } else if w == Workload::NmfKl {
            let (v, f, t) = bench::nmf_matrix(&x).expect("matrix");
            // 300 of the workload's 3000 iterations
            g.bench_function("300 iterations", |b| {
                b.iter(|| black_box(bench::run_nmf_kl(&v, f, t, 300).expect("nmf")))
            });
        } else if w == Workload::BssEval {
            let (refs, ests) = bench::bss_eval_inputs(None).expect("inputs");
            g.bench_function("call", |b| {
                b.iter(|| {
                    black_box(
                        innmf::metrics::bss_eval::bss_eval_sources(&refs, &ests, true)
                            .expect("bss_eval"),
                    )
                })
            });
        } else {
            g.bench_function("plan + analyze", |b| {
                b.iter(|| black_box(bench::analyze(w, &x).expect("analysis")))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
