//! One representation, one set of points: every transform built through the CLI (`analyze`,
//! `fit`, `demo`) gives exactly the points the library's `Representation` gives for the same
//! settings, and model files record the representation they were fitted on.

mod common;
use common::innmf;
use innmf::modelfile::TrainingData;
use innmf::transform::{Calibration, Representation, RepresentationOptions, TransformKind};
use innmf::TfPoints;
use std::f64::consts::PI;

const SR: f64 = 8000.0;

fn signal() -> Vec<f64> {
    // a low and a high harmonic tone, an onset, a little noise-free chirp: every transform
    // finds something in it
    (0..(2.0 * SR) as usize)
        .map(|i| {
            let t = i as f64 / SR;
            let on = if t > 0.4 { 1.0 } else { 0.0 };
            0.4 * (2.0 * PI * 196.0 * t).sin()
                + 0.2 * (2.0 * PI * 392.0 * t).sin()
                + on * 0.3 * (2.0 * PI * (1200.0 + 400.0 * t) * t).sin()
        })
        .collect()
}

fn same(a: &TfPoints, b: &TfPoints, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: point counts");
    assert_eq!(a.t(), b.t(), "{what}: times");
    assert_eq!(a.f(), b.f(), "{what}: frequencies");
    assert_eq!(a.m(), b.m(), "{what}: magnitudes");
}

#[test]
fn analyze_fit_and_demo_make_the_library_points() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("x.wav");
    let x = signal();
    innmf::audio::write_wav(&wav, &x, SR as u32).unwrap();
    // what the WAV holds (32-bit float): the library reads the same samples
    let xs = innmf::audio::load(&wav, &Default::default())
        .unwrap()
        .samples;
    let w = wav.to_str().unwrap();
    for kind in TransformKind::ALL {
        let name = kind.name();
        // `analyze` with its window/hop defaults (2048/512), calibrated, p = 0.5
        let npz = dir.path().join(format!("{name}.npz"));
        let (ok, _, err) = innmf(&[
            "analyze",
            w,
            "--transform",
            name,
            "--calibrate",
            "--power",
            "0.5",
            "--out",
            npz.to_str().unwrap(),
        ]);
        assert!(ok, "analyze {name}: {err}");
        let lib = Representation::with_options(
            kind,
            &RepresentationOptions {
                window: Some(2048),
                hop: Some(512),
                ..Default::default()
            },
        )
        .unwrap();
        let want = lib.points(&xs, SR, 0.5, Calibration::UnitTone).unwrap();
        same(
            &TfPoints::read(&npz).unwrap(),
            &want,
            &format!("analyze {name}"),
        );

        // `fit` (window/hop 2000/1000, native, p = 0.5): its model file records the resolved
        // representation, and that record recomputes the points it was fitted on
        let model = dir.path().join(format!("{name}.safetensors"));
        let (ok, _, err) = innmf(&[
            "fit",
            w,
            "--transform",
            name,
            "--steps",
            "2",
            "--rank",
            "2",
            "--width",
            "4",
            "--out",
            model.to_str().unwrap(),
        ]);
        assert!(ok, "fit {name}: {err}");
        let (_, cfg) = innmf::modelfile::load(&model).unwrap();
        let Some(TrainingData::Audio(a)) = cfg.data else {
            panic!("fit {name}: the model does not record its analysis")
        };
        let lib = Representation::with_options(
            kind,
            &RepresentationOptions {
                window: Some(2000),
                hop: Some(1000),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(a.representation, lib.resolve(SR).unwrap(), "fit {name}");
        assert_eq!(
            (a.sample_rate, a.power, a.calibration),
            (SR, 0.5, Calibration::Native)
        );
        same(
            &a.points(&xs).unwrap(),
            &lib.points(&xs, SR, 0.5, Calibration::Native).unwrap(),
            &format!("fit {name}"),
        );
    }
    // `demo --transform` (window/hop 256/64 at 4410 Hz) writes the library's points too
    let out = dir.path().join("demo");
    let (ok, _, err) = innmf(&[
        "demo",
        "--transform",
        "cwt",
        "--steps",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "demo: {err}");
    let demo_x = innmf::demo::demo_signal();
    let lib = Representation::with_options(
        TransformKind::Cwt,
        &RepresentationOptions {
            window: Some(256),
            hop: Some(64),
            ..Default::default()
        },
    )
    .unwrap()
    .points(
        &demo_x,
        innmf::demo::DEMO_SAMPLE_RATE,
        0.5,
        Calibration::Native,
    )
    .unwrap();
    same(
        &TfPoints::read(&out.join("points.npz")).unwrap(),
        &lib,
        "demo cwt",
    );
}
