//! Compares the compound score with vaderSentiment 3.3.2's on the human-rated
//! sentences in ../shared/data/sentiment-en (14,805 texts), and lists every
//! text that differs at four decimals.
//!
//! `cargo run --release -p vouch-text --example vader_parity [-- DATA_DIR]`
use std::path::PathBuf;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(vouch_text::eval::sentiment_en_dir);
    let report = match vouch_text::eval::vader_parity(&dir) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("vader_parity: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "{} texts, {} identical at 4 decimals ({:.2}%)",
        report.texts,
        report.matching,
        100.0 * report.share()
    );
    for d in &report.differences {
        println!(
            "{}\t{}\tours {:.4}\treference {:.4}\t{}",
            d.dataset, d.id, d.ours, d.reference, d.text
        );
    }
}
