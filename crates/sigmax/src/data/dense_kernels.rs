//! The inner loops over dense f32 rows with f64 accumulation: x·w, out += αx, and the
//! same for a group of rows at once. Each uses AVX2 and fused multiply-adds when the CPU
//! has them (checked at run time, so the binary stays portable); the portable code is
//! written so that the compiler vectorizes it.
//!
//! A single dot product keeps eight lanes of partial sums, i.e. two dependency chains of
//! vector additions; when the row is in cache (softmax: K products per row) the
//! additions' latency, not memory, bounds it. The group versions work on R rows at once:
//! 2R independent chains, and each weight is loaded once per group instead of once per
//! row, with every row's sum formed in exactly the order of the single-row kernel, so
//! results are bit-identical to calling it row by row. (Widening a group's rows to f64
//! once and reusing them for every class measured slower: twice the bytes through L1.)

const LANES: usize = 8;

/// a·b + c: one fused multiply-add (one rounding) where the CPU has FMA, else a multiply
/// then an add. The two differ in the last bit; each machine always uses the same one.
trait MulAdd {
    fn madd(a: f64, b: f64, c: f64) -> f64;
}
struct Fused;
struct Unfused;
impl MulAdd for Fused {
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}
impl MulAdd for Unfused {
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

#[inline]
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
    #[allow(unreachable_code)]
    false
}

/// Σ_k x_k w_k over the common length.
#[inline]
pub(crate) fn dense_dot(x: &[f32], w: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has the features `avx2` compiles for.
        return unsafe { avx2::dot(x, w) };
    }
    dense_dot_portable::<Unfused>(x, w)
}

/// out += α·x over the common length.
#[inline]
pub(crate) fn dense_axpy(alpha: f64, x: &[f32], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: as above.
        return unsafe { avx2::axpy(alpha, x, out) };
    }
    dense_axpy_portable::<Unfused>(alpha, x, out)
}

/// [x_r·w for each row r], each over the first `w.len()` entries (every row must be at
/// least that long); equal to `dense_dot` row by row, bit for bit.
#[inline]
pub(crate) fn dense_dot_group<const R: usize>(xs: [&[f32]; R], w: &[f64]) -> [f64; R] {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: as above.
        return unsafe { avx2::dot_group(xs, w) };
    }
    dense_dot_group_portable::<R, Unfused>(xs, w)
}

/// out += Σ_r α_r·x_r over the first `out.len()` entries (every row must be at least that
/// long), adding the rows in order: equal to `dense_axpy` row by row, bit for bit.
#[inline]
pub(crate) fn dense_axpy_group<const R: usize>(alphas: [f64; R], xs: [&[f32]; R], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: as above.
        return unsafe { avx2::axpy_group(alphas, xs, out) };
    }
    dense_axpy_group_portable::<R, Unfused>(alphas, xs, out)
}

