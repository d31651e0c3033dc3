//! Options for reading a data file, shared by every command that reads one.

use crate::choice::choice;
use anyhow::{Context, Result};
use clap::Args;
use sigmax::data::{self, CsvOptions, Dataset, Format, LabelColumn, LoadOptions};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct DataArgs {
    /// File format (default: from the name: .csv[.gz] → csv, *idx* → idx, else libsvm).
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    /// LIBSVM feature indices start at 0 instead of 1.
    #[arg(long)]
    pub zero_based: bool,
    /// CSV label column: first, last, a 0-based index or a header name.
    #[arg(long, default_value = "last")]
    pub label_col: String,
    /// CSV: a column of sample weights (first, last, a 0-based index or a header name);
    /// it is not a feature.
    #[arg(long, value_name = "COLUMN")]
    pub weight_col: Option<String>,
    /// CSV: the first line is a header (default: detected).
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,
    /// CSV: there is no header line.
    #[arg(long)]
    pub no_header: bool,
    /// IDX: the labels file (default: the images file name with images-idx3 → labels-idx1).
    #[arg(long)]
    pub idx_labels: Option<PathBuf>,
    /// Refuse LIBSVM files with feature indices beyond this (guards memory).
    #[arg(long, default_value_t = 1 << 27)]
    pub max_features: usize,
    /// Keep LIBSVM data sparse (CSR) even when it is dense enough to store densely
    /// (by default data with ≥ 25% nonzeros is stored as a dense matrix).
    #[arg(long)]
    pub keep_sparse: bool,
    /// Keep a binary copy of the parsed data beside the file (FILE.sxcache) and read it
    /// instead of parsing on later runs, while FILE and these options are unchanged.
    #[arg(long)]
    pub cache: bool,
}

impl DataArgs {
    /// The format `path` is read in (the flag, else guessed from the name).
    fn format_of(&self, path: &std::path::Path) -> Format {
        self.format.unwrap_or_else(|| Format::from_path(path))
    }

    /// Checks that data read from `path` fits a model with `n_features` features. Rows of
    /// CSV and IDX files have a fixed width, which must match; LIBSVM rows name their
    /// features, so missing ones are zero and ones beyond the model are ignored (with one
    /// warning), as LIBLINEAR does. Decided by the file's format, not by how the data
    /// happens to be stored.
    pub fn check_fits_model(
        &self,
        data: &Dataset,
        path: &std::path::Path,
        n_features: usize,
    ) -> Result<()> {
        let have = data.n_features();
        if self.format_of(path) != Format::Libsvm {
            anyhow::ensure!(
                have == n_features,
                "{}: {} per row, but the model expects {n_features}",
                path.display(),
                plural(have, "feature")
            );
        } else if have > n_features {
            eprintln!(
                "warning: {} uses feature indices up to {have}, the model knows {n_features}; the extra features are ignored",
                path.display()
            );
        }
        Ok(())
    }

    pub fn load(&self, path: &std::path::Path) -> Result<Dataset> {
        self.load_with_label(
            path,
            self.label_col.parse::<LabelColumn>().expect("infallible"),
        )
    }

    /// Data to apply a model with `n_features` features to: a CSV file whose rows have
    /// exactly that many columns has no label column (prediction data usually has none);
    /// otherwise as [`DataArgs::load`].
    pub fn load_for_model(&self, path: &std::path::Path, n_features: usize) -> Result<Dataset> {
        let d = self.load(path);
        if self.format_of(path) == Format::Csv {
            let unlabelled = match &d {
                Ok(d) => d.n_features() + 1 == n_features,
                Err(_) => true,
            };
            if unlabelled {
                if let Ok(u) = self.load_with_label(path, LabelColumn::None) {
                    if u.n_features() == n_features {
                        return Ok(u);
                    }
                }
            }
        }
        d
    }

    fn load_with_label(&self, path: &std::path::Path, label: LabelColumn) -> Result<Dataset> {
        let opts = LoadOptions {
            format: Some(self.format_of(path)),
            zero_based: self.zero_based,
            max_features: self.max_features,
            csv: CsvOptions {
                header: if self.header {
                    Some(true)
                } else if self.no_header {
                    Some(false)
                } else {
                    None
                },
                label,
                weight: self
                    .weight_col
                    .as_ref()
                    .map(|c| c.parse::<LabelColumn>().expect("infallible")),
                delimiter: b',',
            },
            idx_labels: self.idx_labels.clone(),
            dense_above: if self.keep_sparse {
                f64::INFINITY
            } else {
                0.25
            },
        };
        let hint = |e: sigmax::Error| -> anyhow::Error {
            let zero_index = matches!(&e, sigmax::Error::Parse { message, .. } if message.contains("indices are 1-based"));
            if zero_index {
                anyhow::anyhow!("{e}\n  on the command line: --zero-based reads 0-based indices")
            } else {
                e.into()
            }
        };
        if self.cache {
            let (d, used) = data::load_cached(path, &opts).map_err(hint)?;
            if let data::CacheUse::NotWritten(why) = used {
                eprintln!("warning: could not write the data cache: {why}");
            }
            return Ok(d);
        }
        data::load(path, &opts).map_err(hint)
    }
}

/// `data` with the sample weights of `file` (one per row), if a file is given.
pub fn with_weight_file(data: Dataset, file: Option<&std::path::Path>) -> Result<Dataset> {
    let Some(file) = file else {
        return Ok(data);
    };
    let w = data::read_weights(file, data.n_rows())?;
    data.with_weights(w)
        .with_context(|| file.display().to_string())
}

/// "1 feature", "2 features".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
