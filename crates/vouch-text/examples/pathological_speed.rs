//! Tagging time of hostile texts: `cargo run --release -p vouch-text
//! --example pathological_speed N` analyses each shape at N characters
//! (one long word, a million marks, emoji sequences, many clauses…) and
//! prints the seconds. Running it at N and 4N shows the growth: linear
//! means about 4 times the time (docs/PERFORMANCE.md).

use std::time::Instant;
use vouch_text::{Taxonomy, TextAnalyzer};
fn main() {
    let a = TextAnalyzer::new(Taxonomy::default_taxonomy());
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("usage: pathological_speed N (characters per text)");
    let cases: Vec<(&str, String)> = vouch_text::eval::hostile_texts(n);
    for (name, text) in &cases {
        let t = Instant::now();
        let _ = a.analyze(text, None);
        println!("{name:10} {n:8} {:8.3}s", t.elapsed().as_secs_f64());
    }
}
