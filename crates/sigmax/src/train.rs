//! Training: validated options → objective → solver → model. This is the layer the CLI
//! and other front ends call; it owns the defaults so users need not choose a solver.
//!
//! The objective is J = (1/S) Σ s_i ℓ_i + λ₂/2‖w‖² + λ₁‖w‖₁ with s_i the sample weights
//! times the class weights and S their sum. The strength α comes from `lambda`, or from
//! C as α = 1/(C·S) (scikit-learn's and LIBLINEAR's C·Σ s_i ℓ_i + penalty, divided by
//! C·S), or defaults to C = 1; the penalty splits it as scikit-learn's `l1_ratio` does:
//! λ₁ = r·α, λ₂ = (1 − r)·α, with r = 0 for `l2`, 1 for `l1`.

use crate::data::{
    canonical_label, require_class_labels, weight_sum, ColumnOrder, Dataset, Features,
};
use crate::error::{Error, Result};
use crate::loss::BinaryLoss;
use crate::model::{LinearModel, ModelKind};
use crate::objective::{
    BinaryObjective, ErmObjective, LocalReducer, Objective, Reducer, SoftmaxObjective,
};
use crate::solver::registry;
pub use crate::solver::{
    Observer, PreconditionerChoice, Schedule, SolverChoice, SolverReport, SolverSettings,
};

/// Which model to fit; `Auto` picks logistic for two classes and softmax for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelChoice {
    Auto,
    Kind(ModelKind),
}

impl std::str::FromStr for ModelChoice {
    type Err = crate::names::UnknownName;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(ModelChoice::Auto);
        }
        s.parse()
            .map(ModelChoice::Kind)
            .map_err(|mut e: Self::Err| {
                e.expected.insert(0, "auto");
                e
            })
    }
}

impl crate::names::NamedChoice for ModelChoice {
    const WHAT: &'static str = "model";
    fn all() -> Vec<Self> {
        std::iter::once(ModelChoice::Auto)
            .chain(ModelKind::ALL.iter().map(|&k| ModelChoice::Kind(k)))
            .collect()
    }
    fn name(self) -> &'static str {
        match self {
            ModelChoice::Auto => "auto",
            ModelChoice::Kind(k) => k.name(),
        }
    }
    fn aliases(self) -> Vec<&'static str> {
        match self {
            ModelChoice::Auto => vec![],
            ModelChoice::Kind(k) => crate::names::NamedChoice::aliases(k),
        }
    }
}

impl std::fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelChoice::Auto => f.write_str("auto"),
            ModelChoice::Kind(k) => k.fmt(f),
        }
    }
}

crate::named_choice! {
    /// How binary labels enter the logistic loss: ±1 margins or the {0,1} cross-entropy.
    /// Both are the same model and give the same weights.
    pub enum LabelForm ("label form") {
        PlusMinusOne = "plus-minus-one" | "pm1",
        ZeroOne = "zero-one" | "01",
    }
}

crate::named_choice! {
    /// The penalty, as scikit-learn names it.
    pub enum Penalty ("penalty") {
        /// λ/2‖w‖².
        L2 = "l2",
        /// λ‖w‖₁.
        L1 = "l1",
        /// λ·[r‖w‖₁ + (1 − r)/2‖w‖²] with r = `l1_ratio`.
        ElasticNet = "elasticnet" | "elastic-net",
    }
}

/// Per-class weights multiplying the sample weights, as scikit-learn's `class_weight`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum ClassWeight {
    #[default]
    None,
    /// w_c = S / (K · S_c), S_c the class's total sample weight (its row count without
    /// weights): every class weighs the same in total. scikit-learn's
    /// `compute_class_weight("balanced", sample_weight=…)` (≥ 1.6; n / (K · n_c) unweighted).
    Balanced,
    /// Weights by class name; classes not named weigh 1.
    Given(Vec<(String, f64)>),
}

impl std::str::FromStr for ClassWeight {
    type Err = Error;
    /// `balanced`, `none`, or `LABEL:W,LABEL:W,...`.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("balanced") {
            return Ok(ClassWeight::Balanced);
        }
        if t.eq_ignore_ascii_case("none") || t.is_empty() {
            return Ok(ClassWeight::None);
        }
        let bad = |v: &str| {
            Error::InvalidParameter {
            name: "class_weight",
            value: v.to_string(),
            expected: "balanced, none, or LABEL:WEIGHT pairs separated by commas, each weight a finite number ≥ 0",
        }
        };
        let pairs = t
            .split(',')
            .map(|pair| {
                let (label, w) = pair.rsplit_once(':').ok_or_else(|| bad(pair))?;
                let w: f64 = w.trim().parse().map_err(|_| bad(pair))?;
                if !(w >= 0.0 && w.is_finite()) {
                    return Err(bad(pair));
                }
                Ok((label.trim().to_string(), w))
            })
            .collect::<Result<Vec<_>>>()?;
        // One weight a class: `1:2,1.0:3` would silently keep the last.
        for (k, (label, _)) in pairs.iter().enumerate() {
            let name = canonical_label(label);
            if let Some((again, _)) = pairs[..k].iter().find(|(l, _)| canonical_label(l) == name) {
                return Err(Error::InvalidParameter {
                    name: "class_weight",
                    value: format!("{again:?} and {label:?}"),
                    expected: "one weight per class: the same class is given twice",
                });
            }
        }
        Ok(ClassWeight::Given(pairs))
    }
}

