//! The one entry point of a fit: [`Settings`], options checked once, and [`fit`], which
//! every front end calls (the CLI, Python, MPI, Dask, Spark), on one process
//! ([`Alone`](crate::collective::Alone)) or on rows spread over several (any other
//! [`Collective`]).
//!
//! Checked-parameters pattern (linfa's): a [`TrainOptions`] is plain data a front end
//! fills in; [`TrainOptions::check`] validates every value once and is the only way to a
//! [`Settings`], so a fit never sees invalid settings and never validates them again.
//! What depends on the data (the model for K classes, the solver `auto` picks, λ from C
//! and Σ weights) is resolved by the fit.

use crate::collective::{peer_error, Collective, Reducing};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::objective::{LocalReducer, Reducer};
use crate::solver::{IterRecord, Observer, PreconditionerChoice, SolverChoice};
use crate::train::{train_over_in_place, TrainOptions, Trained};
use std::ops::ControlFlow;

/// Training options whose every value was checked ([`TrainOptions::check`]; the
/// defaults are valid).
#[derive(Debug, Clone, Default)]
pub struct Settings(TrainOptions);

impl TrainOptions {
    /// Checks every value (errors name the parameter as the library spells it) and
    /// returns the settings a fit takes.
    pub fn check(self) -> Result<Settings> {
        self.validate()?;
        Ok(Settings(self))
    }
}

impl TryFrom<TrainOptions> for Settings {
    type Error = Error;
    fn try_from(opts: TrainOptions) -> Result<Settings> {
        opts.check()
    }
}

impl Settings {
    /// The checked options.
    pub fn options(&self) -> &TrainOptions {
        &self.0
    }

    /// The options again, to change and check anew.
    pub fn into_options(self) -> TrainOptions {
        self.0
    }

    /// The settings of a fit spread over processes: only the solvers that see the data
    /// through the objective's passes (Newton, L-BFGS, GD, OWL-QN; SGD, SAGA and dual CD
    /// walk the rows themselves), `auto` resolved among them, and Newton's
    /// sampled-Hessian preconditioner (drawn from each process's own rows, so different
    /// on each) replaced by the diagonal one, a pass like any other. The same whatever
    /// the number of processes, so that P processes find the model of one.
    pub fn spread(&self, data: &Dataset, reducer: &dyn Reducer) -> Result<Settings> {
        let mut opts = self.0.clone();
        let kind = opts.resolve_model(data.classes.len())?;
        let n_rows = crate::sum::global_rows(reducer, data.n_rows());
        let solver = opts.resolve_solver(kind, &data.x, n_rows as f64, false);
        if !matches!(
            solver,
            SolverChoice::Newton | SolverChoice::Lbfgs | SolverChoice::Gd | SolverChoice::OwlQn
        ) {
            return Err(Error::Unsupported(format!(
                "solver {} walks the rows itself and cannot run distributed; use newton, lbfgs, gd or owlqn (the hinge SVM needs dual-cd: use the squared-hinge SVM)",
                solver.name()
            )));
        }
        opts.solver = solver;
        if matches!(
            opts.preconditioner,
            PreconditionerChoice::Auto | PreconditionerChoice::SampledHessian
        ) {
            opts.preconditioner = PreconditionerChoice::Diagonal;
        }
        Ok(Settings(opts))
    }
}

/// Fits a model to `data`, this process's rows. `observer` sees every iteration.
///
/// With [`Alone`](crate::collective::Alone) the rows are all there is, and every solver
/// may run. Otherwise every process calls `fit` with its own rows, laid out by
/// [`agree_on_data`](crate::collective::agreement::agree_on_data), and the same
/// settings, made [`Settings::spread`]: every pass sums through `collective`, so S, the
/// default λ and the stopping rule are global, balanced class weights come from the
/// classes' global totals, and every process gets the same model (P processes the bits
/// of one). A failure of the collective stops the fit at its next iteration and is the
/// result; so is a disagreement on the objective.
///
/// Columns may be renumbered in place for the fit's speed (see
/// [`crate::data::ColumnOrder`]); they are restored before it returns.
pub fn fit(
    data: &mut Dataset,
    settings: &Settings,
    collective: &dyn Collective,
    observer: Option<Observer>,
) -> Result<Trained> {
    if collective.is_alone() {
        return train_over_in_place(data, settings.options(), observer, &LocalReducer);
    }
    let reducing = Reducing::new(collective);
    let settings = settings.spread(data, &reducing)?;
    let mut observer = observer;
    let mut watch = |record: &IterRecord| {
        if reducing.failed() {
            return ControlFlow::Break(());
        }
        match observer.as_mut() {
            Some(o) => o(record),
            None => ControlFlow::Continue(()),
        }
    };
    let fitted = train_over_in_place(data, settings.options(), Some(&mut watch), &reducing);
    if let Some(e) = reducing.failure() {
        return Err(e);
    }
    let fitted = fitted?;
    let bits = fitted.report.objective.to_bits();
    let mut span = [bits, u64::MAX - bits];
    collective.max(&mut span)?;
    if span[0] != bits || u64::MAX - span[1] != bits {
        let r = &fitted.report;
        return Err(peer_error(
            collective,
            format!(
                "the processes disagree on the objective (this one's: {} after {} iterations of {}: {}); every one must hold the same model",
                r.objective, r.iterations, r.solver, r.stop_reason
            ),
        ));
    }
    Ok(fitted)
}
