//! English sentiment, compatible with vaderSentiment 3.3.2 (Hutto & Gilbert,
//! "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social
//! Media Text", ICWSM 2014; MIT licence). The same lexicons (shipped in
//! `lexicons/`), the same rules in the same order, and the same quirks, so
//! that scores match the reference implementation to four decimals.
//! Where the reference behaves surprisingly, the comment says so: changing
//! it here would break parity.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

// The Fx hash: the keys are our own fixed lexicons, so HashDoS resistance
// buys nothing, and SipHash made lookups the largest cost.
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::ascii::{self, PUNCTUATION, PYTHON_SPACE};
use crate::idioms::Idioms;

const VADER_LEXICON: &str = include_str!("../lexicons/vader_lexicon.txt");
const EMOJI_LEXICON: &str = include_str!("../lexicons/emoji_utf8_lexicon.txt");
const FEEDBACK_SUPPLEMENT: &str = include_str!("../lexicons/en_feedback_supplement.txt");

/// Empirically derived intensity changes (Hutto & Gilbert 2014).
pub(crate) const B_INCR: f64 = 0.293;
pub(crate) const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
pub(crate) const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

/// Idioms and phrases whose valence replaces that of their lexicon words.
const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// Sentiment scores of one text, as vaderSentiment's `polarity_scores`
/// gives them before rounding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Polarity {
    /// Normalised sum of valences, −1 (most negative) to 1 (most positive).
    pub compound: f64,
    pub positive: f64,
    pub neutral: f64,
    pub negative: f64,
}

impl Polarity {
    /// Rounded as the reference rounds: compound to 4 decimals, the shares to 3.
    pub fn rounded(self) -> Polarity {
        Polarity {
            compound: round_to(self.compound, 4),
            positive: round_to(self.positive, 3),
            neutral: round_to(self.neutral, 3),
            negative: round_to(self.negative, 3),
        }
    }

    /// `positive`, `neutral` or `negative`, by compound ±0.05 (as VADER's authors advise).
    pub fn label(self) -> &'static str {
        if self.compound >= 0.05 {
            "positive"
        } else if self.compound <= -0.05 {
            "negative"
        } else {
            "neutral"
        }
    }
}

/// `x` rounded to `places` decimals as Python's `round` does: to the
/// nearest decimal, ties by the exact binary value.
fn round_to(x: f64, places: usize) -> f64 {
    let scale = 10f64.powi(places as i32);
    let scaled = x * scale;
    // Far from a tie, rounding the scaled value and dividing back gives the
    // same double as parsing the rounded decimal (the division is correctly
    // rounded); near one, only the exact decimal expansion can tell.
    if scaled.abs() < 1e6 && ((scaled - scaled.trunc()).abs() - 0.5).abs() > 1e-6 {
        scaled.round() / scale
    } else {
        format!("{x:.places$}").parse().unwrap_or(x)
    }
}

/// What the rules need to know about a word, found with one look-up.
#[derive(Debug, Clone, Copy, Default)]
struct WordEntry {
    valence: Option<f64>,
    booster: Option<f64>,
    /// A negation ("not", "never"…).
    negation: bool,
    /// Part of a special case or a multi-word booster ("kind of").
    in_phrase: bool,
    /// Followed by `.`, `,`, `;`, `!` or `?` (set per token): the idioms
    /// never match across it.
    ends_clause: bool,
    /// Whether this token is in capitals (set per token, not in the table).
    upper: bool,
}

/// The English scorer: lexicons loaded once, shared by every thread.
#[derive(Clone)]
pub struct Vader {
    /// Lexicon words, boosters (single-word ones; "kind of" and the like
    /// are in `phrase_boosters`), negations and the words of phrases.
    words: HashMap<String, WordEntry>,
    emojis: HashMap<char, String>,
    /// The special cases, as words, with their valence.
    phrases: Vec<(Vec<&'static str>, f64)>,
    /// The boosters of more than one word, as words, with their scalar.
    phrase_boosters: Vec<(Vec<&'static str>, f64)>,
    /// Customer-service idioms (the feedback scorer only).
    idioms: Option<&'static Idioms>,
}

impl Vader {
    /// The scorer with the shipped lexicons, built on first use.
    pub fn english() -> &'static Vader {
        static VADER: OnceLock<Vader> = OnceLock::new();
        VADER.get_or_init(Vader::new)
    }

    /// VADER's lexicon plus `lexicons/en_feedback_supplement.txt` (words of
    /// customer feedback VADER lacks: "slow", "late") and the English
    /// customer-service idioms (`idioms`). Used by the text analyzer; not
    /// VADER-identical by design.
    pub fn feedback() -> &'static Vader {
        static FEEDBACK: OnceLock<Vader> = OnceLock::new();
        FEEDBACK.get_or_init(|| {
            let mut vader = Vader::new();
            vader.idioms = Some(Idioms::english());
            for (word, valence) in parse_lexicon(FEEDBACK_SUPPLEMENT) {
                vader
                    .words
                    .entry(word)
                    .or_default()
                    .valence
                    .get_or_insert(valence);
            }
            vader
        })
    }

