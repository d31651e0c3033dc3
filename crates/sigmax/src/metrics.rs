//! Evaluation metrics: accuracy, log loss, ROC AUC, confusion matrix.

use serde::Serialize;

/// Fraction of predictions equal to the truth.
pub fn accuracy(truth: &[u32], pred: &[u32]) -> f64 {
    if truth.is_empty() {
        return f64::NAN;
    }
    truth.iter().zip(pred).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// Accuracy with each row weighted by `weights[i]` (plain accuracy without weights), as
/// scikit-learn's `accuracy_score(sample_weight=…)`.
pub fn weighted_accuracy(truth: &[u32], pred: &[u32], weights: Option<&[f64]>) -> f64 {
    let Some(w) = weights else {
        return accuracy(truth, pred);
    };
    let total: f64 = w.iter().sum();
    let right: f64 = truth
        .iter()
        .zip(pred)
        .zip(w)
        .filter(|((a, b), _)| a == b)
        .map(|(_, s)| s)
        .sum();
    right / total
}

/// Weighted mean −log p(true class) (plain mean without weights), p clipped as in
/// [`log_loss`].
pub fn weighted_log_loss(truth: &[u32], probs: &[f64], k: usize, weights: Option<&[f64]>) -> f64 {
    let Some(w) = weights else {
        return log_loss(truth, probs, k);
    };
    let sum: f64 = truth
        .iter()
        .zip(probs.chunks(k))
        .zip(w)
        .map(|((&y, p), s)| -s * p[y as usize].clamp(1e-15, 1.0).ln())
        .sum();
    sum / w.iter().sum::<f64>()
}

/// Mean −log p(true class), with p clipped to [1e-15, 1] so one confident mistake is a
/// large finite number (as scikit-learn does). `probs` is row-major n × K.
pub fn log_loss(truth: &[u32], probs: &[f64], k: usize) -> f64 {
    let sum: f64 = truth
        .iter()
        .zip(probs.chunks(k))
        .map(|(&y, p)| -p[y as usize].clamp(1e-15, 1.0).ln())
        .sum();
    sum / truth.len() as f64
}

/// Area under the ROC curve of `scores` for `positive` labels: the probability that a
/// random positive scores above a random negative (ties count ½), by ranking (Mann–Whitney U).
/// `None` if one of the classes is absent.
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (average, 1-based) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * order[i..=j].iter().filter(|&&r| positive[r]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// counts\[truth\]\[predicted\].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfusionMatrix {
    pub classes: Vec<String>,
    pub counts: Vec<Vec<usize>>,
}

pub fn confusion_matrix(truth: &[u32], pred: &[u32], classes: &[String]) -> ConfusionMatrix {
    let k = classes.len();
    let mut counts = vec![vec![0; k]; k];
    for (&t, &p) in truth.iter().zip(pred) {
        counts[t as usize][p as usize] += 1;
    }
    ConfusionMatrix {
        classes: classes.to_vec(),
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_pairs_and_ties() {
        assert_eq!(
            roc_auc(&[false, true, false, true], &[0.1, 0.9, 0.2, 0.8]),
            Some(1.0)
        );
        assert_eq!(roc_auc(&[true, false], &[0.1, 0.9]), Some(0.0));
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5]), Some(0.5));
        // 2 positives, 2 negatives; pairs won: (0.8>0.3),(0.8>0.5),(0.4>0.3) → 3/4.
        assert_eq!(
            roc_auc(&[true, true, false, false], &[0.8, 0.4, 0.3, 0.5]),
            Some(0.75)
        );
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
    }

    #[test]
    fn accuracy_log_loss_confusion() {
        assert_eq!(accuracy(&[0, 1, 1], &[0, 1, 0]), 2.0 / 3.0);
        let ll = log_loss(&[0, 1], &[0.5, 0.5, 0.0, 1.0], 2);
        assert!((ll - 0.5 * 2f64.ln()).abs() < 1e-15);
        assert!(log_loss(&[0], &[0.0, 1.0], 2).is_finite());
        let cm = confusion_matrix(&[0, 1, 1], &[0, 1, 0], &["a".into(), "b".into()]);
        assert_eq!(cm.counts, vec![vec![1, 0], vec![1, 1]]);
    }
}

/// ROC curve points (false positive rate, true positive rate), from (0,0) to (1,1),
/// one point per distinct score threshold (ties move diagonally).
pub fn roc_curve(positive: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    let n_pos = positive.iter().filter(|&&p| p).count().max(1) as f64;
    let n_neg = (positive.len() - positive.iter().filter(|&&p| p).count()).max(1) as f64;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut pts = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = k + 1 == order.len() || scores[order[k + 1]] != scores[i];
        if last_of_tie {
            pts.push((fp / n_neg, tp / n_pos));
        }
    }
    pts
}

#[cfg(test)]
mod roc_tests {
    use super::*;

    #[test]
    fn roc_curve_area_equals_auc() {
        let truth = [true, false, true, true, false, false, true, false];
        let scores = [0.9, 0.8, 0.7, 0.7, 0.3, 0.2, 0.2, 0.1];
        let pts = roc_curve(&truth, &scores);
        assert_eq!(pts.first(), Some(&(0.0, 0.0)));
        assert_eq!(pts.last(), Some(&(1.0, 1.0)));
        let area: f64 = pts
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        assert!((area - roc_auc(&truth, &scores).unwrap()).abs() < 1e-12);
    }
}
