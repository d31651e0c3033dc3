//! CSV: one row per sample, numeric features and one label column (numbers or strings).
//! A header line is optional; by default it is detected (a first row whose feature
//! fields are not all numbers is a header), and its feature names are kept. The delimiter
//! is detected too (tab for `.tsv`/`.tab` files or a first line with tabs, `;` for a first
//! line with semicolons, else `,`). Columns are counted from 0 everywhere, in errors as
//! in [`LabelColumn::Index`].

use super::{check_label, excerpt, Contents, Dataset, DenseMatrix, Features, LabelEncoder};
use crate::error::{Error, Result};
use crate::limits::{capacity_bytes, ReadBudget};
use std::path::Path;

/// Which column holds the label.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelColumn {
    First,
    Last,
    /// 0-based column index.
    Index(usize),
    /// Column name from the header.
    Name(String),
    /// No label column: every column is a feature (data to predict). Every row gets the
    /// label [`UNLABELLED`].
    None,
}

/// The label of rows read without a label column.
pub const UNLABELLED: &str = "?";

impl std::str::FromStr for LabelColumn {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "first" => LabelColumn::First,
            "last" => LabelColumn::Last,
            "none" => LabelColumn::None,
            _ => match s.parse::<usize>() {
                Ok(i) => LabelColumn::Index(i),
                Err(_) => LabelColumn::Name(s.to_string()),
            },
        })
    }
}

#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// `None`: detect; `Some(true)`: first line is a header; `Some(false)`: no header.
    pub header: Option<bool>,
    pub label: LabelColumn,
    /// A column of sample weights (finite numbers ≥ 0), not a feature.
    pub weight: Option<LabelColumn>,
    /// The field delimiter; `None`: detected from the file name and its first line.
    pub delimiter: Option<u8>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: None,
            label: LabelColumn::Last,
            weight: None,
            delimiter: None,
        }
    }
}

/// Reads a CSV file (gzip or plain) into dense features.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    let budget = ReadBudget::new();
    let text = crate::input::read_all(path, Contents::Lines, &budget)?;
    parse_csv(path, &text, opts, &budget, capacity_bytes(&text))
}

/// Parses CSV text already in memory (e.g. an embedded data set); `path` names it in errors.
pub fn read_csv_bytes(path: &Path, bytes: &[u8], opts: &CsvOptions) -> Result<Dataset> {
    let bytes = &bytes[crate::input::text_start(path, bytes)?..];
    parse_csv(path, bytes, opts, &ReadBudget::new(), bytes.len() as u64)
}

