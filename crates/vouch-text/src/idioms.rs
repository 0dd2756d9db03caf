//! Customer-service idioms: phrases whose words alone do not say what the
//! customer means. "I waited three days" has no sentiment word; "still not
//! fixed" has none either; "nightmare" is not in VADER's lexicon; "can't
//! recommend them enough" reads as a negated "recommend". The customer-feedback
//! scorers (English and Romanian) apply these rules on top of the lexicon;
//! the exact VADER scorer never does.
//!
//! The rules live in `lexicons/{en,ro}_idioms.txt`, one per line:
//! `pattern<TAB>valence<TAB>example`. A pattern is words separated by
//! spaces, each element one of:
//! - `word`: that word (lower-case, Romanian diacritics folded);
//! - `stem*`: a word starting with `stem`;
//! - `a|b*|c`: any of the alternatives;
//! - `NEG`: a negation of the language ("not", "never", "n't"…; "nu", "n-"…);
//! - `..`: up to three words, `...`: up to six, none of them a negation (so
//!   "will never buy again" is not read as "will … buy again").
//!
//! A match never crosses the end of a clause (a word followed by `.`, `,`,
//! `;`, `!` or `?`): "I had no problems. Recommend!" is no negated
//! recommendation.
//!
//! A match replaces the sentiment of the words it names with the rule's
//! valence, placed on its first word, so VADER's "but" rule and the
//! normalisation treat it as one word. Rules are tried in file order at
//! each word; the first that matches wins and the scan goes on after it.
//! Every rule's example must match it and take the rule's sign: the unit
//! test `every_idiom_matches_its_example` checks each line.

use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;

const ENGLISH: &str = include_str!("../lexicons/en_idioms.txt");
const ROMANIAN: &str = include_str!("../lexicons/ro_idioms.txt");

#[derive(Debug, Clone, PartialEq)]
enum Word {
    Exact(String),
    Prefix(String),
}

