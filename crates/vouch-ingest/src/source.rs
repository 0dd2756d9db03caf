use std::io::{BufRead, Read};

use chrono::{DateTime, Utc};
use vouch_domain::{Feedback, Source};

use crate::document::{JsonItems, looks_like_document};
use crate::{FieldMap, Format};

/// Why a file of no known format is refused (a directory's import skips
/// such files by it).
pub const UNRECOGNISED_FORMAT: &str = "unrecognised format; give --format";

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
    /// How many records of the same text came before it in the file
    /// (counted for formats whose items may lack an id): two identical
    /// rows are two items, and the same file read again the same two.
    pub repeat: u32,
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
    /// `--tz`: the zone of times written without one (default UTC).
    pub zone: Option<chrono_tz::Tz>,
    /// How many times were read without a zone, so in `zone`: shared by
    /// every clone, counted on every thread, for the import's report.
    pub zoneless: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ReadOptions {
    /// A time of the file: with its own zone, or in `zone` (counted).
    pub fn time(&self, raw: &str) -> Result<DateTime<Utc>, String> {
        let (at, zoneless) = crate::times::parse_time_in(
            raw,
            self.date_format.as_deref(),
            self.zone.unwrap_or(chrono_tz::UTC),
        )?;
        if zoneless {
            self.zoneless
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(at)
    }

    /// How many times so far had no zone.
    pub fn zoneless_times(&self) -> u64 {
        self.zoneless.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Splits a file into records, line-numbered; CSV headers come first. A
/// whole JSON document is split into its items (`JsonItems`).
pub struct RecordReader<R: BufRead> {
    input: Input<R>,
    csv: bool,
    line: u64,
    /// Records to give before reading on, the next last: the first one
    /// (read to recognise the format) and any given back.
    pending: Vec<Record>,
    /// Set when the stream itself broke (a truncated .gz, a failing disk):
    /// no record can follow, so reading stops there.
    broken: Option<Rejection>,
    /// Records seen, by a hash of their text, when repeats are counted.
    seen: Option<std::collections::HashMap<u64, u32>>,
}

/// The file with its first bytes read ahead (to tell JSON lines from a
/// document) put back in front.
type Peeked<R> = std::io::Chain<std::io::Cursor<Vec<u8>>, R>;

enum Input<R: BufRead> {
    Lines(std::io::Lines<Peeked<R>>),
    Document(JsonItems<Peeked<R>>),
}

/// Read ahead up to the first line's end, or this much of a longer line.
const PEEK: usize = 64 * 1024;

/// The file's first line, or its first `PEEK` bytes, read from `reader`
/// (however little each read gives: decoders give a few bytes at first).
fn peek<R: BufRead>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let mut start = Vec::new();
    while start.len() < PEEK && !start.contains(&b'\n') {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if start.is_empty() => return Err(e),
            // The read fails again where the records are read, and says where.
            Err(_) => break,
        };
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(PEEK - start.len());
        start.extend_from_slice(&buf[..take]);
        reader.consume(take);
    }
    Ok(start)
}

impl<R: BufRead> RecordReader<R> {
    /// Reads the first record (for format detection) and keeps it pending:
    /// the first line, or a JSON document's first item.
    fn open(mut reader: R) -> Result<(RecordReader<R>, String), Rejection> {
        let start = peek(&mut reader).map_err(|e| Rejection {
            line: 1,
            reason: e.to_string(),
            raw: String::new(),
        })?;
        let document = looks_like_document(&start);
        let reader = std::io::Cursor::new(start).chain(reader);
        if document {
            let mut items = JsonItems::new(reader);
            let first = match items.next() {
                Some(Ok(record)) => Some(record),
                Some(Err(rejection)) => return Err(rejection),
                None => match items.broken() {
                    Some(broken) => return Err(broken.clone()),
                    None => None,
                },
            };
            let text = first.as_ref().map(|r| r.text.clone()).unwrap_or_default();
            let reader = RecordReader {
                input: Input::Document(items),
                csv: false,
                line: 1,
                pending: first.into_iter().collect(),
                broken: None,
                seen: None,
            };
            return Ok((reader, text));
        }
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
            input: Input::Lines(lines),
            csv: false,
            line: 1,
            pending: vec![Record {
                line: 1,
                text: first.clone(),
                repeat: 0,
            }],
            broken: None,
            seen: None,
        };
        Ok((reader, first))
    }

    /// A CSV file: its first record is the header.
    pub(crate) fn open_csv(reader: R) -> Result<RecordReader<R>, Rejection> {
        let (mut records, _) = RecordReader::open(reader)?;
        records.csv = true;
        Ok(records)
    }

    /// Gives `record` back: the next call returns it again (records given
    /// back one after another come out in the reverse order).
    pub(crate) fn put_back(&mut self, record: Record) {
        self.pending.push(record);
    }

    /// Counts repeated records from here on (see `Record::repeat`).
    pub(crate) fn count_repeats(&mut self) {
        self.seen = Some(std::collections::HashMap::new());
    }

    fn with_repeat(&mut self, mut record: Record) -> Record {
        if let Some(seen) = &mut self.seen {
            let count = seen
                .entry(vouch_domain::stable_hash([record.text.as_str()]))
                .or_insert(0);
            record.repeat = *count;
            *count += 1;
        }
        record
    }

    /// Whether the file is one JSON document, read item by item.
    pub fn is_document(&self) -> bool {
        matches!(self.input, Input::Document(_))
    }

    /// The line last read.
    pub fn line(&self) -> u64 {
        match &self.input {
            Input::Document(items) => items.line(),
            Input::Lines(_) => self.line,
        }
    }

    /// Why reading stopped before the end of the file, if it did: the
    /// stream broke, so the records stop at the last whole one.
    pub fn broken(&self) -> Option<&Rejection> {
        match &self.input {
            Input::Document(items) => items.broken(),
            Input::Lines(_) => self.broken.as_ref(),
        }
    }

    /// The next line. A line that is not UTF-8 is a bad record (the
    /// reader has consumed it; reading goes on); any other error breaks
    /// the stream, which ends the records, since a decoder that failed
    /// once fails for ever.
    fn next_line(&mut self) -> Option<Result<String, Rejection>> {
        if self.broken.is_some() {
            return None;
        }
        let Input::Lines(lines) = &mut self.input else {
            return None;
        };
        match lines.next()? {
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
        if let Input::Document(items) = &mut self.input {
            let next = match self.pending.pop() {
                Some(first) => Ok(first),
                None => items.next()?,
            };
            return Some(next.map(|r| self.with_repeat(r)));
        }
        loop {
            let (start, mut text) = match self.pending.pop() {
                Some(first) => (first.line, first.text),
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
                let record = Record {
                    line: start,
                    text,
                    repeat: 0,
                };
                return Some(Ok(self.with_repeat(record)));
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
        self.parse_with_companion(record).0
    }

    /// The record's item, and the item it carries besides, if any (a
    /// Zendesk ticket's satisfaction rating).
    pub fn parse_with_companion(
        &self,
        record: &Record,
    ) -> (Result<Feedback, Rejection>, Option<Feedback>) {
        let mut companion = None;
        let parsed = match &self.headers {
            Some(headers) => match csv_record(&record.text) {
                Some(fields) => self.format.parse_csv(headers, &fields, &self.options),
                None => Err("not a CSV record".to_owned()),
            },
            None => match self.format.parse_json_line(&record.text) {
                Some(item) => Ok(item),
                None => match serde_json::from_str::<serde_json::Value>(&record.text) {
                    Ok(value) => {
                        companion = self
                            .format
                            .companion_json(&value)
                            .and_then(|item| item.admit().ok());
                        self.format.parse_json(&value, &self.options)
                    }
                    Err(e) => Err(format!("invalid JSON: {e}")),
                },
            },
        };
        let parsed = parsed
            .map(|mut item| {
                // The second of two identical rows is a second item.
                if record.repeat > 0 && is_content_id(&item.source_id) {
                    item.source_id = format!("{}-{}", item.source_id, record.repeat + 1);
                }
                item
            })
            .and_then(|item| item.admit().map_err(|e| e.to_string()))
            .map_err(|reason| Rejection {
                line: record.line,
                reason,
                raw: record.text.clone(),
            });
        (parsed, companion)
    }

    /// The CSV header, for formats that have one.
    pub fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }

    pub fn options(&self) -> &ReadOptions {
        &self.options
    }
}

/// A record through `parse`: its value, or its rejection naming the line
/// and keeping the raw record (the row readers of answers and customers).
pub(crate) fn parsed<T>(
    record: Record,
    parse: impl FnOnce(u64, &str) -> Result<T, String>,
) -> Result<T, Rejection> {
    parse(record.line, &record.text).map_err(|reason| Rejection {
        line: record.line,
        reason,
        raw: record.text,
    })
}

/// Whether `id` is `Feedback::content_id`'s (maybe after a prefix such as
/// Play's package name), not the vendor's.
fn is_content_id(id: &str) -> bool {
    let last = id.rsplit(':').next().unwrap_or(id);
    last.len() == 17 && last.starts_with('h') && last[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

thread_local! {
    /// One CSV parser per thread, reset for each record: building one (its
    /// state machine) for every row was a fifth of a survey-answer import's CPU.
    static CSV_LINE: std::cell::RefCell<(csv_core::Reader, Vec<u8>, Vec<usize>)> =
        std::cell::RefCell::new((csv_core::Reader::new(), vec![0; 1024], vec![0; 64]));
}

/// The fields of one CSV record (a line, or lines joined inside quotes);
/// `None` for a blank one.
pub(crate) fn csv_record(line: &str) -> Option<Vec<String>> {
    use csv_core::ReadRecordResult;
    CSV_LINE.with_borrow_mut(|(reader, output, ends)| {
        reader.reset();
        let mut input = line.as_bytes();
        let (mut written, mut fields) = (0, 0);
        loop {
            // Once the input is used up, an empty slice tells the parser the record ended.
            let (result, read, out, ended) =
                reader.read_record(input, &mut output[written..], &mut ends[fields..]);
            input = &input[read..];
            written += out;
            fields += ended;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => output.resize(output.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                ReadRecordResult::Record => break,
                ReadRecordResult::End => return None,
            }
        }
        let mut start = 0;
        ends[..fields]
            .iter()
            .map(|&end| {
                let field = String::from_utf8(output[start..end].to_vec()).ok();
                start = end;
                field
            })
            .collect()
    })
}

/// A file (or standard input) in one of the export formats.
pub struct FileSource<R: BufRead> {
    records: RecordReader<R>,
    parser: Parser,
    /// The item the last record carried besides its own.
    companion: Option<Feedback>,
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
            None => Format::detect(&first).ok_or_else(|| refuse(UNRECOGNISED_FORMAT.to_owned()))?,
        };
        format.check_options(&options).map_err(refuse)?;
        let mut headers = None;
        // A vendor with both CSV exports and a JSON API (Trustpilot): JSON
        // lines or a document are read as JSON.
        let json = records.is_document() || first.trim_start().starts_with('{');
        if format.is_csv() && !json {
            records.csv = true;
            let header = records.next().transpose()?.map(|r| r.text);
            headers = Some(header.as_deref().and_then(csv_record).unwrap_or_default());
        }
        if let Some(headers) = &headers {
            format.check_headers(headers, &options).map_err(refuse)?;
        }
        if format.may_lack_ids() {
            records.count_repeats();
        }
        Ok(FileSource {
            records,
            parser: Parser {
                format,
                headers,
                options,
            },
            companion: None,
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
        if let Some(companion) = self.companion.take() {
            return Some(Ok(companion));
        }
        let record = match self.records.next()? {
            Ok(record) => record,
            Err(rejection) => return Some(Err(rejection)),
        };
        let (item, companion) = self.parser.parse_with_companion(&record);
        self.companion = companion;
        Some(item)
    }
}

impl<R: BufRead> FeedbackSource for FileSource<R> {
    fn cursor(&self) -> String {
        format!("line {}", self.records.line())
    }
}

#[cfg(test)]
mod csv_tests {
    use super::csv_record;

    /// What the csv crate reads from one record, as the reused parser must.
    fn by_the_csv_crate(line: &str) -> Option<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes())
            .records()
            .next()?
            .ok()
            .map(|r| r.iter().map(str::to_owned).collect())
    }

    #[test]
    fn the_reused_parser_reads_records_as_the_csv_crate_does() {
        let long = "x".repeat(5_000);
        let wide = vec!["f"; 300].join(",");
        for line in [
            "a,b,c",
            "",
            "\n",
            "\u{feff}email,score",
            "\"quoted, with comma\",\"say \"\"hi\"\"\",3",
            "\"two\nlines\",9",
            "\"unclosed quote,7",
            "trailing,",
            ",,",
            "café,șase,10",
            long.as_str(),
            wide.as_str(),
        ] {
            assert_eq!(csv_record(line), by_the_csv_crate(line), "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_line_reads_alike(line in "[a-z\",\\n ;é]{0,40}") {
            proptest::prop_assert_eq!(csv_record(&line), by_the_csv_crate(&line));
        }
    }
}