/// Parses CSV text, what it builds held within `budget` besides `held` bytes (the text).
fn parse_csv(
    path: &Path,
    bytes: &[u8],
    opts: &CsvOptions,
    budget: &ReadBudget,
    held: u64,
) -> Result<Dataset> {
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| detect_delimiter(path, bytes));
    let rows = records(path, bytes, delimiter);
    let mut record = csv::ByteRecord::new();
    let mut width = 0usize;
    let mut label_col = 0usize;
    let mut weight_col = usize::MAX;
    let mut weights: Vec<f64> = Vec::new();
    let mut data: Vec<f32> = Vec::new();
    let mut labels = LabelEncoder::default();
    let mut first = true;
    let mut header_names: Vec<String> = Vec::new();
    let mut has_header = false;
    // "column 2" or, with a header, `column 2 ("petal width")`.
    let column = |j: usize, names: &[String]| match names.get(j) {
        Some(n) => format!("column {j} ({})", excerpt(n)),
        None => format!("column {j}"),
    };
    for rec in rows {
        let rec = rec?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if first {
            first = false;
            width = rec.len();
            let has_label = opts.label != LabelColumn::None;
            if width < 1 + has_label as usize {
                return Err(Error::parse(
                    path,
                    line,
                    format!(
                        "a CSV row needs at least one feature and a label, but this one has a single field (delimiter {:?}); set the delimiter if the file uses another one",
                        delimiter as char
                    ),
                ));
            }
            header_names = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect();
            label_col = match opts.label {
                LabelColumn::None => usize::MAX,
                ref l => resolve_column(path, line, l, &header_names, "label")?,
            };
            if let Some(wc) = &opts.weight {
                weight_col = resolve_column(path, line, wc, &header_names, "weight")?;
                if weight_col == label_col {
                    return Err(Error::parse(
                        path,
                        line,
                        "the weight column is the label column",
                    ));
                }
                if width < 3 {
                    return Err(Error::parse(
                        path,
                        line,
                        "a CSV row with a weight column needs at least one feature, a label and a weight",
                    ));
                }
            }
            let is_header = opts.header.unwrap_or_else(|| {
                matches!(opts.label, LabelColumn::Name(_))
                    || matches!(opts.weight, Some(LabelColumn::Name(_)))
                    || rec
                        .iter()
                        .enumerate()
                        .any(|(j, f)| j != label_col && parse_f32(f).is_none())
            });
            if is_header {
                has_header = true;
                continue;
            }
            header_names.clear();
        }
        record.clone_from(&rec);
        let room = labels
            .reserve(
                1,
                budget,
                held + capacity_bytes(&data) + capacity_bytes(&weights),
            )
            .and_then(|_| {
                let besides = held + labels.bytes() + capacity_bytes(&weights);
                budget.reserve(&mut data, width, besides)
            })
            .and_then(|_| {
                let besides = held + labels.bytes() + capacity_bytes(&data);
                match weight_col {
                    usize::MAX => Ok(()),
                    _ => budget.reserve(&mut weights, 1, besides),
                }
            });
        room.map_err(|m| Error::parse(path, line, format!("the rows read so far need {m}")))?;
        if record.len() != width {
            return Err(Error::parse(
                path,
                line,
                format!(
                    "row has {} columns, the first row has {width}",
                    record.len()
                ),
            ));
        }
        for (j, field) in record.iter().enumerate() {
            if j == label_col {
                let l = std::str::from_utf8(field)
                    .map_err(|_| Error::parse(path, line, "label is not valid UTF-8"))?;
                if l.trim().is_empty() {
                    return Err(Error::parse(path, line, "empty label"));
                }
                check_label(l).map_err(|m| Error::parse(path, line, m))?;
                labels.push(l);
                continue;
            }
            if j == weight_col {
                let w: f64 = std::str::from_utf8(field)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .filter(|w: &f64| *w >= 0.0 && w.is_finite())
                    .ok_or_else(|| {
                        Error::parse(
                            path,
                            line,
                            format!(
                                "{}: weight {} is not a finite number ≥ 0",
                                column(j, &header_names),
                                excerpt(&String::from_utf8_lossy(field))
                            ),
                        )
                    })?;
                weights.push(w);
                continue;
            }
            let v = parse_f32(field).ok_or_else(|| {
                Error::parse(
                    path,
                    line,
                    format!(
                        "{}: {} is not a number",
                        column(j, &header_names),
                        excerpt(&String::from_utf8_lossy(field))
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(Error::parse(
                    path,
                    line,
                    format!("{}: value is not finite", column(j, &header_names)),
                ));
            }
            data.push(v);
        }
    }
    if opts.label == LabelColumn::None {
        let rows = if width == 0 {
            0
        } else {
            data.len() / (width - opts.weight.is_some() as usize)
        };
        (0..rows).for_each(|_| labels.push(UNLABELLED));
    }
    let n = labels.len();
    if n == 0 {
        return Err(Error::bad_file(path, "no data rows"));
    }
    let (classes, y) = labels.finish();
    let features =
        width - (opts.label != LabelColumn::None) as usize - opts.weight.is_some() as usize;
    // Kept only when distinct: with a repeated name, matching by name would be ambiguous,
    // so such a file is matched by position.
    let feature_names = has_header
        .then(|| {
            header_names
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != label_col && j != weight_col)
                .map(|(_, name)| name.clone())
                .collect::<Vec<_>>()
        })
        .filter(|names| {
            let mut seen = std::collections::HashSet::new();
            names.iter().all(|n| seen.insert(n.as_str()))
        });
    let d = Dataset {
        x: Features::Dense(DenseMatrix::from_parts(n, features, data)),
        y,
        classes,
        weights: None,
        feature_names,
    };
    if opts.weight.is_none() {
        return Ok(d);
    }
    d.with_weights(weights)
        .map_err(|e| Error::bad_file(path, format!("weight column: {e}")))
}

/// The 0-based position of `col` in rows of the header `names` (which also gives the width).
fn resolve_column(
    path: &Path,
    line: usize,
    col: &LabelColumn,
    names: &[String],
    what: &str,
) -> Result<usize> {
    let width = names.len();
    match col {
        LabelColumn::None => Ok(usize::MAX),
        LabelColumn::First => Ok(0),
        LabelColumn::Last => Ok(width - 1),
        LabelColumn::Index(i) if *i < width => Ok(*i),
        LabelColumn::Index(i) => Err(Error::parse(
            path,
            line,
            format!("{what} column {i} but rows have {width} columns"),
        )),
        LabelColumn::Name(n) => names.iter().position(|h| h == n).ok_or_else(|| {
            Error::parse(
                path,
                line,
                format!("no column named {n:?} in the header {names:?}"),
            )
        }),
    }
}

/// The delimiter of a CSV file: tab for `.tsv`/`.tab` names; else, from the first
/// non-blank line, tab if it has one, `;` if it has one (a `;` file may use decimal
/// commas), else `,`.
pub fn detect_delimiter(path: &Path, bytes: &[u8]) -> u8 {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".tsv") || name.ends_with(".tab") {
        return b'\t';
    }
    let first = bytes
        .split(|&b| b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(&[]);
    if first.contains(&b'\t') {
        b'\t'
    } else if first.contains(&b';') {
        b';'
    } else {
        b','
    }
}

/// The first line of a CSV file split into trimmed fields (with the detected delimiter),
/// if the file has one; for matching a header against a model's feature names. Reads
/// only up to that line.
pub fn first_row(path: &Path, opts: &CsvOptions) -> Result<Option<Vec<String>>> {
    let Some(line) = first_nonblank_line(path)? else {
        return Ok(None);
    };
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| detect_delimiter(path, &line));
    let first = records(path, &line, delimiter).next().transpose()?;
    Ok(first.map(|rec| {
        rec.iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect()
    }))
}

