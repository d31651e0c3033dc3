//! Standard output that reports a failed write as an error (`> /dev/full`, a full disk)
//! instead of panicking as `println!` does.

/// `println!` whose failure is an error: `outln!("{x}")?`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::out::stdout_failed)
    }};
}

/// `print!` whose failure is an error: `out!("{x}")?`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::out::stdout_failed)
    }};
}

pub(crate) use {out, outln};

/// The error of a write to standard output.
pub fn stdout_failed(e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("writing to standard output: {e}")
}

/// Flushes what standard output still buffers (a failure there would be lost at exit).
pub fn flush() -> anyhow::Result<()> {
    use std::io::Write as _;
    std::io::stdout().flush().map_err(stdout_failed)
}
