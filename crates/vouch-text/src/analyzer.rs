//! Everything Vouch wants to know about one text: its language, how
//! positive it is, and what it is about, each topic with its own sentiment.

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::model::blend;
use crate::topics::{LoweredAscii, Taxonomy};
use crate::vader::AsciiTokens;
use crate::{LanguageIdentifier, Polarity, Romanian, SentimentModel, Vader};

/// A topic found in a text, with the mean compound of the clauses naming it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicSentiment {
    pub topic: String,
    pub sentiment: f64,
}

/// The analysis of one text: the JSON of `vouch text score --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// ISO 639-1 code; `null` when the text gives no clue.
    pub language: Option<&'static str>,
    pub compound: f64,
    pub positive: f64,
    pub neutral: f64,
    pub negative: f64,
    /// `positive`, `neutral` or `negative`, by compound ±0.05.
    pub label: &'static str,
    pub topics: Vec<TopicSentiment>,
}

/// Which sentiment scorer an analyzer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scorer {
    /// The customer-feedback scorer (the default): VADER's rules and
    /// lexicon with the feedback supplement for English, the Romanian
    /// scorer for Romanian, and a model learnt from ratings where one is
    /// switched on.
    #[default]
    Feedback,
    /// vaderSentiment 3.3.2 exactly, for every text whatever its language,
    /// and nothing else: the reference, for those who want to compare.
    Vader,
}

/// Every scorer's name, as `--analyzer` takes it.
pub const SCORERS: &[&str] = &["feedback", "vader"];

impl std::str::FromStr for Scorer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "feedback" => Ok(Scorer::Feedback),
            "vader" => Ok(Scorer::Vader),
            other => Err(format!(
                "{other:?} is not an analyzer: {}",
                SCORERS.join(", ")
            )),
        }
    }
}

/// Language identification, the sentiment scorers, optional models learnt
/// from ratings, and a taxonomy.
pub struct TextAnalyzer {
    taxonomy: Taxonomy,
    /// The feedback scorer for English, with the taxonomy's topic names neutral.
    feedback: Vader,
    /// The stems of the Romanian topic names, neutral in Romanian texts.
    romanian_neutral: rustc_hash::FxHashSet<String>,
    models: HashMap<String, SentimentModel>,
    /// `None`: all six languages (the shared identifier).
    languages: Option<LanguageIdentifier>,
    scorer: Scorer,
}

impl TextAnalyzer {
    pub fn new(taxonomy: Taxonomy) -> TextAnalyzer {
        let english = taxonomy.neutral_stems("en");
        let feedback = Vader::feedback().with_neutral_words(|word| {
            matches!(crate::topics::stems(word, "en").as_slice(), [stem] if english.contains(&**stem))
        });
        TextAnalyzer {
            romanian_neutral: taxonomy.neutral_stems("ro"),
            feedback,
            taxonomy,
            models: HashMap::default(),
            languages: None,
            scorer: Scorer::Feedback,
        }
    }

    /// Scores with `scorer` instead of the customer-feedback scorer.
    pub fn with_scorer(mut self, scorer: Scorer) -> TextAnalyzer {
        self.scorer = scorer;
        self
    }

    /// The English rules and lexicon this analyzer scores with.
    fn vader(&self) -> &Vader {
        match self.scorer {
            Scorer::Feedback => &self.feedback,
            Scorer::Vader => Vader::english(),
        }
    }

    /// Identifies only among `codes` (e.g. `["en", "ro"]`): fewer languages,
    /// fewer confusions, faster.
    pub fn with_languages(mut self, codes: &[&str]) -> TextAnalyzer {
        self.languages = Some(LanguageIdentifier::new(codes));
        self
    }

    /// Uses `model` for texts in its language, blended with the lexicon.
    pub fn with_model(mut self, model: SentimentModel) -> TextAnalyzer {
        self.models.insert(model.language.clone(), model);
        self
    }

    /// Sentiment in `language`: VADER (with the feedback supplement) for
    /// English, the Romanian scorer for Romanian; other languages fall back
    /// to VADER, which knows little of them.
    pub fn sentiment(&self, text: &str, language: Option<&str>) -> Polarity {
        self.sentiment_of_part(text, text, None, language)
    }

    /// `sentiment(part)` for `part`, a slice of `text`; `tokens` are the
    /// text's VADER tokens when the text is ASCII and not Romanian.
    fn sentiment_of_part(
        &self,
        text: &str,
        part: &str,
        tokens: Option<&AsciiTokens>,
        language: Option<&str>,
    ) -> Polarity {
        let romanian = language == Some("ro") && self.scorer == Scorer::Feedback;
        let mut polarity = match tokens {
            _ if romanian => Romanian::shared().polarity_with_neutral(part, |word| {
                matches!(crate::topics::stems(word, "ro").as_slice(), [stem] if self.romanian_neutral.contains(&**stem))
            }),
            Some(tokens) => self.vader().polarity_of_part(tokens, text, part),
            None => self.vader().polarity(part),
        };
        if self.scorer == Scorer::Vader {
            return polarity;
        }
        if let Some(model) = language.and_then(|l| self.models.get(l)) {
            polarity.compound = blend(polarity.compound, model.compound(part));
        }
        polarity
    }

