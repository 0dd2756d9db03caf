//! Importing feedback and survey answers from files: read, tag, match
//! customers, write idempotently, keep what could not be read.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;
/// How `--map` names a file's columns, for callers that pass one on.
pub use vouch_ingest::FieldMap;

use serde::Serialize;
use vouch_domain::{
    Answer, Channel, CustomerId, CustomerProfile, Email, Feedback, Locale, Purpose, SurveyKind,
};
use vouch_ingest::{
    FileSource, Format, ImportedAnswer, Parser, ReadOptions, Record, Rejection, ResponseSource,
};
use vouch_store::{CustomerKey, Store, UpsertSummary};
use vouch_text::TextAnalyzer;

use crate::{AppError, Result};

/// Items are parsed, tagged and written this many at a time: memory stays
/// flat whatever the file's size.
const BATCH: usize = 4_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub seconds: f64,
    /// Times written without a zone, read in `--tz` (UTC by default).
    pub zoneless_times: u64,
    /// Items left for the search index's background job (a long import);
    /// a search finds them once it is done. See `crate::search`.
    pub search_backlog: u64,
}

impl ImportSummary {
    fn add(&mut self, written: UpsertSummary) {
        self.imported += written.imported;
        self.updated += written.updated;
        self.unchanged += written.unchanged;
    }
}

/// What `import` does besides reading.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `None`: recognise the format from the first line.
    pub format: Option<Format>,
    /// `--map`, `--date-format`, `--source`.
    pub read: ReadOptions,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
    /// Import nothing if any record is bad (checked in a first pass).
    pub strict: bool,
}

/// Where answers from a response export go.
#[derive(Debug, Clone)]
pub struct SurveyTarget {
    pub name: String,
    pub kind: SurveyKind,
}

fn refused(r: Rejection) -> AppError {
    AppError::Refused(format!("line {}: {}", r.line, r.reason))
}

