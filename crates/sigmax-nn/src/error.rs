use thiserror::Error;

#[derive(Debug, Error)]
pub enum NnError {
    #[error(transparent)]
    Core(#[from] sigmax::Error),
    /// Bad input data (the message names the file and the problem).
    #[error("{0}")]
    Data(String),
    #[error("{path}: {message}")]
    Checkpoint { path: String, message: String },
    #[error("invalid setting: {0}")]
    Config(String),
    /// The loss became NaN or infinite, or climbed far above its start.
    #[error(
        "training diverged at epoch {epoch}, step {step}: loss {loss} (λ = {lambda}); lower the learning rate (now {lr}), or raise λ_min of the annealing for L-Softmax / A-Softmax"
    )]
    Diverged {
        epoch: usize,
        step: u64,
        loss: f64,
        lambda: f64,
        lr: f64,
    },
    #[error("{0}")]
    Io(String),
}

pub type Result<T> = std::result::Result<T, NnError>;
