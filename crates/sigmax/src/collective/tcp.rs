//! The collective over TCP, for engines without MPI (Dask, Spark), on the pattern of
//! XGBoost's and LightGBM's: the engine does the rendezvous, sigmax the messages.
//!
//! 1. Each process binds its own listener ([`TcpCollective::bind`]: port 0, so the system
//!    picks a free port and the process keeps it: no fixed ports, no race between
//!    releasing a port and binding it again) and publishes [`Listening::address`].
//! 2. The engine gathers the addresses in rank order (Dask: a `distributed.Variable` or
//!    the scheduler; Spark: `BarrierTaskContext.allGather`) and hands them to every
//!    process, with one job token.
//! 3. [`Listening::connect`]: rank i dials every rank below it and accepts every rank
//!    above; each connection opens with a handshake (a magic number, the token, the rank
//!    and the world size) checked on both sides. A connection with a wrong token or size
//!    is dropped and the listener keeps waiting (a stray client cannot end the job); a
//!    dialer whose handshake is refused gets an error.
//!
//! Every frame carries an op code, a sequence number and its length; a frame that is not
//! the one expected is an error. Reads and writes time out; the first error of a process
//! shuts every one of its connections, so its peers fail at their next read instead of
//! waiting for their timeout. Sums are all-to-all (each process sends its numbers to every
//! other and adds them in rank order): exact for the library's sums, whose terms are
//! integers, and fine for the few processes of a machine's workers; a ring would send
//! less for many.

use super::wire::{f64_bytes, max_parts, sum_parts, u64_bytes};
use super::{peer_error, Collective};
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAGIC: &[u8; 8] = b"SIGMAX01";

/// Frame op codes.
const SUM: u8 = 1;
const MAX: u8 = 2;
const GATHER: u8 = 3;
const SEND: u8 = 4;

/// Three handles on one connection: reading and writing go on at once in an exchange,
/// and a failure shuts the connection while a read may be blocked on it.
struct Peer {
    reader: Mutex<TcpStream>,
    writer: Mutex<TcpStream>,
    control: TcpStream,
}

impl Peer {
    fn new(stream: TcpStream) -> std::result::Result<Peer, String> {
        let clone = || stream.try_clone().map_err(|e| e.to_string());
        Ok(Peer {
            writer: Mutex::new(clone()?),
            control: clone()?,
            reader: Mutex::new(stream),
        })
    }
}

/// A bound listener, before the rendezvous.
pub struct Listening {
    listener: TcpListener,
    address: SocketAddr,
}

/// One process's connections to all the others.
pub struct TcpCollective {
    rank: usize,
    size: usize,
    /// By rank; `None` at this process's own rank.
    peers: Vec<Option<Peer>>,
    /// The collective operations so far (the same count on every process).
    sequence: AtomicU64,
}

impl TcpCollective {
    /// A listener on `host` at a port the system picks (`host`: the address the other
    /// processes reach this one at, e.g. the worker's IP; "127.0.0.1" on one machine).
    pub fn bind(host: &str) -> Result<Listening> {
        let listener = TcpListener::bind((host, 0)).map_err(|e| io_error(host, e))?;
        let address = listener.local_addr().map_err(|e| io_error(host, e))?;
        Ok(Listening { listener, address })
    }
}

