//! Replays the committed fuzzing corpora (`fuzz/corpus/<target>/`, see `fuzz/README.md`) through
//! the readers the fuzz targets exercise: every input must load or return an error, with no
//! panic and within a time limit.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous for inputs of a few kB even on a loaded machine; a hang runs forever.
const LIMIT: Duration = Duration::from_secs(20);

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    files
}

/// Runs `f` on every corpus file of `target`, each in a thread with a time limit; returns how
/// many loaded.
fn replay(target: &str, f: fn(&[u8]) -> bool) -> usize {
    let mut loaded = 0;
    for path in corpus(target) {
        let bytes = std::fs::read(&path).unwrap();
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| f(&bytes));
            let _ = tx.send(r);
        });
        match rx.recv_timeout(LIMIT) {
            Ok(Ok(ok)) => loaded += ok as usize,
            Ok(Err(_)) => panic!("{}: the reader panicked", path.display()),
            Err(_) => panic!(
                "{}: no answer after {:?} (a hang)",
                path.display(),
                start.elapsed()
            ),
        }
    }
    loaded
}

#[test]
fn audio_corpus_replays() {
    let n = replay("audio_decode", |b| {
        innmf::audio::decode(b, "corpus").is_ok()
    });
    println!("audio_decode: {n} inputs decoded");
    assert!(
        n > 0,
        "no corpus input decodes: the corpus lost its valid files"
    );
}

#[test]
fn npy_corpus_replays() {
    let n = replay("npy", |b| {
        innmf::io::parse_npy(b, Path::new("corpus.npy")).is_ok()
    });
    assert!(n > 0, "no corpus input loads");
}

#[test]
fn points_corpus_replays() {
    let n = replay("points", |b| match b.split_first() {
        Some((&sel, rest)) => {
            let name = if sel % 2 == 0 { "c.npz" } else { "c.csv" };
            innmf::TfPoints::from_bytes(rest, Path::new(name)).is_ok()
        }
        None => false,
    });
    assert!(n > 0, "no corpus input loads");
}

#[test]
fn model_corpus_replays() {
    let n = replay("model", |b| {
        match innmf::modelfile::from_bytes(b, Path::new("corpus.safetensors")) {
            Ok((model, _)) => {
                // a model that loads must also evaluate
                let w = model.sample_w(&[0.0, 100.0, 1000.0]);
                let h = model.sample_h(&[0.0, 0.5, 1.0]);
                w.len() == 3 * model.rank() && h.len() == 3 * model.rank()
            }
            Err(_) => false,
        }
    });
    assert!(n > 0, "no corpus input loads");
}

/// The rank-1 seed model (W implicit, H explicit at 3 times), its header JSON and tensor data.
fn seed_model() -> (serde_json::Value, Vec<u8>) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/model/rank1.safetensors");
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    (header, b[8 + n..].to_vec())
}

fn model_bytes(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let mut h = serde_json::to_vec(header).unwrap();
    h.resize(h.len().div_ceil(8) * 8, b' ');
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

/// The seed with its configuration changed by `edit`.
fn with_config(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let (mut header, data) = seed_model();
    let meta = header["__metadata__"]["innmf"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cfg: serde_json::Value = serde_json::from_str(&meta).unwrap();
    edit(&mut cfg);
    header["__metadata__"]["innmf"] = serde_json::Value::String(cfg.to_string());
    model_bytes(&header, &data)
}

/// The seed with the first f32 of tensor `name` set to `value`.
fn with_value(name: &str, value: f32) -> Vec<u8> {
    let (header, mut data) = seed_model();
    let off = header[name]["data_offsets"][0].as_u64().unwrap() as usize;
    data[off..off + 4].copy_from_slice(&value.to_le_bytes());
    model_bytes(&header, &data)
}

#[test]
fn model_loader_rejects_absurd_or_broken_models() {
    let load = |b: &[u8]| innmf::modelfile::from_bytes(b, Path::new("m.safetensors"));
    assert!(
        load(&with_config(|_| {})).is_ok(),
        "the unchanged seed must load"
    );
    let cases: Vec<(Vec<u8>, &[&str])> = vec![
        (
            with_config(|c| c["w"]["config"]["width"] = 1_000_000_000.into()),
            &["w.width = 1000000000"],
        ),
        (
            with_config(|c| c["w"]["config"]["depth"] = 1_000_000_000_000u64.into()),
            &["w.depth = 1000000000000"],
        ),
        (
            with_config(|c| c["rank"] = 1_000_000_000.into()),
            &["rank = 1000000000"],
        ),
        (
            with_config(|c| c["h"]["n"] = 1_000_000.into()),
            &["h.n = 1000000"],
        ),
        (
            with_config(|c| {
                c["w"]["config"]["axis"]["lo"] = 5.0.into();
                c["w"]["config"]["axis"]["hi"] = 5.0.into();
            }),
            &["w.axis", "[5, 5]"],
        ),
        (
            with_config(|c| c["w"]["config"]["omega"] = (-1.0).into()),
            &["w.omega = -1"],
        ),
        (
            with_config(|c| c["w"]["config"]["width"] = 3.into()),
            &["w.layers.0.weight"],
        ),
        (
            with_value("w.layers.1.weight", f32::NAN),
            &["w.layers.1.weight", "NaN", "index 0"],
        ),
        (
            with_value("w.fourier_bias", f32::INFINITY),
            &["w.fourier_bias", "inf"],
        ),
        (
            with_value("h.theta", f32::NEG_INFINITY),
            &["h.theta", "-inf"],
        ),
    ];
    for (i, (bytes, phrases)) in cases.iter().enumerate() {
        let e = load(bytes).map(|_| ()).unwrap_err().to_string();
        println!("case {i}: {e}");
        assert!(e.contains("m.safetensors"), "case {i}: {e}");
        for p in *phrases {
            assert!(e.contains(p), "case {i}: {p:?} missing from: {e}");
        }
    }
    // coordinates of an explicit factor must be finite
    let (header, mut data) = seed_model();
    let off = header["h.coords"]["data_offsets"][0].as_u64().unwrap() as usize;
    data[off..off + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    let e = load(&model_bytes(&header, &data))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("h.coords") && e.contains("NaN"), "{e}");
}

#[test]
fn npy_shapes_whose_product_overflows_are_errors() {
    // issue 14, item 3: (8589934592, 2147483648) has 2^64 elements, which wrapped to 0
    for shape in ["(8589934592, 2147483648)", "(18446744073709551615, 2)"] {
        let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&[0u8; 16]);
        let e = innmf::io::parse_npy(&b, Path::new("big.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("big.npy") && e.contains("more elements"), "{e}");
    }
}