impl Word {
    fn matches(&self, token: &str) -> bool {
        match self {
            Word::Exact(w) => token == w,
            Word::Prefix(p) => token.starts_with(p.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Element {
    AnyOf(Vec<Word>),
    Negation,
    /// Up to this many words, none a negation.
    Gap(usize),
}

/// One idiom: its pattern, valence and the example that shows it.
#[derive(Debug, Clone)]
pub struct Idiom {
    pub pattern: String,
    pub valence: f64,
    pub example: String,
    elements: Vec<Element>,
}

/// One language's idioms, indexed by what their first element can be.
#[derive(Debug, Clone)]
pub struct Idioms {
    rules: Vec<Idiom>,
    /// Exact first words → the rules starting with them, in file order.
    by_first_word: HashMap<String, Vec<usize>>,
    /// Rules starting with a stem, in file order.
    by_first_stem: Vec<usize>,
    /// Rules starting with a negation, in file order.
    by_negation: Vec<usize>,
}

impl Idioms {
    pub fn english() -> &'static Idioms {
        static EN: OnceLock<Idioms> = OnceLock::new();
        EN.get_or_init(|| {
            Idioms::parse(ENGLISH).expect("the shipped English idioms parse (tested)")
        })
    }

    pub fn romanian() -> &'static Idioms {
        static RO: OnceLock<Idioms> = OnceLock::new();
        RO.get_or_init(|| {
            Idioms::parse(ROMANIAN).expect("the shipped Romanian idioms parse (tested)")
        })
    }

    pub fn rules(&self) -> &[Idiom] {
        &self.rules
    }

    /// Parses a rules file; the error names the line and what is wrong.
    pub fn parse(text: &str) -> Result<Idioms, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(pattern), Some(valence), Some(example)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!(
                    "line {}: expected pattern<TAB>valence<TAB>example",
                    n + 1
                ));
            };
            let valence: f64 = valence
                .trim()
                .parse()
                .map_err(|_| format!("line {}: {valence:?} is not a valence", n + 1))?;
            let elements = pattern
                .split(' ')
                .filter(|e| !e.is_empty())
                .map(|e| match e {
                    "NEG" => Element::Negation,
                    ".." => Element::Gap(3),
                    "..." => Element::Gap(6),
                    words => Element::AnyOf(
                        words
                            .split('|')
                            .map(|w| match w.strip_suffix('*') {
                                Some(stem) => Word::Prefix(stem.to_owned()),
                                None => Word::Exact(w.to_owned()),
                            })
                            .collect(),
                    ),
                })
                .collect::<Vec<_>>();
            if !matches!(
                elements.first(),
                Some(Element::AnyOf(_) | Element::Negation)
            ) || matches!(elements.last(), Some(Element::Gap(_)))
            {
                return Err(format!(
                    "line {}: a pattern starts and ends with a word or NEG",
                    n + 1
                ));
            }
            rules.push(Idiom {
                pattern: pattern.to_owned(),
                valence,
                example: example.to_owned(),
                elements,
            });
        }
        let mut idioms = Idioms {
            rules: Vec::new(),
            by_first_word: HashMap::default(),
            by_first_stem: Vec::new(),
            by_negation: Vec::new(),
        };
        for (i, rule) in rules.iter().enumerate() {
            match &rule.elements[0] {
                Element::Negation => idioms.by_negation.push(i),
                Element::AnyOf(words) => {
                    for word in words {
                        match word {
                            Word::Exact(w) => {
                                idioms.by_first_word.entry(w.clone()).or_default().push(i)
                            }
                            Word::Prefix(_) => {
                                if !idioms.by_first_stem.contains(&i) {
                                    idioms.by_first_stem.push(i);
                                }
                            }
                        }
                    }
                }
                Element::Gap(_) => unreachable!("checked above"),
            }
        }
        idioms.rules = rules;
        Ok(idioms)
    }

    /// Applies the idioms to a text's words (`lower`, lower-case and, for
    /// Romanian, folded) and their sentiments; `negation(i)` tells whether
    /// word `i` negates, `ends_clause(i)` whether a clause ends after it.
    /// Returns how many idioms matched.
    pub(crate) fn apply(
        &self,
        lower: &[&str],
        negation: impl Fn(usize) -> bool,
        ends_clause: impl Fn(usize) -> bool,
        sentiments: &mut [f64],
    ) -> usize {
        let words = Words {
            lower,
            negation: &negation,
            ends_clause: &ends_clause,
        };
        let mut found = 0;
        let mut i = 0;
        let mut matched = Vec::new();
        let mut candidates: Vec<usize> = Vec::new();
        while i < lower.len() {
            let word = lower[i];
            candidates.clear();
            if let Some(rules) = self.by_first_word.get(word) {
                candidates.extend(rules);
            }
            for &rule in &self.by_first_stem {
                if let Element::AnyOf(words) = &self.rules[rule].elements[0]
                    && words.iter().any(|w| w.matches(word))
                {
                    candidates.push(rule);
                }
            }
            if negation(i) {
                candidates.extend(&self.by_negation);
            }
            candidates.sort_unstable();
            candidates.dedup();
            let hit = candidates.iter().copied().find(|&rule| {
                matched.clear();
                matches_at(&self.rules[rule].elements, &words, i, &mut matched)
            });
            match hit {
                Some(rule) => {
                    for &at in &matched {
                        sentiments[at] = 0.0;
                    }
                    sentiments[i] = self.rules[rule].valence;
                    found += 1;
                    i = matched.last().map_or(i, |last| *last) + 1;
                }
                None => i += 1,
            }
        }
        found
    }
}

/// A text's words, with what a match needs to know of each.
struct Words<'a> {
    lower: &'a [&'a str],
    negation: &'a dyn Fn(usize) -> bool,
    ends_clause: &'a dyn Fn(usize) -> bool,
}

