//! Open-set verification, LFW-style: same/different pairs in 10 folds, scored by the
//! cosine similarity of their features. Reports the 10-fold accuracy (each fold's
//! threshold chosen on the other 9, Huang et al. 2007, "Labeled Faces in the Wild"),
//! ROC AUC, the equal error rate and the true-accept rate at a false-accept rate of 1e-2.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// A pair of images (indices) and whether they show the same class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub same: bool,
}

/// `folds` folds of `per_fold` pairs, half same-class and half different-class, drawn
/// with a seeded generator from images with the given labels. Each fold is built from its
/// own slice of the images (as LFW's folds hold disjoint people, here disjoint images).
pub fn make_pairs(labels: &[u32], folds: usize, per_fold: usize, seed: u64) -> Vec<Vec<Pair>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
    let slice = labels.len() / folds.max(1);
    (0..folds)
        .map(|f| {
            let mine = &order[f * slice..(f + 1) * slice];
            let mut by_class: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
            for &i in mine {
                by_class.entry(labels[i]).or_default().push(i);
            }
            let classes: Vec<&Vec<usize>> = by_class.values().filter(|v| v.len() >= 2).collect();
            let mut pairs = Vec::with_capacity(per_fold);
            for p in 0..per_fold {
                let same = p % 2 == 0;
                let pair = if same && !classes.is_empty() {
                    let members = classes[rng.random_range(0..classes.len())];
                    let picked: Vec<&usize> = members.choose_multiple(&mut rng, 2).collect();
                    Pair {
                        a: *picked[0],
                        b: *picked[1],
                        same: true,
                    }
                } else {
                    loop {
                        let a = mine[rng.random_range(0..mine.len())];
                        let b = mine[rng.random_range(0..mine.len())];
                        if labels[a] != labels[b] {
                            break Pair { a, b, same: false };
                        }
                    }
                };
                pairs.push(pair);
            }
            pairs
        })
        .collect()
}

/// Cosine similarity of rows a and b of an n × d feature matrix.
pub fn cosine(features: &[f32], d: usize, a: usize, b: usize) -> f64 {
    let (x, y) = (&features[a * d..(a + 1) * d], &features[b * d..(b + 1) * d]);
    let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
    for (&u, &v) in x.iter().zip(y) {
        xy += u as f64 * v as f64;
        xx += u as f64 * u as f64;
        yy += v as f64 * v as f64;
    }
    xy / (xx.sqrt() * yy.sqrt()).max(1e-300)
}

#[derive(Debug, Clone, Serialize)]
pub struct VerificationReport {
    pub pairs: usize,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub auc: f64,
    pub eer: f64,
    pub tar_at_far_1e2: f64,
    /// Every pair's score and truth (for ROC pictures).
    #[serde(skip)]
    pub scores: Vec<f64>,
    #[serde(skip)]
    pub truth: Vec<bool>,
}

/// Scores the folds' pairs by cosine similarity and measures verification.
pub fn verify(features: &[f32], d: usize, folds: &[Vec<Pair>]) -> VerificationReport {
    let scored: Vec<Vec<(f64, bool)>> = folds
        .iter()
        .map(|f| {
            f.iter()
                .map(|p| (cosine(features, d, p.a, p.b), p.same))
                .collect()
        })
        .collect();
    let mut accs = Vec::with_capacity(folds.len());
    for (k, fold) in scored.iter().enumerate() {
        let others: Vec<(f64, bool)> = scored
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        let t = best_threshold(&others);
        accs.push(accuracy_at(fold, t));
    }
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let std = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>()
        / accs.len().saturating_sub(1).max(1) as f64)
        .sqrt();
    let all: Vec<(f64, bool)> = scored.into_iter().flatten().collect();
    let scores: Vec<f64> = all.iter().map(|p| p.0).collect();
    let truth: Vec<bool> = all.iter().map(|p| p.1).collect();
    let auc = sigmax::metrics::roc_auc(&truth, &scores).unwrap_or(f64::NAN);
    let (eer, tar) = eer_and_tar(&all, 1e-2);
    VerificationReport {
        pairs: all.len(),
        accuracy_mean: mean,
        accuracy_std: std,
        auc,
        eer,
        tar_at_far_1e2: tar,
        scores,
        truth,
    }
}

fn accuracy_at(pairs: &[(f64, bool)], threshold: f64) -> f64 {
    pairs
        .iter()
        .filter(|(s, same)| (*s >= threshold) == *same)
        .count() as f64
        / pairs.len().max(1) as f64
}

