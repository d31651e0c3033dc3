//! Reading input files under one policy, for every reader (data, weights, models, logs,
//! matrices): gzip is recognized by its magic bytes; what a reader holds is bounded by a
//! [`ReadBudget`] checked before every growth (never after a buffer has doubled); text
//! starts after a UTF-8 byte-order mark, refuses UTF-16 and NUL bytes where they are met
//! (so `/dev/zero` or `/dev/urandom` given as text stops at once) and bounds its lines
//! ([`MAX_LINE_BYTES`]). Formats that need not hold their text (LIBSVM, IDX) stream it.

use crate::error::{Error, Result};
use crate::limits::{human_bytes, ReadBudget, MAX_LINE_BYTES};
use std::io::{BufRead, Read};
use std::path::Path;

/// The UTF-8 byte-order mark some editors (Notepad, Excel's "CSV UTF-8") write first.
pub const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// A readable file, gunzipped as it is read when it starts with gzip's magic bytes.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
}

/// Opens `path` (plain or gzip).
pub fn open(path: &Path) -> Result<Input> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let gzip = reader
        .fill_buf()
        .map_err(|e| Error::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    Ok(Input { reader, gzip })
}

/// An error reading `path`: gzip's own complaints name gzip.
pub fn read_error(path: &Path, gzip: bool, e: std::io::Error) -> Error {
    if gzip && e.kind() != std::io::ErrorKind::Interrupted {
        Error::bad_file(path, format!("gzip: {e}"))
    } else {
        Error::io(path, e)
    }
}

/// What a file read whole holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Text read line by line: no NUL bytes, lines of at most [`MAX_LINE_BYTES`].
    Lines,
    /// Text of any line length (JSON written on one line): no NUL bytes.
    Text,
    Binary,
}

/// Refuses a text's start that is not UTF-8 text, and returns how many bytes of it to
/// skip (a UTF-8 byte-order mark).
pub fn text_start(path: &Path, head: &[u8]) -> Result<usize> {
    if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
        return Err(Error::bad_file(
            path,
            "UTF-16 text (it starts with UTF-16's byte-order mark); sigmax reads UTF-8: convert it, e.g. `iconv -f UTF-16 -t UTF-8`",
        ));
    }
    Ok(if head.starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    })
}

/// The error for a NUL byte in text, on `line`.
pub fn nul_in_text(path: &Path, line: usize) -> Error {
    Error::parse(
        path,
        line,
        "a NUL byte: this is binary data, not text (or what a crash left at the end of a file)",
    )
}

/// The error for a line past [`MAX_LINE_BYTES`].
pub fn line_too_long(path: &Path, line: usize) -> Error {
    Error::parse(
        path,
        line,
        format!(
            "line longer than {} without a line end (not a text file?)",
            human_bytes(MAX_LINE_BYTES as u64)
        ),
    )
}

/// The whole of `path` (gunzipped) in memory, read under `budget`; text per `contents`
/// (a byte-order mark dropped, NUL bytes and over-long lines refused as they arrive). An
/// empty file is an error here, so every reader names it the same way.
pub fn read_all(path: &Path, contents: Contents, budget: &ReadBudget) -> Result<Vec<u8>> {
    let Input { mut reader, gzip } = open(path)?;
    let out =
        read_all_from(&mut reader, path, contents, budget).map_err(|e| e.into_error(path, gzip))?;
    if out.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_file(path, "the file is empty"));
    }
    Ok(out)
}

/// [`read_all`] of any reader (standard input, a buffer), `name` naming it in errors.
pub fn read_all_from_reader(
    reader: &mut dyn Read,
    name: &Path,
    contents: Contents,
    budget: &ReadBudget,
) -> Result<Vec<u8>> {
    let out =
        read_all_from(reader, name, contents, budget).map_err(|e| e.into_error(name, false))?;
    if out.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_file(name, "the file is empty"));
    }
    Ok(out)
}

/// [`read_all`] for text: also checked to be UTF-8.
pub fn read_text(path: &Path, contents: Contents, budget: &ReadBudget) -> Result<String> {
    let bytes = read_all(path, contents, budget)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        Error::parse(path, line, "not UTF-8 text")
    })
}

/// Why [`read_all_from`] stopped.
enum ReadFailure {
    Io(std::io::Error),
    Refused(Error),
}

impl ReadFailure {
    fn into_error(self, path: &Path, gzip: bool) -> Error {
        match self {
            ReadFailure::Io(e) => read_error(path, gzip, e),
            ReadFailure::Refused(e) => e,
        }
    }
}

