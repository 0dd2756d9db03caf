//! Text analytics over what the store holds: learning sentiment from star
//! ratings, re-tagging every item after the taxonomy or a model changes,
//! and suggesting new topics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_domain::{FeedbackId, TopicMention};
use vouch_store::{FeedbackAnalysis, FeedbackText, Store, TextTags};
use vouch_text::{
    KeyphraseSuggestion, LanguageIdentifier, SentimentModel, Taxonomy, TextAnalyzer, Training,
    suggest_keyphrases,
};

use crate::{AppError, Result};

/// 4–5 stars positive, 1–2 negative, 3 left out (on any scale, via 0–1).
fn label(rating: f64) -> Option<bool> {
    if rating >= 0.75 {
        Some(true)
    } else if rating <= 0.25 {
        Some(false)
    } else {
        None
    }
}

/// What text analytics reads of an item: its title, if any, then its body
/// (borrowed when there is no title, as with most reviews).
pub(crate) fn analysis_text<'a>(title: Option<&str>, body: &'a str) -> Cow<'a, str> {
    match title {
        Some(title) if !title.trim().is_empty() => Cow::Owned(format!("{title}. {body}")),
        _ => Cow::Borrowed(body),
    }
}

/// Whether a text has words to tag. A star-only review has none: it
/// counts in rating KPIs, never in text analytics (no sentiment, language
/// or topics).
pub(crate) fn has_words(text: &str) -> bool {
    !text.trim().is_empty()
}

fn full_text(item: &FeedbackText) -> String {
    analysis_text(item.title.as_deref(), &item.body).into_owned()
}

/// What training produced for one language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingReport {
    pub language: String,
    pub positive: usize,
    pub negative: usize,
    /// False when there were too few examples of either kind; nothing was stored.
    pub stored: bool,
}

/// Fits and stores one model per language from labelled texts, for each
/// language with at least `min_per_class` examples of both kinds.
pub async fn train(
    store: &Store,
    examples: &[(String, String, bool)],
    min_per_class: usize,
) -> Result<Vec<TrainingReport>> {
    let mut by_language: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
    for (language, text, positive) in examples {
        by_language
            .entry(language.as_str())
            .or_default()
            .push((text.as_str(), *positive));
    }
    let mut reports = Vec::new();
    for (language, examples) in by_language {
        let positive = examples.iter().filter(|(_, p)| *p).count();
        let negative = examples.len() - positive;
        let enough = positive >= min_per_class && negative >= min_per_class;
        if enough {
            let model = SentimentModel::train(language, &examples, Training::default());
            let json = serde_json::to_string(&model)
                .map_err(|e| AppError::Refused(format!("cannot encode the model: {e}")))?;
            store
                .save_sentiment_model(language, &json, examples.len() as u64, Utc::now())
                .await?;
        }
        reports.push(TrainingReport {
            language: language.to_owned(),
            positive,
            negative,
            stored: enough,
        });
    }
    Ok(reports)
}

/// The (language, text, positive?) examples in the store's rated feedback.
pub async fn examples_from_store(store: &Store) -> Result<Vec<(String, String, bool)>> {
    let identifier = LanguageIdentifier::shared();
    Ok(store
        .rated_feedback_texts()
        .await?
        .into_iter()
        .filter_map(|item| {
            let positive = label(item.rating?)?;
            let text = full_text(&item);
            let language = item
                .language
                .clone()
                .or_else(|| identifier.identify(&text).map(str::to_owned))?;
            Some((language, text, positive))
        })
        .collect())
}

/// The company's stored taxonomy, if it has one.
pub async fn stored_taxonomy(store: &Store) -> Result<Option<Taxonomy>> {
    store
        .taxonomy()
        .await?
        .map(|definition| {
            Taxonomy::parse(&definition)
                .map_err(|e| AppError::Refused(format!("the stored taxonomy is invalid: {e}")))
        })
        .transpose()
}

