//! Sums of doubles whose result does not depend on the order of the terms or on how they
//! are grouped: each term is split into three integer pieces on a grid fixed by the
//! largest term's exponent, and the pieces are summed exactly.
//!
//! The scheme is the "binned" summation of Demmel & Nguyen (Parallel Reproducible
//! Summation, IEEE Trans. Computers 64(7), 2015, the method of ReproBLAS), written here
//! with plain round-to-nearest extraction: bin b holds integer multiples of 2^(b·W);
//! a term x with |x| < 2^((I+1)·W − 1) is split into round(x / 2^(I·W)) and two more
//! pieces from the remainders, each at most 2^(W−1) in magnitude, and the rest (below
//! 2^((I−2)·W), at least 2·W − 1 = 71 bits under the largest term) is dropped. A piece
//! depends only on the term and the index I, and when a larger term raises I the
//! lowest bins, which the new grid would have dropped anyway, fall away, while the
//! terms already held have no piece in the new top bins. So the bins hold the same
//! integers whatever the order, and integers below 2^53 add exactly in doubles, in any
//! order, on one process or in an MPI allreduce.
//!
//! Non-finite terms are kept in the top bin, where they make the sum NaN or ±∞ as
//! IEEE addition would.

/// Bits per bin. Pieces are ≤ 2^(W−1), so 2^(53−W+1) = 2^18 terms (262,144) sum
/// exactly; sums in this crate take one term per block of rows (see [`super::MAX_BLOCKS`]).
const W: i32 = 36;
/// Round-to-nearest for |y| < 2^51: (y + M) − M.
const ROUNDER: f64 = 6755399441055744.0; // 1.5 · 2^52
const EMPTY: i32 = i32::MIN;

/// One exact, order-free sum. Add terms with [`Binned::add`], join partial sums with
/// [`Binned::merge`], read it with [`Binned::value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Binned {
    /// The units are 2^(index·W), 2^((index−1)·W), 2^((index−2)·W).
    bins: [f64; 3],
    index: i32,
}

impl Default for Binned {
    fn default() -> Self {
        Binned::ZERO
    }
}

impl Binned {
    pub const ZERO: Binned = Binned {
        bins: [0.0; 3],
        index: EMPTY,
    };

    /// The sum of one term (exactly that term: see [`Binned::value`]).
    pub fn of(x: f64) -> Binned {
        let mut b = Binned::ZERO;
        b.add(x);
        b
    }

    #[inline]
    pub fn add(&mut self, x: f64) {
        if x == 0.0 {
            return;
        }
        if !x.is_finite() {
            self.bins[0] += x;
            return;
        }
        let needed = index_of(x);
        if needed > self.index {
            self.raise(needed);
        }
        let mut y = scale(x, -self.index * W);
        for bin in &mut self.bins {
            let piece = (y + ROUNDER) - ROUNDER;
            *bin += piece;
            y = (y - piece) * TWO_W;
        }
    }

    /// Adds another sum (of other terms) to this one.
    pub fn merge(&mut self, other: &Binned) {
        if !other.bins[0].is_finite() {
            self.bins[0] += other.bins[0];
        }
        if other.index == EMPTY {
            return;
        }
        let mut other = *other;
        if other.index < self.index {
            other.raise(self.index);
        } else if other.index > self.index {
            self.raise(other.index);
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            if b.is_finite() {
                *a += b;
            }
        }
    }

    /// The grid index (for the max-reduction that aligns processes' sums).
    pub fn index(&self) -> i32 {
        self.index
    }

    /// Moves to a coarser grid (`index` ≥ the current one): the same as if a term that
    /// needs `index` had been added first.
    pub fn raise(&mut self, index: i32) {
        if index <= self.index {
            return;
        }
        let special = (!self.bins[0].is_finite()).then_some(self.bins[0]);
        let shift = if self.index == EMPTY {
            3
        } else {
            (index - self.index).min(3) as usize
        };
        let old = self.bins;
        self.bins = [0.0; 3];
        self.bins[shift..].copy_from_slice(&old[..3 - shift]);
        if let Some(s) = special {
            self.bins[0] = s;
            if shift < 3 {
                self.bins[shift] = 0.0;
            }
        }
        self.index = index;
    }

    /// The bins, for an exact element-wise sum across processes (after every process
    /// raised its sum to the common index).
    pub fn bins(&self) -> [f64; 3] {
        self.bins
    }

    /// Sets the bins summed across processes (see [`Binned::bins`]).
    pub fn set_bins(&mut self, bins: [f64; 3]) {
        self.bins = bins;
    }

    /// The sum, correctly rounded from the exact sum of the pieces. A single term comes
    /// back exactly (its pieces are all of it), -0.0 as +0.0.
    pub fn value(&self) -> f64 {
        if !self.bins[0].is_finite() {
            return self.bins[0];
        }
        if self.index == EMPTY {
            return 0.0;
        }
        // |bins| < 2^53 each, so the integer is below 2^(53 + 2W + 1) = 2^126.
        let [hi, mid, lo] = self.bins.map(|b| b as i128);
        let total = (hi << (2 * W)) + (mid << W) + lo;
        scale(total as f64, (self.index - 2) * W)
    }
}

const TWO_W: f64 = (1u64 << W) as f64;

