//! Trains the ratings model on 80% of LaRoSeDa and validates on the rest.
//!
//! `cargo run --release -p vouch-text --example romanian_model_eval [-- --epochs N --learning-rate R --l2 L]`
use vouch_text::eval::{laroseda, romanian_model_accuracy, sentiment_ro_dir};

fn main() {
    let reviews = match laroseda(&sentiment_ro_dir()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("romanian_model_eval: {e}");
            std::process::exit(2);
        }
    };
    let started = std::time::Instant::now();
    let mut training = vouch_text::Training::default();
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    if let Some(e) = arg("--epochs").and_then(|v| v.parse().ok()) {
        training.epochs = e;
    }
    if let Some(l) = arg("--learning-rate").and_then(|v| v.parse().ok()) {
        training.learning_rate = l;
    }
    if let Some(l) = arg("--l2").and_then(|v| v.parse().ok()) {
        training.l2 = l;
    }
    let r = romanian_model_accuracy(&reviews, training);
    println!(
        "trained on {}, validated on {}: model {:.2}%, blended with the lexicon {:.2}%, lexicon alone {:.2}% ({:.1} s)",
        r.trained_on,
        r.validated_on,
        100.0 * r.model,
        100.0 * r.blended,
        100.0 * r.lexicon,
        started.elapsed().as_secs_f64()
    );
}
