use super::*;

fn tone(f: f64, sr: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / sr).cos())
        .collect()
}

#[test]
fn stft_points_skip_the_complex_spectrogram_but_not_a_bit_of_its_values() {
    let sr = 8000.0;
    let x: Vec<f64> = tone(440.0, sr, 9000)
        .iter()
        .zip(tone(1234.5, sr, 9000))
        .enumerate()
        .map(|(i, (a, b))| a + 0.3 * b + 1e-3 * ((i * 7919) % 101) as f64)
        .collect();
    for padding in [Padding::None, Padding::Center] {
        let mut params = StftParams::new(256, 64);
        params.padding = padding;
        let r = Representation::Stft(params);
        for cal in [Calibration::Native, Calibration::UnitTone] {
            for p in [0.5, 1.0] {
                let got = r.points(&x, sr, p, cal).unwrap();
                // the general path: complex coefficients, calibrated, then |c|^p
                let plan = Stft::new(params, sr).unwrap();
                let mut c = Transform::analyze(&plan, &x).unwrap();
                c.calibrate(cal, &plan.unit_tone_gain()).unwrap();
                let want = c.to_points(p).unwrap();
                assert!(got.is_row_major_grid());
                assert_eq!(got, want, "{padding:?} {cal:?} p = {p}");
                assert!(got
                    .m()
                    .iter()
                    .zip(want.m())
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }
}

#[test]
fn json_round_trip_and_defaults_for_missing_fields() {
    for kind in TransformKind::ALL {
        let r = Representation::default_for(kind);
        let s = serde_json::to_string(&r).unwrap();
        let back: Representation = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r, "{s}");
        assert!(s.contains(&format!("\"transform\":\"{kind}\"")), "{s}");
        assert_eq!(kind.name().parse::<TransformKind>().unwrap(), kind);
    }
    let c: Representation =
        serde_json::from_str(r#"{"transform":"cqt","f_min":50,"bins_per_octave":12}"#).unwrap();
    let Representation::Cqt(c) = c else {
        panic!("not a cqt")
    };
    assert_eq!((c.f_min, c.bins_per_octave, c.hop_divisor), (50.0, 12, 8));
    assert!("wavelet".parse::<TransformKind>().is_err());
}

#[test]
fn resolve_fills_rate_dependent_defaults() {
    // the paper's CQT: 6.7 octaves of 64 bins = 428 bins (⌊428.8⌋)
    let r = Representation::default_for(TransformKind::Cqt)
        .resolve(44100.0)
        .unwrap();
    let Representation::Cqt(c) = &r else { panic!() };
    assert_eq!((c.n_bins, c.q), (Some(428), Some(64.0)));
    // an explicit f_max counts the bins whose centre is at most f_max (one bin: exactly on it)
    let o = RepresentationOptions {
        f_min: Some(100.0),
        f_max: Some(800.0),
        bins_per_octave: Some(12),
        ..Default::default()
    };
    for kind in [TransformKind::Cqt, TransformKind::Vqt] {
        let r = Representation::with_options(kind, &o)
            .unwrap()
            .resolve(16000.0)
            .unwrap();
        match r {
            Representation::Cqt(c) => assert_eq!(c.n_bins, Some(37)),
            Representation::Vqt(v) => assert_eq!(v.n_bins, Some(37)),
            _ => unreachable!(),
        }
    }
    // low rates cap the default top frequency below 0.45·sr
    let r = Representation::default_for(TransformKind::Nsgt)
        .resolve(4410.0)
        .unwrap();
    let Representation::Nsgt(n) = r else { panic!() };
    assert!((n.f_max.unwrap() - 0.45 * 4410.0).abs() < 1e-9);
    // resolving twice changes nothing
    for kind in TransformKind::ALL {
        let a = Representation::default_for(kind).resolve(22050.0).unwrap();
        assert_eq!(a.resolve(22050.0).unwrap(), a, "{kind}");
    }
}

#[test]
fn options_a_kind_does_not_take_are_refused_by_name() {
    let e = Representation::with_options(
        TransformKind::Stft,
        &RepresentationOptions {
            gamma: Some(3.0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("gamma") && e.to_string().contains("vqt"),
        "{e}"
    );
    let e = Representation::with_options(
        TransformKind::Multires,
        &RepresentationOptions {
            splits: Some(vec![1000.0]),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("windows") && e.to_string().contains("2 window lengths"),
        "{e}"
    );
}

#[test]
fn absurd_sizes_fail_before_allocation() {
    let big = RepresentationOptions {
        bins_per_octave: Some(1_000_000_000),
        ..Default::default()
    };
    for kind in [
        TransformKind::Cqt,
        TransformKind::Vqt,
        TransformKind::Nsgt,
        TransformKind::Cwt,
    ] {
        let e = Representation::with_options(kind, &big).unwrap_err();
        assert!(e.to_string().contains("1000000000"), "{e}");
    }
    let e = Representation::with_options(
        TransformKind::Stft,
        &RepresentationOptions {
            window: Some(1_000_000_000),
            hop: Some(500_000_000),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("1000000000"), "{e}");
    // a window longer than the signal is named before any plan is built
    let r = Representation::stft(4096, 1024, Padding::None);
    let e = r
        .points(&[0.1; 1000], 8000.0, 1.0, Calibration::Native)
        .unwrap_err();
    assert!(
        e.to_string().contains("4096") && e.to_string().contains("1000"),
        "{e}"
    );
}

#[test]
fn every_representation_makes_points_and_the_hybrid_has_its_parts() {
    let sr = 8000.0;
    let x = tone(440.0, sr, 16000);
    for kind in TransformKind::ALL {
        let r = Representation::default_for(kind);
        let (pts, segs) = r.analyze(&x, sr, 0.5, Calibration::UnitTone).unwrap();
        assert!(!pts.is_empty(), "{kind}");
        assert_eq!(
            segs.iter().map(|s| s.points).sum::<usize>(),
            pts.len(),
            "{kind}"
        );
        assert_eq!(
            segs.len(),
            if kind == TransformKind::Hybrid { 3 } else { 1 }
        );
    }
}

#[test]
fn analysis_checks_power_and_calibration_and_names_both() {
    let r = Representation::default();
    let a = Analysis::new(&r, 16000.0, 0.5, Calibration::Native).unwrap();
    let b = Analysis::new(&r, 16000.0, 1.0, Calibration::Native).unwrap();
    let e = a
        .check_applies_to(&b, "m.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains('1') && e.contains("0.5") && e.contains("m.safetensors"),
        "{e}"
    );
    let c = Analysis::new(&r, 16000.0, 0.5, Calibration::UnitTone).unwrap();
    let e = a.check_applies_to(&c, "m").unwrap_err().to_string();
    assert!(e.contains("UnitTone") && e.contains("Native"), "{e}");
    // another representation at the same power and calibration is fine
    let d = Analysis::new(
        &Representation::default_for(TransformKind::Cqt),
        16000.0,
        0.5,
        Calibration::Native,
    )
    .unwrap();
    a.check_applies_to(&d, "m").unwrap();
    assert!(Analysis::new(&r, 16000.0, f64::NAN, Calibration::Native).is_err());
}
