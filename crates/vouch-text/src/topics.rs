//! Topics from a taxonomy the company can edit (TOML), found by stemmed,
//! diacritics-folded keywords and phrases, each with the sentiment of the
//! clauses that mention it ("delivery was slow but support was great" →
//! delivery negative, support positive).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use crate::ascii::{self, ALPHANUMERIC, SENTENCE_END, WHITESPACE, packed_lowercase};
use crate::romanian::fold;

/// The shipped taxonomy, as its TOML source.
pub const DEFAULT_TAXONOMY: &str = include_str!("../taxonomy/default.toml");

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
    /// Keywords that judge as well as name ("rude", "broken", "intuitive"),
    /// in any language: they keep their sentiment. Every other one-word
    /// keyword is neutral, since it says what the customer talks about,
    /// not how they feel ("support" is +1.7 in VADER).
    #[serde(default)]
    pub opinions: Vec<String>,
    #[serde(flatten)]
    pub keywords: HashMap<String, Vec<String>>,
}

/// A compiled taxonomy: stemmed keyword sequences per language.
pub struct Taxonomy {
    entries: Vec<TopicEntry>,
    /// language → its keywords.
    keywords: HashMap<String, KeywordIndex>,
    /// Tells this taxonomy's per-thread word caches from another's.
    id: u64,
}

/// One language's keywords, with every stem in them numbered: finding the
/// topics of a text is one cached look-up per word (word → number), then
/// comparisons of numbers.
#[derive(Default)]
struct KeywordIndex {
    numbers: HashMap<String, u32>,
    /// By the number of a keyword's first stem: (the numbers of the stems
    /// after it, topic index).
    starting_with: Vec<Vec<(Vec<u32>, usize)>>,
}

/// The number of a word whose stem is in no keyword.
const NO_KEYWORD: u32 = u32::MAX;

impl KeywordIndex {
    fn number(&mut self, stem: String) -> u32 {
        let next = u32::try_from(self.numbers.len()).expect("fewer than 4 billion keyword stems");
        let number = *self.numbers.entry(stem).or_insert(next);
        if self.starting_with.len() <= number as usize {
            self.starting_with
                .resize_with(number as usize + 1, Vec::new);
        }
        number
    }

    fn number_of(&self, stem: &str) -> u32 {
        self.numbers.get(stem).copied().unwrap_or(NO_KEYWORD)
    }

    /// Adds to `found` the topics whose keywords occur in `words` (numbered stems).
    fn find(&self, words: &[u32], found: &mut Vec<usize>) {
        for (i, &word) in words.iter().enumerate() {
            let Some(keywords) = self.starting_with.get(word as usize) else {
                continue;
            };
            for (rest, topic) in keywords {
                if !found.contains(topic) && words[i + 1..].starts_with(rest) {
                    found.push(*topic);
                }
            }
        }
    }
}

/// A word's stem, shared by every occurrence the thread has stemmed.
pub type Stem = Rc<str>;

/// Word → stem, for one language.
type StemCache = HashMap<Box<str>, Stem>;

/// The stems of a text's words in `language`, folded and lower-cased.
pub fn stems(text: &str, language: &str) -> Vec<Stem> {
    stems_of(folded_words(&fold(text)), language)
}

/// The words of a folded text: its runs of letters and digits.
fn folded_words(folded: &str) -> Box<dyn Iterator<Item = &str> + '_> {
    if folded.is_ascii() {
        // Split on bytes: the words of ASCII text are its runs of ASCII
        // letters and digits (splitting by `char` cost a fifth of stemming).
        return Box::new(ascii_words(folded).into_iter());
    }
    Box::new(
        folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty()),
    )
}

/// An ASCII text lower-cased once, and its words (runs of letters and
/// digits): language identification, topic finding and VADER each used to
/// lower-case and split the same text for themselves.
pub(crate) struct LoweredAscii<'l> {
    /// The text, lower-cased (same length, same offsets).
    pub(crate) text: &'l str,
    pub(crate) words: Vec<&'l str>,
}

