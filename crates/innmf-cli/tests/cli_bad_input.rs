//! The bad-input table: one call per class of bad input a user can type or load, each asserting
//! exit code 2, a message naming the offending value (and its flag or file), and that no output
//! file was created and no input changed. Absurd sizes must fail before anything is allocated,
//! so each case also has to finish quickly (a case that allocates gigabytes would abort or time
//! out here instead of failing cleanly).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
mod common;
use common::innmf_code;

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let sr = 8000.0;
        let tone: Vec<f64> = (0..8000)
            .map(|i| 0.3 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr).sin())
            .collect();
        innmf::audio::write_wav(&p.join("tone.wav"), &tone, 8000).unwrap();
        let other: Vec<f64> = (0..8000)
            .map(|i| 0.3 * (2.0 * std::f64::consts::PI * 1250.0 * i as f64 / sr).sin())
            .collect();
        innmf::audio::write_wav(&p.join("other.wav"), &other, 8000).unwrap();
        let mix: Vec<f64> = tone.iter().zip(&other).map(|(a, b)| a + b).collect();
        innmf::audio::write_wav(&p.join("mix.wav"), &mix, 8000).unwrap();
        innmf::audio::write_wav(&p.join("silent.wav"), &[0.0; 8000], 8000).unwrap();
        std::fs::write(
            p.join("pts.csv"),
            "t,f,m\n0,100,1\n0.1,100,2\n0.1,200,1\n0,200,0.5\n",
        )
        .unwrap();
        // a grid whose magnitudes f32 cannot hold (the innmf preset's warm start runs in f32)
        std::fs::write(
            p.join("huge.csv"),
            "t,f,m\n0,100,1e300\n0.1,100,2e300\n0.1,200,1e300\n0,200,5e299\n",
        )
        .unwrap();
        // a stereo float WAV whose second channel holds a NaN
        let mut data = Vec::new();
        for i in 0..100 {
            data.extend_from_slice(&0.1f32.to_le_bytes());
            let v = if i == 50 { f32::NAN } else { 0.1 };
            data.extend_from_slice(&v.to_le_bytes());
        }
        let wav = float_wav(8000, 2, 32, &data);
        std::fs::write(p.join("nan2.wav"), wav).unwrap();
        // valid float WAVs at the edges of what arithmetic holds: samples of 1e200 (finite, but
        // their squares and energies are not), and a header's absurd sample rate of 4 GHz
        let loud: Vec<f64> = tone.iter().map(|v| v * 1e200).collect();
        std::fs::write(p.join("loud.wav"), float64_wav(8000, &loud)).unwrap();
        std::fs::write(p.join("fast.wav"), float64_wav(4_000_000_000, &tone)).unwrap();
        // inputs inside a folder that a command writes its fixed file names into
        std::fs::create_dir(p.join("wdir")).unwrap();
        let w = innmf::io::NdArray::new(vec![1001, 2], vec![1.0; 2002]);
        innmf::io::write_npy(&p.join("wdir/W.npy"), &w, false).unwrap();
        let freqs = innmf::io::NdArray::vector(vec![100.0, 200.0]);
        innmf::io::write_npy(&p.join("wdir/freqs.npy"), &freqs, false).unwrap();
        let big_weights = innmf::io::NdArray::vector(vec![1e300; 4]);
        innmf::io::write_npy(&p.join("bigw.npy"), &big_weights, false).unwrap();
        innmf::audio::write_wav(&p.join("long.wav"), &vec![0.1; 200_000], 8000).unwrap();
        let v = innmf::io::NdArray::new(vec![500, 400], vec![0.5; 200_000]);
        innmf::io::write_npy(&p.join("v.npy"), &v, false).unwrap();
        // a data folder for the experiment (its output folder must not be inside it)
        std::fs::create_dir_all(p.join("corpus/speech")).unwrap();
        innmf::audio::write_wav(&p.join("corpus/speech/a.wav"), &tone, 8000).unwrap();
        let f = Fixtures { dir };
        let (code, _, err) = innmf_code(&[
            "fit",
            &f.path("tone.wav"),
            "--window",
            "512",
            "--hop",
            "256",
            "--rank",
            "2",
            "--width",
            "8",
            "--steps",
            "3",
            "--h",
            "implicit",
            "-o",
            &f.path("m.safetensors"),
        ]);
        assert_eq!(code, 0, "{err}");
        // the same model with W's parameters at 3e38: finite, so the file loads, but W
        // overflows f32 wherever it is evaluated
        let (mut model, config) =
            innmf::modelfile::load(std::path::Path::new(&f.path("m.safetensors"))).unwrap();
        model.w.params_mut().fill(3e38);
        innmf::modelfile::save(
            std::path::Path::new(&f.path("overflow.safetensors")),
            &model,
            &config.data.unwrap(),
            &config.training,
        )
        .unwrap();
        f
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// Every file of the folder with its bytes.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

