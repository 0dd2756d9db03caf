//! Which language a text is in.
//!
//! Two stages: distinctive function words decide when one language clearly
//! leads (most reviews), and lingua's n-gram models decide the rest.
//! Romanian reviews are mostly written without diacritics, so the Romanian
//! words are listed both ways. Accuracy and speed of each stage are measured
//! in docs/TEXT.md.

use std::sync::OnceLock;

use lingua::{Language as LinguaLanguage, LanguageDetector, LanguageDetectorBuilder};
use rustc_hash::FxHashMap as HashMap;

use crate::ascii::packed_lowercase;
use crate::topics::LoweredAscii;

/// The languages Vouch identifies, by ISO 639-1 code. Adding one means a
/// lingua feature in Cargo.toml and its function words below.
pub const LANGUAGES: &[&str] = &["en", "ro", "fr", "de", "es", "it"];

/// `code` as one of `LANGUAGES`, if it is one (as `'static`, for results).
pub fn known_language(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().copied().find(|l| *l == code)
}

/// Words frequent in one of the languages and rare in the others.
const FUNCTION_WORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "is", "was", "it", "you", "not", "this", "that", "with", "for", "but",
            "very", "my", "are", "have", "of", "to", "i", "they", "be",
        ],
    ),
    (
        "ro",
        &[
            "și", "si", "nu", "este", "foarte", "cu", "în", "am", "să", "sa", "care", "mai", "dar",
            "pentru", "sunt", "fost", "acest", "aceasta", "bine", "produsul", "recomand", "după",
            "dupa", "doar", "fără", "fara", "ca", "din", "nici", "cel", "îl", "il", "avea",
            "merge", "rau", "rău",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "et", "est", "une", "des", "du", "pas", "je", "pour", "dans", "très",
            "avec", "sur", "mais", "ce", "elle", "sont", "nous", "vous",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "ein", "eine", "sehr", "mit", "zu",
            "auf", "sie", "aber", "für", "auch", "wir", "war",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "y", "muy", "en", "por", "para", "lo", "pero", "del", "está",
            "como", "más", "todo", "fue",
        ],
    ),
    (
        "it",
        &[
            "gli", "è", "molto", "che", "di", "della", "sono", "questo", "anche", "perché", "è",
            "del", "nel", "tutto", "stato",
        ],
    ),
];

/// The byte length of the longest function word (ASCII texts skip longer words).
const LONGEST_FUNCTION_WORD: usize = 8;

fn to_lingua(code: &str) -> Option<LinguaLanguage> {
    Some(match code {
        "en" => LinguaLanguage::English,
        "ro" => LinguaLanguage::Romanian,
        "fr" => LinguaLanguage::French,
        "de" => LinguaLanguage::German,
        "es" => LinguaLanguage::Spanish,
        "it" => LinguaLanguage::Italian,
        _ => return None,
    })
}

fn from_lingua(language: LinguaLanguage) -> &'static str {
    match language {
        LinguaLanguage::English => "en",
        LinguaLanguage::Romanian => "ro",
        LinguaLanguage::French => "fr",
        LinguaLanguage::German => "de",
        LinguaLanguage::Spanish => "es",
        _ => "it",
    }
}

/// Identifies languages among a configured set.
pub struct LanguageIdentifier {
    languages: Vec<&'static str>,
    function_words: HashMap<&'static str, Vec<usize>>,
    /// The ASCII function words, packed, with a bit per language (by index in `languages`).
    ascii_function_words: HashMap<u64, u8>,
    detector: LanguageDetector,
}

