//! Topics from a taxonomy the company can edit (TOML), found by stemmed,
//! diacritics-folded keywords and phrases, each with the sentiment of the
//! clauses that mention it ("delivery was slow but support was great" →
//! delivery negative, support positive).

use std::cell::RefCell;
use std::rc::Rc;

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use crate::romanian::fold;

const DEFAULT_TAXONOMY: &str = include_str!("../taxonomy/default.toml");

/// Why a taxonomy could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("taxonomy is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("topic {0:?} is listed twice")]
    Duplicate(String),
    #[error("topic {0:?} has no keywords")]
    Empty(String),
}

#[derive(Debug, Clone, Deserialize)]
struct TaxonomyFile {
    topic: Vec<TopicEntry>,
}

/// One topic as written in the taxonomy file.
#[derive(Debug, Clone, Deserialize)]
pub struct TopicEntry {
    pub name: String,
    pub label: Option<String>,
    #[serde(flatten)]
    pub keywords: HashMap<String, Vec<String>>,
}

/// First stem → (the stems after it, topic index).
type KeywordIndex = HashMap<String, Vec<(Vec<String>, usize)>>;

/// A compiled taxonomy: stemmed keyword sequences per language.
pub struct Taxonomy {
    entries: Vec<TopicEntry>,
    /// language → first stem → (the stems after it, topic index): finding
    /// topics is one look-up per word, however large the taxonomy.
    keywords: HashMap<String, KeywordIndex>,
}

/// A word's stem, shared by every occurrence the thread has stemmed.
pub type Stem = Rc<str>;

/// Word → stem, for one language.
type StemCache = HashMap<Box<str>, Stem>;

/// The stems of a text's words in `language`, folded and lower-cased.
pub fn stems(text: &str, language: &str) -> Vec<Stem> {
    let folded = fold(text);
    if folded.is_ascii() {
        // Split on bytes: the words of ASCII text are its runs of ASCII
        // letters and digits (splitting by `char` cost a fifth of stemming).
        return stems_of(ascii_words(&folded).into_iter(), language);
    }
    let words = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    stems_of(words, language)
}