/// The threshold (between sorted scores) with the highest accuracy.
fn best_threshold(pairs: &[(f64, bool)]) -> f64 {
    let mut sorted: Vec<(f64, bool)> = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Threshold below everything: all called "same"; moving it past a pair flips that pair.
    let mut correct = sorted.iter().filter(|p| p.1).count() as i64;
    let (mut best, mut best_t) = (correct, sorted.first().map_or(0.0, |p| p.0 - 1e-9));
    for i in 0..sorted.len() {
        correct += if sorted[i].1 { -1 } else { 1 };
        let next = sorted.get(i + 1).map_or(sorted[i].0 + 1e-9, |p| p.0);
        if next > sorted[i].0 && correct > best {
            best = correct;
            best_t = 0.5 * (sorted[i].0 + next);
        }
    }
    best_t
}

/// Equal error rate, and the true-accept rate at the largest threshold set whose
/// false-accept rate is ≤ `far`.
fn eer_and_tar(pairs: &[(f64, bool)], far: f64) -> (f64, f64) {
    let mut sorted: Vec<(f64, bool)> = pairs.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0)); // descending: accept the top ones
    let pos = sorted.iter().filter(|p| p.1).count().max(1) as f64;
    let neg = sorted.iter().filter(|p| !p.1).count().max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let (mut eer, mut best_gap, mut tar) = (1.0, f64::INFINITY, 0.0);
    for (i, &(s, same)) in sorted.iter().enumerate() {
        if same {
            tp += 1.0
        } else {
            fp += 1.0
        }
        if sorted.get(i + 1).is_some_and(|n| n.0 == s) {
            continue; // ties: evaluate after the whole group
        }
        let (tpr, fpr) = (tp / pos, fp / neg);
        if fpr <= far {
            tar = tpr;
        }
        let gap = (fpr - (1.0 - tpr)).abs();
        if gap < best_gap {
            best_gap = gap;
            eer = 0.5 * (fpr + 1.0 - tpr);
        }
    }
    (eer, tar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_balanced_and_labelled_right() {
        let labels: Vec<u32> = (0..3000).map(|i| (i % 3) as u32).collect();
        let folds = make_pairs(&labels, 10, 600, 7);
        assert_eq!(folds.len(), 10);
        for f in &folds {
            assert_eq!(f.iter().filter(|p| p.same).count(), 300);
            assert!(f
                .iter()
                .all(|p| (labels[p.a] == labels[p.b]) == p.same && p.a != p.b));
        }
        assert_eq!(make_pairs(&labels, 10, 600, 7), folds);
    }

    #[test]
    fn separable_features_verify_perfectly_and_random_ones_at_chance() {
        // Class c lies along axis c: perfect separation by cosine.
        let labels: Vec<u32> = (0..1000).map(|i| (i % 4) as u32).collect();
        let d = 4;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut f = vec![0.0f32; labels.len() * d];
        for (i, &l) in labels.iter().enumerate() {
            for j in 0..d {
                f[i * d + j] = 0.1 * rng.random::<f32>();
            }
            f[i * d + l as usize] += 1.0;
        }
        let folds = make_pairs(&labels, 10, 100, 3);
        let r = verify(&f, d, &folds);
        assert!(
            r.accuracy_mean > 0.99 && r.auc > 0.999 && r.eer < 0.01 && r.tar_at_far_1e2 > 0.99,
            "{r:?}"
        );
        let noise: Vec<f32> = (0..f.len()).map(|_| rng.random::<f32>() - 0.5).collect();
        let r = verify(&noise, d, &folds);
        assert!(
            (r.auc - 0.5).abs() < 0.06 && (r.accuracy_mean - 0.5).abs() < 0.08 && r.eer > 0.4,
            "{r:?}"
        );
    }

    #[test]
    fn thresholds_and_eer_on_a_hand_example() {
        let pairs = [
            (0.9, true),
            (0.8, true),
            (0.7, false),
            (0.6, true),
            (0.2, false),
            (0.1, false),
        ];
        let t = best_threshold(&pairs);
        assert_eq!(accuracy_at(&pairs, t), 5.0 / 6.0);
        let (eer, tar) = eer_and_tar(&pairs, 0.0);
        assert!((eer - 1.0 / 3.0).abs() < 1e-12, "{eer}");
        assert!((tar - 2.0 / 3.0).abs() < 1e-12, "{tar}");
    }
}