    fn new() -> Vader {
        let lexicon = parse_lexicon(VADER_LEXICON);
        let emojis = EMOJI_LEXICON
            .lines()
            .filter_map(|line| {
                let mut fields = line.trim().split('\t');
                let emoji = fields.next()?;
                let description = fields.next()?;
                // The reference looks emojis up one code point at a time, so
                // multi-code-point entries can never match.
                let mut chars = emoji.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some((c, description.to_owned())),
                    _ => None,
                }
            })
            .collect();
        let boosters: HashMap<&'static str, f64> = BOOSTERS_UP
            .iter()
            .map(|w| (*w, B_INCR))
            .chain(BOOSTERS_DOWN.iter().map(|w| (*w, B_DECR)))
            .collect();
        let mut words: HashMap<String, WordEntry> = HashMap::default();
        for (word, valence) in lexicon {
            words.entry(word).or_default().valence = Some(valence);
        }
        for (word, booster) in &boosters {
            words.entry((*word).to_owned()).or_default().booster = Some(*booster);
        }
        let phrases: Vec<(Vec<&'static str>, f64)> = SPECIAL_CASES
            .iter()
            .map(|(phrase, v)| (phrase.split(' ').collect(), *v))
            .collect();
        let phrase_boosters: Vec<(Vec<&'static str>, f64)> = boosters
            .into_iter()
            .filter(|(b, _)| b.contains(' '))
            .map(|(b, scalar)| (b.split(' ').collect(), scalar))
            .collect();
        // Negations and phrase words are marked in the same table, so the
        // rules that look for them cost no look-up of their own.
        for word in NEGATE {
            words.entry((*word).to_owned()).or_default().negation = true;
        }
        for (phrase, _) in phrases.iter().chain(&phrase_boosters) {
            for word in phrase {
                words.entry((*word).to_owned()).or_default().in_phrase = true;
            }
        }
        Vader {
            words,
            emojis,
            phrases,
            phrase_boosters,
            idioms: None,
        }
    }

    /// This scorer with the words `neutral` picks stripped of their
    /// valence: a topic's name ("support" is +1.7 in VADER) says what a
    /// clause is about, not how the customer feels about it.
    pub fn with_neutral_words(&self, neutral: impl Fn(&str) -> bool) -> Vader {
        let mut vader = self.clone();
        for (word, entry) in &mut vader.words {
            if entry.valence.is_some() && neutral(word) {
                entry.valence = None;
            }
        }
        vader
    }

    /// A text's words as the rules see them (lower-case, edge punctuation
    /// stripped), with whether each negates and whether a clause ends after it.
    pub fn words_of(&self, text: &str) -> (Vec<String>, Vec<bool>, Vec<bool>) {
        let (mut lower, mut negation, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        for raw in split_python_whitespace(text.trim_matches(is_python_space)) {
            let word = strip_punctuation_if_word(raw).to_lowercase();
            negation.push(is_negation(
                self.words.get(&word).copied().unwrap_or_default(),
                &word,
            ));
            ends.push(ends_clause(raw.as_bytes()));
            lower.push(word);
        }
        (lower, negation, ends)
    }

    /// The valence of a lower-case word in the lexicon, if it has one.
    pub fn valence(&self, word: &str) -> Option<f64> {
        self.words.get(word).and_then(|e| e.valence)
    }

    /// Scores many texts on every core, in input order.
    pub fn polarity_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Polarity> {
        crate::map_on_all_cores(texts, |t| self.polarity(t.as_ref()))
    }

    /// Scores one text, as `SentimentIntensityAnalyzer().polarity_scores`.
    pub fn polarity(&self, text: &str) -> Polarity {
        if text.is_ascii() {
            // No emoji in ASCII text: nothing to describe.
            let lowered = text.to_ascii_lowercase();
            let tokens = self.ascii_tokens(text, &lowered);
            return self.polarity_of_part(&tokens, text, text);
        }
        let text = self.describe_emojis(text);
        let text = text.trim_matches(is_python_space);
        let tokens: Vec<&str> = split_python_whitespace(text)
            .map(strip_punctuation_if_word)
            .collect();
        let lowered: Vec<String> = tokens.iter().map(|t| t.to_lowercase()).collect();
        let lower: Vec<&str> = lowered.iter().map(String::as_str).collect();
        let entries: Vec<WordEntry> = lower
            .iter()
            .zip(split_python_whitespace(text))
            .zip(&tokens)
            .map(|((w, raw), t)| WordEntry {
                upper: is_upper(t),
                ends_clause: ends_clause(raw.as_bytes()),
                ..self.words.get(*w).copied().unwrap_or_default()
            })
            .collect();
        self.score(&lower, &entries, text)
    }

    /// An ASCII text tokenised and looked up, for `polarity_of_part`;
    /// `lowered` is the text lower-cased.
    pub(crate) fn ascii_tokens<'l>(&self, text: &str, lowered: &'l str) -> AsciiTokens<'l> {
        let runs = python_space_runs(text);
        let (lower, entries) = runs
            .iter()
            .map(|&(from, to)| self.ascii_token(text, lowered, from, to))
            .unzip();
        AsciiTokens {
            lowered,
            runs,
            lower,
            entries,
        }
    }