/// The runs of ASCII letters and digits of an ASCII text.
fn ascii_words(text: &str) -> Vec<&str> {
    let mut words = Vec::with_capacity(text.len() / 4);
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        match (b.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(from)) => {
                words.push(&text[from..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        words.push(&text[from..]);
    }
    words
}

/// Stems folded `words` through the thread's cache.
fn stems_of<'w>(words: impl Iterator<Item = &'w str>, language: &str) -> Vec<Stem> {
    let Some(stemmer) = stemmer(language) else {
        return words.map(Stem::from).collect();
    };
    // Stemming is the costliest step of topic finding and customers reuse
    // few words: each thread remembers the stems it has made, per language,
    // and hands out shared copies (no allocation per word).
    thread_local! {
        static STEMS: RefCell<Vec<(String, StemCache)>> = Default::default();
    }
    const REMEMBERED: usize = 200_000;
    STEMS.with_borrow_mut(|languages| {
        // One bound for all languages together (checked per text, so it may
        // be passed by one text's words).
        if languages
            .iter()
            .map(|(_, cache)| cache.len())
            .sum::<usize>()
            >= REMEMBERED
        {
            languages.clear();
        }
        let slot = match languages.iter().position(|(l, _)| l == language) {
            Some(slot) => slot,
            None => {
                languages.push((language.to_owned(), HashMap::default()));
                languages.len() - 1
            }
        };
        let cache = &mut languages[slot].1;
        words
            .map(|w| {
                if let Some(stem) = cache.get(w) {
                    return stem.clone();
                }
                let stem = Stem::from(stemmer.stem(w).as_ref());
                cache.insert(w.into(), stem.clone());
                stem
            })
            .collect()
    })
}

fn stemmer(language: &str) -> Option<Stemmer> {
    Some(Stemmer::create(match language {
        "en" => Algorithm::English,
        "ro" => Algorithm::Romanian,
        "fr" => Algorithm::French,
        "de" => Algorithm::German,
        "es" => Algorithm::Spanish,
        "it" => Algorithm::Italian,
        _ => return None,
    }))
}

impl Taxonomy {
    /// The taxonomy shipped with Vouch.
    pub fn default_taxonomy() -> Taxonomy {
        Taxonomy::parse(DEFAULT_TAXONOMY).expect("the shipped taxonomy is valid (tested)")
    }

    pub fn parse(toml_text: &str) -> Result<Taxonomy, TaxonomyError> {
        let file: TaxonomyFile = toml::from_str(toml_text)?;
        let mut keywords: HashMap<String, KeywordIndex> = HashMap::default();
        for (index, entry) in file.topic.iter().enumerate() {
            if file.topic[..index].iter().any(|e| e.name == entry.name) {
                return Err(TaxonomyError::Duplicate(entry.name.clone()));
            }
            if entry.keywords.values().all(Vec::is_empty) {
                return Err(TaxonomyError::Empty(entry.name.clone()));
            }
            for (language, words) in &entry.keywords {
                for keyword in words {
                    let mut stemmed = stems(keyword, language).into_iter().map(|s| s.to_string());
                    if let Some(first) = stemmed.next() {
                        keywords
                            .entry(language.clone())
                            .or_default()
                            .entry(first)
                            .or_default()
                            .push((stemmed.collect(), index));
                    }
                }
            }
        }
        Ok(Taxonomy {
            entries: file.topic,
            keywords,
        })
    }

    pub fn topics(&self) -> &[TopicEntry] {
        &self.entries
    }

    /// The topics (by index) mentioned in already-stemmed words of `language`.
    pub fn find(&self, stemmed: &[Stem], language: &str) -> Vec<usize> {
        let Some(keywords) = self.keywords.get(language) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (i, word) in stemmed.iter().enumerate() {
            for (rest, topic) in keywords.get(&**word).into_iter().flatten() {
                let after = &stemmed[i + 1..];
                let follows = after.len() >= rest.len()
                    && rest.iter().zip(after).all(|(a, b)| a.as_str() == &**b);
                if !found.contains(topic) && follows {
                    found.push(*topic);
                }
            }
        }
        found.sort_unstable();
        found
    }

    pub fn name(&self, topic: usize) -> &str {
        &self.entries[topic].name
    }
}

/// Words that never start or end a keyphrase (YAKE's candidate rule).
const STOPWORDS: &[&str] = &[
    // English
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with",
    "from", "is", "was", "are", "were", "be", "been", "it", "its", "this", "that", "these",
    "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them", "their",
    "not", "no", "so", "very", "too", "just", "have", "has", "had", "do", "did", "does", "will",
    "would", "can", "could", "all", "any", "some", "more", "most", "what", "which", "who", "when",
    "there", "here", "as", "than", "then", "also", "about", "after", "again", "still", "only",
    "really", "am", "up", "out", "get", "got", "one", "every", "once", "took", "take", "highly",
    "day", "days", "time", "times", "ever", "way", "much", "many", "well", "even", "since", "back",
    "made", "make", "thing", "things", "lot", "bit", "week", "month", "year", "two", "three",
    // Romanian (folded)
    "si", "sa", "se", "nu", "de", "la", "cu", "in", "pe", "din", "pentru", "un", "o", "este", "e",
    "sunt", "a", "am", "au", "ai", "fost", "care", "ca", "mai", "foarte", "dar", "iar", "ce",
    "cel", "cea", "acest", "aceasta", "asta", "el", "ea", "ei", "ele", "eu", "tu", "noi", "voi",
    "lui", "ei", "sau", "daca", "fi", "fie", "m", "l", "s", "n", "il", "le", "ne", "va", "vor",
    "mi", "ti", "si", "prin", "dupa", "doar", "tot", "toate", "totul", "chiar", "deja", "inca",
    "cum", "cand", "unde", "decat",
];

/// A phrase customers use that no topic covers yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyphraseSuggestion {
    pub phrase: String,
    /// How many texts use it.
    pub texts: usize,
}