/// Whether `elements` match the words from `at`; `matched` gets the
/// positions of the words the pattern names (not those of its gaps).
fn matches_at(elements: &[Element], words: &Words, at: usize, matched: &mut Vec<usize>) -> bool {
    let Some((first, rest)) = elements.split_first() else {
        return true;
    };
    let lower = words.lower;
    match first {
        Element::Gap(most) => {
            for skip in 0..=*most {
                if skip > 0
                    && (at + skip > lower.len()
                        || (words.negation)(at + skip - 1)
                        || (words.ends_clause)(at + skip - 1))
                {
                    break;
                }
                let kept = matched.len();
                if matches_at(rest, words, at + skip, matched) {
                    return true;
                }
                matched.truncate(kept);
            }
            false
        }
        word => {
            let fits = at < lower.len()
                && match word {
                    Element::Negation => (words.negation)(at),
                    Element::AnyOf(any) => any.iter().any(|w| w.matches(lower[at])),
                    Element::Gap(_) => false,
                };
            if !fits || (!rest.is_empty() && (words.ends_clause)(at)) {
                return false;
            }
            matched.push(at);
            matches_at(rest, words, at + 1, matched)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Romanian, Vader};

    #[test]
    fn every_idiom_matches_its_example() {
        for (language, idioms) in [("en", Idioms::english()), ("ro", Idioms::romanian())] {
            assert!(idioms.rules().len() >= 20, "{language}");
            for rule in idioms.rules() {
                let single = Idioms::parse(&format!(
                    "{}\t{}\t{}",
                    rule.pattern, rule.valence, rule.example
                ))
                .unwrap();
                let compound = match language {
                    "en" => {
                        let (lower, negation, ends) = Vader::feedback().words_of(&rule.example);
                        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
                        let mut sentiments = vec![0.0; lower.len()];
                        assert_eq!(
                            single.apply(&lower, |i| negation[i], |i| ends[i], &mut sentiments),
                            1,
                            "{language}: {:?} does not match {:?}",
                            rule.pattern,
                            rule.example
                        );
                        Vader::feedback().polarity(&rule.example).compound
                    }
                    _ => {
                        let folded = crate::romanian::fold(&rule.example);
                        let (tokens, ends) = Romanian::tokens(&folded);
                        let mut sentiments = vec![0.0; tokens.len()];
                        assert_eq!(
                            single.apply(
                                &tokens,
                                |i| Romanian::negates(tokens[i]),
                                |i| ends[i],
                                &mut sentiments
                            ),
                            1,
                            "{language}: {:?} does not match {:?}",
                            rule.pattern,
                            rule.example
                        );
                        Romanian::shared().polarity(&rule.example).compound
                    }
                };
                assert!(
                    compound * rule.valence > 0.0 && compound.abs() >= 0.05,
                    "{language}: {:?} scores {compound}, against the rule's {}",
                    rule.example,
                    rule.valence
                );
            }
        }
    }

    #[test]
    fn gaps_do_not_pass_a_negation() {
        let idioms = Idioms::parse("will .. buy .. again\t1.8\tI will buy again").unwrap();
        let lower = ["i", "will", "never", "buy", "again"];
        let mut sentiments = [0.0; 5];
        assert_eq!(
            idioms.apply(&lower, |i| lower[i] == "never", |_| false, &mut sentiments),
            0
        );
        let lower = ["i", "will", "surely", "buy", "here", "again"];
        let mut sentiments = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        assert_eq!(
            idioms.apply(&lower, |_| false, |_| false, &mut sentiments),
            1
        );
        assert_eq!(
            sentiments,
            [0.0, 1.8, 1.0, 0.0, 0.0, 0.0],
            "the gap's own words keep theirs"
        );
        let mut sentiments = [0.0; 6];
        assert_eq!(
            idioms.apply(&lower, |_| false, |i| i == 2, &mut sentiments),
            0,
            "no match across the end of a clause"
        );
    }

    #[test]
    fn bad_rules_are_refused_with_their_line() {
        assert!(
            Idioms::parse("# c\nno tab here")
                .unwrap_err()
                .starts_with("line 2")
        );
        assert!(
            Idioms::parse("a\tx\tb")
                .unwrap_err()
                .contains("not a valence")
        );
        assert!(Idioms::parse(".. a\t1\tb").is_err());
        assert!(Idioms::parse("a ..\t1\tb").is_err());
    }
}
