//! Tests of the margin heads: explicit gradients against finite differences (random
//! points, every ψ boundary kπ/m from both sides, near θ = 0 and θ = π), the identities
//! between heads, the two-class decision rules, and finite values at the edges.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

fn all_heads(s: f64) -> Vec<MarginHead> {
    let mut v = vec![MarginHead::Softmax, MarginHead::ModifiedSoftmax];
    for m in 1..=4 {
        v.push(MarginHead::LSoftmax { m });
        v.push(MarginHead::ASoftmax { m });
    }
    v.push(MarginHead::cosface(s, 0.35));
    v.push(MarginHead::arcface(s, 0.5));
    v.push(MarginHead::CombinedMargin {
        s,
        m1: 1.2,
        m2: 0.2,
        m3: 0.1,
    });
    v
}

fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect()
}

fn loss(head: MarginHead, x: &[f64], w: &[f64], y: &[u32], d: usize, lambda: f64) -> f64 {
    MarginLoss::<f64>::new(head)
        .unwrap()
        .compute(x, w, y, d, lambda, false)
        .unwrap()
}

/// Central differences in every coordinate of X and W against the explicit gradients.
fn check_fd(head: MarginHead, x: &[f64], w: &[f64], y: &[u32], d: usize, lambda: f64, what: &str) {
    let mut ml = MarginLoss::<f64>::new(head).unwrap();
    ml.compute(x, w, y, d, lambda, true).unwrap();
    let (gx, gw) = (ml.grad_features().to_vec(), ml.grad_weights().to_vec());
    let scale = gx.iter().chain(&gw).fold(1e-2f64, |m, v| m.max(v.abs()));
    let h = 1e-6;
    for (which, base, grad) in [("x", x, &gx), ("w", w, &gw)] {
        for k in 0..base.len() {
            let (mut p, mut m) = (base.to_vec(), base.to_vec());
            p[k] += h;
            m[k] -= h;
            let (lp, lm) = if which == "x" {
                (
                    loss(head, &p, w, y, d, lambda),
                    loss(head, &m, w, y, d, lambda),
                )
            } else {
                (
                    loss(head, x, &p, y, d, lambda),
                    loss(head, x, &m, y, d, lambda),
                )
            };
            let fd = (lp - lm) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() <= 1e-6 * scale.max(1.0) + 1e-6 * fd.abs(),
                "{head:?} {what}, λ={lambda}: ∂L/∂{which}[{k}] explicit {} vs finite difference {fd}",
                grad[k]
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences_at_random_points() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (n, d, k) = (5, 4, 3);
    for head in all_heads(4.0) {
        for lambda in [0.0, 2.5] {
            let x = random(&mut rng, n * d);
            let w = random(&mut rng, k * d);
            let y: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
            check_fd(head, &x, &w, &y, d, lambda, "random point");
        }
    }
}

/// x at angle θ from w (in the plane of w and a fixed orthogonal direction), with norm r.
fn at_angle(w: &[f64], theta: f64, r: f64) -> Vec<f64> {
    let nw = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let wh: Vec<f64> = w.iter().map(|v| v / nw).collect();
    // Gram–Schmidt a fixed vector against ŵ.
    let mut u: Vec<f64> = (0..w.len())
        .map(|i| if i % 2 == 0 { 1.0 } else { -0.5 })
        .collect();
    let dot: f64 = u.iter().zip(&wh).map(|(a, b)| a * b).sum();
    u.iter_mut().zip(&wh).for_each(|(a, b)| *a -= dot * b);
    let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    wh.iter()
        .zip(&u)
        .map(|(a, b)| r * (theta.cos() * a + theta.sin() * b / nu))
        .collect()
}

#[test]
fn gradients_match_finite_differences_at_psi_boundaries_and_extreme_angles() {
    let w = vec![0.8, -0.3, 0.5, 0.2, -0.6, 0.1];
    let d = 3;
    let y = [0u32];
    for m in 1..=4u32 {
        for head in [MarginHead::LSoftmax { m }, MarginHead::ASoftmax { m }] {
            let mut angles = vec![1e-3, PI - 1e-3];
            for j in 1..m {
                let b = j as f64 * PI / m as f64;
                angles.extend([b - 1e-4, b + 1e-4]);
            }
            for theta in angles {
                let x = at_angle(&w[..d], theta, 1.7);
                for lambda in [0.0, 1.0] {
                    check_fd(head, &x, &w, &y, d, lambda, &format!("θ = {theta:.5}"));
                }
            }
        }
    }
    for head in [
        MarginHead::cosface(4.0, 0.35),
        MarginHead::arcface(4.0, 0.5),
        MarginHead::ModifiedSoftmax,
    ] {
        for theta in [1e-2, 0.7, PI - 0.6, PI - 1e-2] {
            let x = at_angle(&w[..d], theta, 1.3);
            check_fd(head, &x, &w, &y, d, 0.0, &format!("θ = {theta:.5}"));
        }
    }
}

fn logits(head: MarginHead, x: &[f64], w: &[f64], y: &[u32], d: usize, lambda: f64) -> Vec<f64> {
    let mut ml = MarginLoss::<f64>::new(head).unwrap();
    ml.compute(x, w, y, d, lambda, false).unwrap();
    ml.logits().to_vec()
}

#[test]
fn margin_one_and_infinite_lambda_give_back_the_plain_heads() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (n, d, k) = (6, 5, 4);
    let x = random(&mut rng, n * d);
    let w = random(&mut rng, k * d);
    let y: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
    let close = |a: &[f64], b: &[f64], tol: f64| {
        a.iter()
            .zip(b)
            .all(|(p, q)| (p - q).abs() <= tol * (1.0 + q.abs()))
    };
    let soft = logits(MarginHead::Softmax, &x, &w, &y, d, 0.0);
    let modified = logits(MarginHead::ModifiedSoftmax, &x, &w, &y, d, 0.0);
    assert!(close(
        &logits(MarginHead::LSoftmax { m: 1 }, &x, &w, &y, d, 0.0),
        &soft,
        1e-12
    ));
    assert!(close(
        &logits(MarginHead::ASoftmax { m: 1 }, &x, &w, &y, d, 0.0),
        &modified,
        1e-12
    ));
    for m in 2..=4 {
        let l = logits(MarginHead::LSoftmax { m }, &x, &w, &y, d, 1e12);
        assert!(close(&l, &soft, 1e-10), "L-Softmax m={m}, λ → ∞");
        let a = logits(MarginHead::ASoftmax { m }, &x, &w, &y, d, 1e12);
        assert!(close(&a, &modified, 1e-10), "A-Softmax m={m}, λ → ∞");
        // And with λ = 0 the margin lowers every target logit (ψ(θ) ≤ cos θ).
        let l0 = logits(MarginHead::LSoftmax { m }, &x, &w, &y, d, 0.0);
        for i in 0..n {
            let t = i * k + y[i] as usize;
            assert!(l0[t] <= soft[t] + 1e-12);
        }
    }
    // CosFace with m = 0 is the normalized softmax s·cos θ; ArcFace with m = 0 too.
    let c = logits(MarginHead::cosface(3.0, 0.0), &x, &w, &y, d, 0.0);
    assert!(close(
        &logits(MarginHead::arcface(3.0, 0.0), &x, &w, &y, d, 0.0),
        &c,
        1e-12
    ));
}

#[test]
fn two_class_decision_rules_of_the_papers() {
    // Two classes; sample of class 0 (label 0). Decision boundary: the two logits are equal.
    let d = 2;
    let w1 = [1.0, 0.0];
    // Softmax: (w1 − w2)·x = 0 is where the logits meet.
    let w = [1.0, 0.0, 0.3, 0.8];
    let x = [0.8, 0.7]; // (w1 − w2)·x = 0.7·0.8 − 0.8·0.7 = 0
    let z = logits(MarginHead::Softmax, &x, &w, &[0], d, 0.0);
    assert!((z[0] - z[1]).abs() < 1e-12);
    // Modified softmax: ‖x‖(cos θ1 − cos θ2) = 0, i.e. x on the bisector of ŵ1, ŵ2.
    let w2 = [0.0, 2.0];
    let w = [w1[0], w1[1], w2[0], w2[1]];
    let x = [1.5, 1.5];
    let z = logits(MarginHead::ModifiedSoftmax, &x, &w, &[0], d, 0.0);
    assert!((z[0] - z[1]).abs() < 1e-12);
    // A-Softmax: ‖x‖(cos mθ1 − cos θ2) = 0 for class 1 (the target): with w1, w2 at an
    // angle α, the boundary lies at θ1 = α/(m+1) (mθ1 = θ2 = α − θ1).
    for m in 1..=4u32 {
        let alpha: f64 = 1.2;
        let w = [1.0, 0.0, alpha.cos(), alpha.sin()];
        let t1 = alpha / (m as f64 + 1.0);
        let x = [2.0 * t1.cos(), 2.0 * t1.sin()];
        let z = logits(MarginHead::ASoftmax { m }, &x, &w, &[0], d, 0.0);
        assert!((z[0] - z[1]).abs() < 1e-12, "m={m}: {z:?}");
        // A bit closer to w1 and class 1 wins; a bit further and it loses.
        let inside = [2.0 * (t1 - 0.01).cos(), 2.0 * (t1 - 0.01).sin()];
        let z = logits(MarginHead::ASoftmax { m }, &inside, &w, &[0], d, 0.0);
        assert!(z[0] > z[1]);
    }
}

#[test]
fn edge_cases_stay_finite() {
    let d = 3;
    let w = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]; // third class has ‖w‖ = 0
    let y = [0u32, 1, 2];
    let cases: Vec<(&str, Vec<f64>)> = vec![
        ("‖x‖ = 0", vec![0.0; 9]),
        (
            "cos θ = 1",
            vec![2.0, 0.0, 0.0, 0.0, 3.0, 0.0, 1.0, 1.0, 1.0],
        ),
        (
            "cos θ = −1",
            vec![-2.0, 0.0, 0.0, 0.0, -3.0, 0.0, 1.0, 1.0, 1.0],
        ),
        (
            "huge features",
            vec![1e6, 3e5, 0.0, -1e6, 2e6, 5.0, 1e6, 1e6, 1e6],
        ),
    ];
    let mut heads = all_heads(64.0);
    heads.push(MarginHead::arcface(1e4, 0.5));
    for head in heads {
        for (what, x) in &cases {
            let mut ml = MarginLoss::<f64>::new(head).unwrap();
            let l = ml.compute(x, &w, &y, d, 0.0, true).unwrap();
            let all = ml
                .logits()
                .iter()
                .chain(ml.grad_features())
                .chain(ml.grad_weights());
            assert!(
                l.is_finite() && all.clone().all(|v| v.is_finite()),
                "{head:?}, {what}"
            );
        }
    }
    // θ exactly on every boundary kπ/m.
    for m in 2..=4u32 {
        for j in 0..=m {
            let x = at_angle(&[1.0, 0.0, 0.0], j as f64 * PI / m as f64, 1.0);
            for head in [MarginHead::LSoftmax { m }, MarginHead::ASoftmax { m }] {
                let mut ml = MarginLoss::<f64>::new(head).unwrap();
                let l = ml.compute(&x, &w[..3], &[0], d, 0.0, true).unwrap();
                assert!(l.is_finite() && ml.grad_features().iter().all(|v| v.is_finite()));
            }
        }
    }
}

