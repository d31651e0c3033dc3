//! Data embedded in the library, so examples and the quick start need no download.

use crate::data::{parse_libsvm, Dataset};

/// Statlog (Heart) as shipped with LIBSVM/LIBLINEAR (`heart_scale`): 270 patients,
/// 13 features scaled to [−1, 1]; label +1 = heart disease present (120), −1 = absent (150).
/// Source: UCI Statlog (Heart) data set.
pub const HEART_SCALE: &str = include_str!("../data/heart_scale");

/// The meaning of each heart_scale feature, in column order (UCI Statlog documentation).
pub const HEART_FEATURES: [&str; 13] = [
    "age",
    "sex",
    "chest pain type",
    "resting blood pressure",
    "serum cholesterol",
    "fasting blood sugar > 120 mg/dl",
    "resting ECG results",
    "maximum heart rate",
    "exercise-induced angina",
    "ST depression (oldpeak)",
    "slope of peak exercise ST",
    "major vessels coloured",
    "thal",
];

/// The heart_scale data set, parsed.
pub fn heart_scale() -> Dataset {
    parse_libsvm(
        HEART_SCALE.as_bytes(),
        "heart_scale (embedded)".as_ref(),
        false,
        13,
    )
    .expect("the embedded heart_scale parses")
}

/// A reproducible 2-D toy set: `n_per_class` points around each center, Gaussian with
/// standard deviation `spread`; classes named "0", "1", ….
pub fn blobs(n_per_class: usize, centers: &[(f64, f64)], spread: f64, seed: u64) -> Dataset {
    use crate::data::{DenseMatrix, Features};
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Box–Muller from two uniforms.
    let mut gauss = || {
        let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let (mut data, mut y) = (Vec::new(), Vec::new());
    for (c, &(cx, cy)) in centers.iter().enumerate() {
        for _ in 0..n_per_class {
            data.push((cx + spread * gauss()) as f32);
            data.push((cy + spread * gauss()) as f32);
            y.push(c as u32);
        }
    }
    Dataset {
        x: Features::Dense(DenseMatrix::from_parts(y.len(), 2, data)),
        y,
        classes: (0..centers.len()).map(|c| c.to_string()).collect(),
        weights: None,
        feature_names: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn heart_scale_has_the_documented_shape() {
        let d = super::heart_scale();
        assert_eq!((d.n_rows(), d.n_features()), (270, 13));
        assert_eq!(d.classes, vec!["-1", "1"]);
        assert_eq!(d.class_counts(), vec![150, 120]);
    }
}
