//! Algebra on parameter-sized vectors (dot products, norms, the solvers' updates),
//! parallel over fixed chunks so that every result has the same bits whatever the number
//! of threads (and so on every process of a distributed fit).
//!
//! Why it matters: a Newton-CG step on the 160,873-column text set does four sweeps over
//! five such vectors per Hessian-vector product; summed on one thread in one dependency
//! chain they cost ~1 ms against the product's ~2 ms (measured 2026-12-06, text_bin: 25
//! products, 56 ms; vector algebra 37 ms).

use rayon::prelude::*;

/// Elements per chunk. A sum adds its chunks' partial sums in chunk order; within a
/// chunk it keeps four partial sums by position (one chain would be bound by the adder's
/// latency), so vectors up to one chunk long are summed exactly as before chunking.
pub(crate) const CHUNK: usize = 1 << 13;

/// Below this length the chunks are done on the calling thread: handing work to the
/// pool costs microseconds, more than a sweep over 64k doubles in cache.
const PARALLEL_FROM: usize = 1 << 16;

/// The chunk count below which rayon must not split (all of them: run inline).
fn min_len(n: usize) -> usize {
    if n >= PARALLEL_FROM {
        1
    } else {
        usize::MAX
    }
}

/// Adds chunk partial sums in chunk order.
fn total(parts: impl IntoIterator<Item = f64>) -> f64 {
    parts.into_iter().fold(0.0, |acc, p| acc + p)
}

/// Σ_k term(a_k, b_k, c_k) in four partial sums by position (one chunk).
#[inline]
fn sum4(a: &[f64], b: &[f64], c: &[f64], term: impl Fn(f64, f64, f64) -> f64) -> f64 {
    let mut s = [0.0; 4];
    let (ca, cb, cc) = (a.chunks_exact(4), b.chunks_exact(4), c.chunks_exact(4));
    let (ra, rb, rc) = (ca.remainder(), cb.remainder(), cc.remainder());
    for ((x, y), z) in ca.zip(cb).zip(cc) {
        for k in 0..4 {
            s[k] += term(x[k], y[k], z[k]);
        }
    }
    let tail: f64 = ra
        .iter()
        .zip(rb)
        .zip(rc)
        .map(|((&x, &y), &z)| term(x, y, z))
        .sum();
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// Σ_k term(a_k, b_k, c_k).
pub(crate) fn dot3_by(
    a: &[f64],
    b: &[f64],
    c: &[f64],
    term: impl Fn(f64, f64, f64) -> f64 + Sync,
) -> f64 {
    assert!(a.len() == b.len() && a.len() == c.len());
    if a.len() <= CHUNK {
        return sum4(a, b, c, term);
    }
    let parts: Vec<f64> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .zip(c.par_chunks(CHUNK))
        .with_min_len(min_len(a.len()))
        .map(|((x, y), z)| sum4(x, y, z, &term))
        .collect();
    total(parts)
}

/// Σ_k term(a_k, b_k).
pub(crate) fn dot_by(a: &[f64], b: &[f64], term: impl Fn(f64, f64) -> f64 + Sync) -> f64 {
    dot3_by(a, b, b, |x, y, _| term(x, y))
}

/// aᵀb.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    dot_by(a, b, |x, y| x * y)
}

/// ‖v‖².
pub(crate) fn sq_norm(v: &[f64]) -> f64 {
    dot_by(v, v, |x, _| x * x)
}

/// ‖v‖.
pub(crate) fn norm(v: &[f64]) -> f64 {
    sq_norm(v).sqrt()
}

/// out_k = f(out_k, a_k, b_k) for every k.
pub(crate) fn update_by(
    out: &mut [f64],
    a: &[f64],
    b: &[f64],
    f: impl Fn(f64, f64, f64) -> f64 + Sync,
) {
    assert!(out.len() == a.len() && out.len() == b.len());
    let n = out.len();
    let one = |(o, (x, y)): (&mut [f64], (&[f64], &[f64]))| {
        for ((ok, &xk), &yk) in o.iter_mut().zip(x).zip(y) {
            *ok = f(*ok, xk, yk);
        }
    };
    if n <= CHUNK {
        one((out, (a, b)));
        return;
    }
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .with_min_len(min_len(n))
        .for_each(one);
}

/// out_k = f(out_k, a_k) for every k.
pub(crate) fn update_with(out: &mut [f64], a: &[f64], f: impl Fn(f64, f64) -> f64 + Sync) {
    update_by(out, a, a, |o, x, _| f(o, x));
}

