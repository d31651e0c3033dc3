//! `sigmax train --distributed` under `mpirun`: data-parallel training on MPI, as
//! MPI-LIBLINEAR does it (Zhuang, Chin, Juan & Lin, PAKDD 2015): rows are split across
//! the processes, the parameters are replicated, and every process runs the same solver;
//! each pass over the data ends in an allreduce of its accumulator (the library's
//! `Reducer` seam), so each function value costs an allreduce of a few numbers and each
//! gradient or Hessian-vector product one of a parameter-sized vector. Classes, the
//! number of features, Σ weights (so the default λ) and ‖∇J(0)‖ are global; the rows
//! at the edges of the shares move so that every process holds whole blocks of rows, and
//! every sum is the exact sum of the same blocks (`sigmax::sum`), so every process holds
//! the model one process would have found, bit for bit.
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
    use crate::train_cmd::with_flag;
    use anyhow::Context;
    use mpi::collective::SystemOperation;
    use mpi::datatype::PartitionMut;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use sigmax::data::{load_share_cached, read_libsvm_share, Dataset, Format};
    use sigmax::model::save_model;
    use sigmax::objective::Reducer;
    use sigmax::solver::{PreconditionerChoice, SolverChoice};
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::time::Instant;

    /// Sums through MPI_Allreduce, counting bytes and time.
    struct MpiReducer<'c> {
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
    // thread only. The library calls `Reducer::sum` from the thread that runs the fit
    // (after each pass's parallel part, never inside it), which is the main thread here;
    // the mutex only guards the counters.
    unsafe impl Sync for MpiReducer<'_> {}

    impl MpiReducer<'_> {
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

    impl Reducer for MpiReducer<'_> {
        fn sum(&self, partial: &mut [f64]) {
            let started = Instant::now();
            let mut total = vec![0.0; partial.len()];
            self.world
                .all_reduce_into(&partial[..], &mut total[..], SystemOperation::sum());
            partial.copy_from_slice(&total);
            self.count(started, partial.len(), 8 * partial.len());
        }

        fn max_index(&self, partial: &mut [i32]) {
            let started = Instant::now();
            let mut max = vec![0i32; partial.len()];
            self.world
                .all_reduce_into(&partial[..], &mut max[..], SystemOperation::max());
            partial.copy_from_slice(&max);
            self.count(started, partial.len(), 4 * partial.len());
        }
    }

    /// Moves the rows at the edges of the shares to the process before, so that every
    /// process holds whole blocks of `sigmax::sum::block_rows(n)` rows (in file order):
    /// its sums are then the blocks' sums one process would add, and the model is the
    /// one process's model bit for bit. Rows only move to lower ranks, less than one
    /// block per process; a process may end up with none (fewer blocks than processes).
    fn align_to_blocks(world: &SimpleCommunicator, data: Dataset, rows: &[u64]) -> Result<Dataset> {
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let mut starts = vec![0usize];
        for &r in rows {
            starts.push(starts.last().unwrap() + r as usize);
        }
        let n = starts[size];
        let block = sigmax::sum::block_rows(n);
        // Process q holds rows targets[q]..targets[q + 1] afterwards.
        let targets: Vec<usize> = (0..=size)
            .map(|q| match q {
                0 => 0,
                q if q == size => n,
                q => starts[q].next_multiple_of(block).min(n),
            })
            .collect();
        let overlap = |a: usize, b: usize, q: usize| a.max(targets[q])..b.min(targets[q + 1]);
        let (mine, end) = (starts[rank], starts[rank + 1]);
        let local = |r: std::ops::Range<usize>| (r.start - mine..r.end - mine).collect::<Vec<_>>();
        for q in 0..rank {
            let give = overlap(mine, end, q);
            if !give.is_empty() {
                let bytes = sigmax::data::encode_dataset(&data.select(&local(give)));
                send_bytes(world, q, &bytes);
            }
        }
        // Most processes keep all their rows: then no copy (the data can be most of memory).
        let keep = overlap(mine, end, rank);
        let kept = if keep == (mine..end) {
            data
        } else {
            data.select(&local(keep))
        };
        let mut parts = vec![kept];
        for r in rank + 1..size {
            if !overlap(starts[r], starts[r + 1], rank).is_empty() {
                let bytes = receive_bytes(world, r);
                let part = sigmax::data::decode_cache(&bytes)
                    .map_err(|e| anyhow::anyhow!("rows from process {r}: {e}"))?;
                parts.push(part);
            }
        }
        Ok(Dataset::concat(parts)?)
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

    /// CSV files of the processes joined by column, not by position: with headers, every
    /// file must name the same columns (each process puts its columns in process 0's
    /// order); without, every file must have as many columns. (Positions alone trained
    /// on swapped columns, and narrower files were padded with zeros.)
    fn agree_on_columns(
        world: &SimpleCommunicator,
        data: Dataset,
        whole: &std::path::Path,
    ) -> Result<Dataset> {
        let mine = format!(
            "{}\0{}",
            data.n_features(),
            data.feature_names.as_deref().unwrap_or_default().join("\0")
        );
        let all: Vec<(usize, Option<Vec<String>>)> = all_gather_bytes(world, mine.as_bytes())
            .iter()
            .map(|b| {
                let text = String::from_utf8_lossy(b);
                let mut parts = text.split('\0');
                let width = parts.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let names: Vec<String> = parts.map(str::to_string).collect();
                (width, (names.len() == width && width > 0).then_some(names))
            })
            .collect();
        let share = |r: usize| format!("{}.{r}", whole.display());
        let (width0, names0) = &all[0];
        for (r, (width, names)) in all.iter().enumerate().skip(1) {
            match (names0, names) {
                (Some(_), None) | (None, Some(_)) => anyhow::bail!(
                    "{} has a header and {} has none: give every process's file a header, or none",
                    share(if names0.is_some() { 0 } else { r }),
                    share(if names0.is_some() { r } else { 0 })
                ),
                (None, None) if width != width0 => anyhow::bail!(
                    "{} has {width} feature columns, {} has {width0}: every process's file needs the same columns",
                    share(r),
                    share(0)
                ),
                _ => {}
            }
        }
        match names0 {
            Some(names) => data
                .with_features_named(names)
                .with_context(|| format!("{} against {}", share(world.rank() as usize), share(0))),
            None => Ok(data),
        }
    }

    /// `Ok` on every process, or the first process's error (in rank order) on all of them.
    fn agree<T>(world: &SimpleCommunicator, result: Result<T>) -> Result<T> {
        let (rank, size) = (world.rank(), world.size());
        let message = match &result {
            Ok(_) => Vec::new(),
            Err(e) => format!("process {rank} of {size}: {e:#}").into_bytes(),
        };
        let failures = all_gather_bytes(world, &message);
        match failures.iter().find(|m| !m.is_empty()) {
            Some(first) => anyhow::bail!("{}", String::from_utf8_lossy(first)),
            None => result,
        }
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

        // Read; then every process learns whether any failed, and the first failure
        // (by file position) is everyone's error.
        let share = read_share(&args, rank, size);
        let my_lines = share.as_ref().map_or(0, |s| s.lines) as u64;
        let mut lines = vec![0u64; size];
        world.all_gather_into(&my_lines, &mut lines[..]);
        let share = agree(
            &world,
            share.map_err(|e| {
                // Lines are counted from the share's start; the shares before it hold
                // `before` lines (all of them were read: this is the first failure).
                let before = lines[..rank].iter().sum::<u64>() as usize;
                match e.downcast_ref::<sigmax::Error>() {
                    Some(sigmax::Error::Parse {
                        path,
                        line,
                        message,
                    }) => anyhow::anyhow!("{}:{}: {message}", path.display(), line + before),
                    _ => e,
                }
            }),
        )?;
        let Share {
            mut data,
            split_by_bytes,
            ..
        } = share;
        let mut rows = vec![0u64; size];
        world.all_gather_into(&(data.n_rows() as u64), &mut rows[..]);
        if split_by_bytes {
            if let Some(file) = &args.weights {
                let before = rows[..rank].iter().sum::<u64>() as usize;
                let total = rows.iter().sum::<u64>() as usize;
                data = agree(&world, with_weight_rows(data, file, before, total))?;
            }
        }

        if !split_by_bytes && args.data_args.load_options(&args.data).format == Some(Format::Csv) {
            data = agree(&world, agree_on_columns(&world, data, &args.data))?;
        }

        // Agree on the classes and the number of features.
        let names = data.classes.join("\0");
        let all_names: Vec<String> = all_gather_bytes(&world, names.as_bytes())
            .into_iter()
            .flat_map(|b| {
                String::from_utf8_lossy(&b)
                    .split('\0')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let classes = Dataset::union_of_classes(&all_names);
        let mut n_features = 0u64;
        world.all_reduce_into(
            &(data.n_features() as u64),
            &mut n_features,
            SystemOperation::max(),
        );
        let n_rows: u64 = rows.iter().sum();
        let data = data.with_global_shape(&classes, n_features as usize)?;
        let mut data = agree(&world, align_to_blocks(&world, data, &rows))?;
        let load_seconds = started.elapsed().as_secs_f64();

        let mut opts = args.options()?;
        opts.validate().map_err(with_flag)?;
        let kind = opts.resolve_model(classes.len()).map_err(with_flag)?;
        let solver = opts.resolve_solver(kind, &data.x, n_rows as f64, false);
        if !matches!(
            solver,
            SolverChoice::Newton | SolverChoice::Lbfgs | SolverChoice::Gd | SolverChoice::OwlQn
        ) {
            anyhow::bail!(
                "solver {} walks the rows itself and cannot run distributed; use newton, lbfgs, gd or owlqn (the hinge SVM needs dual-cd: use --model squared-hinge-svm)",
                solver.name()
            );
        }
        opts.solver = solver;
        // The sampled Hessian would be drawn from each process's own rows (and differ);
        // the diagonal is a pass over the data like any other, summed across processes.
        if matches!(
            opts.preconditioner,
            PreconditionerChoice::Auto | PreconditionerChoice::SampledHessian
        ) {
            opts.preconditioner = PreconditionerChoice::Diagonal;
        }

        if let Some(w) = args.warm_start(&data, opts.intercept)? {
            opts.warm_start = Some(w);
        }
        let reducer = MpiReducer {
            world: &world,
            stats: Mutex::new(CommStats::default()),
        };
        // Cross-validation: every process deals its rows into the folds with its own
        // seed; the fits and the scores are global.
        let cv = match args.cv {
            Some(k) => {
                let total =
                    sigmax::sum::total_weight(&reducer, data.n_rows(), data.weights.as_deref());
                let grid = args.lambda_grid(opts.resolve_lambda(total))?;
                let seed = args.seed.wrapping_add(rank as u64);
                let report =
                    sigmax::cv::cross_validate_over(&data, &opts, &grid, k, seed, &reducer)
                        .map_err(with_flag)?;
                opts.lambda = Some(report.rows[report.best].lambda);
                opts.c = None;
                Some(report)
            }
            None => None,
        };
        let fit = sigmax::train::train_over_in_place(&mut data, &opts, None, &reducer)
            .map_err(with_flag)
            .with_context(|| format!("training on {} ({size} processes)", args.data.display()))?;
        // Every process must hold the same model: compare the objective's bits.
        let bits = fit.report.objective.to_bits();
        let (mut lo, mut hi) = (0u64, 0u64);
        world.all_reduce_into(&bits, &mut lo, SystemOperation::min());
        world.all_reduce_into(&bits, &mut hi, SystemOperation::max());
        anyhow::ensure!(
            lo == hi,
            "the processes disagree on the objective; not writing a model"
        );
        let stats = *reducer.stats.lock().unwrap();
        if rank != 0 {
            return Ok(());
        }
        let out = args.output_path();
        save_model(&fit.model, &out)?;
        let r = &fit.report;
        if args.json {
            outln!(
                "{}",
                serde_json::json!({
                    "objective": r.objective,
                    "grad_norm": r.grad_norm,
                    "iterations": r.iterations,
                    "converged": r.converged,
                    "hess_vec_products": r.hess_vec_products,
                    "solver": r.solver,
                    "model": fit.model.kind.name(),
                    "lambda": fit.model.lambda,
                    "n_rows": n_rows,
                    "n_features": n_features,
                    "classes": classes,
                    "ranks": size,
                    "allreduce_calls": stats.calls,
                    "bytes_communicated": stats.bytes,
                    "communication_seconds": stats.seconds,
                    "small_allreduces": stats.small_calls,
                    "small_allreduce_seconds": stats.small_seconds,
                    "seconds": r.seconds,
                    "load_seconds": load_seconds,
                    "model_path": out,
                    "cv": cv,
                })
            )?;
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
