//! The export formats, one parser each, from the vendors' documented fields.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use vouch_domain::{Author, Engagement, Feedback, Rating, Source};

use crate::ReadOptions;
use crate::mapping::Row;

/// A file format Vouch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Yelp Open Dataset `review.json` (JSON lines).
    Yelp,
    /// Amazon reviews as published by McAuley et al.: the 2014 and 2018
    /// field sets (`reviewerID`, `overall`, `reviewText`…) and the 2023 one
    /// (`user_id`, `rating`, `text`…), JSON lines.
    Amazon,
    /// Tripadvisor hotel reviews, CSV `Review,Rating` (no id, no date).
    Tripadvisor,
    /// Google Business Profile API `Review` objects, one per line
    /// (`reviewId`, `reviewer`, `starRating` ONE..FIVE, `comment`, `createTime`).
    GoogleBusiness,
    /// App Store Connect `customerReviews` resources, one per line
    /// (`id`, `attributes{rating, title, body, reviewerNickname, createdDate}`).
    AppStore,
    /// X (Twitter) API v2 tweets, one per line (`id`, `text`, `author_id`,
    /// `created_at`, `lang`, `public_metrics`).
    Twitter,
    /// Zendesk tickets, one per line (`id`, `subject`, `description`,
    /// `created_at`, `satisfaction_rating{score: good|bad}`).
    Zendesk,
    /// Trustpilot Business review export, CSV (`Review ID`, `Review Created
    /// (UTC)`, `Review Title`, `Review Content`, `Review Stars`, `Review
    /// Language`, `Consumer Name`, `Consumer Email`, `Reference Id`…).
    Trustpilot,
    /// Google Play Console review export, CSV (`Package Name`, `Reviewer
    /// Language`, `Review Submit Date and Time`, `Review Submit Millis Since
    /// Epoch`, `Star Rating`, `Review Title`, `Review Text`, `Review Link`…).
    /// Play writes these files in UTF-16; the reader decodes any BOM.
    GooglePlay,
    /// Any JSON lines: fields found under usual names or `--map`ped.
    Jsonl,
    /// Any CSV with a header: fields found under usual names or `--map`ped.
    Csv,
    /// Survey answers exported from Google Forms, Typeform, Delighted,
    /// SurveyMonkey…: read by `ResponseSource`, not as feedback.
    ResponsesCsv,
}

/// Every format's name, as `--format` takes it.
pub const FORMAT_NAMES: &[&str] = &[
    "yelp",
    "amazon",
    "tripadvisor",
    "google-business",
    "app-store",
    "twitter",
    "zendesk",
    "trustpilot",
    "google-play",
    "jsonl",
    "csv",
    "responses-csv",
];

/// The fields of the generic formats, each with the columns looked at when
/// `--map` does not name one.
const GENERIC_FIELDS: &[(&str, &[&str])] = &[
    ("id", &["id", "review_id", "reviewId", "uuid"]),
    (
        "text",
        &[
            "text", "body", "review", "content", "comment", "message", "feedback",
        ],
    ),
    ("title", &["title", "subject", "summary"]),
    ("rating", &["rating", "stars", "star_rating", "score"]),
    (
        "date",
        &[
            "date",
            "created_at",
            "createdAt",
            "posted_at",
            "timestamp",
            "time",
        ],
    ),
    ("author", &["author", "name", "author_name", "reviewer"]),
    ("handle", &["handle", "username", "user_id", "author_id"]),
    ("email", &["email", "author_email"]),
    ("customer", &["customer_id", "external_id"]),
    ("url", &["url", "link"]),
    ("language", &["language", "lang"]),
];

/// The fields of a generic JSON line or CSV record, by their own names.
pub fn generic_field_names() -> impl Iterator<Item = &'static str> {
    GENERIC_FIELDS.iter().map(|(field, _)| *field)
}

fn usual(field: &str) -> &'static [&'static str] {
    GENERIC_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(&[], |(_, columns)| columns)
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "yelp" => Ok(Format::Yelp),
            "amazon" => Ok(Format::Amazon),
            "tripadvisor" => Ok(Format::Tripadvisor),
            "google-business" => Ok(Format::GoogleBusiness),
            "app-store" => Ok(Format::AppStore),
            "twitter" => Ok(Format::Twitter),
            "zendesk" => Ok(Format::Zendesk),
            "trustpilot" => Ok(Format::Trustpilot),
            "google-play" => Ok(Format::GooglePlay),
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "responses-csv" => Ok(Format::ResponsesCsv),
            _ => Err(format!(
                "{s:?} is not a format: {}",
                FORMAT_NAMES.join(", ")
            )),
        }
    }
}

fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| v.get(*n))
        .filter(|f| !f.is_null())
}

fn text(v: &Value, names: &[&str]) -> Result<String, String> {
    match field(v, names).and_then(Value::as_str).map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        Some(_) => Err(format!("field `{}`: empty", names[0])),
        None => Err(format!("field `{}`: missing", names[0])),
    }
}

