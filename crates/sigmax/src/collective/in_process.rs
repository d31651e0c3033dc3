//! Ranks as threads of one process: the collective the library's tests run a
//! distributed fit on (P threads, each with its share of the rows, give the model of
//! one), and a reference for a backend's behaviour. A rank that stops taking part (its
//! handle dropped, or a thread that panicked) makes every later wait of the others an
//! error after `timeout`, never a hang.

use super::wire::{f64_bytes, max_parts, sum_parts, u64_bytes};
use super::{peer_error, Collective};
use crate::error::Result;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One rank's handle on a group made by [`InProcess::group`].
pub struct InProcess {
    rank: usize,
    hub: Arc<Hub>,
}

struct Hub {
    size: usize,
    timeout: Duration,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The collective operation under way: each rank's contribution, and how many ranks
    /// have taken the result (the next operation starts once all have).
    round: u64,
    deposits: Vec<Option<Vec<u8>>>,
    taken: usize,
    result: Option<Arc<Vec<Vec<u8>>>>,
    /// Point-to-point messages by (from, to).
    mail: HashMap<(usize, usize), VecDeque<Vec<u8>>>,
    /// Ranks whose handle was dropped.
    gone: Vec<bool>,
}

impl InProcess {
    /// `size` handles, one per rank, whose waits fail after `timeout`.
    pub fn group(size: usize, timeout: Duration) -> Vec<InProcess> {
        let hub = Arc::new(Hub {
            size,
            timeout,
            state: Mutex::new(State {
                deposits: vec![None; size],
                gone: vec![false; size],
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| InProcess {
                rank,
                hub: Arc::clone(&hub),
            })
            .collect()
    }

    /// Every rank's bytes, in rank order, once all ranks have given theirs; an error if
    /// the ranks called different operations (`op`: its name, and its length where every
    /// rank must give the same).
    fn exchange(&self, op: &str, mine: &[u8]) -> Result<Arc<Vec<Vec<u8>>>> {
        let all = self.exchange_raw(&[op.as_bytes(), b"\0", mine].concat())?;
        let split = |b: &[u8]| {
            let at = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            (String::from_utf8_lossy(&b[..at]).into_owned(), at)
        };
        let (first, _) = split(&all[0]);
        if let Some(r) = all.iter().position(|b| split(b).0 != first) {
            return Err(peer_error(
                self,
                format!(
                    "the processes called different operations: process 0 {first}, process {r} {}",
                    split(&all[r]).0
                ),
            ));
        }
        Ok(Arc::new(
            all.iter().map(|b| b[split(b).1 + 1..].to_vec()).collect(),
        ))
    }

    fn exchange_raw(&self, mine: &[u8]) -> Result<Arc<Vec<Vec<u8>>>> {
        let hub = &*self.hub;
        let deadline = Instant::now() + hub.timeout;
        let mut s = hub.state.lock().unwrap_or_else(|e| e.into_inner());
        // Wait for the last operation's result to be taken by everyone.
        while s.result.is_some() {
            s = self.wait(s, deadline, "the last collective operation to end", None)?;
        }
        let round = s.round;
        s.deposits[self.rank] = Some(mine.to_vec());
        if s.deposits.iter().all(Option::is_some) {
            let all = s.deposits.iter_mut().map(|d| d.take().unwrap()).collect();
            s.result = Some(Arc::new(all));
            s.taken = 0;
            hub.changed.notify_all();
        }
        while s.round == round && s.result.is_none() {
            s = self.wait(
                s,
                deadline,
                "every process to join a collective operation",
                None,
            )?;
        }
        let all = Arc::clone(s.result.as_ref().unwrap());
        s.taken += 1;
        if s.taken == hub.size {
            s.result = None;
            s.round += 1;
            hub.changed.notify_all();
        }
        Ok(all)
    }

    /// Waits for a change, or fails: when one of `needed` (a collective operation needs
    /// every rank, a message its sender) has left, or at the deadline.
    fn wait<'a>(
        &self,
        s: std::sync::MutexGuard<'a, State>,
        deadline: Instant,
        what: &str,
        needed: Option<usize>,
    ) -> Result<std::sync::MutexGuard<'a, State>> {
        let left_group = match needed {
            None => s.gone.iter().any(|&g| g),
            Some(r) => s.gone[r],
        };
        if left_group {
            return Err(peer_error(
                self,
                format!("a process left the group while waiting for {what}"),
            ));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(peer_error(
                self,
                format!(
                    "waited {:?} for {what}; a process is lost or stuck",
                    self.hub.timeout
                ),
            ));
        }
        let (s, _) = self
            .hub
            .changed
            .wait_timeout(s, left)
            .unwrap_or_else(|e| e.into_inner());
        Ok(s)
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let mut s = self.hub.state.lock().unwrap_or_else(|e| e.into_inner());
        s.gone[self.rank] = true;
        self.hub.changed.notify_all();
    }
}

impl Collective for InProcess {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.hub.size
    }

