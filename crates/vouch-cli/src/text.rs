use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use vouch_text::{Analysis, Taxonomy, TextAnalyzer};

#[derive(Subcommand)]
pub enum TextCommand {
    /// Language, sentiment and topics of a text, or of every line of a file.
    ///
    /// Examples:
    ///   vouch text score "Delivery was slow but support was great"
    ///   vouch text score --input reviews.txt --json > scores.jsonl
    ///   cat comments.txt | vouch text score --input - --lang ro --json
    #[command(verbatim_doc_comment)]
    Score(ScoreArgs),
}

#[derive(Args)]
pub struct ScoreArgs {
    /// The text to score (or use --input).
    text: Option<String>,
    /// A file with one text per line; - reads standard input.
    #[arg(long, conflicts_with = "text")]
    input: Option<PathBuf>,
    /// The language of every text, or auto to identify each: auto, en, ro, fr, de, es, it.
    #[arg(long, default_value = "auto", value_parser = ["auto", "en", "ro", "fr", "de", "es", "it"])]
    lang: String,
    /// A taxonomy file (TOML) instead of the default topics.
    #[arg(long)]
    taxonomy: Option<PathBuf>,
    /// One JSON object per text, in input order: language, compound,
    /// positive, neutral, negative, label, topics.
    #[arg(long)]
    json: bool,
}

/// Texts are scored in chunks on every core, and printed in input order.
const CHUNK: usize = 10_000;

pub fn run(command: TextCommand) -> anyhow::Result<()> {
    match command {
        TextCommand::Score(args) => score(args),
    }
}

fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let taxonomy = match &args.taxonomy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Taxonomy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Taxonomy::default_taxonomy(),
    };
    let analyzer = TextAnalyzer::new(taxonomy);
    let language = (args.lang != "auto").then_some(args.lang.as_str());
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut emit = |texts: &[String]| -> anyhow::Result<()> {
        for analysis in analyze_all(&analyzer, texts, language) {
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&analysis)?)?;
            } else {
                writeln!(out, "{}", readable(&analysis))?;
            }
        }
        Ok(())
    };
    match (&args.text, &args.input) {
        (Some(text), _) => emit(std::slice::from_ref(text))?,
        (None, Some(path)) => {
            let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let file = std::fs::File::open(path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                Box::new(std::io::BufReader::new(file))
            };
            let mut chunk = Vec::with_capacity(CHUNK);
            for (n, line) in reader.lines().enumerate() {
                chunk.push(line.map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?);
                if chunk.len() == CHUNK {
                    emit(&chunk)?;
                    chunk.clear();
                }
            }
            emit(&chunk)?;
        }
        (None, None) => anyhow::bail!("give a text, or --input FILE (- for standard input)"),
    }
    out.flush()?;
    Ok(())
}

fn analyze_all(analyzer: &TextAnalyzer, texts: &[String], language: Option<&str>) -> Vec<Analysis> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = texts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = texts
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|t| analyzer.analyze(t, language))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("analysis does not panic"))
            .collect()
    })
}

fn readable(a: &Analysis) -> String {
    let topics: Vec<String> = a
        .topics
        .iter()
        .map(|t| format!("{} {:+.2}", t.topic, t.sentiment))
        .collect();
    format!(
        "{:<4} {:+.4} {:<8} {}",
        a.language.unwrap_or("?"),
        a.compound,
        a.label,
        if topics.is_empty() {
            String::new()
        } else {
            format!("topics: {}", topics.join(", "))
        }
    )
    .trim_end()
    .to_owned()
}