impl ClassWeight {
    /// The weight of each class of `data` (in class-id order).
    pub fn per_class(&self, data: &Dataset) -> Result<Vec<f64>> {
        self.per_class_of(
            &data.y,
            data.weights.as_deref(),
            &data.classes,
            &LocalReducer,
        )
    }

    /// Each row's sample weight (`None`: 1) times its class's weight
    /// ([`ClassWeight::per_class_of`]), for rows of class ids `y`.
    pub fn row_weights(
        &self,
        y: &[u32],
        weights: Option<&[f64]>,
        classes: &[String],
        reducer: &dyn Reducer,
    ) -> Result<Vec<f64>> {
        let per_class = self.per_class_of(y, weights, classes, reducer)?;
        Ok(y.iter()
            .enumerate()
            .map(|(i, &k)| weights.map_or(1.0, |w| w[i]) * per_class[k as usize])
            .collect())
    }

    /// The weight of each of `classes` for rows of class ids `y` and sample weights
    /// `weights` (`None`: 1 each), the classes' totals summed through `reducer`.
    pub fn per_class_of(
        &self,
        y: &[u32],
        weights: Option<&[f64]>,
        classes: &[String],
        reducer: &dyn Reducer,
    ) -> Result<Vec<f64>> {
        let k = classes.len();
        match self {
            ClassWeight::None => Ok(vec![1.0; k]),
            ClassWeight::Balanced => {
                let n = y.len();
                let blocks = crate::sum::RowBlocks::new(crate::sum::global_rows(reducer, n));
                let per_class = crate::sum::par_row_reduce(n, blocks, k, |rows, acc| {
                    rows.for_each(|i| acc[y[i] as usize] += weights.map_or(1.0, |w| w[i]));
                });
                let per_class = crate::sum::reduce(reducer, per_class);
                let total: f64 = per_class.iter().sum();
                Ok(per_class
                    .iter()
                    .map(|&s| if s > 0.0 { total / (k as f64 * s) } else { 0.0 })
                    .collect())
            }
            ClassWeight::Given(pairs) => {
                let mut w = vec![1.0; k];
                for (label, v) in pairs {
                    let name = canonical_label(label);
                    let c = classes.iter().position(|c| *c == name).ok_or_else(|| {
                        Error::UnknownClass {
                            label: label.clone(),
                            classes: classes.to_vec(),
                        }
                    })?;
                    w[c] = *v;
                }
                Ok(w)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub model: ModelChoice,
    /// The penalty strength α (see the module docs); `None`: from `c`, else C = 1.
    pub lambda: Option<f64>,
    /// C of LIBLINEAR and scikit-learn: α = 1/(C·S). Not together with `lambda`.
    pub c: Option<f64>,
    pub penalty: Penalty,
    /// The L1 share r of an elastic-net penalty, in [0, 1].
    pub l1_ratio: Option<f64>,
    pub class_weight: ClassWeight,
    pub intercept: bool,
    pub solver: SolverChoice,
    /// Stopping tolerance (`None`: the solver's default, see
    /// [`crate::solver::registry::SolverEntry::default_tol`]).
    pub tol: Option<f64>,
    /// `None`: a default per solver (the registry's).
    pub max_iter: Option<usize>,
    /// GD: fixed step (`None`: backtracking line search). SGD: η0 (`None`: 0.1).
    pub learning_rate: Option<f64>,
    pub schedule: Schedule,
    /// SGD's passes over the data (`None`: `max_iter`, else the registry's 50).
    pub epochs: Option<usize>,
    pub batch_size: usize,
    pub seed: u64,
    /// SGD: return the average of the iterates of the second half of the epochs.
    pub averaging: bool,
    pub label_form: LabelForm,
    /// Start the solver from these parameters (the flat layout of the objective:
    /// weights row by row, then the intercepts) instead of zero; see
    /// [`LinearModel::flat_params`] to start from a model.
    pub warm_start: Option<Vec<f64>>,
    /// Newton's CG preconditioner (`Auto`: sampled Hessian for small models, else diagonal).
    pub preconditioner: PreconditionerChoice,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            model: ModelChoice::Auto,
            lambda: None,
            c: None,
            penalty: Penalty::L2,
            l1_ratio: None,
            class_weight: ClassWeight::None,
            intercept: true,
            solver: SolverChoice::Auto,
            tol: None,
            max_iter: None,
            learning_rate: None,
            schedule: Schedule::InverseTime,
            epochs: None,
            batch_size: 1,
            seed: 0,
            averaging: true,
            label_form: LabelForm::PlusMinusOne,
            warm_start: None,
            preconditioner: PreconditionerChoice::Auto,
        }
    }
}

/// The penalty strengths of one fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strengths {
    pub l2: f64,
    pub l1: f64,
}

/// A plain L2 strength λ.
impl From<f64> for Strengths {
    fn from(l2: f64) -> Self {
        Strengths { l2, l1: 0.0 }
    }
}