    /// One token of an ASCII text from its run `text[from..to]`: edge
    /// punctuation stripped unless two characters or fewer would be left
    /// (then it was probably an emoticon like ":)"), lower-cased, looked up.
    fn ascii_token<'l>(
        &self,
        text: &str,
        lowered: &'l str,
        from: usize,
        to: usize,
    ) -> (&'l str, WordEntry) {
        let bytes = text.as_bytes();
        let (mut a, mut b) = (from, to);
        while a < b && ascii::is(bytes[a], PUNCTUATION) {
            a += 1;
        }
        while b > a && ascii::is(bytes[b - 1], PUNCTUATION) {
            b -= 1;
        }
        if b - a <= 2 {
            (a, b) = (from, to);
        }
        let lower = &lowered[a..b];
        let entry = WordEntry {
            upper: is_ascii_upper(&text[a..b]),
            ends_clause: ends_clause(&bytes[from..to]),
            ..self.words.get(lower).copied().unwrap_or_default()
        };
        (lower, entry)
    }

    /// `polarity(part)` for `part`, a slice of the ASCII `text` that
    /// `tokens` were made from: a text's clauses reuse its tokens and
    /// look-ups instead of making their own (a tenth of tagging). A
    /// clause's tokens are the text's runs within it, cut where the clause
    /// cuts them (a clause can end at a "." inside a run).
    pub(crate) fn polarity_of_part(
        &self,
        tokens: &AsciiTokens,
        text: &str,
        part: &str,
    ) -> Polarity {
        let part = part.trim_matches(is_python_space);
        let start = part.as_ptr() as usize - text.as_ptr() as usize;
        let end = start + part.len();
        let from = tokens.runs.partition_point(|run| run.1 <= start);
        let to = tokens.runs.partition_point(|run| run.0 < end);
        if part.is_empty() || from >= to {
            return self.score(&[], &[], part);
        }
        let mut lower = Cow::Borrowed(&tokens.lower[from..to]);
        let mut entries = Cow::Borrowed(&tokens.entries[from..to]);
        for i in [from, to - 1] {
            let (a, b) = tokens.runs[i];
            let (cut_a, cut_b) = (a.max(start), b.min(end));
            if (cut_a, cut_b) != (a, b) {
                let (word, entry) = self.ascii_token(text, tokens.lowered, cut_a, cut_b);
                lower.to_mut()[i - from] = word;
                entries.to_mut()[i - from] = entry;
            }
        }
        self.score(&lower, &entries, part)
    }

    /// VADER's rules over a text's tokens (lower-cased, looked up).
    fn score(&self, lower: &[&str], entries: &[WordEntry], text: &str) -> Polarity {
        let all_caps = entries.iter().filter(|e| e.upper).count();
        let cap_differential = all_caps > 0 && all_caps < entries.len();
        let sentence = Sentence {
            lower,
            entries,
            cap_differential,
        };
        let mut sentiments: Vec<f64> = Vec::with_capacity(entries.len());
        for i in 0..entries.len() {
            let modifier = entries[i].booster.is_some()
                || (lower[i] == "kind" && lower.get(i + 1).is_some_and(|w| *w == "of"));
            sentiments.push(if modifier {
                0.0
            } else {
                self.sentiment_valence(&sentence, i)
            });
        }
        if let Some(idioms) = self.idioms {
            idioms.apply(
                lower,
                |i| is_negation(entries[i], lower[i]),
                |i| entries[i].ends_clause,
                &mut sentiments,
            );
        }
        but_check(lower, &mut sentiments);
        score_valence(&sentiments, text)
    }

    fn sentiment_valence(&self, s: &Sentence, i: usize) -> f64 {
        let Some(base) = s.entries[i].valence else {
            return 0.0;
        };
        let lower = s.lower;
        let word = lower[i];
        let mut valence = base;
        // "no" before a lexicon word negates that word instead of counting itself.
        if word == "no" && i + 1 < lower.len() && s.entries[i + 1].valence.is_some() {
            valence = 0.0;
        }
        if (i > 0 && lower[i - 1] == "no")
            || (i > 1 && lower[i - 2] == "no")
            || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor"))
        {
            valence = base * N_SCALAR;
        }
        if s.entries[i].upper && s.cap_differential {
            // The reference adds emphasis away from zero, and treats 0 as negative.
            valence += if valence > 0.0 { C_INCR } else { -C_INCR };
        }
        for start in 0..3 {
            if i > start && s.entries[i - (start + 1)].valence.is_none() {
                let before = i - (start + 1);
                let mut scalar = scalar_inc_dec(
                    s.entries[before].booster,
                    s.entries[before].upper,
                    valence,
                    s.cap_differential,
                );
                if start == 1 && scalar != 0.0 {
                    scalar *= 0.95;
                }
                if start == 2 && scalar != 0.0 {
                    scalar *= 0.9;
                }
                valence += scalar;
                valence = negation_check(valence, s, start, i);
                if start == 2 {
                    valence = self.special_idioms_check(valence, s, i);
                }
            }
        }
        least_check(valence, lower, s.entries, i)
    }

    fn special_idioms_check(&self, mut valence: f64, s: &Sentence, i: usize) -> f64 {
        let lower = s.lower;
        // Every phrase below is made of marked words; most windows hold none.
        if !s.entries[i - 3..lower.len().min(i + 3)]
            .iter()
            .any(|e| e.in_phrase)
        {
            return valence;
        }
        // Tokens hold no spaces, so a run of tokens is a phrase exactly when
        // they are its words: compared word by word, nothing is joined.
        let phrase_valence = |from: usize, to: usize| {
            let words = &lower[from..=to];
            self.phrases
                .iter()
                .find(|(phrase, _)| phrase.as_slice() == words)
                .map(|(_, v)| *v)
        };
        for (from, to) in [
            (i - 1, i),
            (i - 2, i),
            (i - 2, i - 1),
            (i - 3, i - 1),
            (i - 3, i - 2),
        ] {
            if let Some(v) = phrase_valence(from, to) {
                valence = v;
                break;
            }
        }
        if lower.len() - 1 > i
            && let Some(v) = phrase_valence(i, i + 1)
        {
            valence = v;
        }
        if lower.len() - 1 > i + 1
            && let Some(v) = phrase_valence(i, i + 2)
        {
            valence = v;
        }
        for (from, to) in [(i - 3, i - 1), (i - 3, i - 2), (i - 2, i - 1)] {
            let words = &lower[from..=to];
            if let Some((_, b)) = self
                .phrase_boosters
                .iter()
                .find(|(booster, _)| booster.as_slice() == words)
            {
                valence += b;
            }
        }
        valence
    }

    /// Replaces each emoji by its description, as the reference does: a
    /// space before it unless one is there, none after it.
    fn describe_emojis<'t>(&self, text: &'t str) -> Cow<'t, str> {
        // Every emoji is outside ASCII: most texts need no look-up at all.
        if text.is_ascii() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut previous_space = true;
        for c in text.chars() {
            match if c.is_ascii() {
                None
            } else {
                self.emojis.get(&c)
            } {
                Some(description) => {
                    if !previous_space {
                        out.push(' ');
                    }
                    out.push_str(description);
                    previous_space = false;
                }
                None => {
                    out.push(c);
                    previous_space = c == ' ';
                }
            }
        }
        Cow::Owned(out)
    }
}

