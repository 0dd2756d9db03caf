//! The customer-feedback analyzer against exact VADER, in English:
//! three-class F1 on the human-rated tweets and movie snippets, and
//! accuracy on star-rated reviews (1–2★ against 4–5★) from the shared Yelp,
//! Amazon and TripAdvisor samples.
//!
//! `cargo run --release -p vouch-text --example english_eval`
use vouch_text::eval::{
    sentiment_en_dir, sentiment_en_rated, star_accuracy, star_labelled_reviews, three_class_f1,
};
use vouch_text::{Scorer, Taxonomy, TextAnalyzer};

fn main() {
    let rated = sentiment_en_rated(&sentiment_en_dir()).unwrap_or_else(|e| fail(&e));
    let reviews =
        star_labelled_reviews(&sentiment_en_dir().join("../reviews")).unwrap_or_else(|e| fail(&e));
    for (name, scorer) in [("vader", Scorer::Vader), ("feedback", Scorer::Feedback)] {
        let analyzer = TextAnalyzer::new(Taxonomy::default_taxonomy()).with_scorer(scorer);
        let score = |t: &str| analyzer.analyze(t, Some("en")).compound;
        let f1 = three_class_f1(
            &rated,
            &rated.iter().map(|(t, _)| score(t)).collect::<Vec<_>>(),
        );
        let accuracy = star_accuracy(
            &reviews,
            &reviews.iter().map(|(t, _)| score(t)).collect::<Vec<_>>(),
        );
        println!(
            "{name:>8}: three-class macro F1 {f1:.4} on {} rated texts; {:.2}% right on {} star-rated reviews",
            rated.len(),
            100.0 * accuracy,
            reviews.len()
        );
    }
}

fn fail(e: &str) -> ! {
    eprintln!("english_eval: {e}");
    std::process::exit(2)
}
