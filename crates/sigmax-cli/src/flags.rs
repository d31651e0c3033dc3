//! The command line's words for the library's: the flag that sets a parameter, and a
//! library error told with the flags that would mend it.

/// The command-line flag for a library parameter name (for messages).
pub fn flag_of(parameter: &str) -> String {
    match parameter {
        "C" | "c" => "-c/--C".into(),
        "sample_weight" => "--weights/--weight-col".into(),
        p => format!("--{}", p.replace('_', "-")),
    }
}

/// A library error with the flags that set the parameters it names, and the flag that
/// would mend it where one would.
pub(crate) fn with_flag(e: sigmax::Error) -> anyhow::Error {
    match &e {
        sigmax::Error::InvalidParameter { name, .. } => {
            let flag = flag_of(name);
            anyhow::Error::new(e).context(format!("invalid {flag}"))
        }
        sigmax::Error::Diverged { advice, .. } if advice.contains("line search") => {
            anyhow::anyhow!("{e}\n  on the command line: --solver newton or --solver lbfgs")
        }
        sigmax::Error::NoDescent { .. } => {
            anyhow::anyhow!("{e}\n  on the command line: --solver newton")
        }
        sigmax::Error::Diverged { .. } => anyhow::anyhow!(
            "{e}\n  on the command line: a smaller --learning-rate, or a larger --lambda"
        ),
        sigmax::Error::ContinuousLabels { .. } => {
            anyhow::anyhow!("{e}\n  on the command line: {LABEL_COLUMN_HINT}")
        }
        _ => anyhow::Error::new(e),
    }
}

/// Where the label of a CSV row comes from, for messages about labels that look wrong.
pub(crate) const LABEL_COLUMN_HINT: &str =
    "a CSV file's label is its last column unless --label-col names another";
