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
    parse_libsvm(HEART_SCALE.as_bytes(), "heart_scale (embedded)".as_ref(), false, 13)
        .expect("the embedded heart_scale parses")
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
