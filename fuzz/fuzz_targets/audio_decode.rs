//! `innmf::audio::decode` on arbitrary bytes: every input decodes or returns an error.
//!
//! A panic raised inside symphonia is caught by `innmf::audio` (`catch_unwind`) and returned as
//! an error, so the hook below lets those unwind (and logs them, to report upstream); any other
//! panic aborts, as libFuzzer expects of a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|info| {
            let in_symphonia = info
                .location()
                .is_some_and(|l| l.file().contains("symphonia"));
            if in_symphonia {
                eprintln!("symphonia panic (caught by innmf::audio): {info}");
            } else {
                eprintln!("{info}");
                std::process::abort();
            }
        }));
    },
    |data: &[u8]| {
        let _ = innmf::audio::decode(data, "fuzz-input");
    }
);
