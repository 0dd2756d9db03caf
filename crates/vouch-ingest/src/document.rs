//! Whole JSON documents as vendors' APIs and archives give them: a page of
//! the Trustpilot API (`{"links": […], "reviews": […]}`), a Google Business
//! Profile `reviews.json`, an App Store Connect or X API v2 response
//! (`data[]`), a Zendesk incremental-export page (`tickets[]`), a bare
//! array, or an X archive's `tweets.js` (`window.YTD.tweets.part0 = […]`).
//!
//! The document is never held whole: a scanner walks its bytes to the list
//! of items and hands each item's text on as one record, so a 2 GB
//! document costs one item's memory.

use std::io::BufRead;

use crate::{Record, Rejection};

/// The keys under which vendors put their list of items, in a top-level
/// object. Other keys (`links`, `meta`, `includes`, `nextPageToken`…) are
/// stepped over.
pub const ITEM_KEYS: &[&str] = &[
    "reviews",
    "data",
    "tickets",
    "satisfaction_ratings",
    "results",
    "items",
    "tweets",
    "customerReviews",
];

/// Whether a file that starts with `start` (as much of it as the reader
/// has buffered) is one JSON document rather than JSON lines: a bare
/// array, a JavaScript assignment, an object whose first line is only
/// `{` (pretty-printed), or an object with an item list among its first
/// keys.
pub fn looks_like_document(start: &[u8]) -> bool {
    let start = start.strip_prefix(b"\xef\xbb\xbf").unwrap_or(start);
    let text = trim_start(start);
    match text.first() {
        Some(b'[') => true,
        Some(b'w') => text.starts_with(b"window."),
        Some(b'{') => {
            let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
            trim_start(&first_line[1..]).is_empty() || has_item_list(text)
        }
        _ => false,
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

/// Whether `text`, an object, names one of `ITEM_KEYS` with an array value
/// at its top level, as far as `text` goes.
fn has_item_list(text: &[u8]) -> bool {
    let mut items = JsonItems::new(text);
    matches!(items.find_list(), Ok(true))
}

/// The items of one JSON document, each as a record of its own text.
pub struct JsonItems<R: BufRead> {
    reader: R,
    /// The line the reader stands on, 1-based.
    line: u64,
    /// Inside the item list, after the `[`.
    listing: bool,
    done: bool,
    broken: Option<Rejection>,
}

/// How a scanned value ends.
enum Scan {
    /// Copy the value's bytes.
    Keep(Vec<u8>),
    Skip,
}

impl<R: BufRead> JsonItems<R> {
    pub fn new(reader: R) -> JsonItems<R> {
        JsonItems {
            reader,
            line: 1,
            listing: false,
            done: false,
            broken: None,
        }
    }

    /// Why reading stopped early, if it did: the document is malformed or
    /// cut short, so the items stop at the last whole one.
    pub fn broken(&self) -> Option<&Rejection> {
        self.broken.as_ref()
    }

    pub fn line(&self) -> u64 {
        self.line
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.reader.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        if let Ok([b, ..]) = self.reader.fill_buf() {
            if *b == b'\n' {
                self.line += 1;
            }
            self.reader.consume(1);
        }
    }

    fn skip_space(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut n = 0;
            let mut newlines = 0;
            for b in buf {
                match b {
                    b'\n' => newlines += 1,
                    b' ' | b'\t' | b'\r' => {}
                    // A byte-order mark before the document.
                    0xef | 0xbb | 0xbf if self.line == 1 => {}
                    _ => break,
                }
                n += 1;
            }
            let next = buf.get(n).copied();
            self.reader.consume(n);
            self.line += newlines;
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Walks from the start of the document into its item list: `true`
    /// when it stands after the list's `[`, `false` when the document has
    /// none (an error names why).
    fn find_list(&mut self) -> Result<bool, String> {
        let io = |e: std::io::Error| e.to_string();
        match self.skip_space().map_err(io)? {
            Some(b'[') => {
                self.bump();
                return Ok(true);
            }
            // `window.YTD.tweets.part0 = [`: the array after the `=`.
            Some(b'w') => {
                while let Some(b) = self.peek().map_err(io)? {
                    self.bump();
                    if b == b'=' {
                        break;
                    }
                }
                return match self.skip_space().map_err(io)? {
                    Some(b'[') => {
                        self.bump();
                        Ok(true)
                    }
                    _ => Err("no array after the `=`".to_owned()),
                };
            }
            Some(b'{') => self.bump(),
            _ => return Err("not a JSON document".to_owned()),
        }
        loop {
            match self.skip_space().map_err(io)? {
                Some(b'}') | None => return Ok(false),
                Some(b',') => {
                    self.bump();
                    continue;
                }
                Some(b'"') => {}
                Some(other) => return Err(format!("unexpected {:?}", other as char)),
            }
            let Scan::Keep(key) = self.value(true).map_err(io)? else {
                unreachable!("kept values are kept")
            };
            if self.skip_space().map_err(io)? != Some(b':') {
                return Err("a key without a value".to_owned());
            }
            self.bump();
            let next = self.skip_space().map_err(io)?;
            let key = key.get(1..key.len().saturating_sub(1)).unwrap_or_default();
            if next == Some(b'[') && ITEM_KEYS.iter().any(|k| k.as_bytes() == key) {
                self.bump();
                return Ok(true);
            }
            self.value(false).map_err(io)?;
        }
    }

    /// Reads one value from where the reader stands (after any space),
    /// keeping its bytes or not. A value cut short by the end of the input
    /// is an `UnexpectedEof` error.
    fn value(&mut self, keep: bool) -> std::io::Result<Scan> {
        let mut out = Vec::new();
        let mut depth = 0u32;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        let mut scalar = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                if scalar {
                    break;
                }
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let mut n = 0;
            let mut newlines = 0;
            let mut end = false;
            for &b in buf {
                if b == b'\n' {
                    newlines += 1;
                }
                if in_string {
                    n += 1;
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = true;
                            break;
                        }
                    }
                    continue;
                }
                if scalar {
                    if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                        if b == b'\n' {
                            newlines -= 1;
                        }
                        end = true;
                        break;
                    }
                    n += 1;
                    continue;
                }
                n += 1;
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = true;
                            break;
                        }
                    }
                    _ if !started && !b.is_ascii_whitespace() => scalar = true,
                    _ => {}
                }
                started = true;
            }
            if keep {
                out.extend_from_slice(&buf[..n]);
            }
            self.reader.consume(n);
            self.line += newlines;
            if end {
                break;
            }
        }
        Ok(if keep { Scan::Keep(out) } else { Scan::Skip })
    }

    fn stop(&mut self, reason: String) {
        self.done = true;
        self.broken = Some(Rejection {
            line: self.line,
            reason,
            raw: String::new(),
        });
    }
}

