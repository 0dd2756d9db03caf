//! Interface text from locale files: a new language is a new file.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

const FILES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en.toml")),
    ("ro", include_str!("../locales/ro.toml")),
];

pub type Texts = HashMap<String, String>;

/// The languages Vouch speaks: `en`, `ro`.
pub fn languages() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(code, _)| *code)
}

fn all() -> &'static HashMap<&'static str, Texts> {
    static ALL: OnceLock<HashMap<&'static str, Texts>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|(code, text)| {
                (
                    *code,
                    toml::from_str(text).expect("locale files are valid (tested)"),
                )
            })
            .collect()
    })
}

/// The texts for the first language of `Accept-Language` we have, else English.
pub fn texts(headers: &HeaderMap) -> (&'static str, &'static Texts) {
    let wanted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in wanted.split(',') {
        let code = part.split(';').next().unwrap_or("").trim();
        if let Some(found) = texts_for(code.split('-').next().unwrap_or("")) {
            return found;
        }
    }
    english()
}

fn english() -> (&'static str, &'static Texts) {
    ("en", &all()["en"])
}

/// The texts for `language` if we have it.
pub fn texts_for(language: &str) -> Option<(&'static str, &'static Texts)> {
    all()
        .get_key_value(language.to_ascii_lowercase().as_str())
        .map(|(code, texts)| (*code, texts))
}

/// The texts of `language`, or English when Vouch has none in it (mail
/// goes out whatever the customer's language).
pub fn texts_or_english(language: &str) -> (&'static str, &'static Texts) {
    texts_for(language).unwrap_or_else(english)
}

/// Interface text for templates: `ui.t("key")`.
pub struct Ui(pub &'static Texts);

impl Ui {
    pub fn t(&self, key: &str) -> &'static str {
        // Every locale has every key (tested); an unknown key shows nothing.
        self.0.get(key).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_locale_has_every_english_key() {
        let all = super::all();
        for (code, texts) in all {
            for key in all["en"].keys() {
                assert!(texts.contains_key(key), "{code} lacks {key}");
            }
        }
    }
}