/// The fewest rows for which the automatic choice starts softmax with SAGA. Below it a
/// Newton fit takes a fraction of a second anyway, and Newton's model does not depend on
/// the order of the rows: refits of reweighted or repeated rows agree to rounding, as
/// scikit-learn's sample-weight checks demand (probabilities to 1e-7), where SAGA's
/// start leaves differences at the stopping tolerance.
pub const SAGA_MIN_ROWS: usize = 10_000;

/// `auto` picks dual CD for sparse binary sets without an intercept up to this many rows
/// per feature (see [`TrainOptions::auto_solver`]): the dual has a variable per row, the
/// primal one per feature, and with many rows per feature Newton's passes, each streaming,
/// beat dual CD's random gathers into w.
pub const DUAL_CD_ROWS_PER_FEATURE: f64 = 3.0;

/// ... and from this C = 1/(λ·Σ weights) up (LIBLINEAR's C; see
/// [`TrainOptions::auto_solver`]): between the sets where Newton won (C ≤ 0.2) and dual
/// CD did (C ≥ 1).
pub const DUAL_CD_MIN_C: f64 = 0.5;

impl TrainOptions {
    /// The model kind for this data.
    pub fn resolve_model(&self, n_classes: usize) -> Result<ModelKind> {
        match self.model {
            ModelChoice::Auto if n_classes == 2 => Ok(ModelKind::Logistic),
            ModelChoice::Auto => Ok(ModelKind::Softmax),
            ModelChoice::Kind(k) if k != ModelKind::Softmax && n_classes != 2 => {
                Err(Error::Unsupported(format!(
                    "model {k} is binary but the data has {n_classes} classes; use softmax"
                )))
            }
            ModelChoice::Kind(k) => Ok(k),
        }
    }

    /// The solver `Auto` stands for, for a `kind` model of the features `x` whose
    /// (effective) weights sum to `total_weight` (`local`: all rows in this process); see
    /// [`Self::auto_solver`] for the rule.
    pub fn resolve_solver(
        &self,
        kind: ModelKind,
        x: &Features,
        total_weight: f64,
        local: bool,
    ) -> SolverChoice {
        match self.solver {
            SolverChoice::Auto => self.auto_solver(kind, x, total_weight, local).0,
            s => s,
        }
    }

    /// The automatic choice and why, in words (for the fit's summary):
    /// - OWL-QN with an L1 part;
    /// - for the hinge SVM, dual coordinate descent (with an intercept too, found by a
    ///   1-D search);
    /// - dual CD for logistic regression and the squared-hinge SVM on sparse rows without
    ///   an intercept, in one process, when the rows are at most
    ///   [`DUAL_CD_ROWS_PER_FEATURE`] times the features and the penalty is weak, LIBLINEAR's
    ///   C = 1/(λ·Σ weights) at least [`DUAL_CD_MIN_C`]. Where the penalty is weak Newton
    ///   needs many Hessian-vector products, while each dual CD epoch costs about four
    ///   streaming passes (its gathers into w are random). Measured (training, seconds,
    ///   Newton against dual CD): binary text set (65,692 × 160,873) at C = 1.52
    ///   (λ = 1e-5) 0.80 against 0.14 for the squared hinge, and from Python for logistic
    ///   regression 0.38 against 0.30 (bench/results-peers.md); the same at C = 0.15 0.25
    ///   against 0.36, at C = 0.015 0.25 against 0.22; the generated sparse set
    ///   (500,000 × 176,563, 45M nonzeros) at C = 0.2 2.7 against 9.2, at C = 0.02 2.2
    ///   against 4.9; issue #34's 4.9M-row hashed text set at C = 1: Newton 376 s, dual CD
    ///   23 s. With an intercept the dual's 1-D search over b loses (logistic on the text
    ///   set 1.6 s against Newton's 0.6 s), and on dense rows or many more rows than
    ///   features Newton's few passes do;
    /// - for softmax on sparse rows that are fewer than the features but at least
    ///   [`SAGA_MIN_ROWS`], in one process, SAGA's first epochs and then Newton
    ///   (`saga-newton`): on the 26-class text set (65,692 rows, 160,873 features,
    ///   λ = 1e-5) it reaches a gap of 1e-4 in 2.1 s and 1e-6 in 2.9 s (bench/run, one
    ///   run), where Newton alone took 5.7 and 7.1 s;
    /// - else trust-region Newton (SAGA's epochs lose on the sparse binary sets: to tol
    ///   1e-6 0.52 s against Newton's 0.26 s on the binary text set with an intercept,
    ///   9.7 s against 1.4 s on the 500,000-row sparse set).
    pub fn auto_solver(
        &self,
        kind: ModelKind,
        x: &Features,
        total_weight: f64,
        local: bool,
    ) -> (SolverChoice, &'static str) {
        let sparse_and_wide = local
            && x.is_sparse()
            && x.n_rows() as f64 <= DUAL_CD_ROWS_PER_FEATURE * x.n_cols() as f64;
        let weak_penalty =
            1.0 / (self.resolve_lambda(total_weight) * total_weight) >= DUAL_CD_MIN_C;
        match kind {
            _ if self.penalty != Penalty::L2 => (SolverChoice::OwlQn, "an L1 part"),
            ModelKind::Svm => (SolverChoice::DualCd, "hinge loss"),
            ModelKind::Logistic | ModelKind::SquaredHingeSvm
                if !self.intercept && sparse_and_wide && weak_penalty =>
            {
                (
                    SolverChoice::DualCd,
                    "sparse, no intercept, rows ≤ 3 × features, C ≥ 0.5",
                )
            }
            ModelKind::Softmax
                if local && x.is_sparse() && (SAGA_MIN_ROWS..x.n_cols()).contains(&x.n_rows()) =>
            {
                (SolverChoice::SagaNewton, "sparse, 10,000 ≤ rows < features")
            }
            _ if !local => (SolverChoice::Newton, "rows in several processes"),
            ModelKind::Logistic | ModelKind::SquaredHingeSvm if self.intercept => {
                (SolverChoice::Newton, "with an intercept")
            }
            _ if !x.is_sparse() => (SolverChoice::Newton, "dense rows"),
            ModelKind::Logistic | ModelKind::SquaredHingeSvm if sparse_and_wide => {
                (SolverChoice::Newton, "C < 0.5")
            }
            ModelKind::Softmax => (
                SolverChoice::Newton,
                "softmax, not 10,000 ≤ rows < features",
            ),
            _ => (SolverChoice::Newton, "rows > 3 × features"),
        }
    }

