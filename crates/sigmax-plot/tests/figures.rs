//! Every figure renders a valid, non-trivial PNG of the declared size and an SVG holding
//! its series and labels; bad inputs give clear errors.

use sigmax::datasets::{blobs, heart_scale};
use sigmax::metrics::confusion_matrix;
use sigmax::model::ModelKind;
use sigmax::train::{train, ModelChoice, TrainOptions};
use sigmax_plot::*;
use std::collections::HashSet;
use std::path::Path;

/// Renders as PNG and SVG; checks size and colors of the PNG and the SVG's texts.
fn check(fig: &impl Figure, name: &str, svg_needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join(format!("{name}.png"));
    render(fig, &png).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), fig.size(), "{name}: PNG size");
    let colors: HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(
        colors.len() > 20,
        "{name}: only {} colors, the picture is (nearly) blank",
        colors.len()
    );
    // Text was rendered: some pixels are dark gray/black (axis labels, captions).
    assert!(
        img.pixels().filter(|p| p.0.iter().all(|&c| c < 60)).count() > 500,
        "{name}: no text or axes"
    );
    let svg = dir.path().join(format!("{name}.svg"));
    render(fig, &svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
        "{name}: not an SVG document"
    );
    for n in svg_needles {
        assert!(text.contains(n), "{name}: the SVG lacks {n:?}");
    }
    // SVG text names the embedded font first and a generic fallback.
    assert!(
        text.contains(r#"font-family="DejaVu Sans, sans-serif""#),
        "{name}: SVG font"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "{name}: temporary files left behind: {files:?}"
    );
}

#[test]
fn losses_and_psi() {
    check(
        &LossesFigure,
        "losses",
        &[
            "0-1",
            "hinge",
            "logistic log₂",
            "logistic ln",
            "exponential",
            "margin y·wᵀx",
            "polyline",
        ],
    );
    check(
        &PsiFigure::default(),
        "psi",
        &[
            "ψ, m = 2",
            "ψ, m = 3",
            "ψ, m = 4",
            "CosFace",
            "ArcFace",
            "θ (radians)",
        ],
    );
}

#[test]
fn training_curves() {
    let runs = vec![
        Run {
            name: "newton".into(),
            points: vec![(0.0, 0.0, 1.0), (1.0, 0.01, 0.5), (2.0, 0.02, 0.4)],
        },
        Run {
            name: "gd".into(),
            points: (0..200)
                .map(|i| (i as f64, i as f64 * 1e-3, 0.4 + 0.6 * 0.97f64.powi(i)))
                .collect(),
        },
    ];
    check(
        &CurvesFigure {
            runs,
            best: Some(0.4),
        },
        "curves",
        &["newton", "gd", "iterations", "seconds", "relative gap"],
    );
}

#[test]
fn decision_boundaries() {
    for (kind, centers) in [
        (ModelKind::Logistic, vec![(-1.0, 0.0), (1.0, 0.5)]),
        (
            ModelKind::Softmax,
            vec![(-1.0, 0.0), (1.0, 0.0), (0.0, 1.5)],
        ),
    ] {
        let d = blobs(40, &centers, 0.6, 1);
        let m = train(
            &d,
            &TrainOptions {
                model: ModelChoice::Kind(kind),
                ..Default::default()
            },
            None,
        )
        .unwrap()
        .model;
        let needles: &[&str] = if kind == ModelKind::Logistic {
            &["P = 0.5", "class 0", "class 1", "P(class 1)"] // the colour bar's label
        } else {
            &["class 2", "regions"]
        };
        check(&BoundaryFigure::new(&m, &d).unwrap(), kind.name(), needles);
    }
}

#[test]
fn boundary_refuses_data_without_two_features() {
    let d = heart_scale();
    let m = train(&d, &TrainOptions::default(), None).unwrap().model;
    let e = BoundaryFigure::new(&m, &d).err().unwrap().to_string();
    assert!(e.contains("2-feature") && e.contains("13 features"), "{e}");
}

#[test]
fn embeddings() {
    let d = blobs(50, &[(3.0, 0.0), (-2.0, 2.0), (0.0, -3.0)], 0.5, 2);
    let mut x = Vec::new();
    for i in 0..d.n_rows() {
        d.x.row(i).for_each(|_, v| x.push(v));
    }
    let w = vec![1.0, 0.0, -1.0, 1.0, 0.0, -1.0];
    let fig = EmbeddingFigure::new(
        x.clone(),
        2,
        d.y.clone(),
        d.classes.clone(),
        EmbeddingFigure::directions(&w),
        "toy".into(),
    )
    .unwrap();
    check(&fig, "embedding", &["features", "normalized", "toy"]);
    let hist = AngleHistogramFigure::new(&x, &w, 2, &d.y, "angles".into()).unwrap();
    assert!(
        hist.own.iter().sum::<f64>() / hist.own.len() as f64
            <= hist.others.iter().sum::<f64>() / hist.others.len() as f64
    );
    check(&hist, "angles", &["own class", "other classes", "degrees"]);
    assert!(EmbeddingFigure::new(
        vec![0.0; 6],
        3,
        vec![0, 1],
        vec!["a".into(), "b".into()],
        vec![],
        "t".into()
    )
    .is_err());
    // Several embeddings side by side: 3 figures in 2 columns make a 2 × 2 grid of cells.
    let figures = ["first", "second", "third"]
        .map(|t| {
            EmbeddingFigure::new(
                x.clone(),
                2,
                d.y.clone(),
                d.classes.clone(),
                EmbeddingFigure::directions(&w),
                t.into(),
            )
            .unwrap()
        })
        .into();
    let grid = FigureGrid {
        figures,
        columns: 2,
        cell: (800, 400),
    };
    assert_eq!(grid.size(), (1600, 800));
    check(&grid, "grid", &["first", "second", "third"]);
}

