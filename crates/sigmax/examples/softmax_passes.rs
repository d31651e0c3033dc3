//! The cost of one softmax pass against its floor, one product X·Wᵀ (n × K scores from
//! W already stored feature-major, each nonzero reading K adjacent weights: the gather
//! and multiply-adds every pass must do at least once), and against the binary pass on
//! the same rows (the softmax pass does K times its work). Passes over rows (one
//! accumulator per row chunk) are timed beside passes over columns. Medians of 5.
//!
//! cargo run --release -p sigmax --example softmax_passes -- DATA.svm [LAMBDA]

use rayon::prelude::*;
use sigmax::data::{load, Features, LoadOptions, Row};
use sigmax::loss::BinaryLoss;
use sigmax::objective::{BinaryObjective, Objective, SoftmaxObjective};

#[path = "common/timing.rs"]
mod timing;

/// Medians of 5 (after a warm-up run).
fn time(f: impl FnMut()) -> f64 {
    timing::time(5, f)
}

/// scores\[i·K + j\] = Σ_l x_il·wt\[l·K + j\] (wt feature-major, d × K).
fn scores(x: &Features, wt: &[f64], k: usize, out: &mut [f64]) {
    out.par_chunks_mut(k).enumerate().for_each(|(i, s)| {
        s.fill(0.0);
        match x.row(i) {
            Row::Sparse(idx, val) => {
                for (&l, &v) in idx.iter().zip(val) {
                    let wl = &wt[l as usize * k..(l as usize + 1) * k];
                    s.iter_mut().zip(wl).for_each(|(a, &b)| *a += v as f64 * b);
                }
            }
            Row::Dense(row) => {
                for (l, &v) in row.iter().enumerate() {
                    let wl = &wt[l * k..(l + 1) * k];
                    s.iter_mut().zip(wl).for_each(|(a, &b)| *a += v as f64 * b);
                }
            }
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: softmax_passes DATA.svm [LAMBDA]");
    let lambda: f64 = args.get(1).map_or(1e-5, |s| s.parse().expect("λ"));
    let data = load(path.as_ref(), &LoadOptions::default()).expect("data");
    let (n, d, k) = (data.n_rows(), data.n_features(), data.classes.len());
    let nnz = data.x.nnz();
    // Columns built before timing (once per dataset, as in training).
    if let Features::Sparse(m) = &data.x {
        m.columns();
    }
    let wt: Vec<f64> = (0..d * k).map(|t| ((t % 7) as f64 - 3.0) * 1e-3).collect();
    let mut s = vec![0.0; n * k];
    let t_floor = time(|| scores(&data.x, &wt, k, &mut s));
    let mut rows = Vec::new();
    for over_columns in [false, true] {
        let mut obj = SoftmaxObjective::new(&data.x, &data.y, k, lambda, true)
            .expect("objective")
            .with_column_passes(over_columns);
        let m = obj.dim();
        let w: Vec<f64> = (0..m).map(|t| ((t % 5) as f64 - 2.0) * 1e-3).collect();
        let v: Vec<f64> = (0..m).map(|t| ((t % 3) as f64 - 1.0) * 1e-2).collect();
        let (mut g, mut hv) = (vec![0.0; m], vec![0.0; m]);
        let t_grad = time(|| {
            obj.value_grad(&w, &mut g);
        });
        let t_hv = time(|| {
            obj.hess_vec(&v, &mut hv);
        });
        let t_value = time(|| {
            obj.value(&w);
        });
        rows.push((over_columns, t_value, t_grad, t_hv));
    }
    let mut binary = BinaryObjective::new(
        &data.x,
        data.y.iter().map(|&c| c == 0).collect(),
        BinaryLoss::Logistic,
        lambda,
        true,
    )
    .expect("objective");
    let wb = vec![1e-3; binary.dim()];
    let mut gb = vec![0.0; binary.dim()];
    let t_binary = time(|| {
        binary.value_grad(&wb, &mut gb);
    });
    println!(
        "{path}: {n} rows × {d} features, {k} classes, {nnz} nonzeros, {} parameters",
        k * d + k
    );
    println!(
        "  floor X·Wᵀ (feature-major W)    {:>8.1} ms",
        t_floor * 1e3
    );
    let default_grad = rows.last().map_or(f64::NAN, |r| r.2);
    for (over_columns, t_value, t_grad, t_hv) in rows {
        let how = if over_columns { "columns" } else { "rows" };
        println!(
            "  over {how:<8} value {:>8.1} ms   gradient {:>8.1} ms ({:.2}× floor)   Hessian-vector {:>8.1} ms ({:.2}× floor)",
            t_value * 1e3,
            t_grad * 1e3,
            t_grad / t_floor,
            t_hv * 1e3,
            t_hv / t_floor
        );
    }
    println!(
        "  binary gradient pass on the same rows {:>8.1} ms: softmax over columns / (K × binary) = {:.2}",
        t_binary * 1e3,
        default_grad / (k as f64 * t_binary)
    );
}
