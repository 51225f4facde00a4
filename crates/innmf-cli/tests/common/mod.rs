//! Shared helpers of the CLI end-to-end tests.

use std::process::Command;

/// Runs the built `innmf` binary: (success, stdout, stderr).
#[allow(dead_code)]
pub fn innmf(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_innmf"))
        .args(args)
        .output()
        .expect("run innmf");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the built `innmf` binary: (exit code, stdout, stderr); -1 when killed by a signal.
#[allow(dead_code)]
pub fn innmf_code(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_innmf"))
        .args(args)
        .output()
        .expect("run innmf");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
