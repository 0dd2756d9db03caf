//! Romanian sentiment: VADER's rule structure with a lexicon of our own
//! (`lexicons/ro_valence.txt`), matched with and without diacritics.
//!
//! Rules: negation (nu, nici, fără, n-…) flips and dampens the next three
//! words; boosters (foarte, extrem de, super…) and dampeners (cam, puțin…)
//! scale the next word; a contrast (dar, însă, totuși) halves what comes
//! before and strengthens what comes after; exclamation marks add emphasis.

use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;

use crate::Polarity;
use crate::idioms::Idioms;
use crate::vader::{B_DECR, B_INCR, N_SCALAR, score_valence};

const LEXICON: &str = include_str!("../lexicons/ro_valence.txt");

const NEGATIONS: &[&str] = &["nu", "nici", "fara", "niciodata", "nimeni", "n"];
const BOOSTERS: &[&str] = &[
    "foarte",
    "extrem",
    "super",
    "mult",
    "absolut",
    "total",
    "complet",
    "incredibil",
    "ff",
    "f",
    "chiar",
    "atat",
    "asa",
    "prea",
    "deosebit",
    "nemaipomenit",
    "cel",
];
const DAMPENERS: &[&str] = &[
    "cam", "putin", "oarecum", "relativ", "aproape", "destul", "partial", "usor",
];
const CONTRASTS: &[&str] = &["dar", "insa", "totusi", "doar", "numai"];

/// Folds Romanian diacritics (both comma and cedilla forms) and lower-cases.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ă' | 'â' => 'a',
            'î' => 'i',
            'ș' | 'ş' => 's',
            'ț' | 'ţ' => 't',
            c => c,
        })
        .collect()
}

/// The Romanian scorer: lexicon loaded once, shared by every thread.
pub struct Romanian {
    words: HashMap<String, f64>,
    stems: HashMap<String, f64>,
    longest_stem: usize,
}

