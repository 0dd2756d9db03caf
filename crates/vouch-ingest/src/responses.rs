//! `responses-csv`: survey answers exported from another tool (Google Forms,
//! Typeform, Delighted, SurveyMonkey…), one answer per row.

use std::collections::BTreeMap;
use std::io::BufRead;

use chrono::{DateTime, Utc};
use vouch_domain::{Email, Locale, Score, SurveyKind};

use crate::mapping::Row;
use crate::source::{RecordReader, csv_record};
use crate::{FieldMap, ReadOptions, Rejection};

/// The fields of a response export; `--map` names their columns.
const FIELDS: &[&str] = &[
    "score",
    "comment",
    "answered_at",
    "email",
    "customer",
    "name",
    "locale",
];

/// One answer read from an export, with whatever identifies its customer.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedAnswer {
    pub line: u64,
    pub score: Score,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
    pub email: Option<Email>,
    /// The company's id for the customer (CRM id).
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub locale: Option<Locale>,
    /// The other columns: customer attributes when the customer is known
    /// (email or id), else the answer's metadata.
    pub other: BTreeMap<String, String>,
}

impl ImportedAnswer {
    /// A key that is the same every time this answer is imported into
    /// `survey`: the respondent and the time, or for anonymous rows a hash
    /// of everything they say (`stable_hash`).
    pub fn import_key(&self, survey: &str) -> String {
        let at = self.answered_at.to_rfc3339();
        if let Some(who) = self
            .email
            .as_ref()
            .map(|e| e.as_str().to_lowercase())
            .or_else(|| self.external_id.clone())
        {
            return format!("{survey}\u{1f}{who}\u{1f}{at}");
        }
        let score = self.score.value().to_string();
        let parts = [
            at.as_str(),
            score.as_str(),
            self.comment.as_deref().unwrap_or(""),
        ]
        .into_iter()
        .chain(
            self.other
                .iter()
                .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
        );
        let hash = vouch_domain::stable_hash(parts);
        format!("{survey}\u{1f}h{hash:016x}")
    }
}

/// Which column holds each field, decided once from the header.
#[derive(Debug, Clone, Default)]
struct Columns {
    by_field: BTreeMap<&'static str, String>,
}

const COMMENT_WORDS: &[&str] = &[
    "comment", "why", "reason", "feedback", "tell us", "anything", "improve",
];
const SCORE_WORDS: &[&str] = &[
    "score",
    "recommend",
    "likely",
    "rating",
    "nps",
    "satisf",
    "easy",
];
const TIME_COLUMNS: &[&str] = &[
    "answered_at",
    "timestamp",
    "submitted at",
    "submit date (utc)",
    "end date",
    "date",
    "created_at",
    "response date",
    "recorded date",
    // Delighted's and Formbricks' exports.
    "created",
    "created at",
];

