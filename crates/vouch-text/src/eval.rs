//! Evaluations against public data in ../shared/data (never shipped): shared
//! by the tests, which skip without the data, and by the `examples/` that
//! print the figures for docs/TEXT.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::Vader;

/// `../shared/data/sentiment-en` as seen from this crate.
pub fn sentiment_en_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sentiment-en")
}

/// `../shared/data/sentiment-ro` as seen from this crate.
pub fn sentiment_ro_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sentiment-ro")
}

/// LaRoSeDa reviews: (title and content joined, stars).
pub fn laroseda(dir: &Path) -> Result<Vec<(String, u8)>, String> {
    let path = dir.join("laroseda_train.jsonl");
    let content = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            let text = format!(
                "{} {}",
                v["title"].as_str().unwrap_or(""),
                v["content"].as_str().unwrap_or("")
            );
            let stars = v["starRating"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v["starRating"].as_u64().map(|s| s as u8));
            let stars =
                stars.ok_or_else(|| format!("{}:{}: no starRating", path.display(), n + 1))?;
            Ok((text, stars))
        })
        .collect()
}

/// Accuracy of the Romanian scorer on LaRoSeDa: a review is right when its
/// compound is > 0 for 4–5 stars or < 0 for 1–2 stars; 0 counts as wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolarityAccuracy {
    pub reviews: usize,
    pub accuracy: f64,
    /// Reviews scored exactly 0 (no lexicon word found).
    pub undecided: usize,
}

pub fn romanian_accuracy(reviews: &[(String, u8)]) -> PolarityAccuracy {
    let scorer = crate::Romanian::shared();
    let (mut right, mut undecided) = (0, 0);
    for (text, stars) in reviews {
        let compound = scorer.polarity(text).compound;
        if compound == 0.0 {
            undecided += 1;
        } else if (compound > 0.0) == (*stars >= 4) {
            right += 1;
        }
    }
    PolarityAccuracy {
        reviews: reviews.len(),
        accuracy: right as f64 / reviews.len().max(1) as f64,
        undecided,
    }
}

/// Texts labelled positive (true) or negative (false).
pub type Labelled<'a> = Vec<(&'a str, bool)>;

/// LaRoSeDa split 80/20 by a fixed rule (every fifth review validates), so
/// the figures can be reproduced.
pub fn laroseda_split(reviews: &[(String, u8)]) -> (Labelled<'_>, Labelled<'_>) {
    let labelled = reviews.iter().map(|(t, s)| (t.as_str(), *s >= 4));
    let (mut train, mut validate) = (Vec::new(), Vec::new());
    for (i, example) in labelled.enumerate() {
        if i % 5 == 4 {
            validate.push(example)
        } else {
            train.push(example)
        }
    }
    (train, validate)
}

/// Validation accuracy of a model trained on the training part, alone and
/// blended with the lexicon scorer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelAccuracy {
    pub trained_on: usize,
    pub validated_on: usize,
    pub model: f64,
    pub blended: f64,
    pub lexicon: f64,
}

pub fn romanian_model_accuracy(
    reviews: &[(String, u8)],
    training: crate::Training,
) -> ModelAccuracy {
    let (train, validate) = laroseda_split(reviews);
    let model = crate::SentimentModel::train("ro", &train, training);
    let lexicon = crate::Romanian::shared();
    let share = |right: usize| right as f64 / validate.len().max(1) as f64;
    let (mut m, mut b, mut l) = (0, 0, 0);
    for (text, positive) in &validate {
        let (model_score, lexicon_score) = (model.compound(text), lexicon.polarity(text).compound);
        m += usize::from((model_score > 0.0) == *positive);
        b += usize::from((crate::model::blend(lexicon_score, model_score) > 0.0) == *positive);
        l += usize::from(lexicon_score != 0.0 && (lexicon_score > 0.0) == *positive);
    }
    ModelAccuracy {
        trained_on: train.len(),
        validated_on: validate.len(),
        model: share(m),
        blended: share(b),
        lexicon: share(l),
    }
}