/// Whether a token (as written, with its punctuation) ends a clause.
fn ends_clause(raw: &[u8]) -> bool {
    raw.last()
        .is_some_and(|b| matches!(b, b'.' | b',' | b';' | b'!' | b'?'))
}

/// Whether a word negates: a negation of VADER's list, or any "…n't".
fn is_negation(entry: WordEntry, lower: &str) -> bool {
    // A byte window, not `str::contains`, whose searcher costs more to set
    // up than these short words cost to scan.
    entry.negation || lower.as_bytes().windows(3).any(|x| x == b"n't")
}

fn negation_check(valence: f64, s: &Sentence, start: usize, i: usize) -> f64 {
    let w = |back: usize| s.lower[i - back];
    let negated = |back: usize| is_negation(s.entries[i - back], w(back));
    match start {
        0 if negated(1) => valence * N_SCALAR,
        1 if w(2) == "never" && (w(1) == "so" || w(1) == "this") => valence * 1.25,
        1 if w(2) == "without" && w(1) == "doubt" => valence,
        1 if negated(2) => valence * N_SCALAR,
        // The reference's operator precedence makes a "so"/"this" right
        // before the word boost it on its own: (A and B) or C.
        2 if (w(3) == "never" && (w(2) == "so" || w(2) == "this"))
            || (w(1) == "so" || w(1) == "this") =>
        {
            valence * 1.25
        }
        2 if w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt") => valence,
        2 if negated(3) => valence * N_SCALAR,
        _ => valence,
    }
}