impl Listening {
    /// "host:port", to publish through the engine.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Connects to every other process: `addresses` are every process's
    /// [`Listening::address`] in rank order (this one's at `rank`), `token` the job's
    /// (the same on every process), `timeout` the longest any step may wait.
    pub fn connect(
        self,
        rank: usize,
        addresses: &[String],
        token: &str,
        timeout: Duration,
    ) -> Result<TcpCollective> {
        let size = addresses.len();
        let fail = |message: String| Error::Peer {
            rank,
            size,
            message,
        };
        if rank >= size {
            return Err(fail(format!("rank {rank} outside a world of {size}")));
        }
        let deadline = Instant::now() + timeout;
        let mut peers: Vec<Option<Peer>> = (0..size).map(|_| None).collect();
        for (to, address) in addresses.iter().enumerate().take(rank) {
            let stream = dial(address, deadline).map_err(&fail)?;
            configure(&stream, timeout).map_err(&fail)?;
            let mut stream = stream;
            write_handshake(&mut stream, token, rank, size).map_err(&fail)?;
            let theirs = read_handshake(&mut stream).map_err(|e| {
                fail(format!(
                    "process {to} at {address} refused the connection ({e}): a different job token or world size?"
                ))
            })?;
            if theirs != (token.to_string(), to, size) {
                return Err(fail(format!(
                    "process {to} at {address} answered as process {} of {} with another job",
                    theirs.1, theirs.2
                )));
            }
            peers[to] = Some(Peer::new(stream).map_err(&fail)?);
        }
        self.listener
            .set_nonblocking(true)
            .map_err(|e| fail(e.to_string()))?;
        let mut waiting = size - rank - 1;
        while waiting > 0 {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let missing: Vec<usize> =
                            (rank + 1..size).filter(|&r| peers[r].is_none()).collect();
                        return Err(fail(format!(
                            "processes {missing:?} did not connect within {timeout:?}"
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(e) => return Err(fail(e.to_string())),
            };
            let mut stream = stream;
            if stream.set_nonblocking(false).is_err() || configure(&stream, timeout).is_err() {
                continue;
            }
            // A connection that is not one of this job's ranks above is dropped.
            match read_handshake(&mut stream) {
                Ok((t, from, s))
                    if t == token && s == size && from > rank && peers[from].is_none() =>
                {
                    write_handshake(&mut stream, token, rank, size).map_err(&fail)?;
                    peers[from] = Some(Peer::new(stream).map_err(&fail)?);
                    waiting -= 1;
                }
                _ => drop(stream),
            }
        }
        Ok(TcpCollective {
            rank,
            size,
            peers,
            sequence: AtomicU64::new(0),
        })
    }
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::Io {
        path: what.into(),
        error: e,
    }
}

/// Connects to `address`, retrying until `deadline` (the peer may not listen yet... it
/// does, having bound before publishing, but its host may be slow to route).
fn dial(address: &str, deadline: Instant) -> std::result::Result<TcpStream, String> {
    let target = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match TcpStream::connect_timeout(&target, left.max(Duration::from_millis(1))) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => return Err(format!("{address}: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn configure(stream: &TcpStream, timeout: Duration) -> std::result::Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())
}

fn write_handshake(
    stream: &mut TcpStream,
    token: &str,
    rank: usize,
    size: usize,
) -> std::result::Result<(), String> {
    let mut hello = MAGIC.to_vec();
    hello.extend((token.len() as u64).to_le_bytes());
    hello.extend(token.as_bytes());
    hello.extend((rank as u64).to_le_bytes());
    hello.extend((size as u64).to_le_bytes());
    stream.write_all(&hello).map_err(|e| e.to_string())
}

/// (token, rank, size) of the other side.
fn read_handshake(stream: &mut TcpStream) -> std::result::Result<(String, usize, usize), String> {
    let mut magic = [0u8; 8];
    stream.read_exact(&mut magic).map_err(|e| e.to_string())?;
    if &magic != MAGIC {
        return Err("not a sigmax process".into());
    }
    let len = read_u64(stream)? as usize;
    if len > 4096 {
        return Err("a job token longer than 4096 bytes".into());
    }
    let mut token = vec![0u8; len];
    stream.read_exact(&mut token).map_err(|e| e.to_string())?;
    let rank = read_u64(stream)? as usize;
    let size = read_u64(stream)? as usize;
    Ok((String::from_utf8_lossy(&token).into_owned(), rank, size))
}

fn read_u64(stream: &mut TcpStream) -> std::result::Result<u64, String> {
    let mut b = [0u8; 8];
    stream.read_exact(&mut b).map_err(|e| e.to_string())?;
    Ok(u64::from_le_bytes(b))
}

fn op_name(op: u8) -> &'static str {
    match op {
        SUM => "sum",
        MAX => "max",
        GATHER => "all-gather",
        SEND => "message",
        _ => "unknown",
    }
}

impl TcpCollective {
    fn peer(&self, r: usize) -> &Peer {
        self.peers[r].as_ref().expect("a peer's rank")
    }

    /// Shuts every connection (the peers' reads then fail at once) and returns the
    /// error.
    fn fail(&self, message: String) -> Error {
        for p in self.peers.iter().flatten() {
            let _ = p.control.shutdown(Shutdown::Both);
        }
        peer_error(self, message)
    }

    fn write_frame(&self, to: usize, op: u8, seq: u64, payload: &[u8]) -> Result<()> {
        let mut s = self
            .peer(to)
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut header = [0u8; 17];
        header[0] = op;
        header[1..9].copy_from_slice(&seq.to_le_bytes());
        header[9..].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        s.write_all(&header)
            .and_then(|()| s.write_all(payload))
            .map_err(|e| self.fail(format!("sending to process {to}: {e}")))
    }

    fn read_frame(&self, from: usize, op: u8, seq: u64) -> Result<Vec<u8>> {
        let mut s = self
            .peer(from)
            .reader
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut header = [0u8; 17];
        s.read_exact(&mut header).map_err(|e| {
            self.fail(format!(
                "waiting for process {from} ({} #{seq}): {e}; a process is lost or stuck",
                op_name(op)
            ))
        })?;
        let got_seq = u64::from_le_bytes(header[1..9].try_into().unwrap());
        let len = u64::from_le_bytes(header[9..].try_into().unwrap()) as usize;
        if header[0] != op || got_seq != seq {
            return Err(self.fail(format!(
                "process {from} sent {} #{got_seq} where this process expected {} #{seq}: the processes run different fits",
                op_name(header[0]),
                op_name(op)
            )));
        }
        let mut payload = Vec::new();
        payload
            .try_reserve_exact(len)
            .map_err(|_| self.fail(format!("process {from} sent a frame of {len} bytes")))?;
        payload.resize(len, 0);
        s.read_exact(&mut payload)
            .map_err(|e| self.fail(format!("reading from process {from}: {e}")))?;
        Ok(payload)
    }

    /// Every process's payload, in rank order: sent to every peer on threads of its
    /// own while this one reads theirs (both directions at once: no deadlock on full
    /// socket buffers).
    fn exchange(&self, op: u8, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
        let others: Vec<usize> = (0..self.size).filter(|&r| r != self.rank).collect();
        let (sent, received) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                others
                    .iter()
                    .try_for_each(|&to| self.write_frame(to, op, seq, mine))
            });
            let received: Result<Vec<Vec<u8>>> = others
                .iter()
                .map(|&from| self.read_frame(from, op, seq))
                .collect();
            (
                writer
                    .join()
                    .unwrap_or_else(|_| Err(self.fail("a sending thread panicked".into()))),
                received,
            )
        });
        sent?;
        let mut received = received?.into_iter();
        Ok((0..self.size)
            .map(|r| {
                if r == self.rank {
                    mine.to_vec()
                } else {
                    received.next().unwrap()
                }
            })
            .collect())
    }
}

impl Collective for TcpCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum(&self, v: &mut [f64]) -> Result<()> {
        let all = self.exchange(SUM, &f64_bytes(v))?;
        if !sum_parts(v, &all) {
            return Err(self.fail("the processes summed vectors of different lengths".into()));
        }
        Ok(())
    }

    fn max(&self, v: &mut [u64]) -> Result<()> {
        let all = self.exchange(MAX, &u64_bytes(v))?;
        if !max_parts(v, &all) {
            return Err(self.fail("the processes took maxima of different lengths".into()));
        }
        Ok(())
    }

    fn all_gather(&self, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.exchange(GATHER, mine)
    }

    fn send(&self, to: usize, bytes: &[u8]) -> Result<()> {
        if to == self.rank || to >= self.size {
            return Err(peer_error(self, format!("no process {to} to send to")));
        }
        self.write_frame(to, SEND, 0, bytes)
    }

    fn receive(&self, from: usize) -> Result<Vec<u8>> {
        if from == self.rank || from >= self.size {
            return Err(peer_error(
                self,
                format!("no process {from} to receive from"),
            ));
        }
        self.read_frame(from, SEND, 0)
    }
}
