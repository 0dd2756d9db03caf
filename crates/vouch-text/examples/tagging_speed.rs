//! Tagging speed on one core: `cargo run --release -p vouch-text --example
//! tagging_speed FILE.jsonl [--dump]` reads the `text` field of each line
//! (Yelp's review JSON), analyses every text as an import does, and prints
//! texts per second. `--dump` prints each analysis as JSON instead, so two
//! versions of the analyzer can be compared with `diff`.

use std::io::BufRead;

use vouch_text::{Taxonomy, TextAnalyzer};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: tagging_speed FILE.jsonl [--dump]");
    let dump = args.next().as_deref() == Some("--dump");
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("readable file"));
    let texts: Vec<String> = file
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(&line).ok()?;
            Some(value["text"].as_str()?.to_owned())
        })
        .collect();
    let analyzer = TextAnalyzer::new(Taxonomy::default_taxonomy());
    if dump {
        for text in &texts {
            let analysis = analyzer.analyze(text, None);
            println!(
                "{}",
                serde_json::to_string(&analysis).expect("serialisable")
            );
        }
        return;
    }
    // A first pass warms the caches, as the first batches of an import do.
    for text in texts.iter().take(2_000) {
        analyzer.analyze(text, None);
    }
    let started = std::time::Instant::now();
    let topics = measured(&analyzer, &texts);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} texts in {seconds:.2} s on one core: {:.0} texts/s, {:.1} µs each ({topics} topics)",
        texts.len(),
        texts.len() as f64 / seconds,
        seconds * 1e6 / texts.len() as f64
    );
}

/// The measured loop, apart so that a profiler can count only it
/// (`valgrind --tool=callgrind --toggle-collect='*measured*'`).
#[inline(never)]
fn measured(analyzer: &TextAnalyzer, texts: &[String]) -> usize {
    texts
        .iter()
        .map(|text| analyzer.analyze(text, None).topics.len())
        .sum()
}