    /// α for data whose (effective) weights sum to `total_weight`.
    pub fn resolve_lambda(&self, total_weight: f64) -> f64 {
        match (self.lambda, self.c) {
            (Some(l), _) => l,
            (None, Some(c)) => 1.0 / (c * total_weight),
            (None, None) => 1.0 / total_weight,
        }
    }

    /// λ₂ and λ₁ from α and the penalty.
    pub fn resolve_strengths(&self, total_weight: f64) -> Strengths {
        let alpha = self.resolve_lambda(total_weight);
        let r = match self.penalty {
            Penalty::L2 => 0.0,
            Penalty::L1 => 1.0,
            Penalty::ElasticNet => self.l1_ratio.unwrap_or(0.5),
        };
        Strengths {
            l2: (1.0 - r) * alpha,
            l1: r * alpha,
        }
    }

    /// Checks every value; errors name the parameter as the library spells it. Called
    /// once, by [`TrainOptions::check`] (the way to [`crate::fit::Settings`]).
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |name, value: String, expected| {
            Err(Error::InvalidParameter {
                name,
                value,
                expected,
            })
        };
        if let Some(l) = self.lambda {
            if !(l >= 0.0 && l.is_finite()) {
                return bad("lambda", l.to_string(), "must be a finite number ≥ 0");
            }
            if self.c.is_some() {
                return bad("c", format!("{:?}", self.c), "give lambda or C, not both");
            }
        }
        if let Some(c) = self.c {
            if !(c > 0.0 && c.is_finite()) {
                return bad(
                    "C",
                    c.to_string(),
                    "must be a finite number > 0 (λ = 1/(C·Σ weights))",
                );
            }
        }
        if let Some(r) = self.l1_ratio {
            if !(0.0..=1.0).contains(&r) {
                return bad("l1_ratio", r.to_string(), "must be in [0, 1]");
            }
            if self.penalty != Penalty::ElasticNet {
                return bad(
                    "l1_ratio",
                    r.to_string(),
                    "applies to the elasticnet penalty only",
                );
            }
        }
        if let Some(eta) = self.learning_rate {
            if !(eta > 0.0 && eta.is_finite()) {
                return bad("learning_rate", eta.to_string(), "must be > 0");
            }
        }
        if let Some(tol) = self.tol {
            if !(tol > 0.0) {
                return bad("tol", tol.to_string(), "must be > 0");
            }
        }
        if self.epochs == Some(0) {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "must be at least 1");
        }
        if self.max_iter == Some(0) {
            return bad("max_iter", "0".into(), "must be at least 1");
        }
        Ok(())
    }

    fn solver_settings(&self, solver: SolverChoice, lambda: f64) -> SolverSettings {
        SolverSettings {
            tol: self.tol,
            max_iter: match solver {
                SolverChoice::Sgd => self.epochs.or(self.max_iter),
                _ => self.max_iter,
            },
            learning_rate: self.learning_rate,
            schedule: self.schedule,
            batch_size: self.batch_size,
            seed: self.seed,
            averaging: self.averaging,
            preconditioner: self.preconditioner,
            lambda,
        }
    }
}

/// The sample weights of `data` times its class weights (`None`: every row weighs 1).
pub fn effective_weights(data: &Dataset, class_weight: &ClassWeight) -> Result<Option<Vec<f64>>> {
    effective_weights_over(data, class_weight, &LocalReducer)
}

/// [`effective_weights`] for rows spread over processes (the classes' totals that
/// balancing needs are summed through `reducer`).
pub(crate) fn effective_weights_over(
    data: &Dataset,
    class_weight: &ClassWeight,
    reducer: &dyn Reducer,
) -> Result<Option<Vec<f64>>> {
    if *class_weight == ClassWeight::None {
        return Ok(data.weights.clone());
    }
    let w = class_weight.row_weights(&data.y, data.weights.as_deref(), &data.classes, reducer)?;
    crate::objective::check_sample_weights(&w, data.n_rows())?;
    Ok(Some(w))
}