impl LanguageIdentifier {
    /// An identifier for `codes` (a subset of `LANGUAGES`; unknown codes are ignored).
    pub fn new(codes: &[&str]) -> LanguageIdentifier {
        let languages: Vec<&'static str> = LANGUAGES
            .iter()
            .copied()
            .filter(|l| codes.contains(l))
            .collect();
        let mut function_words: HashMap<&'static str, Vec<usize>> = HashMap::default();
        for (code, words) in FUNCTION_WORDS {
            if let Some(index) = languages.iter().position(|l| l == code) {
                for word in *words {
                    let entry = function_words.entry(*word).or_default();
                    if !entry.contains(&index) {
                        entry.push(index);
                    }
                }
            }
        }
        let ascii_function_words = function_words
            .iter()
            .filter(|(word, _)| word.is_ascii())
            .map(|(word, languages)| {
                let bits = languages.iter().fold(0u8, |bits, l| bits | 1 << l);
                (packed_lowercase(word.as_bytes()), bits)
            })
            .collect();
        let lingua: Vec<LinguaLanguage> = languages.iter().filter_map(|c| to_lingua(c)).collect();
        let detector = if lingua.len() >= 2 {
            LanguageDetectorBuilder::from_languages(&lingua).build()
        } else {
            LanguageDetectorBuilder::from_languages(&[
                LinguaLanguage::English,
                LinguaLanguage::Romanian,
            ])
            .build()
        };
        LanguageIdentifier {
            languages,
            function_words,
            ascii_function_words,
            detector,
        }
    }

    /// All six languages, built once and shared.
    pub fn shared() -> &'static LanguageIdentifier {
        static IDENTIFIER: OnceLock<LanguageIdentifier> = OnceLock::new();
        IDENTIFIER.get_or_init(|| LanguageIdentifier::new(LANGUAGES))
    }

    /// The language of `text` as an ISO 639-1 code, or `None` when nothing in
    /// it tells (empty, digits, emoji only).
    pub fn identify(&self, text: &str) -> Option<&'static str> {
        self.identify_with(text, || self.by_function_words(text))
    }

    /// `identify` for an ASCII text the caller has already lower-cased and split.
    pub(crate) fn identify_lowered(
        &self,
        text: &str,
        lowered: &LoweredAscii,
    ) -> Option<&'static str> {
        self.identify_with(text, || self.leader(&self.lowered_hits(lowered)))
    }

    /// The one language, or what `fast` finds, or else the model's answer.
    fn identify_with(
        &self,
        text: &str,
        fast: impl FnOnce() -> Option<&'static str>,
    ) -> Option<&'static str> {
        if self.languages.len() == 1 {
            return self.languages.first().copied();
        }
        fast().or_else(|| self.by_model(text))
    }

    /// `count_function_words` for an ASCII text, from its lower-cased words:
    /// no `char` decoding, no allocation, and one integer look-up for each
    /// word short enough to be a function word (a tenth of tagging time
    /// went here).
    fn lowered_hits(&self, lowered: &LoweredAscii) -> [u32; 8] {
        let mut hits = [0u32; 8];
        for word in lowered
            .words
            .iter()
            .filter(|w| w.len() <= LONGEST_FUNCTION_WORD)
        {
            if let Some(&languages) = self.ascii_function_words.get(&lowered.packed(word)) {
                // Most function words belong to one language: visit the set bits only.
                let mut bits = languages;
                while bits != 0 {
                    hits[bits.trailing_zeros() as usize] += 1;
                    bits &= bits - 1;
                }
            }
        }
        hits
    }

    /// The fast stage: `Some` only when one language's function words
    /// clearly outnumber every other's (at least 2, and 3 times the next).
    pub fn by_function_words(&self, text: &str) -> Option<&'static str> {
        if text.is_ascii() {
            let lowered = text.to_ascii_lowercase();
            return self.leader(&self.lowered_hits(&LoweredAscii::new(&lowered)));
        }
        let mut hits = [0u32; 8];
        self.count_function_words(text, &mut hits);
        self.leader(&hits)
    }

    /// The language whose function words clearly lead in `hits`, if one does.
    fn leader(&self, hits: &[u32; 8]) -> Option<&'static str> {
        let mut ranked: Vec<(usize, u32)> = hits
            .iter()
            .copied()
            .enumerate()
            .take(self.languages.len())
            .collect();
        ranked.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let (best, best_hits) = ranked[0];
        let runner_up = ranked.get(1).map_or(0, |r| r.1);
        (best_hits >= 2 && best_hits >= 3 * runner_up).then(|| self.languages[best])
    }

    fn count_function_words(&self, text: &str, hits: &mut [u32; 8]) {
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let lower;
            let word = if word.chars().any(char::is_uppercase) {
                lower = word.to_lowercase();
                lower.as_str()
            } else {
                word
            };
            if let Some(languages) = self.function_words.get(word) {
                for l in languages {
                    hits[*l] += 1;
                }
            }
        }
    }

    /// The slow stage: lingua's models.
    pub fn by_model(&self, text: &str) -> Option<&'static str> {
        let language = self
            .detector
            .detect_language_of(&*words_cut_at(text, LONGEST_WORD))?;
        let code = from_lingua(language);
        self.languages.contains(&code).then_some(code)
    }
}

