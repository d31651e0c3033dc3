//! Writes the benchmark data sets as LIBSVM text (the one format every tool reads),
//! reproducibly from fixed seeds; nothing is downloaded.
//!
//! cargo run --release -p sigmax --example bench_data -- OUT_DIR [FASHION_DIR]
//!
//! - sparse.{train,test}.svm: text-like, 500k + 50k rows, 200k features, 90 nonzeros per
//!   row drawn with Zipf(1.1) feature frequencies, values in (0,1), labels from a hidden
//!   linear model with 10% flipped;
//! - dense.{train,test}.svm: 1M + 100k rows × 100 Gaussian features, labels from a hidden
//!   linear model through the logistic function;
//! - fashion_bin / fashion10 .{train,test}.svm from the Fashion-MNIST IDX files, pixels/255:
//!   binary = classes {0,2,4,6} (+1) vs the rest (−1), and all 10 classes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sigmax::data::{read_idx, Dataset};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

fn writer(path: &Path) -> BufWriter<std::fs::File> {
    BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create output"))
}

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn sparse(out: &Path) -> std::io::Result<()> {
    let (features, nnz) = (200_000usize, 90usize);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut cdf: Vec<f64> = (1..=features).map(|k| (k as f64).powf(-1.1)).collect();
    for k in 1..features {
        cdf[k] += cdf[k - 1];
    }
    let total = cdf[features - 1];
    let truth: Vec<f64> = (0..features).map(|_| gauss(&mut rng)).collect();
    for (name, rows) in [("sparse.train.svm", 500_000), ("sparse.test.svm", 50_000)] {
        let mut w = writer(&out.join(name));
        let mut idx: Vec<usize> = Vec::with_capacity(nnz);
        for _ in 0..rows {
            idx.clear();
            while idx.len() < nnz {
                let k = cdf
                    .partition_point(|&c| c < rng.random::<f64>() * total)
                    .min(features - 1);
                if !idx.contains(&k) {
                    idx.push(k);
                }
            }
            idx.sort_unstable();
            let vals: Vec<f32> = idx.iter().map(|_| rng.random::<f32>()).collect();
            let score: f64 = idx
                .iter()
                .zip(&vals)
                .map(|(&k, &v)| truth[k] * v as f64)
                .sum();
            let positive = (score > 0.0) != (rng.random::<f64>() < 0.1);
            write!(w, "{}", if positive { "+1" } else { "-1" })?;
            for (&k, v) in idx.iter().zip(&vals) {
                write!(w, " {}:{:.4}", k + 1, v)?;
            }
            writeln!(w)?;
        }
        w.flush()?;
    }
    Ok(())
}

fn dense(out: &Path) -> std::io::Result<()> {
    let d = 100;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let truth: Vec<f64> = (0..d).map(|_| gauss(&mut rng) * 0.3).collect();
    for (name, rows) in [("dense.train.svm", 1_000_000), ("dense.test.svm", 100_000)] {
        let mut w = writer(&out.join(name));
        let mut x = vec![0.0; d];
        for _ in 0..rows {
            x.iter_mut().for_each(|v| *v = gauss(&mut rng));
            let z: f64 = x.iter().zip(&truth).map(|(a, b)| a * b).sum();
            let positive = rng.random::<f64>() < 1.0 / (1.0 + (-z).exp());
            write!(w, "{}", if positive { "+1" } else { "-1" })?;
            for (k, v) in x.iter().enumerate() {
                write!(w, " {}:{:.5}", k + 1, v)?;
            }
            writeln!(w)?;
        }
        w.flush()?;
    }
    Ok(())
}

fn write_dataset(path: &Path, d: &Dataset, label: impl Fn(&str) -> String) -> std::io::Result<()> {
    let mut w = writer(path);
    for i in 0..d.n_rows() {
        write!(w, "{}", label(d.label(i)))?;
        let mut err = Ok(());
        d.x.row(i).for_each(|j, v| {
            if v != 0.0 && err.is_ok() {
                err = write!(w, " {}:{}", j + 1, v as f32);
            }
        });
        err?;
        writeln!(w)?;
    }
    w.flush()
}

fn fashion(out: &Path, dir: &Path) -> std::io::Result<()> {
    for (split, file) in [
        ("train", "train-images-idx3-ubyte.gz"),
        ("test", "t10k-images-idx3-ubyte.gz"),
    ] {
        let d = read_idx(&dir.join(file), None).expect("Fashion-MNIST IDX files");
        write_dataset(&out.join(format!("fashion10.{split}.svm")), &d, |l| {
            l.to_string()
        })?;
        write_dataset(&out.join(format!("fashion_bin.{split}.svm")), &d, |l| {
            if ["0", "2", "4", "6"].contains(&l) {
                "+1".into()
            } else {
                "-1".into()
            }
        })?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: bench_data OUT_DIR [FASHION_DIR]");
        std::process::exit(2);
    };
    std::fs::create_dir_all(out)?;
    let done = |name: &str| out.join(name).exists();
    if let Some(dir) = args.get(1) {
        if !done("fashion_bin.test.svm") {
            eprintln!("writing Fashion-MNIST sets …");
            fashion(out, dir)?;
        }
    }
    if !done("sparse.test.svm") {
        eprintln!("writing the sparse set (500k × 200k) …");
        sparse(out)?;
    }
    if !done("dense.test.svm") {
        eprintln!("writing the dense set (1M × 100) …");
        dense(out)?;
    }
    Ok(())
}