impl Romanian {
    pub fn shared() -> &'static Romanian {
        static ROMANIAN: OnceLock<Romanian> = OnceLock::new();
        ROMANIAN.get_or_init(Romanian::new)
    }

    fn new() -> Romanian {
        let (mut words, mut stems) = (HashMap::default(), HashMap::default());
        for line in LEXICON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let mut fields = line.split('\t');
            let (Some(word), Some(valence)) = (
                fields.next(),
                fields.next().and_then(|v| v.trim().parse::<f64>().ok()),
            ) else {
                continue;
            };
            let word = fold(word.trim());
            match word.strip_suffix('*') {
                Some(stem) => stems.insert(stem.to_owned(), valence),
                None => words.insert(word, valence),
            };
        }
        let longest_stem = stems
            .keys()
            .map(|s: &String| s.chars().count())
            .max()
            .unwrap_or(0);
        Romanian {
            words,
            stems,
            longest_stem,
        }
    }

    /// The valence of a folded word: exact entry, else the longest stem it starts with.
    pub fn valence(&self, word: &str) -> Option<f64> {
        if let Some(v) = self.words.get(word) {
            return Some(*v);
        }
        let boundaries: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain([word.len()])
            .collect();
        // Stems of three letters or more, longest first, so "nemultumit" is not read as "multumit".
        let longest = self.longest_stem.min(boundaries.len() - 1);
        (3..=longest)
            .rev()
            .find_map(|chars| self.stems.get(&word[..boundaries[chars]]).copied())
    }

    /// The words of a folded text as the rules see them, with whether a
    /// clause ends after each (a `.`, `,`, `;`, `!` or `?` follows it).
    pub fn tokens(folded: &str) -> (Vec<&str>, Vec<bool>) {
        let (mut words, mut ends) = (Vec::new(), Vec::new());
        for piece in folded.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
            if piece.is_empty() {
                continue;
            }
            // "n-am", "n-a": the clitic n- is a negation of its own.
            let (clitic, rest) = match piece.strip_prefix("n-") {
                Some(rest) => (true, rest),
                None => (false, piece),
            };
            if clitic {
                words.push("n");
                ends.push(false);
            }
            let word = rest.trim_matches('-');
            if !word.is_empty() {
                let after =
                    &folded[piece.as_ptr() as usize - folded.as_ptr() as usize + piece.len()..];
                let separator = after
                    .split(|c: char| c.is_alphanumeric() || c == '-')
                    .next()
                    .unwrap_or("");
                words.push(word);
                ends.push(separator.contains(['.', ',', ';', '!', '?']));
            }
        }
        (words, ends)
    }

    /// Whether a folded word negates.
    pub fn negates(word: &str) -> bool {
        NEGATIONS.contains(&word)
    }

    /// Scores one Romanian text on VADER's scales, with its idioms.
    pub fn polarity(&self, text: &str) -> Polarity {
        self.polarity_with_neutral(text, |_| false)
    }

    /// `polarity`, with the words `neutral` picks (a topic's name) counted
    /// as carrying no sentiment.
    pub fn polarity_with_neutral(&self, text: &str, neutral: impl Fn(&str) -> bool) -> Polarity {
        let folded = fold(text);
        let (tokens, ends) = Romanian::tokens(&folded);
        let mut sentiments = Vec::with_capacity(tokens.len());
        for (i, word) in tokens.iter().enumerate() {
            let phrase = |n: usize| (i + n <= tokens.len()).then(|| tokens[i..i + n].join("_"));
            let base = [3, 2]
                .iter()
                .find_map(|n| phrase(*n).and_then(|p| self.words.get(&p).copied()))
                .or_else(|| {
                    if is_modifier(word) {
                        None
                    } else {
                        self.valence(word)
                    }
                });
            let Some(mut valence) = base.filter(|_| !neutral(word)) else {
                sentiments.push(0.0);
                continue;
            };
            for back in 1..=3 {
                let Some(previous) = i.checked_sub(back).map(|j| tokens[j]) else {
                    break;
                };
                let scale = [1.0, 0.95, 0.9][back - 1];
                if BOOSTERS.contains(&previous) {
                    valence += scale * if valence < 0.0 { -B_INCR } else { B_INCR };
                } else if DAMPENERS.contains(&previous) {
                    valence += scale * if valence < 0.0 { -B_DECR } else { B_DECR };
                } else if NEGATIONS.contains(&previous) {
                    valence *= N_SCALAR;
                }
            }
            sentiments.push(valence);
        }
        Idioms::romanian().apply(
            &tokens,
            |i| Romanian::negates(tokens[i]),
            |i| ends[i],
            &mut sentiments,
        );
        if let Some(contrast) = tokens.iter().position(|t| CONTRASTS.contains(t)) {
            for (i, s) in sentiments.iter_mut().enumerate() {
                if i < contrast {
                    *s *= 0.5;
                } else if i > contrast {
                    *s *= 1.5;
                }
            }
        }
        score_valence(&sentiments, &folded)
    }
}

fn is_modifier(word: &str) -> bool {
    NEGATIONS.contains(&word)
        || BOOSTERS.contains(&word)
        || DAMPENERS.contains(&word)
        || CONTRASTS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compound(text: &str) -> f64 {
        Romanian::shared().polarity(text).compound
    }

    #[test]
    fn words_match_with_and_without_diacritics() {
        assert_eq!(compound("Sunt mulțumit"), compound("Sunt multumit"));
        assert_eq!(compound("Țeapă"), compound("teapa"));
        assert!(
            compound("Recomandăm cu încredere") > 0.3,
            "stems: recomand*"
        );
        assert!(compound("sunt nemultumit") < 0.0, "the longest stem wins");
    }

    #[test]
    fn each_rule_moves_the_score() {
        let base = compound("produsul este bun");
        assert!(base > 0.0);
        assert!(compound("produsul este foarte bun") > base, "booster");
        assert!(compound("produsul este cam bun") < base, "dampener");
        assert!(
            compound("produsul nu este bun") < 0.0,
            "negation two words back"
        );
        assert!(compound("n-am fost multumit") < 0.0, "clitic n-");
        assert!(compound("fara probleme") > 0.0, "fără negates a negative");
        assert!(
            compound("arata bine dar se strica repede") < 0.0,
            "contrast: the second half dominates"
        );
        assert!(compound("produsul este bun!!!") > base, "exclamation marks");
        assert_eq!(compound(""), 0.0);
    }
}
