//! Data the integration tests share.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sigmax::data::{Dataset, Features};
use sigmax::train::{train, SolverChoice, TrainOptions, Trained};

/// 400 sparse rows of 3,000 features (see [`sparse_text_like`]).
pub fn wide_sparse() -> Dataset {
    sparse_text_like(400, 3000)
}

/// `n` rows × `d` ≥ 2,800 features of 4 classes, text-like: ~8 nonzeros a row, half
/// from the class's own band of 700 columns, half Zipf-like over all.
pub fn sparse_text_like(n: usize, d: usize) -> Dataset {
    let per_row = 8usize;
    let mut indptr = vec![0];
    let (mut indices, mut values, mut y) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng = ChaCha8Rng::seed_from_u64(12345);
    for i in 0..n {
        let class = (i % 4) as u32;
        let mut row: Vec<u32> = (0..per_row)
            .map(|t| {
                let u: f64 = rng.random();
                // Half the entries from the class's own band, half Zipf-like over all.
                if t % 2 == 0 {
                    (class as usize * 700 + (u * 700.0) as usize) as u32
                } else {
                    ((d as f64).powf(u) as usize - 1).min(d - 1) as u32
                }
            })
            .collect();
        row.sort_unstable();
        row.dedup();
        values.extend(row.iter().map(|&j| 0.25 + (j % 5) as f32 * 0.2));
        indices.extend(row);
        indptr.push(indices.len());
        y.push(class);
    }
    let x = Features::Sparse(sigmax::data::CsrMatrix::new(d, indptr, indices, values));
    Dataset::from_class_ids(x, y, (0..4).map(|c| c.to_string()).collect()).unwrap()
}

/// A fit that must converge (SGD has no test to meet).
pub fn fit(d: &Dataset, opts: TrainOptions) -> Trained {
    let t = train(d, &opts, None).unwrap();
    assert!(
        t.report.converged || opts.solver == SolverChoice::Sgd,
        "{:?}",
        t.report.stop_reason
    );
    t
}

/// λ with a tight tolerance (1e-10), else the defaults.
pub fn opts(lambda: f64) -> TrainOptions {
    TrainOptions {
        lambda: Some(lambda),
        tol: Some(1e-10),
        ..TrainOptions::default()
    }
}

/// The binary labels "class 2 against the rest" of a 4-class set.
pub fn one_against_rest(d: &Dataset) -> Dataset {
    Dataset {
        y: d.y.iter().map(|&c| u32::from(c == 2)).collect(),
        classes: vec!["0".into(), "1".into()],
        ..d.clone()
    }
}
