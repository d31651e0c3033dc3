//! One error type for the library. Every variant carries the numbers or the place
//! (file, line) that a user needs to fix the problem.

use std::path::PathBuf;

/// Everything that can go wrong in sigmax, with the offending values in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// (The I/O error is part of the message, not a separate `source`, so error chains
    /// do not print it twice.)
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A problem at a known place in an input file. `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A problem with a whole input file (empty, wrong magic number, ...).
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("invalid parameter {name} = {value}: {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("shape mismatch: {what} (expected {expected}, got {got})")]
    Shape {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("training data has a single class ({label:?}); a classifier needs at least two")]
    SingleClass { label: String },
    /// Numeric labels that are not all integers ([`crate::data::require_class_labels`]).
    #[error(
        "the labels look continuous ({classes} distinct numbers in {rows} rows, e.g. {example:?}, not all integers); a classifier needs class labels: is the label taken from the right column?"
    )]
    ContinuousLabels {
        classes: usize,
        rows: usize,
        example: String,
    },
    #[error("{what} is not finite ({value}) {context}")]
    NotFinite {
        what: &'static str,
        value: f64,
        context: String,
    },
    /// Training diverged: the objective became NaN/Inf or kept growing.
    #[error("training diverged at iteration {iteration}: objective {objective}; {advice}")]
    Diverged {
        iteration: usize,
        objective: f64,
        advice: &'static str,
    },
    /// A line search found no step that lowers the objective while the gradient is still
    /// far from zero ([`crate::solver`]'s quasi-Newton solvers).
    #[error(
        "{solver}: the line search found no decrease at iteration {iteration} (objective {objective}, ‖∇J‖ = {grad_norm:.3e}, {relative:.1e} of ‖∇J(0)‖); the features may be badly scaled (scale each to [-1, 1] or standardize them), or try the newton solver"
    )]
    NoDescent {
        solver: &'static str,
        iteration: usize,
        objective: f64,
        grad_norm: f64,
        relative: f64,
    },
    /// An unpenalized fit (λ = 0) of a loss that only approaches its infimum: every row
    /// was separated, so the weights would grow without bound.
    #[error(
        "every training row is on its class's side of the boundary and there is no penalty (lambda = 0, i.e. C = inf): the {loss} loss has no minimum, its weights would grow without bound; give a penalty (a finite C)"
    )]
    NoMinimum { loss: &'static str },
    /// The caller's observer asked the fit to stop (e.g. on Ctrl-C).
    #[error("training interrupted at iteration {iteration}")]
    Interrupted { iteration: usize },
    #[error("label {label:?} (row {row}) is not one of the model's classes {classes:?}")]
    UnknownLabel {
        label: String,
        row: usize,
        classes: Vec<String>,
    },
    /// A class named in the settings (a class weight) that the data does not have.
    #[error("class weights name {label:?}, which is not one of the data's classes {classes:?}")]
    UnknownClass { label: String, classes: Vec<String> },
    #[error("model file {path}: {message}")]
    Model { path: PathBuf, message: String },
    /// The data's named columns are not the model's features.
    #[error(
        "the data's columns are not the model's features: {}",
        describe_names(missing, unexpected)
    )]
    FeatureNames {
        /// The model's features the data lacks.
        missing: Vec<String>,
        /// The data's columns the model does not know.
        unexpected: Vec<String>,
    },
    /// An allocation that input asked for and that does not fit (see [`crate::limits`]).
    #[error(
        "{what} would need {} but {} of memory is available",
        crate::limits::human_bytes(*needed),
        crate::limits::human_bytes(*available)
    )]
    TooLarge {
        what: String,
        needed: u64,
        available: u64,
    },
    #[error("{0}")]
    Unsupported(String),
    /// A failure of the processes of a distributed fit ([`crate::collective`]): a lost or
    /// refusing peer, or the first error of one of them, which every process reports.
    #[error("process {rank} of {size}: {message}")]
    Peer {
        rank: usize,
        size: usize,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

fn describe_names(missing: &[String], unexpected: &[String]) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (missing.is_empty(), unexpected.is_empty()) {
        (false, false) => format!(
            "missing {}; not in the model: {}",
            list(missing),
            list(unexpected)
        ),
        (false, true) => format!("missing {}", list(missing)),
        _ => format!("not in the model: {}", list(unexpected)),
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }
}
