//! Micro-benchmark of the margin heads at face-recognition size: n = 256 features of
//! d = 512 against K = 10,000 classes. For each head: loss + both gradients in one pass,
//! next to a plain X·Wᵀ of the same size (the forward product alone). The head needs at
//! least three such products (X·Wᵀ forward, (G∘A)·W and (G∘A)ᵀ·X backward), so the
//! floor is about 3×.
//!
//! cargo run --release -p sigmax --example margin_bench [-- N D K REPEATS]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sigmax::margin::{MarginHead, MarginLoss, Scalar};

#[path = "common/timing.rs"]
mod timing;
use timing::time;

fn run<T: Scalar>(name: &str, n: usize, d: usize, k: usize, repeats: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x: Vec<T> = (0..n * d)
        .map(|_| T::from_f64(rng.random::<f64>() - 0.5))
        .collect();
    let w: Vec<T> = (0..k * d)
        .map(|_| T::from_f64((rng.random::<f64>() - 0.5) * 0.1))
        .collect();
    let y: Vec<u32> = (0..n).map(|_| rng.random_range(0..k as u32)).collect();
    let mut out = vec![T::default(); n * k];
    let matmul = time(repeats, || {
        T::gemm(
            n,
            d,
            k,
            T::from_f64(1.0),
            &x,
            (d as isize, 1),
            &w,
            (1, d as isize),
            T::from_f64(0.0),
            &mut out,
        )
    });
    println!(
        "{name}: n={n} d={d} K={k}, median of {repeats}; X·Wᵀ alone {:.1} ms",
        matmul * 1e3
    );
    println!(
        "  {:<28} {:>10} {:>12} {:>16}",
        "head (loss + ∂X + ∂W)", "ms", "× X·Wᵀ", "× 3 products"
    );
    for head in [
        MarginHead::Softmax,
        MarginHead::LSoftmax { m: 4 },
        MarginHead::ModifiedSoftmax,
        MarginHead::ASoftmax { m: 4 },
        MarginHead::cosface(64.0, 0.35),
        MarginHead::arcface(64.0, 0.5),
    ] {
        let mut ml = MarginLoss::<T>::new(head).unwrap();
        let t = time(repeats, || {
            ml.compute(&x, &w, &y, d, 0.0, true).unwrap();
        });
        let label = format!("{head:?}");
        let label = label.split(" {").next().unwrap().to_string()
            + &match head {
                MarginHead::LSoftmax { m } | MarginHead::ASoftmax { m } => format!(" m={m}"),
                MarginHead::CombinedMargin { m2, m3, .. } => format!(" ({m2}, {m3})"),
                _ => String::new(),
            };
        println!(
            "  {:<28} {:>10.1} {:>12.2} {:>16.2}",
            label,
            t * 1e3,
            t / matmul,
            t / (3.0 * matmul)
        );
        if std::env::var("BENCH_FORWARD").is_ok() {
            let tf = time(repeats, || {
                ml.compute(&x, &w, &y, d, 0.0, false).unwrap();
            });
            println!("    forward only {:.1} ms", tf * 1e3);
        }
    }
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("numbers"))
        .collect();
    let (n, d, k, r) = match a[..] {
        [n, d, k, r] => (n, d, k, r),
        _ => (256, 512, 10_000, 9),
    };
    run::<f32>("f32", n, d, k, r);
    run::<f64>("f64", n, d, k, r);
}