/// Imports one feedback file. `open` opens it (twice with `strict`);
/// `reject` receives every record that could not be read, in file order;
/// `progress` the number of records handled so far.
///
/// One thread reads records; parsing and tagging run on every core; each
/// batch is written while the next one is tagged.
pub async fn import<R: BufRead>(
    store: &Store,
    open: impl Fn() -> std::io::Result<R>,
    mut options: ImportOptions,
    mut reject: impl FnMut(&Rejection),
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary> {
    let started = std::time::Instant::now();
    // Formats without dates: the items were posted by the time of the import at the latest.
    options.read.undated_at = chrono::Utc::now();
    let source = || -> Result<FileSource<R>> {
        let reader = open().map_err(|e| AppError::Refused(e.to_string()))?;
        FileSource::with_options(reader, options.format, options.read.clone()).map_err(refused)
    };
    if options.strict {
        let mut first_pass = source()?;
        check_every_record(&mut first_pass, &mut reject)?;
        stop_if_broken(first_pass.records().broken(), &ImportSummary::default())?;
        // The second pass counts the times again.
        options
            .read
            .zoneless
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }
    let mut source = source()?;
    let parser = Arc::new(source.parser().clone());
    let analyzer = crate::text::analyzer(store).await?;
    let mut summary = ImportSummary::default();
    let mut handled = 0u64;
    let writer = (!options.dry_run).then(|| write_in_order(store.clone()));
    let mut next = read_batch(&mut source);
    loop {
        let (records, unreadable) = next;
        for rejection in &unreadable {
            summary.rejected += 1;
            reject(rejection);
        }
        handled += (records.len() + unreadable.len()) as u64;
        if records.is_empty() {
            if unreadable.is_empty() {
                break;
            }
            // A whole batch of unreadable rows is not the end of the file.
            next = read_batch(&mut source);
            progress(handled);
            continue;
        }
        let (parser, analyzer) = (parser.clone(), analyzer.clone());
        let tagging =
            tokio::task::spawn_blocking(move || parse_and_tag(&parser, &analyzer, &records));
        // The next batch is read while this one is tagged (reading alone
        // left both cores idle a twentieth of the time).
        next = read_batch(&mut source);
        let parsed = tagging
            .await
            .map_err(|e| AppError::Refused(format!("tagging failed: {e}")))?;
        let mut batch = Vec::with_capacity(parsed.len());
        for item in parsed {
            match item {
                Ok(item) => batch.push(item),
                Err(rejection) => {
                    summary.rejected += 1;
                    reject(&rejection);
                }
            }
        }
        match &writer {
            // A closed queue means the writer stopped on an error, reported below.
            Some((queue, _)) => {
                if queue.send(batch).await.is_err() {
                    break;
                }
            }
            // Nothing is written: every readable item counts as what would be imported.
            None => summary.imported += batch.len() as u64,
        }
        progress(handled);
    }
    if let Some(writer) = writer {
        summary.add(written_by(writer).await?);
        summary.search_backlog = crate::search::after_writing(store).await?;
    }
    stop_if_broken(source.records().broken(), &summary)?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.zoneless_times = options.read.zoneless_times();
    Ok(summary)
}

/// A stream that broke (a truncated .gz) ends the import with an error,
/// once; the whole records before the break have been written.
fn stop_if_broken(broken: Option<&Rejection>, summary: &ImportSummary) -> Result<()> {
    match broken {
        Some(broken) => Err(AppError::Refused(format!(
            "line {}: {}; the records before it were kept ({} imported, {} updated, {} unchanged, {} rejected)",
            broken.line,
            broken.reason,
            summary.imported,
            summary.updated,
            summary.unchanged,
            summary.rejected
        ))),
        None => Ok(()),
    }
}

/// Up to `BATCH` records of `source`, and the ones among them that could
/// not be read (reported in file order with the batch's other rejections).
fn read_batch<R: BufRead>(source: &mut FileSource<R>) -> (Vec<Record>, Vec<Rejection>) {
    let mut records = Vec::with_capacity(BATCH);
    let mut unreadable = Vec::new();
    for record in source.records().by_ref().take(BATCH) {
        match record {
            Ok(record) => records.push(record),
            Err(rejection) => unreadable.push(rejection),
        }
    }
    (records, unreadable)
}

/// `--strict`'s first pass: the first bad record refuses the whole file.
fn check_every_record<T>(
    mut records: impl Iterator<Item = std::result::Result<T, Rejection>>,
    reject: &mut impl FnMut(&Rejection),
) -> Result<()> {
    match records.find_map(|r| r.err()) {
        Some(first_bad) => {
            reject(&first_bad);
            Err(AppError::Refused(format!(
                "line {}: {} (--strict: nothing was imported)",
                first_bad.line, first_bad.reason
            )))
        }
        None => Ok(()),
    }
}

/// Tagged batches wait here for the writer, so tagging goes on while a
/// batch is written (a write lasts about as long as tagging one, and either
/// may run late; with no queue, cores sat idle an eighth of the time).
const QUEUED: usize = 1;

type Writer = (
    tokio::sync::mpsc::Sender<Vec<Feedback>>,
    tokio::task::JoinHandle<Result<UpsertSummary>>,
);

/// One task that matches customers and writes each batch it is sent, one
/// transaction each, in the order sent (a later duplicate must win), over
/// one connection (see `Store::bulk_feedback_writer`). It stops at the
/// first error and returns it; otherwise, once the queue is closed, what
/// it wrote.
fn write_in_order(store: Store) -> Writer {
    let (queue, mut batches) = tokio::sync::mpsc::channel::<Vec<Feedback>>(QUEUED);
    let task = tokio::spawn(async move {
        let mut written = UpsertSummary::default();
        let mut writer = store.bulk_feedback_writer().await?;
        while let Some(mut batch) = batches.recv().await {
            match_customers(&store, &mut batch).await?;
            written += writer.upsert(&batch).await?;
        }
        writer.finish().await?;
        Ok(written)
    });
    (queue, task)
}

/// What a writer task wrote once its queue is closed, or the error it
/// stopped on.
async fn written_by<T>(
    (queue, task): (
        tokio::sync::mpsc::Sender<T>,
        tokio::task::JoinHandle<Result<UpsertSummary>>,
    ),
) -> Result<UpsertSummary> {
    drop(queue);
    task.await
        .map_err(|e| AppError::Refused(format!("writing failed: {e}")))?
}

fn parse_and_tag(
    parser: &Parser,
    analyzer: &TextAnalyzer,
    records: &[Record],
) -> Vec<Result<Feedback, Rejection>> {
    let parsed = vouch_text::map_on_all_cores(records, |record| {
        let (item, mut companion) = parser.parse_with_companion(record);
        let item = item.map(|mut item| {
            tag(analyzer, &mut item);
            item
        });
        if let Some(companion) = &mut companion {
            tag(analyzer, companion);
        }
        (item, companion)
    });
    let mut items = Vec::with_capacity(parsed.len());
    for (item, companion) in parsed {
        items.push(item);
        items.extend(companion.map(Ok));
    }
    items
}

/// Fills an item's language, sentiment and topics.
pub(crate) fn tag(analyzer: &TextAnalyzer, item: &mut Feedback) {
    let text = crate::text::analysis_text(item.title.as_deref(), &item.body);
    if !crate::text::has_words(&text) {
        return;
    }
    let a = analyzer.analyze(&text, item.language.as_deref());
    item.language = a.language.map(str::to_owned).or(item.language.take());
    item.sentiment = Some(a.compound);
    item.topics = crate::text::topic_mentions(a.topics);
}

/// Links items to known customers: by the author's email, else the
/// company's id for them, else their handle on the item's platform. Items
/// that match no one stay anonymous with their author's name and handle.
pub async fn match_customers(store: &Store, items: &mut [Feedback]) -> Result<()> {
    // An erased person's old reviews come back anonymous: no name, handle
    // or email to link or show.
    let erased = crate::erasure::ErasedPeople::load(store).await?;
    for item in items.iter_mut().filter(|_| !erased.is_empty()) {
        let author = &item.author;
        let handles: Vec<(&str, &str)> = author
            .handle
            .as_deref()
            .map(|h| (item.source.as_str(), h))
            .into_iter()
            .collect();
        let ids = crate::erasure::identifiers(
            author.email.as_deref(),
            author.external_id.as_deref(),
            &handles,
        );
        if erased.any(&ids) {
            item.author = Default::default();
            item.customer_id = None;
        }
    }
    let emails: Vec<String> = items
        .iter()
        .filter(|i| i.customer_id.is_none())
        .filter_map(|i| Email::parse(i.author.email.as_deref()?).ok())
        .map(|e| e.match_key())
        .collect();
    let by_email = lookup(store, CustomerKey::Email, &emails).await?;
    let external: Vec<String> = items
        .iter()
        .filter_map(|i| i.author.external_id.clone())
        .collect();
    let by_external = lookup(store, CustomerKey::ExternalId, &external).await?;
    let mut by_handle: HashMap<(vouch_domain::Source, String), CustomerId> = HashMap::new();
    let mut handles: HashMap<vouch_domain::Source, Vec<&str>> = HashMap::new();
    for item in items.iter() {
        if let Some(handle) = item.author.handle.as_deref() {
            handles.entry(item.source).or_default().push(handle);
        }
    }
    for (source, names) in handles {
        for (handle, id) in store
            .customer_ids_by_handle(source.as_str(), &names)
            .await?
        {
            by_handle.insert((source, handle), id);
        }
    }
    for item in items.iter_mut().filter(|i| i.customer_id.is_none()) {
        let email = item
            .author
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok());
        item.customer_id = email
            .and_then(|e| by_email.get(&e.match_key()).copied())
            .or_else(|| {
                let id = item.author.external_id.as_ref()?;
                by_external.get(id).copied()
            })
            .or_else(|| {
                let handle = item.author.handle.clone()?;
                by_handle.get(&(item.source, handle)).copied()
            });
    }
    Ok(())
}