/// How well, and how fast, languages are identified on one labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageReport {
    pub texts: usize,
    /// Share decided by function words, and their accuracy.
    pub fast_coverage: f64,
    pub fast_accuracy: f64,
    /// Both stages together (what Vouch uses).
    pub accuracy: f64,
    pub texts_per_second: f64,
    /// lingua alone on every text.
    pub model_accuracy: f64,
    pub model_texts_per_second: f64,
}

/// Identifies every text, expecting `expected`.
pub fn language_report(texts: &[String], expected: &str) -> LanguageReport {
    let id = crate::LanguageIdentifier::shared();
    id.identify("warm up the models");
    let n = texts.len().max(1) as f64;
    let started = std::time::Instant::now();
    let combined: Vec<Option<&str>> = texts.iter().map(|t| id.identify(t)).collect();
    let texts_per_second = n / started.elapsed().as_secs_f64();
    let fast: Vec<Option<&str>> = texts.iter().map(|t| id.by_function_words(t)).collect();
    let started = std::time::Instant::now();
    let model: Vec<Option<&str>> = texts.iter().map(|t| id.by_model(t)).collect();
    let model_texts_per_second = n / started.elapsed().as_secs_f64();
    let right = |v: &[Option<&str>]| v.iter().filter(|l| **l == Some(expected)).count() as f64;
    let decided = fast.iter().filter(|l| l.is_some()).count() as f64;
    LanguageReport {
        texts: texts.len(),
        fast_coverage: decided / n,
        fast_accuracy: right(&fast) / decided.max(1.0),
        accuracy: right(&combined) / n,
        texts_per_second,
        model_accuracy: right(&model) / n,
        model_texts_per_second,
    }
}

/// A text whose compound score differs from the reference's.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub dataset: String,
    pub id: String,
    pub ours: f64,
    pub reference: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParityReport {
    pub texts: usize,
    pub matching: usize,
    pub differences: Vec<Difference>,
}

impl ParityReport {
    pub fn share(&self) -> f64 {
        self.matching as f64 / self.texts.max(1) as f64
    }
}

/// The texts of the two human-rated sets: (dataset, id, text).
pub fn sentiment_en_texts(dir: &Path) -> Result<Vec<(String, String, String)>, String> {
    let mut texts = Vec::new();
    for (dataset, file) in [
        ("tweets", "tweets_GroundTruth.txt"),
        ("movieReviewSnippets", "movieReviewSnippets_GroundTruth.txt"),
    ] {
        let path = dir.join(file);
        let content =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (n, line) in content.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let mut fields = line.splitn(3, '\t');
            let (Some(id), Some(_mean), Some(text)) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!(
                    "{}:{}: expected id, mean and text separated by tabs",
                    path.display(),
                    n + 1
                ));
            };
            texts.push((dataset.to_owned(), id.to_owned(), text.to_owned()));
        }
    }
    Ok(texts)
}

/// Scores every text and compares with `vaderSentiment-3.3.2-compound.tsv`.
pub fn vader_parity(dir: &Path) -> Result<ParityReport, String> {
    let path = dir.join("vaderSentiment-3.3.2-compound.tsv");
    let content = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reference: HashMap<(String, String), f64> = HashMap::new();
    for (n, line) in content.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let compound = fields.get(3).and_then(|c| c.trim().parse().ok());
        let (Some(dataset), Some(id), Some(compound)) = (fields.first(), fields.get(1), compound)
        else {
            return Err(format!(
                "{}:{}: expected dataset, id, gold_mean, compound",
                path.display(),
                n + 1
            ));
        };
        reference.insert(((*dataset).to_owned(), (*id).to_owned()), compound);
    }
    let vader = Vader::english();
    let mut report = ParityReport {
        texts: 0,
        matching: 0,
        differences: Vec::new(),
    };
    for (dataset, id, text) in sentiment_en_texts(dir)? {
        let Some(expected) = reference.get(&(dataset.clone(), id.clone())) else {
            return Err(format!("no reference score for {dataset} {id}"));
        };
        let ours = vader.polarity(&text).rounded().compound;
        report.texts += 1;
        if ours == *expected {
            report.matching += 1;
        } else {
            report.differences.push(Difference {
                dataset,
                id,
                ours,
                reference: *expected,
                text,
            });
        }
    }
    Ok(report)
}