fn optional_text(v: &Value, names: &[&str]) -> Option<String> {
    field(v, names)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn number(v: &Value, names: &[&str]) -> Result<f64, String> {
    let f = field(v, names).ok_or_else(|| format!("field `{}`: missing", names[0]))?;
    f.as_f64()
        .or_else(|| {
            f.as_str()
                .and_then(|s| s.trim().replace(',', "").parse().ok())
        })
        .ok_or_else(|| format!("field `{}`: {f} is not a number", names[0]))
}

fn stars(v: &Value, names: &[&str]) -> Result<Rating, String> {
    let value = number(v, names)?;
    Rating::stars(value).map_err(|_| format!("field `{}`: rating {value} is outside 1-5", names[0]))
}

fn count(v: &Value, names: &[&str]) -> u64 {
    number(v, names).map(|n| n.max(0.0) as u64).unwrap_or(0)
}

impl Format {
    /// Recognises a format from a file's first line.
    pub fn detect(first_line: &str) -> Option<Format> {
        let line = first_line.trim_start_matches('\u{feff}').trim();
        if line.starts_with('{') {
            let v: Value = serde_json::from_str(line).ok()?;
            if v.get("review_id").is_some() && v.get("business_id").is_some() {
                return Some(Format::Yelp);
            }
            // A review of the API, or of a Takeout `reviews.json` (the
            // resource `name` where `reviewId` is left out).
            if v.get("starRating").is_some()
                && (v.get("reviewId").is_some() || v.get("name").is_some())
            {
                return Some(Format::GoogleBusiness);
            }
            // Trustpilot's API: `stars` and the reviewing `consumer`.
            if v.get("stars").is_some() && v.get("consumer").is_some() {
                return Some(Format::Trustpilot);
            }
            // An X archive's `tweets.js` wraps each tweet.
            if v.pointer("/tweet/full_text").is_some() {
                return Some(Format::Twitter);
            }
            if v.pointer("/attributes/reviewerNickname").is_some() {
                return Some(Format::AppStore);
            }
            // The Play Developer API's `reviews.list`: the rating is in the
            // user's comment.
            if v.get("reviewId").is_some() && v.pointer("/comments/0/userComment").is_some() {
                return Some(Format::GooglePlay);
            }
            if v.get("public_metrics").is_some() && v.get("text").is_some() {
                return Some(Format::Twitter);
            }
            if v.get("satisfaction_rating").is_some()
                || (v.get("subject").is_some() && v.get("requester_id").is_some())
                || (v.get("score").is_some() && v.get("ticket_id").is_some())
            {
                return Some(Format::Zendesk);
            }
            let amazon_id = ["reviewerID", "asin", "parent_asin"]
                .iter()
                .any(|k| v.get(*k).is_some());
            let amazon_review = ["reviewText", "overall", "rating"]
                .iter()
                .any(|k| v.get(*k).is_some());
            return (amazon_id && amazon_review).then_some(Format::Amazon);
        }
        let header: Vec<String> = crate::source::csv_record(line)
            .unwrap_or_default()
            .iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        let has = |name: &str| header.iter().any(|h| h == name);
        if header == ["review", "rating"] {
            Some(Format::Tripadvisor)
        } else if has("review id") && has("review stars") {
            Some(Format::Trustpilot)
        } else if has("package name") && has("star rating") {
            Some(Format::GooglePlay)
        } else {
            None
        }
    }

    /// Formats whose items may have no id of their own, so that the id is
    /// a hash of the content.
    pub(crate) fn may_lack_ids(self) -> bool {
        matches!(
            self,
            Format::Tripadvisor | Format::GooglePlay | Format::Csv | Format::Jsonl
        )
    }

    pub(crate) fn is_csv(self) -> bool {
        matches!(
            self,
            Format::Tripadvisor
                | Format::Trustpilot
                | Format::GooglePlay
                | Format::Csv
                | Format::ResponsesCsv
        )
    }

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yelp => "yelp",
            Format::Amazon => "amazon",
            Format::Tripadvisor => "tripadvisor",
            Format::GoogleBusiness => "google-business",
            Format::AppStore => "app-store",
            Format::Twitter => "twitter",
            Format::Zendesk => "zendesk",
            Format::Trustpilot => "trustpilot",
            Format::GooglePlay => "google-play",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::ResponsesCsv => "responses-csv",
        }
    }

    /// Options only some formats take.
    pub(crate) fn check_options(self, options: &ReadOptions) -> Result<(), String> {
        let generic = matches!(self, Format::Jsonl | Format::Csv);
        if self == Format::ResponsesCsv {
            return Err(
                "responses-csv holds survey answers, not feedback: import it with --survey"
                    .to_owned(),
            );
        }
        if !generic && options.source.is_some() {
            return Err(format!(
                "--source applies to the jsonl and csv formats; {} items come from {}",
                self.name(),
                self.name()
            ));
        }
        if !generic && !options.mapping.is_empty() {
            return Err(format!(
                "--map applies to the jsonl, csv and responses-csv formats, not {}",
                self.name()
            ));
        }
        let fields: Vec<&str> = GENERIC_FIELDS.iter().map(|(f, _)| *f).collect();
        options.mapping.check(&fields, self.name())
    }

    /// Checks a CSV header against what the format needs.
    pub(crate) fn check_headers(
        self,
        headers: &[String],
        options: &ReadOptions,
    ) -> Result<(), String> {
        let has = |name: &str| headers.iter().any(|h| h.trim().eq_ignore_ascii_case(name));
        let needed: Vec<String> = match self {
            Format::Csv => {
                for (field, column) in options.mapping.fields().zip(options.mapping.columns()) {
                    if !has(column) {
                        return Err(format!(
                            "--map {field}={column}: the header has no column {column:?} (it has {})",
                            headers.join(", ")
                        ));
                    }
                }
                if options.mapping.get("text").is_none() && !usual("text").iter().any(|c| has(c)) {
                    return Err(format!(
                        "no text column: name it with --map text=COLUMN (the header has {})",
                        headers.join(", ")
                    ));
                }
                Vec::new()
            }
            Format::Trustpilot => vec!["Review ID".into(), "Review Stars".into()],
            Format::GooglePlay => vec!["Star Rating".into(), "Review Text".into()],
            _ => Vec::new(),
        };
        match needed.iter().find(|n| !has(n)) {
            Some(missing) => Err(format!("the header has no column {missing:?}")),
            None => Ok(()),
        }
    }

    /// The item a JSON line holds, read without a `Value` tree when the
    /// format has a typed reader for lines of the usual shape (Yelp: it was
    /// a third of reading a review); `None` when it has none or the line is
    /// not of that shape, and `parse_json` (which says what is wrong) must.
    pub(crate) fn parse_json_line(self, line: &str) -> Option<Feedback> {
        match self {
            Format::Yelp => yelp_line(line),
            _ => None,
        }
    }

    /// The item a record carries besides its own: a Zendesk ticket's
    /// satisfaction rating, as the item a satisfaction-ratings export
    /// gives for it (`zendesk:rating:ID`), dated when the ticket last
    /// changed. `None` for every other record.
    pub(crate) fn companion_json(self, v: &Value) -> Option<Feedback> {
        if self != Format::Zendesk || v.get("ticket_id").is_some() {
            return None;
        }
        let rating = v.get("satisfaction_rating")?;
        let mut fields = serde_json::Map::new();
        fields.insert("id".into(), rating.get("id")?.clone());
        fields.insert("score".into(), rating.get("score")?.clone());
        fields.insert("ticket_id".into(), v.get("id")?.clone());
        for (to, from) in [
            ("comment", rating.get("comment")),
            ("created_at", v.get("updated_at").or(v.get("created_at"))),
            ("requester_id", v.get("requester_id")),
            ("url", v.get("url")),
        ] {
            if let Some(value) = from {
                fields.insert(to.into(), value.clone());
            }
        }
        zendesk_rating(&Value::Object(fields)).ok()
    }

    pub(crate) fn parse_json(self, v: &Value, options: &ReadOptions) -> Result<Feedback, String> {
        match self {
            Format::Yelp => {
                let date = text(v, &["date"])?;
                let posted_at = yelp_time(&date)
                    .map(|t| t.and_utc())
                    .ok_or_else(|| format!("field `date`: {date:?} is not YYYY-MM-DD HH:MM:SS"))?;
                let mut f = Feedback::new(
                    Source::Yelp,
                    text(v, &["review_id"])?,
                    text(v, &["text"])?,
                    posted_at,
                )
                .map_err(|e| e.to_string())?;
                f.rating = Some(stars(v, &["stars"])?);
                f.author = Author {
                    name: None,
                    handle: optional_text(v, &["user_id"]),
                    ..Author::default()
                };
                // Yelp's reactions (useful, funny, cool) are its likes.
                f.engagement = Engagement {
                    likes: count(v, &["useful"]) + count(v, &["funny"]) + count(v, &["cool"]),
                    ..Engagement::default()
                };
                f.url = optional_text(v, &["business_id"])
                    .map(|b| format!("https://www.yelp.com/biz/{b}"));
                Ok(f)
            }
            Format::Amazon => {
                let product = text(v, &["asin", "parent_asin"])?;
                let reviewer = text(v, &["reviewerID", "user_id"])?;
                let posted_at = match field(v, &["unixReviewTime"]) {
                    Some(_) => unix_seconds(number(v, &["unixReviewTime"])?)?,
                    None => unix_seconds(number(v, &["timestamp"])? / 1000.0)?,
                };
                let body = text(v, &["reviewText", "text"])?;
                let mut f = Feedback::new(
                    Source::Amazon,
                    format!("{product}:{reviewer}"),
                    body,
                    posted_at,
                )
                .map_err(|e| e.to_string())?;
                f.rating = Some(stars(v, &["overall", "rating"])?);
                f.title = optional_text(v, &["summary", "title"]);
                f.author = Author {
                    name: optional_text(v, &["reviewerName"]),
                    handle: Some(reviewer),
                    ..Author::default()
                };
                let helpful = match field(v, &["helpful"]).and_then(Value::as_array) {
                    Some(votes) => votes.first().and_then(Value::as_u64).unwrap_or(0),
                    None => count(v, &["vote", "helpful_vote"]),
                };
                f.engagement = Engagement {
                    likes: helpful,
                    ..Engagement::default()
                };
                f.url = Some(format!("https://www.amazon.com/dp/{product}"));
                Ok(f)
            }
            Format::GoogleBusiness => {
                let stars = match text(v, &["starRating"])?.as_str() {
                    "ONE" => 1.0,
                    "TWO" => 2.0,
                    "THREE" => 3.0,
                    "FOUR" => 4.0,
                    "FIVE" => 5.0,
                    other => return Err(format!("field `starRating`: {other:?} is not ONE..FIVE")),
                };
                // Takeout leaves out `reviewId`; the resource name ends with it.
                let id = match optional_text(v, &["reviewId"]) {
                    Some(id) => id,
                    None => text(v, &["name"])?
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                };
                // A rating without a comment is a star-only review.
                let mut f = Feedback::new(
                    Source::Google,
                    id,
                    optional_text(v, &["comment"]).unwrap_or_default(),
                    rfc3339(v, &["createTime"])?,
                )
                .map_err(|e| e.to_string())?;
                f.rating = Some(Rating::stars(stars).map_err(|e| e.to_string())?);
                let anonymous = v
                    .pointer("/reviewer/isAnonymous")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let name = v
                    .pointer("/reviewer/displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                f.author = Author {
                    name: name.filter(|_| !anonymous),
                    handle: None,
                    ..Author::default()
                };
                Ok(f)
            }
            Format::AppStore => {
                let a = v.get("attributes").ok_or("field `attributes`: missing")?;
                let mut f = Feedback::new(
                    Source::AppStore,
                    text(v, &["id"])?,
                    text(a, &["body"])?,
                    rfc3339(a, &["createdDate"])?,
                )
                .map_err(|e| e.to_string())?;
                f.rating = Some(stars(a, &["rating"])?);
                f.title = optional_text(a, &["title"]);
                f.author = Author {
                    name: optional_text(a, &["reviewerNickname"]),
                    handle: None,
                    ..Author::default()
                };
                Ok(f)
            }
            Format::Twitter => {
                // An X archive's `tweets.js` item is `{"tweet": {…}}`, with
                // `id_str`, `full_text`, counts and `Sat Mar 02 10:00:00 +0000 2024`.
                let v = v.get("tweet").unwrap_or(v);
                let id = match field(v, &["id_str", "id"]) {
                    Some(Value::String(id)) => id.clone(),
                    Some(Value::Number(id)) => id.to_string(),
                    _ => return Err("field `id`: missing".to_owned()),
                };
                let created = text(v, &["created_at"])?;
                let posted_at = DateTime::parse_from_rfc3339(&created)
                    .or_else(|_| DateTime::parse_from_str(&created, crate::times::X_TIME))
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        format!(
                            "field `created_at`: {created:?} is not an RFC 3339 or X archive time"
                        )
                    })?;
                let mut f = Feedback::new(
                    Source::Twitter,
                    id.clone(),
                    text(v, &["text", "full_text"])?,
                    posted_at,
                )
                .map_err(|e| e.to_string())?;
                f.author = Author {
                    name: None,
                    handle: optional_text(v, &["author_id"]),
                    ..Author::default()
                };
                f.language = optional_text(v, &["lang"]).filter(|l| l.len() == 2);
                f.engagement = match v.get("public_metrics") {
                    Some(metrics) => Engagement {
                        likes: count(metrics, &["like_count"]),
                        shares: count(metrics, &["retweet_count"])
                            + count(metrics, &["quote_count"]),
                        comments: count(metrics, &["reply_count"]),
                    },
                    // The archive's counts, as strings.
                    None => Engagement {
                        likes: count(v, &["favorite_count"]),
                        shares: count(v, &["retweet_count"]),
                        comments: 0,
                    },
                };
                f.url = Some(format!("https://x.com/i/web/status/{id}"));
                Ok(f)
            }
            Format::Zendesk if v.get("ticket_id").is_some() => zendesk_rating(v),
            Format::Zendesk => {
                let id = number(v, &["id"])? as u64;
                let body = text(v, &["description"])?;
                let mut f = Feedback::new(
                    Source::Support,
                    format!("zendesk:{id}"),
                    body,
                    rfc3339(v, &["created_at"])?,
                )
                .map_err(|e| e.to_string())?;
                f.title = optional_text(v, &["subject"]);
                f.author = Author {
                    name: None,
                    handle: field(v, &["requester_id"]).map(|r| r.to_string()),
                    ..Author::default()
                };
                // Offered or unoffered is no rating. A rating with an id of
                // its own is its own item (`companion_json`), the same one
                // a satisfaction-ratings export gives, so it counts once.
                f.rating = v
                    .pointer("/satisfaction_rating/score")
                    .and_then(Value::as_str)
                    .and_then(zendesk_satisfaction)
                    .filter(|_| v.pointer("/satisfaction_rating/id").is_none());
                Ok(f)
            }
            Format::Trustpilot => trustpilot_review(v),
            Format::GooglePlay => google_play_api_review(v),
            Format::Jsonl => generic(&Row::Json(v), options),
            _ => Err(format!("{} files are CSV", self.name())),
        }
    }

    pub(crate) fn parse_csv(
        self,
        headers: &[String],
        fields: &[String],
        options: &ReadOptions,
    ) -> Result<Feedback, String> {
        let row = Row::Csv { headers, fields };
        match self {
            Format::Tripadvisor => {
                let body = column(&row, "Review")?;
                let rating = stars_in(&column(&row, "Rating")?, "Rating")?;
                // No id and no date in this export: the id is a hash of the
                // content, taken before the stand-in date is set so that it
                // is the same at every re-import.
                let mut f =
                    Feedback::new(Source::Tripadvisor, "pending", body, DateTime::UNIX_EPOCH)
                        .map_err(|e| e.to_string())?;
                f.rating = Some(rating);
                f.source_id = f.content_id();
                f.posted_at = options.undated_at;
                Ok(f)
            }
            Format::Trustpilot => trustpilot(&row, options),
            Format::GooglePlay => google_play(&row, options),
            Format::Csv => generic(&row, options),
            _ => Err(format!("{} files are JSON lines", self.name())),
        }
    }
}

