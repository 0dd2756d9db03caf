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
    /// Learn sentiment from star ratings: the rated feedback in the database,
    /// or a JSON-lines file (fields text, or title and content; stars, starRating
    /// or rating on 1-5). One model per language; 4-5 stars count as positive,
    /// 1-2 as negative, 3 is left out. Run `vouch text retag` afterwards.
    ///
    /// Example: vouch text train --input reviews.jsonl --lang ro
    Train(TrainArgs),
    /// Re-apply language, sentiment and topics to all stored feedback, after
    /// the taxonomy or a model changed.
    Retag,
    /// Index the feedback that waits for the inbox's search. A large import
    /// leaves its items to `vouch serve`, which indexes them in the
    /// background; this does it now, in the foreground.
    Index,
    /// The models learnt from the company's ratings.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Per language: the rated items, whether blending is on, and the
    /// held-out accuracy of the lexicon alone and blended with the model.
    /// `vouch serve` learns a language's model by itself once it has 2,000
    /// rated items, and again when they double; --now does it here.
    Status {
        /// Train now every language that is due.
        #[arg(long)]
        now: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct TrainArgs {
    /// A JSON-lines file of rated texts instead of the database's feedback.
    #[arg(long)]
    input: Option<PathBuf>,
    /// The language of the file's texts [default: identified per text].
    #[arg(long, value_parser = ["en", "ro", "fr", "de", "es", "it"])]
    lang: Option<String>,
    /// Train a language only with at least this many positive and negative examples.
    #[arg(long, default_value_t = 50)]
    min_per_class: usize,
}

#[derive(Subcommand)]
pub enum TopicsCommand {
    /// The topics in use: the company's taxonomy, or the default one.
    List,
    /// Replace the taxonomy with a TOML file (see crates/vouch-text/taxonomy/default.toml).
    Set { file: PathBuf },
    /// Phrases frequent in recent feedback that no topic covers yet.
    Suggest {
        /// Look at feedback from the last this many days.
        #[arg(long, default_value_t = 90)]
        days: i64,
        /// A phrase must appear in at least this many items.
        #[arg(long, default_value_t = 3)]
        min_texts: usize,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
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
    /// The languages to identify among, comma-separated (a subset of en,ro,fr,de,es,it).
    #[arg(long, env = "VOUCH_LANGUAGES", value_delimiter = ',', default_value = "en,ro,fr,de,es,it", value_parser = ["en", "ro", "fr", "de", "es", "it"])]
    languages: Vec<String>,
    /// The sentiment scorer: feedback (customer feedback: VADER with the
    /// feedback supplement for English, the Romanian scorer for Romanian)
    /// or vader (vaderSentiment 3.3.2 exactly, for every text).
    #[arg(long, default_value = "feedback", value_parser = clap::builder::PossibleValuesParser::new(vouch_text::SCORERS))]
    analyzer: String,
    /// One JSON object per text, in input order: language, compound,
    /// positive, neutral, negative, label, topics.
    #[arg(long)]
    json: bool,
}

/// Texts are scored in chunks on every core, and printed in input order.
const CHUNK: usize = 10_000;

/// `vouch text score`, which needs no database.
pub fn run_score(args: ScoreArgs) -> anyhow::Result<()> {
    score(args)
}

/// The text commands that read or write the database.
pub async fn run(store: &vouch_store::Store, command: TextCommand) -> anyhow::Result<()> {
    match command {
        TextCommand::Score(args) => score(args),
        TextCommand::Train(args) => train(store, args).await,
        TextCommand::Model(ModelCommand::Status { now, json }) => {
            if now {
                let trained = vouch_app::text::train_when_due(store, chrono::Utc::now()).await?;
                if trained.is_empty() && !json {
                    println!(
                        "No language is due: each needs {} rated items, or twice as many as at its last training.",
                        vouch_app::text::AUTO_TRAIN_MIN_RATED
                    );
                }
            }
            let reports = vouch_app::text::model_reports(store).await?;
            if json {
                println!("{}", serde_json::json!({ "models": reports }));
            } else if reports.is_empty() {
                println!(
                    "No model learnt yet: one is learnt per language once it has {} rated items (4-5 or 1-2 stars).",
                    vouch_app::text::AUTO_TRAIN_MIN_RATED
                );
            } else {
                let mut table = crate::table::Table::new(&[
                    "language", "rated", "held out", "lexicon", "blended", "blending", "trained",
                ]);
                for r in &reports {
                    table.row(vec![
                        r.language.clone(),
                        r.rated.to_string(),
                        r.held_out.to_string(),
                        format!("{:.2}%", 100.0 * r.lexicon_accuracy),
                        format!("{:.2}%", 100.0 * r.blended_accuracy),
                        if r.switched_on {
                            "on".into()
                        } else {
                            "off".into()
                        },
                        r.trained_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]);
                }
                print!("{}", table.render());
            }
            Ok(())
        }
        TextCommand::Retag => {
            let bar = crate::progress::bar(0, "Re-tagging");
            let started = std::time::Instant::now();
            let done = vouch_app::text::retag(store, |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "Re-tagged {done} feedback items in {seconds:.1} s ({:.0} items/s)",
                done as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
        TextCommand::Index => {
            let backlog = store.search_backlog().await?;
            let bar = crate::progress::bar(backlog, "Indexing for search");
            let started = std::time::Instant::now();
            let done =
                vouch_app::search::catch_up(store, None, |done| bar.set_position(done)).await?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "Indexed {done} feedback items for search in {seconds:.1} s ({:.0} items/s); none waits now.",
                done as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
    }
}

async fn train(store: &vouch_store::Store, args: TrainArgs) -> anyhow::Result<()> {
    let examples = match &args.input {
        Some(path) => examples_from_file(path, args.lang.as_deref())?,
        None => vouch_app::text::examples_from_store(store).await?,
    };
    anyhow::ensure!(
        !examples.is_empty(),
        "no rated texts to learn from (ratings of 3 on 1-5 are left out)"
    );
    let reports = vouch_app::text::train(store, &examples, args.min_per_class).await?;
    for r in reports {
        let outcome = if r.stored {
            "model stored"
        } else {
            "too few examples, nothing stored"
        };
        println!(
            "{}: {} positive, {} negative: {outcome}",
            r.language, r.positive, r.negative
        );
    }
    println!("Next: vouch text retag");
    Ok(())
}

/// Reads (language, text, positive?) from JSON lines; a line that cannot be
/// read is an error naming the file, the line and the field.
fn examples_from_file(
    path: &std::path::Path,
    language: Option<&str>,
) -> anyhow::Result<Vec<(String, String, bool)>> {
    let content =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let identifier = vouch_text::LanguageIdentifier::shared();
    let mut examples = Vec::new();
    for (n, line) in content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |field: &str, problem: &str| {
            anyhow::anyhow!("{}:{}: {field}: {problem}", path.display(), n + 1)
        };
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| at("line", &e.to_string()))?;
        let text = match (
            v.get("text").and_then(|t| t.as_str()),
            v.get("content").and_then(|t| t.as_str()),
        ) {
            (Some(text), _) => text.to_owned(),
            (None, Some(content)) => format!(
                "{} {content}",
                v.get("title").and_then(|t| t.as_str()).unwrap_or("")
            ),
            _ => return Err(at("text", "missing (give text, or title and content)")),
        };
        let stars = ["stars", "starRating", "rating"]
            .iter()
            .find_map(|k| v.get(*k))
            .and_then(|s| {
                s.as_f64()
                    .or_else(|| s.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .ok_or_else(|| at("stars", "missing or not a number"))?;
        if !(1.0..=5.0).contains(&stars) {
            return Err(at("stars", &format!("{stars} is outside 1-5")));
        }
        let positive = match stars {
            s if s >= 4.0 => true,
            s if s <= 2.0 => false,
            _ => continue,
        };
        let Some(language) = language.or_else(|| identifier.identify(&text)) else {
            continue;
        };
        examples.push((language.to_owned(), text, positive));
    }
    Ok(examples)
}

pub async fn run_topics(store: &vouch_store::Store, command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::List => {
            let stored = vouch_app::text::stored_taxonomy(store).await?;
            println!(
                "{} taxonomy:",
                if stored.is_some() {
                    "The company's"
                } else {
                    "The default"
                }
            );
            let taxonomy = stored.unwrap_or_else(Taxonomy::default_taxonomy);
            for topic in taxonomy.topics() {
                let mut languages: Vec<&String> = topic.keywords.keys().collect();
                languages.sort();
                let counts: Vec<String> = languages
                    .iter()
                    .map(|l| format!("{l}: {}", topic.keywords[*l].len()))
                    .collect();
                println!(
                    "  {:<12} {:<24} keywords {}",
                    topic.name,
                    topic.label.as_deref().unwrap_or(""),
                    counts.join(", ")
                );
            }
            Ok(())
        }
        TopicsCommand::Set { file } => {
            let definition = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let taxonomy = vouch_app::text::set_taxonomy(store, &definition)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "Stored a taxonomy of {} topics. Next: vouch text retag",
                taxonomy.topics().len()
            );
            Ok(())
        }
        TopicsCommand::Suggest {
            days,
            min_texts,
            limit,
            json,
        } => {
            let since = chrono::Utc::now() - chrono::Duration::days(days);
            let suggestions =
                vouch_app::text::suggest_topics(store, since, min_texts, limit).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "suggestions": suggestions }))?
                );
            } else if suggestions.is_empty() {
                println!(
                    "No phrase outside the topics appears in {min_texts} or more items of the last {days} days."
                );
            } else {
                for s in suggestions {
                    println!("{:>6}  {}", s.texts, s.phrase);
                }
            }
            Ok(())
        }
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
    let languages: Vec<&str> = args.languages.iter().map(String::as_str).collect();
    let scorer: vouch_text::Scorer = args.analyzer.parse().map_err(anyhow::Error::msg)?;
    let analyzer = TextAnalyzer::new(taxonomy)
        .with_languages(&languages)
        .with_scorer(scorer);
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
    vouch_text::map_on_all_cores(texts, |t| analyzer.analyze(t, language))
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
