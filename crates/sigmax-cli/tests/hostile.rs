//! Hostile input, as a careless or malicious user would give it: every case must end in
//! exit code 1 with a message naming the file (and the line, where there is one) — or,
//! where the input is fine after all, in a correct result — never in a panic (exit 101),
//! an abort (a signal), a hang (each run has a time limit) or more than a few hundred MB
//! of memory (each run's peak RSS is measured with wait4). The crash cases check that the
//! previous output survives and that no temporary file is left behind.

mod support;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const MODEL: &[u8] = br#"{"format":"sigmax-model","version":1,"model":{"kind":"logistic","classes":["-1","1"],"n_features":2,"lambda":0.01,"intercept":true,"weights":[[1.0,-1.0]],"bias":[0.5]}}"#;

fn model_with(from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(MODEL).unwrap();
    assert!(s.contains(from), "{from}");
    s.replace(from, to).into_bytes()
}

const LIBLINEAR: &str =
    "solver_type L2R_LR\nnr_class 2\nlabel 1 -1\nnr_feature 2\nbias -1\nw\n0.5 \n-0.25 \n";

fn liblinear_with(from: &str, to: &str) -> Vec<u8> {
    assert!(LIBLINEAR.contains(from), "{from}");
    LIBLINEAR.replace(from, to).into_bytes()
}

const D: &[u8] = b"+1 1:0.5 2:1\n-1 1:-0.5 2:0.25\n+1 1:1\n-1 2:-1\n";