/// The longest run of letters handed to lingua as one word. lingua finds
/// each n-gram of a word by counting characters from the word's start, so
/// its time grows with the square of a word's length (a 320,000-letter
/// "word" took 37 s); natural words are far shorter than this.
const LONGEST_WORD: usize = 64;

/// `text` with a space after every `limit` letters in a row.
fn words_cut_at(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    let mut run = 0;
    let too_long = text.chars().any(|c| {
        run = if c.is_alphabetic() { run + 1 } else { 0 };
        run > limit
    });
    if !too_long {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut cut = String::with_capacity(text.len() + text.len() / limit);
    run = 0;
    for c in text.chars() {
        if c.is_alphabetic() {
            if run == limit {
                cut.push(' ');
                run = 0;
            }
            run += 1;
        } else {
            run = 0;
        }
        cut.push(c);
    }
    std::borrow::Cow::Owned(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_cut_for_the_model_and_short_ones_kept() {
        assert!(matches!(
            words_cut_at("an ordinary sentence", 64),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(words_cut_at("abcdefg hi", 3), "abc def g hi");
        assert_eq!(words_cut_at("ăîșțâ", 2), "ăî șț â");
    }

    #[test]
    fn identifies_the_languages_with_and_without_diacritics() {
        let id = LanguageIdentifier::shared();
        assert_eq!(
            id.identify("The delivery was fast and the support team was very helpful."),
            Some("en")
        );
        assert_eq!(
            id.identify("Livrarea a fost rapidă și echipa de suport foarte amabilă."),
            Some("ro")
        );
        assert_eq!(
            id.identify("Livrarea a fost rapida si echipa de suport foarte amabila."),
            Some("ro")
        );
        assert_eq!(id.identify("Produs excelent, recomand"), Some("ro"));
        assert_eq!(
            id.identify("La livraison était rapide et le service client très aimable."),
            Some("fr")
        );
        assert_eq!(
            id.identify("Die Lieferung war schnell und der Kundendienst sehr freundlich."),
            Some("de")
        );
        assert_eq!(
            id.identify("La entrega fue rápida y el servicio al cliente muy amable."),
            Some("es")
        );
        assert_eq!(
            id.identify("La consegna è stata veloce e il servizio clienti molto gentile."),
            Some("it")
        );
        assert_eq!(id.identify(""), None);
        assert_eq!(id.identify("12345 !!!"), None);
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_fast_path_counts_as_the_general_one(
            text in "([a-zA-Z]{1,10}|[ .,'-]|the|The|si|le|der|el|di|produsul|PRODUSUL){0,40}"
        ) {
            let id = LanguageIdentifier::shared();
            // The analyzer's way: the words of the text lower-cased.
            let lowered = text.to_ascii_lowercase();
            let lowered = LoweredAscii::new(&lowered);
            let mut general = [0u32; 8];
            id.count_function_words(&text, &mut general);
            proptest::prop_assert_eq!(id.lowered_hits(&lowered), general);
            proptest::prop_assert_eq!(id.identify_lowered(&text, &lowered), id.identify(&text));
        }
    }

    #[test]
    fn no_ascii_function_word_is_longer_than_the_fast_path_looks() {
        for (_, words) in FUNCTION_WORDS {
            for word in words.iter().filter(|w| w.is_ascii()) {
                assert!(word.len() <= LONGEST_FUNCTION_WORD, "{word}");
            }
        }
    }

    #[test]
    fn the_set_is_configurable() {
        let only_english = LanguageIdentifier::new(&["en"]);
        assert_eq!(
            only_english.identify("Produs excelent, recomand"),
            Some("en")
        );
        let two = LanguageIdentifier::new(&["en", "ro"]);
        assert_eq!(
            two.identify("La livraison était rapide"),
            two.by_model("La livraison était rapide")
        );
    }
}