impl<R: BufRead> Iterator for JsonItems<R> {
    type Item = Result<Record, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.listing {
            match self.find_list() {
                Ok(true) => self.listing = true,
                Ok(false) => {
                    self.done = true;
                    return Some(Err(Rejection {
                        line: self.line,
                        reason: format!(
                            "the JSON document has no list of items (looked for {})",
                            ITEM_KEYS.join(", ")
                        ),
                        raw: String::new(),
                    }));
                }
                Err(reason) => {
                    self.stop(format!("the JSON document cannot be read: {reason}"));
                    return None;
                }
            }
        }
        loop {
            let next = match self.skip_space() {
                Ok(next) => next,
                Err(e) => {
                    self.stop(format!(
                        "the file cannot be read past line {}: {e}",
                        self.line
                    ));
                    return None;
                }
            };
            match next {
                Some(b',') => self.bump(),
                // The list's end: whatever follows (`meta`, `links`) is not items.
                Some(b']') => {
                    self.done = true;
                    return None;
                }
                None => {
                    self.stop("the JSON document ends inside its list of items".to_owned());
                    return None;
                }
                Some(_) => break,
            }
        }
        let line = self.line;
        match self.value(true) {
            Ok(Scan::Keep(bytes)) => Some(match String::from_utf8(bytes) {
                Ok(text) => Ok(Record {
                    line,
                    text,
                    repeat: 0,
                }),
                Err(e) => Err(Rejection {
                    line,
                    reason: format!("not UTF-8: {e}"),
                    raw: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                }),
            }),
            Ok(Scan::Skip) => None,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.stop(format!(
                    "the JSON document ends inside the item that starts at line {line}"
                ));
                None
            }
            Err(e) => {
                self.stop(format!(
                    "the file cannot be read past line {}: {e}",
                    self.line
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> (Vec<(u64, String)>, Option<String>) {
        let mut items = JsonItems::new(text.as_bytes());
        let read = items
            .by_ref()
            .map(|r| r.map(|r| (r.line, r.text)).map_err(|e| e.reason))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        (read, items.broken().map(|b| b.reason.clone()))
    }

    #[test]
    fn the_item_list_is_found_past_other_keys() {
        let page = "{\n  \"links\": [{\"rel\": \"next\", \"href\": \"x]}\"}],\n  \"meta\": {\"n\": 2},\n  \"reviews\": [\n    {\"id\": \"a\", \"text\": \"he said \\\"ok]\\\"\"},\n    {\"id\": \"b\",\n     \"text\": \"two\\nlines\"}\n  ],\n  \"after\": [1]\n}\n";
        let (read, broken) = items(page);
        assert_eq!(broken, None);
        assert_eq!(
            read,
            vec![
                (5, r#"{"id": "a", "text": "he said \"ok]\""}"#.to_owned()),
                (
                    6,
                    "{\"id\": \"b\",\n     \"text\": \"two\\nlines\"}".to_owned()
                ),
            ]
        );
        assert!(looks_like_document(page.as_bytes()));
    }

    #[test]
    fn bare_arrays_and_the_x_archive_wrapper() {
        let (read, _) = items("\u{feff}[{\"a\":1},{\"b\":[2,3]}]");
        assert_eq!(read.len(), 2);
        let archive =
            "window.YTD.tweets.part0 = [\n  {\n    \"tweet\" : {\"id_str\" : \"1\"}\n  }\n]";
        let (read, _) = items(archive);
        assert_eq!(
            read,
            vec![(2, "{\n    \"tweet\" : {\"id_str\" : \"1\"}\n  }".to_owned())]
        );
        assert!(looks_like_document(archive.as_bytes()));
        assert!(looks_like_document(b"[{\"a\":1}]"));
    }

    #[test]
    fn json_lines_are_not_documents() {
        assert!(!looks_like_document(
            b"{\"review_id\":\"r\",\"tags\":[\"x\"],\"text\":\"t\"}\n{\"review_id\":\"s\"}\n"
        ));
        assert!(looks_like_document(
            b"{\"data\":[{\"id\":\"1\"}],\"meta\":{}}"
        ));
        assert!(looks_like_document(b"{\r\n  \"data\": []}"));
    }

    #[test]
    fn a_document_cut_short_keeps_the_whole_items() {
        let (read, broken) = items("{\"tickets\": [{\"id\": 1}, {\"id\": 2, \"subj");
        assert_eq!(read.len(), 1);
        assert!(
            broken
                .unwrap()
                .contains("ends inside the item that starts at line 1")
        );
        let mut none = JsonItems::new(&b"{\"meta\": {\"count\": 0}}"[..]);
        let first = none.next().unwrap().unwrap_err();
        assert!(
            first.reason.contains("no list of items"),
            "{}",
            first.reason
        );
    }
}
