//! The weighted L2-ERM base that every linear objective shares:
//!
//! J(w) = (1/S) Σ_i s_i ℓ_i(w) + λ₂/2‖w_pen‖² (+ λ₁‖w_pen‖₁), S = Σ_i s_i,
//!
//! with s_i the sample weights (1 without weights, so S = n), w_pen the weights and the
//! intercepts (stored after them) never penalized. scikit-learn's and LIBLINEAR's
//! C·Σ s_i ℓ_i + ½‖w‖² is this J times C·S, so λ₂ = 1/(C·S).
//!
//! A loss supplies only its per-row pieces (weighted by s_i) and sums them over its rows
//! into an accumulator; [`Erm`] then sends the accumulator through the [`Reducer`] (the
//! seam where a distributed run sums every process's rows) and only after that divides
//! by the global S and adds the penalty. So no loss knows how many rows there are, or
//! where they live.

use crate::error::{Error, Result};

use crate::sum::{reduce, reduce_exact, Binned, ColumnOut, RowBlocks, Sums};
pub use crate::sum::{LocalReducer, Reducer};

static LOCAL: LocalReducer = LocalReducer;

/// The L1 part of the penalty: λ₁‖w[..penalized]‖₁. Objectives compute the smooth part
/// of J; solvers made for L1 (OWL-QN) add this one.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct L1Penalty {
    pub strength: f64,
    /// The number of leading parameters it applies to (the weights, not the intercepts).
    pub penalized: usize,
}

impl L1Penalty {
    pub fn value(&self, w: &[f64]) -> f64 {
        if self.strength == 0.0 {
            return 0.0;
        }
        self.strength * w[..self.penalized].iter().map(|v| v.abs()).sum::<f64>()
    }
}

/// The objectives built on [`Erm`] take weights, a reducer and an L1 part alike.
pub trait ErmObjective<'a>: Sized {
    /// The objective's shared base.
    fn erm_mut(&mut self) -> &mut Erm<'a>;

    /// Weighs row i by `weights[i]` (see [`Erm::set_weights`]).
    fn with_sample_weights(mut self, weights: &'a [f64]) -> Result<Self> {
        self.erm_mut().set_weights(weights).map(|()| self)
    }

    /// Sums every pass through `reducer` (rows spread over several processes).
    fn with_reducer(mut self, reducer: &'a dyn Reducer) -> Result<Self> {
        self.erm_mut().set_reducer(reducer)?;
        self.reducer_set();
        Ok(self)
    }

    /// Called once the reducer is set: choices that must be the same on every process
    /// are made again from global counts.
    fn reducer_set(&mut self) {}

    /// Adds λ₁‖w‖₁ (handled by the L1 solver; see [`super::Objective::l1_penalty`]).
    fn with_l1(mut self, l1: f64) -> Result<Self> {
        self.erm_mut().set_l1(l1).map(|()| self)
    }
}

/// Normalization, penalty, parameter layout and reduction of a weighted L2-ERM.
pub struct Erm<'a> {
    weights: Option<&'a [f64]>,
    reducer: &'a dyn Reducer,
    /// Rows here, and their weight (for mini-batch estimates, which are local).
    n_local: usize,
    local_total: f64,
    /// How every pass cuts the rows (from the number of rows over every participant).
    row_blocks: RowBlocks,
    /// S = Σ s_i over every participant's rows.
    total: f64,
    l2: f64,
    l1: f64,
    /// Parameters [0, penalized) are penalized; [penalized, dim) are intercepts.
    penalized: usize,
    dim: usize,
}

