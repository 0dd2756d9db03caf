use std::io::BufRead;

use chrono::{DateTime, Utc};
use vouch_domain::Feedback;

use crate::Format;

/// A record that could not be read: where, why, and the raw record, so
/// nothing is lost (importers write these to a rejects file).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// 1-based line of the record's first line in the file.
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

/// Anything that yields feedback items from a cursor.
pub trait FeedbackSource: Iterator<Item = Result<Feedback, Rejection>> {
    /// Where the source stands: for files the last line read; for an API,
    /// its page token. A later run can resume from it.
    fn cursor(&self) -> String;
}

/// A file (or standard input) in one of the export formats.
pub struct FileSource<R: BufRead> {
    format: Format,
    lines: std::io::Lines<R>,
    csv_headers: Option<Vec<String>>,
    line: u64,
    /// A first line read while detecting the format, not yet parsed.
    pending: Option<String>,
    /// When items of formats without dates count as posted.
    undated_at: DateTime<Utc>,
}

impl<R: BufRead> FileSource<R> {
    /// Reads `reader` in `format`, or recognises the format from the first
    /// line when `format` is `None`.
    pub fn new(reader: R, format: Option<Format>) -> Result<FileSource<R>, Rejection> {
        let mut lines = reader.lines();
        let first = match lines.next() {
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                return Err(Rejection {
                    line: 1,
                    reason: e.to_string(),
                    raw: String::new(),
                });
            }
            None => String::new(),
        };
        let format = match format {
            Some(format) => format,
            None => Format::detect(&first).ok_or_else(|| Rejection {
                line: 1,
                reason: "unrecognised format; give --format".to_owned(),
                raw: first.clone(),
            })?,
        };
        let mut source = FileSource {
            format,
            lines,
            csv_headers: None,
            line: 1,
            pending: Some(first),
            undated_at: DateTime::UNIX_EPOCH,
        };
        if format.is_csv() {
            let header = source.pending.take().unwrap_or_default();
            source.csv_headers = Some(csv_record(&header).unwrap_or_default());
        }
        Ok(source)
    }

    /// Items of formats without dates (Tripadvisor) count as posted at `at`,
    /// typically the import's start; their ids do not depend on it.
    pub fn undated_items_posted_at(mut self, at: DateTime<Utc>) -> Self {
        self.undated_at = at;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The next physical record: one line, or for CSV as many lines as an
    /// open quoted field needs.
    fn next_record(&mut self) -> Option<Result<(u64, String), Rejection>> {
        let (start, mut record) = match self.pending.take() {
            Some(first) => (1, first),
            None => {
                let line = self.lines.next()?;
                self.line += 1;
                match line {
                    Ok(line) => (self.line, line),
                    Err(e) => {
                        return Some(Err(Rejection {
                            line: self.line,
                            reason: e.to_string(),
                            raw: String::new(),
                        }));
                    }
                }
            }
        };
        if self.format.is_csv() {
            // An odd number of quotes means a quoted field runs on.
            while record.matches('"').count() % 2 == 1 {
                match self.lines.next() {
                    Some(Ok(more)) => {
                        self.line += 1;
                        record.push('\n');
                        record.push_str(&more);
                    }
                    _ => break,
                }
            }
        }
        Some(Ok((start, record)))
    }
}

fn csv_record(line: &str) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    reader
        .records()
        .next()?
        .ok()
        .map(|r| r.iter().map(str::to_owned).collect())
}

impl<R: BufRead> Iterator for FileSource<R> {
    type Item = Result<Feedback, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, raw) = match self.next_record()? {
                Ok(record) => record,
                Err(rejection) => return Some(Err(rejection)),
            };
            if raw.trim().is_empty() {
                continue;
            }
            let reject = |reason: String| Rejection {
                line,
                reason,
                raw: raw.clone(),
            };
            let parsed = match &self.csv_headers {
                Some(headers) => match csv_record(&raw) {
                    Some(fields) => self.format.parse_csv(headers, &fields, self.undated_at),
                    None => Err("not a CSV record".to_owned()),
                },
                None => match serde_json::from_str::<serde_json::Value>(&raw) {
                    Ok(value) => self.format.parse_json(&value),
                    Err(e) => Err(format!("invalid JSON: {e}")),
                },
            };
            return Some(parsed.map_err(reject));
        }
    }
}

impl<R: BufRead> FeedbackSource for FileSource<R> {
    fn cursor(&self) -> String {
        format!("line {}", self.line)
    }
}