#[test]
fn f32_agrees_with_f64() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (n, d, k) = (8, 6, 5);
    let x = random(&mut rng, n * d);
    let w = random(&mut rng, k * d);
    let y: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
    let (x32, w32): (Vec<f32>, Vec<f32>) = (
        x.iter().map(|&v| v as f32).collect(),
        w.iter().map(|&v| v as f32).collect(),
    );
    for head in all_heads(8.0) {
        let mut a = MarginLoss::<f64>::new(head).unwrap();
        let mut b = MarginLoss::<f32>::new(head).unwrap();
        let la = a.compute(&x, &w, &y, d, 0.5, true).unwrap();
        let lb = b.compute(&x32, &w32, &y, d, 0.5, true).unwrap();
        assert!((la - lb).abs() < 1e-4 * la.abs().max(1.0), "{head:?}");
        for (p, q) in a.grad_weights().iter().zip(b.grad_weights()) {
            assert!((p - *q as f64).abs() < 1e-3, "{head:?}");
        }
    }
}

#[test]
fn bad_shapes_and_labels_are_errors() {
    let mut ml = MarginLoss::<f64>::new(MarginHead::Softmax).unwrap();
    let e = ml
        .compute(&[1.0; 5], &[1.0; 4], &[0, 1], 2, 0.0, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected 4, got 5"), "{e}");
    let e = ml
        .compute(&[1.0; 4], &[1.0; 4], &[0, 2], 2, 0.0, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label"), "{e}");
    let e = ml
        .compute(&[f64::NAN, 1.0], &[1.0; 4], &[0], 2, 0.0, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not finite"), "{e}");
}

#[test]
fn buffers_are_reused_between_calls() {
    let mut ml = MarginLoss::<f64>::new(MarginHead::arcface(8.0, 0.3)).unwrap();
    let (x, w) = (vec![0.5; 12], vec![0.25, -1.0, 0.5, 0.5, 1.0, 0.0]);
    ml.compute(&x, &w, &[0, 1, 0, 1], 3, 0.0, true).unwrap();
    let ptr = ml.logits().as_ptr();
    let first = ml.grad_weights().to_vec();
    ml.compute(&x, &w, &[0, 1, 0, 1], 3, 0.0, true).unwrap();
    assert_eq!(ptr, ml.logits().as_ptr());
    assert_eq!(first, ml.grad_weights());
}