impl Columns {
    fn from_header(
        headers: &[String],
        questions: Option<&[String]>,
        map: &FieldMap,
    ) -> Result<Columns, String> {
        // A column's meaning is its name and, where the export gives one,
        // its question's text.
        let lower: Vec<String> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let question = questions
                    .and_then(|q| q.get(i))
                    .map(|q| q.trim().to_lowercase())
                    .filter(|q| !q.is_empty() && !q.eq_ignore_ascii_case(h.trim()));
                match question {
                    Some(q) => format!("{} | {q}", h.trim().to_lowercase()),
                    None => h.trim().to_lowercase(),
                }
            })
            .collect();
        let name_of = |i: usize| lower[i].split(" | ").next().unwrap_or_default().to_owned();
        let question_of = |i: usize| lower[i].split(" | ").nth(1).map(str::to_owned);
        let mut columns = Columns::default();
        for field in FIELDS {
            if let Some(column) = map.get(field) {
                if !lower.contains(&column.to_lowercase()) {
                    return Err(format!(
                        "--map {field}={column}: the header has no column {column:?} (it has {})",
                        headers.join(", ")
                    ));
                }
                columns.by_field.insert(field, column.to_owned());
            }
        }
        let taken = |c: &Columns, i: usize| {
            c.by_field
                .values()
                .any(|v| v.eq_ignore_ascii_case(headers[i].trim()))
        };
        let is_comment = |h: &str| COMMENT_WORDS.iter().any(|w| h.contains(w));
        let mut guess = |field: &'static str, matches: &dyn Fn(usize) -> bool| {
            if columns.by_field.contains_key(field) {
                return;
            }
            if let Some(i) = (0..lower.len()).find(|&i| matches(i) && !taken(&columns, i)) {
                columns.by_field.insert(field, headers[i].trim().to_owned());
            }
        };
        let either = |i: usize, test: &dyn Fn(&str) -> bool| {
            test(&name_of(i)) || question_of(i).is_some_and(|q| test(&q))
        };
        guess("answered_at", &|i| {
            either(i, &|h| TIME_COLUMNS.contains(&h))
        });
        guess("email", &|i| {
            either(i, &|h| h.contains("email") || h.contains("e-mail"))
        });
        guess("customer", &|i| {
            either(i, &|h| {
                ["customer_id", "external_id", "user_id"].contains(&h)
            })
        });
        guess("locale", &|i| {
            either(i, &|h| ["locale", "language"].contains(&h))
        });
        guess("name", &|i| {
            either(i, &|h| ["name", "full name"].contains(&h))
        });
        guess("comment", &|i| is_comment(&lower[i]));
        if !columns.by_field.contains_key("score") {
            // Qualtrics' `Q1_NPS_GROUP` ("… - Group") holds the category
            // code 1-3, not the score.
            let group = |h: &str| h.contains("_nps_group") || h.ends_with(" - group");
            let candidates: Vec<usize> = (0..lower.len())
                .filter(|&i| {
                    let h = &lower[i];
                    !is_comment(h)
                        && !group(h)
                        && !taken(&columns, i)
                        && SCORE_WORDS.iter().any(|w| h.contains(w))
                })
                .collect();
            match candidates.as_slice() {
                [] => {}
                [one] => {
                    columns
                        .by_field
                        .insert("score", headers[*one].trim().to_owned());
                }
                many => {
                    let names: Vec<String> = many
                        .iter()
                        .map(|i| format!("{:?}", headers[*i].trim()))
                        .collect();
                    return Err(format!(
                        "{} columns could be the score ({}): name one with --map score=COLUMN",
                        many.len(),
                        names.join(", ")
                    ));
                }
            }
        }
        for needed in ["score", "answered_at"] {
            if !columns.by_field.contains_key(needed) {
                return Err(format!(
                    "no {needed} column: name it with --map {needed}=COLUMN (the header has {})",
                    headers.join(", ")
                ));
            }
        }
        Ok(columns)
    }

    fn column(&self, field: &str) -> Option<&str> {
        self.by_field.get(field).map(String::as_str)
    }

    fn is_field_column(&self, header: &str) -> bool {
        self.by_field
            .values()
            .any(|v| v.eq_ignore_ascii_case(header))
    }
}

/// Answers from a response export, line-numbered, bad rows as rejections.
pub struct ResponseSource<R: BufRead> {
    records: RecordReader<R>,
    headers: Vec<String>,
    columns: Columns,
    kind: SurveyKind,
    options: ReadOptions,
    layout: Layout,
}

/// What the header rows said about the file.
#[derive(Debug, Default)]
struct Layout {
    /// Qualtrics' second row: each column's question text.
    questions: Option<Vec<String>>,
    /// The zone of times written without one (Qualtrics' third row).
    zone: Option<chrono_tz::Tz>,
}

/// SurveyMonkey's second header row: nothing under the respondent's
/// columns, and "Response", "Open-Ended Response" or a choice under each
/// question.
fn is_survey_monkey_second_row(fields: &[String]) -> bool {
    fields.first().is_some_and(|f| f.trim().is_empty())
        && fields
            .iter()
            .any(|f| matches!(f.trim(), "Response" | "Open-Ended Response"))
}

/// Qualtrics' third header row: `{"ImportId":"startDate",…}` in each column.
fn is_qualtrics_import_row(text: &str) -> bool {
    csv_record(text)
        .and_then(|fields| fields.into_iter().next())
        .is_some_and(|f| f.trim_start().starts_with("{\"ImportId\""))
}

