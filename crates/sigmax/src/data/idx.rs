//! IDX files (MNIST, Fashion-MNIST): big-endian magic `0 0 type ndim`, the dimensions as
//! u32, then the data. Images (u8, 3 dims) become dense rows scaled to [0, 1]; labels
//! come from the matching `*-labels-idx1-ubyte[.gz]` file.

use super::{Dataset, DenseMatrix, Features, LabelEncoder};
use crate::error::{Error, Result};
use crate::limits::{capacity_bytes, ReadBudget};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads an IDX images file and its labels; `labels` defaults to the images path with
/// `images-idx3` replaced by `labels-idx1`.
pub fn read_idx(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let labels_path: PathBuf = match labels {
        Some(p) => p.to_path_buf(),
        None => {
            let name = images
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.contains("images-idx3") {
                return Err(Error::bad_file(
                    images,
                    "cannot derive the labels file name (expected '...images-idx3...'); give the labels file explicitly",
                ));
            }
            images.with_file_name(name.replace("images-idx3", "labels-idx1"))
        }
    };
    // Each file is read as its header announces (the header first, checked, then exactly
    // the data), so a wrong file (`/dev/zero`) stops at its header.
    let budget = ReadBudget::new();
    let image_bytes = read_idx_bytes(images, &budget, 0)?;
    let label_bytes = read_idx_bytes(&labels_path, &budget, capacity_bytes(&image_bytes))?;
    parse_idx(&image_bytes, &label_bytes, images, &labels_path)
}

/// An IDX file's bytes (gunzipped), header and data (see [`read_idx_stream`]).
fn read_idx_bytes(path: &Path, budget: &ReadBudget, held: u64) -> Result<Vec<u8>> {
    let crate::input::Input { mut reader, gzip } = crate::input::open(path)?;
    read_idx_stream(&mut reader, path, budget, held).map_err(|e| match e {
        IdxReadError::Io(e) => crate::input::read_error(path, gzip, e),
        IdxReadError::Bad(e) => e,
    })
}

enum IdxReadError {
    Io(std::io::Error),
    Bad(Error),
}

/// Images and labels from two readers (decompressed already), each read as its header
/// announces; the names name them in errors.
pub fn read_idx_readers(
    images: &mut dyn Read,
    labels: &mut dyn Read,
    images_name: &Path,
    labels_name: &Path,
) -> Result<Dataset> {
    let budget = ReadBudget::new();
    let stream = |r: &mut dyn Read, name: &Path, held| {
        read_idx_stream(r, name, &budget, held).map_err(|e| match e {
            IdxReadError::Io(e) => Error::io(name, e),
            IdxReadError::Bad(e) => e,
        })
    };
    let image_bytes = stream(images, images_name, 0)?;
    let label_bytes = stream(labels, labels_name, capacity_bytes(&image_bytes))?;
    parse_idx(&image_bytes, &label_bytes, images_name, labels_name)
}

/// The bytes of one IDX stream: the header is read and checked first, then exactly the
/// data it announces, within `budget` besides `held` bytes; bytes after it are an error.
fn read_idx_stream(
    reader: &mut dyn Read,
    path: &Path,
    budget: &ReadBudget,
    held: u64,
) -> std::result::Result<Vec<u8>, IdxReadError> {
    let bad = IdxReadError::Bad;
    let mut head = vec![0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        match reader.read(&mut head[filled..]).map_err(IdxReadError::Io)? {
            0 => break,
            n => filled += n,
        }
    }
    if filled == 0 {
        return Err(bad(Error::bad_file(path, "the file is empty")));
    }
    check_magic(&head[..filled], path).map_err(bad)?;
    let ndim = head[3] as usize;
    let mut dims = vec![0u8; 4 * ndim];
    reader
        .read_exact(&mut dims)
        .map_err(|_| bad(Error::bad_file(path, "IDX header is truncated")))?;
    head.extend_from_slice(&dims);
    let (dims, expected) = header_dims(&head, path).map_err(bad)?;
    let data = crate::input::read_exact_bounded(reader, expected as u64, budget, held)
        .map_err(|m| bad(Error::bad_file(path, format!("IDX dims {dims:?} {m}"))))?;
    let mut extra = [0u8; 1];
    if reader.read(&mut extra).map_err(IdxReadError::Io)? > 0 {
        return Err(bad(Error::bad_file(
            path,
            format!("IDX dims {dims:?} need {expected} bytes of data, the file has more"),
        )));
    }
    head.extend_from_slice(&data);
    Ok(head)
}

