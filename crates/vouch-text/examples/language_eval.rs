//! Measures language identification on ../shared/data: LaRoSeDa (Romanian,
//! 12,000 reviews, mostly without diacritics) and the English VADER sets.
//!
//! `cargo run --release -p vouch-text --example language_eval`
use vouch_text::eval::{
    language_report, laroseda, sentiment_en_dir, sentiment_en_texts, sentiment_ro_dir,
};

fn main() {
    let sets = [
        (
            "LaRoSeDa (ro)",
            "ro",
            laroseda(&sentiment_ro_dir())
                .map(|v| v.into_iter().map(|(t, _)| t).collect::<Vec<_>>()),
        ),
        (
            "VADER tweets + movie snippets (en)",
            "en",
            sentiment_en_texts(&sentiment_en_dir())
                .map(|v| v.into_iter().map(|(_, _, t)| t).collect()),
        ),
    ];
    println!(
        "| set | texts | function words decide | their accuracy | Vouch (both stages) | texts/s | lingua alone | lingua texts/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, code, texts) in sets {
        let texts = match texts {
            Ok(texts) => texts,
            Err(e) => {
                eprintln!("language_eval: {e}");
                std::process::exit(2);
            }
        };
        let r = language_report(&texts, code);
        println!(
            "| {name} | {} | {:.1}% | {:.2}% | {:.2}% | {:.0} | {:.2}% | {:.0} |",
            r.texts,
            100.0 * r.fast_coverage,
            100.0 * r.fast_accuracy,
            100.0 * r.accuracy,
            r.texts_per_second,
            100.0 * r.model_accuracy,
            r.model_texts_per_second
        );
    }
}
