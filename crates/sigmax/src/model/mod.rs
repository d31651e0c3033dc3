//! Trained models: thin owners of weights that turn features into scores, probabilities
//! and labels. Binary models (logistic, SVM) hold one weight vector whose positive side
//! is `classes[1]`; softmax models hold one row per class.

mod liblinear;
mod persist;

pub use liblinear::{
    liblinear_model_text, looks_like_liblinear, parse_liblinear_model, read_liblinear_model,
};

pub use persist::{load_model, parse_model, save_model, MODEL_FORMAT, MODEL_VERSION};

use crate::data::{Dataset, Features};

/// A model file of either format: sigmax's JSON or LIBLINEAR's text (detected from the
/// content). A file that is neither says what it looks like.
pub fn load_any_model(path: &std::path::Path) -> Result<LinearModel> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    if looks_like_liblinear(head) {
        return read_liblinear_model(path);
    }
    let bad = |message: &str| Error::Model {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    if head.starts_with(b"SIGMAXNN") {
        return Err(bad(
            "this is a sigmax-nn checkpoint (a feature network); use `sigmax-nn eval`",
        ));
    }
    let text = String::from_utf8_lossy(head);
    let first = text.split_whitespace().next().unwrap_or("");
    if !text.trim_start().starts_with('{') && first.parse::<f64>().is_ok() {
        return Err(bad("this looks like a data file, not a model: did you swap MODEL and DATA? (the model comes first)"));
    }
    load_model(path)
}
use crate::error::{Error, Result};
use crate::loss::{sigmoid, softmax_into};
use serde::{Deserialize, Serialize};

crate::named_choice! {
    /// Which model family (and, for the binary ones, which loss trained it).
    pub enum ModelKind ("model") {
        /// Binary logistic regression, P(y = classes\[1\] | x) = g(w·x + b).
        Logistic = "logistic",
        /// Softmax regression over K classes.
        Softmax = "softmax" | "multinomial",
        /// Linear SVM with the hinge loss (L1-loss SVM): scores, no probabilities.
        Svm = "svm" | "hinge",
        /// Linear SVM with the squared hinge loss (L2-loss SVM, LIBLINEAR `-s 1`/`-s 2`).
        SquaredHingeSvm = "squared-hinge-svm" | "squared-hinge" | "l2-svm",
    }
}

impl ModelKind {
    /// The loss of a binary model in the ±1 form; `None` for softmax.
    pub fn binary_loss(self) -> Option<crate::loss::BinaryLoss> {
        use crate::loss::BinaryLoss;
        match self {
            ModelKind::Logistic => Some(BinaryLoss::Logistic),
            ModelKind::Svm => Some(BinaryLoss::Hinge),
            ModelKind::SquaredHingeSvm => Some(BinaryLoss::SquaredHinge),
            ModelKind::Softmax => None,
        }
    }

    /// Whether the model gives class probabilities.
    pub fn has_probabilities(self) -> bool {
        matches!(self, ModelKind::Logistic | ModelKind::Softmax)
    }
}

/// A linear classifier: K classes, rows of weights and biases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub kind: ModelKind,
    /// Class names in class-id order.
    pub classes: Vec<String>,
    pub n_features: usize,
    /// The L2 strength λ₂ it was trained with (informational for a model built by hand).
    pub lambda: f64,
    /// The L1 strength λ₁ it was trained with (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub l1: f64,
    pub intercept: bool,
    /// One row (binary) or K rows (softmax) of `n_features` weights.
    pub weights: Vec<Vec<f64>>,
    /// One bias per weight row (zeros without an intercept).
    pub bias: Vec<f64>,
    /// The features' names where the training data had them (a CSV header), so that
    /// data with its columns in another order is matched by name, not by position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_names: Option<Vec<String>>,
}

