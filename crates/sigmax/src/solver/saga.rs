//! SAGA (Defazio, Bach & Lacoste-Julien, "SAGA: A fast incremental gradient method with
//! support for non-strongly convex composite objectives", NIPS 2014) for smooth linear
//! models, with the lazy updates that make a step cost O(nnz(x_i)·K) on sparse rows.
//!
//! Write J = (1/n) Σ_i f_i(w) + λ/2‖W‖², f_i = (n s_i/S) ℓ_i(W x_i + b), over the n rows
//! of non-zero weight. SAGA keeps each row's last score gradient a_i = ∂f_i/∂s (K numbers;
//! the parameter gradient is a_i ⊗ x_i) and their mean ḡ = (1/n) Σ a_i ⊗ x_i, and at row i
//! with fresh a_i':
//!   w ← w − η[(a_i' − a_i) ⊗ x_i + ḡ + λW],   then ḡ += (a_i' − a_i) ⊗ x_i / n.
//! A feature's ḡ changes only at rows that hold it, so between two of them its weights
//! follow w ← ρw − ηḡ (ρ = 1 − ηλ) each step: s skipped steps are w ← ρ^s w − η·G_s·ḡ,
//! G_s = Σ_{t<s} ρ^t, applied when the feature is next read (tables of ρ^s and G_s, built
//! by their recurrences). The weights live feature-major beside ḡ ([w_l | ḡ_l] per
//! feature: one row's reads are K-long runs) and are copied to J's layout once per epoch.
//!
//! Step η = 1/L, L = max_i (n s_i/S)·c·(‖x_i‖² + [intercept]) + λ with c the loss's
//! curvature bound: the practical step of SAG (Schmidt, Le Roux & Bach, "Minimizing finite
//! sums with the stochastic average gradient", Math. Prog. 2017, whose experiments use
//! 1/L). Measured on the 26-class text set (λ = 1e-5; gap after 10 epochs): 1/(3L), the
//! NIPS paper's proven step, 4.7e-4; 2/(3L) 2.7e-6; 1/L 2.8e-7; 4/(3L) 4.9e-6. As 1/L
//! carries no guarantee, the step halves whenever an epoch ends with a higher J than the
//! last evaluation (on a 60-row test set 1/L oscillates without this), and a run whose J
//! becomes non-finite or grows past its start starts over from the first point with half
//! the step.
//!
//! Each epoch visits the rows in a fresh seeded order on one thread (so a run repeats
//! bit for bit) and ends with one exact gradient evaluation through the objective, for
//! the stopping rule ‖∇J‖ ≤ tol·‖∇J(0)‖ and the report. SAGA's gradient norm falls slowly
//! in its last digits (26-class text set: gap 3e-7 at ‖∇J‖/‖∇J(0)‖ = 3e-4), which is why
//! the automatic choice hands over to Newton (`saga-newton`, [`SagaThenNewton`]).

use super::trust_region::KnownPoint;
use super::{norm, Observer, SolverReport, StopRule, Tracker, TrustRegionNewton};
use crate::data::Row;
use crate::error::{Error, Result};
use crate::objective::{Objective, RowsView};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy)]
pub struct Saga {
    /// `max_iter` counts epochs.
    pub stop: StopRule,
    pub seed: u64,
}

/// SAGA until ‖∇J‖ ≤ `handover`·‖∇J(0)‖, then trust-region Newton from there to the
/// tolerance: SAGA's first epochs cost a gradient pass or two each and make the progress
/// Newton spends its first, poorly conditioned iterations on; Newton's fast local
/// convergence makes the last digits SAGA is slow at.
#[derive(Debug, Clone, Copy)]
pub struct SagaThenNewton {
    pub saga: Saga,
    pub newton: TrustRegionNewton,
    pub handover: f64,
}

/// How many times a diverging run starts over with half the step.
const RESTARTS: usize = 8;