/// The company's taxonomy, or the default one.
async fn taxonomy_in_use(store: &Store) -> Result<Taxonomy> {
    Ok(stored_taxonomy(store)
        .await?
        .unwrap_or_else(Taxonomy::default_taxonomy))
}

/// The domain's form of the topics an analysis found.
pub(crate) fn topic_mentions(topics: Vec<vouch_text::TopicSentiment>) -> Vec<TopicMention> {
    topics
        .into_iter()
        .map(|t| TopicMention {
            topic: t.topic,
            sentiment: t.sentiment,
        })
        .collect()
}

/// The analyzer with the company's taxonomy (or the default) and every
/// stored model. Built once and shared until the taxonomy or a model
/// changes (one small query checks): building it parses the taxonomy and
/// the models, too slow to do for every survey answer.
pub async fn analyzer(store: &Store) -> Result<Arc<TextAnalyzer>> {
    static BUILT: Mutex<Option<(String, Arc<TextAnalyzer>)>> = Mutex::new(None);
    let version = format!("{}|{}", store.describe(), store.text_version().await?);
    if let Some((built_for, analyzer)) = &*BUILT.lock().unwrap_or_else(|e| e.into_inner())
        && *built_for == version
    {
        return Ok(analyzer.clone());
    }
    let analyzer = Arc::new(build_analyzer(store).await?);
    *BUILT.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, analyzer.clone()));
    Ok(analyzer)
}

async fn build_analyzer(store: &Store) -> Result<TextAnalyzer> {
    let taxonomy = taxonomy_in_use(store).await?;
    let mut analyzer = TextAnalyzer::new(taxonomy);
    for (language, json) in store.sentiment_models().await? {
        let model: SentimentModel = serde_json::from_str(&json).map_err(|e| {
            AppError::Refused(format!("the stored {language} model is unreadable: {e}"))
        })?;
        analyzer = analyzer.with_model(model);
    }
    Ok(analyzer)
}

/// The taxonomy in use as its TOML source: the company's, or the default.
pub async fn taxonomy_definition(store: &Store) -> Result<String> {
    Ok(store
        .taxonomy()
        .await?
        .unwrap_or_else(|| vouch_text::topics::DEFAULT_TAXONOMY.to_owned()))
}

/// The topics a definition holds, or why it is not a taxonomy.
pub fn topic_names(definition: &str) -> std::result::Result<Vec<String>, String> {
    let taxonomy = Taxonomy::parse(definition).map_err(|e| e.to_string())?;
    Ok(taxonomy.topics().iter().map(|t| t.name.clone()).collect())
}

/// What a definition would find in the `n` newest items, saving nothing:
/// each item's text and the topics it would get.
pub async fn preview_taxonomy(
    store: &Store,
    definition: &str,
    n: u32,
) -> Result<Vec<(String, Vec<String>)>> {
    let taxonomy = Taxonomy::parse(definition).map_err(|e| AppError::Refused(e.to_string()))?;
    let analyzer = TextAnalyzer::new(taxonomy);
    let items = store
        .feedback(&vouch_store::FeedbackFilter::default(), None, n)
        .await?;
    Ok(items
        .into_iter()
        .map(|item| {
            let f = item.feedback;
            let analysis = analyzer.analyze(&f.body, f.language.as_deref());
            (
                f.body,
                analysis.topics.into_iter().map(|t| t.topic).collect(),
            )
        })
        .collect())
}

/// Validates and stores the company's taxonomy.
pub async fn set_taxonomy(store: &Store, definition: &str) -> Result<Taxonomy> {
    let taxonomy = Taxonomy::parse(definition).map_err(|e| AppError::Refused(e.to_string()))?;
    store.save_taxonomy(definition, Utc::now()).await?;
    Ok(taxonomy)
}

