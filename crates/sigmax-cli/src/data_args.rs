//! Options for reading a data file, shared by every command that reads one.

use crate::choice::choice;
use anyhow::{Context, Result};
use clap::Args;
use sigmax::data::{self, CsvOptions, Dataset, Format, LabelColumn, LoadOptions};
use sigmax::model::LinearModel;
use std::path::PathBuf;

/// Whether data given to a model must have labels (evaluation) or may lack them
/// (prediction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    Required,
    Optional,
}

#[derive(Args, Clone)]
pub struct DataArgs {
    /// File format (default: from the name: .csv, .tsv, .tab [.gz] → csv, .idx or *idx3-ubyte → idx, else libsvm).
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    /// LIBSVM feature indices start at 0 instead of 1.
    #[arg(long)]
    pub zero_based: bool,
    /// CSV label column: first, last, a 0-based index or a header name (default: last;
    /// for data given to a model that knows its features' names, the one header column
    /// that is not a feature, if any).
    #[arg(long, value_name = "COLUMN")]
    pub label_col: Option<String>,
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
    /// CSV field delimiter: a character or `tab` (default: detected: tab for .tsv
    /// files or a first line with tabs, `;` for one with semicolons, else `,`).
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// IDX: the labels file (default: the images file name with images-idx3 → labels-idx1).
    #[arg(long)]
    pub idx_labels: Option<PathBuf>,
    /// Refuse LIBSVM files with feature indices beyond this (guards memory; default
    /// 2^27). Given explicitly, it also allows indices far beyond the data's size (a
    /// hashed feature space), which are refused by default as a stray index.
    #[arg(long)]
    pub max_features: Option<usize>,
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
    fn check_fits_model(
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
        self.load_with_label(path, self.label_column())
    }

    fn label_column(&self) -> LabelColumn {
        self.label_col
            .as_deref()
            .unwrap_or("last")
            .parse::<LabelColumn>()
            .expect("infallible")
    }

    /// Data to apply `model` to, checked to fit it. CSV columns are matched to the
    /// model's features by name when both have names (any order; the one other column
    /// is the label); otherwise by position, where a CSV file whose rows have exactly
    /// the model's width has no label column (prediction data usually has none), unless
    /// `labels` are required.
    pub fn load_for_model(
        &self,
        path: &std::path::Path,
        model: &LinearModel,
        labels: Labels,
    ) -> Result<Dataset> {
        let n_features = model.n_features;
        let csv = self.format_of(path) == Format::Csv;
        let names = model.feature_names.as_deref().filter(|_| csv);
        let by_name = match names {
            Some(names) if self.label_col.is_none() => {
                self.csv_label_by_names(path, names, labels)?
            }
            _ => None,
        };
        let d = match by_name {
            Some(label) => self.load_with_label(path, label)?,
            None => {
                let d = self.load(path);
                let unlabelled = labels == Labels::Optional
                    && csv
                    && match &d {
                        Ok(d) => d.n_features() + 1 == n_features,
                        Err(_) => true,
                    };
                match unlabelled.then(|| self.load_with_label(path, LabelColumn::None)) {
                    Some(Ok(u)) if u.n_features() == n_features => u,
                    _ => d?,
                }
            }
        };
        let d = match names {
            Some(names) => d.with_features_named(names).with_context(|| {
                format!(
                    "{} (the model's features: {})",
                    path.display(),
                    names.join(", ")
                )
            })?,
            None => d,
        };
        self.check_fits_model(&d, path, n_features)?;
        Ok(d)
    }

    /// The label column of a CSV file whose header holds every one of the model's
    /// feature `names`: the one other column (the weight column aside), or none.
    /// `None` when the header does not name them all (then columns go by position).
    fn csv_label_by_names(
        &self,
        path: &std::path::Path,
        names: &[String],
        labels: Labels,
    ) -> Result<Option<LabelColumn>> {
        let opts = self.csv_options(LabelColumn::None);
        let Some(header) = data::first_row(path, &opts)? else {
            return Ok(None);
        };
        if !names.iter().all(|n| header.contains(n)) {
            return Ok(None);
        }
        let weight = self.weight_col.as_deref();
        let others: Vec<&String> = header
            .iter()
            .filter(|h| !names.contains(h) && Some(h.as_str()) != weight)
            .collect();
        Ok(match (others.as_slice(), labels) {
            ([], Labels::Optional) => Some(LabelColumn::None),
            ([label], _) => Some(LabelColumn::Name(label.to_string())),
            _ => None,
        })
    }

    fn csv_options(&self, label: LabelColumn) -> CsvOptions {
        CsvOptions {
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
            delimiter: self.delimiter,
        }
    }

    /// The library's load options these flags describe, for `path` (the distributed
    /// reader's; unused without the `mpi` feature).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub fn load_options(&self, path: &std::path::Path) -> LoadOptions {
        self.load_options_with(path, self.label_column())
    }

    fn load_with_label(&self, path: &std::path::Path, label: LabelColumn) -> Result<Dataset> {
        let opts = self.load_options_with(path, label);
        self.load_with(path, opts)
    }

    fn load_options_with(&self, path: &std::path::Path, label: LabelColumn) -> LoadOptions {
        LoadOptions {
            format: Some(self.format_of(path)),
            zero_based: self.zero_based,
            max_features: self
                .max_features
                .unwrap_or(LoadOptions::default().max_features),
            wide_indices: self.max_features.is_some(),
            csv: self.csv_options(label),
            idx_labels: self.idx_labels.clone(),
            dense_above: if self.keep_sparse {
                f64::INFINITY
            } else {
                0.25
            },
        }
    }

    fn load_with(&self, path: &std::path::Path, opts: LoadOptions) -> Result<Dataset> {
        let hint = |e: sigmax::Error| -> anyhow::Error {
            let zero_index = matches!(&e, sigmax::Error::Parse { message, .. } if message.contains("indices are 1-based"));
            let delimiter = matches!(&e, sigmax::Error::Parse { message, .. } if message.contains("set the delimiter"));
            if zero_index {
                anyhow::anyhow!("{e}\n  on the command line: --zero-based reads 0-based indices")
            } else if delimiter {
                anyhow::anyhow!("{e}\n  on the command line: --delimiter CHAR (or --delimiter tab)")
            } else {
                crate::flags::with_flag(e)
            }
        };
        if self.cache {
            let (d, used) = data::load_cached(path, &opts).map_err(hint)?;
            report_cache_use(used);
            return Ok(d);
        }
        data::load(path, &opts).map_err(hint)
    }
}

/// Says on stderr when a data cache could not be written or had to be rebuilt.
pub fn report_cache_use(used: data::CacheUse) {
    match used {
        data::CacheUse::NotWritten(why) => {
            eprintln!("warning: could not write the data cache: {why}")
        }
        data::CacheUse::Rebuilt(why) => {
            eprintln!("note: the data cache was damaged and has been rebuilt ({why})")
        }
        data::CacheUse::Untrusted(why) => eprintln!("warning: data cache not used: {why}"),
        _ => {}
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

fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" => Ok(s.as_bytes()[0]),
        _ => Err(format!("expected one ASCII character or `tab`, not {s:?}")),
    }
}

/// "1 feature", "2 features".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