impl Saga {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        Ok(self.minimize_keeping(obj, w, observer)?.0)
    }

    /// [`minimize`](Self::minimize), also returning ∇J at the result (the objective's
    /// last `value_grad` was there).
    fn minimize_keeping(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        mut observer: Option<Observer>,
    ) -> Result<(SolverReport, Vec<f64>)> {
        let start = w.to_vec();
        let mut step_scale = 1.0;
        for _ in 0..=RESTARTS {
            match self.run(obj, w, step_scale, observer.as_mut().map(|o| &mut **o as _))? {
                Some(report) => return Ok(report),
                None => {
                    w.copy_from_slice(&start);
                    step_scale *= 0.5;
                }
            }
        }
        Err(Error::Diverged {
            iteration: 0,
            objective: f64::NAN,
            advice: "SAGA diverged even with a step 256 times below 1/L; try solver newton",
        })
    }

    /// One run with step `step_scale`/L, and the last gradient; `None` if it diverged.
    fn run(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        step_scale: f64,
        observer: Option<Observer>,
    ) -> Result<Option<(SolverReport, Vec<f64>)>> {
        let mut state = {
            let view = obj
                .rows_view()
                .filter(|v| v.curvature_bound.is_some())
                .ok_or_else(|| {
                    Error::Unsupported(
                        "SAGA trains linear models with a smooth loss of bounded curvature (logistic, softmax, squared hinge)".into(),
                    )
                })?;
            if !view.erm.is_local() {
                return Err(Error::Unsupported(
                    "SAGA walks the rows one by one and cannot train on rows spread over processes; use solver newton".into(),
                ));
            }
            SagaState::new(&view, w, step_scale, self.seed)
        };
        let mut g = vec![0.0; obj.dim()];
        let (mut tr, f_start) = Tracker::evaluating_start(obj, w, &mut g, self.stop.tol, observer);
        let mut gn = norm(&g);
        tr.record(0, f_start, gn)?;
        if tr.converged(gn) {
            let report = tr.finish("saga", true, "gradient norm below tol at the start".into());
            return Ok(Some((report, g)));
        }
        let mut last_f = f_start;
        let mut epoch = 0;
        while epoch < self.stop.max_iter {
            // Far from the tolerance, two epochs between exact gradients (each costs a
            // third of an epoch on the 26-class text set).
            let epochs = if gn > 10.0 * self.stop.tol * tr.g0 {
                2
            } else {
                1
            };
            for _ in 0..epochs.min(self.stop.max_iter - epoch) {
                let view = obj.rows_view().expect("the view was there a moment ago");
                state.epoch(&view);
                epoch += 1;
            }
            state.write_params(w);
            let f = obj.value_grad(w, &mut g);
            if !f.is_finite() || f > f_start + 1.0 + f_start.abs() {
                return Ok(None);
            }
            // 1/L is not SAGA's proven step (1/(3L) is): where J rose over the last
            // epochs the step halves (every feature is current here, so the tables change
            // between two steps). Rises at the rounding level of J are not counted: near
            // the optimum they would halve the step to nothing.
            if f - last_f > 1e-10 * f.abs() {
                state.set_step(0.5 * state.eta);
            }
            last_f = f;
            gn = norm(&g);
            tr.record(epoch, f, gn)?;
            if tr.converged(gn) {
                let reason = format!("gradient norm below tol after {epoch} epochs");
                return Ok(Some((tr.finish("saga", true, reason), g)));
            }
        }
        let reason = format!(
            "ran all {} epochs without reaching the gradient tolerance",
            self.stop.max_iter
        );
        Ok(Some((tr.finish("saga", false, reason), g)))
    }
}

impl SagaThenNewton {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        mut observer: Option<Observer>,
    ) -> Result<SolverReport> {
        let tol = self.newton.stop.tol;
        let mut saga = self.saga;
        saga.stop.tol = tol.max(self.handover);
        let (first, grad) =
            saga.minimize_keeping(obj, w, observer.as_mut().map(|o| &mut **o as _))?;
        if first.converged && tol >= self.handover {
            return Ok(SolverReport {
                solver: "saga-newton",
                stages: vec![("SAGA epoch", first.iterations)],
                ..first
            });
        }
        let epochs = first.iterations;
        let known = KnownPoint {
            value: first.objective,
            grad,
            reference: first.grad_norm_at_zero,
        };
        let mut second = self.newton.minimize_from(obj, w, Some(known), observer)?;
        let mut history = first.history;
        let offset = history.last().map_or(0.0, |r| r.seconds);
        // Newton's first record is SAGA's last point again.
        history.extend(second.history.iter().skip(1).map(|r| super::IterRecord {
            iteration: r.iteration + epochs,
            seconds: r.seconds + offset,
            ..*r
        }));
        second.history = history;
        second.solver = "saga-newton";
        second.stages = vec![
            ("SAGA epoch", epochs),
            ("Newton iteration", second.iterations),
        ];
        second.iterations += epochs;
        second.seconds += first.seconds;
        second.stop_reason = format!(
            "{} SAGA epochs, then Newton: {}",
            epochs, second.stop_reason
        );
        Ok(second)
    }
}

