//! `sigmax train --distributed` under `mpirun`: data-parallel training on MPI, as
//! MPI-LIBLINEAR does it (Zhuang, Chin, Juan & Lin, PAKDD 2015): rows are split across
//! the processes, the parameters are replicated, and every process runs the same solver;
//! each pass over the data ends in an allreduce of its accumulator, so each function
//! value costs an allreduce of a few numbers and each gradient or Hessian-vector product
//! one of a parameter-sized vector. This module is the MPI side of the library's
//! [`sigmax::collective::Collective`] and the reading of each process's files; the
//! agreement of the processes (classes, features, rows moved to whole blocks so that
//! every process holds the model one process would have found, bit for bit; CSV headers;
//! the first error) and the fit's rules are the library's (`sigmax::collective`).
//!
//! Each process reads only its share: `DATA.0`, `DATA.1`, … when those exist (one file
//! per process, any format), else the lines of LIBSVM file `DATA` that start in its
//! 1/P of the bytes (with `--cache`, through a cache of that share; `--weights W` then
//! gives each process the rows of `W` that match its share). An error on any process (a
//! bad line, a missing share) stops every process with that error; process 0 writes the
//! model, atomically, once.

use crate::train_cmd::TrainArgs;
use anyhow::Result;

#[cfg(not(feature = "mpi"))]
pub fn run(_args: TrainArgs) -> Result<()> {
    anyhow::bail!(
        "--distributed needs a sigmax built with MPI: cargo build --release -p sigmax-cli --features mpi (see the README, \"Training on a cluster\")"
    )
}

