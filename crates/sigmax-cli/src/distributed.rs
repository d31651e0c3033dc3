//! `sigmax train --distributed` under `mpirun`: data-parallel training on MPI, as
//! MPI-LIBLINEAR does it (Zhuang, Chin, Juan & Lin, PAKDD 2015): rows are split across
//! the processes, the parameters are replicated, and every process runs the same solver;
//! each pass over the data ends in an allreduce of its accumulator, so each function
//! value costs an allreduce of a few numbers and each gradient or Hessian-vector product
//! one of a parameter-sized vector. This module is the MPI backend of the library's
//! [`sigmax::collective::Collective`] and the flags' translation; reading each process's
//! share ([`sigmax::collective::Shares`]: `DATA.k` files or 1/P of a LIBSVM file's
//! bytes), the agreement of the processes (classes, features, rows moved to whole blocks
//! so that every process holds the model one process would have found, bit for bit; CSV
//! headers; the first error) and the fit ([`sigmax::fit::fit`]) are the library's.
//! Process 0 writes the model, atomically, once.

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
    use crate::flags::with_flag;
    use crate::out::outln;
    use crate::train_cmd::{json_report, with_lambda, FitSummary};
    use anyhow::Context;
    use mpi::collective::SystemOperation;
    use mpi::datatype::PartitionMut;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use sigmax::collective::{Collective, Counted, Reducing, Share, Shares};
    use sigmax::fit::fit;
    use sigmax::model::save_model;
    use std::time::Instant;

    /// The library's collective on MPI.
    struct MpiCollective<'c> {
        world: &'c SimpleCommunicator,
    }

    // SAFETY: MPI runs with the `Single` threading level, which allows MPI calls from one
    // thread only. The library calls the collective from the thread that runs the fit
    // (after each pass's parallel part, never inside it), which is the main thread here.
    unsafe impl Sync for MpiCollective<'_> {}

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
            let mut total = vec![0.0; v.len()];
            self.world
                .all_reduce_into(&v[..], &mut total[..], SystemOperation::sum());
            v.copy_from_slice(&total);
            Ok(())
        }

        fn max(&self, v: &mut [u64]) -> sigmax::Result<()> {
            let mut max = vec![0u64; v.len()];
            self.world
                .all_reduce_into(&v[..], &mut max[..], SystemOperation::max());
            v.copy_from_slice(&max);
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

    pub fn run(args: TrainArgs) -> Result<()> {
        args.refuse_overwriting()?;
        let universe = mpi::initialize().context("MPI could not be initialized")?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let started = Instant::now();
        let mpi = MpiCollective { world: &world };
        let c = Counted::new(&mpi);
        let shares = Shares {
            data: args.data.clone(),
            load: args.data_args.load_options(&args.data),
            weights: args.weights.clone(),
            cache: args.data_args.cache,
        };
        let Share {
            mut data,
            shape,
            cache,
        } = shares.read(&c).map_err(with_flag)?;
        if let Some(used) = cache {
            crate::data_args::report_cache_use(used);
        }
        let (classes, n_features, n_rows) = (&shape.classes, shape.n_features, shape.n_rows());
        let load_seconds = started.elapsed().as_secs_f64();

        let mut settings = args.settings(&data)?;
        // Cross-validation: every process deals its rows into the folds with its own
        // seed; the fits and the scores are global.
        let cv = match args.cv {
            Some(k) => {
                let total = sigmax::sum::total_weight(
                    &Reducing::new(&c),
                    data.n_rows(),
                    data.weights.as_deref(),
                );
                let grid = args.lambda_grid(settings.options().resolve_lambda(total))?;
                let seed = args.seed.wrapping_add(rank as u64);
                let report = sigmax::cv::cross_validate(&data, &settings, &grid, k, seed, &c)
                    .map_err(with_flag)?;
                settings = with_lambda(settings, report.rows[report.best].lambda)?;
                Some(report)
            }
            None => None,
        };
        let fit_started = Instant::now();
        let traffic_before = c.traffic();
        let fit = fit(&mut data, &settings, &c, None)
            .map_err(with_flag)
            .with_context(|| format!("training on {} ({size} processes)", args.data.display()))?;
        let fit_seconds = fit_started.elapsed().as_secs_f64();
        // The fit's reductions (not the agreement's, nor cross-validation's).
        let stats = c.traffic() - traffic_before;
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
