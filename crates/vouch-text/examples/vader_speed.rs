//! Times the VADER-compatible scorer on the 14,805 texts of
//! ../shared/data/sentiment-en, on one core and on all cores.
//! Run by bench/vader_speed.sh beside vaderSentiment.
//!
//! `cargo run --release -p vouch-text --example vader_speed [-- ROUNDS]`
use std::time::Instant;

use vouch_text::Vader;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let texts: Vec<String> =
        match vouch_text::eval::sentiment_en_texts(&vouch_text::eval::sentiment_en_dir()) {
            Ok(texts) => texts.into_iter().map(|(_, _, text)| text).collect(),
            Err(e) => {
                eprintln!("vader_speed: {e}");
                std::process::exit(2);
            }
        };
    let vader = Vader::english();
    // Warm-up: loads the lexicons and the caches.
    let mut checksum: f64 = texts.iter().map(|t| vader.polarity(t).compound).sum();
    let started = Instant::now();
    for _ in 0..rounds {
        checksum += texts
            .iter()
            .map(|t| vader.polarity(t).compound)
            .sum::<f64>();
    }
    let one_core = (rounds * texts.len()) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..rounds {
        checksum += vader
            .polarity_batch(&texts)
            .iter()
            .map(|p| p.compound)
            .sum::<f64>();
    }
    let all_cores = (rounds * texts.len()) as f64 / started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("rust one_core_texts_per_second {one_core:.0}");
    println!("rust all_cores_texts_per_second {all_cores:.0} ({cores} cores)");
    eprintln!("(checksum {checksum:.3})");
}
