//! The w3 workload (KL multiplicative updates, rank 20, 3000 iterations) on a matrix from a
//! `.npy` file: `cargo run --release --example bench_nmf -- X.npy [iters] [init] [order] [runs]`.

use innmf::nmf::{bench_nmf_kl, Init, UpdateOrder};
use std::path::Path;

fn main() -> innmf::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map(String::as_str).unwrap_or("/tmp/w3_x.npy");
    let iters: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let init = Init::parse(args.get(3).map(String::as_str).unwrap_or("paper"))?;
    let order = match args.get(4).map(String::as_str) {
        Some("w-then-h") => UpdateOrder::WThenH,
        _ => UpdateOrder::HThenW,
    };
    let runs: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(3);
    let x = innmf::io::read_npy(Path::new(path))?;
    let (f, t) = (x.shape[0], x.shape[1]);
    let v = x.to_f32();
    for run in 0..runs {
        let (secs, loss) = bench_nmf_kl(&v, f, t, 20, iters, init, order, run as u64)?;
        println!(
            "{f}x{t} rank 20 {iters} it init {} {order:?}: {secs:.3} s, final mean KL {loss:.6e}",
            init.name()
        );
    }
    Ok(())
}
