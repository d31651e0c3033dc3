//! A binary cache of a parsed data file, so that a second run skips parsing: `FILE.sxcache`
//! beside `FILE`, written atomically after the first parse and used while the source's
//! size, modification time and the load options are unchanged (otherwise it is rebuilt).
//!
//! Layout (little-endian): `SXCACHE2`, u64 header length, the JSON header, then the labels
//! (u32 × n), either the dense values (f32 × n·d) or the CSR arrays (u64 row pointers
//! × (n+1), u32 indices × nnz, f32 values × nnz), then the sample weights (f64 × n) when
//! the data has them, and last a CRC-32 of everything after the magic bytes.
//!
//! Reading it back trusts nothing: sizes are checked against the file's length before
//! anything is allocated, the checksum must match, values must be finite, the CSR
//! invariants must hold; a cache that fails is rebuilt from the source with a note
//! saying why ([`CacheUse::Rebuilt`]). A cache path that is not a regular file (a FIFO
//! would block the reader forever) is neither read nor written.

use super::{load, CsrMatrix, Dataset, DenseMatrix, Features, LoadOptions};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

const MAGIC: &[u8; 8] = b"SXCACHE2";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Header {
    source_len: u64,
    source_mtime_ns: u128,
    /// The load options that shaped the data (their Debug form).
    options: String,
    rows: usize,
    cols: usize,
    /// None: dense; Some(nnz): CSR.
    nnz: Option<usize>,
    classes: Vec<String>,
    /// Sample weights follow the features.
    #[serde(default)]
    weighted: bool,
    /// The features' names (a CSV header's).
    #[serde(default)]
    feature_names: Option<Vec<String>>,
    /// Lines of text the rows came from (kept for a share of a file, whose caller numbers
    /// a later share's lines from the whole file's start).
    #[serde(default)]
    lines: usize,
}

/// Where the cache of `path` lives.
pub fn cache_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sxcache");
    PathBuf::from(name)
}

/// Whether the data came from the cache or was parsed (and the cache written).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheUse {
    Hit,
    Written,
    /// Parsed, but the cache could not be written (why, in words); the data are fine.
    NotWritten(String),
    /// The cache was damaged (why, in words), so the source was parsed and the cache
    /// written anew.
    Rebuilt(String),
    /// A cache another user could have planted or changed (why, in words): neither read
    /// nor replaced; the data were parsed.
    Untrusted(String),
}

/// What reading a cache file found.
enum Decoded {
    /// The data and the number of source lines they came from.
    Hit(Dataset, usize),
    /// Written for another version of the source or other options: replaced quietly.
    Stale,
    /// Damaged: replaced with a note.
    Corrupt(String),
}

/// [`load`] through the cache: read `FILE.sxcache` when it matches `path` and `opts`, else
/// parse `path` and (re)write the cache. A cache that cannot be written is not an error
/// (the data are still returned); a cache that does not match is ignored and replaced.
/// Both directions stream, so memory holds the data set once.
pub fn load_cached(path: &Path, opts: &LoadOptions) -> Result<(Dataset, CacheUse)> {
    let key = source_key(path, opts)?;
    let owner = owner_of(path);
    let (d, _, used) = through_cache(&cache_path(path), owner, key, || Ok((load(path, opts)?, 0)))?;
    Ok((d, used))
}

/// Where the cache of share `part` of `parts` of `path` lives: `FILE.share-K-of-P.sxcache`.
pub fn share_cache_path(path: &Path, part: usize, parts: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".share-{part}-of-{parts}.sxcache"));
    PathBuf::from(name)
}