    fn sum(&self, v: &mut [f64]) -> Result<()> {
        let all = self.exchange(&format!("sum of {}", v.len()), &f64_bytes(v))?;
        sum_parts(v, &all);
        Ok(())
    }

    fn max(&self, v: &mut [u64]) -> Result<()> {
        let all = self.exchange(&format!("max of {}", v.len()), &u64_bytes(v))?;
        max_parts(v, &all);
        Ok(())
    }

    fn all_gather(&self, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self.exchange("all-gather", mine)?.as_ref().clone())
    }

    fn send(&self, to: usize, bytes: &[u8]) -> Result<()> {
        if to >= self.hub.size {
            return Err(peer_error(self, format!("no process {to} to send to")));
        }
        let mut s = self.hub.state.lock().unwrap_or_else(|e| e.into_inner());
        s.mail
            .entry((self.rank, to))
            .or_default()
            .push_back(bytes.to_vec());
        self.hub.changed.notify_all();
        Ok(())
    }

    fn receive(&self, from: usize) -> Result<Vec<u8>> {
        let deadline = Instant::now() + self.hub.timeout;
        let mut s = self.hub.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(m) = s
                .mail
                .get_mut(&(from, self.rank))
                .and_then(VecDeque::pop_front)
            {
                return Ok(m);
            }
            s = self.wait(
                s,
                deadline,
                &format!("a message from process {from}"),
                Some(from),
            )?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T: Send>(size: usize, f: impl Fn(InProcess) -> T + Sync) -> Vec<T> {
        let group = InProcess::group(size, Duration::from_secs(10));
        std::thread::scope(|scope| {
            let handles: Vec<_> = group.into_iter().map(|c| scope.spawn(|| f(c))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn sums_maxima_gathers_and_messages_reach_every_rank() {
        let out = run(3, |c| {
            let r = c.rank() as f64;
            let mut v = vec![r, 10.0 * r];
            c.sum(&mut v).unwrap();
            let mut m = vec![c.rank() as u64 * 7, 5];
            c.max(&mut m).unwrap();
            let all = c.all_gather(&[c.rank() as u8; 2][..c.rank()]).unwrap();
            // Each rank sends to the next, twice in order.
            let next = (c.rank() + 1) % 3;
            c.send(next, b"one").unwrap();
            c.send(next, &[c.rank() as u8]).unwrap();
            let prev = (c.rank() + 2) % 3;
            let got = (c.receive(prev).unwrap(), c.receive(prev).unwrap());
            let from_one = c.broadcast(1, &[c.rank() as u8 + 10]).unwrap();
            assert_eq!(from_one, vec![11]);
            c.barrier().unwrap();
            (v, m, all, got)
        });
        for (rank, (v, m, all, got)) in out.into_iter().enumerate() {
            assert_eq!(v, vec![3.0, 30.0]);
            assert_eq!(m, vec![14, 5]);
            assert_eq!(all, vec![vec![], vec![1], vec![2, 2]]);
            assert_eq!(got, (b"one".to_vec(), vec![((rank + 2) % 3) as u8]));
        }
    }

    #[test]
    fn a_rank_that_leaves_is_an_error_for_the_others_not_a_hang() {
        let out = run(3, |c| {
            if c.rank() == 2 {
                drop(c);
                return None;
            }
            let mut v = vec![1.0];
            Some(c.sum(&mut v).map_err(|e| e.to_string()))
        });
        for r in out.into_iter().flatten() {
            let e = r.unwrap_err();
            assert!(e.contains("left the group"), "{e}");
        }
    }
}
