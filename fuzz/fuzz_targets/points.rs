//! `innmf::TfPoints::from_bytes` on arbitrary bytes: the first byte picks `.npz` (even) or
//! `.csv` (odd), the rest is the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Some((&sel, rest)) = data.split_first() {
        let name = if sel % 2 == 0 { "fuzz.npz" } else { "fuzz.csv" };
        let _ = innmf::TfPoints::from_bytes(rest, Path::new(name));
    }
});