/// The smallest I with |x| < 2^((I+1)·W − 1), for finite x ≠ 0.
#[inline]
fn index_of(x: f64) -> i32 {
    let bits = x.to_bits();
    let field = ((bits >> 52) & 0x7ff) as i32;
    // |x| ∈ [2^e, 2^(e+1)).
    let e = if field == 0 {
        let mantissa = bits & ((1u64 << 52) - 1);
        63 - mantissa.leading_zeros() as i32 - 1074
    } else {
        field - 1023
    };
    (e + 1).div_euclid(W)
}

/// x · 2^k, exactly where the result is a normal number, in two steps so that neither
/// power of two overflows (|k| ≤ 1080 here).
#[inline]
fn scale(x: f64, k: i32) -> f64 {
    let half = k / 2;
    x * pow2(half) * pow2(k - half)
}

#[inline]
fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_in_order(terms: &[f64]) -> Binned {
        let mut b = Binned::ZERO;
        terms.iter().for_each(|&x| b.add(x));
        b
    }

    /// A tiny deterministic generator (xorshift64*).
    fn terms(seed: u64, n: usize, spread: i32) -> Vec<f64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                let r = s.wrapping_mul(0x2545F4914F6CDD1D);
                let mantissa = (r >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let e = (r % (2 * spread as u64 + 1)) as i32 - spread;
                mantissa * 2f64.powi(e)
            })
            .collect()
    }

    #[test]
    fn a_single_term_comes_back_exactly() {
        for x in [
            1.0,
            -3.75,
            0.1,
            1e300,
            -2.5e-310,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -f64::MAX,
            123_456_789.123_456_79,
        ] {
            assert_eq!(Binned::of(x).value().to_bits(), x.to_bits(), "{x}");
        }
        assert_eq!(Binned::of(-0.0).value().to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn any_order_and_any_grouping_give_the_same_bits() {
        for spread in [0, 10, 60, 300] {
            let t = terms(spread as u64 + 7, 1000, spread);
            let forward = sum_in_order(&t).value();
            let mut reversed = t.clone();
            reversed.reverse();
            assert_eq!(sum_in_order(&reversed).value().to_bits(), forward.to_bits());
            let mut sorted = t.clone();
            sorted.sort_by(|a, b| a.abs().partial_cmp(&b.abs()).unwrap());
            assert_eq!(sum_in_order(&sorted).value().to_bits(), forward.to_bits());
            // Groups of uneven sizes, merged in a shuffled order.
            let mut groups: Vec<Binned> = t.chunks(37).map(sum_in_order).collect();
            groups.swap(0, 5);
            groups.reverse();
            let mut merged = Binned::ZERO;
            groups.iter().for_each(|g| merged.merge(g));
            assert_eq!(
                merged.value().to_bits(),
                forward.to_bits(),
                "spread {spread}"
            );
        }
    }

    #[test]
    fn the_sum_is_exact_where_double_sums_are_not() {
        // 1e16 + 1 − 1e16 is 0 in doubles summed left to right.
        assert_eq!(sum_in_order(&[1e16, 1.0, -1e16]).value(), 1.0);
        let tiny = 2f64.powi(-60);
        assert_eq!(sum_in_order(&[1.0, tiny, -1.0]).value(), tiny);
        // Terms more than 71 bits under the largest are rounded to its grid.
        assert_eq!(sum_in_order(&[1.0, 1e-30, -1.0]).value(), 0.0);
        // Against an exact integer sum: multiples of 2^-20 below 2^30.
        let t: Vec<f64> = terms(3, 5000, 0)
            .iter()
            .map(|x| (x * 2f64.powi(50)).round() / 2f64.powi(20))
            .collect();
        let exact: i128 = t.iter().map(|x| (x * 2f64.powi(20)) as i128).sum();
        assert_eq!(sum_in_order(&t).value(), exact as f64 / 2f64.powi(20));
    }

    #[test]
    fn a_larger_term_later_gives_what_it_would_have_given_first() {
        let small = terms(11, 200, 5);
        let mut first = Binned::of(1e40);
        small.iter().for_each(|&x| first.add(x));
        let mut last = sum_in_order(&small);
        last.add(1e40);
        assert_eq!(first, last);
        assert_eq!(first.value(), 1e40);
    }

    #[test]
    fn raising_then_summing_bins_is_merging() {
        // What processes do: raise to the common index, add the bins element-wise.
        let (a, b) = (
            sum_in_order(&terms(5, 300, 40)),
            sum_in_order(&terms(6, 300, 3)),
        );
        let common = a.index().max(b.index());
        let (mut ra, mut rb) = (a, b);
        ra.raise(common);
        rb.raise(common);
        let mut summed = ra;
        let bins: Vec<f64> = ra
            .bins()
            .iter()
            .zip(rb.bins())
            .map(|(x, y)| x + y)
            .collect();
        summed.set_bins([bins[0], bins[1], bins[2]]);
        let mut merged = a;
        merged.merge(&b);
        assert_eq!(summed.value().to_bits(), merged.value().to_bits());
    }

    #[test]
    fn non_finite_terms_win_in_any_order() {
        let mut a = sum_in_order(&[1.0, f64::INFINITY, 1e300]);
        assert_eq!(a.value(), f64::INFINITY);
        a.add(f64::NEG_INFINITY);
        assert!(a.value().is_nan());
        let mut b = Binned::of(f64::INFINITY);
        b.add(1e-300); // raises the index from empty: the infinity stays
        b.add(1e300);
        assert_eq!(b.value(), f64::INFINITY);
        let mut c = Binned::of(2.0);
        c.merge(&Binned::of(f64::NAN));
        assert!(c.value().is_nan());
    }
}
