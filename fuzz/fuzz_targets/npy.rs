//! `innmf::io::parse_npy` on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = innmf::io::parse_npy(data, Path::new("fuzz.npy"));
});
