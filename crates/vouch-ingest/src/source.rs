use std::io::BufRead;

use chrono::{DateTime, Utc};
use vouch_domain::{Feedback, Source};

use crate::{FieldMap, Format};

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

/// One record as it stands in the file: a JSON line, or a CSV record
/// (which may span lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line where the record starts.
    pub line: u64,
    pub text: String,
}

/// How to read a file besides its format.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// `--map FIELD=COLUMN` for the generic formats and `responses-csv`.
    pub mapping: FieldMap,
    /// `--date-format`: a chrono pattern tried before the usual forms.
    pub date_format: Option<String>,
    /// `--source`: where items of the generic formats come from (default `other`).
    pub source: Option<Source>,
    /// When items of formats without dates (Tripadvisor) count as posted,
    /// typically the import's start; their ids do not depend on it.
    pub undated_at: DateTime<Utc>,
}

/// Splits a file into records, line-numbered; CSV headers come first.
pub struct RecordReader<R: BufRead> {
    lines: std::io::Lines<R>,
    csv: bool,
    line: u64,
    pending: Option<String>,
    /// Set when the stream itself broke (a truncated .gz, a failing disk):
    /// no record can follow, so reading stops there.
    broken: Option<Rejection>,
}

impl<R: BufRead> RecordReader<R> {
    /// Reads the first line (for format detection) and keeps it pending.
    fn open(reader: R) -> Result<(RecordReader<R>, String), Rejection> {
        let mut lines = reader.lines();
        let first = match lines.next() {
            Some(Ok(line)) => line.trim_start_matches('\u{feff}').to_owned(),
            Some(Err(e)) => {
                return Err(Rejection {
                    line: 1,
                    reason: e.to_string(),
                    raw: String::new(),
                });
            }
            None => String::new(),
        };
        let reader = RecordReader {
            lines,
            csv: false,
            line: 1,
            pending: Some(first.clone()),
            broken: None,
        };
        Ok((reader, first))
    }

    /// A CSV file: its first record is the header.
    pub(crate) fn open_csv(reader: R) -> Result<RecordReader<R>, Rejection> {
        let (mut records, _) = RecordReader::open(reader)?;
        records.csv = true;
        Ok(records)
    }

    /// The line last read.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Why reading stopped before the end of the file, if it did: the
    /// stream broke, so the records stop at the last whole one.
    pub fn broken(&self) -> Option<&Rejection> {
        self.broken.as_ref()
    }

    /// The next line. A line that is not UTF-8 is a bad record (the
    /// reader has consumed it; reading goes on); any other error breaks
    /// the stream, which ends the records, since a decoder that failed
    /// once fails for ever.
    fn next_line(&mut self) -> Option<Result<String, Rejection>> {
        if self.broken.is_some() {
            return None;
        }
        match self.lines.next()? {
            Ok(line) => Some(Ok(line)),
            Err(e) if is_bad_text(&e) => Some(Err(Rejection {
                line: self.line + 1,
                reason: e.to_string(),
                raw: String::new(),
            })),
            Err(e) => {
                self.broken = Some(Rejection {
                    line: self.line + 1,
                    reason: format!("the file cannot be read past line {}: {e}", self.line),
                    raw: String::new(),
                });
                None
            }
        }
    }
}

/// `BufRead::lines`' error for a line that is not UTF-8.
fn is_bad_text(e: &std::io::Error) -> bool {
    // std gives it no payload, only this kind and a message naming UTF-8.
    e.kind() == std::io::ErrorKind::InvalidData && e.to_string().contains("UTF-8")
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Record, Rejection>;

    /// The next non-blank record: one line, or for CSV as many lines as an
    /// open quoted field needs.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (start, mut text) = match self.pending.take() {
                Some(first) => (1, first),
                None => {
                    let line = self.next_line()?;
                    self.line += 1;
                    match line {
                        Ok(line) => (self.line, line),
                        Err(rejection) => return Some(Err(rejection)),
                    }
                }
            };
            if self.csv {
                // An odd number of quotes means a quoted field runs on.
                while text.matches('"').count() % 2 == 1 {
                    match self.next_line() {
                        Some(Ok(more)) => {
                            self.line += 1;
                            text.push('\n');
                            text.push_str(&more);
                        }
                        _ => break,
                    }
                }
            }
            if !text.trim().is_empty() {
                return Some(Ok(Record { line: start, text }));
            }
        }
    }
}

