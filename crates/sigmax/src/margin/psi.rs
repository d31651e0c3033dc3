//! ψ_m(θ) = (−1)^k cos(mθ) − 2k for θ ∈ [kπ/m, (k+1)π/m], k ∈ {0, …, m−1}
//! (Liu et al., "Large-Margin Softmax Loss", ICML 2016, eq. 6), written as a polynomial
//! in c = cos θ so that no acos is needed: cos(mθ) = T_m(c), the Chebyshev polynomial of
//! the first kind, and k is found by comparing c with cos(jπ/m). Works for any m ≥ 1.

use std::f64::consts::PI;

/// ψ_m as a function of c = cos θ, for one integer margin m.
#[derive(Debug, Clone)]
pub struct Psi {
    m: u32,
    /// cos(jπ/m) for j = 1..m−1, decreasing.
    bounds: Vec<f64>,
}

impl Psi {
    /// ψ for the integer margin m (1 ≤ m ≤ [`super::MAX_INTEGER_MARGIN`]).
    pub fn new(m: u32) -> crate::Result<Psi> {
        if !(1..=super::MAX_INTEGER_MARGIN).contains(&m) {
            return Err(crate::Error::InvalidParameter {
                name: "margin",
                value: m.to_string(),
                expected: "an integer 1–16",
            });
        }
        Ok(Psi {
            m,
            bounds: (1..m).map(|j| (j as f64 * PI / m as f64).cos()).collect(),
        })
    }

    pub fn margin(&self) -> u32 {
        self.m
    }

    /// The segment k with θ ∈ [kπ/m, (k+1)π/m].
    #[inline]
    pub fn segment(&self, c: f64) -> u32 {
        self.bounds.iter().take_while(|&&b| c < b).count() as u32
    }

    /// (ψ, dψ/dc) at c = cos θ (clamped to [−1, 1]).
    #[inline]
    pub fn value_and_slope(&self, c: f64) -> (f64, f64) {
        let c = c.clamp(-1.0, 1.0);
        let k = self.segment(c);
        let (t, dt) = chebyshev_t(self.m, c);
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        (sign * t - 2.0 * k as f64, sign * dt)
    }
}

/// (T_m(c), T_m'(c)) by the three-term recurrences T_{n+1} = 2cT_n − T_{n−1} and
/// U_{n+1} = 2cU_n − U_{n−1}, with T_m' = m·U_{m−1}.
#[inline]
pub fn chebyshev_t(m: u32, c: f64) -> (f64, f64) {
    let (mut t0, mut t1) = (1.0, c);
    let (mut u0, mut u1) = (1.0, 2.0 * c); // U_0, U_1
    if m == 0 {
        return (1.0, 0.0);
    }
    for _ in 1..m {
        (t0, t1) = (t1, 2.0 * c * t1 - t0);
        (u0, u1) = (u1, 2.0 * c * u1 - u0);
    }
    // After the loop t1 = T_m and u0 = U_{m−1}.
    (t1, m as f64 * u0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chebyshev_is_cos_of_multiple_angle() {
        for m in 1..=8 {
            for i in 0..=100 {
                let th = i as f64 * PI / 100.0;
                let (t, dt) = chebyshev_t(m, th.cos());
                assert!((t - (m as f64 * th).cos()).abs() < 1e-12, "T_{m}");
                // d cos(mθ)/dc = m sin(mθ)/sin θ.
                if th.sin() > 1e-3 {
                    let want = m as f64 * (m as f64 * th).sin() / th.sin();
                    assert!(
                        (dt - want).abs() < 1e-9 * want.abs().max(1.0),
                        "T_{m}' at θ={th}"
                    );
                }
            }
        }
    }

    #[test]
    fn psi_matches_its_definition_and_the_caffe_polynomials() {
        for m in 1..=6u32 {
            let psi = Psi::new(m).unwrap();
            for i in 0..=1000 {
                let th = i as f64 * PI / 1000.0;
                let k = ((th * m as f64 / PI).floor() as u32).min(m - 1);
                let want =
                    if k % 2 == 0 { 1.0 } else { -1.0 } * (m as f64 * th).cos() - 2.0 * k as f64;
                assert!(
                    (psi.value_and_slope(th.cos()).0 - want).abs() < 1e-9,
                    "m={m} θ={th}"
                );
            }
        }
        // The original layer's closed forms (m = 2, 3, 4) in terms of sign tests.
        let sign = |v: f64| (v > 0.0) as i32 as f64 - (v < 0.0) as i32 as f64;
        for i in 0..=200 {
            let c = -1.0 + i as f64 * 0.01 + 1e-7;
            let c = c.min(1.0);
            let s0 = sign(c);
            let p2 = 2.0 * s0 * c * c - 1.0;
            let s1 = sign(c.abs() - 0.5);
            let s2 = s0 * (1.0 + s1) - 2.0;
            let p3 = s1 * (4.0 * c.powi(3) - 3.0 * c) + s2;
            let s3 = s0 * sign(2.0 * c * c - 1.0);
            let s4 = 2.0 * s0 + s3 - 3.0;
            let p4 = s3 * (8.0 * c.powi(4) - 8.0 * c * c + 1.0) + s4;
            for (m, want) in [(2, p2), (3, p3), (4, p4)] {
                assert!(
                    (Psi::new(m).unwrap().value_and_slope(c).0 - want).abs() < 1e-9,
                    "m={m} c={c}"
                );
            }
        }
    }

    #[test]
    fn psi_is_continuous_and_decreasing_in_theta() {
        for m in 1..=4u32 {
            let psi = Psi::new(m).unwrap();
            let n = 200_000;
            let mut prev = psi.value_and_slope(1.0).0;
            assert_eq!(prev, 1.0);
            for i in 1..=n {
                let v = psi.value_and_slope((i as f64 * PI / n as f64).cos()).0;
                assert!(v <= prev + 1e-12, "m={m}: ψ increases at step {i}");
                assert!(prev - v < 1e-3, "m={m}: ψ jumps at step {i} ({prev} → {v})");
                prev = v;
            }
            assert!(
                (prev - (-(2.0 * m as f64) + 1.0)).abs() < 1e-9,
                "ψ(π) = 1 − 2m"
            );
        }
    }
}
