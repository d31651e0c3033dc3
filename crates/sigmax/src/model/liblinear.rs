//! LIBLINEAR model files (`liblinear-train` output): read as sigmax models, so a model
//! trained there can be evaluated, compared or used here, and written from binary sigmax
//! models, so `liblinear-predict` can use them.
//!
//! Format (LIBLINEAR 2.x, `save_model` in linear.cpp): header lines `solver_type NAME`,
//! `nr_class K`, `label l1 l2 …`, `nr_feature d`, `bias b`, then `w` and d (+1 with a bias)
//! lines of weights, one column per class (one column for two classes, whose positive
//! class is the first label).

use super::{LinearModel, ModelKind};
use crate::data::canonical_label;
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Whether `bytes` (a file's beginning) look like a LIBLINEAR model.
pub fn looks_like_liblinear(bytes: &[u8]) -> bool {
    bytes.starts_with(b"solver_type ")
}

/// A binary model in LIBLINEAR's text format: the positive class (sigmax's `classes[1]`)
/// first in `label`, the intercept as the weight of a bias feature of value 1 (LIBLINEAR
/// `-B 1`). `liblinear-predict` then gives the same labels (and, for logistic regression,
/// the same probabilities with `-b 1`).
pub fn liblinear_model_text(model: &LinearModel) -> Result<String> {
    let solver = match model.kind {
        ModelKind::Logistic => "L2R_LR",
        ModelKind::Svm => "L2R_L1LOSS_SVC_DUAL",
        ModelKind::SquaredHingeSvm => "L2R_L2LOSS_SVC",
        ModelKind::Softmax => {
            return Err(Error::Unsupported(
                "LIBLINEAR has no softmax model (its multi-class models are one-vs-rest); only binary models can be exported".into(),
            ))
        }
    };
    let mut out = String::new();
    let bias = if model.intercept { 1 } else { -1 };
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "solver_type {solver}\nnr_class 2\nlabel {} {}\nnr_feature {}\nbias {bias}\nw\n",
        model.classes[1], model.classes[0], model.n_features
    );
    for v in &model.weights[0] {
        let _ = writeln!(out, "{v} ");
    }
    if model.intercept {
        let _ = writeln!(out, "{} ", model.bias[0]);
    }
    Ok(out)
}

pub fn read_liblinear_model(path: &Path) -> Result<LinearModel> {
    let budget = crate::limits::ReadBudget::new();
    let text = crate::input::read_text(path, crate::input::Contents::Lines, &budget)?;
    parse_liblinear_model(&text, path)
}