/// SAGA's working state for one run.
struct SagaState {
    k: usize,
    d: usize,
    intercept: bool,
    eta: f64,
    /// Per feature l: its K weights, then its K entries of ḡ (`wg[2Kl..2K(l+1)]`).
    wg: Vec<f64>,
    /// The intercepts and their ḡ.
    b: Vec<f64>,
    gb: Vec<f64>,
    /// Row i's last a_i (K numbers); rows of weight 0 are never visited.
    stored: Vec<f64>,
    /// (n s_i/S) per row.
    scale: Vec<f64>,
    /// The step each feature's weights are current at.
    last: Vec<u64>,
    t: u64,
    inv_n: f64,
    /// ρ^s and η·G_s for s < their length.
    rho_pow: Vec<f64>,
    eta_geo: Vec<f64>,
    order: Vec<usize>,
    rng: ChaCha8Rng,
    lambda: f64,
}

impl SagaState {
    fn new(view: &RowsView, w: &[f64], step_scale: f64, seed: u64) -> SagaState {
        let (x, k, erm) = (view.x, view.outputs, view.erm);
        let d = x.n_cols();
        let order: Vec<usize> = (0..x.n_rows()).filter(|&i| erm.weight(i) > 0.0).collect();
        let n = order.len();
        let per_weight = n as f64 / erm.total_weight();
        let scale: Vec<f64> = (0..x.n_rows())
            .map(|i| per_weight * erm.weight(i))
            .collect();
        let extra = if view.intercept { 1.0 } else { 0.0 };
        let bound = view.curvature_bound.expect("checked by Saga::run");
        let lipschitz = order
            .iter()
            .map(|&i| scale[i] * bound * (x.row(i).sq_norm() + extra))
            .fold(0.0, f64::max)
            + erm.lambda();
        let eta = step_scale / lipschitz.max(f64::MIN_POSITIVE);
        let mut wg = vec![0.0; 2 * d * k];
        for l in 0..d {
            for j in 0..k {
                wg[2 * k * l + j] = w[j * d + l];
            }
        }
        let b = if view.intercept {
            w[k * d..k * d + k].to_vec()
        } else {
            vec![0.0; k]
        };
        let mut state = SagaState {
            k,
            d,
            intercept: view.intercept,
            eta,
            wg,
            b,
            gb: vec![0.0; k],
            stored: vec![0.0; x.n_rows() * k],
            scale,
            last: vec![0; d],
            t: 0,
            inv_n: 1.0 / n.max(1) as f64,
            rho_pow: Vec::new(),
            eta_geo: Vec::new(),
            order,
            rng: ChaCha8Rng::seed_from_u64(seed),
            lambda: erm.lambda(),
        };
        state.set_step(eta);
        state
    }

    /// Sets the step η and the catch-up tables for it (every feature must be current).
    fn set_step(&mut self, eta: f64) {
        let rho = 1.0 - eta * self.lambda;
        // Steps a feature may go unread within an epoch; rarer ones take the table in
        // pieces.
        let table = self.order.len().max(1) + 1;
        let (mut rho_pow, mut geo) = (vec![1.0; table], vec![0.0; table]);
        for s in 1..table {
            rho_pow[s] = rho * rho_pow[s - 1];
            geo[s] = 1.0 + rho * geo[s - 1];
        }
        self.eta = eta;
        self.rho_pow = rho_pow;
        self.eta_geo = geo.iter().map(|g| eta * g).collect();
    }

    /// Brings feature l's weights (`wl`) from step `last[l]` to the current step.
    #[inline]
    fn catch_up(rho_pow: &[f64], eta_geo: &[f64], wl: &mut [f64], gl: &[f64], mut skipped: u64) {
        while skipped > 0 {
            let s = (skipped as usize).min(rho_pow.len() - 1);
            let (p, e) = (rho_pow[s], eta_geo[s]);
            wl.iter_mut()
                .zip(gl)
                .for_each(|(w, &g)| *w = p * *w - e * g);
            skipped -= s as u64;
        }
    }