async fn lookup(
    store: &Store,
    key: CustomerKey,
    values: &[String],
) -> Result<HashMap<String, CustomerId>> {
    if values.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    Ok(store.customer_ids_by(key, &values).await?)
}

/// Imports a survey-answer export (`responses-csv`) into `survey`, created
/// with its kind if needed. Respondents are matched by email or external
/// id and created when unknown; the other columns become their attributes
/// (anonymous rows keep them as the answer's metadata). Comments are tagged.
pub async fn import_responses<R: BufRead>(
    store: &Store,
    open: impl Fn() -> std::io::Result<R>,
    survey: &SurveyTarget,
    options: ImportOptions,
    mut reject: impl FnMut(&Rejection),
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary> {
    let started = std::time::Instant::now();
    let source = || -> Result<ResponseSource<R>> {
        let reader = open().map_err(|e| AppError::Refused(e.to_string()))?;
        ResponseSource::new(reader, survey.kind, options.read.clone()).map_err(refused)
    };
    if options.strict {
        let mut first_pass = source()?;
        check_every_record(&mut first_pass, &mut reject)?;
        stop_if_broken(first_pass.broken(), &ImportSummary::default())?;
        options
            .read
            .zoneless
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }
    let mut rows = source()?;
    let mut summary = ImportSummary::default();
    let mut handled = 0u64;
    let target = if options.dry_run {
        None
    } else {
        Some(
            store
                .ensure_survey(survey.kind, &survey.name, chrono::Utc::now())
                .await?,
        )
    };
    // Batches are written by a task of their own while the next one is
    // read, as the feedback import does.
    let writer = target.clone().map(|target| {
        let (queue, mut batches) = tokio::sync::mpsc::channel::<Vec<ImportedAnswer>>(2);
        let store = store.clone();
        let task = tokio::spawn(async move {
            let mut written = UpsertSummary::default();
            while let Some(mut batch) = batches.recv().await {
                written += write_answers(&store, &target, &mut batch).await?;
            }
            Ok::<_, AppError>(written)
        });
        (queue, task)
    });
    loop {
        let mut batch: Vec<ImportedAnswer> = Vec::with_capacity(BATCH);
        let before = handled;
        for row in rows.by_ref().take(BATCH) {
            handled += 1;
            match row {
                Ok(answer) => batch.push(answer),
                Err(rejection) => {
                    summary.rejected += 1;
                    reject(&rejection);
                }
            }
        }
        if handled == before {
            break;
        }
        match &writer {
            None => summary.imported += batch.len() as u64,
            // A closed queue means the writer stopped on an error, reported below.
            Some((queue, _)) => {
                if queue.send(batch).await.is_err() {
                    break;
                }
            }
        }
        progress(handled);
    }
    if let Some(writer) = writer {
        summary.add(written_by(writer).await?);
    }
    if target.is_some() {
        let analyzer = crate::text::analyzer(store).await?;
        crate::text::tag_untagged(store, &analyzer).await?;
        summary.search_backlog = crate::search::after_writing(store).await?;
    }
    stop_if_broken(rows.broken(), &summary)?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.zoneless_times = options.read.zoneless_times();
    Ok(summary)
}

/// A `consent_PURPOSE` column's purpose and yes/no, if it is one.
fn consent_column(name: &str, value: &str) -> Option<(Purpose, bool)> {
    let purpose: Purpose = name.strip_prefix("consent_")?.parse().ok()?;
    if purpose == Purpose::Service {
        return None;
    }
    let granted = yes_no(value).or_else(|| match value.trim().to_ascii_lowercase().as_str() {
        "granted" => Some(true),
        "withdrawn" => Some(false),
        _ => None,
    })?;
    Some((purpose, granted))
}

/// A yes/no cell as files write it, in English or Romanian.
fn yes_no(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "da" => Some(true),
        "no" | "n" | "false" | "0" | "nu" => Some(false),
        _ => None,
    }
}