impl<'a> Erm<'a> {
    /// Unweighted rows, λ₂ = `lambda`, the first `penalized` of `dim` parameters
    /// penalized.
    pub fn new(n_rows: usize, penalized: usize, dim: usize, lambda: f64) -> Result<Erm<'a>> {
        check_strength("lambda", lambda)?;
        let mut erm = Erm {
            weights: None,
            reducer: &LOCAL,
            n_local: n_rows,
            local_total: n_rows as f64,
            row_blocks: RowBlocks::new(n_rows),
            total: n_rows as f64,
            l2: lambda,
            l1: 0.0,
            penalized,
            dim,
        };
        // A process's share may be empty; the total over every process is checked when
        // the reducer is set.
        if n_rows > 0 {
            erm.total = erm.global_total(None)?;
        }
        Ok(erm)
    }

    /// Sample weights s_i, one per row: finite, ≥ 0, not all zero (over every process:
    /// set the reducer first).
    pub fn set_weights(&mut self, weights: &'a [f64]) -> Result<()> {
        check_sample_weights(weights, self.n_local)?;
        let total = self.global_total(Some(weights))?;
        self.local_total = weights.iter().sum();
        (self.weights, self.total) = (Some(weights), total);
        Ok(())
    }

    /// Sums every pass (and S) through `reducer`.
    pub fn set_reducer(&mut self, reducer: &'a dyn Reducer) -> Result<()> {
        self.reducer = reducer;
        self.row_blocks = RowBlocks::new(crate::sum::global_rows(reducer, self.n_local));
        self.total = self.global_total(self.weights)?;
        Ok(())
    }

    /// λ₁ of λ₁‖w‖₁ (elastic net with λ₂ > 0).
    pub fn set_l1(&mut self, l1: f64) -> Result<()> {
        check_strength("l1", l1)?;
        self.l1 = l1;
        Ok(())
    }

    /// [`Erm::set_weights`], by value.
    pub fn with_weights(mut self, weights: &'a [f64]) -> Result<Erm<'a>> {
        self.set_weights(weights).map(|()| self)
    }

    /// [`Erm::set_reducer`], by value.
    pub fn with_reducer(mut self, reducer: &'a dyn Reducer) -> Result<Erm<'a>> {
        self.set_reducer(reducer).map(|()| self)
    }

    /// [`Erm::set_l1`], by value.
    pub fn with_l1(mut self, l1: f64) -> Result<Erm<'a>> {
        self.set_l1(l1).map(|()| self)
    }

    /// S over every participant's rows, summed block by block like every pass.
    fn global_total(&self, weights: Option<&[f64]>) -> Result<f64> {
        let t = crate::sum::total_weight_in(self.reducer, self.n_local, self.row_blocks, weights);
        if !(t > 0.0 && t.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "sample_weight",
                value: format!("total {t}"),
                expected:
                    "the weights must sum to a finite number > 0 (no rows, or all weights zero)",
            });
        }
        Ok(t)
    }

    /// s_i (1 without weights).
    #[inline]
    pub fn weight(&self, i: usize) -> f64 {
        match self.weights {
            Some(s) => s[i],
            None => 1.0,
        }
    }

    pub fn weights(&self) -> Option<&'a [f64]> {
        self.weights
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn lambda(&self) -> f64 {
        self.l2
    }

    /// S = Σ s_i over all rows of all participants.
    pub fn total_weight(&self) -> f64 {
        self.total
    }

    pub fn l1(&self) -> L1Penalty {
        L1Penalty {
            strength: self.l1,
            penalized: self.penalized,
        }
    }

    /// How a pass cuts the rows into blocks and chunks (see [`crate::sum`]).
    pub fn row_blocks(&self) -> RowBlocks {
        self.row_blocks
    }

    /// The sum of a count over every participant.
    pub fn global_count(&self, local: usize) -> usize {
        crate::sum::global_rows(self.reducer, local)
    }

    /// Whether passes hand over exact sums (the rows are spread over processes).
    pub fn exact_passes(&self) -> bool {
        !self.is_local()
    }

    /// Whether every row is in this process.
    pub fn is_local(&self) -> bool {
        self.reducer.is_local()
    }

    /// Reduces a pass over columns into `out[..dim]`: `columns` writes the first
    /// `n_cols` parameter sums, `rest` (the intercepts' sums, over rows) the others. With
    /// one process the columns write straight into `out` (a fresh buffer as long as the
    /// model, faulted in and zeroed on every pass, cost the 26-class text set 40%); across
    /// processes into exact sums, then reduced like [`Erm::reduce_pass`]'s parameters.
    pub fn reduce_columns(
        &self,
        out: &mut [f64],
        n_cols: usize,
        columns: impl FnOnce(ColumnOut),
        rest: Option<Sums>,
    ) {
        let dim = self.dim;
        if !self.exact_passes() {
            columns(ColumnOut::Values(&mut out[..n_cols]));
            if let Some(r) = rest {
                out[n_cols..dim].copy_from_slice(&r.local_values()[..dim - n_cols]);
            }
            return;
        }
        let mut exact = vec![Binned::ZERO; dim];
        columns(ColumnOut::Exact(&mut exact[..n_cols]));
        if let Some(r) = rest {
            exact[n_cols..].copy_from_slice(&r.into_exact()[..dim - n_cols]);
        }
        reduce_exact(self.reducer, &mut exact);
        for (o, e) in out[..dim].iter_mut().zip(&exact) {
            *o = e.value();
        }
    }

    /// The seam: the sums over this process's rows → the sums over all rows.
    pub fn reduce(&self, partial: Sums) -> Vec<f64> {
        reduce(self.reducer, partial)
    }

    /// λ₂/2‖w_pen‖².
    pub fn l2_value(&self, w: &[f64]) -> f64 {
        0.5 * self.l2 * crate::vector::sq_norm(&w[..self.penalized])
    }

    /// Reduces a pass's parameter sums (`params[..dim]`, its first `dim` entries; any
    /// beyond stay this process's) and then its scalar sums, in this order: every pass
    /// makes the same collective calls with the same lengths, over rows or over columns
    /// ([`Erm::reduce_columns`]).
    pub fn reduce_pass(&self, params: Sums, scalars: Sums) -> (Vec<f64>, Vec<f64>) {
        let params = self.reduce_params(params);
        (params, self.reduce(scalars))
    }

    /// [`Erm::reduce_pass`] for a pass with parameter sums only.
    pub fn reduce_params(&self, mut params: Sums) -> Vec<f64> {
        let rest = params.split_off(self.dim);
        let mut params = self.reduce(params);
        params.extend(rest.local_values());
        params
    }

    /// The smooth part of J from the reduced Σ s_i ℓ_i.
    pub fn value(&self, loss_sum: f64, w: &[f64]) -> f64 {
        loss_sum / self.total + self.l2_value(w)
    }

    /// out = sums/S + λ₂·v on the penalized parameters, sums/S on the intercepts: the
    /// gradient (v = w) or a Hessian-vector product (v the direction) from reduced sums.
    pub fn finish(&self, sums: &[f64], v: &[f64], out: &mut [f64]) {
        self.finish_scaled(sums, v, 1.0 / self.total, out);
    }

    /// The Hessian's diagonal from reduced Σ s_i ℓ''_i x_ij².
    pub fn finish_diag(&self, sums: &[f64], out: &mut [f64]) {
        out[..self.dim].copy_from_slice(&sums[..self.dim]);
        self.finish_diag_in_place(out);
    }

    /// [`Erm::finish_diag`] with the sums already in `out` (passes over columns write
    /// them there).
    pub fn finish_diag_in_place(&self, out: &mut [f64]) {
        let inv = 1.0 / self.total;
        for (k, o) in out.iter_mut().enumerate().take(self.dim) {
            *o = *o * inv + if k < self.penalized { self.l2 } else { 0.0 };
        }
    }

    /// The factor that turns Σ_{i ∈ batch} s_i ℓ_i into an unbiased estimate of the
    /// weighted mean loss over this process's rows (uniformly drawn batches).
    pub fn batch_scale(&self, batch_len: usize) -> f64 {
        self.n_local as f64 / (batch_len.max(1) as f64 * self.local_total)
    }

    /// Mini-batch value and gradient from the batch's (unreduced) weighted sums.
    pub fn finish_batch(
        &self,
        loss_sum: f64,
        sums: &[f64],
        batch_len: usize,
        w: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        let scale = self.batch_scale(batch_len);
        self.finish_scaled(sums, w, scale, grad);
        loss_sum * scale + self.l2_value(w)
    }

    /// The factor that turns a mean over `sample` rows of s_i ℓ''_i into an estimate of
    /// (1/S) Σ_i s_i ℓ''_i (for sampled Hessians).
    pub fn sample_scale(&self) -> f64 {
        self.n_local as f64 / self.local_total
    }

    fn finish_scaled(&self, sums: &[f64], v: &[f64], scale: f64, out: &mut [f64]) {
        out[..self.dim].copy_from_slice(&sums[..self.dim]);
        self.scale_in_place(v, scale, out);
    }

    /// [`Erm::finish`] with the sums already in `out` (passes over columns write them
    /// there).
    pub fn finish_in_place(&self, v: &[f64], out: &mut [f64]) {
        self.scale_in_place(v, 1.0 / self.total, out);
    }

    fn scale_in_place(&self, v: &[f64], scale: f64, out: &mut [f64]) {
        let p = self.penalized;
        for k in 0..p {
            out[k] = out[k] * scale + self.l2 * v[k];
        }
        for o in &mut out[p..self.dim] {
            *o *= scale;
        }
    }
}