    /// Analyses `text`; `language` skips identification when the caller knows it.
    pub fn analyze(&self, text: &str, language: Option<&str>) -> Analysis {
        // ASCII text (most feedback) is lower-cased and split into words
        // once, for identification, sentiment and topics alike.
        let lowered_text = text.is_ascii().then(|| text.to_ascii_lowercase());
        let lowered = lowered_text.as_deref().map(LoweredAscii::new);
        let language: Option<&'static str> = match language {
            Some(code) => crate::known_language(code),
            None => {
                let identifier = self
                    .languages
                    .as_ref()
                    .unwrap_or_else(|| LanguageIdentifier::shared());
                match &lowered {
                    Some(lowered) => identifier.identify_lowered(text, lowered),
                    None => identifier.identify(text),
                }
            }
        };
        // VADER tokenises the text once; its clauses reuse the tokens.
        let tokens = match (&lowered, language) {
            (Some(lowered), language) if language != Some("ro") || self.scorer == Scorer::Vader => {
                Some(self.vader().ascii_tokens(text, lowered.text))
            }
            _ => None,
        };
        let polarity = self
            .sentiment_of_part(text, text, tokens.as_ref(), language)
            .rounded();
        let mut per_topic: Vec<(usize, f64, u32)> = Vec::new();
        let topic_language = language.unwrap_or("en");
        for (clause, found) in
            self.taxonomy
                .topics_by_clause(text, lowered.as_ref(), topic_language)
        {
            let compound = self
                .sentiment_of_part(text, clause, tokens.as_ref(), language)
                .compound;
            for topic in found {
                match per_topic.iter_mut().find(|(t, _, _)| *t == topic) {
                    Some((_, sum, n)) => {
                        *sum += compound;
                        *n += 1;
                    }
                    None => per_topic.push((topic, compound, 1)),
                }
            }
        }
        per_topic.sort_by_key(|(t, _, _)| *t);
        Analysis {
            language,
            compound: polarity.compound,
            positive: polarity.positive,
            neutral: polarity.neutral,
            negative: polarity.negative,
            label: polarity.label(),
            topics: per_topic
                .into_iter()
                .map(|(t, sum, n)| TopicSentiment {
                    topic: self.taxonomy.name(t).to_owned(),
                    sentiment: (sum / f64::from(n) * 10_000.0).round() / 10_000.0,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> TextAnalyzer {
        TextAnalyzer::new(Taxonomy::default_taxonomy())
    }

    #[test]
    fn aspect_sentiment_separates_the_topics_of_one_sentence() {
        let a = analyzer().analyze("Delivery was slow but support was great", None);
        assert_eq!(a.language, Some("en"));
        let topic = |name: &str| {
            a.topics
                .iter()
                .find(|t| t.topic == name)
                .map(|t| t.sentiment)
        };
        assert!(topic("delivery").unwrap() < 0.0, "{a:?}");
        assert!(topic("support").unwrap() > 0.0, "{a:?}");
    }

    #[test]
    fn ordinary_complaints_read_as_complaints() {
        // The texts of issue 22, which the lexicon alone read as praise or
        // as nothing.
        let topic = |a: &Analysis, name: &str| {
            a.topics
                .iter()
                .find(|t| t.topic == name)
                .map(|t| t.sentiment)
        };
        let a = analyzer().analyze(
            "I would not recommend it. I waited three days for support and the issue is still not fixed.",
            None,
        );
        assert_eq!(a.label, "negative", "{a:?}");
        assert!(topic(&a, "support").unwrap() < 0.0, "{a:?}");
        let a = analyzer().analyze("Great product but the billing is a nightmare.", None);
        assert!(topic(&a, "billing").unwrap() < 0.0, "{a:?}");
        for text in [
            "Instalarea a durat săptămâni și multă frustrare.",
            "Instalarea a durat saptamani si multa frustrare.",
            "Facturile sunt greșite în fiecare lună.",
            "Facturile sunt gresite in fiecare luna.",
            "N-aș recomanda nimănui acest magazin.",
            "Nu cred că o să vă recomand prietenilor.",
        ] {
            let a = analyzer().analyze(text, Some("ro"));
            assert_eq!(a.label, "negative", "{text}: {a:?}");
        }
        assert_eq!(
            analyzer().analyze(
                "Instalarea a durat săptămâni și multă frustrare.",
                Some("ro")
            ),
            analyzer().analyze(
                "Instalarea a durat saptamani si multa frustrare.",
                Some("ro")
            ),
            "diacritics are folded"
        );
    }

    #[test]
    fn a_topic_name_is_neutral_and_an_opinion_keyword_is_not() {
        let a = analyzer();
        assert_eq!(a.analyze("I contacted support.", Some("en")).compound, 0.0);
        assert!(Vader::feedback().polarity("I contacted support.").compound > 0.0);
        assert!(a.analyze("The staff were rude.", Some("en")).compound < 0.0);
        assert!(a.analyze("Am sunat la suport.", Some("ro")).compound == 0.0);
        assert!(a.analyze("Personalul a fost amabil.", Some("ro")).compound > 0.0);
        // The exact scorer keeps every word's valence.
        assert!(
            a.with_scorer(Scorer::Vader)
                .analyze("I contacted support.", Some("en"))
                .compound
                > 0.0
        );
    }

    #[test]
    fn the_vader_scorer_is_vader_sentiment_exactly() {
        // vaderSentiment 3.3.2's compound for each (polarity_scores),
        // where the feedback supplement ("fast", "quick", "slow",
        // "buggy", "refund") would move the score.
        let vader = analyzer().with_scorer(Scorer::Vader);
        for (text, reference) in [
            ("Delivery was fast and the refund was quick.", 0.0),
            ("The app is slow and buggy, I want a refund.", 0.0772),
            ("Support was great", 0.7783),
            ("I would not recommend it.", -0.2755),
        ] {
            assert_eq!(vader.analyze(text, None).compound, reference, "{text}");
            assert_eq!(
                vader.analyze(text, Some("ro")).compound,
                reference,
                "{text}"
            );
        }
        let feedback = analyzer().analyze("The app is slow and buggy, I want a refund.", None);
        assert!(feedback.compound < 0.0, "{feedback:?}");
        assert_eq!("vader".parse::<Scorer>(), Ok(Scorer::Vader));
        assert!("bert".parse::<Scorer>().is_err());
    }

    #[test]
    fn romanian_texts_use_the_romanian_scorer() {
        let a = analyzer().analyze(
            "Livrarea a fost foarte rapida, dar factura a fost gresita si sunt dezamagit",
            None,
        );
        assert_eq!(a.language, Some("ro"));
        let topic = |name: &str| {
            a.topics
                .iter()
                .find(|t| t.topic == name)
                .map(|t| t.sentiment)
        };
        assert!(topic("delivery").unwrap() > 0.0, "{a:?}");
        assert!(topic("billing").unwrap() < 0.0, "{a:?}");
    }

    #[test]
    fn the_language_set_can_be_narrowed() {
        let french = "La livraison était rapide et le service client très aimable.";
        assert_eq!(analyzer().analyze(french, None).language, Some("fr"));
        assert_eq!(
            analyzer()
                .with_languages(&["en", "ro"])
                .analyze(french, None)
                .language
                .map(|l| l == "fr"),
            Some(false)
        );
    }

    #[test]
    fn hostile_texts_of_a_million_characters_are_analysed() {
        // One 320,000-letter word once took 37 s (lingua's n-grams) and a
        // long text of clauses grew with its square (VADER's "but"); at a
        // million characters either would keep this test for hours. Their
        // growth is measured by examples/pathological_speed.
        let analyzer = analyzer();
        for (shape, text) in crate::eval::hostile_texts(1_000_000) {
            let a = analyzer.analyze(&text, None);
            assert!((-1.0..=1.0).contains(&a.compound), "{shape}: {a:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn any_repeated_piece_is_analysed(piece in "\\PC{1,6}", times in 1usize..40_000) {
            let a = analyzer().analyze(&piece.repeat(times), None);
            proptest::prop_assert!((-1.0..=1.0).contains(&a.compound));
        }
    }

    #[test]
    fn the_json_follows_the_contract() {
        let a = analyzer().analyze("I love it", Some("en"));
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["language"], "en");
        assert_eq!(v["compound"], 0.6369);
        assert_eq!(v["label"], "positive");
        assert!(v["positive"].is_number() && v["neutral"].is_number() && v["negative"].is_number());
        assert_eq!(v["topics"], serde_json::json!([]));
    }

    #[test]
    fn a_model_changes_the_compound_for_its_language_only() {
        let examples = [("zboara coletul", true), ("coletul se taraie", false)].repeat(30);
        let model = SentimentModel::train("ro", &examples, crate::Training::default());
        let with = analyzer().with_model(model);
        assert!(
            with.sentiment("zboara coletul", Some("ro")).compound
                > analyzer().sentiment("zboara coletul", Some("ro")).compound
        );
        assert_eq!(
            with.sentiment("I love it", Some("en")),
            analyzer().sentiment("I love it", Some("en"))
        );
        assert_eq!(
            analyzer().sentiment("I love it", Some("en")),
            Vader::english().polarity("I love it")
        );
    }
}