/// The conjugate-gradient step s += α·d, r −= α·hd in one sweep, returning
/// Σ_k term(r_k, m_k) over the new r (e.g. rᵀM⁻¹r with a diagonal M).
pub(crate) fn cg_step_by(
    alpha: f64,
    (s, d): (&mut [f64], &[f64]),
    (r, hd): (&mut [f64], &[f64]),
    m: &[f64],
    term: impl Fn(f64, f64) -> f64 + Sync,
) -> f64 {
    let n = s.len();
    assert!(d.len() == n && r.len() == n && hd.len() == n && m.len() == n);
    let one = |((sc, dc), (rc, hc)): ((&mut [f64], &[f64]), (&mut [f64], &[f64])), mc: &[f64]| {
        for (sk, &dk) in sc.iter_mut().zip(dc) {
            *sk += alpha * dk;
        }
        for (rk, &hk) in rc.iter_mut().zip(hc) {
            *rk -= alpha * hk;
        }
        sum4(rc, mc, mc, |x, y, _| term(x, y))
    };
    if n <= CHUNK {
        return one(((s, d), (r, hd)), m);
    }
    let parts: Vec<f64> = s
        .par_chunks_mut(CHUNK)
        .zip(d.par_chunks(CHUNK))
        .zip(r.par_chunks_mut(CHUNK).zip(hd.par_chunks(CHUNK)))
        .zip(m.par_chunks(CHUNK))
        .with_min_len(min_len(n))
        .map(|(sr, mc)| one(sr, mc))
        .collect();
    total(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, phase: f64) -> Vec<f64> {
        (0..n)
            .map(|k| ((k as f64) * 0.37 + phase).sin() * (1.0 + (k % 7) as f64))
            .collect()
    }

    /// The reference: chunk partials, each in four lanes by position, added in order.
    fn by_chunks(a: &[f64], b: &[f64]) -> f64 {
        let mut acc = 0.0;
        for (x, y) in a.chunks(CHUNK).zip(b.chunks(CHUNK)) {
            let mut s = [0.0; 4];
            let full = x.len() / 4 * 4;
            for k in 0..full {
                s[k % 4] += x[k] * y[k];
            }
            let tail: f64 = (full..x.len()).map(|k| x[k] * y[k]).sum();
            acc += (s[0] + s[1]) + (s[2] + s[3]) + tail;
        }
        acc
    }

    #[test]
    fn sums_have_the_bits_of_ordered_chunks_on_any_thread_count() {
        for n in [
            0,
            3,
            17,
            CHUNK,
            CHUNK + 5,
            PARALLEL_FROM - 1,
            PARALLEL_FROM + 4099,
        ] {
            let (a, b) = (wave(n, 0.1), wave(n, 1.3));
            let want = by_chunks(&a, &b);
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let got = pool.install(|| dot(&a, &b));
                assert_eq!(got.to_bits(), want.to_bits(), "n {n}, {threads} threads");
                let got3 = pool.install(|| dot3_by(&a, &b, &a, |x, y, _| x * y));
                assert_eq!(got3.to_bits(), want.to_bits(), "n {n}, {threads} threads");
            }
            assert_eq!(sq_norm(&a).to_bits(), by_chunks(&a, &a).to_bits());
        }
    }

    #[test]
    fn the_cg_step_updates_both_vectors_and_sums_the_new_residual() {
        for n in [5, CHUNK + 3, PARALLEL_FROM + 11] {
            let (d, hd, m) = (wave(n, 0.2), wave(n, 0.9), wave(n, 2.0));
            let m: Vec<f64> = m.iter().map(|v| 1.5 + v.abs()).collect();
            let (mut s, mut r) = (wave(n, 0.5), wave(n, 0.7));
            let (mut s2, mut r2) = (s.clone(), r.clone());
            let rz = cg_step_by(0.25, (&mut s, &d), (&mut r, &hd), &m, |x, mk| x * (x / mk));
            update_with(&mut s2, &d, |sk, dk| sk + 0.25 * dk);
            update_with(&mut r2, &hd, |rk, hk| rk - 0.25 * hk);
            assert_eq!((s.clone(), r.clone()), (s2, r2));
            let want = dot_by(&r, &m, |x, mk| x * (x / mk));
            assert_eq!(rz.to_bits(), want.to_bits());
        }
    }
}