/// [`read_libsvm_share`](super::read_libsvm_share) through a cache of that share (so each
/// process of a distributed run keeps only its own rows): the data, the share's line
/// count, and what the cache did. The cache is keyed like [`load_cached`]'s, plus the
/// share, so a different number of processes writes different caches.
pub fn load_share_cached(
    path: &Path,
    opts: &LoadOptions,
    part: usize,
    parts: usize,
) -> Result<(Dataset, usize, CacheUse)> {
    let (len, mtime, options) = source_key(path, opts)?;
    let key = (len, mtime, format!("{options}; share {part} of {parts}"));
    through_cache(
        &share_cache_path(path, part, parts),
        owner_of(path),
        key,
        || super::read_libsvm_share(path, opts, part, parts),
    )
}

/// The data from `cache` when it is sound and written for `key`, else from `parse` (rows
/// and line count), with the cache (re)written.
fn through_cache(
    cache: &Path,
    data_owner: Option<u32>,
    key: (u64, u128, String),
    parse: impl FnOnce() -> Result<(Dataset, usize)>,
) -> Result<(Dataset, usize, CacheUse)> {
    if let Some(why) = distrust(cache, data_owner) {
        let (d, lines) = parse()?;
        return Ok((d, lines, why));
    }
    let found = match open_trusted(cache) {
        Err(_) => Decoded::Stale,
        Ok(f) => {
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            match decode(
                std::io::BufReader::with_capacity(1 << 20, f),
                size,
                Some(&key),
            ) {
                Ok(found) => found,
                Err(e) => Decoded::Corrupt(format!("unreadable ({e})")),
            }
        }
    };
    let damage = match found {
        Decoded::Hit(d, lines) => return Ok((d, lines, CacheUse::Hit)),
        Decoded::Stale => None,
        Decoded::Corrupt(why) => Some(why),
    };
    let (d, lines) = parse()?;
    let used = match crate::atomic::write_derived_with(cache, |w| encode(&d, key, lines, w)) {
        Ok(()) => match damage {
            Some(why) => CacheUse::Rebuilt(format!("{}: {why}", cache.display())),
            None => CacheUse::Written,
        },
        Err(e) => CacheUse::NotWritten(e.to_string()),
    };
    Ok((d, lines, used))
}

/// Why the file at `cache` must be neither read nor replaced, if it must not: a link (a
/// derived path is never followed: the link could point at any file of the user's), a
/// special file (a FIFO would block the reader), or a file that another user could have
/// planted or changed (a cache in a shared folder such as /tmp is trusted only when it
/// belongs to this user or to the data's owner, and only others' write bit is clear).
fn distrust(cache: &Path, data_owner: Option<u32>) -> Option<CacheUse> {
    let m = std::fs::symlink_metadata(cache).ok()?;
    let why = if m.file_type().is_symlink() {
        format!(
            "{} is a symbolic link, which a cache path never follows",
            cache.display()
        )
    } else if !m.is_file() {
        format!("{} is not a regular file", cache.display())
    } else {
        return untrusted_owner(cache, &m, data_owner).map(CacheUse::Untrusted);
    };
    Some(CacheUse::NotWritten(why))
}

#[cfg(unix)]
fn untrusted_owner(cache: &Path, m: &std::fs::Metadata, data_owner: Option<u32>) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if m.uid() != me && Some(m.uid()) != data_owner {
        return Some(format!(
            "{} belongs to user {}, neither you nor the data's owner: it was neither read nor replaced",
            cache.display(),
            m.uid()
        ));
    }
    if m.mode() & 0o002 != 0 {
        return Some(format!(
            "{} may be written by every user: it was neither read nor replaced",
            cache.display()
        ));
    }
    None
}

#[cfg(not(unix))]
fn untrusted_owner(_: &Path, _: &std::fs::Metadata, _: Option<u32>) -> Option<String> {
    None
}