/// How much a preceding booster or dampener shifts `valence`.
fn scalar_inc_dec(booster: Option<f64>, upper: bool, valence: f64, cap_differential: bool) -> f64 {
    let Some(mut scalar) = booster else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar = -scalar;
    }
    if upper && cap_differential {
        scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    scalar
}

/// Python's `str.split()`: runs of whitespace separate, none are kept.
fn split_python_whitespace(text: &str) -> impl Iterator<Item = &str> {
    let ascii = text.is_ascii();
    text.split(move |c: char| {
        if ascii {
            is_python_ascii_space(c as u8)
        } else {
            is_python_space(c)
        }
    })
    .filter(|t| !t.is_empty())
}

/// The runs of an ASCII text between Python spaces (what
/// `split_python_whitespace` yields), as byte ranges.
fn python_space_runs(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut runs = Vec::with_capacity(bytes.len() / 5 + 1);
    let mut start = 0;
    while start < bytes.len() {
        while start < bytes.len() && is_python_ascii_space(bytes[start]) {
            start += 1;
        }
        let mut end = start;
        while end < bytes.len() && !is_python_ascii_space(bytes[end]) {
            end += 1;
        }
        if end > start {
            runs.push((start, end));
        }
        start = end;
    }
    runs
}

fn is_python_ascii_space(b: u8) -> bool {
    ascii::is(b, PYTHON_SPACE)
}

/// `word<TAB>valence…` lines; `#` starts a comment.
fn parse_lexicon(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.trim().split('\t');
            let word = fields.next()?;
            let measure = fields.next()?.parse().ok()?;
            Some((word.to_owned(), measure))
        })
        .collect()
}

/// An ASCII text tokenised as VADER tokenises it, each token lower-cased
/// and looked up (see `Vader::ascii_tokens`).
pub(crate) struct AsciiTokens<'l> {
    /// The text lower-cased (the tokens are slices of it).
    lowered: &'l str,
    /// Each token's run in the text (byte offsets), before stripping.
    runs: Vec<(usize, usize)>,
    lower: Vec<&'l str>,
    entries: Vec<WordEntry>,
}

