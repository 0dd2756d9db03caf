//! Learning sentiment from the company's own star ratings: a logistic
//! regression over hashed word 1- and 2-grams.
//!
//! Features are folded, lower-cased words and word pairs, hashed into
//! 2^18 buckets, weighted by log(1 + count) and L2-normalised per text.
//! Training is AdaGrad over a few epochs in a fixed pseudo-random order, so
//! the same data always gives the same model. The model is plain data (serde), stored by
//! the caller.

use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

use crate::romanian::fold;

const BUCKETS: usize = 1 << 18;

/// A trained model for one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentModel {
    pub language: String,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// How many labelled texts it was trained on.
    pub trained_on: usize,
}

/// Training settings; the defaults are what docs/TEXT.md reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Training {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            epochs: 8,
            learning_rate: 0.5,
            l2: 1e-6,
        }
    }
}

/// The hashed, weighted features of a text: (bucket, value) pairs.
pub fn features(text: &str) -> Vec<(u32, f32)> {
    let folded = fold(text);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut buckets: Vec<u32> = Vec::with_capacity(words.len() * 2);
    let bucket = |parts: &[&str]| {
        let mut h = FxHasher::default();
        parts.hash(&mut h);
        (h.finish() % BUCKETS as u64) as u32
    };
    for (i, w) in words.iter().enumerate() {
        buckets.push(bucket(&[w]));
        // A crude stem (the first five letters) joins inflected forms: bun, buna, bunul.
        if let Some((cut, _)) = w.char_indices().nth(5) {
            buckets.push(bucket(&["~", &w[..cut]]));
        }
        if let Some(next) = words.get(i + 1) {
            buckets.push(bucket(&[w, next]));
        }
    }
    buckets.sort_unstable();
    let mut features: Vec<(u32, f32)> = Vec::with_capacity(buckets.len());
    for b in buckets {
        match features.last_mut() {
            Some((last, count)) if *last == b => *count += 1.0,
            _ => features.push((b, 1.0)),
        }
    }
    let mut norm = 0.0;
    for (_, v) in features.iter_mut() {
        *v = (1.0 + *v).ln();
        norm += *v * *v;
    }
    let norm = norm.sqrt().max(1e-6);
    features.iter_mut().for_each(|(_, v)| *v /= norm);
    features
}

impl SentimentModel {
    /// Fits a model on (text, positive?) examples.
    pub fn train(language: &str, examples: &[(&str, bool)], settings: Training) -> SentimentModel {
        let mut data: Vec<(Vec<(u32, f32)>, f32)> = examples
            .iter()
            .map(|(t, p)| (features(t), if *p { 1.0 } else { 0.0 }))
            .collect();
        // Exports are often grouped by rating; stochastic gradients need the
        // classes mixed. A fixed pseudo-random order keeps training repeatable.
        let mut order: Vec<(u64, usize)> = (0..data.len())
            .map(|i| {
                let mut h = FxHasher::default();
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).hash(&mut h);
                (h.finish(), i)
            })
            .collect();
        order.sort_unstable();
        let mut shuffled: Vec<(Vec<(u32, f32)>, f32)> = Vec::with_capacity(data.len());
        for (_, i) in order {
            shuffled.push(std::mem::take(&mut data[i]));
        }
        let data = shuffled;
        let mut weights = vec![0.0f32; BUCKETS];
        let mut squared = vec![1e-8f32; BUCKETS];
        let (mut bias, mut bias_squared) = (0.0f32, 1e-8f32);
        for _ in 0..settings.epochs {
            for (x, y) in &data {
                let z = bias + x.iter().map(|(i, v)| weights[*i as usize] * v).sum::<f32>();
                let gradient = sigmoid(z) - y;
                for (i, v) in x {
                    let i = *i as usize;
                    let g = gradient * v + settings.l2 * weights[i];
                    squared[i] += g * g;
                    weights[i] -= settings.learning_rate * g / squared[i].sqrt();
                }
                bias_squared += gradient * gradient;
                bias -= settings.learning_rate * gradient / bias_squared.sqrt();
            }
        }
        SentimentModel {
            language: language.to_owned(),
            weights,
            bias,
            trained_on: examples.len(),
        }
    }

    /// The probability that `text` is positive.
    pub fn probability(&self, text: &str) -> f64 {
        let z = self.bias
            + features(text)
                .iter()
                .map(|(i, v)| self.weights.get(*i as usize).copied().unwrap_or(0.0) * v)
                .sum::<f32>();
        f64::from(sigmoid(z))
    }

    /// The model's opinion on VADER's compound scale, −1..1.
    pub fn compound(&self, text: &str) -> f64 {
        2.0 * self.probability(text) - 1.0
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Blends the lexicon's compound with a model's: the lexicon keeps the rules
/// (negation, emphasis) and the model brings the company's own vocabulary.
pub fn blend(lexicon: f64, model: f64) -> f64 {
    (0.3 * lexicon + 0.7 * model).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_vocabulary_the_lexicon_lacks() {
        let examples: Vec<(&str, bool)> = [
            ("zboara livrarea, colet venit a doua zi", true),
            ("colet venit rapid, zboara", true),
            ("produs zboara de pe raft, colet intact", true),
            ("colet pierdut, curierul a intarziat o saptamana", false),
            ("a intarziat coletul si a venit deschis", false),
            ("curierul a intarziat iar", false),
        ]
        .into_iter()
        .cycle()
        .take(60)
        .collect();
        let model = SentimentModel::train("ro", &examples, Training::default());
        assert!(model.probability("zboara, colet venit") > 0.7);
        assert!(model.probability("curierul a intarziat") < 0.3);
        assert_eq!(
            model,
            SentimentModel::train("ro", &examples, Training::default()),
            "deterministic"
        );
        let json = serde_json::to_string(&model).unwrap();
        assert_eq!(
            serde_json::from_str::<SentimentModel>(&json).unwrap(),
            model
        );
    }

    #[test]
    fn features_are_normalised_and_fold_diacritics() {
        let a = features("Livrare rapidă");
        assert_eq!(a, features("livrare RAPIDA"));
        let norm: f32 = a.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(features("").is_empty());
    }
}
