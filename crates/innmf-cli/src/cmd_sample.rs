//! `innmf sample`: evaluate a model's W(f), H(t) and reconstruction on any grid.

use anyhow::{bail, Context, Result};
use innmf::error::Num;
use innmf::io::{self, NdArray};
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Npy,
    Csv,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Model file (.safetensors).
    pub model: PathBuf,
    /// Frequencies in Hz: START:STOP:COUNT (inclusive linspace), a comma list, or a .npy file.
    #[arg(long)]
    pub freqs: String,
    /// Times in seconds: START:STOP:COUNT, a comma list, or a .npy file.
    #[arg(long)]
    pub times: String,
    /// Output folder.
    #[arg(long, default_value = "innmf-sample")]
    pub out: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value_t = Format::Npy)]
    pub format: Format,
    /// Also draw W.png and H.png.
    #[arg(long)]
    pub plot: bool,
}

/// Parses a coordinate list.
pub fn parse_coords(spec: &str, what: &str) -> Result<Vec<f64>> {
    let v = if spec.ends_with(".npy") {
        io::read_npy(Path::new(spec))?.data
    } else if spec.contains(':') {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() != 3 {
            bail!("--{what} {spec}: expected START:STOP:COUNT");
        }
        let a: f64 = parts[0]
            .trim()
            .parse()
            .with_context(|| format!("--{what}: bad START '{}'", parts[0]))?;
        let b: f64 = parts[1]
            .trim()
            .parse()
            .with_context(|| format!("--{what}: bad STOP '{}'", parts[1]))?;
        let n: usize = parts[2]
            .trim()
            .parse()
            .with_context(|| format!("--{what}: bad COUNT '{}'", parts[2]))?;
        if n == 0 {
            bail!("--{what} {spec}: COUNT must be at least 1");
        }
        // the coordinates are allocated here, before the model's grid check sees them
        let max = innmf::model::MAX_GRID_VALUES;
        if n as u128 > max {
            bail!(
                "--{what} {spec}: expected a COUNT of at most {max} coordinates (the values one \
                 evaluation of a model may produce, innmf::model::MAX_GRID_VALUES)"
            );
        }
        if n == 1 {
            vec![a]
        } else {
            (0..n)
                .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
                .collect()
        }
    } else {
        spec.split(',')
            .map(|s| {
                s.trim()
                    .parse::<f64>()
                    .with_context(|| format!("--{what}: '{s}' is not a number"))
            })
            .collect::<Result<_>>()?
    };
    if v.is_empty() {
        bail!("--{what}: no coordinates given");
    }
    if let Some(x) = v.iter().find(|x| !x.is_finite()) {
        bail!("--{what}: non-finite coordinate {x}");
    }
    Ok(v)
}

