//! Writes a reproducible sparse binary data set in LIBSVM format, shaped like text data:
//! power-law (Zipf, s = 1.1) feature frequencies, `nnz` features per row, labels from a
//! hidden linear model with 10% label noise.
//!
//! cargo run --release -p sigmax --example gen_sparse -- ROWS FEATURES NNZ SEED > out.svm

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let [rows, features, nnz, seed] = args[..] else {
        eprintln!("usage: gen_sparse ROWS FEATURES NNZ SEED");
        std::process::exit(2);
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
    // Zipf sampling by inverting the cumulative weights 1/k^1.1.
    let mut cdf: Vec<f64> = (1..=features).map(|k| (k as f64).powf(-1.1)).collect();
    for k in 1..features {
        cdf[k] += cdf[k - 1];
    }
    let total = cdf[features - 1];
    let truth: Vec<f64> = (0..features).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut idx: Vec<usize> = Vec::with_capacity(nnz);
    for _ in 0..rows {
        idx.clear();
        while idx.len() < nnz {
            let u = rng.random::<f64>() * total;
            let k = cdf.partition_point(|&c| c < u).min(features - 1);
            if !idx.contains(&k) {
                idx.push(k);
            }
        }
        idx.sort_unstable();
        let vals: Vec<f32> = idx.iter().map(|_| rng.random::<f32>()).collect();
        let score: f64 = idx.iter().zip(&vals).map(|(&k, &v)| truth[k] * v as f64).sum();
        let flip = rng.random::<f64>() < 0.1;
        let label = if (score > 0.0) != flip { "+1" } else { "-1" };
        write!(out, "{label}")?;
        for (&k, v) in idx.iter().zip(&vals) {
            write!(out, " {}:{:.4}", k + 1, v)?;
        }
        writeln!(out)?;
    }
    out.flush()
}
