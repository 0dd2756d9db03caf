//! Importing feedback files: read, tag, write idempotently, keep what could
//! not be read.

use std::io::BufRead;

use serde::Serialize;
use vouch_domain::Feedback;
use vouch_ingest::{FileSource, Format, Rejection};
use vouch_store::{Store, UpsertSummary};

use crate::{AppError, Result};

/// Items are tagged and written this many at a time: memory stays flat
/// whatever the file's size.
const BATCH: usize = 2_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub seconds: f64,
}

/// What `import` does besides reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// `None`: recognise the format from the first line.
    pub format: Option<Format>,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
    /// Import nothing if any record is bad (checked in a first pass).
    pub strict: bool,
}

/// Imports one file. `open` opens it (called twice with `strict`);
/// `reject` receives every record that could not be read; `progress`
/// the number of records handled so far.
pub async fn import<R: BufRead>(
    store: &Store,
    open: impl Fn() -> std::io::Result<R>,
    options: ImportOptions,
    mut reject: impl FnMut(&Rejection),
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary> {
    let started = std::time::Instant::now();
    let now = chrono::Utc::now();
    let source = |format| -> Result<FileSource<R>> {
        let reader = open().map_err(|e| AppError::Refused(e.to_string()))?;
        let source = FileSource::new(reader, format)
            .map_err(|r| AppError::Refused(format!("line {}: {}", r.line, r.reason)))?;
        // Formats without dates: the items were posted by the time of the import at the latest.
        Ok(source.undated_items_posted_at(now))
    };
    if options.strict {
        let mut check = source(options.format)?;
        if let Some(Err(first_bad)) = check.find(Result::is_err) {
            reject(&first_bad);
            return Err(AppError::Refused(format!(
                "line {}: {} (--strict: nothing was imported)",
                first_bad.line, first_bad.reason
            )));
        }
    }
    let mut records = source(options.format)?;
    let analyzer = crate::text::analyzer(store).await?;
    let mut summary = ImportSummary::default();
    let mut handled = 0u64;
    loop {
        let before = handled;
        let mut batch: Vec<Feedback> = Vec::with_capacity(BATCH);
        for record in records.by_ref().take(BATCH) {
            handled += 1;
            match record {
                Ok(item) => batch.push(item),
                Err(rejection) => {
                    summary.rejected += 1;
                    reject(&rejection);
                }
            }
        }
        if handled == before {
            break;
        }
        let analyses = vouch_text::map_on_all_cores(&batch, |item| {
            analyzer.analyze(
                &crate::text::analysis_text(item.title.as_deref(), &item.body),
                item.language.as_deref(),
            )
        });
        for (item, a) in batch.iter_mut().zip(analyses) {
            item.language = a.language.map(str::to_owned).or(item.language.take());
            item.sentiment = Some(a.compound);
            item.topics = crate::text::topic_mentions(a.topics);
        }
        if options.dry_run {
            // Nothing is written: every readable item counts as what would be imported.
            summary.imported += batch.len() as u64;
        } else if !batch.is_empty() {
            let UpsertSummary {
                imported,
                updated,
                unchanged,
            } = store.upsert_feedback(&batch).await?;
            summary.imported += imported;
            summary.updated += updated;
            summary.unchanged += unchanged;
        }
        progress(handled);
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