/// S, the sum of the effective weights (sample × class weights): the total that
/// normalizes J and turns C into λ = 1/(C·S).
pub fn effective_total_weight(data: &Dataset, class_weight: &ClassWeight) -> Result<f64> {
    Ok(weight_sum(
        effective_weights(data, class_weight)?.as_deref(),
        data.n_rows(),
    ))
}

/// A trained model and how the solver got there.
pub struct Trained {
    pub model: LinearModel,
    pub report: SolverReport,
}

/// The objective of a linear model of `kind` on features `x` with class ids `y`.
#[allow(clippy::too_many_arguments)]
pub fn linear_objective<'a>(
    kind: ModelKind,
    loss: BinaryLoss,
    x: &'a Features,
    y: &'a [u32],
    n_classes: usize,
    strengths: Strengths,
    intercept: bool,
    weights: Option<&'a [f64]>,
) -> Result<Box<dyn Objective + 'a>> {
    static LOCAL: LocalReducer = LocalReducer;
    linear_objective_over(
        kind, loss, x, y, n_classes, strengths, intercept, weights, &LOCAL,
    )
}

/// [`linear_objective`] whose passes are summed through `reducer` (rows spread over
/// processes).
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_objective_over<'a>(
    kind: ModelKind,
    loss: BinaryLoss,
    x: &'a Features,
    y: &'a [u32],
    n_classes: usize,
    strengths: Strengths,
    intercept: bool,
    weights: Option<&'a [f64]>,
    reducer: &'a dyn Reducer,
) -> Result<Box<dyn Objective + 'a>> {
    Ok(match kind {
        ModelKind::Softmax => {
            // The reducer first: the weights' total is a total over every process.
            let mut o = SoftmaxObjective::new(x, y, n_classes, strengths.l2, intercept)?
                .with_reducer(reducer)?;
            if let Some(s) = weights {
                o = o.with_sample_weights(s)?;
            }
            Box::new(o.with_l1(strengths.l1)?)
        }
        _ => {
            let positive = y.iter().map(|&c| c == 1).collect();
            // The reducer first: the weights' total is a total over every process.
            let mut o = BinaryObjective::new(x, positive, loss, strengths.l2, intercept)?
                .with_reducer(reducer)?;
            if let Some(s) = weights {
                o = o.with_sample_weights(s)?;
            }
            Box::new(o.with_l1(strengths.l1)?)
        }
    })
}

/// Refuses weights or a C that make J or λ overflow, naming the cause rather than the λ
/// it produced ("lambda = inf" for `C = 1e-320` or weights that sum to 0).
fn check_strengths(opts: &TrainOptions, total: f64, strengths: Strengths) -> Result<()> {
    if !(total > 0.0 && (1.0 / total).is_finite()) {
        let (name, expected) = match opts.class_weight {
            ClassWeight::None => (
                "sample_weight",
                "J is the weighted mean, (1/Σ weights)·Σ weight·loss: the weights must sum to a positive number whose inverse is finite; every row weighs (almost) nothing, so scale them up",
            ),
            _ => (
                "class_weight",
                "the sample weights times the class weights must sum to a positive number whose inverse is finite (J is their weighted mean): give the classes weights above 0",
            ),
        };
        return Err(Error::InvalidParameter {
            name,
            value: format!("weights summing to {total:e}"),
            expected,
        });
    }
    if !(strengths.l2.is_finite() && strengths.l1.is_finite()) {
        if let Some(c) = opts.c {
            return Err(Error::InvalidParameter {
                name: "C",
                value: format!("{c:e}"),
                expected: "is so small that λ = 1/(C·Σ weights) overflows to infinity; give a larger C (or λ itself)",
            });
        }
    }
    Ok(())
}

/// Refuses a fit whose parameters and the solver's working vectors would not fit in
/// memory (one stray feature index 10⁸ with 1000 classes asks for 10¹¹ parameters).
fn check_fit_memory(
    kind: ModelKind,
    (n, d, k): (usize, usize, usize),
    solver: SolverChoice,
) -> Result<()> {
    let (params, vectors, per_row) =
        fit_memory(kind, (n, d, k), solver).ok_or_else(|| Error::TooLarge {
            what: format!("{} × {d} parameters", outputs_of(kind, k)),
            needed: u64::MAX,
            available: crate::limits::available_memory(),
        })?;
    crate::limits::check_elements(
        &format!(
            "training {} ({params} parameters for {} × {d} features, {vectors} vectors of them for solver {}, and {per_row} numbers kept for the {n} rows)",
            kind.name(),
            outputs_of(kind, k),
            solver.name()
        ),
        params.saturating_mul(vectors).saturating_add(per_row),
        8,
    )
}

