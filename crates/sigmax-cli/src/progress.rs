//! Progress on stderr while a solver runs: a spinner with the current objective and
//! gradient norm (indicatif hides it when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sigmax::solver::IterRecord;
use std::time::Duration;

pub struct SolverProgress {
    bar: ProgressBar,
}

impl SolverProgress {
    /// `quiet` hides it (for `--json`).
    pub fn new(solver: &str, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {prefix} {msg}")
                .expect("valid template"),
        );
        bar.set_prefix(solver.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        SolverProgress { bar }
    }

    pub fn update(&self, r: &IterRecord) {
        self.bar.set_message(format!(
            "iteration {}  objective {:.10}  ‖∇J‖ {:.3e}",
            r.iteration, r.objective, r.grad_norm
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