fn check_strength(name: &'static str, value: f64) -> Result<()> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: value.to_string(),
            expected: "a finite number ≥ 0",
        })
    }
}

/// Sample weights are one finite number ≥ 0 per row, not all zero.
pub fn check_sample_weights(weights: &[f64], n_rows: usize) -> Result<()> {
    if weights.len() != n_rows {
        return Err(Error::Shape {
            what: "sample weights (one per row)",
            expected: n_rows,
            got: weights.len(),
        });
    }
    if let Some((i, &s)) = weights
        .iter()
        .enumerate()
        .find(|(_, s)| !(**s >= 0.0 && s.is_finite()))
    {
        return Err(Error::InvalidParameter {
            name: "sample_weight",
            value: format!("{s} (row {})", i + 1),
            expected: "every weight a finite number ≥ 0",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two "processes" of a sum: each reduction adds a fixed other half.
    struct AddOther(Vec<f64>);
    impl Reducer for AddOther {
        fn sum(&self, partial: &mut [f64]) {
            partial.iter_mut().zip(&self.0).for_each(|(p, o)| *p += o);
        }
        fn max_index(&self, _partial: &mut [i32]) {}
    }

    #[test]
    fn normalization_uses_the_reduced_total() {
        let w = [1.0, 2.0, 10.0];
        let s = [1.0, 3.0];
        let erm = Erm::new(2, 2, 3, 0.5).unwrap().with_weights(&s).unwrap();
        assert_eq!(erm.total_weight(), 4.0);
        assert_eq!(erm.value(8.0, &w), 2.0 + 0.25 * 5.0);
        let other = AddOther(vec![4.0]);
        let erm = erm.with_reducer(&other).unwrap();
        assert_eq!(erm.total_weight(), 8.0, "S is global");
        let mut g = [0.0; 3];
        erm.finish(&[8.0, 16.0, 24.0], &w, &mut g);
        assert_eq!(g, [1.0 + 0.5, 2.0 + 1.0, 3.0], "intercept unpenalized");
    }

    #[test]
    fn bad_weights_and_strengths_are_refused() {
        let e = |r: Result<Erm>| r.err().unwrap().to_string();
        assert!(e(Erm::new(2, 1, 1, -1.0)).contains("lambda"));
        assert!(e(Erm::new(2, 1, 1, 0.1).unwrap().with_weights(&[1.0])).contains("one per row"));
        assert!(e(Erm::new(2, 1, 1, 0.1).unwrap().with_weights(&[1.0, -2.0])).contains("row 2"));
        assert!(e(Erm::new(2, 1, 1, 0.1)
            .unwrap()
            .with_weights(&[1.0, f64::NAN]))
        .contains("NaN"));
        assert!(e(Erm::new(2, 1, 1, 0.1).unwrap().with_weights(&[0.0, 0.0]))
            .contains("all weights zero"));
        let empty = Erm::new(0, 1, 1, 0.1).expect("an empty share of rows");
        assert!(e(empty.with_reducer(&LOCAL)).contains("no rows"));
        assert!(e(Erm::new(2, 1, 1, 0.1).unwrap().with_l1(f64::INFINITY)).contains("l1"));
    }
}