/// Texts of `chars` characters in the shapes an attacker or a broken
/// export sends (one endless word, a million marks, emoji and joiner
/// sequences, endless clauses and contrasts), each named: tagging must
/// take time in proportion to their length (`examples/pathological_speed`).
pub fn hostile_texts(chars: usize) -> Vec<(&'static str, String)> {
    let n = chars;
    vec![
        ("word", "a".repeat(n)),
        ("word-ro", "ă".repeat(n / 2)),
        ("e-acute", "é".repeat(n / 2)),
        ("marks", "!".repeat(n)),
        ("mixed-marks", "!?.,".repeat(n / 4)),
        ("emoji", "👍🏽".repeat(n / 8)),
        ("emoji-only", "😀".repeat(n / 4)),
        ("emoji-marks", "😀!".repeat(n / 5)),
        (
            "joined-emoji",
            "👨\u{200d}👩\u{200d}👧\u{200d}👦".repeat(n / 25),
        ),
        ("words", "good ".repeat(n / 5)),
        ("caps", "GREAT ".repeat(n / 6)),
        ("negations", "isn't ".repeat(n / 6)),
        ("nots", "not ".repeat(n / 4)),
        ("buts", "but ".repeat(n / 4)),
        ("kind-of", "kind of ".repeat(n / 8)),
        (
            "clauses",
            "Delivery was slow but support was great. ".repeat(n / 42),
        ),
        (
            "ro-clauses",
            "Livrarea a fost rapidă, dar factura greșită. ".repeat(n / 46),
        ),
        ("spaces", " ".repeat(n)),
        ("newlines", "\n".repeat(n)),
        ("alnum", "Ab1!".repeat(n / 4)),
    ]
}

/// The human-rated texts with their mean rating (−4..4): (text, mean).
pub fn sentiment_en_rated(dir: &Path) -> Result<Vec<(String, f64)>, String> {
    let mut texts = Vec::new();
    for file in [
        "tweets_GroundTruth.txt",
        "movieReviewSnippets_GroundTruth.txt",
    ] {
        let path = dir.join(file);
        let content =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in content
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
        {
            let mut fields = line.splitn(3, '\t');
            if let (Some(_), Some(mean), Some(text)) = (fields.next(), fields.next(), fields.next())
                && let Ok(mean) = mean.trim().parse::<f64>()
            {
                texts.push((text.to_owned(), mean));
            }
        }
    }
    Ok(texts)
}

/// The label of a score on either scale: positive above +0.05, negative
/// below −0.05, else neutral (VADER's thresholds, on the compound and on
/// the raters' mean alike).
fn three_class(score: f64) -> usize {
    if score >= 0.05 {
        0
    } else if score <= -0.05 {
        2
    } else {
        1
    }
}

/// Macro-averaged F1 over positive, neutral and negative of `scores`
/// against the raters' means.
pub fn three_class_f1(rated: &[(String, f64)], scores: &[f64]) -> f64 {
    let mut confusion = [[0u64; 3]; 3];
    for ((_, mean), score) in rated.iter().zip(scores) {
        confusion[three_class(*mean)][three_class(*score)] += 1;
    }
    let f1 = |c: usize| {
        let tp = confusion[c][c] as f64;
        let predicted: u64 = (0..3).map(|g| confusion[g][c]).sum();
        let actual: u64 = confusion[c].iter().sum();
        if tp == 0.0 {
            0.0
        } else {
            let (p, r) = (tp / predicted as f64, tp / actual as f64);
            2.0 * p * r / (p + r)
        }
    };
    (f1(0) + f1(1) + f1(2)) / 3.0
}