/// An IEEE-float WAV at `rate` Hz of `channels` channels of `bits`-bit samples, `data` the
/// interleaved sample bytes (the byte rate wraps for absurd rates, as a corrupt header's would).
fn float_wav(rate: u32, channels: u16, bits: u16, data: &[u8]) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    wav.extend_from_slice(&block.to_le_bytes());
    wav.extend_from_slice(&bits.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(data);
    wav
}

/// A mono 64-bit float WAV at `rate` Hz.
fn float64_wav(rate: u32, samples: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    float_wav(rate, 1, 64, &data)
}

/// (arguments with `{name}` for fixture paths, substrings the message must hold)
const CASES: &[(&str, &[&str])] = &[
    // 1. absurd sizes fail before allocation
    ("fit {pts.csv} --width 1000000000 -o {out.safetensors}", &["--width", "1000000000"]),
    ("fit {pts.csv} --rank 1000000000 -o {out.safetensors}", &["--rank", "1000000000"]),
    ("fit {pts.csv} --depth 1000000000 -o {out.safetensors}", &["--depth", "1000000000"]),
    ("fit {pts.csv} --steps 1000000000000000000 -o {out.safetensors}", &["--steps"]),
    ("analyze {tone.wav} --transform cqt --bins-per-octave 1000000000 -o {out.npz}", &["--bins-per-octave", "1000000000"]),
    ("analyze {tone.wav} --transform cqt --q 1000000000 -o {out.npz}", &["--q", "1000000000"]),
    ("analyze {tone.wav} --transform nsgt --bins-per-octave 1000000000 -o {out.npz}", &["--bins-per-octave", "1000000000"]),
    ("analyze {tone.wav} --transform cwt --bins-per-octave 1000000000 -o {out.npz}", &["1000000000"]),
    ("analyze {tone.wav} --resample 1000000000 -o {out.npz}", &["--resample", "1000000000"]),
    ("analyze {tone.wav} --window 1000000000 --hop 500000000 -o {out.npz}", &["--window", "1000000000"]),
    ("sample {m.safetensors} --freqs 0:8000:100000 --times 0:1:100000 --out {out.npy}", &["100000"]),
    ("separate --source {tone.wav} --source {other.wav} --mix {mix.wav} --free 1000000000 -o {outdir}", &["--free", "1000000000"]),
    // (these aborted out of memory, panicked on a capacity overflow or ran for days)
    ("sample {m.safetensors} --freqs 0:8000:18446744073709551615 --times 0 --out {outdir}", &["--freqs", "18446744073709551615"]),
    ("analyze {fast.wav} --transform hybrid -o {out.npz}", &["f_min", "4000000000 Hz", "16777216"]),
    ("nmf {tone.wav} --rank 2 --window 4294967296 --hop 1 --out {outdir}", &["--window", "4294967296"]),
    ("analyze {long.wav} --window 65536 --hop 1 -o {out.npz}", &["--hop", "1", "32769 bins"]),
    ("nmf {tone.wav} --rank 2 --iters 1000000000000 --tol 0 --out {outdir}", &["--iters", "1000000000000"]),
    ("separate --source {tone.wav} --source {other.wav} --mix {mix.wav} --phase-iters 1000000000000 -o {outdir}", &["--phase-iters", "1000000000000"]),
    // 4. outputs never over an input, extensions match their format
    ("fit {pts.csv} -o {pts.csv}", &["pts.csv"]),
    ("fit {pts.csv} -o {out.safetensors} --report {out.safetensors}", &["out.safetensors"]),
    ("fit {pts.csv} -o {out.npz}", &["out.npz", "safetensors"]),
    ("analyze {tone.wav} -o {out.npz} --plot {out.jpg}", &["out.jpg"]),
    // (these wrote over an input: the report over a reference WAV, W over the --fixed-w it was
    // fitted with, the coordinates over the --freqs file)
    ("eval --reference {tone.wav} --estimate {other.wav} --json {tone.wav}", &["--json", "tone.wav"]),
    ("nmf {tone.wav} --rank 2 --fixed-w {wdir/W.npy} --out {wdir}", &["--out", "W.npy", "overwritten"]),
    ("sample {m.safetensors} --freqs {wdir/freqs.npy} --times 0 --out {wdir}", &["--out", "freqs.npy", "overwritten"]),
    // 5. threads
    ("fit {pts.csv} --threads 0 -o {out.safetensors}", &["--threads", "0"]),
    ("fit {pts.csv} --threads 100000 -o {out.safetensors}", &["--threads", "100000"]),
    // 6. NaN in a channel other than the first
    ("analyze {nan2.wav} --channel 0 -o {out.npz}", &["nan2.wav", "channel 1"]),
    // 9. meaningless input
    ("analyze {tone.wav} --start -1 -o {out.npz}", &["--start", "-1"]),
    ("analyze {tone.wav} --start NaN -o {out.npz}", &["--start", "NaN"]),
    ("fit {silent.wav} --window 512 --hop 256 -o {out.safetensors}", &["silent.wav", "silent"]),
    ("separate --source {silent.wav} --source {other.wav} --mix {mix.wav} -o {outdir}", &["silent.wav", "silent"]),
    ("nmf {silent.wav} --rank 1 --out {outdir}", &["silent.wav", "silent"]),
    ("sample {m.safetensors} --freqs 100 --times=-1e308 --out {out.npy}", &["-1e308"]),
    // (an explicit H, a table, is constant beyond its ends: only networks are refused there)
    // 10. messages name the right value
    ("analyze {tone.wav} --transform cqt --fmin NaN -o {out.npz}", &["--fmin", "NaN"]),
    ("analyze {tone.wav} --transform cqt --fmax 12000 -o {out.npz}", &["--fmax", "12000"]),
    ("sample {m.safetensors} --freqs 100 --times 0 --out {m.safetensors}", &["m.safetensors"]),
    ("eval --reference {tone.wav} --estimate {nan2.wav}", &["nan2.wav", "channel 1"]),
    ("fit {missing.wav} -o {out.safetensors}", &["missing.wav"]),
    // the fit's settings are checked before the input is read (and before a preset's warm
    // start): a bad setting is named even when the input does not exist
    ("fit {missing.wav} --preset innmf --steps 0 -o {out.safetensors}", &["--steps", "0"]),
    ("fit {missing.wav} --preset innmf --weights {w.npy} -o {out.safetensors}", &["--weights", "w.npy", "templates"]),
    ("fit {huge.csv} --preset innmf --rank 1 --steps 5 -o {out.safetensors}", &["training data", "2e300", "nmf_precision"]),
    // 11. finite values whose arithmetic overflows: an error, not a divergence (exit 1) or a
    // NaN or infinity in an output
    ("fit {huge.csv} --rank 1 --steps 5 -o {out.safetensors}", &["training data", "2e300", "f32"]),
    ("fit {pts.csv} --weights {bigw.npy} --rank 1 --steps 5 -o {out.safetensors}", &["weight", "3.4e38"]),
    ("analyze {loud.wav} --power 2 -o {out.npz}", &["--power", "2", "overflows"]),
    ("eval --reference {loud.wav} --estimate {loud.wav}", &["reference source", "e199"]),
    ("eval --reference {fast.wav} --estimate {fast.wav}", &["4000000000", "10 kHz"]),
    ("sample {overflow.safetensors} --freqs 0:4000:5 --times 0:1:5 --out {outdir}", &["overflow.safetensors", "W", "finite"]),
    ("fit {missing.wav} --lr NaN -o {out.safetensors}", &["--lr", "NaN"]),
    ("fit {missing.wav} --fraction 0 -o {out.safetensors}", &["--fraction", "0"]),
    // classes that already worked: empty, truncated and text WAVs; bad point sets; models
    ("analyze {empty.wav} -o {out.npz}", &["empty.wav"]),
    ("analyze {text.wav} -o {out.npz}", &["text.wav"]),
    ("fit {neg.csv} -o {out.safetensors}", &["-2.5"]),
    ("fit {nan.csv} -o {out.safetensors}", &["nan.csv"]),
    ("sample {garbage.safetensors} --freqs 1 --times 1 --out {out.npy}", &["garbage.safetensors"]),
    ("analyze {tone.wav} --transform cqt --bins-per-octave 0 -o {out.npz}", &["--bins-per-octave", "0"]),
    ("analyze {tone.wav} --transform stft --window 512 --hop 0 -o {out.npz}", &["--hop", "0"]),
    // 12. extreme floats are shown short (`{}` printed 1e300 with 301 digits; every case is
    // also checked for a run of zeros) and bounded where they would only make the loss NaN:
    // β, ω and the learning rate were reported as "training diverged at step 0" (exit 1)
    ("analyze {tone.wav} --power 1e300 -o {out.npz}", &["--power 1e300:"]),
    ("analyze {tone.wav} --transform cqt --fmin 1e300 -o {out.npz}", &["--fmin 1e300:"]),
    ("analyze {tone.wav} --transform cqt --fmin 1e-300 -o {out.npz}", &["1e-300 Hz", "5e305 samples"]),
    ("analyze {tone.wav} --transform cqt --fmin=-1e300 -o {out.npz}", &["--fmin -1e300:"]),
    ("fit {pts.csv} --beta 1e300 -o {out.safetensors}", &["--beta 1e300:", "[−10, 10]"]),
    ("fit {pts.csv} --beta=-1000 -o {out.safetensors}", &["--beta -1000:", "[−10, 10]"]),
    ("fit {pts.csv} --omega 1e30 -o {out.safetensors}", &["--omega 1e30:", "(0, 1000]", "6433"]),
    ("fit {pts.csv} --lr 1e30 -o {out.safetensors}", &["--lr 1e30:", "(0, 1000]"]),
    ("nmf {tone.wav} --rank 2 --beta 1e5 --out {outdir}", &["--beta 100000:", "[−10, 10]"]),
    ("nmf {tone.wav} --rank 2 --alpha-w 1e300 --out {outdir}", &["--alpha-w 1e300:", "[0, 1e30]"]),
    ("separate --source {tone.wav} --source {other.wav} --mix {mix.wav} --beta 1e300 -o {outdir}", &["--beta 1e300:", "[−10, 10]"]),
    // 13. a setting is named as the user spelt it
    ("separate --source {tone.wav} --source {other.wav} --mix {mix.wav} --train-window 0 -o {outdir}", &["--train-window 0:"]),
    // 14. a model whose W overflows is reported as non-finite, not as "zero at every frequency"
    ("separate --model {overflow.safetensors} --model {m.safetensors} --mix {mix.wav} -o {outdir}", &["templates", "finite templates"]),
    // 15. the experiment's output folder is never the data folder or inside it
    ("experiment reconstruction --quick --data {corpus} --out {corpus}", &["--out", "outside the data folder"]),
    ("experiment plan reconstruction --data {corpus} --out {corpus/speech/run}", &["--out", "outside the data folder"]),
];