/// Writes imported consents that differ from what is on record (so a
/// re-import changes nothing), each with its `consent.changed` event.
async fn record_imported_consents(
    store: &Store,
    consents: BTreeMap<(i64, Purpose), bool>,
) -> Result<()> {
    let now = chrono::Utc::now();
    let customers: Vec<CustomerId> = {
        let mut ids: Vec<CustomerId> = consents.keys().map(|(c, _)| CustomerId(*c)).collect();
        ids.dedup();
        ids
    };
    let on_record = store.consents_of_many(&customers).await?;
    let mut changed = Vec::new();
    for ((customer, purpose), granted) in consents {
        let customer = CustomerId(customer);
        let held = on_record
            .get(&customer)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if held.contains(&(purpose, granted)) {
            continue;
        }
        let record = vouch_domain::ConsentRecord {
            purpose,
            granted,
            basis: vouch_domain::ConsentBasis::Consent,
            source: "import".to_owned(),
            evidence: Some(format!("column consent_{purpose}")),
            recorded_at: now,
        };
        changed.push((customer, record));
    }
    // One transaction for the batch's changes, not one each.
    Ok(store.set_consents(&changed).await?)
}

/// One batch of answers into `target`: erased people forgotten,
/// respondents found or created, answers upserted by their import key.
async fn write_answers(
    store: &Store,
    target: &vouch_domain::Survey,
    batch: &mut Vec<ImportedAnswer>,
) -> Result<UpsertSummary> {
    forget_erased_respondents(store, batch).await?;
    let customers = respondents(store, batch).await?;
    let answers: Vec<(String, Answer)> = batch
        .drain(..)
        .map(|row| {
            let customer_id = respondent_of(&row, &customers);
            let key = row.import_key(&target.id.0.to_string());
            let answer = Answer {
                survey_id: target.id,
                customer_id,
                score: row.score,
                comment: row.comment,
                channel: Channel::Import,
                locale: row.locale,
                answered_at: row.answered_at,
                // Known customers got the other columns as attributes.
                metadata: if customer_id.is_some() {
                    BTreeMap::new()
                } else {
                    row.other
                },
            };
            (key, answer)
        })
        .collect();
    Ok(store.upsert_answers(&answers).await?)
}