/// What a fit holds, in doubles: (parameters, parameter-sized vectors, numbers kept per
/// row in all). `None` when the parameters overflow a count.
fn fit_memory(
    kind: ModelKind,
    (n, d, k): (usize, usize, usize),
    solver: SolverChoice,
) -> Option<(u64, u64, u64)> {
    let outputs = outputs_of(kind, k) as u64;
    let params = (d as u64).checked_add(1)?.checked_mul(outputs)?;
    let entry = registry::entry(solver).ok();
    // The parameters, the solver's vectors, and the objective's gradient buffers; dual
    // CD's parallel epochs keep a copy of the parameters per thread besides.
    let replicas = match solver {
        SolverChoice::DualCd => rayon::current_num_threads() as u64,
        _ => 0,
    };
    let vectors = entry.map_or(8, |e| e.working_vectors) + 4 + replicas;
    // The objective keeps two numbers per row and output (scores or probabilities, and
    // the coefficients of its passes); SAGA its stored gradients besides.
    let per_row = (n as u64)
        .saturating_mul(outputs)
        .saturating_mul(2 + entry.map_or(0, |e| e.row_numbers));
    Some((params, vectors, per_row))
}

/// How the fit renumbers the columns of `x` (see [`ColumnOrder`]): decided from the
/// counts summed over every process, so all of them renumber alike and the model is the
/// one process's; dense rows only take part when spread over processes. `None` when the
/// copy would not fit in memory on one process (refused when spread: every process must
/// renumber).
fn column_order(
    x: &Features,
    outputs: usize,
    reducer: &dyn Reducer,
) -> Result<Option<ColumnOrder>> {
    let local = reducer.is_local();
    if x.n_cols().saturating_mul(outputs) < ColumnOrder::MIN_WEIGHTS || (local && !x.is_sparse()) {
        return Ok(None);
    }
    // The counts and the two orders built from them: 16 bytes a column.
    if let Err(e) = crate::limits::check_elements("the column counts", x.n_cols() as u64, 16) {
        return if local { Ok(None) } else { Err(e) };
    }
    let mut counts = ColumnOrder::column_counts(x);
    reducer.sum(&mut counts);
    let Some(order) = ColumnOrder::by_frequency(&counts, outputs) else {
        return Ok(None);
    };
    match crate::limits::check_elements("the renumbered copy of the rows", x.nnz() as u64, 8) {
        Ok(()) => Ok(Some(order)),
        Err(_) if local => Ok(None),
        Err(e) => Err(e),
    }
}

/// Shorthand for [`crate::fit::fit`] on one process with rows it only borrows: checks
/// `opts`, then fits (columns renumbered on a copy when that pays, not in place).
pub fn train(data: &Dataset, opts: &TrainOptions, observer: Option<Observer>) -> Result<Trained> {
    let settings = opts.clone().check()?;
    train_over(data, settings.options(), observer, &LocalReducer)
}

/// The fit on checked options: each process calls it with its own rows, laid out on the
/// classes and features all of them agreed on ([`Dataset::with_global_shape`]), and a
/// `reducer` that sums across them (see [`crate::fit::fit`]).
pub(crate) fn train_over(
    data: &Dataset,
    opts: &TrainOptions,
    observer: Option<Observer>,
    reducer: &dyn Reducer,
) -> Result<Trained> {
    let order = renumbering(data, opts, reducer)?;
    fit(data, opts, observer, reducer, order.as_ref(), false)
}

/// [`train_over`] renumbering `data`'s columns in place rather than on a copy (when
/// renumbering pays, see [`ColumnOrder`]) and back before it returns: the same model,
/// without the copy's 8 bytes a nonzero. For callers that own their rows; rows read in
/// place from a caller's arrays are renumbered on a copy as usual.
pub(crate) fn train_over_in_place(
    data: &mut Dataset,
    opts: &TrainOptions,
    observer: Option<Observer>,
    reducer: &dyn Reducer,
) -> Result<Trained> {
    let order = renumbering(data, opts, reducer)?;
    let in_place = order
        .as_ref()
        .is_some_and(|o| o.apply_in_place(&mut data.x));
    let fit = fit(data, opts, observer, reducer, order.as_ref(), in_place);
    if let Some(o) = order.as_ref().filter(|_| in_place) {
        o.restore_in_place(&mut data.x);
    }
    fit
}

/// Checks the data against the (checked) options, and decides the fit's column order.
fn renumbering(
    data: &Dataset,
    opts: &TrainOptions,
    reducer: &dyn Reducer,
) -> Result<Option<ColumnOrder>> {
    require_class_labels(data)?;
    let kind = opts.resolve_model(data.classes.len())?;
    // Before anything sized by the columns is allocated (the column counts are one double
    // a column: a stray index 2³¹ would abort there).
    let total = effective_total_weight(data, &opts.class_weight)?;
    let solver = opts.resolve_solver(kind, &data.x, total, reducer.is_local());
    let shape = (data.n_rows(), data.n_features(), data.classes.len());
    check_fit_memory(kind, shape, solver)?;
    if solver == SolverChoice::DualCd {
        // Dual CD gathers w at random rows' features, which the renumbering did not make
        // faster: textbin's logistic fit (λ = 1e-5) took 0.285 s renumbered, 0.232 s of it
        // solving, and 0.244 s not (0.234 s), medians of 3; the hinge 0.25 against 0.19.
        // Where w outgrows the cache (the 5M-row code set's 4.2M columns, 34 MB) dual CD
        // prefetches w at the coming rows' columns, and renumbering gained 4% (28.8 and
        // 30.7 s against 30.1 and 32.0), not worth the 8 bytes a nonzero of a copy.
        return Ok(None);
    }
    column_order(&data.x, outputs_of(kind, data.classes.len()), reducer)
}