impl LinearModel {
    /// Builds a model from given coefficients, checking the shapes.
    pub fn from_coefficients(
        kind: ModelKind,
        classes: Vec<String>,
        weights: Vec<Vec<f64>>,
        bias: Option<Vec<f64>>,
        lambda: f64,
    ) -> Result<LinearModel> {
        let n_features = weights.first().map_or(0, Vec::len);
        let rows = weights.len();
        let intercept = bias.is_some();
        let bias = bias.unwrap_or_else(|| vec![0.0; rows]);
        let m = LinearModel {
            kind,
            classes,
            n_features,
            lambda,
            l1: 0.0,
            intercept,
            weights,
            bias,
            feature_names: None,
        };
        m.validate()?;
        Ok(m)
    }

    /// Checks that the shapes fit the kind; used after loading as well.
    pub fn validate(&self) -> Result<()> {
        let k = self.classes.len();
        if k < 2 {
            return Err(Error::Shape {
                what: "number of classes (at least)",
                expected: 2,
                got: k,
            });
        }
        // Names a data file could have (no control characters, no NUL: a forged model's
        // class would be printed as a prediction).
        if let Some(bad) = self
            .classes
            .iter()
            .find(|c| crate::data::check_label(c).is_err() || c.trim().is_empty())
        {
            return Err(Error::InvalidParameter {
                name: "classes",
                value: crate::data::excerpt(bad),
                expected: "class names without control characters (as data files give them)",
            });
        }
        // "1" and "1.0" name one class: compared as the data readers would intern them.
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = self
            .classes
            .iter()
            .find(|c| !seen.insert(crate::data::canonical_label(c)))
        {
            return Err(Error::InvalidParameter {
                name: "classes",
                value: format!("{dup:?} (twice)"),
                expected: "distinct class names",
            });
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite() && self.l1 >= 0.0 && self.l1.is_finite())
        {
            return Err(Error::InvalidParameter {
                name: "lambda",
                value: format!("{} (l1 {})", self.lambda, self.l1),
                expected: "finite numbers ≥ 0",
            });
        }
        let rows = match self.kind {
            ModelKind::Softmax => k,
            _ => 1,
        };
        if self.kind != ModelKind::Softmax && k != 2 {
            return Err(Error::Shape {
                what: "classes of a binary model",
                expected: 2,
                got: k,
            });
        }
        if self.weights.len() != rows {
            return Err(Error::Shape {
                what: "weight rows",
                expected: rows,
                got: self.weights.len(),
            });
        }
        if self.bias.len() != rows {
            return Err(Error::Shape {
                what: "bias entries",
                expected: rows,
                got: self.bias.len(),
            });
        }
        if let Some(names) = &self.feature_names {
            if names.len() != self.n_features {
                return Err(Error::Shape {
                    what: "feature names",
                    expected: self.n_features,
                    got: names.len(),
                });
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(Error::InvalidParameter {
                    name: "feature_names",
                    value: dup.clone(),
                    expected: "distinct names",
                });
            }
        }
        for r in &self.weights {
            if r.len() != self.n_features {
                return Err(Error::Shape {
                    what: "weights per row",
                    expected: self.n_features,
                    got: r.len(),
                });
            }
        }
        if let Some(v) = self
            .weights
            .iter()
            .flatten()
            .chain(&self.bias)
            .find(|v| !v.is_finite())
        {
            return Err(Error::NotFinite {
                what: "model weight",
                value: *v,
                context: String::new(),
            });
        }
        Ok(())
    }

    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// The labels of `data` as this model's class ids, matched by name; a label the
    /// model does not know is an error naming it and its (1-based) row.
    pub fn class_ids(&self, data: &Dataset) -> Result<Vec<u32>> {
        (0..data.n_rows())
            .map(|i| {
                self.classes
                    .iter()
                    .position(|c| c == data.label(i))
                    .map(|k| k as u32)
                    .ok_or_else(|| Error::UnknownLabel {
                        label: data.label(i).to_string(),
                        row: i + 1,
                        classes: self.classes.clone(),
                    })
            })
            .collect()
    }

