//! Accuracy of the Romanian lexicon scorer on LaRoSeDa (no training).
//!
//! `cargo run --release -p vouch-text --example romanian_eval [-- --errors N]`
use vouch_text::eval::{laroseda, romanian_accuracy, sentiment_ro_dir};

fn main() {
    let reviews = match laroseda(&sentiment_ro_dir()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("romanian_eval: {e}");
            std::process::exit(2);
        }
    };
    let r = romanian_accuracy(&reviews);
    println!(
        "{} reviews: accuracy {:.2}%, {} undecided (scored 0)",
        r.reviews,
        100.0 * r.accuracy,
        r.undecided
    );
    let errors: usize = std::env::args()
        .skip_while(|a| a != "--errors")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let scorer = vouch_text::Romanian::shared();
    for (text, stars) in reviews
        .iter()
        .filter(|(t, s)| {
            let c = scorer.polarity(t).compound;
            c == 0.0 || (c > 0.0) != (*s >= 4)
        })
        .take(errors)
    {
        println!(
            "{stars}★ {:+.3} {}",
            scorer.polarity(text).compound,
            text.chars().take(200).collect::<String>()
        );
    }
}