/// Scores per row: K for softmax, one for a binary model.
fn outputs_of(kind: ModelKind, n_classes: usize) -> usize {
    if kind == ModelKind::Softmax {
        n_classes
    } else {
        1
    }
}

/// The fit, on checked options and data, with columns renumbered by `order`: already
/// in `data` (`renumbered`) or on a copy made here.
fn fit(
    data: &Dataset,
    opts: &TrainOptions,
    observer: Option<Observer>,
    reducer: &dyn Reducer,
    order: Option<&ColumnOrder>,
    renumbered: bool,
) -> Result<Trained> {
    let kind = opts.resolve_model(data.classes.len())?;
    // Without class weights the data's own weights serve as they are (no copy).
    let scaled;
    let weights = match opts.class_weight {
        ClassWeight::None => data.weights.as_deref(),
        _ => {
            scaled = effective_weights_over(data, &opts.class_weight, reducer)?;
            scaled.as_deref()
        }
    };
    let total = crate::sum::total_weight(reducer, data.n_rows(), weights);
    let strengths = opts.resolve_strengths(total);
    check_strengths(opts, total, strengths)?;
    let (d, k) = (data.n_features(), data.classes.len());
    let solver = opts.resolve_solver(kind, &data.x, total, reducer.is_local());
    let loss = match (kind.binary_loss(), opts.label_form) {
        (Some(BinaryLoss::Logistic), LabelForm::ZeroOne) => BinaryLoss::CrossEntropy,
        (Some(l), _) => l,
        (None, _) => BinaryLoss::Logistic,
    };
    let outputs = outputs_of(kind, k);
    let copy = order.filter(|_| !renumbered).map(|o| o.apply(&data.x));
    let mut obj = linear_objective_over(
        kind,
        loss,
        copy.as_ref().unwrap_or(&data.x),
        &data.y,
        k,
        strengths,
        opts.intercept,
        weights,
        reducer,
    )?;
    let mut w = match &opts.warm_start {
        Some(w0) if w0.len() == obj.dim() => match order {
            Some(o) => o.to_renumbered(w0, outputs),
            None => w0.clone(),
        },
        Some(w0) => {
            return Err(Error::Shape {
                what: "warm-start parameters",
                expected: obj.dim(),
                got: w0.len(),
            })
        }
        None => crate::limits::try_filled("the parameters", obj.dim(), 0.0)?,
    };
    let settings = opts.solver_settings(solver, strengths.l2);
    let report = registry::minimize(solver, &settings, obj.as_mut(), &mut w, observer)?;
    drop(obj);
    drop(copy);
    if let Some(o) = order {
        o.to_original(&mut w, outputs);
    }
    let weights = (0..outputs)
        .map(|j| w[j * d..(j + 1) * d].to_vec())
        .collect();
    let mut bias = if opts.intercept {
        w[outputs * d..].to_vec()
    } else {
        vec![0.0; outputs]
    };
    if kind == ModelKind::Softmax {
        center(&mut bias);
    }
    let model = LinearModel {
        kind,
        classes: data.classes.clone(),
        n_features: d,
        lambda: strengths.l2,
        l1: strengths.l1,
        intercept: opts.intercept,
        weights,
        bias,
        feature_names: data.feature_names.clone(),
    };
    if strengths.l2 == 0.0 && strengths.l1 == 0.0 && loss.approaches_zero() {
        refuse_separated(
            &model,
            data,
            weights_for_check(data, opts, reducer)?.as_deref(),
            reducer,
            loss,
        )?;
    }
    Ok(Trained { model, report })
}

/// The effective row weights (a row of weight 0 does not count as separated or not).
fn weights_for_check(
    data: &Dataset,
    opts: &TrainOptions,
    reducer: &dyn Reducer,
) -> Result<Option<Vec<f64>>> {
    match opts.class_weight {
        ClassWeight::None => Ok(data.weights.clone()),
        _ => effective_weights_over(data, &opts.class_weight, reducer),
    }
}

/// Refuses the model of an unpenalized fit whose every (weighted) row is on its class's
/// side: logistic, softmax and exponential losses then decrease along w → c·w without end,
/// so the model is wherever the solver stopped (scikit-learn warns that it did not
/// converge). Counted over every process.
fn refuse_separated(
    model: &LinearModel,
    data: &Dataset,
    weights: Option<&[f64]>,
    reducer: &dyn Reducer,
    loss: BinaryLoss,
) -> Result<()> {
    let scores = model.decision_function(&data.x);
    let k = model.weights.len();
    let counts = |i: usize| !matches!(weights, Some(w) if w[i] <= 0.0);
    let wrong = (0..data.n_rows())
        .filter(|&i| counts(i))
        .filter(|&i| {
            let (s, y) = (&scores[i * k..(i + 1) * k], data.y[i] as usize);
            if k == 1 {
                // Binary: positive class 1.
                (if y == 1 { s[0] } else { -s[0] }) <= 0.0
            } else {
                s.iter().enumerate().any(|(j, &v)| j != y && v >= s[y])
            }
        })
        .count();
    let mut total = [wrong as f64];
    reducer.sum(&mut total);
    if total[0] == 0.0 {
        return Err(Error::NoMinimum {
            loss: if k > 1 { "softmax" } else { loss.name() },
        });
    }
    Ok(())
}

