use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use vouch_app::import::{ImportOptions, ImportSummary};
use vouch_store::Store;

use crate::table::thousands;

#[derive(Args)]
pub struct ImportArgs {
    /// The file to import; - reads standard input; .gz files are decompressed.
    file: PathBuf,
    /// The file's format, or auto to recognise it from the first line.
    #[arg(long, default_value = "auto", value_parser = ["auto", "yelp", "amazon", "tripadvisor", "google-business", "app-store", "twitter", "zendesk"])]
    format: String,
    /// Write every record that could not be read here, as JSON lines
    /// {"line", "reason", "raw"}.
    #[arg(long)]
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

fn open(path: &PathBuf) -> std::io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let file = File::open(path)?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Exit code 0 when every record was imported, 1 when some were rejected;
/// a file that cannot be read at all is an error (exit code 2).
pub async fn run(store: &Store, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    anyhow::ensure!(
        !(args.strict && name == "-"),
        "--strict reads the file twice, so it needs a file, not standard input"
    );
    let mut rejects = match &args.rejects {
        Some(path) => Some(std::io::BufWriter::new(
            File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    let options = ImportOptions {
        format: (args.format != "auto")
            .then(|| args.format.parse())
            .transpose()
            .map_err(anyhow::Error::msg)?,
        dry_run: args.dry_run,
        strict: args.strict,
    };
    let bar = crate::progress::counter("Importing");
    let mut write_error = None;
    let summary = vouch_app::import::import(
        store,
        || open(&args.file),
        options,
        |r| {
            if let Some(out) = rejects.as_mut() {
                let line = serde_json::json!({ "line": r.line, "reason": r.reason, "raw": r.raw });
                if let Err(e) = writeln!(out, "{line}") {
                    write_error.get_or_insert(e);
                }
            }
        },
        |done| bar.set_position(done),
    )
    .await
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