    /// One pass over the rows in a fresh order.
    fn epoch(&mut self, view: &RowsView) {
        self.order.shuffle(&mut self.rng);
        let k = self.k;
        let mut scores = vec![0.0; k];
        let mut diff = vec![0.0; k];
        for pos in 0..self.order.len() {
            if let Some(&next) = self.order.get(pos + 2) {
                self.prefetch(view.x.row(next));
            }
            let i = self.order[pos];
            let row = view.x.row(i);
            scores.copy_from_slice(&self.b);
            let (t, last) = (self.t, &mut self.last);
            let (rho_pow, eta_geo) = (&self.rho_pow, &self.eta_geo);
            let wg = &mut self.wg;
            row.for_each(|l, v| {
                let (wl, gl) = wg[2 * k * l..2 * k * (l + 1)].split_at_mut(k);
                // (`last[l]` moves to t + 1 below: a row's indices are distinct.)
                let skipped = (t - last[l]) as usize;
                if skipped == 0 {
                    scores
                        .iter_mut()
                        .zip(wl.iter())
                        .for_each(|(s, &w)| *s += v * w);
                } else if skipped < rho_pow.len() {
                    // The catch-up and the score in one sweep over the feature.
                    let (p, e) = (rho_pow[skipped], eta_geo[skipped]);
                    for ((s, w), &g) in scores.iter_mut().zip(wl.iter_mut()).zip(gl.iter()) {
                        *w = p * *w - e * g;
                        *s += v * *w;
                    }
                } else {
                    Self::catch_up(rho_pow, eta_geo, wl, gl, skipped as u64);
                    scores
                        .iter_mut()
                        .zip(wl.iter())
                        .for_each(|(s, &w)| *s += v * w);
                }
            });
            view.loss.score_gradient(i, &mut scores);
            let a = &mut self.stored[i * k..(i + 1) * k];
            for ((dj, aj), &sj) in diff.iter_mut().zip(a.iter_mut()).zip(&scores) {
                let new = self.scale[i] * sj;
                *dj = new - *aj;
                *aj = new;
            }
            let (eta, rho, inv_n) = (self.eta, self.rho_pow[1], self.inv_n);
            row.for_each(|l, v| {
                let (wl, gl) = wg[2 * k * l..2 * k * (l + 1)].split_at_mut(k);
                for ((w, g), &dj) in wl.iter_mut().zip(gl.iter_mut()).zip(&diff) {
                    let dv = dj * v;
                    *w = rho * *w - eta * (*g + dv);
                    *g += inv_n * dv;
                }
                last[l] = t + 1;
            });
            if self.intercept {
                for ((b, g), &dj) in self.b.iter_mut().zip(self.gb.iter_mut()).zip(&diff) {
                    *b -= eta * (*g + dj);
                    *g += inv_n * dj;
                }
            }
            self.t += 1;
        }
    }

