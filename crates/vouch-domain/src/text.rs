//! What any text a customer or a file gives must satisfy before it is kept:
//! a bounded length and no control characters, the same on both backends
//! (PostgreSQL refuses NUL in text and JSON; SQLite would keep it).

use std::borrow::Cow;

use crate::{DomainError, Result};

/// The longest text Vouch keeps in one feedback body or comment, in
/// characters. Real reviews and tickets stay far below it (Amazon caps a
/// review at 20,000 characters too); anything longer is refused, so no
/// text can make tagging, storage or a page slow.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// The longest short field (a title, a name, a handle, a URL), in characters.
pub const MAX_FIELD_CHARS: usize = 2_000;

/// Whether `c` is a control character that text must not carry: the C0
/// controls, DEL and the C1 controls (U+0080–U+009F, which no text means
/// and mis-decoded files leave behind), except tab, line feed and
/// carriage return.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` without its forbidden control characters (borrowed when it has none).
pub fn without_controls(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_forbidden_control) {
        Cow::Owned(text.chars().filter(|c| !is_forbidden_control(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Removes forbidden control characters from `text` in place.
pub fn strip_controls(text: &mut String) {
    if text.chars().any(is_forbidden_control) {
        text.retain(|c| !is_forbidden_control(c));
    }
}

/// Refuses a text longer than `limit` characters, naming `field`.
pub fn check_length(field: &'static str, text: &str, limit: usize) -> Result<()> {
    // Bytes bound characters from above: most texts need no count.
    if text.len() > limit && text.chars().count() > limit {
        return Err(DomainError::TooLong {
            field,
            chars: text.chars().count(),
            limit,
        });
    }
    Ok(())
}

/// The bidirectional override and isolate characters (U+202A–U+202E,
/// U+2066–U+2069), which can make a text read differently from what it
/// holds ("Trojan source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with each bidi control shown as its code (`<U+202E>`), for
/// pages and the terminal: the reader sees that it was there, and it
/// cannot reorder what follows.
pub fn neutralise_bidi(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_bidi_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_bidi_control(c) {
            shown.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn controls_go_and_line_breaks_stay() {
        assert_eq!(
            without_controls("a\0b\u{1}c\td\ne\rf\u{7f}"),
            "abc\td\ne\rf"
        );
        assert!(matches!(without_controls("plain"), Cow::Borrowed(_)));
        let mut s = "x\0y".to_owned();
        strip_controls(&mut s);
        assert_eq!(s, "xy");
    }

    #[test]
    fn bidi_controls_are_shown_by_code() {
        assert_eq!(
            neutralise_bidi("abc\u{202e}fed\u{2066}"),
            "abc<U+202E>fed<U+2066>"
        );
        assert!(matches!(neutralise_bidi("ăîșț"), Cow::Borrowed(_)));
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(check_length("body", &"ș".repeat(10), 10).is_ok());
        let e = check_length("body", &"a".repeat(11), 10).unwrap_err();
        assert_eq!(e.to_string(), "body is 11 characters long; the limit is 10");
    }

    proptest! {
        #[test]
        fn nothing_forbidden_survives(text in "\\PC*|[\\x00-\\x1f\\x7f a-z]*") {
            let clean = without_controls(&text);
            prop_assert!(!clean.chars().any(is_forbidden_control));
            prop_assert!(!neutralise_bidi(&clean).chars().any(is_bidi_control));
        }
    }
}