/// Shifts softmax intercepts to sum to zero. They are not regularized, so one constant
/// added to all of them changes neither J nor a prediction: of that line of optima this
/// is the one scikit-learn reports, rather than wherever the iterates drifted along it (a
/// diagonal preconditioner scales the intercepts' steps unequally: each 0.005 off
/// scikit-learn's on a 4-class sparse set).
fn center(bias: &mut [f64]) {
    let mean = bias.iter().sum::<f64>() / bias.len().max(1) as f64;
    bias.iter_mut().for_each(|b| *b -= mean);
}

impl LinearModel {
    /// The model's parameters in the objective's flat layout (for warm starts).
    pub fn flat_params(&self) -> Vec<f64> {
        pad_rows(self, self.n_features)
    }
}

/// The training objective J of `model` on `data` with penalty strengths `strengths`:
/// the weighted mean loss (the model kind's; `data`'s sample weights) + penalty,
/// intercept unregularized. Data labels are matched to the model's classes by name; an
/// unknown label is an error. As in prediction, features the model lacks weigh 0 and
/// model features beyond the data's columns are ignored.
pub fn objective_at(
    model: &LinearModel,
    data: &Dataset,
    strengths: impl Into<Strengths>,
) -> Result<f64> {
    let strengths = strengths.into();
    let ids = model.class_ids(data)?;
    let x = &data.x;
    // Parameters laid out for the data's columns: features the model lacks weigh 0.
    let params = pad_rows(model, x.n_cols());
    let loss = model.kind.binary_loss().unwrap_or(BinaryLoss::Logistic);
    let mut obj = linear_objective(
        model.kind,
        loss,
        x,
        &ids,
        model.n_classes(),
        strengths,
        model.intercept,
        data.weights.as_deref(),
    )?;
    Ok(obj.value(&params) + obj.l1_penalty().value(&params))
}

/// Re-lays the flat parameters for `cols` features per class (the objective's layout).
fn pad_rows(model: &LinearModel, cols: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(model.weights.len() * (cols + 1));
    for w in &model.weights {
        out.extend((0..cols).map(|j| w.get(j).copied().unwrap_or(0.0)));
    }
    if model.intercept {
        out.extend_from_slice(&model.bias);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_check_counts_what_a_solver_keeps_per_row() {
        // 10⁸ rows × 26 classes over 100 features: SAGA's stored gradients (n × K) are
        // most of the fit, and Newton holds none of them.
        let shape = (100_000_000, 100, 26);
        let newton = fit_memory(ModelKind::Softmax, shape, SolverChoice::Newton).unwrap();
        let saga = fit_memory(ModelKind::Softmax, shape, SolverChoice::Saga).unwrap();
        assert_eq!(newton.0, 26 * 101);
        assert_eq!(newton.2, 2 * 26 * 100_000_000);
        assert_eq!(saga.2 - newton.2, 26 * 100_000_000);
        // 7.8e9 doubles (62 GB) is refused before anything is allocated.
        assert!(
            matches!(
                check_fit_memory(ModelKind::Softmax, shape, SolverChoice::Saga),
                Err(Error::TooLarge { .. })
            ) || crate::limits::available_memory() > 64 << 30
        );
        // A binary model keeps one output per row.
        let binary = fit_memory(ModelKind::Logistic, shape, SolverChoice::DualCd).unwrap();
        assert_eq!((binary.0, binary.2), (101, 3 * 100_000_000));
    }

    #[test]
    fn an_unpenalized_fit_of_separated_rows_is_refused() {
        let rows = |text: &str| {
            crate::data::parse_libsvm(text.as_bytes(), "t".as_ref(), false, 10).unwrap()
        };
        let unpenalized = TrainOptions {
            lambda: Some(0.0),
            max_iter: Some(50),
            ..TrainOptions::default()
        };
        // Every row on its side: no minimum (the weights would grow without end).
        let separated = rows("1 1:1\n1 1:2\n-1 1:-1\n-1 1:-3\n");
        let e = train(&separated, &unpenalized, None).err().unwrap();
        assert!(matches!(e, Error::NoMinimum { loss: "logistic" }), "{e}");
        // Softmax likewise.
        let three = rows("0 1:1\n1 2:1\n2 1:-1 2:-1\n0 1:2\n1 2:3\n2 1:-2 2:-2\n");
        let e = train(&three, &unpenalized, None).err().unwrap();
        assert!(matches!(e, Error::NoMinimum { loss: "softmax" }), "{e}");
        // Overlapping classes have a minimum; a penalty always has one.
        let overlap = rows("1 1:1\n1 1:-0.5\n-1 1:-1\n-1 1:0.5\n");
        assert!(train(&overlap, &unpenalized, None).is_ok());
        assert!(train(&separated, &TrainOptions::default(), None).is_ok());
        // A row of weight 0 does not count as unseparated.
        let weighted = rows("1 1:1\n1 1:-5\n-1 1:-1\n-1 1:-3\n")
            .with_weights(vec![1.0, 0.0, 1.0, 1.0])
            .unwrap();
        assert!(matches!(
            train(&weighted, &unpenalized, None),
            Err(Error::NoMinimum { .. })
        ));
    }
}