/// A required column of a vendor CSV.
fn column(row: &Row, name: &str) -> Result<String, String> {
    row.get(name)
        .ok_or_else(|| format!("field `{name}`: missing"))
}

/// Yelp's `YYYY-MM-DD HH:MM:SS`, as `NaiveDateTime::parse_from_str` reads
/// it, with the format read once instead of once a review.
fn yelp_time(date: &str) -> Option<NaiveDateTime> {
    use chrono::format::{Item, Parsed, StrftimeItems};
    static FORMAT: std::sync::LazyLock<Vec<Item<'static>>> = std::sync::LazyLock::new(|| {
        StrftimeItems::new("%Y-%m-%d %H:%M:%S")
            .parse_to_owned()
            .expect("a valid format")
    });
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, date, FORMAT.iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

/// A Yelp review line of the usual shape, read as `parse_json` reads it
/// (`typed_yelp_lines_read_as_the_general_parser_reads_them` checks that).
fn yelp_line(line: &str) -> Option<Feedback> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    struct Review<'a> {
        #[serde(borrow)]
        review_id: Cow<'a, str>,
        #[serde(borrow)]
        user_id: Option<Cow<'a, str>>,
        #[serde(borrow)]
        business_id: Option<Cow<'a, str>>,
        stars: f64,
        useful: Option<f64>,
        funny: Option<f64>,
        cool: Option<f64>,
        #[serde(borrow)]
        text: Cow<'a, str>,
        #[serde(borrow)]
        date: Cow<'a, str>,
    }
    let review: Review = serde_json::from_str(line).ok()?;
    let present = |s: &str| Some(s.trim()).filter(|t| !t.is_empty()).map(str::to_owned);
    let posted_at = yelp_time(review.date.trim())?;
    let mut f = Feedback::new(
        Source::Yelp,
        present(&review.review_id)?,
        present(&review.text)?,
        posted_at.and_utc(),
    )
    .ok()?;
    f.rating = Some(Rating::stars(review.stars).ok()?);
    f.author = Author {
        name: None,
        handle: review.user_id.as_deref().and_then(present),
        ..Author::default()
    };
    let count = |n: Option<f64>| n.map_or(0, |n| n.max(0.0) as u64);
    f.engagement = Engagement {
        likes: count(review.useful) + count(review.funny) + count(review.cool),
        ..Engagement::default()
    };
    f.url = review
        .business_id
        .as_deref()
        .and_then(present)
        .map(|b| format!("https://www.yelp.com/biz/{b}"));
    Some(f)
}