#[cfg(feature = "mpi")]
pub use with_mpi::run;

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::*;
    use crate::out::outln;
    use crate::train_cmd::{json_report, with_flag, FitSummary};
    use anyhow::Context;
    use mpi::collective::SystemOperation;
    use mpi::datatype::PartitionMut;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use sigmax::collective::agreement::{agree, agree_on_columns, agree_on_data, gather_counts};
    use sigmax::collective::{distributed_options, train_collective, Collective, Reducing};
    use sigmax::data::{load_share_cached, read_libsvm_share, Dataset, Format};
    use sigmax::model::save_model;
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::time::Instant;

    /// The library's collective on MPI, counting the allreduces' bytes and time.
    struct MpiCollective<'c> {
        world: &'c SimpleCommunicator,
        stats: Mutex<CommStats>,
    }

    /// Allreduces of a few numbers (function values, S) and of parameter-sized vectors
    /// (gradients, Hessian-vector products), kept apart: the first measure the latency α,
    /// the second the cost per byte β of an α–β model.
    #[derive(Default, Clone, Copy)]
    struct CommStats {
        calls: u64,
        bytes: u64,
        seconds: f64,
        small_calls: u64,
        small_seconds: f64,
    }

    /// Up to this many numbers an allreduce counts as small (latency-bound).
    const SMALL: usize = 16;

    // SAFETY: MPI runs with the `Single` threading level, which allows MPI calls from one
    // thread only. The library calls the collective from the thread that runs the fit
    // (after each pass's parallel part, never inside it), which is the main thread here;
    // the mutex only guards the counters.
    unsafe impl Sync for MpiCollective<'_> {}

    impl MpiCollective<'_> {
        fn count(&self, started: Instant, len: usize, bytes: usize) {
            let mut s = self.stats.lock().unwrap();
            let seconds = started.elapsed().as_secs_f64();
            s.calls += 1;
            s.bytes += bytes as u64;
            s.seconds += seconds;
            if len <= SMALL {
                s.small_calls += 1;
                s.small_seconds += seconds;
            }
        }
    }

    // MPI's default error handler aborts every process on a failure: these never return
    // an error of their own.
    impl Collective for MpiCollective<'_> {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }

        fn size(&self) -> usize {
            self.world.size() as usize
        }

        fn sum(&self, v: &mut [f64]) -> sigmax::Result<()> {
            let started = Instant::now();
            let mut total = vec![0.0; v.len()];
            self.world
                .all_reduce_into(&v[..], &mut total[..], SystemOperation::sum());
            v.copy_from_slice(&total);
            self.count(started, v.len(), 8 * v.len());
            Ok(())
        }

        fn max(&self, v: &mut [u64]) -> sigmax::Result<()> {
            let started = Instant::now();
            let mut max = vec![0u64; v.len()];
            self.world
                .all_reduce_into(&v[..], &mut max[..], SystemOperation::max());
            v.copy_from_slice(&max);
            self.count(started, v.len(), 8 * v.len());
            Ok(())
        }

        fn all_gather(&self, mine: &[u8]) -> sigmax::Result<Vec<Vec<u8>>> {
            Ok(all_gather_bytes(self.world, mine))
        }

        fn send(&self, to: usize, bytes: &[u8]) -> sigmax::Result<()> {
            send_bytes(self.world, to, bytes);
            Ok(())
        }

        fn receive(&self, from: usize) -> sigmax::Result<Vec<u8>> {
            Ok(receive_bytes(self.world, from))
        }
    }

    /// Every process's bytes, in rank order. (Each message travels with one leading byte:
    /// OpenMPI refuses an Allgatherv whose buffers are all empty.)
    fn all_gather_bytes(world: &SimpleCommunicator, mine: &[u8]) -> Vec<Vec<u8>> {
        let mine = [&[b'#'][..], mine].concat();
        let mine = &mine[..];
        let size = world.size() as usize;
        let mut counts = vec![0i32; size];
        world.all_gather_into(&(mine.len() as i32), &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0, |at, &c| {
                let d = *at;
                *at += c;
                Some(d)
            })
            .collect();
        let mut all = vec![0u8; counts.iter().map(|&c| c as usize).sum()];
        {
            let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            world.all_gather_varcount_into(mine, &mut part);
        }
        (0..size)
            .map(|r| all[displs[r] as usize + 1..(displs[r] + counts[r]) as usize].to_vec())
            .collect()
    }

    /// MPI counts elements in an `int`: rows move in messages of at most 1 GiB (less than
    /// a block of dense rows can weigh), after their total length.
    const MESSAGE_BYTES: usize = 1 << 30;

    fn send_bytes(world: &SimpleCommunicator, to: usize, bytes: &[u8]) {
        let process = world.process_at_rank(to as i32);
        process.send(&(bytes.len() as u64));
        for piece in bytes.chunks(MESSAGE_BYTES) {
            process.send(piece);
        }
    }

    fn receive_bytes(world: &SimpleCommunicator, from: usize) -> Vec<u8> {
        let process = world.process_at_rank(from as i32);
        let (len, _) = process.receive::<u64>();
        let mut bytes = Vec::with_capacity(len as usize);
        while bytes.len() < len as usize {
            bytes.extend(process.receive_vec::<u8>().0);
        }
        bytes
    }

    /// What one process read.
    struct Share {
        data: Dataset,
        /// Lines of `DATA` in the share (0 for one file per process).
        lines: usize,
        /// A share of one file split by bytes (its weights are rows of one weight file).
        split_by_bytes: bool,
    }

    /// This process's share: `DATA.k` (with `W.k`), or the lines of `DATA` that start in
    /// its 1/P of the bytes (through its own cache with `--cache`).
    fn read_share(args: &TrainArgs, rank: usize, size: usize) -> Result<Share> {
        let per_rank = PathBuf::from(format!("{}.{rank}", args.data.display()));
        let first = PathBuf::from(format!("{}.0", args.data.display()));
        if first.exists() && !args.data.exists() {
            let d = args.data_args.load_share(&per_rank, &args.data)?;
            // A weight file per process too: W.0, W.1, … beside DATA.0, DATA.1, ….
            let weights = args
                .weights
                .as_ref()
                .map(|w| PathBuf::from(format!("{}.{rank}", w.display())));
            let data = crate::data_args::with_weight_file(d, weights.as_deref())?;
            return Ok(Share {
                data,
                lines: 0,
                split_by_bytes: false,
            });
        }
        let opts = args.data_args.load_options(&args.data);
        if opts.format != Some(Format::Libsvm) {
            anyhow::bail!(
                "{}: only LIBSVM files are split by bytes; give one file per process ({}.0, {}.1, …)",
                args.data.display(),
                args.data.display(),
                args.data.display()
            );
        }
        let (data, lines) = if args.data_args.cache {
            let (d, lines, used) = load_share_cached(&args.data, &opts, rank, size)?;
            crate::data_args::report_cache_use(used);
            (d, lines)
        } else {
            read_libsvm_share(&args.data, &opts, rank, size)?
        };
        Ok(Share {
            data,
            lines,
            split_by_bytes: true,
        })
    }

    /// The share's rows of the weight file `W` (one weight per row of the whole `DATA`):
    /// rows_before.. of n_rows.
    fn with_weight_rows(
        data: Dataset,
        file: &std::path::Path,
        rows_before: usize,
        n_rows: usize,
    ) -> Result<Dataset> {
        let keep = rows_before..rows_before + data.n_rows();
        let w = sigmax::data::read_weights_range(file, n_rows, keep)?;
        data.with_weights(w)
            .with_context(|| file.display().to_string())
    }

    pub fn run(args: TrainArgs) -> Result<()> {
        let universe = mpi::initialize().context("MPI could not be initialized")?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let started = Instant::now();
        let c = MpiCollective {
            world: &world,
            stats: Mutex::new(CommStats::default()),
        };

        // Read; then every process learns whether any failed, and the first failure
        // (by file position) is everyone's error.
        let share = read_share(&args, rank, size);
        let lines = gather_counts(&c, share.as_ref().map_or(0, |s| s.lines) as u64)?;
        let share = agree(
            &c,
            share.map_err(|e| {
                // Lines are counted from the share's start; the shares before it hold
                // `before` lines (all of them were read: this is the first failure).
                let before = lines[..rank].iter().sum::<u64>() as usize;
                match e.downcast::<sigmax::Error>() {
                    Ok(sigmax::Error::Parse {
                        path,
                        line,
                        message,
                    }) => sigmax::Error::Parse {
                        path,
                        line: line + before,
                        message,
                    },
                    Ok(e) => e,
                    Err(e) => sigmax::Error::Unsupported(format!("{e:#}")),
                }
            }),
        )?;
        let Share {
            mut data,
            split_by_bytes,
            ..
        } = share;
        if split_by_bytes {
            if let Some(file) = &args.weights {
                let rows = gather_counts(&c, data.n_rows() as u64)?;
                let before = rows[..rank].iter().sum::<u64>() as usize;
                let total = rows.iter().sum::<u64>() as usize;
                let weighted = with_weight_rows(data, file, before, total)
                    .map_err(|e| sigmax::Error::Unsupported(format!("{e:#}")));
                data = agree(&c, weighted)?;
            }
        }
        if !split_by_bytes && args.data_args.load_options(&args.data).format == Some(Format::Csv) {
            let share = |r: usize| format!("{}.{r}", args.data.display());
            data = agree_on_columns(&c, data, &share)?;
        }
        // Classes and features made global, rows moved to whole blocks.
        let (mut data, shape) = agree_on_data(&c, Ok(data))?;
        let (classes, n_features, n_rows) = (&shape.classes, shape.n_features, shape.n_rows());
        let load_seconds = started.elapsed().as_secs_f64();

        let mut opts = args.options()?;
        if let Some(w) = args.warm_start(&data, opts.intercept)? {
            opts.warm_start = Some(w);
        }
        // Cross-validation: every process deals its rows into the folds with its own
        // seed; the fits and the scores are global.
        let cv = match args.cv {
            Some(k) => {
                let reducer = Reducing::new(&c);
                let opts_d = distributed_options(&data, &opts, &reducer).map_err(with_flag)?;
                let total =
                    sigmax::sum::total_weight(&reducer, data.n_rows(), data.weights.as_deref());
                let grid = args.lambda_grid(opts_d.resolve_lambda(total))?;
                let seed = args.seed.wrapping_add(rank as u64);
                let report =
                    sigmax::cv::cross_validate_over(&data, &opts_d, &grid, k, seed, &reducer)
                        .map_err(with_flag)?;
                opts.lambda = Some(report.rows[report.best].lambda);
                opts.c = None;
                Some(report)
            }
            None => None,
        };
        let fit_started = Instant::now();
        let fit = train_collective(&mut data, &opts, None, &c)
            .map_err(with_flag)
            .with_context(|| format!("training on {} ({size} processes)", args.data.display()))?;
        let fit_seconds = fit_started.elapsed().as_secs_f64();
        // Σ weights (exact) and the weighted training accuracy over every process.
        let total_weight =
            sigmax::sum::total_weight(&Reducing::new(&c), data.n_rows(), data.weights.as_deref());
        let predicted = fit.model.predict(&data.x);
        let right: f64 = (0..data.n_rows())
            .filter(|&i| predicted[i] == data.y[i])
            .map(|i| data.weights.as_ref().map_or(1.0, |w| w[i]))
            .sum();
        let mut right = [right];
        c.sum(&mut right)?;
        let train_accuracy = right[0] / total_weight;
        let stats = *c.stats.lock().unwrap();
        if rank != 0 {
            return Ok(());
        }
        let out = args.output_path();
        save_model(&fit.model, &out)?;
        let r = &fit.report;
        if args.json {
            let j = json_report(&FitSummary {
                fit: &fit,
                n_rows,
                n_features,
                classes,
                train_accuracy,
                total_weight,
                fit_seconds,
                load_seconds,
                model_path: &out,
                cv: cv.as_ref(),
                distributed: Some(serde_json::json!({
                    "ranks": size,
                    "allreduce_calls": stats.calls,
                    "bytes_communicated": stats.bytes,
                    "communication_seconds": stats.seconds,
                    "small_allreduces": stats.small_calls,
                    "small_allreduce_seconds": stats.small_seconds,
                })),
            });
            outln!("{j}")?;
        } else {
            outln!(
                "trained {} on {} with {size} processes: {n_rows} rows, {n_features} features, {} classes",
                fit.model.kind.name(),
                args.data.display(),
                classes.len()
            )?;
            outln!(
                "  {} after {} iterations: objective {:.12} (solver {})",
                if r.converged {
                    "converged"
                } else {
                    "NOT converged"
                },
                r.iterations,
                r.objective,
                r.solver
            )?;
            outln!(
                "  λ = {:.4e}, training accuracy {:.2}%",
                fit.model.lambda,
                100.0 * train_accuracy
            )?;
            outln!(
                "  communication: {} allreduces, {} bytes per process, {:.3} s of {:.3} s",
                stats.calls,
                stats.bytes,
                stats.seconds,
                r.seconds
            )?;
            if let Some(cv) = &cv {
                let best = &cv.rows[cv.best];
                outln!(
                    "  {}-fold cross-validation over {} λ values: best λ = {:.4e} (accuracy {:.4}, log loss {:.5})",
                    cv.folds,
                    cv.rows.len(),
                    best.lambda,
                    best.accuracy,
                    best.log_loss
                )?;
            }
            outln!("  model written to {}", out.display())?;
        }
        Ok(())
    }
}