/// Opens a cache without following a link, checking again (on the open file) what
/// [`distrust`] checked on the path, so a file swapped in between is not read.
fn open_trusted(cache: &Path) -> io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(cache)?;
        let m = f.metadata()?;
        // The owner was checked on the path; a swap between is caught by comparing here.
        let path_meta = std::fs::symlink_metadata(cache)?;
        use std::os::unix::fs::MetadataExt;
        if !m.is_file() || (m.dev(), m.ino()) != (path_meta.dev(), path_meta.ino()) {
            return Err(io::Error::other("the cache changed while it was opened"));
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    std::fs::File::open(cache)
}

/// A data set in the cache's layout, as bytes (to send rows to another process;
/// [`decode_cache`] reads them back).
pub fn encode_dataset(d: &Dataset) -> Vec<u8> {
    let mut out = Vec::new();
    encode(d, (0, 0, String::new()), 0, &mut out).expect("writing to memory cannot fail");
    out
}

/// Decodes a cache file's bytes with every check but the comparison with its source
/// (for tools that inspect caches, and for the fuzz harness); `Err` says what is wrong.
pub fn decode_cache(bytes: &[u8]) -> std::result::Result<Dataset, String> {
    match decode(bytes, bytes.len() as u64, None) {
        Ok(Decoded::Hit(d, _)) => Ok(d),
        Ok(Decoded::Stale) => Err("an older cache layout".into()),
        Ok(Decoded::Corrupt(why)) => Err(why),
        Err(e) => Err(format!("truncated ({e})")),
    }
}

/// A writer or reader that keeps a CRC-32 of the bytes passing through.
struct Crc<T> {
    inner: T,
    hasher: crc32fast::Hasher,
}

impl<T> Crc<T> {
    fn new(inner: T) -> Self {
        Crc {
            inner,
            hasher: crc32fast::Hasher::new(),
        }
    }
    fn sum(&self) -> u32 {
        self.hasher.clone().finalize()
    }
}

impl<T: Write> Write for Crc<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Crc<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The user who owns the data file (whose caches are trusted as the data is).
fn owner_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// (size, mtime, options) of the source, compared with the cache's header.
fn source_key(path: &Path, opts: &LoadOptions) -> Result<(u64, u128, String)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime, format!("{opts:?}")))
}

/// Plain little-endian numbers that any bit pattern makes valid.
trait Pod: Copy + Default {
    const SIZE: usize;
    fn write_all(v: &[Self], w: &mut dyn Write) -> io::Result<()>;
    fn read_vec(r: &mut impl Read, n: usize) -> io::Result<Vec<Self>>;
}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn write_all(v: &[Self], w: &mut dyn Write) -> io::Result<()> {
                for chunk in v.chunks(1 << 16) {
                    let bytes: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
                    w.write_all(&bytes)?;
                }
                Ok(())
            }
            fn read_vec(r: &mut impl Read, n: usize) -> io::Result<Vec<Self>> {
                let mut out = Vec::with_capacity(n);
                let mut buf = vec![0u8; Self::SIZE << 16];
                while out.len() < n {
                    let take = (n - out.len()).min(1 << 16);
                    let bytes = &mut buf[..take * Self::SIZE];
                    r.read_exact(bytes)?;
                    out.extend(bytes.chunks_exact(Self::SIZE).map(|c| <$t>::from_le_bytes(c.try_into().unwrap())));
                }
                Ok(out)
            }
        }
    )*};
}
pod!(u32, u64, f32, f64);