    /// Asks for the cache lines of a coming sparse row's weights and ḡ: the row's reads
    /// are scattered over a model that outgrows the caches, and stalled on memory
    /// otherwise (26-class text set: an epoch 0.23 s without, 0.175 s two rows ahead).
    #[inline]
    fn prefetch(&self, row: Row) {
        #[cfg(target_arch = "x86_64")]
        if let Row::Sparse(idx, _) = row {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let bytes = 2 * self.k * std::mem::size_of::<f64>();
            for &l in idx {
                let base = self.wg.as_ptr().wrapping_add(2 * self.k * l as usize) as *const i8;
                for off in (0..bytes).step_by(64) {
                    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault.
                    unsafe { _mm_prefetch(base.wrapping_add(off), _MM_HINT_T0) };
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }

    /// Brings every feature to the current step and writes the parameters in J's layout.
    fn write_params(&mut self, w: &mut [f64]) {
        let (k, d, t) = (self.k, self.d, self.t);
        for l in 0..d {
            let (wl, gl) = self.wg[2 * k * l..2 * k * (l + 1)].split_at_mut(k);
            Self::catch_up(&self.rho_pow, &self.eta_geo, wl, gl, t - self.last[l]);
            self.last[l] = t;
            for (j, &v) in wl.iter().enumerate() {
                w[j * d + l] = v;
            }
        }
        if self.intercept {
            w[k * d..k * d + k].copy_from_slice(&self.b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::BinaryLoss;
    use crate::objective::testing::sparse_toy;
    use crate::objective::{BinaryObjective, ErmObjective, Reducer, SoftmaxObjective};

    /// SAGA as written in the paper: every parameter updated at every step, from the same
    /// row order. The lazy updates must give its numbers (to rounding).
    fn eager_saga(view: &RowsView, w: &mut [f64], epochs: usize, seed: u64) {
        let (x, k, erm) = (view.x, view.outputs, view.erm);
        let (n_rows, d) = (x.n_rows(), x.n_cols());
        let mut order: Vec<usize> = (0..n_rows).filter(|&i| erm.weight(i) > 0.0).collect();
        let n = order.len() as f64;
        let extra = if view.intercept { 1.0 } else { 0.0 };
        let bound = view.curvature_bound.expect("a smooth loss");
        let lipschitz = order
            .iter()
            .map(|&i| n / erm.total_weight() * erm.weight(i) * bound * (x.row(i).sq_norm() + extra))
            .fold(0.0, f64::max)
            + erm.lambda();
        let eta = 1.0 / lipschitz;
        let mut stored = vec![vec![0.0; k]; n_rows];
        let mut mean = vec![0.0; w.len()];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..epochs {
            order.shuffle(&mut rng);
            for &i in &order {
                let row = x.row(i);
                let mut s: Vec<f64> = (0..k)
                    .map(|j| {
                        row.dot(&w[j * d..(j + 1) * d])
                            + if view.intercept { w[k * d + j] } else { 0.0 }
                    })
                    .collect();
                view.loss.score_gradient(i, &mut s);
                let scale = n / erm.total_weight() * erm.weight(i);
                let diff: Vec<f64> = (0..k).map(|j| scale * s[j] - stored[i][j]).collect();
                let mut step = mean.clone();
                for j in 0..k {
                    row.axpy(diff[j], &mut step[j * d..(j + 1) * d]);
                    if view.intercept {
                        step[k * d + j] += diff[j];
                    }
                }
                for p in 0..w.len() {
                    let penalty = if p < k * d { erm.lambda() * w[p] } else { 0.0 };
                    w[p] -= eta * (step[p] + penalty);
                }
                for j in 0..k {
                    row.axpy(diff[j] / n, &mut mean[j * d..(j + 1) * d]);
                    if view.intercept {
                        mean[k * d + j] += diff[j] / n;
                    }
                    stored[i][j] = scale * s[j];
                }
            }
        }
    }

    #[test]
    fn lazy_updates_give_the_eager_algorithms_numbers() {
        let (x, y, weights) = sparse_toy();
        // Rows of weight 0 are skipped alike.
        let weights: Vec<f64> = weights
            .iter()
            .enumerate()
            .map(|(i, &s)| if i % 7 == 3 { 0.0 } else { s })
            .collect();
        for intercept in [false, true] {
            let obj = SoftmaxObjective::new(&x, &y, 4, 0.05, intercept)
                .unwrap()
                .with_sample_weights(&weights)
                .unwrap();
            let view = obj.rows_view().unwrap();
            let start: Vec<f64> = (0..obj.dim())
                .map(|p| ((p % 5) as f64 - 2.0) * 0.01)
                .collect();
            let mut state = SagaState::new(&view, &start, 1.0, 7);
            for _ in 0..3 {
                state.epoch(&view);
            }
            let mut lazy = vec![0.0; obj.dim()];
            state.write_params(&mut lazy);
            let mut eager = start.clone();
            eager_saga(&view, &mut eager, 3, 7);
            let scale = eager.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (a, b) in lazy.iter().zip(&eager) {
                assert!((a - b).abs() <= 1e-12 * scale, "{a} vs {b}");
            }
            assert!(lazy.iter().zip(&start).any(|(a, b)| a != b));
        }
    }

    /// SAGA and saga-newton reach the objective Newton reaches, to 1e-8 relative.
    fn assert_reaches_newton_optimum<'d>(make: &dyn Fn() -> Box<dyn Objective + 'd>) {
        let newton = TrustRegionNewton {
            stop: StopRule {
                tol: 1e-10,
                max_iter: 100,
            },
            cg_tol: 0.1,
            preconditioner: super::super::PreconditionerChoice::Auto,
        };
        let mut obj = make();
        let mut best = vec![0.0; obj.dim()];
        let optimum = newton
            .minimize(obj.as_mut(), &mut best, None)
            .unwrap()
            .objective;
        let saga = Saga {
            stop: StopRule {
                tol: 1e-7,
                max_iter: 20_000,
            },
            seed: 1,
        };
        let both = SagaThenNewton {
            saga,
            newton,
            handover: 1e-2,
        };
        let runs: [(
            &str,
            &dyn Fn(&mut dyn Objective, &mut [f64]) -> Result<SolverReport>,
        ); 2] = [
            ("saga", &|o, w| saga.minimize(o, w, None)),
            ("saga-newton", &|o, w| both.minimize(o, w, None)),
        ];
        for (name, run) in runs {
            let mut obj = make();
            let mut w = vec![0.0; obj.dim()];
            let report = run(obj.as_mut(), &mut w).unwrap();
            assert!(report.converged, "{name}: {}", report.stop_reason);
            assert_eq!(report.solver, name);
            let gap = (obj.value(&w) - optimum) / optimum;
            assert!(gap.abs() <= 1e-8, "{name}: gap {gap:e}");
            assert!(report
                .history
                .windows(2)
                .all(|p| p[0].iteration <= p[1].iteration && p[0].seconds <= p[1].seconds));
            // The two stages' counts, for the summary line, add up to the iterations.
            let stages: Vec<&str> = report.stages.iter().map(|s| s.0).collect();
            if name == "saga-newton" {
                assert_eq!(stages, ["SAGA epoch", "Newton iteration"]);
                let total: usize = report.stages.iter().map(|s| s.1).sum();
                assert_eq!(total, report.iterations);
            } else {
                assert!(stages.is_empty());
            }
        }
    }

    #[test]
    fn softmax_reaches_the_newton_optimum() {
        let (x, y, weights) = sparse_toy();
        for intercept in [false, true] {
            for weighted in [false, true] {
                assert_reaches_newton_optimum(&|| {
                    let obj = SoftmaxObjective::new(&x, &y, 4, 0.01, intercept).unwrap();
                    Box::new(if weighted {
                        obj.with_sample_weights(&weights).unwrap()
                    } else {
                        obj
                    })
                });
            }
        }
    }

    #[test]
    fn binary_losses_reach_the_newton_optimum() {
        let (x, y, weights) = sparse_toy();
        let positive: Vec<bool> = y.iter().map(|&c| c % 2 == 1).collect();
        for loss in [
            BinaryLoss::Logistic,
            BinaryLoss::CrossEntropy,
            BinaryLoss::SquaredHinge,
        ] {
            for intercept in [false, true] {
                assert_reaches_newton_optimum(&|| {
                    let obj =
                        BinaryObjective::new(&x, positive.clone(), loss, 0.01, intercept).unwrap();
                    Box::new(obj.with_sample_weights(&weights).unwrap())
                });
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_train() {
        let (x, y, _) = sparse_toy();
        let saga = Saga {
            stop: StopRule {
                tol: 1e-6,
                max_iter: 10,
            },
            seed: 0,
        };
        let positive: Vec<bool> = y.iter().map(|&c| c == 0).collect();
        for loss in [BinaryLoss::Hinge, BinaryLoss::Exponential] {
            let mut obj = BinaryObjective::new(&x, positive.clone(), loss, 0.01, false).unwrap();
            let mut w = vec![0.0; obj.dim()];
            assert!(matches!(
                saga.minimize(&mut obj, &mut w, None),
                Err(Error::Unsupported(_))
            ));
        }
        /// A reducer that says the rows are spread over processes.
        struct Spread;
        impl Reducer for Spread {
            fn sum(&self, _partial: &mut [f64]) {}
            fn max_index(&self, _partial: &mut [i32]) {}
            fn is_local(&self) -> bool {
                false
            }
        }
        let mut obj = SoftmaxObjective::new(&x, &y, 4, 0.01, true)
            .unwrap()
            .with_reducer(&Spread)
            .unwrap();
        let mut w = vec![0.0; obj.dim()];
        let err = saga.minimize(&mut obj, &mut w, None).unwrap_err();
        assert!(err.to_string().contains("spread over processes"), "{err}");
    }

    #[test]
    fn a_seed_repeats_bit_for_bit() {
        let (x, y, _) = sparse_toy();
        let run = |seed| {
            let mut obj = SoftmaxObjective::new(&x, &y, 4, 0.01, true).unwrap();
            let mut w = vec![0.0; obj.dim()];
            Saga {
                stop: StopRule {
                    tol: 0.0,
                    max_iter: 3,
                },
                seed,
            }
            .minimize(&mut obj, &mut w, None)
            .unwrap();
            w
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
