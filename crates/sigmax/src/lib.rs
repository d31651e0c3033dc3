//! # sigmax
//!
//! Probabilistic linear classification: binary logistic regression, softmax regression
//! and the linear SVM, with second-order and stochastic solvers.
//!
//! The layers, each usable alone:
//! - [`data`]: LIBSVM, CSV and IDX files into a [`data::Dataset`] (dense or CSR features);
//! - [`loss`]: pointwise losses, stable from the linear score;
//! - [`objective`]: regularized mean losses with value, gradient and Hessian-vector product;
//! - [`solver`]: trust-region Newton, L-BFGS, gradient descent, SGD, generic over objectives;
//! - [`model`]: trained weights, prediction and the versioned model file;
//! - [`train`]: options with sensible defaults → a fitted model and a convergence report;
//! - [`fit`]: the one entry point: checked [`fit::Settings`], one process or many
//!   through a [`collective::Collective`];
//! - [`metrics`]: accuracy, log loss, ROC AUC, confusion matrix.
//!
//! ```
//! use sigmax::{data, train};
//! let d = data::parse_libsvm(b"1 1:1\n-1 1:-1\n1 1:0.5\n-1 1:-2\n", "inline".as_ref(), false, 10).unwrap();
//! let fit = train::train(&d, &train::TrainOptions::default(), None).unwrap();
//! assert!(fit.report.converged);
//! assert_eq!(fit.model.predict(&d.x), d.y);
//! ```

pub mod atomic;
pub mod collective;
pub mod cv;
pub mod data;
pub mod datasets;
pub mod error;
pub mod fit;
pub mod input;
pub mod limits;
pub mod linalg;
pub mod loss;
pub mod margin;
pub mod metrics;
pub mod model;
pub mod names;
pub mod objective;
pub mod solver;
pub mod sum;
pub mod train;
mod vector;

pub use error::{Error, Result};
