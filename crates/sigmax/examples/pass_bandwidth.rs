//! How close one gradient pass and one Hessian-vector product come to the machine's memory
//! bandwidth: times both on a data file (medians of 7) and a STREAM-style triad
//! a[i] = b[i] + s·c[i] over 3 × 64 Mi doubles in the same run, and prints
//! bytes-of-matrix-read per second as a fraction of the triad's bytes per second.
//! Sparse data is timed as given and with its columns renumbered by frequency, as
//! training renumbers them (the passes then go over the column copy where it pays).
//!
//! cargo run --release -p sigmax --example pass_bandwidth -- DATA.svm [LAMBDA]

use sigmax::data::{load, ColumnOrder, Features, LoadOptions};
use sigmax::loss::BinaryLoss;
use sigmax::objective::{BinaryObjective, Objective};

#[path = "common/timing.rs"]
mod timing;

/// Medians of 7 (after a warm-up run).
fn time(f: impl FnMut()) -> f64 {
    timing::time(7, f)
}

/// Bytes/s of a[i] = b[i] + s·c[i] (reads b, c; writes a), one thread and all threads.
fn triad() -> (f64, f64) {
    use rayon::prelude::*;
    let n = 64 << 20;
    let (b, c) = (vec![1.0f64; n], vec![2.0f64; n]);
    let mut a = vec![0.0f64; n];
    let bytes = 3.0 * 8.0 * n as f64;
    let one = time(|| {
        a.iter_mut()
            .zip(&b)
            .zip(&c)
            .for_each(|((a, b), c)| *a = b + 3.0 * c)
    });
    let all = time(|| {
        a.par_chunks_mut(1 << 16)
            .zip(b.par_chunks(1 << 16))
            .zip(c.par_chunks(1 << 16))
            .for_each(|((a, b), c)| {
                a.iter_mut()
                    .zip(b)
                    .zip(c)
                    .for_each(|((a, b), c)| *a = b + 3.0 * c)
            })
    });
    std::hint::black_box(&a);
    (bytes / one, bytes / all)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: pass_bandwidth DATA.svm [LAMBDA]");
    let lambda: f64 = args.get(1).map_or(1e-4, |s| s.parse().expect("λ"));
    let d = load(path.as_ref(), &LoadOptions::default()).expect("data");
    let matrix_bytes = match &d.x {
        Features::Dense(_) => d.x.nnz() as f64 * 4.0,
        Features::Sparse(_) => d.x.nnz() as f64 * 8.0 + (d.n_rows() + 1) as f64 * 8.0,
    };
    let y: Vec<bool> = d.y.iter().map(|&c| c == 1).collect();
    let mut timings = vec![("as given", passes(&d.x, &y, lambda))];
    if let Some(order) = ColumnOrder::by_frequency(&ColumnOrder::column_counts(&d.x), 1) {
        timings.push(("renumbered", passes(&order.apply(&d.x), &y, lambda)));
    }
    let (one, all) = triad();
    let storage = if d.x.is_sparse() { "CSR" } else { "dense" };
    println!(
        "{path}: {} rows × {} features, {storage}, matrix {:.0} MB",
        d.n_rows(),
        d.n_features(),
        matrix_bytes / 1e6
    );
    println!(
        "  triad bandwidth: {:.1} GB/s on one thread, {:.1} GB/s on all threads",
        one / 1e9,
        all / 1e9
    );
    for (columns, (t_grad, t_hv)) in timings {
        println!("  columns {columns}:");
        for (what, t) in [("gradient pass", t_grad), ("Hessian-vector product", t_hv)] {
            let bw = matrix_bytes / t;
            println!(
                "    {what:<24} {:>8.1} ms  {:>5.1} GB/s  = {:>3.0}% of the triad",
                t * 1e3,
                bw / 1e9,
                100.0 * bw / all
            );
        }
    }
}

/// Seconds of one gradient pass and one Hessian-vector product (the first pass also
/// builds the column copy, if the objective uses one, outside the timing).
fn passes(x: &Features, y: &[bool], lambda: f64) -> (f64, f64) {
    let mut obj = BinaryObjective::new(x, y.to_vec(), BinaryLoss::Logistic, lambda, false)
        .expect("objective");
    let w = vec![1e-3; obj.dim()];
    let mut g = vec![0.0; obj.dim()];
    let t_grad = time(|| {
        obj.value_grad(&w, &mut g);
    });
    let v = vec![1e-2; obj.dim()];
    let mut hv = vec![0.0; obj.dim()];
    let t_hv = time(|| {
        obj.hess_vec(&v, &mut hv);
    });
    (t_grad, t_hv)
}
