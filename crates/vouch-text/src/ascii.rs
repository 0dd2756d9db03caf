//! Byte classes for the ASCII fast paths. Most feedback is ASCII, and its
//! scanners test every byte; one table look-up per byte replaced chains of
//! range comparisons that cost a fifth of tagging.

/// `u8::is_ascii_alphanumeric`.
pub(crate) const ALPHANUMERIC: u8 = 1;
/// `u8::is_ascii_punctuation`.
pub(crate) const PUNCTUATION: u8 = 1 << 1;
/// Python's `str.isspace` on ASCII: Rust's ASCII whitespace, the vertical
/// tab, and the information separators 0x1c..=0x1f.
pub(crate) const PYTHON_SPACE: u8 = 1 << 2;
/// `char::is_whitespace` on ASCII: Rust's ASCII whitespace and the vertical tab.
pub(crate) const WHITESPACE: u8 = 1 << 3;
/// Where a sentence (a clause, at the least) ends: `.`, `!`, `?`, `;`, newline.
pub(crate) const SENTENCE_END: u8 = 1 << 4;

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        let mut class = 0;
        if byte.is_ascii_alphanumeric() {
            class |= ALPHANUMERIC;
        }
        if byte.is_ascii_punctuation() {
            class |= PUNCTUATION;
        }
        if byte.is_ascii_whitespace() || byte == 0x0b {
            class |= WHITESPACE | PYTHON_SPACE;
        }
        if byte >= 0x1c && byte <= 0x1f {
            class |= PYTHON_SPACE;
        }
        if matches!(byte, b'.' | b'!' | b'?' | b';' | b'\n') {
            class |= SENTENCE_END;
        }
        table[b] = class;
        b += 1;
    }
    table
}

static CLASSES: [u8; 256] = classes();

/// Whether `byte` is in any of `classes` (an `|` of the constants above).
#[inline(always)]
pub(crate) fn is(byte: u8, classes: u8) -> bool {
    CLASSES[byte as usize] & classes != 0
}

/// An ASCII word of at most 8 bytes, lower-cased, as one number (a cheaper
/// key than a string).
pub(crate) const fn packed_lowercase(word: &[u8]) -> u64 {
    let mut key = 0;
    let mut i = word.len();
    while i > 0 {
        i -= 1;
        key = key << 8 | word[i].to_ascii_lowercase() as u64;
    }
    key
}

/// `packed_lowercase(&bytes[start..start + len])` for bytes already in
/// lower case, read as one number when 8 bytes are there to read (len is
/// 1 to 8).
#[inline]
pub(crate) fn packed_at(bytes: &[u8], start: usize, len: usize) -> u64 {
    debug_assert!((1..=8).contains(&len));
    match bytes.get(start..start + 8) {
        Some(eight) => {
            let eight: [u8; 8] = eight.try_into().expect("eight bytes");
            u64::from_le_bytes(eight) & (u64::MAX >> (64 - 8 * len))
        }
        None => packed_lowercase(&bytes[start..start + len]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn packed_at_packs_as_packed_lowercase(
            text in "[a-z0-9' ]{1,20}",
            start in 0usize..20,
            len in 1usize..=8,
        ) {
            let start = start % text.len();
            let len = len.min(text.len() - start);
            proptest::prop_assert_eq!(
                packed_at(text.as_bytes(), start, len),
                packed_lowercase(&text.as_bytes()[start..start + len])
            );
        }
    }

    #[test]
    fn the_table_agrees_with_the_standard_predicates() {
        for byte in 0..=255u8 {
            let c = char::from(byte);
            assert_eq!(is(byte, ALPHANUMERIC), byte.is_ascii_alphanumeric());
            assert_eq!(is(byte, PUNCTUATION), byte.is_ascii_punctuation());
            assert_eq!(is(byte, WHITESPACE), byte.is_ascii() && c.is_whitespace());
            assert_eq!(
                is(byte, PYTHON_SPACE),
                byte.is_ascii() && (c.is_whitespace() || (0x1c..=0x1f).contains(&byte))
            );
            assert_eq!(
                is(byte, SENTENCE_END),
                matches!(byte, b'.' | b'!' | b'?' | b';' | b'\n')
            );
        }
    }
}
