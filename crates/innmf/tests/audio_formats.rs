//! The audio reader on every supported format, against fixtures made from one known signal by
//! `tests/data/audio/make_audio_fixtures.py` (see that script for what each file is).

use innmf::audio::{self, Audio};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/audio")
}

fn read(name: &str) -> Audio {
    audio::read(&dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn read_err(name: &str) -> String {
    match audio::read(&dir().join(name)) {
        Ok(a) => panic!("{name} read without error: {} frames", a.len()),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(name),
                "{name}: the error does not name the file: {msg}"
            );
            msg
        }
    }
}

/// The twin read by an independent reader (hound): 16-bit integers scaled by 1/32768.
fn twin() -> Audio {
    let mut r = hound::WavReader::open(dir().join("tone_s16.wav")).unwrap();
    let spec = r.spec();
    let v: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let nch = spec.channels as usize;
    let channels = (0..nch)
        .map(|c| {
            v.iter()
                .skip(c)
                .step_by(nch)
                .map(|&s| s as f64 / 32768.0)
                .collect()
        })
        .collect();
    Audio {
        sample_rate: spec.sample_rate,
        channels,
    }
}

fn prefix(a: &Audio, n: usize) -> Audio {
    Audio {
        sample_rate: a.sample_rate,
        channels: a.channels.iter().map(|c| c[..n].to_vec()).collect(),
    }
}

#[test]
fn the_twin_reads_like_an_independent_reader() {
    let t = twin();
    assert_eq!((t.sample_rate, t.channels.len(), t.len()), (16000, 2, 4000));
    assert_eq!(read("tone_s16.wav"), t);
    // read_wav is the same reader
    assert_eq!(audio::read_wav(&dir().join("tone_s16.wav")).unwrap(), t);
    // and decode on the bytes gives the same
    let bytes = std::fs::read(dir().join("tone_s16.wav")).unwrap();
    assert_eq!(audio::decode(&bytes, "mem").unwrap(), t);
}

#[test]
fn every_pcm_variant_reads_bit_exactly() {
    // the same 16-bit integers in every container: identical f64 values
    let t = prefix(&twin(), 1000);
    for name in [
        "tone_s24.wav",
        "tone_s32.wav",
        "tone_f32.wav",
        "tone_f64.wav",
        "tone_ext24.wav",
        "tone_extf32.wav",
        "tone_rf64.wav",
        "tone_sphere_le.wav", // a SPHERE file under a .wav name
        "tone_be.sph",
        "tone.aiff",
        "tone_alac.m4a",
    ] {
        assert_eq!(read(name), t, "{name}");
    }
    // 8-bit keeps the top 8 bits of each value
    let u8_want = Audio {
        sample_rate: 16000,
        channels: t
            .channels
            .iter()
            .map(|c| {
                c.iter()
                    .map(|&v| ((v * 32768.0) as i32 >> 8) as f64 / 128.0)
                    .collect()
            })
            .collect(),
    };
    assert_eq!(read("tone_u8.wav"), u8_want);
}

#[test]
fn flac_decodes_bit_exactly() {
    assert_eq!(read("tone.flac"), twin());
}

#[test]
fn g711_matches_ffmpegs_decoding() {
    assert_eq!(read("tone_mulaw.wav"), read("tone_mulaw_ref.wav"));
    assert_eq!(read("tone_alaw.wav"), read("tone_alaw_ref.wav"));
    // the same µ-law bytes in a SPHERE file
    assert_eq!(read("tone_ulaw.sph"), read("tone_mulaw_ref.wav"));
}

/// The lag (in samples) at which `est` best matches `reference` (channel 0), searched in
/// [-max_lag, max_lag]: est[i + lag] ≈ reference[i].
fn best_lag(reference: &[f64], est: &[f64], max_lag: i64) -> i64 {
    let mut best = (f64::NEG_INFINITY, 0);
    for lag in -max_lag..=max_lag {
        let mut s = 0.0;
        for (i, r) in reference.iter().enumerate() {
            let j = i as i64 + lag;
            if j >= 0 && (j as usize) < est.len() {
                s += r * est[j as usize];
            }
        }
        if s > best.0 {
            best = (s, lag);
        }
    }
    best.1
}

/// SNR in dB of `est` (shifted by `lag`) against `reference`, over the samples both cover.
fn snr_db(reference: &[f64], est: &[f64], lag: i64) -> f64 {
    let (mut sig, mut err) = (0.0, 0.0);
    for (i, r) in reference.iter().enumerate() {
        let j = i as i64 + lag;
        if j >= 0 && (j as usize) < est.len() {
            sig += r * r;
            err += (r - est[j as usize]).powi(2);
        }
    }
    10.0 * (sig / err).log10()
}