fn encode(
    d: &Dataset,
    (source_len, source_mtime_ns, options): (u64, u128, String),
    lines: usize,
    w: &mut dyn Write,
) -> io::Result<()> {
    let nnz = d.x.is_sparse().then(|| d.x.nnz());
    let header = Header {
        source_len,
        source_mtime_ns,
        options,
        rows: d.n_rows(),
        cols: d.n_features(),
        nnz,
        classes: d.classes.clone(),
        weighted: d.weights.is_some(),
        feature_names: d.feature_names.clone(),
        lines,
    };
    let json = serde_json::to_vec(&header).expect("header serializes");
    w.write_all(MAGIC)?;
    let mut c = Crc::new(w);
    let w: &mut dyn Write = &mut c;
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&json)?;
    u32::write_all(&d.y, w)?;
    match &d.x {
        Features::Dense(m) => f32::write_all(m.data(), w)?,
        Features::Sparse(m) => {
            let (indptr, indices, values) = m.parts();
            let indptr: Vec<u64> = indptr.iter().map(|v| v as u64).collect();
            u64::write_all(&indptr, w)?;
            u32::write_all(indices, w)?;
            f32::write_all(values, w)?;
        }
    }
    if let Some(s) = &d.weights {
        f64::write_all(s, w)?;
    }
    let sum = c.sum();
    c.inner.write_all(&sum.to_le_bytes())
}

