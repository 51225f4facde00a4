//! Progress bars on stderr (hidden automatically when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use std::ops::ControlFlow;

/// A bar for `steps` training steps showing the loss.
pub fn training_bar(steps: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps, {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// A progress callback for [`innmf::fit()`] updating `bar`.
pub fn callback(bar: &ProgressBar) -> impl FnMut(usize, usize, f64) -> ControlFlow<()> + '_ {
    move |step, _steps, loss| {
        if step % 10 == 0 || step == 1 {
            bar.set_position(step as u64);
            bar.set_message(format!("loss {loss:.4e}"));
        }
        ControlFlow::Continue(())
    }
}