#[test]
fn lossy_formats_match_the_twin_and_ffmpeg_after_their_delay() {
    let t = twin();
    // (file, expected lag, expected length, min SNR in dB against the twin). The lags state how
    // each decoder handles the encoder's priming: MP3 (LAME tag) and Vorbis (pre-skip, granule
    // positions) are trimmed exactly by symphonia; AAC in M4A keeps its 1024 priming samples
    // (ffmpeg applies the MP4 edit list and starts at lag 0). The SNR bounds sit 2 dB under what
    // these encoders reach on this signal (MP3 26.0, Vorbis 31.9, AAC 17.3 dB, the same with
    // ffmpeg's decoder): they test the codec as much as the decoder, hence the second check.
    let cases = [
        ("tone.mp3", 0, 4000, 24.0),
        ("tone.ogg", 0, 4000, 29.9),
        ("tone.m4a", 1024, 5120, 15.3),
    ];
    for (name, lag, len, min_snr) in cases {
        let a = read(name);
        assert_eq!((a.sample_rate, a.channels.len()), (16000, 2), "{name}");
        let found = best_lag(&t.channels[0], &a.channels[0], 3000);
        assert_eq!(found, lag, "{name}: delay");
        assert_eq!(a.len(), len, "{name}: length");
        // ffmpeg's decoding of the same file, stored as 16-bit PCM
        let reference = read(&format!("{}_ref.wav", name.replace('.', "_")));
        let ref_lag = best_lag(&reference.channels[0], &a.channels[0], 3000);
        for c in 0..2 {
            let snr = snr_db(&t.channels[c], &a.channels[c], lag);
            let agree = snr_db(&reference.channels[c], &a.channels[c], ref_lag);
            println!(
                "{name} channel {c}: lag {lag}, SNR {snr:.1} dB against the twin, {agree:.1} dB \
                 against ffmpeg's decoding (lag {ref_lag})"
            );
            assert!(
                snr >= min_snr,
                "{name} channel {c}: SNR {snr:.1} dB < {min_snr}"
            );
            // 16-bit storage of the reference limits agreement to about 90 dB; two correct
            // decoders of one stream differ by rounding only
            assert!(
                agree >= 60.0,
                "{name} channel {c}: {agree:.1} dB from ffmpeg's decoding"
            );
        }
    }
}

#[test]
fn opus_is_refused_with_a_clear_error() {
    let e = read_err("tone.opus");
    assert!(e.contains("Opus") && e.contains("not supported"), "{e}");
}

#[test]
fn shorten_sphere_names_its_coding() {
    let e = read_err("tone_shorten.sph");
    assert!(
        e.contains("pcm,embedded-shorten-v2.00") && e.contains("sph2pipe"),
        "{e}"
    );
}

#[test]
fn corrupt_and_truncated_files_give_clear_errors() {
    // (file, phrases the message must contain)
    let cases: &[(&str, &[&str])] = &[
        ("bad_empty.wav", &["empty"]),
        (
            "bad_text.wav",
            &["not a recognized audio file", "(text)", "supported"],
        ),
        (
            "bad_trunc_header.wav",
            &["truncated", "fmt chunk announces 16 bytes"],
        ),
        ("bad_trunc_data.wav", &["truncated", "announces 4000 bytes"]),
        ("bad_huge.wav", &["truncated", "4294967294"]),
        ("bad_huge_rf64.wav", &["truncated", "1099511627776"]),
        ("bad_bits.wav", &["40 bits", "supported"]),
        (
            "bad_format_tag.wav",
            &["0x0055", "MPEG layer 3", "supported"],
        ),
        ("bad_nan_right.wav", &["channel 1, sample 500 is NaN"]),
        ("bad_inf_left.wav", &["channel 0, sample 17 is inf"]),
        ("bad_trunc.sph", &["truncated", "1000 frames"]),
        ("bad_huge.sph", &["1099511627776", "more than"]),
        ("bad_trunc_tone.flac", &["FLAC", "truncated or corrupt"]),
        ("bad_corrupt.flac", &["FLAC", "truncated or corrupt"]),
        (
            "bad_trunc_tone.mp3",
            &["MPEG", "announces 4000 frames", "truncated or corrupt"],
        ),
        ("bad_trunc_tone.ogg", &["Ogg", "truncated"]),
        ("bad_trunc_tone.m4a", &["MP4"]),
        ("bad_trunc_tone_alac.m4a", &["MP4"]),
        ("bad_trunc_tone.aiff", &["AIFF", "truncated"]),
    ];
    for (name, phrases) in cases {
        let e = read_err(name);
        println!("{name}: {e}");
        for p in *phrases {
            assert!(e.contains(p), "{name}: {p:?} missing from: {e}");
        }
    }
}

#[test]
fn headers_claiming_huge_sizes_fail_before_allocating() {
    // a WAV header in memory that claims 2^32 - 2 bytes of 8-channel float64 data, and 64-bit
    // RF64 sizes up to 2^64 - 1: errors, not aborts
    let mut w = b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0\x03\0\x08\0\x80\x3e\0\0\0\0\0\0\x40\0\x40\0data\xfe\xff\xff\xff".to_vec();
    w.extend_from_slice(&[0u8; 64]);
    assert!(audio::decode(&w, "huge.wav").is_err());
    let mut rf = std::fs::read(dir().join("tone_rf64.wav")).unwrap();
    rf[28..36].copy_from_slice(&u64::MAX.to_le_bytes()); // ds64's data size
    let e = audio::decode(&rf, "max.wav").unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    // a SPHERE header with a sample count near 2^64
    let s =
        b"NIST_1A\n   1024\nsample_rate -i 16000\nsample_count -i 18446744073709551615\nend_head\n";
    let mut sph = s.to_vec();
    sph.resize(1024 + 16, b' ');
    let e = audio::decode(&sph, "max.sph").unwrap_err().to_string();
    assert!(e.contains("more than"), "{e}");
}

#[test]
fn a_directory_or_a_missing_file_is_an_error() {
    assert!(audio::read(&dir()).is_err());
    let e = audio::read(&dir().join("no_such_file.flac"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no_such_file.flac"), "{e}");
}
