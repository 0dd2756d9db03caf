//! Advocate propensity for customers: the score and its reasons for one
//! customer, the likely advocates (passives and promoters not yet
//! enrolled, ranked), and the weights learnt from who actually became an
//! active advocate, validated on held-out customers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_domain::propensity::{Propensity, PropensitySignals, Weights, auc, fit};
use vouch_domain::{CustomerId, LoyaltyCategory};
use vouch_store::{PropensityRow, Store};

use crate::{AppError, Result};

/// Where the company's weights are kept (settings, JSON).
const WEIGHTS_SETTING: &str = "propensity.weights";

/// The weights in use: the company's (learnt or edited), else the default.
pub async fn weights(store: &Store) -> Result<Weights> {
    Ok(match store.settings().await?.get(WEIGHTS_SETTING) {
        Some(json) => serde_json::from_str(json).map_err(|e| {
            AppError::Refused(format!("the stored propensity weights are unreadable: {e}"))
        })?,
        None => Weights::default(),
    })
}

/// Keeps `weights` as the company's.
pub async fn set_weights(store: &Store, weights: &Weights) -> Result<()> {
    if !weights.intercept.is_finite() || weights.features.iter().any(|w| !w.is_finite()) {
        return Err(AppError::Refused("every weight must be a number".into()));
    }
    store
        .set_setting(
            WEIGHTS_SETTING,
            &serde_json::to_string(weights).expect("weights serialise"),
        )
        .await?;
    Ok(())
}

/// One customer's propensity; `None` when there is no such customer.
pub async fn of_customer(
    store: &Store,
    id: CustomerId,
    now: DateTime<Utc>,
) -> Result<Option<Propensity>> {
    let weights = weights(store).await?;
    Ok(store
        .propensity_rows(Some(id), now)
        .await?
        .first()
        .map(|row| weights.propensity(&row.signals)))
}

/// A customer on the likely-advocates list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LikelyAdvocate {
    pub customer_id: i64,
    /// `promoter` or `passive`.
    pub category: LoyaltyCategory,
    pub propensity: Propensity,
}

/// Passives and promoters not yet in the program, likeliest first.
pub async fn likely_advocates(
    store: &Store,
    lookback: chrono::Duration,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<LikelyAdvocate>> {
    let weights = weights(store).await?;
    let categories = crate::program::categories_now(store, lookback, now).await?;
    let mut out: Vec<LikelyAdvocate> = store
        .propensity_rows(None, now)
        .await?
        .into_iter()
        .filter(|row| !row.member)
        .filter_map(|row| {
            let category = *categories.get(&row.customer)?;
            (category != LoyaltyCategory::Detractor).then(|| LikelyAdvocate {
                customer_id: row.customer.0,
                category,
                propensity: weights.propensity(&row.signals),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.propensity
            .score
            .total_cmp(&a.propensity.score)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    out.truncate(limit);
    Ok(out)
}

/// What learning the weights gave.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrainingReport {
    pub customers: usize,
    pub advocates: usize,
    /// Every fifth customer (by id) is held out.
    pub held_out: usize,
    /// The AUC on the held-out customers: of the default weights, and of the learnt ones.
    pub default_auc: Option<f64>,
    pub learnt_auc: Option<f64>,
    pub weights: Weights,
    /// Whether the learnt weights were kept (they beat the default on the held-out fifth).
    pub kept: bool,
}

/// The signals a model may learn from: program activity is what makes an
/// active advocate, so it is left out, or the model would learn the label.
fn without_program(row: &PropensityRow) -> PropensitySignals {
    PropensitySignals {
        program_actions: 0,
        ..row.signals
    }
}

/// Learns the weights from who became an active advocate, on four fifths
/// of the customers, and keeps them if they rank the other fifth better
/// than the weights in use (by AUC). `dry_run` measures without keeping.
pub async fn train(store: &Store, now: DateTime<Utc>, dry_run: bool) -> Result<TrainingReport> {
    let rows = store.propensity_rows(None, now).await?;
    let (held, learn): (Vec<&PropensityRow>, Vec<&PropensityRow>) =
        rows.iter().partition(|r| r.customer.0 % 5 == 0);
    let examples: Vec<(PropensitySignals, bool)> = learn
        .iter()
        .map(|r| (without_program(r), r.active_advocate))
        .collect();
    let learnt = fit(&examples);
    let current = weights(store).await?;
    let auc_of = |w: &Weights| {
        auc(&held
            .iter()
            .map(|r| (w.probability(&without_program(r)), r.active_advocate))
            .collect::<Vec<_>>())
    };
    let (default_auc, learnt_auc) = (auc_of(&current), auc_of(&learnt));
    let kept = !dry_run && matches!((learnt_auc, default_auc), (Some(l), Some(d)) if l > d);
    if kept {
        set_weights(store, &learnt).await?;
    }
    let round = |x: Option<f64>| x.map(|x| (x * 1000.0).round() / 1000.0);
    Ok(TrainingReport {
        customers: rows.len(),
        advocates: rows.iter().filter(|r| r.active_advocate).count(),
        held_out: held.len(),
        default_auc: round(default_auc),
        learnt_auc: round(learnt_auc),
        weights: learnt,
        kept,
    })
}
