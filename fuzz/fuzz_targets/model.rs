//! `innmf::modelfile::from_bytes` on arbitrary bytes; a model that loads is also evaluated at
//! a few coordinates (a loaded model must be usable).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok((model, _)) = innmf::modelfile::from_bytes(data, Path::new("fuzz.safetensors")) {
        let _ = model.sample_w(&[0.0, 100.0, 1000.0]);
        let _ = model.sample_h(&[0.0, 0.5, 1.0]);
    }
});
