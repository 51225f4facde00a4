//! Run-time choice of the vector instruction set for the hand-written kernels.
//!
//! The crate is built for the baseline of its target (x86-64 without AVX, aarch64 with NEON), so
//! one binary or wheel runs on any CPU of that architecture. The hot loops (the networks' small
//! matrix products and sines, softplus, the KL terms, the optimizers) are compiled several times,
//! once per [`Level`], and the best level the CPU supports is chosen once, at the first call, by
//! [`level`]. faer's matrix products dispatch the same way on their own.
//!
//! **Identical results at every level.** Each kernel is one Rust body compiled for several
//! instruction sets; the arithmetic of every value is the same sequence of IEEE operations at
//! every level (fused multiply-adds are written as `mul_add`, which is a hardware FMA on AVX2,
//! AVX-512 and NEON and the correctly rounded `fmaf` of the C library at the scalar level; sums
//! run either sequentially or over a fixed number of lanes, never over "as many lanes as the
//! vector has"). So a fit gives the same bytes whichever level runs, which the tests check by
//! running the scalar level against the detected one. The scalar level is slow on CPUs without
//! FMA (pre-2013 x86); it exists for them and as the reference.
//!
//! **Default: the best level the CPU supports.** AVX-512 once ran the narrow networks of `innmf
//! bench hybrid-fit` (width 16) about 1.7× slower than AVX2, because the generic 32-column tile
//! left 16-wide layers to its 8-wide tails, so the default stopped at AVX2. The products now
//! have AVX-512 tiles of their own for every width (`field::kernels`, masked edges) and the KL
//! engine an AVX-512 kernel (`nmf::kl`); on an AVX-512 Xeon (2026-11-30, 2 threads, 3 rounds
//! alternated) `stft-fit` is 1.55× faster at AVX-512, `hybrid-fit` 1.08×, `nmf-kl` 1.11×, and
//! the transforms and BSS Eval are level within noise (0.94–1.08×, 5 rounds).

//! The environment variable `INNMF_SIMD` (`scalar`, `avx2`, `avx512`) sets the level for a whole
//! process (never above what the CPU supports), e.g. `INNMF_SIMD=avx512` or to compare levels.

use serde::Serialize;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set level of the kernels, in increasing order of capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The target's baseline (SSE2 on x86-64, NEON on aarch64).
    Scalar,
    /// x86-64 with AVX2 and FMA (x86-64-v3: Haswell, Zen and later).
    Avx2,
    /// x86-64 with AVX-512 F/VL/BW/DQ (x86-64-v4: Skylake-SP, Zen 4 and later).
    Avx512,
}

impl Level {
    /// Lower-case name (`scalar`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" | "none" | "baseline" => Some(Level::Scalar),
            "avx2" | "x86-64-v3" => Some(Level::Avx2),
            "avx512" | "avx-512" | "x86-64-v4" => Some(Level::Avx512),
            _ => None,
        }
    }

    /// Every level this CPU supports, lowest first (always starts with [`Level::Scalar`]).
    pub fn available() -> Vec<Level> {
        let best = detected();
        [Level::Scalar, Level::Avx2, Level::Avx512]
            .into_iter()
            .filter(|&l| l <= best)
            .collect()
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const UNSET: u8 = u8::MAX;
static DETECTED: AtomicU8 = AtomicU8::new(UNSET);
static CHOSEN: AtomicU8 = AtomicU8::new(UNSET);

fn from_u8(v: u8) -> Level {
    match v {
        2 => Level::Avx512,
        1 => Level::Avx2,
        _ => Level::Scalar,
    }
}

fn to_u8(l: Level) -> u8 {
    match l {
        Level::Scalar => 0,
        Level::Avx2 => 1,
        Level::Avx512 => 2,
    }
}

/// The best level this CPU supports (detected once).
pub fn detected() -> Level {
    let v = DETECTED.load(Ordering::Relaxed);
    if v != UNSET {
        return from_u8(v);
    }
    let l = detect();
    DETECTED.store(to_u8(l), Ordering::Relaxed);
    l
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Level {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq") && has!("fma") {
        Level::Avx512
    } else if has!("avx2") && has!("fma") {
        Level::Avx2
    } else {
        Level::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Level {
    Level::Scalar
}

/// The level the kernels run at: [`detected`], or the level `INNMF_SIMD` names (never above
/// [`detected`]).
pub fn level() -> Level {
    let v = CHOSEN.load(Ordering::Relaxed);
    if v != UNSET {
        return from_u8(v);
    }
    let best = detected();
    let l = std::env::var("INNMF_SIMD")
        .ok()
        .and_then(|s| Level::from_name(&s))
        .map_or(best, |want| want.min(best));
    CHOSEN.store(to_u8(l), Ordering::Relaxed);
    l
}

/// A requested level made safe: never above what the CPU supports.
#[inline]
pub fn clamp(l: Level) -> Level {
    l.min(detected())
}

/// Issues `vzeroupper` where AVX exists: after foreign AVX-512/AVX2 code (faer's assembly
/// kernels) leaves the upper vector halves dirty, legacy-SSE code compiled for the baseline
/// would otherwise pay a state-transition penalty on every instruction (DESIGN.md measured 3.5×).
#[inline]
pub fn zero_upper() {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx")]
        unsafe fn vzu() {
            std::arch::x86_64::_mm256_zeroupper();
        }
        if detected() >= Level::Avx2 {
            // SAFETY: AVX is present whenever AVX2 is (checked by `detected`).
            unsafe { vzu() }
        }
    }
}

/// What this build is and what it runs on (`innmf --version` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Target architecture (`x86_64`, `aarch64`, ...).
    pub arch: &'static str,
    /// Vector features the compiler could assume for all code (the build's target CPU).
    pub compiled_features: Vec<&'static str>,
    /// Best kernel level this CPU supports.
    pub detected: Level,
    /// Level the kernels run at (after `INNMF_SIMD`).
    pub level: Level,
}

/// The build and run-time configuration: version, architecture, the vector features compiled in
/// for all code, and the kernel level chosen at run time. (It does not touch the thread pool, so
/// it can be called before the pool is configured.)
pub fn build_info() -> BuildInfo {
    let mut compiled_features = Vec::new();
    macro_rules! feat {
        ($($f:literal),*) => {$(
            if cfg!(target_feature = $f) {
                compiled_features.push($f);
            }
        )*};
    }
    feat!("sse4.2", "avx", "avx2", "fma", "avx512f", "neon");
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        arch: std::env::consts::ARCH,
        compiled_features,
        detected: detected(),
        level: level(),
    }
}