    /// Raw scores, row-major n × (1 for binary, K for softmax).
    pub fn decision_function(&self, x: &Features) -> Vec<f64> {
        let rows = self.weights.len();
        let mut out = vec![0.0; x.n_rows() * rows];
        for (i, s) in out.chunks_mut(rows).enumerate() {
            let row = x.row(i);
            for (j, sj) in s.iter_mut().enumerate() {
                *sj = row.dot(&self.weights[j]) + self.bias[j];
            }
        }
        out
    }

    /// [`Self::decision_function`], refused when a score is not finite: weights that are
    /// finite but huge (1e308) overflow to ±∞ or NaN in w·x, and every probability, label
    /// and metric after that would be NaN or arbitrary.
    pub fn scores(&self, x: &Features) -> Result<Vec<f64>> {
        let scores = self.decision_function(x);
        let rows = self.weights.len().max(1);
        if let Some(at) = scores.iter().position(|s| !s.is_finite()) {
            let largest = self
                .weights
                .iter()
                .flatten()
                .chain(&self.bias)
                .fold(0f64, |m, w| m.max(w.abs()));
            return Err(Error::NotFinite {
                what: "a score w·x + b",
                value: scores[at],
                context: format!(
                    "on row {} (0-based): the model's weights (as large as {largest:e}) overflow on this data; the model is damaged or was trained on data of another scale",
                    at / rows
                ),
            });
        }
        Ok(scores)
    }

    /// Class probabilities, row-major n × K. SVMs have none; scores that are not finite
    /// are an error ([`Self::scores`]).
    pub fn predict_proba(&self, x: &Features) -> Result<Vec<f64>> {
        let scores = self.scores(x)?;
        match self.kind {
            ModelKind::Svm | ModelKind::SquaredHingeSvm => Err(Error::Unsupported(
                "a linear SVM gives scores, not probabilities".into(),
            )),
            ModelKind::Logistic => Ok(scores
                .iter()
                .flat_map(|&z| [sigmoid(-z), sigmoid(z)])
                .collect()),
            ModelKind::Softmax => {
                let k = self.n_classes();
                let mut p = vec![0.0; scores.len()];
                for (s, o) in scores.chunks(k).zip(p.chunks_mut(k)) {
                    softmax_into(s, o);
                }
                Ok(p)
            }
        }
    }

    /// Predicted class ids (index into `classes`).
    pub fn predict(&self, x: &Features) -> Vec<u32> {
        self.labels_of(&self.decision_function(x))
    }

    /// [`Self::predict`], refused when a score is not finite ([`Self::scores`]).
    pub fn try_predict(&self, x: &Features) -> Result<Vec<u32>> {
        Ok(self.labels_of(&self.scores(x)?))
    }

    /// Class ids of rows with these scores (row-major, as [`Self::decision_function`]).
    fn labels_of(&self, scores: &[f64]) -> Vec<u32> {
        match self.kind {
            ModelKind::Softmax => scores.chunks(self.n_classes()).map(argmax).collect(),
            _ => scores.iter().map(|&z| (z > 0.0) as u32).collect(),
        }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Index of the largest entry (the first on ties).
pub fn argmax(v: &[f64]) -> u32 {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DenseMatrix;

    #[test]
    fn from_coefficients_checks_shapes() {
        let ok = LinearModel::from_coefficients(
            ModelKind::Logistic,
            vec!["-1".into(), "1".into()],
            vec![vec![1.0, -1.0]],
            Some(vec![0.5]),
            0.0,
        )
        .unwrap();
        let x = Features::Dense(DenseMatrix::new(2, 2, vec![1.0, 0.0, 0.0, 1.0]).unwrap());
        assert_eq!(ok.predict(&x), vec![1, 0]);
        let p = ok.predict_proba(&x).unwrap();
        assert!((p[1] - sigmoid(1.5)).abs() < 1e-15 && (p[0] + p[1] - 1.0).abs() < 1e-15);
        let bad = LinearModel::from_coefficients(
            ModelKind::Softmax,
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![1.0], vec![2.0]],
            None,
            0.0,
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("weight rows (expected 3, got 2)"));
    }
}
