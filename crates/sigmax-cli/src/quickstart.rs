//! `sigmax quickstart`: the whole job on embedded data, no files needed.
//! Trains logistic regression on 80% of Statlog heart (stratified split), evaluates on
//! the other 20%, and explains the prediction for one held-out patient.

use crate::out::outln;
use anyhow::Result;
use clap::Args;
use sigmax::datasets::{heart_scale, HEART_FEATURES};
use sigmax::metrics::{accuracy, log_loss, roc_auc};
use sigmax::train::{train, TrainOptions};

#[derive(Args)]
pub struct QuickstartArgs {
    /// Seed of the train/test split.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which held-out patient to explain (0-based row of the test split).
    #[arg(long, default_value_t = 0)]
    pub patient: usize,
}

pub fn run(args: QuickstartArgs) -> Result<()> {
    let data = heart_scale();
    let (tr, te) = data.split(0.2, args.seed);
    outln!(
        "Statlog heart disease (embedded heart_scale): {} patients, {} features; training on {}, holding out {}",
        data.n_rows(),
        data.n_features(),
        tr.n_rows(),
        te.n_rows()
    )?;
    let fit = train(&tr, &TrainOptions::default(), None)?;
    let (m, r) = (&fit.model, &fit.report);
    outln!(
        "logistic regression, λ = {:.3e} (C = 1), intercept, trust-region Newton: {} in {} iterations, objective {:.8}, {:.1} ms",
        m.lambda,
        if r.converged { "converged" } else { "NOT converged" },
        r.iterations,
        r.objective,
        r.seconds * 1e3
    )?;
    let p = m.predict_proba(&te.x)?;
    let pred = m.predict(&te.x);
    let positive: Vec<bool> = te.y.iter().map(|&c| c == 1).collect();
    let auc = roc_auc(&positive, &m.decision_function(&te.x)).unwrap_or(f64::NAN);
    outln!(
        "held-out: accuracy {:.1}% ({}/{}), log loss {:.4}, ROC AUC {:.3}; training accuracy {:.1}%",
        100.0 * accuracy(&te.y, &pred),
        te.y.iter().zip(&pred).filter(|(a, b)| a == b).count(),
        te.n_rows(),
        log_loss(&te.y, &p, 2),
        auc,
        100.0 * accuracy(&tr.y, &m.predict(&tr.x))
    )?;
    let i = args.patient.min(te.n_rows() - 1);
    let prob = p[2 * i + 1];
    outln!(
        "\nheld-out patient #{i}: P(heart disease) = {:.3} → predicted {}, actually {}",
        prob,
        if prob > 0.5 { "disease" } else { "no disease" },
        if te.y[i] == 1 {
            "disease"
        } else {
            "no disease"
        }
    )?;
    // Contribution of each feature to the log-odds: w_j·x_j (features scaled to [-1, 1]).
    let mut x = vec![0.0; data.n_features()];
    te.x.row(i).for_each(|j, v| x[j] = v);
    let mut contrib: Vec<(usize, f64)> =
        (0..x.len()).map(|j| (j, m.weights[0][j] * x[j])).collect();
    contrib.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    outln!(
        "log-odds {:+.3} = intercept {:+.3} + Σ w·x; the largest terms:",
        prob.ln() - (1.0 - prob).ln(),
        m.bias[0]
    )?;
    outln!("  {:<34} {:>7} {:>8} {:>8}", "feature", "x", "w", "w·x")?;
    for &(j, c) in contrib.iter().take(6) {
        outln!(
            "  {:<34} {:>7.3} {:>+8.3} {:>+8.3}",
            HEART_FEATURES[j],
            x[j],
            m.weights[0][j],
            c
        )?;
    }
    Ok(())
}
