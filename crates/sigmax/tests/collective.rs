//! Distributed fits on ranks that are threads of one process ([`InProcess`]): P shares
//! of the rows, laid out by the library's agreement and fitted through the collective,
//! give the model one process finds on all the rows, bit for bit.

#[allow(dead_code)]
mod common;

use common::{one_against_rest, sparse_text_like};
use sigmax::collective::agreement::agree_on_data;
use sigmax::collective::{Collective, InProcess, TcpCollective};
use sigmax::data::Dataset;
use sigmax::fit::fit;
use sigmax::solver::PreconditionerChoice;
use sigmax::train::{train, SolverChoice, TrainOptions};
use sigmax::Error;
use std::time::Duration;

/// Rows [edges[r], edges[r + 1]) to rank r, each fitted on its own thread, the ranks
/// threads of one process.
fn fit_in_ranks(
    data: &Dataset,
    edges: &[usize],
    opts: &TrainOptions,
) -> Vec<sigmax::Result<sigmax::train::Trained>> {
    let group = InProcess::group(edges.len() - 1, Duration::from_secs(120));
    fit_over(group, data, edges, opts)
}

/// `size` ranks over TCP on 127.0.0.1, each on its own thread: bound first, their
/// addresses handed to all (the engine's rendezvous), then connected with one job token.
fn tcp_group(size: usize, token: &str, timeout: Duration) -> Vec<sigmax::Result<TcpCollective>> {
    let bound: Vec<_> = (0..size)
        .map(|_| TcpCollective::bind("127.0.0.1").unwrap())
        .collect();
    let addresses: Vec<String> = bound.iter().map(|l| l.address()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = bound
            .into_iter()
            .enumerate()
            .map(|(rank, l)| {
                let addresses = &addresses;
                scope.spawn(move || l.connect(rank, addresses, token, timeout))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn fit_over<C: Collective + Send>(
    group: Vec<C>,
    data: &Dataset,
    edges: &[usize],
    opts: &TrainOptions,
) -> Vec<sigmax::Result<sigmax::train::Trained>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|c| {
                let share =
                    data.select(&(edges[c.rank()]..edges[c.rank() + 1]).collect::<Vec<_>>());
                scope.spawn(move || {
                    let (mut mine, shape) = agree_on_data(&c, Ok(share))?;
                    assert_eq!(shape.n_rows() as usize, data.n_rows());
                    fit(&mut mine, &opts.clone().check()?, &c, None)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Every rank's fit succeeded and holds `one`'s model: the same objective, weights and
/// biases, bit for bit.
fn assert_every_rank_has(
    one: &sigmax::train::Trained,
    fits: Vec<sigmax::Result<sigmax::train::Trained>>,
    what: &str,
) {
    let errors: Vec<String> = fits
        .iter()
        .enumerate()
        .filter_map(|(r, f)| f.as_ref().err().map(|e| format!("rank {r}: {e}")))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
    for (rank, fit) in fits.into_iter().enumerate() {
        let fit = fit.unwrap();
        assert_eq!(
            fit.report.objective.to_bits(),
            one.report.objective.to_bits(),
            "{what} rank {rank}"
        );
        assert_eq!(fit.model.weights, one.model.weights, "{what} rank {rank}");
        assert_eq!(fit.model.bias, one.model.bias, "{what} rank {rank}");
    }
}

/// 600,000 rows (three blocks of the exact sums), split over 1, 2, 3 and 5 ranks with
/// an empty rank among them (binary, Newton), and over 5 ranks for softmax and for
/// weighted rows with L-BFGS.
#[test]
fn ranks_as_threads_find_the_model_of_one_process_bit_for_bit() {
    let four = sparse_text_like(600_000, 3_000);
    let n = four.n_rows();
    let binary = one_against_rest(&four);
    let weighted = Dataset {
        weights: Some((0..n).map(|i| 0.5 + (i % 3) as f64).collect()),
        ..binary.clone()
    };
    let five = vec![0, 1, 300_000, 300_001, 512_345, n];
    let cases = [
        (
            "binary, newton",
            &binary,
            SolverChoice::Newton,
            vec![
                vec![0, n],
                vec![0, 250_000, n],
                vec![0, 100_000, 100_000, n],
                five.clone(),
            ],
        ),
        (
            "weighted, lbfgs",
            &weighted,
            SolverChoice::Lbfgs,
            vec![five.clone()],
        ),
        ("softmax, newton", &four, SolverChoice::Newton, vec![five]),
    ];
    for (name, data, solver, splits) in cases {
        let opts = TrainOptions {
            lambda: Some(1e-3),
            solver,
            // What a distributed fit takes for `auto` (see `distributed_options`).
            preconditioner: PreconditionerChoice::Diagonal,
            tol: Some(1e-6),
            ..TrainOptions::default()
        };
        let one = train(data, &opts, None).unwrap();
        for edges in splits {
            let fits = fit_in_ranks(data, &edges, &opts);
            assert_every_rank_has(&one, fits, &format!("{name} {edges:?}"));
        }
    }
}

/// One rank's bad share stops every rank with that rank's error.
#[test]
fn one_rank_failing_to_read_stops_every_rank_with_its_error() {
    let data = sparse_text_like(3_000, 3_000);
    let group = InProcess::group(3, Duration::from_secs(30));
    let errors: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|c| {
                let data = &data;
                scope.spawn(move || {
                    let share = if c.rank() == 1 {
                        Err(Error::Parse {
                            path: "train.svm.1".into(),
                            line: 17,
                            message: "bad label".into(),
                        })
                    } else {
                        Ok(data.clone())
                    };
                    agree_on_data(&c, share).unwrap_err().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(errors[1], "train.svm.1:17: bad label");
    for r in [0, 2] {
        assert_eq!(errors[r], "process 1 of 3: train.svm.1:17: bad label");
    }
}

/// A rank that leaves mid-fit: the others' fits end with an error, not a hang.
#[test]
fn a_rank_that_leaves_mid_fit_is_an_error_for_the_others() {
    let data = sparse_text_like(4_000, 3_000);
    let group = InProcess::group(2, Duration::from_secs(30));
    let opts = TrainOptions {
        lambda: Some(1e-4),
        solver: SolverChoice::Lbfgs,
        tol: Some(1e-12),
        ..TrainOptions::default()
    };
    let results: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|c| {
                let (data, opts) = (&data, &opts);
                scope.spawn(move || {
                    let share = data
                        .select(&(c.rank() * 2_000..(c.rank() + 1) * 2_000).collect::<Vec<_>>());
                    let (mut mine, _) = agree_on_data(&c, Ok(share)).unwrap();
                    if c.rank() == 1 {
                        return None; // leaves: its handle is dropped
                    }
                    fit(&mut mine, &opts.clone().check().unwrap(), &c, None)
                        .err()
                        .map(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let e = results[0].as_ref().unwrap();
    assert!(
        e.starts_with("process 0 of 2:") && e.contains("left the group"),
        "{e}"
    );
}

/// The TCP collective on 127.0.0.1: 1, 2, 3 and 5 ranks give the serial model bit for
/// bit (binary, and softmax at 3 ranks), an empty rank among them.
#[test]
fn ranks_over_tcp_find_the_model_of_one_process_bit_for_bit() {
    let four = sparse_text_like(600_000, 3_000);
    let n = four.n_rows();
    let binary = one_against_rest(&four);
    let opts = TrainOptions {
        lambda: Some(1e-3),
        solver: SolverChoice::Newton,
        preconditioner: PreconditionerChoice::Diagonal,
        tol: Some(1e-6),
        ..TrainOptions::default()
    };
    for (data, splits) in [
        (
            &binary,
            vec![
                vec![0, n],
                vec![0, 250_000, n],
                vec![0, 1, 300_000, 300_001, 512_345, n],
            ],
        ),
        (&four, vec![vec![0, 100_000, 100_000, n]]),
    ] {
        let one = train(data, &opts, None).unwrap();
        for edges in splits {
            let group: Vec<TcpCollective> =
                tcp_group(edges.len() - 1, "job-1", Duration::from_secs(60))
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
            let fits = fit_over(group, data, &edges, &opts);
            assert_every_rank_has(&one, fits, &format!("tcp {edges:?}"));
        }
    }
}

/// A process with another job's token is refused: it gets an error at once; the rank it
/// dialled keeps waiting for the right process and reports which did not connect.
#[test]
fn a_wrong_job_token_is_refused() {
    let bound: Vec<_> = (0..2)
        .map(|_| TcpCollective::bind("127.0.0.1").unwrap())
        .collect();
    let addresses: Vec<String> = bound.iter().map(|l| l.address()).collect();
    let results: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = bound
            .into_iter()
            .enumerate()
            .map(|(rank, l)| {
                let addresses = &addresses;
                let token = if rank == 1 { "another job" } else { "job-2" };
                scope.spawn(move || {
                    l.connect(rank, addresses, token, Duration::from_secs(2))
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results[1].contains("refused"), "{}", results[1]);
    assert!(results[0].contains("did not connect"), "{}", results[0]);
}

/// A rank that leaves mid-fit (its connections closed): the other fails at its next read
/// (a closed connection), well before its 60 s timeout.
#[test]
fn a_rank_that_leaves_mid_fit_over_tcp_fails_the_other_at_once() {
    let data = sparse_text_like(4_000, 3_000);
    let group: Vec<TcpCollective> = tcp_group(2, "job-3", Duration::from_secs(60))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let opts = TrainOptions {
        lambda: Some(1e-4),
        solver: SolverChoice::Lbfgs,
        tol: Some(1e-12),
        ..TrainOptions::default()
    };
    let started = std::time::Instant::now();
    let results: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|c| {
                let (data, opts) = (&data, &opts);
                scope.spawn(move || {
                    let rows: Vec<usize> = (c.rank() * 2_000..(c.rank() + 1) * 2_000).collect();
                    let (mut mine, _) = agree_on_data(&c, Ok(data.select(&rows))).unwrap();
                    if c.rank() == 1 {
                        return None; // leaves: its connections close
                    }
                    fit(&mut mine, &opts.clone().check().unwrap(), &c, None)
                        .err()
                        .map(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let e = results[0].as_ref().expect("an error");
    assert!(e.starts_with("process 0 of 2:"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Each rank reads its 1/P of a LIBSVM file's bytes ([`Shares`]): the serial model, bit
/// for bit; a bad line stops every rank with its line in the whole file.
#[test]
fn shares_of_one_file_give_the_serial_model_and_whole_file_lines() {
    use sigmax::collective::Shares;
    use sigmax::data::{Format, LoadOptions};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/heart_scale");
    let load = LoadOptions {
        format: Some(Format::Libsvm),
        ..LoadOptions::default()
    };
    let opts = TrainOptions {
        preconditioner: PreconditionerChoice::Diagonal,
        ..TrainOptions::default()
    };
    let whole = sigmax::data::load(&path, &load).unwrap();
    let one = train(&whole, &opts, None).unwrap();
    let read_and_fit = |shares: &Shares| -> Vec<sigmax::Result<sigmax::train::Trained>> {
        let group = InProcess::group(3, Duration::from_secs(60));
        std::thread::scope(|scope| {
            let handles: Vec<_> = group
                .into_iter()
                .map(|c| {
                    let opts = &opts;
                    scope.spawn(move || {
                        let mut share = shares.read(&c)?;
                        assert_eq!(share.shape.n_rows(), 270);
                        fit(&mut share.data, &opts.clone().check()?, &c, None)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let shares = Shares {
        data: path.clone(),
        load: load.clone(),
        weights: None,
        cache: false,
    };
    assert_every_rank_has(&one, read_and_fit(&shares), "heart_scale in 3 byte ranges");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.svm");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 199 {
                format!("{l} 3:abc")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let shares = Shares {
        data: bad.clone(),
        load,
        weights: None,
        cache: false,
    };
    for (rank, fit) in read_and_fit(&shares).into_iter().enumerate() {
        let message = fit.err().expect("a bad line is an error").to_string();
        assert!(
            message.contains(&format!("{}:200:", bad.display())),
            "rank {rank}: {message}"
        );
    }
}