fn stars_in(raw: &str, name: &str) -> Result<Rating, String> {
    let value: f64 = raw
        .parse()
        .map_err(|_| format!("field `{name}`: {raw:?} is not a number"))?;
    Rating::stars(value).map_err(|_| format!("field `{name}`: rating {value} is outside 1-5"))
}

fn time_in(row: &Row, name: &str, options: &ReadOptions) -> Result<DateTime<Utc>, String> {
    let raw = column(row, name)?;
    options
        .time(&raw)
        .map_err(|e| format!("field `{name}`: {e}"))
}

fn trustpilot(row: &Row, options: &ReadOptions) -> Result<Feedback, String> {
    let id = column(row, "Review ID")?;
    let body = row.get("Review Content").unwrap_or_default();
    let mut f = Feedback::new(
        Source::Trustpilot,
        id.clone(),
        body,
        time_in(row, "Review Created (UTC)", options)?,
    )
    .map_err(|e| e.to_string())?;
    f.rating = Some(stars_in(&column(row, "Review Stars")?, "Review Stars")?);
    f.title = row.get("Review Title");
    f.language = row.get("Review Language").and_then(|l| language_code(&l));
    // Older exports name the author "Review Username" and "Review User Email".
    f.author = Author {
        name: row
            .get("Consumer Name")
            .or_else(|| row.get("Review Username")),
        handle: row.get("Review Consumer User ID"),
        email: row
            .get("Consumer Email")
            .or_else(|| row.get("Review User Email")),
        external_id: row.get("Reference Id"),
    };
    f.url = Some(format!("https://www.trustpilot.com/reviews/{id}"));
    Ok(f)
}

fn google_play(row: &Row, options: &ReadOptions) -> Result<Feedback, String> {
    let title = row.get("Review Title");
    // Play keeps star-only ratings too: a rating without text.
    let body = row
        .get("Review Text")
        .or_else(|| title.clone())
        .unwrap_or_default();
    let posted_at = match row.get("Review Submit Date and Time") {
        Some(raw) => options
            .time(&raw)
            .map_err(|e| format!("field `Review Submit Date and Time`: {e}"))?,
        None => time_in(row, "Review Submit Millis Since Epoch", options)?,
    };
    let link = row.get("Review Link");
    let mut f =
        Feedback::new(Source::GooglePlay, "pending", body, posted_at).map_err(|e| e.to_string())?;
    f.rating = Some(stars_in(&column(row, "Star Rating")?, "Star Rating")?);
    f.title = title.filter(|t| *t != f.body);
    f.language = row.get("Reviewer Language").and_then(|l| language_code(&l));
    // The review link carries Play's review id; without one, a content hash.
    // Older links spell it `reviewid=gp:…`; the id is the same review's.
    let review_id = link
        .as_deref()
        .and_then(play_review_id)
        .filter(|id| !id.is_empty());
    f.source_id = match review_id {
        Some(id) => id,
        None => {
            let package = row.get("Package Name").unwrap_or_default();
            format!("{package}:{}", f.content_id())
        }
    };
    f.url = link;
    Ok(f)
}