impl<'l> LoweredAscii<'l> {
    /// `lowered` must be an ASCII text lower-cased.
    pub(crate) fn new(lowered: &'l str) -> LoweredAscii<'l> {
        debug_assert!(
            lowered
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        );
        LoweredAscii {
            text: lowered,
            words: ascii_words(lowered),
        }
    }

    /// `packed_lowercase` of one of `words` of at most 8 bytes, read as one
    /// number from the text (the byte-by-byte packing cost half of
    /// language identification).
    pub(crate) fn packed(&self, word: &str) -> u64 {
        let start = word.as_ptr() as usize - self.text.as_ptr() as usize;
        ascii::packed_at(self.text.as_bytes(), start, word.len())
    }
}

/// The runs of ASCII letters and digits of an ASCII text.
fn ascii_words(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut words = Vec::with_capacity(bytes.len() / 4);
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && !ascii::is(bytes[i], ALPHANUMERIC) {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && ascii::is(bytes[i], ALPHANUMERIC) {
            i += 1;
        }
        if i > start {
            words.push(&text[start..i]);
        }
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

/// The keyword-stem numbers of folded `words` (`NO_KEYWORD` for most),
/// through a per-thread cache for this taxonomy and language: a word is
/// stemmed once per thread, and afterwards costs one look-up.
fn word_numbers<'w>(
    words: impl Iterator<Item = (&'w str, Option<u64>)>,
    language: &str,
    taxonomy: u64,
    index: &KeywordIndex,
) -> Vec<u32> {
    /// Words of up to 8 bytes (most) are keyed by `LoweredAscii::packed`:
    /// hashing and comparing one number is cheaper than a string.
    #[derive(Default)]
    struct Numbers {
        short: HashMap<u64, u32>,
        long: HashMap<Box<str>, u32>,
    }
    thread_local! {
        static NUMBERS: RefCell<Vec<((u64, String), Numbers)>> = Default::default();
    }
    const REMEMBERED: usize = 200_000;
    NUMBERS.with_borrow_mut(|caches| {
        // One bound for all caches together (checked per text, so it may be
        // passed by one text's words).
        let remembered: usize = caches
            .iter()
            .map(|(_, c)| c.short.len() + c.long.len())
            .sum();
        if remembered >= REMEMBERED {
            caches.clear();
        }
        let slot = match caches
            .iter()
            .position(|((t, l), _)| *t == taxonomy && l == language)
        {
            Some(slot) => slot,
            None => {
                caches.push(((taxonomy, language.to_owned()), Numbers::default()));
                caches.len() - 1
            }
        };
        let cache = &mut caches[slot].1;
        let mut stemmer = None;
        let mut number_of =
            |word: &str| match stemmer.get_or_insert_with(|| self::stemmer(language)) {
                Some(stemmer) => index.number_of(&stemmer.stem(word)),
                None => index.number_of(word),
            };
        words
            .map(|(word, packed)| match packed {
                Some(key) => *cache.short.entry(key).or_insert_with(|| number_of(word)),
                None => {
                    if let Some(number) = cache.long.get(word) {
                        return *number;
                    }
                    let number = number_of(word);
                    cache.long.insert(word.into(), number);
                    number
                }
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
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
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
                    let index_of_language = keywords.entry(language.clone()).or_default();
                    let mut numbered = stems(keyword, language)
                        .iter()
                        .map(|stem| index_of_language.number(stem.to_string()))
                        .collect::<Vec<u32>>()
                        .into_iter();
                    if let Some(first) = numbered.next() {
                        index_of_language.starting_with[first as usize]
                            .push((numbered.collect(), index));
                    }
                }
            }
        }
        Ok(Taxonomy {
            entries: file.topic,
            keywords,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn topics(&self) -> &[TopicEntry] {
        &self.entries
    }

    /// The stems of the one-word keywords of `language` that are not
    /// opinions: the words sentiment should not count.
    pub fn neutral_stems(&self, language: &str) -> rustc_hash::FxHashSet<String> {
        let single = |word: &str| match stems(word, language).as_slice() {
            [stem] => Some(stem.to_string()),
            _ => None,
        };
        let opinions: rustc_hash::FxHashSet<String> = self
            .entries
            .iter()
            .flat_map(|e| &e.opinions)
            .filter_map(|w| single(w))
            .collect();
        self.entries
            .iter()
            .filter_map(|e| e.keywords.get(language))
            .flatten()
            .filter_map(|w| single(w))
            .filter(|stem| !opinions.contains(stem))
            .collect()
    }

    /// The topics (by index) mentioned in already-stemmed words of `language`.
    pub fn find(&self, stemmed: &[Stem], language: &str) -> Vec<usize> {
        let Some(index) = self.keywords.get(language) else {
            return Vec::new();
        };
        let numbers: Vec<u32> = stemmed.iter().map(|s| index.number_of(s)).collect();
        let mut found = Vec::new();
        index.find(&numbers, &mut found);
        found.sort_unstable();
        found
    }

    /// The clauses of `text` (see `clauses`) that mention a topic, in text
    /// order, each with its topics (by index, sorted). `lowered` is the
    /// text lower-cased with its words, when the text is ASCII.
    pub(crate) fn topics_by_clause<'t>(
        &self,
        text: &'t str,
        lowered: Option<&LoweredAscii>,
        language: &str,
    ) -> Vec<(&'t str, Vec<usize>)> {
        let Some(index) = self.keywords.get(language) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut keep = |clause: &'t str, numbers: &[u32]| {
            let mut found = Vec::new();
            index.find(numbers, &mut found);
            if !found.is_empty() {
                found.sort_unstable();
                out.push((clause, found));
            }
        };
        match lowered {
            // ASCII text is stemmed once, whole, and each clause takes its
            // words from it: a clause starts and ends beside a space, a
            // sentence mark or the text's edge, so no word straddles two
            // (a property test checks it).
            Some(lowered) => {
                let words = lowered
                    .words
                    .iter()
                    .map(|w| (*w, (w.len() <= 8).then(|| lowered.packed(w))));
                let numbers = word_numbers(words, language, self.id, index);
                let starts: Vec<usize> = lowered
                    .words
                    .iter()
                    .map(|w| w.as_ptr() as usize - lowered.text.as_ptr() as usize)
                    .collect();
                for clause in lowered_clauses(text, lowered) {
                    let start = clause.as_ptr() as usize - text.as_ptr() as usize;
                    let from = starts.partition_point(|w| *w < start);
                    let to = starts.partition_point(|w| *w < start + clause.len());
                    keep(clause, &numbers[from..to]);
                }
            }
            None => {
                for clause in clauses(text) {
                    let folded = fold(clause);
                    let words = folded_words(&folded).map(|w| (w, None));
                    let numbers = word_numbers(words, language, self.id, index);
                    keep(clause, &numbers);
                }
            }
        }
        out
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
        let lowered = text.to_ascii_lowercase();
        lowered_clauses(text, &LoweredAscii::new(&lowered))
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
const _: () = {
    let mut i = 0;
    while i < CONTRASTS.len() {
        assert!(
            CONTRASTS[i].len() <= 8,
            "CONTRAST_KEYS packs at most 8 bytes"
        );
        i += 1;
    }
};

/// `clauses` of an ASCII text, given its lower-cased words: the sentence
/// marks are found with `memchr`, and of the words only the contrasts are
/// looked at closely (a byte-by-byte scan was an eighth of tagging).
pub(crate) fn lowered_clauses<'t>(text: &'t str, lowered: &LoweredAscii) -> Vec<&'t str> {
    let bytes = text.as_bytes();
    let mut sentence_ends: Vec<usize> = memchr::memchr3_iter(b'.', b'!', b'?', bytes)
        .chain(memchr::memchr2_iter(b';', b'\n', bytes))
        .collect();
    sentence_ends.sort_unstable();
    // Where the token (the run between spaces and sentence marks) of each
    // contrast starts, when the contrast is the token's only word.
    let mut contrasts = lowered
        .words
        .iter()
        .filter_map(|word| {
            let key = word.as_bytes();
            if !(3..=8).contains(&key.len())
                || !CONTRAST_INITIALS[key[0] as usize]
                || !CONTRAST_KEYS.contains(&packed_lowercase(key))
            {
                return None;
            }
            let start = word.as_ptr() as usize - lowered.text.as_ptr() as usize;
            let mut token_start = start;
            while token_start > 0 && !ascii::is(bytes[token_start - 1], SENTENCE_END | WHITESPACE) {
                if ascii::is(bytes[token_start - 1], ALPHANUMERIC) {
                    return None;
                }
                token_start -= 1;
            }
            let mut after = start + key.len();
            while after < bytes.len() && !ascii::is(bytes[after], SENTENCE_END | WHITESPACE) {
                if ascii::is(bytes[after], ALPHANUMERIC) {
                    return None;
                }
                after += 1;
            }
            Some(token_start)
        })
        .peekable();
    let mut out = Vec::new();
    let mut clause_start = 0;
    for end in sentence_ends.into_iter().chain([bytes.len()]) {
        while let Some(token_start) = contrasts.next_if(|t| *t < end) {
            if token_start > clause_start {
                push_clause(&mut out, &text[clause_start..token_start]);
                clause_start = token_start;
            }
        }
        push_clause(&mut out, &text[clause_start..end]);
        clause_start = end + 1;
    }
    out
}

fn push_clause<'t>(out: &mut Vec<&'t str>, clause: &'t str) {
    let clause = clause.trim();
    if !clause.is_empty() {
        out.push(clause);
    }
}

/// The first bytes of the contrasts (all lower case).
const CONTRAST_INITIALS: [bool; 256] = {
    let mut initials = [false; 256];
    let mut i = 0;
    while i < CONTRASTS.len() {
        initials[CONTRASTS[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    initials
};

/// The contrasts packed as `packed_lowercase` packs a word (all have at
/// most 8 bytes; the ones outside ASCII can never equal an ASCII word).
const CONTRAST_KEYS: [u64; CONTRASTS.len()] = {
    let mut keys = [0; CONTRASTS.len()];
    let mut i = 0;
    while i < CONTRASTS.len() {
        keys[i] = packed_lowercase(CONTRASTS[i].as_bytes());
        i += 1;
    }
    keys
};

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// A company's taxonomy file is theirs to get wrong: any text, or the
        /// shipped file with a stretch replaced, parses or names its error.
        #[test]
        fn any_taxonomy_file_parses_or_is_refused(
            at in 0usize..4000,
            len in 0usize..80,
            insert in "[\\x00-\\x1f\"'\\[\\]=,.#a-z0-9 \\n\u{202e}]{0,60}",
            junk in "\\PC{0,200}",
        ) {
            let _ = Taxonomy::parse(&junk);
            let chars: Vec<char> = DEFAULT_TAXONOMY.chars().collect();
            let at = at % (chars.len() + 1);
            let end = (at + len).min(chars.len());
            let text: String = chars[..at].iter().copied().chain(insert.chars()).chain(chars[end..].iter().copied()).collect();
            if let Ok(taxonomy) = Taxonomy::parse(&text) {
                let analyzer = crate::TextAnalyzer::new(taxonomy);
                analyzer.analyze("Delivery was slow but support was great", None);
            }
        }
    }

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
            text in "([a-zA-Z0-9]{1,9}|[ .,!?;:'()\t\n\x0b\x0c\r\x1c-]|but|BUT|However|though|dar|Totusi){0,40}"
        ) {
            let lowered = text.to_ascii_lowercase();
            proptest::prop_assert_eq!(
                lowered_clauses(&text, &LoweredAscii::new(&lowered)),
                any_clauses(&text)
            );
        }

        #[test]
        fn topics_by_clause_are_each_clauses_topics(
            text in "([a-zA-Z0-9]{1,9}|[ .,!?;:'()\t\n\x0b\x0c\r-]|but|BUT|However|though|Delivery|shipping|ă|support|Prices|easy to use|factura){0,40}",
            language in proptest::sample::select(vec!["en", "ro", "xx"]),
        ) {
            static TAXONOMY: std::sync::LazyLock<Taxonomy> =
                std::sync::LazyLock::new(Taxonomy::default_taxonomy);
            let t = &*TAXONOMY;
            let one_by_one: Vec<(&str, Vec<usize>)> = clauses(&text)
                .into_iter()
                .map(|clause| (clause, t.find(&stems(clause, language), language)))
                .filter(|(_, found)| !found.is_empty())
                .collect();
            proptest::prop_assert_eq!(&t.topics_by_clause(&text, None, language), &one_by_one);
            if text.is_ascii() {
                let lowered = text.to_ascii_lowercase();
                let lowered = LoweredAscii::new(&lowered);
                proptest::prop_assert_eq!(
                    &t.topics_by_clause(&text, Some(&lowered), language),
                    &one_by_one
                );
            }
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