/// Rows of erased people are imported as anonymous answers: their email,
/// id, name and other columns are dropped, so no customer is made again.
async fn forget_erased_respondents(store: &Store, rows: &mut [ImportedAnswer]) -> Result<()> {
    let erased = crate::erasure::ErasedPeople::load(store).await?;
    for row in rows.iter_mut().filter(|_| !erased.is_empty()) {
        let ids = crate::erasure::identifiers(
            row.email.as_ref().map(|e| e.as_str()),
            row.external_id.as_deref(),
            &[],
        );
        if erased.any(&ids) {
            row.email = None;
            row.external_id = None;
            row.name = None;
            row.other.clear();
        }
    }
    Ok(())
}

/// Respondents by email and by external id: found, or created from the row.
struct Respondents {
    by_email: HashMap<String, CustomerId>,
    by_external: HashMap<String, CustomerId>,
}

fn respondent_of(row: &ImportedAnswer, known: &Respondents) -> Option<CustomerId> {
    row.email
        .as_ref()
        .and_then(|e| known.by_email.get(&e.match_key()).copied())
        .or_else(|| {
            let id = row.external_id.as_ref()?;
            known.by_external.get(id).copied()
        })
}

async fn respondents(store: &Store, rows: &[ImportedAnswer]) -> Result<Respondents> {
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|r| r.email.as_ref().map(|e| e.match_key()))
        .collect();
    let external: Vec<String> = rows.iter().filter_map(|r| r.external_id.clone()).collect();
    let mut known = Respondents {
        by_email: lookup(store, CustomerKey::Email, &emails).await?,
        by_external: lookup(store, CustomerKey::ExternalId, &external).await?,
    };
    let mut new: Vec<CustomerProfile> = Vec::new();
    let mut planned: HashMap<String, usize> = HashMap::new();
    for row in rows {
        if respondent_of(row, &known).is_some()
            || (row.email.is_none() && row.external_id.is_none())
        {
            continue;
        }
        let key = row
            .email
            .as_ref()
            .map(|e| format!("e:{}", e.match_key()))
            .or_else(|| row.external_id.as_ref().map(|x| format!("x:{x}")))
            .unwrap_or_default();
        if planned.contains_key(&key) {
            continue;
        }
        let mut profile = CustomerProfile::new(
            row.locale
                .clone()
                .unwrap_or_else(|| Locale::parse("en").expect("en is a locale")),
            row.answered_at,
        );
        profile.email = row.email.clone();
        profile.external_id = row.external_id.clone();
        profile.name = row.name.clone();
        planned.insert(key, new.len());
        new.push(profile);
    }
    if !new.is_empty() {
        let ids = store.insert_customers(&new).await?;
        for (profile, id) in new.iter().zip(ids) {
            if let Some(email) = &profile.email {
                known.by_email.insert(email.match_key(), id);
            }
            if let Some(external) = &profile.external_id {
                known.by_external.insert(external.clone(), id);
            }
        }
    }
    // `consent_PURPOSE` columns (yes/no) are consent records; the other
    // columns describe the customer: plan, region…
    let mut consents: BTreeMap<(i64, Purpose), bool> = BTreeMap::new();
    let attributes: Vec<(CustomerId, String, String)> = rows
        .iter()
        .filter_map(|row| Some((respondent_of(row, &known)?, row)))
        .flat_map(|(id, row)| {
            row.other
                .iter()
                .filter(|(k, v)| match consent_column(k, v) {
                    Some((purpose, granted)) => {
                        consents.insert((id.0, purpose), granted);
                        false
                    }
                    None => true,
                })
                .map(move |(k, v)| (id, k.clone(), v.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    record_imported_consents(store, consents).await?;
    // Within a batch, one (customer, name) pair: the latest row wins.
    let mut latest: BTreeMap<(i64, String), String> = BTreeMap::new();
    for (id, name, value) in attributes {
        latest.insert((id.0, name), value);
    }
    let attributes: Vec<(CustomerId, String, String)> = latest
        .into_iter()
        .map(|((id, name), value)| (CustomerId(id), name, value))
        .collect();
    store.set_customer_attributes(&attributes).await?;
    Ok(known)
}

/// What a customer file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CustomerImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub seconds: f64,
}

/// Imports a customer or CRM file (`vouch import --customers`): each row
/// is upserted by email, else by the CRM's id. Name and locale are set
/// when given; the other columns become attributes, `consent_PURPOSE`
/// columns consent records and `insider` the insider flag. People erased
/// on request are refused, never made again. A re-import changes nothing.
pub async fn import_customers<R: BufRead>(
    store: &Store,
    reader: R,
    mapping: &vouch_ingest::FieldMap,
    mut reject: impl FnMut(&Rejection),
    mut progress: impl FnMut(u64),
) -> Result<(CustomerImportSummary, Option<&'static str>)> {
    let started = std::time::Instant::now();
    let mut rows = vouch_ingest::CustomerSource::new(reader, mapping).map_err(refused)?;
    let vendor = rows.vendor();
    let erased = crate::erasure::ErasedPeople::load(store).await?;
    let mut summary = CustomerImportSummary::default();
    let mut handled = 0u64;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let before = handled;
        for row in rows.by_ref().take(BATCH) {
            handled += 1;
            match row {
                Ok(row) => {
                    if is_erased(&erased, &row) {
                        summary.rejected += 1;
                        reject(&Rejection {
                            line: row.line,
                            reason: "erased on request: not made again".to_owned(),
                            raw: String::new(),
                        });
                    } else {
                        batch.push(row);
                    }
                }
                Err(rejection) => {
                    summary.rejected += 1;
                    reject(&rejection);
                }
            }
        }
        if handled == before {
            break;
        }
        upsert_customer_rows(store, batch, &mut summary).await?;
        progress(handled);
    }
    stop_if_broken(rows.broken(), &ImportSummary::default())?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok((summary, vendor))
}

/// Customers from somewhere other than a file (a CRM connector's page),
/// through the same upsert and the same refusal of erased people.
pub(crate) async fn upsert_customers(
    store: &Store,
    rows: Vec<vouch_ingest::ImportedCustomer>,
) -> Result<CustomerImportSummary> {
    let erased = crate::erasure::ErasedPeople::load(store).await?;
    let mut summary = CustomerImportSummary::default();
    let rows = rows
        .into_iter()
        .filter(|row| {
            let erased = is_erased(&erased, row);
            summary.rejected += u64::from(erased);
            !erased
        })
        .collect();
    upsert_customer_rows(store, rows, &mut summary).await?;
    Ok(summary)
}

/// Whether a customer row names someone erased on request, who is not
/// made again.
fn is_erased(erased: &crate::erasure::ErasedPeople, row: &vouch_ingest::ImportedCustomer) -> bool {
    erased.any(&crate::erasure::identifiers(
        row.email.as_ref().map(|e| e.as_str()),
        row.external_id.as_deref(),
        &[],
    ))
}

async fn upsert_customer_rows(
    store: &Store,
    rows: Vec<vouch_ingest::ImportedCustomer>,
    summary: &mut CustomerImportSummary,
) -> Result<()> {
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|r| r.email.as_ref().map(|e| e.match_key()))
        .collect();
    let external: Vec<String> = rows.iter().filter_map(|r| r.external_id.clone()).collect();
    let by_email = lookup(store, CustomerKey::Email, &emails).await?;
    let by_external = lookup(store, CustomerKey::ExternalId, &external).await?;
    // The known customers and their consents, read once for the batch
    // (a read per row made a re-import of 100,000 unchanged rows slow).
    let known_ids: Vec<CustomerId> = {
        let mut ids: Vec<CustomerId> = by_email
            .values()
            .chain(by_external.values())
            .copied()
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut current: HashMap<CustomerId, vouch_domain::Customer> = store
        .customers_by_ids(&known_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let on_record = store.consents_of_many(&known_ids).await?;
    let now = chrono::Utc::now();
    let mut consents: BTreeMap<(i64, Purpose), bool> = BTreeMap::new();
    let mut attributes: BTreeMap<(i64, String), String> = BTreeMap::new();
    let mut changed: BTreeMap<CustomerId, CustomerProfile> = BTreeMap::new();
    // New customers, inserted together at the end; a later row for the
    // same person (by email or id) adds to the same new profile.
    let mut new: Vec<(CustomerProfile, Vec<(Purpose, bool)>)> = Vec::new();
    let mut new_by_email: HashMap<String, usize> = HashMap::new();
    let mut new_by_external: HashMap<String, usize> = HashMap::new();
    for row in rows {
        // Attributes, consents and the insider flag from the other columns.
        let mut own: BTreeMap<String, String> = BTreeMap::new();
        let mut own_consents = Vec::new();
        for (name, value) in &row.other {
            if let Some(c) = consent_column(name, value) {
                own_consents.push(c);
            } else if name.eq_ignore_ascii_case("insider") {
                // As the playbooks' compliance rule reads it: true or false.
                if let Some(insider) = yes_no(value) {
                    own.insert("insider".to_owned(), insider.to_string());
                }
            } else {
                own.insert(name.clone(), value.clone());
            }
        }
        let known = row
            .email
            .as_ref()
            .and_then(|e| by_email.get(&e.match_key()).copied())
            .or_else(|| by_external.get(row.external_id.as_deref()?).copied());
        if let Some(id) = known {
            let Some(customer) = current.get_mut(&id) else {
                continue;
            };
            let mut profile = customer.profile.clone();
            apply_row(&mut profile, &row);
            let details_changed = profile.name != customer.profile.name
                || profile.locale != customer.profile.locale
                || profile.email != customer.profile.email
                || profile.external_id != customer.profile.external_id;
            let attributes_changed = own
                .iter()
                .any(|(k, v)| customer.profile.attributes.get(k) != Some(v));
            let held = on_record.get(&id).map(Vec::as_slice).unwrap_or_default();
            let consents_changed = own_consents
                .iter()
                .any(|c| !held.contains(c) && consents.get(&(id.0, c.0)) != Some(&c.1));
            if details_changed || attributes_changed || consents_changed {
                summary.updated += 1;
            } else {
                summary.unchanged += 1;
            }
            for (k, v) in own {
                if customer.profile.attributes.get(&k) != Some(&v) {
                    attributes.insert((id.0, k.clone()), v.clone());
                    profile.attributes.insert(k, v);
                }
            }
            if details_changed {
                changed.insert(id, profile.clone());
            }
            // What a later row for the same person is compared with.
            customer.profile = profile;
            for (purpose, granted) in own_consents {
                consents.insert((id.0, purpose), granted);
            }
            continue;
        }
        let pending = row
            .email
            .as_ref()
            .and_then(|e| new_by_email.get(&e.match_key()).copied())
            .or_else(|| new_by_external.get(row.external_id.as_deref()?).copied());
        match pending {
            Some(i) => {
                let (profile, pending_consents) = &mut new[i];
                let before = profile.clone();
                apply_row(profile, &row);
                profile.attributes.extend(own);
                let consents_changed = own_consents.iter().any(|c| !pending_consents.contains(c));
                pending_consents.extend(own_consents);
                if *profile != before || consents_changed {
                    summary.updated += 1;
                } else {
                    summary.unchanged += 1;
                }
                if let Some(email) = &profile.email {
                    new_by_email.insert(email.match_key(), i);
                }
                if let Some(x) = &profile.external_id {
                    new_by_external.insert(x.clone(), i);
                }
            }
            None => {
                let mut profile = CustomerProfile::new(
                    row.locale
                        .clone()
                        .unwrap_or_else(|| Locale::parse("en").expect("en is a locale")),
                    now,
                );
                profile.email = row.email.clone();
                profile.external_id = row.external_id.clone();
                profile.name = row.name.clone();
                profile.attributes = own;
                if let Some(email) = &row.email {
                    new_by_email.insert(email.match_key(), new.len());
                }
                if let Some(x) = &row.external_id {
                    new_by_external.insert(x.clone(), new.len());
                }
                new.push((profile, own_consents));
                summary.created += 1;
            }
        }
    }
    for (id, profile) in &changed {
        store.update_customer(*id, profile).await?;
    }
    let attributes: Vec<(CustomerId, String, String)> = attributes
        .into_iter()
        .map(|((id, name), value)| (CustomerId(id), name, value))
        .collect();
    if !attributes.is_empty() {
        store.set_customer_attributes(&attributes).await?;
    }
    if !new.is_empty() {
        let profiles: Vec<CustomerProfile> = new.iter().map(|(p, _)| p.clone()).collect();
        let ids = store.insert_customers(&profiles).await?;
        for (id, (_, own_consents)) in ids.iter().zip(new) {
            for (purpose, granted) in own_consents {
                consents.insert((id.0, purpose), granted);
            }
        }
    }
    record_imported_consents(store, consents).await?;
    Ok(())
}

/// A file row's details over a customer's: name and locale when given,
/// email and CRM id only where the customer has none.
fn apply_row(profile: &mut CustomerProfile, row: &vouch_ingest::ImportedCustomer) {
    if let Some(name) = &row.name {
        profile.name = Some(name.clone());
    }
    if let Some(locale) = &row.locale {
        profile.locale = locale.clone();
    }
    if profile.email.is_none() {
        profile.email = row.email.clone();
    }
    if profile.external_id.is_none() {
        profile.external_id = row.external_id.clone();
    }
}