/// Keyphrases frequent in `texts` ((text, language) pairs) that match no
/// topic of `taxonomy`: YAKE's candidate rule (1–3 words, no stopword at
/// either edge, no digits), no sentiment word at either edge, ranked by how
/// many texts use each phrase, longer phrases first among equals. A phrase
/// needs at least `min_texts` texts. (YAKE's statistical term weights are
/// not implemented; document frequency ranks instead.)
pub fn suggest_keyphrases(
    texts: &[(&str, &str)],
    taxonomy: &Taxonomy,
    min_texts: usize,
    limit: usize,
) -> Vec<KeyphraseSuggestion> {
    let mut counts: HashMap<String, usize> = HashMap::default();
    for (text, language) in texts {
        let folded = fold(text);
        let mut seen: Vec<String> = Vec::new();
        for clause in folded.split(|c: char| c.is_ascii_punctuation() || c == '\n') {
            let words: Vec<&str> = clause
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            for n in 1..=3 {
                for window in words.windows(n) {
                    // Sentiment words ("terrible", "recomand") say how, not what: not topics.
                    let edge = |w: &str| {
                        STOPWORDS.contains(&w)
                            || w.chars().count() < 3
                            || w.chars().any(|c| c.is_ascii_digit())
                            || crate::Vader::feedback().valence(w).is_some()
                            || crate::Romanian::shared().valence(w).is_some()
                    };
                    if edge(window[0]) || edge(window[n - 1]) {
                        continue;
                    }
                    let phrase = window.join(" ");
                    if !taxonomy
                        .find(&stems(&phrase, language), language)
                        .is_empty()
                    {
                        continue;
                    }
                    if !seen.contains(&phrase) {
                        seen.push(phrase);
                    }
                }
            }
        }
        for phrase in seen {
            *counts.entry(phrase).or_default() += 1;
        }
    }
    let mut ranked: Vec<KeyphraseSuggestion> = counts
        .into_iter()
        .filter(|(_, n)| *n >= min_texts)
        .map(|(phrase, texts)| KeyphraseSuggestion { phrase, texts })
        .collect();
    ranked.sort_by(|a, b| {
        b.texts
            .cmp(&a.texts)
            .then(
                b.phrase
                    .split(' ')
                    .count()
                    .cmp(&a.phrase.split(' ').count()),
            )
            .then(a.phrase.cmp(&b.phrase))
    });
    ranked.truncate(limit);
    ranked
}

/// Splits a text into clauses: at sentence ends, and before contrastive
/// conjunctions, so each side of a "but" is scored on its own.
pub fn clauses(text: &str) -> Vec<&str> {
    if text.is_ascii() {
        ascii_clauses(text)
    } else {
        any_clauses(text)
    }
}

fn any_clauses(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for sentence in text
        .split(['.', '!', '?', ';', '\n'])
        .filter(|s| !s.trim().is_empty())
    {
        let mut start = 0;
        let mut position = 0;
        for word in sentence.split_inclusive(char::is_whitespace) {
            let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
            // Contrasts have 3 to 8 bytes: most words need no comparing.
            let contrast = (3..=8).contains(&bare.len())
                && if bare.is_ascii() {
                    CONTRASTS.iter().any(|c| c.eq_ignore_ascii_case(bare))
                } else {
                    CONTRASTS.contains(&bare.to_lowercase().as_str())
                };
            if position > start && contrast {
                out.push(&sentence[start..position]);
                start = position;
            }
            position += word.len();
        }
        out.push(&sentence[start..]);
    }
    out.into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

const CONTRASTS: &[&str] = &[
    "but", "however", "although", "though", "dar", "insa", "însă", "totusi", "totuși",
];

/// `clauses` on the bytes of an ASCII text (most reviews), with the same
/// result: splitting by `char` was a tenth of all tagging time.
fn ascii_clauses(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut clause_start = 0;
    let mut word_start = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?' | b';' | b'\n') {
            split_before_contrast(text, &mut clause_start, word_start, i, &mut out);
            push_clause(&mut out, &text[clause_start..i]);
            clause_start = i + 1;
            word_start = i + 1;
        } else if b.is_ascii_whitespace() || b == 0x0b {
            split_before_contrast(text, &mut clause_start, word_start, i, &mut out);
            word_start = i + 1;
        }
    }
    split_before_contrast(text, &mut clause_start, word_start, text.len(), &mut out);
    push_clause(&mut out, &text[clause_start..]);
    out
}

fn push_clause<'t>(out: &mut Vec<&'t str>, clause: &'t str) {
    let clause = clause.trim();
    if !clause.is_empty() {
        out.push(clause);
    }
}