/// The `timeZone` Qualtrics names for its dates in the third row.
fn qualtrics_zone(text: &str) -> Option<chrono_tz::Tz> {
    csv_record(text)?.iter().find_map(|field| {
        let v: serde_json::Value = serde_json::from_str(field).ok()?;
        v.get("timeZone")?.as_str()?.parse().ok()
    })
}

impl<R: BufRead> ResponseSource<R> {
    /// Why reading stopped before the end of the file, if it did.
    pub fn broken(&self) -> Option<&Rejection> {
        self.records.broken()
    }

    /// Reads the header rows and decides which column holds which field.
    /// Qualtrics writes three header rows (names, question texts, import
    /// ids with the time zone) and SurveyMonkey two (questions, then
    /// "Response" or the choice under each): those rows are headers, never
    /// answers or rejects.
    pub fn new(reader: R, kind: SurveyKind, options: ReadOptions) -> Result<Self, Rejection> {
        let mut records = RecordReader::open_csv(reader)?;
        let header = records
            .next()
            .transpose()?
            .map(|r| r.text)
            .unwrap_or_default();
        let refuse = |reason: String| Rejection {
            line: 1,
            reason,
            raw: header.clone(),
        };
        options
            .mapping
            .check(FIELDS, "responses-csv")
            .map_err(refuse)?;
        let headers = csv_record(&header).unwrap_or_default();
        let mut layout = Layout::default();
        if let Some(second) = records.next().transpose()? {
            let fields = csv_record(&second.text).unwrap_or_default();
            // SurveyMonkey's second row is a header: nothing to give back.
            if !is_survey_monkey_second_row(&fields) {
                match records.next().transpose()? {
                    Some(third) if is_qualtrics_import_row(&third.text) => {
                        layout.questions = Some(fields);
                        layout.zone = qualtrics_zone(&third.text);
                    }
                    // Answers from the second row on: give both back, in order.
                    Some(third) => {
                        records.put_back(third);
                        records.put_back(second);
                    }
                    None => records.put_back(second),
                }
            }
        }
        let columns = Columns::from_header(&headers, layout.questions.as_deref(), &options.mapping)
            .map_err(refuse)?;
        Ok(ResponseSource {
            records,
            headers,
            columns,
            kind,
            options,
            layout,
        })
    }

    /// Which column each field was read from, for the summary.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &str)> {
        self.columns.by_field.iter().map(|(f, c)| (*f, c.as_str()))
    }

    /// An answer's time: in the zone the export names for times written
    /// without one (Qualtrics), else as `--tz` and the options say.
    fn time(&self, raw: &str) -> Result<DateTime<Utc>, String> {
        match self.layout.zone {
            Some(zone) => {
                crate::times::parse_time_in(raw, self.options.date_format.as_deref(), zone)
                    .map(|(at, _)| at)
            }
            None => self.options.time(raw),
        }
    }

    fn parse(&self, line: u64, text: &str) -> Result<ImportedAnswer, String> {
        // Control characters never reach the store (PostgreSQL refuses NUL).
        let text = vouch_domain::text::without_controls(text);
        let fields = csv_record(&text).ok_or("not a CSV record")?;
        let row = Row::Csv {
            headers: &self.headers,
            fields: &fields,
        };
        let get = |field: &str| self.columns.column(field).and_then(|c| row.get(c));
        let named = |field: &str| self.columns.column(field).unwrap_or(field).to_owned();
        let raw_score =
            get("score").ok_or_else(|| format!("field `{}`: missing", named("score")))?;
        // "9", "9.0" and SurveyMonkey's "10 - Extremely likely" all start with the score.
        let digits: String = raw_score
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let value: f64 = digits
            .parse()
            .map_err(|_| format!("field `{}`: {raw_score:?} is not a score", named("score")))?;
        if value.fract() != 0.0 {
            return Err(format!(
                "field `{}`: {raw_score:?} is not a whole number",
                named("score")
            ));
        }
        let score = Score::new(self.kind, value as i64)
            .map_err(|e| format!("field `{}`: {e}", named("score")))?;
        let raw_time = get("answered_at")
            .ok_or_else(|| format!("field `{}`: missing", named("answered_at")))?;
        let answered_at = self
            .time(&raw_time)
            .map_err(|e| format!("field `{}`: {e}", named("answered_at")))?;
        let email = get("email")
            .map(|e| Email::parse(&e).map_err(|err| format!("field `{}`: {err}", named("email"))))
            .transpose()?;
        let locale = get("locale").and_then(|l| Locale::parse(&l).ok());
        let comment = get("comment");
        if let Some(comment) = &comment {
            vouch_domain::text::check_length(
                "comment",
                comment,
                vouch_domain::text::MAX_TEXT_CHARS,
            )
            .map_err(|e| format!("field `{}`: {e}", named("comment")))?;
        }
        let other = row
            .columns()
            .into_iter()
            .filter(|(h, _)| !self.columns.is_field_column(h))
            .collect();
        Ok(ImportedAnswer {
            line,
            score,
            comment,
            answered_at,
            email,
            external_id: get("customer"),
            name: get("name"),
            locale,
            other,
        })
    }
}

