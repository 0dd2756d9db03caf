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

/// A bar for reading a file of known size, its position in bytes (give it
/// the file through `wrap_read`) and its message what was done so far:
/// "Importing 57,000 records, 11,607/s [====>     ] 41%, ETA 21s".
pub fn file(len: u64) -> ProgressBar {
    let style = ProgressStyle::with_template("{msg} [{bar:20}] {percent}%, ETA {eta}")
        .expect("constant template")
        .progress_chars("=> ");
    ProgressBar::new(len).with_style(style)
}

/// A counter for streams of unknown length (standard input), its message
/// what was done so far: "Importing 57,000 records, 11,607/s, 5s".
pub fn counter() -> ProgressBar {
    let style = ProgressStyle::with_template("{msg}, {elapsed}").expect("constant template");
    ProgressBar::new_spinner().with_style(style)
}

/// The message of `file` and `counter` bars: "Importing 57,000 records, 11,607/s".
pub fn importing(records: u64, elapsed: std::time::Duration) -> String {
    let rate = records as f64 / elapsed.as_secs_f64().max(1e-3);
    format!(
        "Importing {} records, {}/s",
        crate::table::thousands(records),
        crate::table::thousands(rate as u64)
    )
}