/// Parses a LIBLINEAR model's text; `path` names it in errors.
pub fn parse_liblinear_model(text: &str, path: &Path) -> Result<LinearModel> {
    let bad = |line: usize, msg: String| Error::parse(path, line, msg);
    let mut lines = text.lines().enumerate();
    let (mut solver, mut labels, mut d, mut bias) = (String::new(), Vec::new(), None, -1.0);
    for (i, line) in lines.by_ref() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("solver_type") => solver = f.next().unwrap_or_default().to_string(),
            Some("nr_class") => {}
            Some("label") => labels = f.map(canonical_label).collect(),
            Some("nr_feature") => {
                let v = f.next().unwrap_or_default();
                d = Some(v.parse::<usize>().map_err(|_| {
                    bad(
                        i + 1,
                        format!("nr_feature {v:?} is not a number of features"),
                    )
                })?)
            }
            Some("bias") => {
                bias = f
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|b| b.is_finite())
                    .ok_or_else(|| bad(i + 1, "bias is not a finite number".into()))?
            }
            Some("w") => break,
            Some(other) => return Err(bad(i + 1, format!("unexpected header field {other:?}"))),
            None => {}
        }
    }
    let d = d.ok_or_else(|| Error::bad_file(path, "no nr_feature line: not a LIBLINEAR model"))?;
    let kind = match solver.as_str() {
        "L2R_LR" | "L2R_LR_DUAL" | "L1R_LR" => ModelKind::Logistic,
        // -s 1, -s 2, -s 5: the squared hinge (L2 loss).
        "L2R_L2LOSS_SVC_DUAL" | "L2R_L2LOSS_SVC" | "L1R_L2LOSS_SVC" => ModelKind::SquaredHingeSvm,
        "L2R_L1LOSS_SVC_DUAL" | "MCSVM_CS" => ModelKind::Svm,
        other => {
            return Err(Error::bad_file(
                path,
                format!("solver_type {other:?} is not a classifier sigmax reads"),
            ))
        }
    };
    if labels.len() < 2 {
        return Err(Error::bad_file(path, "fewer than two labels"));
    }
    if labels.len() != 2 {
        return Err(Error::bad_file(
            path,
            format!("{} classes: LIBLINEAR's multi-class models are one-vs-rest, not softmax; only binary models are read", labels.len()),
        ));
    }
    if labels[0] == labels[1] {
        return Err(Error::bad_file(
            path,
            format!("the two labels are the same ({:?})", labels[0]),
        ));
    }
    // nr_feature is not trusted: the weight lines must be there before room is made.
    let rows = d
        .checked_add((bias >= 0.0) as usize)
        .ok_or_else(|| Error::bad_file(path, format!("nr_feature {d} is too large")))?;
    let remaining = text.len() / 2 + 1;
    let mut w = Vec::with_capacity(rows.min(remaining));
    for r in 0..rows {
        let (i, line) = lines.next().ok_or_else(|| {
            Error::bad_file(path, format!("truncated: {r} of {rows} weight lines"))
        })?;
        let v: f64 = line
            .trim()
            .parse()
            .map_err(|_| bad(i + 1, format!("bad weight {line:?}")))?;
        if !v.is_finite() {
            return Err(bad(i + 1, format!("weight {v} is not finite")));
        }
        w.push(v);
    }
    // More weights than nr_feature (and the bias) account for: a model of another shape
    // (or a damaged nr_feature), not one to read with its last weight taken as the bias.
    if let Some((i, _)) = lines.find(|(_, l)| !l.trim().is_empty()) {
        return Err(bad(
            i + 1,
            format!(
                "more weight lines than nr_feature {d}{} accounts for: the model is damaged or not binary",
                if bias >= 0.0 { " and the bias" } else { "" }
            ),
        ));
    }
    // The bias feature's weight times its value is the intercept.
    let intercept = if bias >= 0.0 {
        Some(vec![w.pop().unwrap() * bias])
    } else {
        None
    };
    // LIBLINEAR's positive class is labels[0]; sigmax's is classes[1].
    let classes = vec![labels[1].clone(), labels[0].clone()];
    LinearModel::from_coefficients(kind, classes, vec![w], intercept, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_binary_model_and_maps_the_positive_class() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, "solver_type L2R_LR\nnr_class 2\nlabel 1 -1\nnr_feature 2\nbias 1\nw\n0.5 \n-0.25 \n0.125 \n").unwrap();
        let m = read_liblinear_model(&p).unwrap();
        assert_eq!(m.classes, vec!["-1", "1"]);
        assert_eq!(m.weights, vec![vec![0.5, -0.25]]);
        assert_eq!(m.bias, vec![0.125]);
        std::fs::write(
            &p,
            "solver_type L2R_LR\nnr_class 3\nlabel 1 2 3\nnr_feature 1\nbias -1\nw\n1 2 3\n",
        )
        .unwrap();
        assert!(read_liblinear_model(&p)
            .unwrap_err()
            .to_string()
            .contains("one-vs-rest"));
    }

    #[test]
    fn extra_weight_lines_are_refused_not_read_as_the_bias() {
        let head = "solver_type L2R_LR\nnr_class 2\nlabel 1 -1\nnr_feature 2\nbias 1\nw\n";
        let text = format!("{head}0.5 \n-0.25 \n0.125 \n6 \n");
        let e = parse_liblinear_model(&text, Path::new("m"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m:10: more weight lines than nr_feature 2 and the bias"),
            "{e}"
        );
        // Trailing blank lines are not weights.
        assert!(
            parse_liblinear_model(&format!("{head}0.5\n-0.25\n0.125\n\n"), Path::new("m")).is_ok()
        );
    }
}