/// Turns records into feedback items. Holds no reader, so records can be
/// parsed on every core while one thread reads.
#[derive(Debug, Clone)]
pub struct Parser {
    format: Format,
    headers: Option<Vec<String>>,
    options: ReadOptions,
}

impl Parser {
    pub fn parse(&self, record: &Record) -> Result<Feedback, Rejection> {
        let parsed = match &self.headers {
            Some(headers) => match csv_record(&record.text) {
                Some(fields) => self.format.parse_csv(headers, &fields, &self.options),
                None => Err("not a CSV record".to_owned()),
            },
            None => match self.format.parse_json_line(&record.text) {
                Some(item) => Ok(item),
                None => match serde_json::from_str::<serde_json::Value>(&record.text) {
                    Ok(value) => self.format.parse_json(&value, &self.options),
                    Err(e) => Err(format!("invalid JSON: {e}")),
                },
            },
        };
        parsed
            .and_then(|item| item.admit().map_err(|e| e.to_string()))
            .map_err(|reason| Rejection {
                line: record.line,
                reason,
                raw: record.text.clone(),
            })
    }

    /// The CSV header, for formats that have one.
    pub fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }

    pub fn options(&self) -> &ReadOptions {
        &self.options
    }
}

pub(crate) fn csv_record(line: &str) -> Option<Vec<String>> {
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

/// A file (or standard input) in one of the export formats.
pub struct FileSource<R: BufRead> {
    records: RecordReader<R>,
    parser: Parser,
}

impl<R: BufRead> FileSource<R> {
    /// Reads `reader` in `format`, or recognises the format from the first
    /// line when `format` is `None`.
    pub fn new(reader: R, format: Option<Format>) -> Result<FileSource<R>, Rejection> {
        FileSource::with_options(reader, format, ReadOptions::default())
    }

    pub fn with_options(
        reader: R,
        format: Option<Format>,
        options: ReadOptions,
    ) -> Result<FileSource<R>, Rejection> {
        let (mut records, first) = RecordReader::open(reader)?;
        let refuse = |reason: String| Rejection {
            line: 1,
            reason,
            raw: first.clone(),
        };
        let format = match format {
            Some(format) => format,
            None => Format::detect(&first)
                .ok_or_else(|| refuse("unrecognised format; give --format".to_owned()))?,
        };
        format.check_options(&options).map_err(refuse)?;
        let mut headers = None;
        if format.is_csv() {
            records.csv = true;
            let header = records.next().transpose()?.map(|r| r.text);
            headers = Some(header.as_deref().and_then(csv_record).unwrap_or_default());
        }
        if let Some(headers) = &headers {
            format.check_headers(headers, &options).map_err(refuse)?;
        }
        Ok(FileSource {
            records,
            parser: Parser {
                format,
                headers,
                options,
            },
        })
    }

    /// Items of formats without dates (Tripadvisor) count as posted at `at`.
    pub fn undated_items_posted_at(mut self, at: DateTime<Utc>) -> Self {
        self.parser.options.undated_at = at;
        self
    }

    pub fn format(&self) -> Format {
        self.parser.format
    }

    /// The parser, to parse records elsewhere (on other threads).
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The records, unparsed; `parser().parse` turns each into an item.
    pub fn records(&mut self) -> &mut RecordReader<R> {
        &mut self.records
    }
}

impl<R: BufRead> Iterator for FileSource<R> {
    type Item = Result<Feedback, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = match self.records.next()? {
            Ok(record) => record,
            Err(rejection) => return Some(Err(rejection)),
        };
        Some(self.parser.parse(&record))
    }
}

impl<R: BufRead> FeedbackSource for FileSource<R> {
    fn cursor(&self) -> String {
        format!("line {}", self.records.line())
    }
}