/// The data set, if the stream is a sound cache for `key`. `size` is the cache file's
/// length: a header whose arrays would not fill exactly that much is refused before
/// anything is allocated.
fn decode(r: impl Read, size: u64, key: Option<&(u64, u128, String)>) -> io::Result<Decoded> {
    let corrupt = |why: &str| Ok(Decoded::Corrupt(why.to_string()));
    let mut r = r;
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        // An older layout (or not a cache): rebuilt quietly if it is ours.
        return if magic.starts_with(b"SXCACHE") {
            Ok(Decoded::Stale)
        } else {
            corrupt("not a sigmax cache (wrong magic bytes)")
        };
    }
    let mut r = Crc::new(r);
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > size.saturating_sub(20) {
        return corrupt("header length beyond the end of the file");
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json)?;
    let Ok(header) = serde_json::from_slice::<Header>(&json) else {
        return corrupt("unreadable header");
    };
    if let Some(key) = key {
        if (header.source_len, header.source_mtime_ns, &header.options) != (key.0, key.1, &key.2) {
            return Ok(Decoded::Stale);
        }
    }
    let (rows, cols) = (header.rows as u128, header.cols as u128);
    let arrays = 4 * rows
        + header
            .nnz
            .map_or(4 * rows * cols, |nnz| 8 * (rows + 1) + 8 * nnz as u128)
        + if header.weighted { 8 * rows } else { 0 };
    if 8 + 8 + len as u128 + arrays + 4 != size as u128 {
        return corrupt("its size does not match its header");
    }
    let y = u32::read_vec(&mut r, header.rows)?;
    let x = match header.nnz {
        None => Features::Dense(DenseMatrix::from_parts(
            header.rows,
            header.cols,
            f32::read_vec(&mut r, header.rows * header.cols)?,
        )),
        Some(nnz) => {
            let indptr: Vec<usize> = u64::read_vec(&mut r, header.rows + 1)?
                .into_iter()
                .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
                .collect();
            let indices = u32::read_vec(&mut r, nnz)?;
            let values = f32::read_vec(&mut r, nnz)?;
            match CsrMatrix::try_new(header.cols, indptr, indices, values) {
                Ok(m) => Features::Sparse(m),
                Err(_) => return corrupt("broken sparse rows"),
            }
        }
    };
    let weights = if header.weighted {
        Some(f64::read_vec(&mut r, header.rows)?)
    } else {
        None
    };
    let expected = r.sum();
    let mut stored = [0u8; 4];
    r.inner.read_exact(&mut stored)?;
    if u32::from_le_bytes(stored) != expected {
        return corrupt("checksum mismatch");
    }
    // Checked even though the checksum matched: a cache must never be less safe than
    // its source.
    if y.iter().any(|&c| c as usize >= header.classes.len()) {
        return corrupt("a label beyond the classes");
    }
    let finite = match &x {
        Features::Dense(m) => m.data().iter().all(|v| v.is_finite()),
        Features::Sparse(m) => m.parts().2.iter().all(|v| v.is_finite()),
    };
    if !finite {
        return corrupt("a value that is not finite");
    }
    if let Some(w) = &weights {
        if crate::objective::check_sample_weights(w, header.rows).is_err() {
            return corrupt("bad sample weights");
        }
    }
    // Names as the readers would have made them: the same checks as a data file's.
    let mut names = std::collections::HashSet::new();
    for c in &header.classes {
        if super::check_label(c).is_err() || c.trim().is_empty() {
            return corrupt("a class name no data file could have");
        }
        if !names.insert(super::canonical_label(c)) {
            return corrupt("duplicate class names");
        }
    }
    if let Some(f) = &header.feature_names {
        let mut seen = std::collections::HashSet::new();
        if f.len() != header.cols || !f.iter().all(|n| seen.insert(n.as_str())) {
            return corrupt("feature names that are not one distinct name a column");
        }
    }
    Ok(Decoded::Hit(
        Dataset {
            x,
            y,
            classes: header.classes,
            weights,
            feature_names: header.feature_names,
        },
        header.lines,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn same(a: &Dataset, b: &Dataset) {
        assert_eq!(
            (
                a.n_rows(),
                a.n_features(),
                a.x.is_sparse(),
                &a.y,
                &a.classes
            ),
            (
                b.n_rows(),
                b.n_features(),
                b.x.is_sparse(),
                &b.y,
                &b.classes
            )
        );
        let w: Vec<f64> = (0..a.n_features()).map(|j| 0.5 + j as f64).collect();
        for i in 0..a.n_rows() {
            assert_eq!(a.x.row(i).dot(&w), b.x.row(i).dot(&w));
        }
    }

    #[test]
    fn second_load_reads_the_cache_and_equals_the_parse() {
        let dir = tempfile::tempdir().unwrap();
        let sparse = LoadOptions {
            dense_above: f64::INFINITY,
            ..Default::default()
        };
        let text = "+1 1:0.5 7:1.25\n-1 2:3\n+1 3:-1 9:2e-3\n";
        for opts in [LoadOptions::default(), sparse] {
            let p = write(dir.path(), "d.svm", text);
            let (parsed, first) = load_cached(&p, &opts).unwrap();
            assert_eq!(first, CacheUse::Written);
            assert!(cache_path(&p).exists());
            let (cached, second) = load_cached(&p, &opts).unwrap();
            assert_eq!(second, CacheUse::Hit);
            same(&parsed, &cached);
            same(&parsed, &load(&p, &opts).unwrap());
            std::fs::remove_file(cache_path(&p)).unwrap();
        }
    }

    #[test]
    fn each_share_has_its_own_cache_with_its_line_count() {
        let dir = tempfile::tempdir().unwrap();
        let text = "+1 1:0.5 7:1.25\n# a comment\n-1 2:3\n+1 3:-1 9:2e-3\n-1 4:1\n";
        let p = write(dir.path(), "d.svm", text);
        let opts = LoadOptions::default();
        for parts in [1, 2, 3] {
            for part in 0..parts {
                let parsed = super::super::read_libsvm_share(&p, &opts, part, parts).unwrap();
                let (d, lines, first) = load_share_cached(&p, &opts, part, parts).unwrap();
                assert_eq!(first, CacheUse::Written);
                assert!(share_cache_path(&p, part, parts).exists());
                let (cached, cached_lines, second) =
                    load_share_cached(&p, &opts, part, parts).unwrap();
                assert_eq!(second, CacheUse::Hit);
                assert_eq!((lines, cached_lines), (parsed.1, parsed.1));
                same(&parsed.0, &d);
                same(&parsed.0, &cached);
            }
        }
        // The whole file's cache is another file.
        assert!(!cache_path(&p).exists());
        // A changed source invalidates every share's cache.
        std::fs::write(&p, "+1 1:1\n-1 1:2\n").unwrap();
        let (d, _, used) = load_share_cached(&p, &opts, 0, 2).unwrap();
        assert_eq!((used, d.n_rows()), (CacheUse::Written, 1));
    }

    #[test]
    fn sample_weights_survive_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "w.csv", "x,w,y\n1,0.5,a\n2,3,b\n0,0,a\n");
        let opts = LoadOptions {
            csv: crate::data::CsvOptions {
                weight: Some("w".parse().unwrap()),
                ..Default::default()
            },
            ..Default::default()
        };
        let (parsed, first) = load_cached(&p, &opts).unwrap();
        assert_eq!(first, CacheUse::Written);
        assert_eq!(parsed.weights, Some(vec![0.5, 3.0, 0.0]));
        assert_eq!(parsed.n_features(), 1);
        let (cached, second) = load_cached(&p, &opts).unwrap();
        assert_eq!(second, CacheUse::Hit);
        assert_eq!(cached.weights, parsed.weights);
        assert_eq!(cached.feature_names, Some(vec!["x".to_string()]));
        same(&parsed, &cached);
    }

    #[test]
    fn a_changed_source_options_or_corrupt_cache_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "d.svm", "+1 1:1\n-1 2:1\n");
        load_cached(&p, &LoadOptions::default()).unwrap();
        // Different options: not a hit.
        let zero = LoadOptions {
            zero_based: true,
            ..Default::default()
        };
        assert_eq!(load_cached(&p, &zero).unwrap().1, CacheUse::Written);
        // A changed source (other size): re-parsed, with the new rows.
        write(dir.path(), "d.svm", "+1 1:1\n-1 2:1\n+1 2:2\n");
        let (d, how) = load_cached(&p, &LoadOptions::default()).unwrap();
        assert_eq!((how, d.n_rows()), (CacheUse::Written, 3));
        // A truncated cache is ignored and replaced.
        let c = cache_path(&p);
        let bytes = std::fs::read(&c).unwrap();
        std::fs::write(&c, &bytes[..bytes.len() - 3]).unwrap();
        let (d, how) = load_cached(&p, &LoadOptions::default()).unwrap();
        assert_eq!(d.n_rows(), 3);
        assert!(
            matches!(how, CacheUse::Rebuilt(ref why) if why.contains("size")),
            "{how:?}"
        );
        assert_eq!(
            load_cached(&p, &LoadOptions::default()).unwrap().1,
            CacheUse::Hit
        );
    }

    /// A cache planted by another user (forged to match the data's size and time, with
    /// its labels flipped) is neither read nor replaced; a link at the cache path is not
    /// followed. (Run as root, which can give a file away; skipped otherwise.)
    #[cfg(unix)]
    #[test]
    fn a_cache_another_user_planted_or_a_link_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "d.svm", "+1 1:1\n-1 1:-1\n+1 1:2\n");
        let opts = LoadOptions::default();
        let truth = load(&p, &opts).unwrap();
        // The forgery: a sound cache of the same rows with every label flipped.
        let mut flipped = truth.clone();
        flipped.y.iter_mut().for_each(|k| *k = 1 - *k);
        let c = cache_path(&p);
        let key = source_key(&p, &opts).unwrap();
        let mut forged = Vec::new();
        encode(&flipped, key, 0, &mut forged).unwrap();
        std::fs::write(&c, &forged).unwrap();
        // SAFETY: chown of our own file; it fails (and the test is skipped) unless root.
        let path = std::ffi::CString::new(c.to_str().unwrap()).unwrap();
        if unsafe { libc::chown(path.as_ptr(), 12345, 12345) } == 0 {
            // Neither this user's nor the data's owner's: refused.
            let (d, how) = load_cached(&p, &opts).unwrap();
            assert_eq!(d.y, truth.y, "the planted labels were not used");
            assert!(
                matches!(how, CacheUse::Untrusted(ref why) if why.contains("user 12345")),
                "{how:?}"
            );
            assert_eq!(
                std::fs::read(&c).unwrap(),
                forged,
                "and the file is left alone"
            );
        }
        // Ours, but writable by everyone: not trusted either.
        std::fs::remove_file(&c).unwrap();
        std::fs::write(&c, &forged).unwrap();
        std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (d, how) = load_cached(&p, &opts).unwrap();
        assert_eq!(d.y, truth.y);
        assert!(
            matches!(how, CacheUse::Untrusted(ref why) if why.contains("every user")),
            "{how:?}"
        );
        // A link at the cache path: its target is neither read nor overwritten.
        std::fs::remove_file(&c).unwrap();
        let victim = write(dir.path(), "precious.txt", "keep me");
        std::os::unix::fs::symlink("precious.txt", &c).unwrap();
        let (d, how) = load_cached(&p, &opts).unwrap();
        assert_eq!(d.y, truth.y);
        assert!(
            matches!(how, CacheUse::NotWritten(ref why) if why.contains("symbolic link")),
            "{how:?}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    /// A cache whose checksum is sound but whose header no data file could have made (one
    /// feature name for two columns, a NUL class name) is refused like a damaged one.
    #[test]
    fn forged_headers_behind_a_sound_checksum_are_refused() {
        let x = Features::Dense(DenseMatrix::new(2, 2, vec![1., 0., 0., 1.]).unwrap());
        let d = Dataset::new(x, &["a", "b"]).unwrap();
        let forged = |edit: &dyn Fn(&mut Dataset)| {
            let mut d = d.clone();
            edit(&mut d);
            let mut bytes = Vec::new();
            encode(&d, (0, 0, String::new()), 0, &mut bytes).unwrap();
            decode_cache(&bytes).map(|_| ())
        };
        assert!(forged(&|_| {}).is_ok());
        let e = forged(&|d| d.feature_names = Some(vec!["only one".into()])).unwrap_err();
        assert!(e.contains("feature names"), "{e}");
        let e = forged(&|d| d.feature_names = Some(vec!["x".into(), "x".into()])).unwrap_err();
        assert!(e.contains("feature names"), "{e}");
        let e = forged(&|d| d.classes[1] = "\0".into()).unwrap_err();
        assert!(e.contains("class name"), "{e}");
        let e = forged(&|d| d.classes[1] = "a".into()).unwrap_err();
        assert!(e.contains("duplicate"), "{e}");
    }

    /// Every single-byte change of a cache is caught (by the checksum or a check before
    /// it) and the data come from the source, equal to an uncached parse.
    #[test]
    fn any_flipped_byte_of_a_cache_is_caught_and_the_cache_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let sparse = LoadOptions {
            dense_above: f64::INFINITY,
            ..Default::default()
        };
        for opts in [LoadOptions::default(), sparse] {
            let p = write(dir.path(), "f.svm", "+1 1:0.5 3:2\n-1 2:1\n+1 1:1 2:-1\n");
            let truth = load(&p, &opts).unwrap();
            load_cached(&p, &opts).unwrap();
            let c = cache_path(&p);
            let good = std::fs::read(&c).unwrap();
            for at in 0..good.len() {
                let mut bad = good.clone();
                bad[at] ^= 0x10;
                std::fs::write(&c, &bad).unwrap();
                let (d, how) = load_cached(&p, &opts).unwrap();
                assert!(
                    matches!(how, CacheUse::Rebuilt(_) | CacheUse::Written),
                    "byte {at}: {how:?}"
                );
                same(&truth, &d);
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_at_the_cache_path_is_left_alone_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "d.svm", "+1 1:1\n-1 2:1\n");
        let c = cache_path(&p);
        assert!(std::process::Command::new("mkfifo")
            .arg(&c)
            .status()
            .unwrap()
            .success());
        let (d, how) = load_cached(&p, &LoadOptions::default()).unwrap();
        assert_eq!(d.n_rows(), 2);
        assert!(matches!(how, CacheUse::NotWritten(ref w) if w.contains("not a regular file")));
    }
}