/// Star-rated English reviews from the shared samples (Yelp, Amazon,
/// TripAdvisor), 3★ left out: (text, true when 4–5★).
pub fn star_labelled_reviews(reviews_dir: &Path) -> Result<Vec<(String, bool)>, String> {
    let read = |file: &str| {
        let path = reviews_dir.join(file);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut out = Vec::new();
    let mut keep = |text: &str, stars: f64| {
        if stars <= 2.0 {
            out.push((text.to_owned(), false));
        } else if stars >= 4.0 {
            out.push((text.to_owned(), true));
        }
    };
    for (file, text, stars) in [
        ("yelp_review.sample.jsonl", "text", "stars"),
        (
            "amazon_mcauley_musical_instruments.sample.jsonl",
            "reviewText",
            "overall",
        ),
    ] {
        for line in read(file)?.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{file}: {e}"))?;
            if let (Some(t), Some(s)) = (v[text].as_str(), v[stars].as_f64()) {
                keep(t, s);
            }
        }
    }
    let csv = read("tripadvisor_hotel_reviews.sample.csv")?;
    let mut rest = csv.split_once('\n').map_or("", |(_, r)| r);
    // "text",rating rows; the text is quoted and may hold commas.
    while let Some(start) = rest.find('"') {
        let Some(end) = rest[start + 1..].find("\",") else {
            break;
        };
        let text = &rest[start + 1..start + 1 + end];
        let after = &rest[start + 1 + end + 2..];
        let (rating, tail) = after.split_once('\n').unwrap_or((after, ""));
        if let Ok(stars) = rating.trim().parse::<f64>() {
            keep(text, stars);
        }
        rest = tail;
    }
    Ok(out)
}

/// Share of `reviews` whose label (±0.05) agrees with their stars; neutral counts as wrong.
pub fn star_accuracy(reviews: &[(String, bool)], scores: &[f64]) -> f64 {
    let right = reviews
        .iter()
        .zip(scores)
        .filter(|((_, positive), score)| {
            if *positive {
                **score >= 0.05
            } else {
                **score <= -0.05
            }
        })
        .count();
    right as f64 / reviews.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanian_sentiment_on_laroseda() {
        let dir = sentiment_ro_dir();
        if !vouch_testing::data_present(&dir, "Romanian evaluation") {
            return;
        }
        let report = romanian_accuracy(&laroseda(&dir).unwrap());
        assert!(report.accuracy >= 0.88, "{report:?}");
    }

    #[test]
    fn a_model_trained_on_ratings_beats_96_percent() {
        let dir = sentiment_ro_dir();
        if !vouch_testing::data_present(&dir, "model evaluation") {
            return;
        }
        let report = romanian_model_accuracy(&laroseda(&dir).unwrap(), crate::Training::default());
        assert!(report.model >= 0.96 && report.blended >= 0.96, "{report:?}");
    }

    #[test]
    fn languages_of_the_public_data_are_identified() {
        let (en, ro) = (sentiment_en_dir(), sentiment_ro_dir());
        if !vouch_testing::data_present(&en, "language evaluation")
            || !vouch_testing::data_present(&ro, "language evaluation")
        {
            return;
        }
        // A sample keeps the debug-build test quick; the example measures everything.
        let romanian: Vec<String> = laroseda(&ro)
            .unwrap()
            .into_iter()
            .step_by(10)
            .map(|(t, _)| t)
            .collect();
        let report = language_report(&romanian, "ro");
        assert!(report.accuracy >= 0.97, "{report:?}");
        let english: Vec<String> = sentiment_en_texts(&en)
            .unwrap()
            .into_iter()
            .step_by(10)
            .map(|(_, _, t)| t)
            .collect();
        let report = language_report(&english, "en");
        assert!(report.accuracy >= 0.97, "{report:?}");
    }

    #[test]
    fn compound_scores_match_vader_sentiment_on_the_public_data() {
        let dir = sentiment_en_dir();
        if !vouch_testing::data_present(&dir, "VADER parity") {
            return;
        }
        let report = vader_parity(&dir).unwrap();
        assert_eq!(report.texts, 14_805);
        assert!(
            report.share() >= 0.995,
            "{:.4} identical; first differences: {:?}",
            report.share(),
            &report.differences[..report.differences.len().min(5)]
        );
    }
}