/// The first non-blank line of a plain or gzip file, without reading the rest.
fn first_nonblank_line(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::{BufRead, BufReader, Read, Seek};
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let got = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    let gzip = got == 2 && magic == [0x1f, 0x8b];
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    for line in reader.split(b'\n') {
        let line =
            line.map_err(|e| Error::bad_file(path, format!("reading the first line: {e}")))?;
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Some(line));
        }
    }
    Ok(None)
}

/// The records of CSV text with `delimiter` (no header handling, rows of any width),
/// blank lines skipped, errors naming `path` and the line.
fn records<'a>(
    path: &'a Path,
    bytes: &'a [u8],
    delimiter: u8,
) -> impl Iterator<Item = Result<csv::ByteRecord>> + 'a {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
        .into_byte_records()
        .map(move |rec| {
            rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                Error::parse(path, line, format!("CSV: {e}"))
            })
        })
        .filter(
            |rec| !matches!(rec, Ok(r) if r.len() == 1 && r[0].iter().all(u8::is_ascii_whitespace)),
        )
}

fn parse_f32(field: &[u8]) -> Option<f32> {
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// A headerless numeric CSV as a row-major matrix: (values, rows, columns). Every row must
/// have the same number of fields; errors name the line.
pub fn read_matrix_csv(path: &Path) -> Result<(Vec<f64>, usize, usize)> {
    let budget = ReadBudget::new();
    let bytes = crate::input::read_all(path, Contents::Lines, &budget)?;
    let (mut values, mut rows, mut cols) = (Vec::new(), 0usize, 0usize);
    for rec in records(path, &bytes, b',') {
        let rec = rec?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rows == 0 {
            cols = rec.len();
        } else if rec.len() != cols {
            return Err(Error::parse(
                path,
                line,
                format!("row has {} columns, the first row has {cols}", rec.len()),
            ));
        }
        let r = budget.reserve(&mut values, rec.len(), capacity_bytes(&bytes));
        r.map_err(|m| Error::parse(path, line, format!("the rows read so far need {m}")))?;
        for (j, field) in rec.iter().enumerate() {
            let v: f64 = std::str::from_utf8(field)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| {
                    Error::parse(
                        path,
                        line,
                        format!(
                            "column {j}: {} is not a number",
                            excerpt(&String::from_utf8_lossy(field))
                        ),
                    )
                })?;
            if !v.is_finite() {
                return Err(Error::parse(
                    path,
                    line,
                    format!("column {j}: value is not finite"),
                ));
            }
            values.push(v);
        }
        rows += 1;
    }
    Ok((values, rows, cols))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn csv(text: &str, opts: &CsvOptions) -> Result<Dataset> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        read_csv(f.path(), opts)
    }

    #[test]
    fn header_detected_and_string_labels() {
        let d = csv("a,b,kind\n1,2,cat\n3,4,dog\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.n_rows(), 2);
        assert_eq!(d.classes, vec!["cat", "dog"]);
        assert_eq!(d.x.row(1).dot(&[1.0, 1.0]), 7.0);
    }

    #[test]
    fn label_column_by_position_or_name() {
        let first = CsvOptions {
            label: LabelColumn::First,
            ..Default::default()
        };
        let d = csv("0,1.5,2\n1,3,4\n", &first).unwrap();
        assert_eq!(
            (d.n_features(), d.classes.clone()),
            (2, vec!["0".into(), "1".into()])
        );
        let named = CsvOptions {
            label: "y".parse().unwrap(),
            ..Default::default()
        };
        let d = csv("x1,y,x2\n1,a,2\n3,b,4\n", &named).unwrap();
        assert_eq!(d.x.row(0).dot(&[1.0, 10.0]), 21.0);
    }

    #[test]
    fn ragged_rows_and_bad_values_are_errors() {
        let e = csv("1,2,0\n1,2\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":2: row has 2 columns, the first row has 3"),
            "{e}"
        );
        let e = csv("1,2,0\n1,NaN,1\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2: column 1: value is not finite"), "{e}");
        let e = csv("1,2,0\n1,x,1\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2: column 1: \"x\" is not a number"), "{e}");
        // With a header, the column's name too; counted from 0 like --label-col.
        let e = csv("a,b,y\n1,2,0\n1,x,1\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":3: column 1 (\"b\"): \"x\" is not a number"),
            "{e}"
        );
    }

    #[test]
    fn header_names_are_kept_for_the_feature_columns() {
        let d = csv(
            "a,y,b\n1,p,2\n3,q,4\n",
            &CsvOptions {
                label: "y".parse().unwrap(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            d.feature_names,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        let d = csv("1,2,p\n3,4,q\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.feature_names, None);
    }

    #[test]
    fn tabs_and_semicolons_are_detected() {
        for text in ["a\tb\ty\n1\t2\tp\n3\t4\tq\n", "a;b;y\n1;2;p\n3;4;q\n"] {
            let d = csv(text, &CsvOptions::default()).unwrap();
            assert_eq!((d.n_rows(), d.n_features()), (2, 2), "{text:?}");
            assert_eq!(d.classes, vec!["p", "q"]);
        }
        let e = csv("1 2 p\n3 4 q\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("single field") && e.contains("delimiter"), "{e}");
    }
}