/// One text, tokenised, with what every rule needs to look at.
struct Sentence<'a> {
    entries: &'a [WordEntry],
    lower: &'a [&'a str],
    cap_differential: bool,
}

/// Python's `str.isspace`, which `str.split()` and `strip()` use: Rust's
/// whitespace plus the ASCII information separators.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.isupper`: some cased character, and none lower-case.
fn is_upper(token: &str) -> bool {
    if token.is_ascii() {
        return is_ascii_upper(token);
    }
    token.chars().any(char::is_uppercase) && !token.chars().any(char::is_lowercase)
}

/// `is_upper` for a token known to be ASCII.
fn is_ascii_upper(token: &str) -> bool {
    let bytes = token.as_bytes();
    // Most words have a lower-case letter early: look for that first.
    !bytes.iter().any(u8::is_ascii_lowercase) && bytes.iter().any(u8::is_ascii_uppercase)
}

/// Strips ASCII punctuation from both ends, unless that leaves two
/// characters or fewer (then it was probably an emoticon like ":)").
fn strip_punctuation_if_word(token: &str) -> &str {
    let stripped = token.trim_matches(|c: char| c.is_ascii_punctuation());
    // Byte length bounds the character count: only short strings need counting.
    if stripped.len() <= 2 || (stripped.len() <= 8 && stripped.chars().count() <= 2) {
        token
    } else {
        stripped
    }
}