/// Ends the clause before the word `text[word..end]` if it is a contrast.
fn split_before_contrast<'t>(
    text: &'t str,
    clause_start: &mut usize,
    word: usize,
    end: usize,
    out: &mut Vec<&'t str>,
) {
    if word <= *clause_start || end < word + 3 {
        return;
    }
    let bytes = text.as_bytes();
    let (mut from, mut to) = (word, end);
    while from < to && !bytes[from].is_ascii_alphanumeric() {
        from += 1;
    }
    while to > from && !bytes[to - 1].is_ascii_alphanumeric() {
        to -= 1;
    }
    let bare = &text[from..to];
    if (3..=8).contains(&bare.len()) && CONTRASTS.iter().any(|c| c.eq_ignore_ascii_case(bare)) {
        push_clause(out, &text[*clause_start..word]);
        *clause_start = word;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_taxonomy_has_the_ten_topics_in_both_languages() {
        let t = Taxonomy::default_taxonomy();
        let names: Vec<&str> = t.topics().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "price",
                "quality",
                "delivery",
                "support",
                "usability",
                "onboarding",
                "billing",
                "reliability",
                "features",
                "staff"
            ]
        );
        for entry in t.topics() {
            for language in ["en", "ro"] {
                assert!(
                    entry.keywords.get(language).is_some_and(|k| !k.is_empty()),
                    "{} has no {language} keywords",
                    entry.name
                );
            }
        }
    }

    #[test]
    fn keywords_match_inflected_and_unaccented_forms() {
        let t = Taxonomy::default_taxonomy();
        let find = |text: &str, lang: &str| -> Vec<String> {
            t.find(&stems(text, lang), lang)
                .into_iter()
                .map(|i| t.name(i).to_owned())
                .collect()
        };
        assert_eq!(
            find("The deliveries were late and the invoices wrong", "en"),
            ["delivery", "billing"]
        );
        assert_eq!(
            find("Livrarea a intarziat, factura gresita", "ro"),
            ["delivery", "billing"]
        );
        assert_eq!(
            find("Livrarea a întârziat, factura greșită", "ro"),
            ["delivery", "billing"]
        );
        assert_eq!(find("Very easy to use", "en"), ["usability"]);
        assert!(find("nothing relevant here", "en").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_fast_path_splits_as_the_general_one(
            text in "([a-zA-Z]{1,9}|[ .,!?;:'\t\n\x0b\x0c\r-]|but|BUT|However|though){0,40}"
        ) {
            proptest::prop_assert_eq!(ascii_clauses(&text), any_clauses(&text));
        }

        #[test]
        fn ascii_words_are_the_alphanumeric_runs(text in "[ -~\t\n]{0,60}") {
            let by_char: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            proptest::prop_assert_eq!(ascii_words(&text), by_char);
        }
    }

    #[test]
    fn clauses_split_at_sentences_and_contrasts() {
        assert_eq!(
            clauses("Delivery was slow but support was great. Thanks!"),
            ["Delivery was slow", "but support was great", "Thanks"]
        );
        assert_eq!(
            clauses("Livrarea a durat, însă suportul a fost bun"),
            ["Livrarea a durat,", "însă suportul a fost bun"]
        );
        assert!(clauses("").is_empty());
    }

    #[test]
    fn suggestions_are_frequent_phrases_no_topic_covers() {
        let texts = [
            ("The dark mode is great", "en"),
            ("Please add a dark mode", "en"),
            ("dark mode would help, delivery was late", "en"),
            ("The delivery was late", "en"),
        ];
        let suggestions = suggest_keyphrases(&texts, &Taxonomy::default_taxonomy(), 2, 5);
        assert_eq!(
            suggestions[0],
            KeyphraseSuggestion {
                phrase: "dark mode".into(),
                texts: 3
            }
        );
        assert!(
            suggestions.iter().all(|s| !s.phrase.contains("delivery")),
            "covered by a topic: {suggestions:?}"
        );
        assert!(
            suggestions.iter().all(|s| !s.phrase.starts_with("the ")),
            "stopwords at the edges"
        );
    }

    #[test]
    fn bad_taxonomies_are_refused_with_a_reason() {
        assert!(matches!(
            Taxonomy::parse("[[topic]]\nname = \"x\"\n"),
            Err(TaxonomyError::Empty(_))
        ));
        let twice =
            "[[topic]]\nname = \"x\"\nen = [\"a\"]\n[[topic]]\nname = \"x\"\nen = [\"b\"]\n";
        assert!(matches!(
            Taxonomy::parse(twice),
            Err(TaxonomyError::Duplicate(_))
        ));
        assert!(matches!(
            Taxonomy::parse("not toml ["),
            Err(TaxonomyError::Toml(_))
        ));
    }
}
