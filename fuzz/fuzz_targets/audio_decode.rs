//! `innmf::audio::decode` on arbitrary bytes: every input decodes or returns an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = innmf::audio::decode(data, "fuzz-input");
});
