//! LIBSVM parsing throughput: reads a file with the streaming parser (median of 3, after
//! one warm-up run that puts the file in the page cache) and prints MB of text per second,
//! for the CSR matrix alone and with the conversion to dense storage `sigmax` applies to
//! dense-enough data.
//!
//! cargo run --release -p sigmax --example parse_speed -- DATA.svm

use sigmax::data::{load, read_libsvm, LoadOptions};

#[path = "common/timing.rs"]
mod timing;

/// Median of 3 (after a warm-up run).
fn median_secs(f: impl FnMut()) -> f64 {
    timing::time(3, f)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: parse_speed DATA.svm");
    let path = std::path::Path::new(&path);
    let mb = std::fs::metadata(path).expect("data file").len() as f64 / 1e6;
    let parse = median_secs(|| {
        std::hint::black_box(
            read_libsvm(
                path,
                &LoadOptions {
                    dense_above: f64::INFINITY,
                    ..LoadOptions::default()
                },
            )
            .expect("parse"),
        );
    });
    let loaded = median_secs(|| {
        std::hint::black_box(load(path, &LoadOptions::default()).expect("load"));
    });
    println!("{}: {mb:.0} MB", path.display());
    println!(
        "  parse to CSR       {parse:>7.3} s  {:>6.0} MB/s",
        mb / parse
    );
    println!(
        "  load (as stored)   {loaded:>7.3} s  {:>6.0} MB/s",
        mb / loaded
    );
}