fn data_cases() -> Vec<Case> {
    let t = |name, text: &'static [u8], needles: &[&'static str]| {
        case(
            name,
            &[("d.svm", text)],
            &["train", "d.svm", "-o", "m.json"],
            needles,
        )
    };
    let zeros_gz = gzip(&vec![0u8; 70 << 20]);
    let zeros_gz: &'static [u8] = Box::leak(zeros_gz.into_boxed_slice());
    let many_blank: &'static [u8] = Box::leak(
        [b"+1 1:1\n-1 2:1\n".as_slice(), &vec![b'\n'; 50 << 20]]
            .concat()
            .into_boxed_slice(),
    );
    let truncated_gz: &'static [u8] = Box::leak({
        let g = gzip(D);
        g[..g.len() - 6].to_vec().into_boxed_slice()
    });
    vec![
        t("empty file", b"", &["d.svm", "empty"]),
        t(
            "only comments",
            b"# nothing\n\n# here\n",
            &["d.svm", "no data rows"],
        ),
        t(
            "bad value",
            b"+1 1:0.5\n-1 3:abc\n",
            &["d.svm:2:", "bad value"],
        ),
        t("no index", b"+1 :5\n", &["d.svm:1:", "no feature index"]),
        t("no value", b"+1 3:\n", &["d.svm:1:", "no value"]),
        t(
            "index 0 when 1-based",
            b"+1 0:1\n-1 1:1\n",
            &["d.svm:1:", "1-based"],
        ),
        t(
            "decreasing indices",
            b"+1 3:1 2:1\n",
            &["d.svm:1:", "decreasing"],
        ),
        t(
            "duplicate indices",
            b"+1 2:1 2:1\n",
            &["d.svm:1:", "duplicate"],
        ),
        t(
            "NaN value",
            b"+1 1:nan\n-1 1:1\n",
            &["d.svm:1:", "not finite"],
        ),
        t(
            "Inf value",
            b"+1 1:1\n-1 1:-inf\n",
            &["d.svm:2:", "not finite"],
        ),
        t(
            "value overflowing f32",
            b"+1 1:1e400\n-1 1:1\n",
            &["d.svm:1:", "not finite"],
        ),
        t(
            "index beyond the feature limit",
            b"+1 1:1\n-1 999999999999:1\n",
            &["d.svm:2:", "exceeds the limit"],
        ),
        t(
            "one stray index at the default limit",
            b"+1 1:1\n-1 2:1\n+1 134217000:1\n-1 1:1\n",
            &["d.svm:3:", "stray index"],
        ),
        case(
            "a wide index allowed by an explicit --max-features",
            &[("d.svm", b"+1 1:1\n-1 2:1\n+1 3000000:1\n-1 1:1\n")],
            &[
                "train",
                "d.svm",
                "--max-features",
                "4000000",
                "-o",
                "m.json",
            ],
            &[],
        ),
        t(
            "index overflowing u64",
            b"+1 99999999999999999999999:1\n",
            &["d.svm:1:", "bad feature index"],
        ),
        t(
            "a run of NUL bytes",
            b"+1 1:1\n-1 2:1\n\0\0\0\0\0\0\0\0",
            &["d.svm:3:", "control characters"],
        ),
        t(
            "NULs after a value",
            b"+1 1:1\0\0\0\n-1 2:1\n",
            &["d.svm:1:", "bad value"],
        ),
        t(
            "label 1e400",
            b"1e400 1:1\n-1 2:1\n",
            &["d.svm:1:", "not finite"],
        ),
        t(
            "label inf",
            b"1 1:1\ninf 2:1\n",
            &["d.svm:2:", "not finite"],
        ),
        t(
            "labels 0 and -0 are one class",
            b"0 1:1\n-0 2:1\n",
            &["single class"],
        ),
        t("one class", b"1 1:1\n1 2:1\n", &["single class"]),
        t(
            "multi-label rows",
            b"1 1:1\n1,3 2:1\n",
            &["d.svm:2:", "label \"1,3\" is a list of labels"],
        ),
        t(
            "label not UTF-8",
            b"+1 1:1\n\xff\xfe 1:1\n-1 1:2\n",
            &["d.svm:2:", "UTF-8"],
        ),
        t(
            "UTF-16 text",
            b"\xff\xfe+\x001\x00 \x001\x00:\x001\x00\n\x00",
            &["d.svm", "UTF-16", "iconv"],
        ),
        t("no label", b"1:1 2:1\n", &["d.svm:1:", "expected a label"]),
        t(
            "token without colon",
            b"+1 1:1 oops\n",
            &["d.svm:1:", "not index:value"],
        ),
        t(
            "a zero-filled file (no line end)",
            &*Box::leak(vec![0u8; 65 << 20].into_boxed_slice()),
            &["d.svm:1:", "without a line end"],
        ),
        case(
            "a gzip of 70 MB of NULs",
            &[("z.svm.gz", zeros_gz)],
            &["train", "z.svm.gz", "-o", "m.json"],
            &["z.svm.gz:1:", "without a line end"],
        ),
        case(
            "a gzip of 70 MB of NULs as CSV",
            &[("z.csv.gz", zeros_gz)],
            &["train", "z.csv.gz", "-o", "m.json"],
            &["z.csv.gz:1:", "a NUL byte"],
        ),
        t("50 MB of blank lines", many_blank, &[]),
        case(
            "a truncated gzip",
            &[("t.svm.gz", truncated_gz)],
            &["train", "t.svm.gz", "-o", "m.json"],
            &["t.svm.gz"],
        ),
        case(
            "a missing file",
            &[],
            &["train", "nope.svm", "-o", "m.json"],
            &["nope.svm"],
        ),
        case(
            "a directory as data",
            &[],
            &["train", "{}", "-o", "m.json"],
            &["Is a directory"],
        ),
        case(
            "a name with idx in it is LIBSVM",
            &[("x_idx1.svm", D)],
            &["train", "x_idx1.svm", "-o", "m.json"],
            &[],
        ),
        case(
            "--max-features above 2^32",
            &[("d.svm", D)],
            &[
                "train",
                "d.svm",
                "--max-features",
                "5000000000",
                "-o",
                "m.json",
            ],
            &["max-features", "2^32"],
        ),
        case(
            "1000 classes and index 10^6",
            &[(
                "k.svm",
                &*Box::leak(
                    (0..1000)
                        .map(|i| format!("{i} 1:1\n"))
                        .chain(["7 1000000:1\n".to_string()])
                        .collect::<String>()
                        .into_bytes()
                        .into_boxed_slice(),
                ),
            )],
            &[
                "train",
                "k.svm",
                "--max-features",
                "2000000",
                "-o",
                "m.json",
            ],
            &["k.svm", "would need", "available"],
        ),
        // CSV
        case(
            "ragged CSV",
            &[("d.csv", b"a,b,y\n1,2,x\n3,y\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv:3:", "columns"],
        ),
        case(
            "CSV text in a number column",
            &[("d.csv", b"a,b,y\n1,2,x\n3,abc,y\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv:3:", "column 1", "\"b\"", "not a number"],
        ),
        case(
            "CSV empty label",
            &[("d.csv", b"a,y\n1,x\n2,\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv:3:", "empty label"],
        ),
        case(
            "CSV NUL label",
            &[("d.csv", b"a,y\n1,x\n2,\0\0\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv:3:", "a NUL byte"],
        ),
        case(
            "CSV inf label",
            &[("d.csv", b"a,y\n1,1\n2,inf\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv:3:", "not finite"],
        ),
        case(
            "CSV header only",
            &[("d.csv", b"a,b,y\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv"],
        ),
        case(
            "CSV inf feature",
            &[("d.csv", b"a,y\n1,x\ninf,y\n")],
            &["train", "d.csv", "-o", "m.json"],
            &["d.csv:3:"],
        ),
        case(
            "CSV negative weight",
            &[("d.csv", b"a,w,y\n1,1,x\n2,-3,y\n")],
            &["train", "d.csv", "--weight-col", "w", "-o", "m.json"],
            &["d.csv:3:", "weight"],
        ),
        case(
            "CSV unknown label column",
            &[("d.csv", b"a,y\n1,x\n2,y\n")],
            &["train", "d.csv", "--label-col", "zz", "-o", "m.json"],
            &["zz"],
        ),
        // Weight files
        case(
            "weight file too short",
            &[("d.svm", D), ("w.txt", b"1\n2\n")],
            &["train", "d.svm", "--weights", "w.txt", "-o", "m.json"],
            &["w.txt", "2 weights for 4"],
        ),
        case(
            "weight file negative",
            &[("d.svm", D), ("w.txt", b"1\n2\n-3\n1\n")],
            &["train", "d.svm", "--weights", "w.txt", "-o", "m.json"],
            &["w.txt:3:"],
        ),
        case(
            "weight file NaN",
            &[("d.svm", D), ("w.txt", b"1\nnan\n3\n1\n")],
            &["train", "d.svm", "--weights", "w.txt", "-o", "m.json"],
            &["w.txt:2:"],
        ),
        case(
            "weight file text",
            &[("d.svm", D), ("w.txt", b"1\n2\nheavy\n1\n")],
            &["train", "d.svm", "--weights", "w.txt", "-o", "m.json"],
            &["w.txt:3:", "not a number"],
        ),
        case(
            "weight file all zero",
            &[("d.svm", D), ("w.txt", b"0\n0\n0\n0\n")],
            &["train", "d.svm", "--weights", "w.txt", "-o", "m.json"],
            &["weight"],
        ),
    ]
}

fn idx_cases() -> Vec<Case> {
    let labels = idx(8, &[4], &[0, 1, 0, 1]);
    let images = idx(8, &[4, 2, 2], &[9; 16]);
    let l: &'static [u8] = Box::leak(labels.into_boxed_slice());
    let im: &'static [u8] = Box::leak(images.into_boxed_slice());
    let leak = |v: Vec<u8>| -> &'static [u8] { Box::leak(v.into_boxed_slice()) };
    let t = |name, images: &'static [u8], labels: &'static [u8], needles: &[&'static str]| {
        case(
            name,
            &[
                ("a-images-idx3-ubyte", images),
                ("a-labels-idx1-ubyte", labels),
            ],
            &["train", "a-images-idx3-ubyte", "-o", "m.json"],
            needles,
        )
    };
    vec![
        t("IDX that is fine", im, l, &[]),
        t(
            "IDX bad magic",
            leak(b"\x01\x02\x08\x03rest".to_vec()),
            l,
            &["a-images-idx3-ubyte", "magic"],
        ),
        t(
            "IDX float type",
            leak(idx(0x0d, &[4, 2, 2], &[0; 64])),
            l,
            &["a-images-idx3-ubyte", "unsupported"],
        ),
        t(
            "IDX truncated header",
            leak(vec![0, 0, 8, 3, 0, 0]),
            l,
            &["a-images-idx3-ubyte", "truncated"],
        ),
        t(
            "IDX dims whose product overflows",
            leak(idx(8, &[0x10000, 0x10000, 0x10000, 0x10000], &[0; 16])),
            l,
            &["a-images-idx3-ubyte", "overflow"],
        ),
        t(
            "IDX a zero dimension",
            leak(idx(8, &[0, 0xffff_ffff, 0xffff_ffff], &[])),
            l,
            &["a-images-idx3-ubyte"],
        ),
        t(
            "IDX payload size mismatch",
            leak(idx(8, &[4, 2, 2], &[0; 15])),
            l,
            &["a-images-idx3-ubyte", "bytes of data"],
        ),
        t(
            "IDX label count mismatch",
            im,
            leak(idx(8, &[3], &[0, 1, 0])),
            &["a-labels-idx1-ubyte", "3 labels for 4 images"],
        ),
        t(
            "IDX labels with 2 dims",
            im,
            leak(idx(8, &[2, 2], &[0, 1, 0, 1])),
            &["a-labels-idx1-ubyte", "1 dim"],
        ),
    ]
}

fn model_cases() -> Vec<Case> {
    let leak = |v: Vec<u8>| -> &'static [u8] { Box::leak(v.into_boxed_slice()) };
    let p = |name, model: &'static [u8], needles: &[&'static str]| {
        case(
            name,
            &[("m.json", model), ("d.svm", b"+1 1:1 2:1\n-1 1:-1\n")],
            &["predict", "m.json", "d.svm"],
            needles,
        )
    };
    let ll = |name, model: &'static [u8], needles: &[&'static str]| {
        case(
            name,
            &[("m.txt", model), ("d.svm", b"+1 1:1 2:1\n-1 1:-1\n")],
            &["predict", "m.txt", "d.svm"],
            needles,
        )
    };
    vec![
        p("model that is fine", MODEL, &[]),
        p("model not JSON", b"hello", &["m.json", "not valid JSON"]),
        p(
            "model truncated",
            &MODEL[..MODEL.len() / 2],
            &["m.json", "truncated"],
        ),
        p(
            "model without format",
            leak(model_with("\"format\":\"sigmax-model\",", "")),
            &["m.json", "not a sigmax model"],
        ),
        p(
            "model from a newer sigmax",
            leak(model_with("\"version\":1", "\"version\":99")),
            &["m.json", "newer"],
        ),
        p(
            "model with duplicate classes",
            leak(model_with("[\"-1\",\"1\"]", "[\"1\",\"1.0\"]")),
            &["m.json", "twice"],
        ),
        p(
            "model weight out of range",
            leak(model_with("[[1.0,-1.0]]", "[[1e999,-1.0]]")),
            &["m.json"],
        ),
        p(
            "model with too few weights",
            leak(model_with("[[1.0,-1.0]]", "[[1.0]]")),
            &["m.json", "weights per row"],
        ),
        p(
            "model with negative lambda",
            leak(model_with("\"lambda\":0.01", "\"lambda\":-1")),
            &["m.json", "lambda"],
        ),
        p(
            "model with a missing field",
            leak(model_with("\"bias\":[0.5]", "\"bias2\":[0.5]")),
            &["m.json"],
        ),
        p(
            "model with two rows for binary",
            leak(model_with("[[1.0,-1.0]]", "[[1.0,-1.0],[1.0,1.0]]")),
            &["m.json", "weight rows"],
        ),
        p(
            "model with one class",
            leak(model_with("[\"-1\",\"1\"]", "[\"1\"]")),
            &["m.json", "classes"],
        ),
        p(
            "a checkpoint given as a model",
            b"SIGMAXNN\x02\0\0\0",
            &["m.json"],
        ),
        ll("LIBLINEAR model that is fine", LIBLINEAR.as_bytes(), &[]),
        ll(
            "LIBLINEAR nr_feature -5",
            leak(liblinear_with("nr_feature 2", "nr_feature -5")),
            &["m.txt:4:", "nr_feature"],
        ),
        ll(
            "LIBLINEAR nr_feature 5e9 without the weights",
            leak(liblinear_with("nr_feature 2", "nr_feature 5000000000")),
            &["m.txt", "truncated"],
        ),
        ll(
            "LIBLINEAR nr_feature 2^64-1 with a bias",
            leak(liblinear_with(
                "nr_feature 2\nbias -1",
                "nr_feature 18446744073709551615\nbias 1",
            )),
            &["m.txt", "too large"],
        ),
        ll(
            "LIBLINEAR infinite weight",
            leak(liblinear_with("-0.25 ", "inf")),
            &["m.txt:8:", "not finite"],
        ),
        ll(
            "LIBLINEAR NaN weight",
            leak(liblinear_with("0.5 ", "NaN")),
            &["m.txt:7:", "not finite"],
        ),
        ll(
            "LIBLINEAR bad bias",
            leak(liblinear_with("bias -1", "bias x")),
            &["m.txt:5:", "bias"],
        ),
        ll(
            "LIBLINEAR same labels",
            leak(liblinear_with("label 1 -1", "label 1 1")),
            &["m.txt", "same"],
        ),
        ll(
            "LIBLINEAR unknown solver",
            leak(liblinear_with("L2R_LR", "MAGIC")),
            &["m.txt", "solver_type"],
        ),
        ll(
            "LIBLINEAR three classes",
            leak(liblinear_with("label 1 -1", "label 1 -1 2")),
            &["m.txt", "one-vs-rest"],
        ),
        ll(
            "LIBLINEAR unknown header",
            leak(liblinear_with("nr_class 2", "colour blue")),
            &["m.txt:2:", "unexpected header"],
        ),
    ]
}

fn value_cases() -> Vec<Case> {
    let d = &[("d.svm", D)][..];
    let gd: &[(&str, &[u8])] = &[(
        "gd.svm",
        b"-1 1:0.1 2:1e30\n1 1:0.9 2:1e30\n-1 1:0.2 2:1e30\n1 1:0.7 2:1e30\n",
    )];
    let loss_files: &[(&str, &[u8])] = &[
        ("f.csv", b"1,0\n0,1\n1,1\n"),
        ("w.csv", b"1,0\n0,1\n-1,0\n"),
        ("l.txt", b"0\n1\n2\n"),
    ];
    vec![
        case(
            "lambda -1",
            d,
            &["train", "d.svm", "--lambda", "-1", "-o", "m.json"],
            &["--lambda"],
        ),
        case(
            "lambda NaN",
            d,
            &["train", "d.svm", "--lambda", "nan", "-o", "m.json"],
            &["--lambda"],
        ),
        case(
            "C 0",
            d,
            &["train", "d.svm", "-c", "0", "-o", "m.json"],
            &["--C"],
        ),
        case(
            "learning rate 0",
            d,
            &[
                "train",
                "d.svm",
                "--solver",
                "gd",
                "--learning-rate",
                "0",
                "-o",
                "m.json",
            ],
            &["--learning-rate"],
        ),
        case(
            "epochs 0",
            d,
            &[
                "train",
                "d.svm",
                "--solver",
                "sgd",
                "--max-iter",
                "0",
                "-o",
                "m.json",
            ],
            &["max-iter"],
        ),
        case(
            "l1 ratio 2",
            d,
            &[
                "train",
                "d.svm",
                "--penalty",
                "elasticnet",
                "--l1-ratio",
                "2",
                "-o",
                "m.json",
            ],
            &["--l1-ratio"],
        ),
        case(
            "unknown solver",
            d,
            &["train", "d.svm", "--solver", "tronn", "-o", "m.json"],
            &["tronn", "newton"],
        ),
        case(
            "tolerance -1",
            d,
            &["train", "d.svm", "--tol", "-1", "-o", "m.json"],
            &["--tol"],
        ),
        case(
            "cv 1",
            d,
            &["train", "d.svm", "--cv", "1", "-o", "m.json"],
            &["--cv"],
        ),
        case(
            "path 0",
            d,
            &["train", "d.svm", "--cv", "2", "--path", "0", "-o", "m.json"],
            &["--path 0"],
        ),
        case(
            "class weight of an unknown class",
            d,
            &["train", "d.svm", "--class-weight", "7:2", "-o", "m.json"],
            &["7"],
        ),
        case(
            "output is a directory",
            d,
            &["train", "d.svm", "-o", "{}"],
            &["is a directory"],
        ),
        case(
            "output in a missing directory",
            d,
            &["train", "d.svm", "-o", "no/such/dir/m.json"],
            &["no/such/dir"],
        ),
        case(
            "gd with a hopeless scale",
            gd,
            &[
                "train",
                "gd.svm",
                "--solver",
                "gd",
                "--max-iter",
                "50",
                "-o",
                "m.json",
            ],
            &["diverged", "line search"],
        ),
        case(
            "objective with lambda -1",
            &[("m.json", MODEL), ("d.svm", b"+1 1:1 2:1\n-1 1:-1\n")],
            &["objective", "m.json", "d.svm", "--lambda=-1"],
            &["--lambda"],
        ),
        case(
            "loss with margin 3e9",
            loss_files,
            &[
                "loss",
                "--head",
                "lsoftmax",
                "--margin",
                "3000000000",
                "--features",
                "f.csv",
                "--weights",
                "w.csv",
                "--labels",
                "l.txt",
            ],
            &["margin", "1–16"],
        ),
        case(
            "loss with margin 0",
            loss_files,
            &[
                "loss",
                "--head",
                "asoftmax",
                "--margin",
                "0",
                "--features",
                "f.csv",
                "--weights",
                "w.csv",
                "--labels",
                "l.txt",
            ],
            &["margin"],
        ),
        case(
            "loss with a label beyond the classes",
            &[
                ("f.csv", b"1,0\n0,1\n"),
                ("w.csv", b"1,0\n0,1\n"),
                ("l.txt", b"0\n5\n"),
            ],
            &[
                "loss",
                "--head",
                "softmax",
                "--features",
                "f.csv",
                "--weights",
                "w.csv",
                "--labels",
                "l.txt",
            ],
            &["l.txt"],
        ),
        case(
            "loss with NaN features",
            &[
                ("f.csv", b"1,nan\n0,1\n"),
                ("w.csv", b"1,0\n0,1\n"),
                ("l.txt", b"0\n1\n"),
            ],
            &[
                "loss",
                "--head",
                "softmax",
                "--features",
                "f.csv",
                "--weights",
                "w.csv",
                "--labels",
                "l.txt",
            ],
            &["f.csv"],
        ),
        case(
            "loss with arcface margin 4",
            loss_files,
            &[
                "loss",
                "--head",
                "arcface",
                "--margin",
                "4",
                "--features",
                "f.csv",
                "--weights",
                "w.csv",
                "--labels",
                "l.txt",
            ],
            &["margin"],
        ),
        case(
            "predict with data wider than the model",
            &[("m.json", MODEL), ("d.svm", b"+1 1:1 9:1\n")],
            &["predict", "m.json", "d.svm"],
            &[],
        ),
        case(
            "eval with a label the model lacks",
            &[("m.json", MODEL), ("d.svm", b"7 1:1\n")],
            &["eval", "m.json", "d.svm"],
            &["7"],
        ),
    ]
}

#[test]
fn every_hostile_input_ends_in_a_clear_error() {
    let cases: Vec<Case> = [data_cases(), idx_cases(), model_cases(), value_cases()]
        .into_iter()
        .flatten()
        .collect();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(c).err())
        .map(|f| f.chars().take(700).collect())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_damaged_cache_is_rebuilt_and_gives_the_uncached_model() {
    let dir = tempfile::tempdir().unwrap();
    heart_in(dir.path());
    let d = dir.path();
    let plain = run_in(d, &["train", "heart.svm", "-o", "plain.json"], &[]);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    let first = run_in(
        d,
        &["train", "heart.svm", "--cache", "-o", "first.json"],
        &[],
    );
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let cache = d.join("heart.svm.sxcache");
    let good = std::fs::read(&cache).unwrap();
    let model = |name: &str| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(name)).unwrap()).unwrap();
        v["model"].clone()
    };
    // A flipped value byte (the checksum catches it), a NaN planted with the checksum
    // repaired (the finiteness check catches it), a truncated cache.
    let mid = good.len() / 2;
    let mut flipped = good.clone();
    flipped[mid] ^= 0x01;
    let mut planted = good.clone();
    let at = good.len() - 4 - 4 * 50; // a dense value near the end
    planted[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let n = planted.len();
    let sum = crc32fast::hash(&planted[8..n - 4]);
    planted[n - 4..].copy_from_slice(&sum.to_le_bytes());
    for (what, bytes, why) in [
        ("flipped", flipped, "checksum"),
        ("planted NaN", planted, "not finite"),
        ("truncated", good[..good.len() - 9].to_vec(), "size"),
    ] {
        std::fs::write(&cache, &bytes).unwrap();
        let r = run_in(
            d,
            &["train", "heart.svm", "--cache", "-o", "again.json"],
            &[],
        );
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains("cache was damaged") && r.stderr.contains(why),
            "{what}: {}",
            r.stderr
        );
        assert_eq!(model("again.json"), model("plain.json"), "{what}");
        assert_eq!(
            std::fs::read(&cache).unwrap(),
            good,
            "{what}: rebuilt as it was"
        );
    }
}

