use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::ProgressBar;
use vouch_app::import::{ImportOptions, ImportSummary, SurveyTarget};
use vouch_domain::{Source, SurveyKind};
use vouch_ingest::{FORMAT_NAMES, FieldMap, Format, ReadOptions};
use vouch_store::Store;

use crate::table::thousands;

#[derive(Args, Clone)]
pub struct ImportArgs {
    /// The file to import; - reads standard input; .gz files are
    /// decompressed; UTF-16 files (Google Play's) are recognised by their BOM.
    /// A directory or a .zip archive (a Google Takeout, an X archive) is
    /// searched for .json, .js, .jsonl, .ndjson, .csv and .gz files; each
    /// is imported and reported on its own, and files of no known format
    /// are skipped.
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
    /// The time zone of times written without one (Europe/Bucharest,
    /// America/New_York…); times with a zone or offset keep theirs. The
    /// summary says how many had none.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    tz: chrono_tz::Tz,
    /// Import survey answers (responses-csv) into this survey, created if needed.
    #[arg(long, value_name = "NAME")]
    survey: Option<String>,
    /// The file holds customers, one a row (a CRM export: HubSpot and
    /// Salesforce contacts are recognised): each is created or updated,
    /// matched by email, else by id (Record ID, Contact ID, external_id).
    /// Name and locale are set when given, consent_PURPOSE columns (yes/no)
    /// record consent, insider (yes/no) marks employees and relatives, and
    /// every other column becomes an attribute. Fields for --map: email,
    /// customer, name, first_name, last_name, locale.
    #[arg(long, conflicts_with_all = ["survey", "strict", "dry_run"])]
    customers: bool,
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
    /// Set for each file of a directory or archive: the rejects file
    /// collects every file's rejects, each naming its file.
    #[arg(skip)]
    rejects_of: Option<String>,
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
    if args.customers {
        return run_customers(store, &args).await;
    }
    if args.file.is_dir() || is_zip(&args.file) {
        return run_many(store, args).await;
    }
    let name = args.file.display().to_string();
    let summary = import_one(store, &args, &name).await?;
    print_summary(&summary, &args, &name)?;
    Ok(if summary.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--customers`: upserts the file's customers and reports what changed.
async fn run_customers(store: &Store, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let bar = progress_bar(&args.file);
    let mut rejects = open_rejects(args.rejects.as_ref(), false)?;
    let mut write_error = None;
    let reject = |r: &vouch_ingest::Rejection| {
        write_reject(rejects.as_mut(), None, r, &mut write_error);
    };
    let progress = |done| bar.set_message(crate::progress::importing(done, bar.elapsed()));
    let mapping = FieldMap::parse(&args.map).map_err(anyhow::Error::msg)?;
    let reader = open(&args.file, &bar).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let (summary, vendor) =
        vouch_app::import::import_customers(store, reader, &mapping, reject, progress)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    bar.finish_and_clear();
    finish_rejects(rejects, write_error)?;
    if args.json {
        let mut value = serde_json::to_value(summary)?;
        value["vendor"] = serde_json::json!(vendor);
        println!("{value}");
    } else {
        println!(
            "{name}{}: {} customers created, {} updated, {} unchanged, {} rejected in {:.1} s",
            vendor
                .map(|v| format!(" ({v} contacts)"))
                .unwrap_or_default(),
            thousands(summary.created),
            thousands(summary.updated),
            thousands(summary.unchanged),
            thousands(summary.rejected),
            summary.seconds
        );
    }
    Ok(if summary.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The import's bar: a file's size gives it an end, so an ETA; standard
/// input has none.
fn progress_bar(file: &Path) -> ProgressBar {
    let size = (file.as_os_str() != "-")
        .then(|| std::fs::metadata(file).ok())
        .flatten()
        .map(|m| m.len());
    match size {
        Some(len) => crate::progress::file(len),
        None => crate::progress::counter(),
    }
}

/// Flushes the `--rejects` file and reports the first write that failed.
fn finish_rejects(
    rejects: Option<std::io::BufWriter<File>>,
    write_error: Option<std::io::Error>,
) -> anyhow::Result<()> {
    if let Some(mut out) = rejects {
        out.flush()?;
    }
    match write_error {
        Some(e) => anyhow::bail!("writing the rejects file: {e}"),
        None => Ok(()),
    }
}

/// The `--rejects` file: new, or appended to (each file of a directory).
fn open_rejects(
    path: Option<&PathBuf>,
    append: bool,
) -> anyhow::Result<Option<std::io::BufWriter<File>>> {
    let Some(path) = path else { return Ok(None) };
    let file = if append {
        File::options().create(true).append(true).open(path)
    } else {
        File::create(path)
    };
    Ok(Some(std::io::BufWriter::new(file.map_err(|e| {
        anyhow::anyhow!("{}: {e}", path.display())
    })?)))
}

/// One rejected record as a JSON line, naming its file when there are
/// several; the first write error is kept for the end.
fn write_reject(
    out: Option<&mut std::io::BufWriter<File>>,
    file: Option<&str>,
    r: &vouch_ingest::Rejection,
    error: &mut Option<std::io::Error>,
) {
    let Some(out) = out else { return };
    let mut line = serde_json::json!({ "line": r.line, "reason": r.reason, "raw": r.raw });
    if let Some(file) = file {
        line["file"] = serde_json::json!(file);
    }
    if let Err(e) = writeln!(out, "{line}") {
        error.get_or_insert(e);
    }
}

fn parse_zone(raw: &str) -> Result<chrono_tz::Tz, String> {
    raw.parse().map_err(|_| {
        format!("{raw:?} is not a time zone of the tz database (e.g. UTC, Europe/Bucharest)")
    })
}

fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Names of files that may hold feedback or answers.
fn is_data_file(name: &str) -> bool {
    let name = name.to_lowercase();
    [".json", ".js", ".jsonl", ".ndjson", ".csv", ".gz"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Every data file under `dir`, in name order.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, found)?;
        } else if is_data_file(&path.to_string_lossy()) {
            found.push(path);
        }
    }
    Ok(())
}

/// The data files of a zip archive, each copied out to `into` (import
/// reads a file twice with --strict, and from its start), with the name
/// it has in the archive.
fn files_in_zip(archive: &Path, into: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let file = File::open(archive).map_err(|e| anyhow::anyhow!("{}: {e}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: not a zip archive: {e}", archive.display()))?;
    let mut found = Vec::new();
    let mut names: Vec<(usize, String)> = (0..zip.len())
        .filter_map(|i| {
            let entry = zip.by_index(i).ok()?;
            // An entry whose name would leave the folder is not read.
            let name = entry.enclosed_name()?.to_string_lossy().into_owned();
            (entry.is_file() && is_data_file(&name)).then_some((i, name))
        })
        .collect();
    names.sort_by(|a, b| a.1.cmp(&b.1));
    for (n, (i, name)) in names.into_iter().enumerate() {
        let mut entry = zip.by_index(i)?;
        let base = Path::new(&name)
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = into.join(format!("{n}-{base}"));
        let mut out = File::create(&path)?;
        std::io::copy(&mut entry, &mut out)
            .map_err(|e| anyhow::anyhow!("{}: {name}: {e}", archive.display()))?;
        found.push((path, name));
    }
    Ok(found)
}

/// One file's outcome in a directory or archive.
#[derive(serde::Serialize)]
struct FileReport {
    file: String,
    #[serde(flatten)]
    summary: Option<ImportSummary>,
    /// Why nothing was imported from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Imports each data file of a directory or zip archive and reports each.
/// Files of no known format are skipped (archives hold other things);
/// a file that cannot be read is an error (exit 2) after the others.
async fn run_many(store: &Store, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let root = args.file.display().to_string();
    let scratch = tempfile::tempdir()?;
    let files: Vec<(PathBuf, String)> = if is_zip(&args.file) {
        files_in_zip(&args.file, scratch.path())?
    } else {
        let mut found = Vec::new();
        files_under(&args.file, &mut found).map_err(|e| anyhow::anyhow!("{root}: {e}"))?;
        found
            .into_iter()
            .map(|p| {
                let name = p
                    .strip_prefix(&args.file)
                    .unwrap_or(&p)
                    .display()
                    .to_string();
                (p, name)
            })
            .collect()
    };
    anyhow::ensure!(
        !files.is_empty(),
        "{root}: no .json, .js, .jsonl, .ndjson, .csv or .gz file in it"
    );
    if let Some(path) = &args.rejects {
        // Emptied once; each file's rejects are appended.
        File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let mut reports = Vec::new();
    let mut total = ImportSummary::default();
    for (path, name) in files {
        let one = ImportArgs {
            file: path,
            rejects_of: Some(name.clone()),
            ..args.clone()
        };
        let report = match import_one(store, &one, &name).await {
            Ok(summary) => {
                total.imported += summary.imported;
                total.updated += summary.updated;
                total.unchanged += summary.unchanged;
                total.rejected += summary.rejected;
                total.seconds += summary.seconds;
                total.zoneless_times += summary.zoneless_times;
                // The backlog is the database's: the last file's count is the total.
                total.search_backlog = summary.search_backlog;
                if !args.json {
                    print_summary(&summary, &one, &name)?;
                }
                FileReport {
                    file: name,
                    summary: Some(summary),
                    skipped: None,
                    error: None,
                }
            }
            Err(e) if e.to_string().contains(vouch_ingest::UNRECOGNISED_FORMAT) => {
                if !args.json {
                    println!("{name}: skipped, not a format Vouch recognises");
                }
                FileReport {
                    file: name,
                    summary: None,
                    skipped: Some("not a format Vouch recognises".into()),
                    error: None,
                }
            }
            Err(e) => {
                if !args.json {
                    println!("{name}: not imported: {e:#}");
                }
                FileReport {
                    file: name,
                    summary: None,
                    skipped: None,
                    error: Some(format!("{e:#}")),
                }
            }
        };
        reports.push(report);
    }
    let failed = reports.iter().any(|r| r.error.is_some());
    let imported_files = reports.iter().filter(|r| r.summary.is_some()).count();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "files": reports,
                "imported": total.imported,
                "updated": total.updated,
                "unchanged": total.unchanged,
                "rejected": total.rejected,
                "seconds": total.seconds,
                "zoneless_times": total.zoneless_times,
                "search_backlog": total.search_backlog,
            })
        );
    } else {
        println!(
            "{root}: {} of {} files read: {} imported, {} updated, {} unchanged, {} rejected",
            imported_files,
            reports.len(),
            thousands(total.imported),
            thousands(total.updated),
            thousands(total.unchanged),
            thousands(total.rejected)
        );
        print_search_backlog(total.search_backlog);
    }
    Ok(if failed {
        ExitCode::from(2)
    } else if total.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Imports one file; `name` is how reports call it.
async fn import_one(store: &Store, args: &ImportArgs, name: &str) -> anyhow::Result<ImportSummary> {
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
            zone: Some(args.tz),
            source,
            ..ReadOptions::default()
        },
        dry_run: args.dry_run,
        strict: args.strict,
    };
    let mut rejects = open_rejects(args.rejects.as_ref(), args.rejects_of.is_some())?;
    let bar = progress_bar(&args.file);
    bar.set_message(crate::progress::importing(0, bar.elapsed()));
    let mut write_error = None;
    let reject = |r: &vouch_ingest::Rejection| {
        write_reject(
            rejects.as_mut(),
            args.rejects_of.as_deref(),
            r,
            &mut write_error,
        );
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
    finish_rejects(rejects, write_error)?;
    Ok(summary)
}

/// Says that the newest items are not searchable yet, and what makes them so.
fn print_search_backlog(backlog: u64) {
    if backlog > 0 {
        println!(
            "{} items wait for the inbox's search index: `vouch serve` indexes them in the background, or run `vouch text index` now. Everything else (NPS, KPIs, lists, filters) has them already.",
            thousands(backlog)
        );
    }
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
    if s.zoneless_times > 0 {
        println!(
            "{} times had no time zone and were read as {} (--tz sets another).",
            thousands(s.zoneless_times),
            args.tz
        );
    }
    if args.rejects_of.is_none() {
        print_search_backlog(s.search_backlog);
    }
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