impl<R: BufRead> Iterator for ResponseSource<R> {
    type Item = Result<ImportedAnswer, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = match self.records.next()? {
            Ok(record) => record,
            Err(rejection) => return Some(Err(rejection)),
        };
        Some(crate::source::parsed(record, |line, text| {
            self.parse(line, text)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, kind: SurveyKind, map: &[&str]) -> Vec<Result<ImportedAnswer, Rejection>> {
        let options = ReadOptions {
            mapping: FieldMap::parse(map).unwrap(),
            ..ReadOptions::default()
        };
        ResponseSource::new(text.as_bytes(), kind, options)
            .unwrap()
            .collect()
    }

    #[test]
    fn google_forms_export_needs_no_map() {
        let file = "\
Timestamp,Email Address,How likely is it that you would recommend us to a friend or colleague?,What is the main reason for your score?,Plan
3/5/2026 14:07:09,ana@example.com,9,\"Fast, friendly\",pro
3/6/2026 9:00:00,bob@example.com,11,too high,basic
3/7/2026 9:00:00,,3,\"slow
and buggy\",
";
        let rows = read(file, SurveyKind::Nps, &[]);
        let ana = rows[0].as_ref().unwrap();
        assert_eq!(ana.score.value(), 9);
        assert_eq!(ana.comment.as_deref(), Some("Fast, friendly"));
        assert_eq!(ana.email.as_ref().unwrap().as_str(), "ana@example.com");
        assert_eq!(ana.answered_at.to_rfc3339(), "2026-03-05T14:07:09+00:00");
        assert_eq!(ana.other.get("Plan").map(String::as_str), Some("pro"));
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.line, 3);
        assert!(
            bad.reason.contains("recommend") && bad.reason.contains("11"),
            "{}",
            bad.reason
        );
        let anonymous = rows[2].as_ref().unwrap();
        assert_eq!(anonymous.comment.as_deref(), Some("slow\nand buggy"));
        assert!(anonymous.email.is_none());
        assert_ne!(anonymous.import_key("s"), ana.import_key("s"));
        assert_eq!(anonymous.import_key("s"), anonymous.clone().import_key("s"));
    }

    #[test]
    fn mapped_columns_and_other_scales() {
        let file = "Submitted,Rate us,Words,Customer\n1772719629,5 - Very satisfied,great,C-1\n1772719630,0,bad,C-2\n";
        let rows = read(
            file,
            SurveyKind::Csat,
            &[
                "score=Rate us",
                "comment=Words",
                "answered_at=Submitted",
                "customer=Customer",
            ],
        );
        let first = rows[0].as_ref().unwrap();
        assert_eq!(
            (first.score.value(), first.external_id.as_deref()),
            (5, Some("C-1"))
        );
        assert!(rows[1].as_ref().unwrap_err().reason.contains("Rate us"));
        let options = ReadOptions {
            mapping: FieldMap::parse(&["score=Nope"]).unwrap(),
            ..ReadOptions::default()
        };
        let refused = ResponseSource::new(file.as_bytes(), SurveyKind::Csat, options)
            .err()
            .unwrap();
        assert!(refused.reason.contains("\"Nope\""), "{}", refused.reason);
    }
}