/// A review of the Play Developer API (`reviews.list`): `reviewId`,
/// `authorName` and `comments[]`, whose `userComment` holds the text,
/// `starRating`, `reviewerLanguage` and `lastModified{seconds, nanos}`.
/// The API gives no creation time, so the last change dates the review;
/// its id is the one Play's CSV export links to, so the two meet.
fn google_play_api_review(v: &Value) -> Result<Feedback, String> {
    let id = text(v, &["reviewId"])?;
    let comment = v
        .pointer("/comments")
        .and_then(Value::as_array)
        .and_then(|comments| comments.iter().find_map(|c| c.get("userComment")))
        .ok_or("field `comments`: no userComment")?;
    let modified = comment
        .get("lastModified")
        .ok_or("field `userComment.lastModified`: missing")?;
    let posted_at = unix_seconds(number(modified, &["seconds"])?)?;
    // A review with a title comes as "title<TAB>body".
    let raw = optional_text(comment, &["text"]).unwrap_or_default();
    let (title, body) = match raw.split_once('\t') {
        Some((title, body)) => (Some(title.trim().to_owned()), body.trim().to_owned()),
        None => (None, raw.trim().to_owned()),
    };
    let mut f =
        Feedback::new(Source::GooglePlay, id, body, posted_at).map_err(|e| e.to_string())?;
    f.rating = Some(stars(comment, &["starRating"])?);
    f.title = title.filter(|t| !t.is_empty());
    f.language = optional_text(comment, &["reviewerLanguage"]).and_then(|l| language_code(&l));
    f.author = Author {
        name: optional_text(v, &["authorName"]),
        ..Author::default()
    };
    Ok(f)
}

/// The review id in a Play review link, whichever spelling it uses.
fn play_review_id(link: &str) -> Option<String> {
    let query = link.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.eq_ignore_ascii_case("reviewid")
            .then(|| value.to_owned())
    })
}

/// A review of Trustpilot's API (`GET /v1/business-units/{id}/reviews`).
fn trustpilot_review(v: &Value) -> Result<Feedback, String> {
    let id = text(v, &["id"])?;
    let mut f = Feedback::new(
        Source::Trustpilot,
        id.clone(),
        optional_text(v, &["text"]).unwrap_or_default(),
        rfc3339(v, &["createdAt"])?,
    )
    .map_err(|e| e.to_string())?;
    f.rating = Some(stars(v, &["stars"])?);
    f.title = optional_text(v, &["title"]);
    f.language = optional_text(v, &["language"]).and_then(|l| language_code(&l));
    let consumer = v.get("consumer").cloned().unwrap_or_default();
    f.author = Author {
        name: optional_text(&consumer, &["displayName"]),
        handle: optional_text(&consumer, &["id"]),
        email: None,
        external_id: optional_text(v, &["referenceId"]),
    };
    f.url = Some(format!("https://www.trustpilot.com/reviews/{id}"));
    Ok(f)
}

/// Zendesk's satisfaction, good or bad: 1 or 0 on a 0–1 scale; any other
/// score (offered, unoffered) is no rating.
fn zendesk_satisfaction(score: &str) -> Option<Rating> {
    let value = match score {
        "good" => 1.0,
        "bad" => 0.0,
        _ => return None,
    };
    Rating::new(value, 0.0, 1.0).ok()
}

/// A Zendesk satisfaction rating (`GET /api/v2/satisfaction_ratings`): a
/// CSAT signal, good (1) or bad (0), on its ticket, from its requester.
fn zendesk_rating(v: &Value) -> Result<Feedback, String> {
    let score = text(v, &["score"])?;
    let rating = zendesk_satisfaction(&score)
        .ok_or_else(|| format!("field `score`: {score:?} is not a rating given (good or bad)"))?;
    let id = number(v, &["id"])? as u64;
    let ticket = number(v, &["ticket_id"])? as u64;
    let mut f = Feedback::new(
        Source::Support,
        format!("zendesk:rating:{id}"),
        optional_text(v, &["comment"]).unwrap_or_default(),
        rfc3339(v, &["created_at"])?,
    )
    .map_err(|e| e.to_string())?;
    f.rating = Some(rating);
    // The ticket's page in the agent interface, on the rating's own host.
    f.url = optional_text(v, &["url"])
        .and_then(|u| {
            let host = u.strip_prefix("https://")?.split('/').next()?.to_owned();
            Some(host)
        })
        .map(|host| format!("https://{host}/agent/tickets/{ticket}"));
    // The requester, as on their tickets: the same customer.
    f.author = Author {
        name: None,
        handle: field(v, &["requester_id"]).map(|r| r.to_string()),
        ..Author::default()
    };
    Ok(f)
}

/// `en`, `en_US`, `en-GB` → `en`.
fn language_code(raw: &str) -> Option<String> {
    let code = raw.split(['_', '-']).next()?.trim().to_lowercase();
    (code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase())).then_some(code)
}

/// Any JSON line or CSV record, fields found by `--map` or usual names.
fn generic(row: &Row, options: &ReadOptions) -> Result<Feedback, String> {
    let map = &options.mapping;
    let get = |field: &str| row.field(map, field, usual(field));
    let (body, _) = get("text").ok_or_else(|| match map.get("text") {
        Some(column) => format!("field `text` (column {column:?}): missing"),
        None => "field `text`: missing (name its column with --map text=COLUMN)".to_owned(),
    })?;
    let source = options.source.unwrap_or(Source::Other);
    let mut f =
        Feedback::new(source, "pending", body, DateTime::UNIX_EPOCH).map_err(|e| e.to_string())?;
    f.title = get("title").map(|(t, _)| t);
    if let Some((raw, column)) = get("rating") {
        f.rating = Some(stars_in(&raw, &column)?);
    }
    f.author = Author {
        name: get("author").map(|(v, _)| v),
        handle: get("handle").map(|(v, _)| v),
        email: get("email").map(|(v, _)| v),
        external_id: get("customer").map(|(v, _)| v),
    };
    f.url = get("url").map(|(v, _)| v);
    f.language = get("language").and_then(|(l, _)| language_code(&l));
    let date_column = map.get("date").is_some() || usual("date").iter().any(|c| row.has(c));
    let posted_at = match get("date") {
        Some((raw, column)) => Some(
            options
                .time(&raw)
                .map_err(|e| format!("field `{column}`: {e}"))?,
        ),
        None if date_column => return Err("field `date`: missing".to_owned()),
        None => None,
    };
    // Without an id, a hash of the content, taken before a stand-in date so
    // that it is the same at every re-import.
    f.posted_at = posted_at.unwrap_or(DateTime::UNIX_EPOCH);
    f.source_id = match get("id") {
        Some((id, _)) => id,
        None => f.content_id(),
    };
    f.posted_at = posted_at.unwrap_or(options.undated_at);
    Ok(f)
}

fn rfc3339(v: &Value, names: &[&str]) -> Result<DateTime<Utc>, String> {
    let raw = text(v, names)?;
    DateTime::parse_from_rfc3339(&raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("field `{}`: {raw:?} is not an RFC 3339 time", names[0]))
}