/// Re-applies language identification, sentiment and topics to every stored
/// item, a page at a time; `progress(done, total)` after each page.
pub async fn retag(store: &Store, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
    const PAGE: u32 = 5_000;
    let analyzer = analyzer(store).await?;
    let total = store.count_feedback().await?;
    let mut after: Option<FeedbackId> = None;
    let mut done = 0;
    loop {
        let page = store.feedback_texts(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let count = page.len() as u64;
        let analyses =
            off_the_runtime(&analyzer, move |analyzer| analyze_page(analyzer, &page)).await?;
        store.save_feedback_analyses(&analyses).await?;
        done += count;
        progress(done, total);
    }
    Ok(done)
}

/// Analyses the items that have not been (survey comments as they arrive,
/// items written before text analytics existed); returns how many.
pub async fn tag_untagged(store: &Store, analyzer: &Arc<TextAnalyzer>) -> Result<u64> {
    const PAGE: u32 = 5_000;
    let mut after: Option<FeedbackId> = None;
    let mut done = 0;
    loop {
        let page = store.untagged_feedback_texts(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        done += page.len() as u64;
        let analyses =
            off_the_runtime(analyzer, move |analyzer| analyze_page(analyzer, &page)).await?;
        store.save_feedback_analyses(&analyses).await?;
    }
    Ok(done)
}

/// Runs `tag` with `analyzer` on a blocking thread: tagging is CPU work
/// that must neither hold a runtime thread (other requests, a transaction
/// in flight and `/healthz` wait behind it) nor run inside a transaction.
pub(crate) async fn off_the_runtime<T: Send + 'static>(
    analyzer: &Arc<TextAnalyzer>,
    tag: impl FnOnce(&TextAnalyzer) -> T + Send + 'static,
) -> Result<T> {
    let analyzer = analyzer.clone();
    tokio::task::spawn_blocking(move || tag(&analyzer))
        .await
        .map_err(|e| AppError::Refused(format!("tagging failed: {e}")))
}

/// The tags of each item of `page` that `has_words`.
fn analyze_page(analyzer: &TextAnalyzer, page: &[FeedbackText]) -> Vec<FeedbackAnalysis> {
    vouch_text::map_on_all_cores(page, |item| {
        let text = full_text(item);
        has_words(&text).then(|| FeedbackAnalysis {
            id: item.id,
            tags: tags(analyzer, &text, item.language.as_deref()),
        })
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The tags of `text`, whose language, when known, is `language`.
pub fn tags(analyzer: &TextAnalyzer, text: &str, language: Option<&str>) -> TextTags {
    // The item's own language wins: imports often know it.
    let a = analyzer.analyze(text, language);
    TextTags {
        language: a
            .language
            .map(str::to_owned)
            .or(language.map(str::to_owned)),
        sentiment: a.compound,
        topics: topic_mentions(a.topics),
    }
}

/// Phrases frequent in feedback since `since` that no topic covers.
pub async fn suggest_topics(
    store: &Store,
    since: DateTime<Utc>,
    min_texts: usize,
    limit: usize,
) -> Result<Vec<KeyphraseSuggestion>> {
    let taxonomy = taxonomy_in_use(store).await?;
    let items = store.recent_feedback_texts(since, 50_000).await?;
    let identifier = LanguageIdentifier::shared();
    let texts: Vec<(String, &str)> = items
        .iter()
        .map(|i| {
            let text = full_text(i);
            let language = i
                .language
                .as_deref()
                .and_then(vouch_text::known_language)
                .or_else(|| identifier.identify(&text))
                .unwrap_or("en");
            (text, language)
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = texts.iter().map(|(t, l)| (t.as_str(), *l)).collect();
    Ok(suggest_keyphrases(&borrowed, &taxonomy, min_texts, limit))
}

/// Rated items a language needs before a model is learnt for it by itself.
pub const AUTO_TRAIN_MIN_RATED: usize = 2_000;

/// What the last automatic training of a language found, kept in settings
/// (`text.model.LANG`) and shown by `vouch text model status` and the
/// taxonomy settings page.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ModelReport {
    pub language: String,
    /// Rated items (4–5★ or 1–2★) the training saw.
    pub rated: usize,
    /// Every fifth of them, held out for validation.
    pub held_out: usize,
    /// Accuracy on the held-out fifth: the lexicon alone, and blended with the model.
    pub lexicon_accuracy: f64,
    pub blended_accuracy: f64,
    /// Whether blending is on: only when it beat the lexicon on the held-out fifth.
    pub switched_on: bool,
    pub trained_at: chrono::DateTime<Utc>,
}

fn report_setting(language: &str) -> String {
    format!("text.model.{language}")
}

/// The kept reports, by language.
pub async fn model_reports(store: &Store) -> Result<Vec<ModelReport>> {
    Ok(store
        .settings()
        .await?
        .iter()
        .filter(|(name, _)| name.starts_with("text.model."))
        .filter_map(|(_, json)| serde_json::from_str(json).ok())
        .collect())
}

/// Learns a language's model from the store's rated items, validates it on
/// the held-out fifth, and switches blending on only if it beats the
/// lexicon there (off otherwise: the model is removed). Keeps the report.
pub async fn train_validated(
    store: &Store,
    language: &str,
    examples: &[(&str, bool)],
    now: chrono::DateTime<Utc>,
) -> Result<ModelReport> {
    let every_fifth = |keep: bool| -> Vec<(&str, bool)> {
        examples
            .iter()
            .enumerate()
            .filter(|(i, _)| (i % 5 == 4) == keep)
            .map(|(_, e)| *e)
            .collect()
    };
    let (held, learn) = (every_fifth(true), every_fifth(false));
    let model = SentimentModel::train(language, &learn, Training::default());
    let lexicon = TextAnalyzer::new(taxonomy_in_use(store).await?);
    let blended = TextAnalyzer::new(taxonomy_in_use(store).await?).with_model(model.clone());
    let accuracy = |analyzer: &TextAnalyzer| {
        let right = held
            .iter()
            .filter(|(text, positive)| {
                let c = analyzer.sentiment(text, Some(language)).compound;
                c != 0.0 && (c > 0.0) == *positive
            })
            .count();
        right as f64 / held.len().max(1) as f64
    };
    let (lexicon_accuracy, blended_accuracy) = (accuracy(&lexicon), accuracy(&blended));
    let switched_on = blended_accuracy > lexicon_accuracy;
    if switched_on {
        let json = serde_json::to_string(&model)
            .map_err(|e| AppError::Refused(format!("cannot encode the model: {e}")))?;
        store
            .save_sentiment_model(language, &json, learn.len() as u64, now)
            .await?;
    } else {
        store.remove_sentiment_model(language).await?;
    }
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let report = ModelReport {
        language: language.to_owned(),
        rated: examples.len(),
        held_out: held.len(),
        lexicon_accuracy: round(lexicon_accuracy),
        blended_accuracy: round(blended_accuracy),
        switched_on,
        trained_at: now,
    };
    store
        .set_setting(
            &report_setting(language),
            &serde_json::to_string(&report).expect("a report serialises"),
        )
        .await?;
    Ok(report)
}

/// The background job's work: for each language with at least
/// `AUTO_TRAIN_MIN_RATED` rated items, trains when it never was, or when
/// the rated volume has doubled since. Returns the reports of what it trained.
pub async fn train_when_due(store: &Store, now: chrono::DateTime<Utc>) -> Result<Vec<ModelReport>> {
    let examples = examples_from_store(store).await?;
    let mut by_language: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
    for (language, text, positive) in &examples {
        by_language
            .entry(language.as_str())
            .or_default()
            .push((text.as_str(), *positive));
    }
    let kept = model_reports(store).await?;
    let mut trained = Vec::new();
    for (language, examples) in by_language {
        let last = kept.iter().find(|r| r.language == language);
        let due = examples.len() >= AUTO_TRAIN_MIN_RATED
            && last.is_none_or(|r| examples.len() >= 2 * r.rated);
        if due {
            trained.push(train_validated(store, language, &examples, now).await?);
        }
    }
    Ok(trained)
}