/// The portable kernels compiled with AVX2 and FMA enabled (and fused multiply-adds).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(x: &[f32], w: &[f64]) -> f64 {
        dense_dot_portable::<Fused>(x, w)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn axpy(alpha: f64, x: &[f32], out: &mut [f64]) {
        dense_axpy_portable::<Fused>(alpha, x, out)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_group<const R: usize>(xs: [&[f32]; R], w: &[f64]) -> [f64; R] {
        dense_dot_group_portable::<R, Fused>(xs, w)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn axpy_group<const R: usize>(alphas: [f64; R], xs: [&[f32]; R], out: &mut [f64]) {
        dense_axpy_group_portable::<R, Fused>(alphas, xs, out)
    }
}

#[inline(always)]
fn dense_dot_portable<M: MulAdd>(x: &[f32], w: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (xc, wc) = (x.chunks_exact(LANES), w.chunks_exact(LANES));
    let tail = xc
        .remainder()
        .iter()
        .zip(wc.remainder())
        .fold(0.0, |s, (&a, &b)| M::madd(a as f64, b, s));
    for (xs, ws) in xc.zip(wc) {
        for l in 0..LANES {
            acc[l] = M::madd(xs[l] as f64, ws[l], acc[l]);
        }
    }
    acc.iter().sum::<f64>() + tail
}

#[inline(always)]
fn dense_axpy_portable<M: MulAdd>(alpha: f64, x: &[f32], out: &mut [f64]) {
    for (o, &a) in out.iter_mut().zip(x) {
        *o = M::madd(alpha, a as f64, *o);
    }
}

#[inline(always)]
fn dense_dot_group_portable<const R: usize, M: MulAdd>(xs: [&[f32]; R], w: &[f64]) -> [f64; R] {
    let n = w.len();
    let full = n - n % LANES;
    let mut acc = [[0.0f64; LANES]; R];
    for c in (0..full).step_by(LANES) {
        let ws: &[f64; LANES] = w[c..c + LANES].try_into().unwrap();
        for r in 0..R {
            let x: &[f32; LANES] = xs[r][c..c + LANES].try_into().unwrap();
            for l in 0..LANES {
                acc[r][l] = M::madd(x[l] as f64, ws[l], acc[r][l]);
            }
        }
    }
    let mut out = [0.0; R];
    for r in 0..R {
        // The same association as `dense_dot_portable`: lanes summed, then the tail.
        let tail = xs[r][full..n]
            .iter()
            .zip(&w[full..])
            .fold(0.0, |s, (&a, &b)| M::madd(a as f64, b, s));
        out[r] = acc[r].iter().sum::<f64>() + tail;
    }
    out
}

#[inline(always)]
fn dense_axpy_group_portable<const R: usize, M: MulAdd>(
    alphas: [f64; R],
    xs: [&[f32]; R],
    out: &mut [f64],
) {
    let n = out.len();
    let full = n - n % LANES;
    for c in (0..full).step_by(LANES) {
        let o: &mut [f64; LANES] = (&mut out[c..c + LANES]).try_into().unwrap();
        let mut v = *o;
        for r in 0..R {
            let x: &[f32; LANES] = xs[r][c..c + LANES].try_into().unwrap();
            for l in 0..LANES {
                v[l] = M::madd(alphas[r], x[l] as f64, v[l]);
            }
        }
        *o = v;
    }
    for k in full..n {
        let mut v = out[k];
        for r in 0..R {
            v = M::madd(alphas[r], xs[r][k] as f64, v);
        }
        out[k] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_kernels_equal_the_single_row_ones_bit_for_bit() {
        for n in [0, 1, 7, 8, 9, 31, 100] {
            let rows: Vec<Vec<f32>> = (0..4)
                .map(|r| {
                    (0..n + r)
                        .map(|k| ((k * 7 + r * 3) % 11) as f32 / 3.0 - 1.5)
                        .collect()
                })
                .collect();
            let w: Vec<f64> = (0..n).map(|k| ((k * 5) % 13) as f64 / 7.0 - 0.9).collect();
            let xs = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
            let got = dense_dot_group(xs, &w);
            for r in 0..4 {
                assert_eq!(
                    got[r].to_bits(),
                    dense_dot(&xs[r][..n], &w).to_bits(),
                    "dot n={n} row {r}"
                );
            }
            let alphas = [0.3, -1.7, 2.2, 0.01];
            let (mut a, mut b) = (w.clone(), w.clone());
            dense_axpy_group(alphas, xs, &mut a);
            for r in 0..4 {
                dense_axpy(alphas[r], &xs[r][..n], &mut b);
            }
            assert!(
                a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()),
                "axpy n={n}"
            );
            // The portable (no FMA) path, as on CPUs without AVX2.
            let got = dense_dot_group_portable::<4, Unfused>(xs, &w);
            for r in 0..4 {
                assert_eq!(
                    got[r].to_bits(),
                    dense_dot_portable::<Unfused>(&xs[r][..n], &w).to_bits()
                );
                let exact: f64 = xs[r][..n].iter().zip(&w).map(|(&x, &v)| x as f64 * v).sum();
                assert!((got[r] - exact).abs() < 1e-12, "portable dot n={n}");
            }
            let (mut a, mut b) = (w.clone(), w.clone());
            dense_axpy_group_portable::<4, Unfused>(alphas, xs, &mut a);
            for r in 0..4 {
                dense_axpy_portable::<Unfused>(alphas[r], &xs[r][..n], &mut b);
            }
            assert!(
                a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()),
                "portable axpy n={n}"
            );
        }
    }
}
