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
            &["P = 0.5", "class 0", "class 1"]
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
        Some(w.clone()),
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
        None,
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
                Some(w.clone()),
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
    check(
        &RocFigure {
            curves: vec![(
                "logistic".into(),
                positive.clone(),
                m.decision_function(&te.x),
            )],
        },
        "roc",
        &["AUC 0.8", "false positive rate"],
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