/// Parses IDX images and labels already in memory (gunzipped); the paths name them in
/// errors.
pub fn parse_idx(
    image_bytes: &[u8],
    label_bytes: &[u8],
    images: &Path,
    labels_path: &Path,
) -> Result<Dataset> {
    let (img_dims, pixels) = parse_idx_u8(image_bytes, images)?;
    if img_dims.len() < 2 {
        return Err(Error::bad_file(
            images,
            format!(
                "expected an images file (≥ 2 dims), found {} dims",
                img_dims.len()
            ),
        ));
    }
    let (lab_dims, raw_labels) = parse_idx_u8(label_bytes, labels_path)?;
    if lab_dims.len() != 1 {
        return Err(Error::bad_file(
            labels_path,
            format!(
                "expected a labels file (1 dim), found {} dims",
                lab_dims.len()
            ),
        ));
    }
    let n = img_dims[0];
    if n == 0 {
        return Err(Error::bad_file(
            images,
            format!("no images: the header's dimensions are {img_dims:?}"),
        ));
    }
    if lab_dims[0] != n {
        return Err(Error::bad_file(
            labels_path,
            format!(
                "{} labels for {} images in {}",
                lab_dims[0],
                n,
                images.display()
            ),
        ));
    }
    let d = img_dims[1..]
        .iter()
        .try_fold(1usize, |acc, &k| acc.checked_mul(k))
        .filter(|&d| d > 0)
        .ok_or_else(|| Error::bad_file(images, format!("IDX image dims {img_dims:?}")))?;
    crate::limits::check_elements("the images as floats", pixels.len() as u64, 4)
        .map_err(|e| Error::bad_file(images, e.to_string()))?;
    let data = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let mut li = LabelEncoder::default();
    raw_labels.iter().for_each(|l| li.push(&l.to_string()));
    let (classes, y) = li.finish();
    Ok(Dataset {
        x: Features::Dense(DenseMatrix::from_parts(n, d, data)),
        y,
        classes,
        weights: None,
        feature_names: None,
    })
}

/// Refuses a file whose first bytes are not an unsigned-byte IDX magic number.
fn check_magic(b: &[u8], path: &Path) -> Result<()> {
    if b.len() < 4 || b[0] != 0 || b[1] != 0 {
        return Err(Error::bad_file(path, "not an IDX file (bad magic number)"));
    }
    if b[2] != 0x08 {
        return Err(Error::bad_file(
            path,
            format!(
                "IDX data type 0x{:02x} unsupported (only unsigned bytes)",
                b[2]
            ),
        ));
    }
    Ok(())
}

/// The dimensions in a checked header (`b` holds at least all of it) and the data bytes
/// they need.
fn header_dims(b: &[u8], path: &Path) -> Result<(Vec<usize>, usize)> {
    let ndim = b[3] as usize;
    if b.len() < 4 + 4 * ndim {
        return Err(Error::bad_file(path, "IDX header is truncated"));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|k| u32::from_be_bytes(b[4 + 4 * k..8 + 4 * k].try_into().unwrap()) as usize)
        .collect();
    // Checked: dimensions whose product wraps around must not pass the size test.
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::bad_file(path, format!("IDX dims {dims:?}: their product overflows"))
        })?;
    Ok((dims, expected))
}

/// Dimensions and payload of an unsigned-byte IDX file.
fn parse_idx_u8<'b>(b: &'b [u8], path: &Path) -> Result<(Vec<usize>, &'b [u8])> {
    check_magic(b, path)?;
    let (dims, expected) = header_dims(b, path)?;
    let header = 4 + 4 * dims.len();
    if b.len() - header != expected {
        return Err(Error::bad_file(
            path,
            format!(
                "IDX dims {dims:?} need {expected} bytes of data, the file has {}",
                b.len() - header
            ),
        ));
    }
    Ok((dims, &b[header..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn reads_images_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        img.extend_from_slice(&[0, 255, 51, 102]);
        let p = write(dir.path(), "t-images-idx3-ubyte", &img);
        write(
            dir.path(),
            "t-labels-idx1-ubyte",
            &[0, 0, 8, 1, 0, 0, 0, 2, 7, 3],
        );
        let d = read_idx(&p, None).unwrap();
        assert_eq!((d.n_rows(), d.n_features()), (2, 2));
        assert_eq!(d.classes, vec!["3", "7"]);
        assert_eq!(d.y, vec![1, 0]);
        assert!((d.x.row(1).dot(&[1.0, 1.0]) - 0.6).abs() < 1e-6);
    }

    #[test]
    fn truncated_and_mismatched_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a-images-idx3-ubyte",
            &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1],
        );
        write(
            dir.path(),
            "a-labels-idx1-ubyte",
            &[0, 0, 8, 1, 0, 0, 0, 2, 7, 3],
        );
        let e = read_idx(&p, None).unwrap_err().to_string();
        assert!(e.contains("need 4 bytes"), "{e}");
        let p = write(
            dir.path(),
            "b-images-idx3-ubyte",
            &[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9],
        );
        write(
            dir.path(),
            "b-labels-idx1-ubyte",
            &[0, 0, 8, 1, 0, 0, 0, 2, 7, 3],
        );
        assert!(read_idx(&p, None)
            .unwrap_err()
            .to_string()
            .contains("2 labels for 1 images"));
    }
}
