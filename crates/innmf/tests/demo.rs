//! The demo must separate the two synthesized notes: each H_k active on one note.

use innmf::demo::{self, DemoConfig, DEMO_SAMPLE_RATE};

#[test]
fn each_activation_follows_one_note() {
    let x = demo::demo_signal();
    let outcome = demo::fit_demo(&x, DEMO_SAMPLE_RATE, &DemoConfig::default(), None).unwrap();
    let notes = demo::demo_notes();
    // the sustained part of each note (skip the attack, stop before the release)
    let act = demo::interval_activity(
        &outcome,
        &[
            (notes[0].onset + 0.02, notes[0].end - 0.05),
            (notes[1].onset + 0.02, notes[1].end - 0.05),
        ],
    );
    let ratio = demo::separation_ratio(&act);
    // ratio r: each component is at least r times more active on its own note than on the
    // other. Measured 7.98 with the default seed (seeds 1–3: 3.5, 4.5, 4.1, so the number is
    // this seed's, not a property of every start); required: 5, a margin of 37 %.
    assert!(ratio > 5.0, "activities {act:?}, ratio {ratio}");
    // the fit's final loss: measured 0.00651 (seeds 1–3: 0.00660, 0.00648, 0.00654);
    // required: below 0.0075, 15 % above the measured
    assert!(
        outcome.report.final_loss < 0.0075,
        "final loss {}",
        outcome.report.final_loss
    );
}