fn least_check(valence: f64, lower: &[&str], entries: &[WordEntry], i: usize) -> f64 {
    if i > 1 && entries[i - 1].valence.is_none() && lower[i - 1] == "least" {
        if lower[i - 2] != "at" && lower[i - 2] != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && entries[i - 1].valence.is_none() && lower[i - 1] == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// The contrastive "but": halves what comes before it and boosts what comes
/// after by half. Reproduces the reference exactly, including that it finds
/// each value's position with `list.index`, i.e. the first equal value.
pub(crate) fn but_check(lower: &[&str], sentiments: &mut [f64]) {
    let Some(but) = lower.iter().position(|w| *w == "but") else {
        return;
    };
    // Scaling keeps zeros zero and the rest non-zero, so where the first
    // zero is never changes in the loop. The non-zero values are indexed
    // by value (their bits: no non-zero value has two), each with its
    // positions in order, so the reference's `list.index` is a look-up,
    // not a scan: a long text of many clauses stays linear.
    let first_zero = sentiments.iter().position(|s| *s == 0.0);
    let mut positions: HashMap<u64, BTreeSet<usize>> = HashMap::default();
    for (i, s) in sentiments.iter().enumerate() {
        if *s != 0.0 {
            positions.entry(s.to_bits()).or_default().insert(i);
        }
    }
    for k in 0..sentiments.len() {
        let value = sentiments[k];
        let first = if value == 0.0 {
            first_zero
        } else {
            positions
                .get(&value.to_bits())
                .and_then(|at| at.first().copied())
        }
        .unwrap_or(k);
        let scaled = match first.cmp(&but) {
            std::cmp::Ordering::Less => value * 0.5,
            std::cmp::Ordering::Greater => value * 1.5,
            std::cmp::Ordering::Equal => continue,
        };
        if value != 0.0 {
            if let Some(at) = positions.get_mut(&value.to_bits()) {
                at.remove(&first);
            }
            positions.entry(scaled.to_bits()).or_default().insert(first);
        }
        sentiments[first] = scaled;
    }
}

/// VADER's final arithmetic: punctuation emphasis, normalisation to
/// −1..1, and the positive/neutral/negative shares. Shared with the Romanian scorer.
pub(crate) fn score_valence(sentiments: &[f64], text: &str) -> Polarity {
    if sentiments.is_empty() {
        return Polarity {
            compound: 0.0,
            positive: 0.0,
            neutral: 0.0,
            negative: 0.0,
        };
    }
    // `matches` finds a character with `memchr`, which skips the many
    // bytes between marks faster than a byte-by-byte count.
    let count = |mark: char| text.matches(mark).count();
    let exclamations = count('!').min(4) as f64 * 0.292;
    let questions = match count('?') {
        0 | 1 => 0.0,
        n @ 2..=3 => n as f64 * 0.18,
        _ => 0.96,
    };
    let emphasis = exclamations + questions;
    let mut sum: f64 = sentiments.iter().sum();
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    let compound = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);

    let (mut positive, mut negative, mut neutral) = (0.0, 0.0, 0.0);
    for s in sentiments {
        if *s > 0.0 {
            positive += s + 1.0; // compensates for neutral words counted as 1
        }
        if *s < 0.0 {
            negative += s - 1.0;
        }
        if *s == 0.0 {
            neutral += 1.0;
        }
    }
    if positive > negative.abs() {
        positive += emphasis;
    } else if positive < negative.abs() {
        negative -= emphasis;
    }
    let total = positive + negative.abs() + neutral;
    Polarity {
        compound,
        positive: (positive / total).abs(),
        neutral: (neutral / total).abs(),
        negative: (negative / total).abs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_ascii_tokenizer_splits_as_the_general_one(
            text in "([a-zA-Z]{1,12}|[ .,!?;:'()\t\n\x0b\x0c\r\x1c\x1f-]|:\\)|n't){0,90}"
        ) {
            let general: Vec<String> = split_python_whitespace(&text)
                .map(|t| strip_punctuation_if_word(t).to_lowercase())
                .collect();
            let lowered = text.to_ascii_lowercase();
            let vader = Vader::english();
            let tokens = vader.ascii_tokens(&text, &lowered);
            proptest::prop_assert_eq!(&tokens.lower, &general);
        }

        #[test]
        fn a_part_scores_as_the_part_alone(
            text in "([a-zA-Z]{1,12}|good|BAD|not|but|very|kind of|[ .,!?;:'()\t\n\x1c-]|:\\)|n't){0,60}",
            from in 0usize..400,
            length in 0usize..400,
        ) {
            let from = from.min(text.len());
            let to = (from + length).min(text.len());
            let part = &text[from..to];
            let lowered = text.to_ascii_lowercase();
            let vader = Vader::english();
            let tokens = vader.ascii_tokens(&text, &lowered);
            let shared = vader.polarity_of_part(&tokens, &text, part);
            let alone = vader.polarity(part);
            let bits = |p: Polarity| [p.compound, p.positive, p.neutral, p.negative].map(f64::to_bits);
            proptest::prop_assert_eq!(bits(shared), bits(alone));
        }

        #[test]
        fn but_check_scales_as_the_reference_does(
            values in proptest::collection::vec(
                proptest::sample::select(vec![0.0, -0.0, 1.9, -1.9, 0.95, 2.85, -0.74, 3.1]),
                0..30,
            ),
            but in 0usize..30,
        ) {
            let words: Vec<&str> = (0..values.len()).map(|i| if i == but { "but" } else { "w" }).collect();
            let mut fast = values.clone();
            but_check(&words, &mut fast);
            let mut reference = values.clone();
            if let Some(but) = words.iter().position(|w| *w == "but") {
                for k in 0..reference.len() {
                    let value = reference[k];
                    let first = reference.iter().position(|s| *s == value).unwrap_or(k);
                    if first < but {
                        reference[first] = value * 0.5;
                    } else if first > but {
                        reference[first] = value * 1.5;
                    }
                }
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
            proptest::prop_assert_eq!(bits(&fast), bits(&reference));
        }

        #[test]
        fn fast_rounding_agrees_with_the_decimal_expansion(x in -1.0f64..1.0, places in 1usize..5) {
            let decimal: f64 = format!("{x:.places$}").parse().unwrap();
            proptest::prop_assert_eq!(round_to(x, places).to_bits(), decimal.to_bits());
        }
    }

    fn compound(text: &str) -> f64 {
        Vader::english().polarity(text).rounded().compound
    }

    #[test]
    fn reference_examples() {
        // The examples in vaderSentiment's own README, with its published scores.
        assert_eq!(compound("VADER is smart, handsome, and funny."), 0.8316);
        assert_eq!(compound("VADER is smart, handsome, and funny!"), 0.8439);
        assert_eq!(
            compound("VADER is very smart, handsome, and funny."),
            0.8545
        );
        assert_eq!(
            compound("VADER is VERY SMART, handsome, and FUNNY."),
            0.9227
        );
        assert_eq!(
            compound("VADER is VERY SMART, handsome, and FUNNY!!!"),
            0.9342
        );
        assert_eq!(
            compound("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!"),
            0.9469
        );
        assert_eq!(
            compound("VADER is not smart, handsome, nor funny."),
            -0.7424
        );
        assert_eq!(compound("The book was good."), 0.4404);
        assert_eq!(compound("At least it isn't a horrible book."), 0.431);
        assert_eq!(compound("The book was only kind of good."), 0.3832);
        assert_eq!(
            compound(
                "The plot was good, but the characters are uncompelling and the dialog is not great."
            ),
            -0.7042
        );
        assert_eq!(compound("Today SUX!"), -0.5461);
        assert_eq!(
            compound("Today only kinda sux! But I'll get by, lol"),
            0.5249
        );
        assert_eq!(compound("Make sure you :) or :D today!"), 0.8633);
        assert_eq!(
            compound("Catch utf-8 emoji such as 💘 and 💋 and 😁"),
            0.875
        );
        assert_eq!(compound("Not bad at all"), 0.431);
    }

    #[test]
    fn each_rule_matches_the_reference() {
        // Expected values are what vaderSentiment 3.3.2 returns for each text.
        let cases = [
            ("The delivery was good", 0.4404, "lexicon word"),
            ("The delivery was very good", 0.4927, "booster"),
            ("The delivery was slightly good", 0.3832, "dampener"),
            ("The delivery was not good", -0.3412, "negation"),
            ("The delivery wasn't good", -0.3412, "n't negation"),
            ("The delivery was GOOD", 0.5622, "capitals among lower case"),
            ("The delivery was good!!", 0.5399, "exclamation marks"),
            (
                "Support was bad but delivery was good",
                0.5346,
                "but: the second half dominates",
            ),
            (
                "Honestly the new app is the bomb",
                0.7906,
                "special-case idiom",
            ),
            ("no good", -0.3412, "'no' negates the next word"),
            ("I love it ❤", 0.8555, "emoji described"),
            ("I love it", 0.6369, "plain"),
            ("", 0.0, "empty"),
            ("   ", 0.0, "blank"),
            ("It was never so good", 0.6626, "'never so' boosts"),
            (
                "without doubt the best",
                0.7438,
                "'without doubt' does not negate",
            ),
            ("not the least bit happy", 0.5719, "'least'"),
            (
                "the food was kind of good but the staff was really rude",
                -0.5627,
                "'kind of' and 'but'",
            ),
            (
                "good good but good bad",
                0.25,
                "but, with equal values (the reference's list.index quirk)",
            ),
            (
                "WHAT??? really???",
                0.0,
                "question marks add nothing to zero",
            ),
            (
                "This is not bad, no? not bad at all",
                0.6908,
                "negated negatives",
            ),
        ];
        for (text, expected, rule) in cases {
            assert_eq!(compound(text), expected, "{rule}: {text:?}");
        }
    }

    #[test]
    fn the_feedback_supplement_only_adds_words() {
        for (word, _) in parse_lexicon(FEEDBACK_SUPPLEMENT) {
            assert_eq!(
                Vader::english().valence(&word),
                None,
                "{word} is already in VADER's lexicon"
            );
            assert!(Vader::feedback().valence(&word).is_some());
        }
        assert_eq!(Vader::english().polarity("Delivery was slow").compound, 0.0);
        assert!(Vader::feedback().polarity("Delivery was slow").compound < 0.0);
        assert_eq!(
            Vader::feedback().polarity("I love it"),
            Vader::english().polarity("I love it")
        );
    }

    #[test]
    fn batches_keep_input_order() {
        let texts = ["good", "bad", "", "very good!!", "not bad"];
        let batch = Vader::english().polarity_batch(&texts);
        let one_by_one: Vec<Polarity> =
            texts.iter().map(|t| Vader::english().polarity(t)).collect();
        assert_eq!(batch, one_by_one);
    }

    #[test]
    fn shares_add_up_and_label_by_compound() {
        let p = Vader::english().polarity("Great product, terrible support.");
        assert!((p.positive + p.neutral + p.negative - 1.0).abs() < 1e-9);
        assert_eq!(
            Polarity {
                compound: 0.05,
                positive: 0.0,
                neutral: 1.0,
                negative: 0.0
            }
            .label(),
            "positive"
        );
        assert_eq!(
            Polarity {
                compound: -0.0499,
                positive: 0.0,
                neutral: 1.0,
                negative: 0.0
            }
            .label(),
            "neutral"
        );
    }
}
