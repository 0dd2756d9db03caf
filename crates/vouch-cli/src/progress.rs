//! The one progress bar style of the CLI: drawn on stderr when it is a
//! terminal, silent otherwise (indicatif hides itself for pipes and logs).

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar reading "{message} [=====>   ] 57,000/300,000, 11,607/s, ETA 21s".
pub fn bar(len: u64, message: &'static str) -> ProgressBar {
    let style =
        ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len}, {rate}, ETA {eta}")
            .expect("constant template")
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}/s", crate::table::thousands(state.per_sec() as u64));
                },
            )
            .progress_chars("=> ");
    ProgressBar::new(len)
        .with_style(style)
        .with_message(message)
}

/// A counter for streams of unknown length: "Importing 57,000, 11,607/s, 5s".
pub fn counter(message: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{msg} {human_pos} records, {rate}, {elapsed}")
        .expect("constant template")
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", crate::table::thousands(state.per_sec() as u64));
            },
        );
    ProgressBar::new_spinner()
        .with_style(style)
        .with_message(message)
}