fn expand(f: &Fixtures, args: &str) -> Vec<String> {
    args.split_whitespace()
        .map(|a| {
            let mut s = a.to_string();
            while let (Some(i), Some(j)) = (s.find('{'), s.find('}')) {
                let name = &s[i + 1..j];
                s = format!("{}{}{}", &s[..i], f.path(name), &s[j + 1..]);
            }
            s
        })
        .collect()
}

#[test]
fn every_class_of_bad_input_exits_2_names_the_value_and_writes_nothing() {
    let f = Fixtures::new();
    std::fs::write(f.path("empty.wav"), b"").unwrap();
    std::fs::write(f.path("text.wav"), b"this is not audio at all, only text\n").unwrap();
    std::fs::write(f.path("neg.csv"), "t,f,m\n0,100,1\n0.1,100,-2.5\n").unwrap();
    std::fs::write(f.path("nan.csv"), "t,f,m\n0,100,1\n0.1,NaN,2\n").unwrap();
    std::fs::write(
        f.path("garbage.safetensors"),
        b"\x08\0\0\0\0\0\0\0{}garbage",
    )
    .unwrap();
    let before = f.snapshot();
    let mut failures = Vec::new();
    for (args, needles) in CASES {
        let argv = expand(&f, args);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let t0 = std::time::Instant::now();
        let (code, _, err) = innmf_code(&argv);
        let secs = t0.elapsed().as_secs_f64();
        eprintln!("{secs:6.2} s  exit {code}  innmf {args}");
        let mut missing: Vec<&&str> = needles.iter().filter(|n| !err.contains(**n)).collect();
        // an I/O cause is printed once, not again by each context around it
        if err.matches("os error").count() > 1 {
            missing.push(&"the I/O cause once");
        }
        // a float printed with all its digits (1e300 as 301 of them)
        if err.contains(&"0".repeat(24)) {
            missing.push(&"floats in short form");
        }
        let after = f.snapshot();
        if code != 2 || !missing.is_empty() || after != before || secs > 20.0 {
            let changed: Vec<_> = after
                .iter()
                .filter(|(p, b)| before.get(*p) != Some(b))
                .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            failures.push(format!(
                "`innmf {args}`: exit {code}, {secs:.1} s, missing {missing:?}, files written \
                 {changed:?}\n    {}",
                err.trim().replace('\n', "\n    ")
            ));
            // leave the folder as it was for the next case
            for p in after.keys().filter(|p| !before.contains_key(*p)) {
                let _ = std::fs::remove_file(p);
            }
            let _ = std::fs::remove_dir_all(f.path("outdir"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Requests below the fixed caps that need more memory than the limit (`INNMF_MEMORY_LIMIT`,
/// here 64 MiB so that each is refused at once; by default the machine's physical memory): exit
/// 2 naming the value, the estimate and the limit, before anything is written (these aborted
/// with "memory allocation of N bytes failed" when the memory was short).
const MEMORY_CASES: &[(&str, &str, &[&str])] = &[
    (
        "64M",
        "analyze {long.wav} --window 4096 --hop 8 -o {out.npz}",
        &[
            "--hop 8",
            "an STFT of 200000 samples with window 4096 and hop 8",
            "24489 frames × 2049 bins",
            "memory limit of 64.0 MiB (set by INNMF_MEMORY_LIMIT)",
            "a larger hop",
        ],
    ),
    (
        "64M",
        "analyze {long.wav} --transform vqt --bins-per-octave 96 --hop 1 -o {out.npz}",
        &[
            "--transform vqt",
            "a vqt analysis of 200000 samples",
            "64.0 MiB",
            "fewer bins per octave",
        ],
    ),
    (
        "64M",
        "analyze {long.wav} --transform cwt --bins-per-octave 96 -o {out.npz}",
        &[
            "--bins-per-octave 96",
            "a CWT of 200000 samples at 96 voices per octave",
            "64.0 MiB",
        ],
    ),
    (
        "16M",
        "analyze {long.wav} --transform nsgt --bins-per-octave 1200 -o {out.npz}",
        &[
            "--bins-per-octave 1200",
            "an NSGT of 200000 samples",
            "16.0 MiB",
        ],
    ),
    (
        "64M",
        "nmf {long.wav} --rank 2 --window 4096 --hop 8 --out {outdir}",
        &["--hop 8", "64.0 MiB"],
    ),
    // a matrix read from .npy: no analysis to refuse it, the updates' own estimate does
    (
        "1M",
        "nmf {v.npy} --rank 2 --out {outdir}",
        &[
            "NMF of a 500×400 matrix at rank 2",
            "1.0 MiB",
            "a smaller matrix",
        ],
    ),
    (
        "64M",
        "fit {tone.wav} --window 256 --hop 4 --rank 20 --width 256 --steps 1 -o {out.safetensors}",
        &["training a rank-20 model on", "64.0 MiB", "a lower rank"],
    ),
    (
        "64M",
        "sample {m.safetensors} --freqs 0:4000:3000 --times 0:1:3000 --out {outdir}",
        &[
            "--times 3000 coordinates",
            "a rank-2 model on 3000 frequencies × 3000 times",
            "64.0 MiB",
        ],
    ),
    (
        "1K",
        "analyze {tone.wav} -o {out.npz}",
        &["1.0 KiB (set by INNMF_MEMORY_LIMIT)"],
    ),
    // a limit that is not a size is itself bad input
    (
        "lots",
        "analyze {tone.wav} -o {out.npz}",
        &["INNMF_MEMORY_LIMIT = \"lots\"", "8G or 512M"],
    ),
    (
        "0",
        "analyze {tone.wav} -o {out.npz}",
        &["INNMF_MEMORY_LIMIT = \"0\""],
    ),
];

#[test]
fn requests_over_the_memory_limit_exit_2_before_writing_anything() {
    let f = Fixtures::new();
    let run = |limit: &str, args: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_innmf"))
            .args(expand(&f, args))
            .env("INNMF_MEMORY_LIMIT", limit)
            .output()
            .expect("run innmf");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let before = f.snapshot();
    let mut failures = Vec::new();
    for (limit, args, needles) in MEMORY_CASES {
        let t0 = std::time::Instant::now();
        let (code, err) = run(limit, args);
        let secs = t0.elapsed().as_secs_f64();
        eprintln!("{secs:6.2} s  exit {code}  INNMF_MEMORY_LIMIT={limit} innmf {args}");
        let missing: Vec<&&str> = needles.iter().filter(|n| !err.contains(**n)).collect();
        let after = f.snapshot();
        if code != 2 || !missing.is_empty() || after != before || secs > 20.0 {
            failures.push(format!(
                "`INNMF_MEMORY_LIMIT={limit} innmf {args}`: exit {code}, {secs:.1} s, missing \
                 {missing:?}, {} files written\n    {}",
                after.len().saturating_sub(before.len()),
                err.trim()
            ));
            for p in after.keys().filter(|p| !before.contains_key(*p)) {
                let _ = std::fs::remove_file(p);
            }
            let _ = std::fs::remove_dir_all(f.path("outdir"));
        }
    }
    // the same small requests run under the same limit, and unset or empty means no override
    for (limit, args) in [
        ("64M", "analyze {tone.wav} -o {ok.npz}"),
        ("", "analyze {long.wav} --window 4096 --hop 8 -o {ok2.npz}"),
    ] {
        let (code, err) = run(limit, args);
        if code != 0 {
            failures.push(format!(
                "`INNMF_MEMORY_LIMIT={limit} innmf {args}`: exit {code}\n    {err}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        MEMORY_CASES.len() + 2,
        failures.join("\n")
    );
}