impl std::fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "innmf {} ({}; compiled for [{}]; kernels: {} (CPU supports {}))",
            self.version,
            self.arch,
            self.compiled_features.join(", "),
            self.level,
            self.detected,
        )
    }
}

/// A kernel for [`dispatch`]: its `run` (marked `#[inline(always)]`, like everything it should
/// vectorize) is compiled once per level. For generic code, where `simd_fn!` does not apply.
pub trait Kernel {
    /// What the kernel returns.
    type Output;
    /// The kernel's body.
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for `level` (clamped to what the CPU supports).
///
/// ```
/// use innmf::simd::{dispatch, level, Kernel};
/// struct Scale<'a>(&'a mut [f32], f32);
/// impl Kernel for Scale<'_> {
///     type Output = ();
///     #[inline(always)]
///     fn run(self) {
///         for v in self.0.iter_mut() {
///             *v *= self.1;
///         }
///     }
/// }
/// let mut x = vec![1.0f32; 100];
/// dispatch(level(), Scale(&mut x, 3.0));
/// assert_eq!(x[99], 3.0);
/// ```
#[inline]
pub fn dispatch<K: Kernel>(level: Level, kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn v3<K: Kernel>(k: K) -> K::Output {
        k.run()
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    unsafe fn v4<K: Kernel>(k: K) -> K::Output {
        k.run()
    }
    match clamp(level) {
        // SAFETY: `clamp` never returns a level the CPU lacks.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { v4(kernel) },
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { v3(kernel) },
        _ => kernel.run(),
    }
}

/// Defines a function compiled once per [`Level`] and dispatched at run time.
///
/// ```text
/// simd_fn! {
///     /// docs
///     pub(crate) fn scale(x: &mut [f32], a: f32) { for v in x { *v *= a; } }
/// }
/// scale(simd::level(), &mut buf, 2.0);
/// ```
///
/// The generated function takes the level as its first argument (clamped to what the CPU
/// supports, so any value is safe). The body is `#[inline(always)]` and so is everything it should
/// vectorize: callees that are not inlined run at the baseline level.
macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(level: $crate::simd::Level, $($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn v3($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn v4($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
            match $crate::simd::clamp(level) {
                // SAFETY: `clamp` never returns a level the CPU lacks.
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Level::Avx512 => unsafe { v4($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Level::Avx2 => unsafe { v3($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}
pub(crate) use simd_fn;

#[cfg(test)]
mod tests {
    use super::*;

    simd_fn! {
        fn fused(x: &[f32], y: &mut [f32]) {
            for (a, b) in x.iter().zip(y.iter_mut()) {
                *b = a.mul_add(*b, 0.25);
            }
        }
    }

    #[test]
    fn every_level_gives_the_same_bits() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut want = vec![0.3f32; 1000];
        fused(Level::Scalar, &x, &mut want);
        for l in Level::available() {
            let mut got = vec![0.3f32; 1000];
            fused(l, &x, &mut got);
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{l}"
            );
        }
        // a level the CPU lacks is clamped, not executed
        let mut y = vec![0.3f32; 1000];
        fused(Level::Avx512, &x, &mut y);
        assert_eq!(y, want);
    }

    #[test]
    fn names_round_trip_and_levels_are_ordered() {
        for l in [Level::Scalar, Level::Avx2, Level::Avx512] {
            assert_eq!(Level::from_name(l.name()), Some(l));
        }
        assert!(Level::Scalar < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert_eq!(Level::available()[0], Level::Scalar);
        assert!(level() <= detected());
        let info = build_info();
        assert!(info.to_string().contains(info.level.name()));
    }
}