#[test]
fn a_fifo_at_the_cache_path_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    heart_in(dir.path());
    let fifo = dir.path().join("heart.svm.sxcache");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let r = run_in(
        dir.path(),
        &["train", "heart.svm", "--cache", "-o", "m.json"],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
}

/// `sigmax train heart.svm -o m.json` in `d`, paused `pause_ms` in the model's write,
/// with SIGINT, SIGTERM and SIGHUP at their defaults except SIGHUP ignored if
/// `ignore_hangup` (sigmax keeps a signal its parent ignored ignored, as under nohup, so
/// the tests must not inherit how they were started); returns once the write's temporary
/// exists.
fn train_paused_in_its_write(d: &Path, pause_ms: u64, ignore_hangup: bool) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigmax"));
    command
        .args(["train", "heart.svm", "-o", "m.json"])
        .current_dir(d)
        .env("SIGMAX_TEST_WRITE_PAUSE_MS", pause_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(s, libc::SIG_DFL);
            }
            if ignore_hangup {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    let started = Instant::now();
    while temporaries(d).is_empty() {
        assert!(started.elapsed() < TIME_LIMIT, "no write started");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// A hangup its parent ignored (as `nohup` does) is ignored by sigmax too: the write
/// goes on and finishes.
#[test]
fn a_hangup_ignored_by_the_parent_stays_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    heart_in(d);
    let mut child = train_paused_in_its_write(d, 1000, true);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(std::fs::read_to_string(d.join("m.json"))
        .unwrap()
        .starts_with('{'));
    assert!(temporaries(d).is_empty());
}

/// A signal during a write: the process ends by that signal, the old file is intact and
/// no temporary is left (SIGINT, SIGTERM, SIGHUP); after SIGKILL the temporary is left
/// but the next write removes it.
#[test]
fn signals_during_a_write_leave_the_old_file_and_no_temporary() {
    for (signal, cleaned_at_once) in [
        (libc::SIGTERM, true),
        (libc::SIGINT, true),
        (libc::SIGHUP, true),
        (libc::SIGKILL, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        heart_in(d);
        std::fs::write(d.join("m.json"), b"old").unwrap();
        // The write is under way: signal.
        let mut child = train_paused_in_its_write(d, 20_000, false);
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(signal), "ended by the signal");
        assert_eq!(
            std::fs::read(d.join("m.json")).unwrap(),
            b"old",
            "signal {signal}"
        );
        assert_eq!(
            temporaries(d).is_empty(),
            cleaned_at_once,
            "signal {signal}"
        );
        // The next write finishes and leaves nothing behind.
        let r = run_in(d, &["train", "heart.svm", "-o", "m.json"], &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(
            temporaries(d).is_empty(),
            "signal {signal}: {:?}",
            temporaries(d)
        );
        assert_ne!(std::fs::read(d.join("m.json")).unwrap(), b"old");
    }
}

#[test]
fn a_diverged_fit_leaves_the_previous_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    heart_in(d);
    std::fs::write(d.join("m.json"), b"previous").unwrap();
    for args in [
        &[
            "train",
            "heart.svm",
            "--solver",
            "gd",
            "--learning-rate",
            "100",
            "-o",
            "m.json",
        ][..],
        &[
            "train",
            "heart.svm",
            "--solver",
            "gd",
            "--learning-rate",
            "1e6",
            "--max-iter",
            "20",
            "-o",
            "m.json",
        ][..],
    ] {
        let r = run_in(d, args, &[]);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("diverged") && r.stderr.contains("smaller"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(d.join("m.json")).unwrap(), b"previous");
    }
}