pub fn run(args: &SampleArgs) -> Result<()> {
    let (model, config) = innmf::modelfile::load(&args.model)?;
    let freqs = parse_coords(&args.freqs, "freqs")?;
    let times = parse_coords(&args.times, "times")?;
    model.check_grid(&freqs, &times)?;
    // the files written into --out are none of the inputs (a --freqs DIR/freqs.npy with --out
    // DIR was rewritten)
    let mut inputs: Vec<&Path> = vec![&args.model];
    inputs.extend(
        [&args.freqs, &args.times]
            .into_iter()
            .filter(|s| s.ends_with(".npy"))
            .map(Path::new),
    );
    let ext = match args.format {
        Format::Npy => "npy",
        Format::Csv => "csv",
    };
    let mut names: Vec<String> = ["W", "H", "V"]
        .iter()
        .map(|n| format!("{n}.{ext}"))
        .collect();
    if args.format == Format::Npy {
        names.extend(["freqs.npy".to_string(), "times.npy".to_string()]);
    }
    if args.plot {
        names.extend(["W.png".to_string(), "H.png".to_string()]);
    }
    io::check_outputs_in(&args.out, "out", &names, &inputs)?;
    let k = model.rank();
    let w: Vec<f64> = model.sample_w(&freqs).iter().map(|&v| v as f64).collect();
    let h: Vec<f64> = model.sample_h(&times).iter().map(|&v| v as f64).collect();
    let v: Vec<f64> = model
        .reconstruct_grid(&freqs, &times)
        .iter()
        .map(|&v| v as f64)
        .collect();
    // finite parameters can still overflow f32 on the way out (a corrupt or hostile file):
    // refuse before anything is written rather than write NaN or infinity
    let (nf, nt) = (freqs.len(), times.len());
    let first_bad = |vals: &[f64]| vals.iter().position(|x| !x.is_finite());
    let bad = if let Some(i) = first_bad(&w) {
        let at = format!("component {}, {} Hz", i / nf + 1, Num(freqs[i % nf]));
        Some(("W", w[i], at))
    } else if let Some(i) = first_bad(&h) {
        let at = format!("component {}, {} s", i / nt + 1, Num(times[i % nt]));
        Some(("H", h[i], at))
    } else {
        first_bad(&v).map(|i| {
            let at = format!("{} Hz, {} s", Num(freqs[i / nt]), Num(times[i % nt]));
            ("the reconstruction", v[i], at)
        })
    };
    if let Some((name, value, at)) = bad {
        bail!(
            "{}: {name} evaluates to {} at {at}: expected finite values (the model's \
             parameters overflow f32 there); nothing was written",
            args.model.display(),
            Num(value)
        );
    }
    match args.format {
        Format::Npy => {
            io::write_npy(
                &args.out.join("freqs.npy"),
                &NdArray::vector(freqs.clone()),
                false,
            )?;
            io::write_npy(
                &args.out.join("times.npy"),
                &NdArray::vector(times.clone()),
                false,
            )?;
            io::write_npy(
                &args.out.join("W.npy"),
                &NdArray::new(vec![k, freqs.len()], w.clone()),
                false,
            )?;
            io::write_npy(
                &args.out.join("H.npy"),
                &NdArray::new(vec![k, times.len()], h.clone()),
                false,
            )?;
            io::write_npy(
                &args.out.join("V.npy"),
                &NdArray::new(vec![freqs.len(), times.len()], v),
                false,
            )?;
        }
        Format::Csv => {
            let wc: Vec<Vec<f64>> = (0..k)
                .map(|c| w[c * freqs.len()..(c + 1) * freqs.len()].to_vec())
                .collect();
            let hc: Vec<Vec<f64>> = (0..k)
                .map(|c| h[c * times.len()..(c + 1) * times.len()].to_vec())
                .collect();
            let wn: Vec<String> = (0..k).map(|c| format!("w{c}")).collect();
            let hn: Vec<String> = (0..k).map(|c| format!("h{c}")).collect();
            let mut names: Vec<&str> = vec!["f"];
            names.extend(wn.iter().map(|s| s.as_str()));
            let mut cols: Vec<&[f64]> = vec![&freqs];
            cols.extend(wc.iter().map(|c| c.as_slice()));
            io::write_csv(&args.out.join("W.csv"), &names, &cols)?;
            let mut names: Vec<&str> = vec!["t"];
            names.extend(hn.iter().map(|s| s.as_str()));
            let mut cols: Vec<&[f64]> = vec![&times];
            cols.extend(hc.iter().map(|c| c.as_slice()));
            io::write_csv(&args.out.join("H.csv"), &names, &cols)?;
            // reconstruction as long format f,t,v
            let (mut fc, mut tc) = (Vec::new(), Vec::new());
            for &f in &freqs {
                for &t in &times {
                    fc.push(f);
                    tc.push(t);
                }
            }
            io::write_csv(&args.out.join("V.csv"), &["f", "t", "v"], &[&fc, &tc, &v])?;
        }
    }
    if args.plot {
        use innmf::plot::{lines, Series};
        let ser = |vals: &[f64], xs: &[f64], name: &str| -> Vec<Series> {
            (0..k)
                .map(|c| Series {
                    name: format!("{name}_{}", c + 1),
                    x: xs.to_vec(),
                    y: vals[c * xs.len()..(c + 1) * xs.len()].to_vec(),
                })
                .collect()
        };
        lines(
            &args.out.join("W.png"),
            "W_k(f)",
            "frequency (Hz)",
            "W_k(f)",
            &ser(&w, &freqs, "W"),
            false,
        )?;
        lines(
            &args.out.join("H.png"),
            "H_k(t)",
            "time (s)",
            "H_k(t)",
            &ser(&h, &times, "H"),
            false,
        )?;
    }
    println!(
        "rank-{k} model ({} W, {} H) sampled at {} frequencies × {} times into {}",
        match config.w {
            innmf::modelfile::FactorConfig::Implicit { .. } => "implicit",
            _ => "explicit",
        },
        match config.h {
            innmf::modelfile::FactorConfig::Implicit { .. } => "implicit",
            _ => "explicit",
        },
        freqs.len(),
        times.len(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinate_specs() {
        assert_eq!(parse_coords("0:10:3", "f").unwrap(), vec![0.0, 5.0, 10.0]);
        assert_eq!(parse_coords("1, 2.5", "f").unwrap(), vec![1.0, 2.5]);
        assert!(parse_coords("0:1", "f").is_err());
        assert!(parse_coords("0:1:0", "f").is_err());
        assert!(parse_coords("a,b", "f").is_err());
        // a COUNT that cannot be allocated is refused before it is
        let e = parse_coords("0:8000:18446744073709551615", "freqs").unwrap_err();
        assert!(e.to_string().contains("at most 134217728"), "{e}");
    }
}
