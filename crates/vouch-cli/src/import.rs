use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::ProgressBar;
use vouch_app::import::{ImportOptions, ImportSummary, SurveyTarget};
use vouch_domain::{Source, SurveyKind};
use vouch_ingest::{FORMAT_NAMES, FieldMap, Format, ReadOptions};
use vouch_store::Store;

use crate::table::thousands;

#[derive(Args)]
pub struct ImportArgs {
    /// The file to import; - reads standard input; .gz files are
    /// decompressed; UTF-16 files (Google Play's) are recognised by their BOM.
    file: PathBuf,
    /// The file's format, or auto to recognise it from the first line:
    /// yelp, amazon, tripadvisor, google-business, app-store, twitter,
    /// zendesk, trustpilot, google-play, jsonl, csv, responses-csv.
    #[arg(long, default_value = "auto", value_parser = clap::builder::PossibleValuesParser::new(
        std::iter::once("auto").chain(FORMAT_NAMES.iter().copied())))]
    format: String,
    /// Where items of a jsonl or csv file come from (default other):
    /// trustpilot, google, amazon, yelp, reddit, support…
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Which column holds a field, for jsonl, csv and responses-csv; repeat
    /// it. Feedback fields: id, text, title, rating, date, author, handle,
    /// email, customer, url, language. Answer fields: score, comment,
    /// answered_at, email, customer, name, locale. JSON columns may be
    /// pointers (/user/email). Unmapped fields are looked for under usual
    /// names (text, body, comment…; Timestamp, Email Address…).
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    map: Vec<String>,
    /// How dates are written, as a strftime pattern (e.g. %d.%m.%Y %H:%M),
    /// when they are not ISO 8601 / RFC 3339, Unix seconds or M/D/YYYY H:MM:SS.
    #[arg(long, value_name = "FMT")]
    date_format: Option<String>,
    /// Import survey answers (responses-csv) into this survey, created if needed.
    #[arg(long, value_name = "NAME")]
    survey: Option<String>,
    /// The survey's kind, for --survey: nps (0-10), csat (1-5), ces (1-7).
    #[arg(long, default_value = "nps", value_parser = ["nps", "csat", "ces"])]
    kind: String,
    /// Write every record that could not be read here, as JSON lines
    /// {"line", "reason", "raw"}.
    #[arg(long, value_name = "PATH")]
    rejects: Option<PathBuf>,
    /// Import nothing if any record is bad.
    #[arg(long)]
    strict: bool,
    /// Read, check and tag everything; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON: imported, updated, unchanged, rejected, seconds.
    #[arg(long)]
    json: bool,
}

/// Opens `path` for reading from its start; `bar`, when the file's size is
/// known, counts the bytes read (compressed bytes for .gz files).
fn open(path: &PathBuf, bar: &ProgressBar) -> std::io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn std::io::Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        // --strict reads the file twice: each reading starts the bar again.
        bar.reset();
        let file = bar.wrap_read(File::open(path)?);
        if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        }
    };
    // A UTF-16 BOM is transcoded to UTF-8; anything else passes through as is.
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .bom_sniffing(true)
        .utf8_passthru(true)
        .build(raw);
    Ok(Box::new(BufReader::with_capacity(1 << 20, decoded)))
}

/// Exit code 0 when every record was imported, 1 when some were rejected;
/// a file that cannot be read at all is an error (exit code 2).
pub async fn run(store: &Store, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    anyhow::ensure!(
        !(args.strict && name == "-"),
        "--strict reads the file twice, so it needs a file, not standard input"
    );
    let format: Option<Format> = (args.format != "auto")
        .then(|| args.format.parse())
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let responses = args.survey.is_some() || format == Some(Format::ResponsesCsv);
    anyhow::ensure!(
        !responses || matches!(format, None | Some(Format::ResponsesCsv)),
        "--survey imports survey answers (responses-csv), not {}",
        args.format
    );
    anyhow::ensure!(
        !responses || args.survey.is_some(),
        "--format responses-csv needs --survey NAME: the survey the answers belong to"
    );
    let source = args
        .source
        .as_deref()
        .map(|s| {
            s.replace('-', "_").parse::<Source>().map_err(|_| {
                anyhow::anyhow!(
                    "--source {s:?}: not a source ({})",
                    Source::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .transpose()?;
    let options = ImportOptions {
        format,
        read: ReadOptions {
            mapping: FieldMap::parse(&args.map).map_err(anyhow::Error::msg)?,
            date_format: args.date_format.clone(),
            source,
            ..ReadOptions::default()
        },
        dry_run: args.dry_run,
        strict: args.strict,
    };
    let mut rejects = match &args.rejects {
        Some(path) => Some(std::io::BufWriter::new(
            File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    // A file's size gives the bar an end, so an ETA; standard input has none.
    let size = (name != "-")
        .then(|| std::fs::metadata(&args.file).ok())
        .flatten()
        .map(|m| m.len());
    let bar = match size {
        Some(len) => crate::progress::file(len),
        None => crate::progress::counter(),
    };
    bar.set_message(crate::progress::importing(0, bar.elapsed()));
    let mut write_error = None;
    let reject = |r: &vouch_ingest::Rejection| {
        if let Some(out) = rejects.as_mut() {
            let line = serde_json::json!({ "line": r.line, "reason": r.reason, "raw": r.raw });
            if let Err(e) = writeln!(out, "{line}") {
                write_error.get_or_insert(e);
            }
        }
    };
    let progress = |done| bar.set_message(crate::progress::importing(done, bar.elapsed()));
    let summary = match &args.survey {
        Some(survey) => {
            let target = SurveyTarget {
                name: survey.clone(),
                kind: args
                    .kind
                    .parse::<SurveyKind>()
                    .map_err(anyhow::Error::msg)?,
            };
            vouch_app::import::import_responses(
                store,
                || open(&args.file, &bar),
                &target,
                options,
                reject,
                progress,
            )
            .await
        }
        None => {
            vouch_app::import::import(store, || open(&args.file, &bar), options, reject, progress)
                .await
        }
    }
    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    bar.finish_and_clear();
    if let Some(out) = rejects.as_mut() {
        out.flush()?;
    }
    if let Some(e) = write_error {
        anyhow::bail!("writing the rejects file: {e}");
    }
    print_summary(&summary, &args, &name)?;
    Ok(if summary.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(s: &ImportSummary, args: &ImportArgs, name: &str) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    let rate = (s.imported + s.updated + s.unchanged + s.rejected) as f64 / s.seconds.max(1e-9);
    println!(
        "{name}: {} imported, {} updated, {} unchanged, {} rejected in {:.1} s ({} items/s){}",
        thousands(s.imported),
        thousands(s.updated),
        thousands(s.unchanged),
        thousands(s.rejected),
        s.seconds,
        thousands(rate as u64),
        if args.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    if s.rejected > 0 {
        match &args.rejects {
            Some(path) => println!(
                "Rejected records, with their line numbers and reasons: {}",
                path.display()
            ),
            None => println!(
                "Add --rejects FILE to keep the rejected records with their line numbers and reasons."
            ),
        }
    }
    Ok(())
}