#[test]
fn evaluation_pictures() {
    let (tr, te) = heart_scale().split(0.2, 1);
    let m = train(&tr, &TrainOptions::default(), None).unwrap().model;
    let positive: Vec<bool> = te.y.iter().map(|&c| c == 1).collect();
    let curves = vec![(
        "logistic".into(),
        positive.clone(),
        m.decision_function(&te.x),
    )];
    check(
        &RocFigure::new(curves.clone()),
        "roc",
        &["AUC 0.8", "false positive rate", "ROC curve"],
    );
    check(
        &RocFigure {
            curves,
            title: "ROC: m.json on test.svm".into(),
            log_far: true,
        },
        "roc-log",
        &[
            "AUC 0.8",
            "(log scale)",
            "ROC: m.json on test.svm",
            "1e-1",
            "1e0",
        ],
    );
    let p = m.predict_proba(&te.x).unwrap();
    let cal = CalibrationFigure {
        name: "logistic".into(),
        probs: p.chunks(2).map(|r| r[1]).collect(),
        outcomes: positive,
        bins: 10,
    };
    let total: usize = cal.bins().iter().map(|b| b.2).sum();
    assert_eq!(total, te.n_rows());
    check(
        &cal,
        "calibration",
        &["perfectly calibrated", "observed frequency"],
    );
    let cm = confusion_matrix(&te.y, &m.predict(&te.x), &m.classes);
    check(
        &ConfusionFigure { matrix: cm.clone() },
        "confusion",
        &[
            &cm.counts[0][0].to_string(),
            "true class",
            "predicted class",
            "count", // the colour bar
        ],
    );
}

#[test]
fn wrong_extension_and_bad_logs_are_errors() {
    let e = render(&LossesFigure, Path::new("/tmp/x.jpg"))
        .unwrap_err()
        .to_string();
    assert!(e.contains(".png or .svg"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log.csv");
    std::fs::write(&p, "a,b\n1,2\n").unwrap();
    assert!(read_log_csv(&p)
        .err()
        .unwrap()
        .to_string()
        .contains(":1: expected the header"));
    std::fs::write(&p, "iteration,seconds,objective,grad_norm\n0,0,x,1\n").unwrap();
    assert!(read_log_csv(&p)
        .err()
        .unwrap()
        .to_string()
        .contains(":2: expected numbers"));
}

/// How much of `ink` a pixel is, if it is `ink` blended over white (None otherwise).
fn coverage_of(pixel: [u8; 3], ink: [u8; 3]) -> Option<f64> {
    let shares: Vec<f64> = (0..3)
        .filter(|&k| ink[k] < 200)
        .map(|k| (255.0 - pixel[k] as f64) / (255.0 - ink[k] as f64))
        .collect();
    let (lo, hi) = shares
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &s| {
            (l.min(s), h.max(s))
        });
    let untouched = (0..3).all(|k| ink[k] < 200 || pixel[k] >= 250);
    (hi - lo < 0.12 && lo > 0.05 && hi < 1.05 && untouched).then_some(0.5 * (lo + hi))
}

#[test]
fn curves_are_drawn_as_thin_anti_aliased_lines() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("losses.png");
    render(&LossesFigure, &png).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    let c = color(2); // the logistic (log₂) curve, green
    let ink = [c.0, c.1, c.2];
    let (mut partial, mut widest) = (0, 0);
    for x in 100..img.width() - 250 {
        let mut run = 0;
        for y in 0..img.height() {
            match coverage_of(img.get_pixel(x, y).0, ink) {
                Some(a) => {
                    if a < 0.85 {
                        partial += 1;
                    }
                    if a >= 0.5 {
                        run += 1;
                        widest = widest.max(run);
                    } else {
                        run = 0;
                    }
                }
                None => run = 0,
            }
        }
    }
    assert!(widest <= 3, "a line {widest} px thick");
    assert!(
        partial > 300,
        "{partial} partly covered pixels: not anti-aliased"
    );
}

#[test]
fn normalized_features_lie_on_the_unit_circle() {
    let d = blobs(40, &[(3.0, 0.0), (-2.0, 2.0)], 1.5, 3);
    let mut x = Vec::new();
    for i in 0..d.n_rows() {
        d.x.row(i).for_each(|_, v| x.push(v));
    }
    let fig =
        EmbeddingFigure::new(x, 2, d.y.clone(), d.classes.clone(), vec![], "t".into()).unwrap();
    for (a, b) in fig.normalized() {
        assert!(
            ((a * a + b * b).sqrt() - 1.0).abs() < 1e-12,
            "({a}, {b}) off the circle"
        );
    }
    // Directions for some classes only (a head trained on a subset).
    let partial = EmbeddingFigure::new(
        fig.features.clone(),
        2,
        d.y.clone(),
        d.classes.clone(),
        vec![Some([1.0, 0.0]), None],
        "subset".into(),
    )
    .unwrap();
    check(&partial, "partial", &["subset", "class weight directions"]);
}