fn read_all_from(
    reader: &mut dyn Read,
    path: &Path,
    contents: Contents,
    budget: &ReadBudget,
) -> std::result::Result<Vec<u8>, ReadFailure> {
    let refuse = |m: String| ReadFailure::Refused(Error::bad_file(path, m));
    // Line numbers are counted only for an error (a pass over the text otherwise).
    let line_of = |text: &[u8], at: usize| 1 + memchr::memchr_iter(b'\n', &text[..at]).count();
    let text = contents != Contents::Binary;
    let mut chunk = vec![0u8; 1 << 20];
    let mut out: Vec<u8> = Vec::new();
    // Where the last line began.
    let mut line_start = 0usize;
    let mut first = true;
    loop {
        let got = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadFailure::Io(e)),
        };
        let mut new = &chunk[..got];
        if first && text {
            // (A start split across reads is not worth handling: reads of files and gzip
            // streams return more than three bytes.)
            new = &new[text_start(path, new).map_err(ReadFailure::Refused)?..];
        }
        first = false;
        budget
            .reserve(&mut out, new.len(), 0)
            .map_err(|m| refuse(format!("the file needs {m}")))?;
        let before = out.len();
        out.extend_from_slice(new);
        if text {
            if let Some(k) = memchr::memchr(0, &out[before..]) {
                let line = line_of(&out, before + k);
                return Err(ReadFailure::Refused(nul_in_text(path, line)));
            }
        }
        if contents == Contents::Lines {
            if let Some(k) = memchr::memrchr(b'\n', &out[before..]) {
                line_start = before + k + 1;
            }
            if out.len() - line_start > MAX_LINE_BYTES {
                let line = line_of(&out, line_start);
                return Err(ReadFailure::Refused(line_too_long(path, line)));
            }
        }
    }
    Ok(out)
}

/// Exactly `n` bytes of `reader` (the payload a header announced), held under `budget`
/// besides `held` bytes: a short read is a truncated file. The header is not trusted
/// with memory: more than the budget is refused at once, and the buffer grows with the
/// bytes that really arrive (a 20-byte file announcing 10 GB allocates kilobytes).
pub fn read_exact_bounded(
    reader: &mut dyn Read,
    n: u64,
    budget: &ReadBudget,
    held: u64,
) -> std::result::Result<Vec<u8>, String> {
    let refused = |m: String| format!("need {n} bytes of data, {m}");
    budget.check(held.saturating_add(n)).map_err(refused)?;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut source = reader.take(n);
    loop {
        let got = match source.read(&mut chunk) {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        budget.reserve(&mut out, got, held).map_err(refused)?;
        out.extend_from_slice(&chunk[..got]);
    }
    if (out.len() as u64) < n {
        return Err(format!(
            "need {n} bytes of data, the file has {}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], contents: Contents, limit: u64) -> Result<Vec<u8>> {
        let budget = ReadBudget::with_limit(limit);
        read_all_from(&mut &bytes[..], Path::new("f"), contents, &budget)
            .map_err(|e| e.into_error(Path::new("f"), false))
    }

    #[test]
    fn text_loses_its_byte_order_mark_and_refuses_nul_and_utf16() {
        assert_eq!(
            read(b"\xef\xbb\xbf1 1:1\n", Contents::Lines, 1 << 20).unwrap(),
            b"1 1:1\n"
        );
        let e = read(b"ab\ncd\0", Contents::Text, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:2: a NUL byte"), "{e}");
        let e = read(b"\xff\xfe1\x00", Contents::Lines, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("UTF-16"), "{e}");
        // Binary data keeps every byte.
        assert_eq!(
            read(b"\xef\xbb\xbf\0", Contents::Binary, 1 << 20).unwrap(),
            b"\xef\xbb\xbf\0"
        );
    }

    #[test]
    fn a_read_stops_at_its_budget_before_growing_past_it() {
        let data = vec![b'1'; 300_000];
        let e = read(&data, Contents::Text, 100_000)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f: the file needs more than the 97.7 KiB"),
            "{e}"
        );
        assert_eq!(read(&data, Contents::Text, 300_000).unwrap().len(), 300_000);
    }

    #[test]
    fn an_infinite_source_is_refused() {
        let budget = ReadBudget::with_limit(1 << 20);
        let endless = |byte: u8| {
            read_all_from_reader(
                &mut std::io::repeat(byte),
                Path::new("z"),
                Contents::Lines,
                &budget,
            )
            .unwrap_err()
            .to_string()
        };
        // /dev/zero as text: the first byte; endless valid text: the budget.
        assert!(endless(0).starts_with("z:1: a NUL byte"));
        assert!(endless(b'\n').contains("more than the 1.0 MiB"));
    }

    #[test]
    fn exact_reads_check_the_budget_and_the_length() {
        let budget = ReadBudget::with_limit(100);
        assert_eq!(
            read_exact_bounded(&mut &b"abcd"[..], 3, &budget, 0).unwrap(),
            b"abc"
        );
        assert!(read_exact_bounded(&mut &b"ab"[..], 3, &budget, 0)
            .unwrap_err()
            .contains("need 3 bytes of data, the file has 2"));
        assert!(read_exact_bounded(&mut std::io::repeat(0), 1 << 40, &budget, 0).is_err());
        // A header announcing 100 MB over four bytes: a truncated file, found without
        // making room for what was announced.
        let roomy = ReadBudget::with_limit(1 << 30);
        let e = read_exact_bounded(&mut &b"abcd"[..], 100 << 20, &roomy, 0).unwrap_err();
        assert!(e.ends_with("the file has 4"), "{e}");
    }
}