fn unix_seconds(seconds: f64) -> Result<DateTime<Utc>, String> {
    Utc.timestamp_opt(seconds as i64, 0)
        .single()
        .ok_or_else(|| format!("time {seconds} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileSource, ReadOptions, Rejection};

    fn read(text: &str, format: Option<Format>) -> Vec<Result<Feedback, Rejection>> {
        FileSource::new(text.as_bytes(), format).unwrap().collect()
    }

    #[test]
    fn typed_yelp_lines_take_the_fast_path() {
        let line = r#"{"review_id":"r1","user_id":"u1","business_id":"b1","stars":4.0,"useful":2,"funny":1,"cool":0,"text":"Great \"tacos\"\n\u00e9","date":"2018-07-07 22:09:11"}"#;
        let fast = Format::Yelp.parse_json_line(line).expect("the usual shape");
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            Ok(fast),
            Format::Yelp.parse_json(&value, &ReadOptions::default())
        );
        assert_eq!(Format::Amazon.parse_json_line(line), None);
    }

    /// One field of a generated Yelp line: mostly its usual value (so that
    /// about a third of the lines are of the usual shape), else absent or
    /// one of the odd values exports hold.
    fn yelp_field(
        name: &'static str,
        usual: &'static str,
    ) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            30 => Just(format!(r#""{name}":{usual},"#)),
            1 => Just(String::new()),
            1 => Just(format!(r#""{name}":null,"#)),
            1 => Just(format!(r#""{name}":"  ","#)),
            1 => Just(format!(r#""{name}":"","#)),
            1 => Just(format!(r#""{name}":-3,"#)),
            1 => Just(format!(r#""{name}":"1,234","#)),
            1 => Just(format!(r#""{name}":4.5,"#)),
            1 => Just(format!(r#""{name}":" x\u0219 ","#)),
            1 => Just(format!(r#""{name}":{usual},"{name}":{usual},"#)),
            1 => Just(format!(r#""{name}":[1],"#)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        #[test]
        fn yelp_times_read_as_parse_from_str_reads_them(
            date in "([0-9]{1,5}-[0-9]{1,2}-[0-9]{1,3}[ T][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}[ Z]?|[ -~]{0,20})"
        ) {
            proptest::prop_assert_eq!(
                yelp_time(&date),
                NaiveDateTime::parse_from_str(&date, "%Y-%m-%d %H:%M:%S").ok()
            );
        }

        #[test]
        fn typed_yelp_lines_read_as_the_general_parser_reads_them(
            fields in (
                yelp_field("review_id", r#""r1""#),
                yelp_field("user_id", r#""u1""#),
                yelp_field("business_id", r#""b1""#),
                yelp_field("stars", "5"),
                yelp_field("useful", "2"),
                yelp_field("funny", "1"),
                yelp_field("cool", "0"),
                yelp_field("text", r#"" Great tacos ""#),
                yelp_field("date", r#""2018-07-07 22:09:11""#),
            )
        ) {
            let (a, b, c, d, e, f, g, h, i) = fields;
            let line = format!(r#"{{{a}{b}{c}{d}{e}{f}{g}{h}{i}"extra":{{"x":[1,2]}}}}"#);
            if let Some(fast) = Format::Yelp.parse_json_line(&line) {
                let value: Value = serde_json::from_str(&line).unwrap();
                proptest::prop_assert_eq!(
                    Ok(fast),
                    Format::Yelp.parse_json(&value, &ReadOptions::default())
                );
            }
        }
    }

    #[test]
    fn yelp_reviews() {
        let file = concat!(
            r#"{"review_id":"r1","user_id":"u1","business_id":"b1","stars":4.0,"useful":2,"funny":1,"cool":0,"text":"Great tacos","date":"2018-07-07 22:09:11"}"#,
            "\n",
            r#"{"review_id":"r2","user_id":"u2","business_id":"b1","stars":7,"useful":0,"funny":0,"cool":0,"text":"??","date":"2018-07-07 22:09:11"}"#,
            "\n\n",
            r#"{"review_id":"r3" broken"#,
            "\n",
        );
        let items = read(file, None);
        assert_eq!(items.len(), 3, "blank lines are skipped");
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            (first.source, first.source_id.as_str(), first.body.as_str()),
            (Source::Yelp, "r1", "Great tacos")
        );
        assert_eq!(first.rating.unwrap().value(), 4.0);
        assert_eq!(first.engagement.likes, 3);
        assert_eq!(first.posted_at.to_rfc3339(), "2018-07-07T22:09:11+00:00");
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!(
            (bad.line, bad.reason.as_str()),
            (2, "field `stars`: rating 7 is outside 1-5")
        );
        let broken = items[2].as_ref().unwrap_err();
        assert_eq!(broken.line, 4);
        assert!(broken.reason.starts_with("invalid JSON") && broken.raw.contains("broken"));
    }

    #[test]
    fn amazon_2014_2018_and_2023_field_sets() {
        let file = concat!(
            r#"{"reviewerID":"A1","asin":"P1","reviewerName":"Ann","helpful":[3,4],"reviewText":"Works","overall":5.0,"summary":"good","unixReviewTime":1393545600,"reviewTime":"02 28, 2014"}"#,
            "\n",
            r#"{"overall":2.0,"verified":true,"reviewTime":"01 1, 2018","reviewerID":"A2","asin":"P1","reviewText":"Meh","summary":"meh","unixReviewTime":1514764800,"vote":"12"}"#,
            "\n",
            r#"{"rating":1.0,"title":"Broke","text":"Broke in a week","asin":"P2","parent_asin":"P2","user_id":"U3","timestamp":1588687728923,"helpful_vote":2,"verified_purchase":true}"#,
            "\n",
            r#"{"reviewerID":"A4","asin":"P1","overall":4.0,"unixReviewTime":1393545600}"#,
            "\n",
        );
        let items = read(file, None);
        let ok: Vec<&Feedback> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
        assert_eq!(ok.len(), 3);
        assert_eq!(
            (
                ok[0].source_id.as_str(),
                ok[0].title.as_deref(),
                ok[0].engagement.likes
            ),
            ("P1:A1", Some("good"), 3)
        );
        assert_eq!(ok[1].engagement.likes, 12);
        assert_eq!(
            (ok[2].source_id.as_str(), ok[2].posted_at.timestamp()),
            ("P2:U3", 1_588_687_728)
        );
        assert_eq!(
            items[3].as_ref().unwrap_err().reason,
            "field `reviewText`: missing"
        );
    }

    #[test]
    fn tripadvisor_csv_with_quoted_multiline_reviews() {
        let file = "Review,Rating\n\"nice hotel, good location\",5\n\"noisy room\nthin walls\",2\n\"great\",six\n";
        let items = read(file, None);
        assert_eq!(items.len(), 3);
        let second = items[1].as_ref().unwrap();
        assert_eq!(second.body, "noisy room\nthin walls");
        assert!(second.source_id.starts_with('h'), "content id");
        assert_eq!(
            items[2].as_ref().unwrap_err().line,
            5,
            "the record after a two-line one starts on line 5"
        );
        let later = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let again: Vec<_> = FileSource::new(file.as_bytes(), Some(Format::Tripadvisor))
            .unwrap()
            .undated_items_posted_at(later)
            .collect();
        let again = again[0].as_ref().unwrap();
        assert_eq!(
            again.source_id,
            items[0].as_ref().unwrap().source_id,
            "ids do not depend on the stand-in date"
        );
        assert_eq!(again.posted_at, later);
    }

    #[test]
    fn google_app_store_twitter_and_zendesk() {
        let file = concat!(
            r#"{"reviewId":"g1","reviewer":{"displayName":"Ana","isAnonymous":false},"starRating":"FOUR","comment":"Friendly staff","createTime":"2026-02-01T10:00:00Z","updateTime":"2026-02-01T10:00:00Z"}"#,
            "\n",
            r#"{"reviewId":"g2","reviewer":{"displayName":"X","isAnonymous":true},"starRating":"SIX","comment":"?","createTime":"2026-02-01T10:00:00Z"}"#,
            "\n",
        );
        let items = read(file, None);
        let g = items[0].as_ref().unwrap();
        assert_eq!(
            (
                g.source,
                g.rating.unwrap().value(),
                g.author.name.as_deref()
            ),
            (Source::Google, 4.0, Some("Ana"))
        );
        assert_eq!(
            items[1].as_ref().unwrap_err().reason,
            "field `starRating`: \"SIX\" is not ONE..FIVE"
        );

        let app = r#"{"type":"customerReviews","id":"a1","attributes":{"rating":2,"title":"Crashes","body":"Crashes on start","reviewerNickname":"bob","createdDate":"2026-03-01T08:00:00-07:00","territory":"USA"}}"#;
        let a = read(app, None).remove(0).unwrap();
        assert_eq!(
            (a.source, a.title.as_deref(), a.posted_at.to_rfc3339()),
            (
                Source::AppStore,
                Some("Crashes"),
                "2026-03-01T15:00:00+00:00".to_owned()
            )
        );

        let tweet = r#"{"id":"1790000000000000001","text":"@vouch support fixed it in minutes","author_id":"42","created_at":"2026-04-01T12:00:00.000Z","lang":"en","public_metrics":{"retweet_count":2,"reply_count":1,"like_count":10,"quote_count":1}}"#;
        let t = read(tweet, None).remove(0).unwrap();
        assert_eq!(
            (
                t.source,
                t.engagement.likes,
                t.engagement.shares,
                t.engagement.comments
            ),
            (Source::Twitter, 10, 3, 1)
        );
        assert_eq!(t.language.as_deref(), Some("en"));

        let tickets = concat!(
            r#"{"id":35436,"subject":"Charged twice","description":"I was charged twice this month","created_at":"2026-05-01T09:00:00Z","requester_id":20978392,"satisfaction_rating":{"score":"bad","comment":"slow"}}"#,
            "\n",
            r#"{"id":35437,"subject":"Thanks","description":"Works now","created_at":"2026-05-02T09:00:00Z","requester_id":20978393,"satisfaction_rating":{"score":"unoffered"}}"#,
            "\n",
        );
        let z: Vec<Feedback> = read(tickets, None)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            (
                z[0].source,
                z[0].source_id.as_str(),
                z[0].rating.map(|r| r.normalized())
            ),
            (Source::Support, "zendesk:35436", Some(0.0))
        );
        assert_eq!(z[1].rating, None);
        assert_eq!(
            "google-business".parse::<Format>(),
            Ok(Format::GoogleBusiness)
        );
    }

    #[test]
    fn trustpilot_export() {
        let file = "\
Review ID,Review Created (UTC),Review Consumer User ID,Review Title,Review Content,Review Stars,Source Of Review,Review Language,Domain URL,Consumer Name,Consumer Email,Reference Id
6123abc,2026-02-03 10:11:12,u77,Great service,\"Quick delivery, friendly staff\",5,Organic,en,https://example.com,Ana Pop,ana@example.com,ORD-1
6123abd,2026-02-04 10:11:12,u78,Bad,Never again,0,Organic,en,https://example.com,Bob,,
";
        let items = read(file, None);
        let t = items[0].as_ref().unwrap();
        assert_eq!(
            (
                t.source,
                t.source_id.as_str(),
                t.title.as_deref(),
                t.rating.unwrap().value()
            ),
            (Source::Trustpilot, "6123abc", Some("Great service"), 5.0)
        );
        assert_eq!(
            (
                t.author.email.as_deref(),
                t.author.external_id.as_deref(),
                t.author.handle.as_deref()
            ),
            (Some("ana@example.com"), Some("ORD-1"), Some("u77"))
        );
        assert_eq!(t.posted_at.to_rfc3339(), "2026-02-03T10:11:12+00:00");
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!(
            (bad.line, bad.reason.as_str()),
            (3, "field `Review Stars`: rating 0 is outside 1-5")
        );
    }

    #[test]
    fn google_play_export() {
        let file = "\
Package Name,App Version Code,App Version Name,Reviewer Language,Device,Review Submit Date and Time,Review Submit Millis Since Epoch,Review Last Update Date and Time,Review Last Update Millis Since Epoch,Star Rating,Review Title,Review Text,Developer Reply Date and Time,Developer Reply Millis Since Epoch,Developer Reply Text,Review Link
com.example.app,42,1.4.2,ro,a52,2026-01-05T12:34:56Z,1767616496000,2026-01-05T12:34:56Z,1767616496000,2,,Aplicatia se blocheaza des,,,,http://play.google.com/console/developers/123/app/456/user-feedback/review-details?reviewId=gp:AOqpTOE&corpus=PUBLISHED_ONLY
com.example.app,42,1.4.2,en_US,a52,,1767616496000,,,4,Nice,,,,,
com.example.app,42,1.4.2,en,a52,,1767616496000,,,5,,,,,,
";
        let items = read(file, None);
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            (
                first.source,
                first.source_id.as_str(),
                first.language.as_deref()
            ),
            (Source::GooglePlay, "gp:AOqpTOE", Some("ro"))
        );
        let second = items[1].as_ref().unwrap();
        assert_eq!(
            (second.body.as_str(), second.title.as_deref()),
            ("Nice", None)
        );
        assert!(second.source_id.starts_with("com.example.app:h"));
        assert_eq!(second.language.as_deref(), Some("en"));
        assert_eq!(second.posted_at.timestamp(), 1_767_616_496);
        // A star-only rating is a rating without text, not an error.
        let star_only = items[2].as_ref().unwrap();
        assert_eq!(
            (star_only.body.as_str(), star_only.rating.map(|r| r.value())),
            ("", Some(5.0))
        );
    }

    #[test]
    fn google_play_api_pages_are_read_and_meet_the_export() {
        // A `reviews.list` page as the Play Developer API documents it: a
        // title and body joined by a tab, a developer reply after the
        // user's comment, and a star-only rating.
        let page = r#"{
  "reviews": [
    {"reviewId": "gp:AOqpTOE", "authorName": "Andrei",
     "comments": [
       {"userComment": {"text": "Se blochează\tAplicatia se blocheaza des", "lastModified": {"seconds": "1767616496", "nanos": 913000000},
        "starRating": 2, "reviewerLanguage": "ro_RO", "device": "a52", "androidOsVersion": 34, "appVersionCode": 42, "appVersionName": "1.4.2"}},
       {"developerComment": {"text": "Thanks, fixed in 1.4.3", "lastModified": {"seconds": "1767700000", "nanos": 0}}}
     ]},
    {"reviewId": "gp:AOqpTOF", "authorName": "Bo",
     "comments": [{"userComment": {"text": "", "lastModified": {"seconds": 1767616500}, "starRating": 5, "reviewerLanguage": "en"}}]}
  ],
  "tokenPagination": {"nextPageToken": "t2"}
}"#;
        let items = read(page, None);
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            (
                first.source,
                first.source_id.as_str(),
                first.title.as_deref(),
                first.body.as_str(),
                first.rating.map(|r| r.value()),
                first.language.as_deref(),
                first.author.name.as_deref(),
                first.posted_at.timestamp()
            ),
            (
                Source::GooglePlay,
                "gp:AOqpTOE",
                Some("Se blochează"),
                "Aplicatia se blocheaza des",
                Some(2.0),
                Some("ro"),
                Some("Andrei"),
                1_767_616_496
            )
        );
        let star_only = items[1].as_ref().unwrap();
        assert_eq!(
            (star_only.body.as_str(), star_only.rating.map(|r| r.value())),
            ("", Some(5.0))
        );
        // The id is the one the CSV export's review link carries.
        let export = "\
Package Name,App Version Code,App Version Name,Reviewer Language,Device,Review Submit Date and Time,Review Submit Millis Since Epoch,Review Last Update Date and Time,Review Last Update Millis Since Epoch,Star Rating,Review Title,Review Text,Developer Reply Date and Time,Developer Reply Millis Since Epoch,Developer Reply Text,Review Link
com.example.app,42,1.4.2,ro,a52,2026-01-05T12:34:56Z,1767616496000,2026-01-05T12:34:56Z,1767616496000,2,,Aplicatia se blocheaza des,,,,http://play.google.com/console/developers/123/app/456/user-feedback/review-details?reviewId=gp:AOqpTOE&corpus=PUBLISHED_ONLY
";
        let csv = read(export, None);
        assert_eq!(csv[0].as_ref().unwrap().source_id, first.source_id);
    }

    #[test]
    fn generic_jsonl_and_csv_with_a_map() {
        let options = |map: &[&str], source: Option<Source>| ReadOptions {
            mapping: crate::FieldMap::parse(map).unwrap(),
            source,
            ..ReadOptions::default()
        };
        let jsonl = concat!(
            r#"{"msg":"Love the new dashboard","user":{"mail":"ana@example.com","nick":"ana_p"},"when":"2026-04-01T10:00:00Z","stars":5,"id":7}"#,
            "\n",
            r#"{"msg":"","user":{},"when":"2026-04-01T10:00:00Z"}"#,
            "\n",
            r#"{"msg":"Slow","when":"last week"}"#,
            "\n",
        );
        let items: Vec<_> = FileSource::with_options(
            jsonl.as_bytes(),
            Some(Format::Jsonl),
            options(
                &[
                    "text=msg",
                    "email=/user/mail",
                    "handle=/user/nick",
                    "date=when",
                ],
                Some(Source::Reddit),
            ),
        )
        .unwrap()
        .collect();
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            (
                first.source,
                first.source_id.as_str(),
                first.author.email.as_deref(),
                first.author.handle.as_deref()
            ),
            (Source::Reddit, "7", Some("ana@example.com"), Some("ana_p"))
        );
        assert_eq!(first.rating.unwrap().value(), 5.0);
        assert_eq!(
            items[1].as_ref().unwrap_err().reason,
            "field `text` (column \"msg\"): missing"
        );
        assert!(
            items[2]
                .as_ref()
                .unwrap_err()
                .reason
                .starts_with("field `when`: \"last week\" is not a time")
        );

        let csv =
            "Comment,Created,Customer\nGreat support,05.03.2026,C-9\nGreat support,06.03.2026,\n";
        let items: Vec<Feedback> = FileSource::with_options(
            csv.as_bytes(),
            Some(Format::Csv),
            ReadOptions {
                date_format: Some("%d.%m.%Y".to_owned()),
                ..options(&["text=Comment", "date=Created", "customer=Customer"], None)
            },
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
        assert_eq!(items[0].source, Source::Other);
        assert_eq!(items[0].author.external_id.as_deref(), Some("C-9"));
        assert_eq!(items[0].posted_at.to_rfc3339(), "2026-03-05T00:00:00+00:00");
        assert_ne!(
            items[0].source_id, items[1].source_id,
            "content ids differ by date"
        );

        let refused = FileSource::with_options(
            csv.as_bytes(),
            Some(Format::Csv),
            options(&["text=Body"], None),
        );
        assert!(refused.err().unwrap().reason.contains("no column \"Body\""));
        let refused = FileSource::with_options(
            csv.as_bytes(),
            Some(Format::Csv),
            options(&["stars=Comment"], None),
        );
        assert!(
            refused
                .err()
                .unwrap()
                .reason
                .starts_with("--map stars: not a field of csv")
        );
        let refused = FileSource::with_options(
            csv.as_bytes(),
            Some(Format::Yelp),
            options(&["text=x"], None),
        );
        assert!(
            refused
                .err()
                .unwrap()
                .reason
                .starts_with("--map applies to")
        );
    }

    #[test]
    fn unknown_formats_are_refused() {
        assert!(FileSource::new("hello,world\n".as_bytes(), None).is_err());
        assert_eq!("yelp".parse::<Format>(), Ok(Format::Yelp));
        assert!("csv2".parse::<Format>().is_err());
    }

    #[test]
    fn the_public_samples_read_without_rejections() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/reviews");
        if !vouch_testing::data_present(&dir, "review samples") {
            return;
        }
        for (file, expected) in [
            ("yelp_review.sample.jsonl", 500),
            ("amazon_mcauley_musical_instruments.sample.jsonl", 50),
            ("tripadvisor_hotel_reviews.sample.csv", 109),
        ] {
            let reader = std::io::BufReader::new(std::fs::File::open(dir.join(file)).unwrap());
            let items: Vec<_> = FileSource::new(reader, None).unwrap().collect();
            let rejected: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
            assert!(rejected.is_empty(), "{file}: {rejected:?}");
            assert_eq!(items.len(), expected, "{file}");
        }
    }
}
