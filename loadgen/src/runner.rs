//! The run phase: workers on glommio executors drive the workload.
//!
//! Each executor thread owns `connections / threads` workers; each worker
//! owns its connections (one to the main endpoint, plus one per shard in
//! shard-aware mode), its PRNG, key chooser and signer — nothing is shared
//! between workers except the thread's schedule and interval statistics
//! (`Rc<RefCell<_>>`, single-threaded), and across threads only the atomic
//! insert counter and the channel to the main thread. The main thread merges
//! per-second interval statistics in order, so progress lines and the
//! interval log are exact across threads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::error::{LoadgenError, Result};
use crate::http::{Endpoint, error_type, is_throttle};
use crate::keydist::{DistributionKind, KeyChooser, Rng};
use crate::runtime::{CpuTimes, Pinning, cpu_times, run_on_executors, sleep_until};
use crate::schedule::{OpenLoopSchedule, latency_pair_us};
use crate::shard::ShardMap;
use crate::sigv4::{Credentials, Signer};
use crate::stats::Stats;
use crate::workload::{BodyWriter, Mix, OpKind, RecordShape, ValuePool};

/// Everything a run needs; shared read-only by all threads.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub endpoint: Endpoint,
    pub shard_map: Option<ShardMap>,
    /// `--keys-on-shard`: the map and the shard whose keys alone are used.
    pub key_filter: Option<(ShardMap, usize)>,
    pub creds: Credentials,
    pub region: String,
    pub mix: Mix,
    pub distribution: DistributionKind,
    pub shape: RecordShape,
    pub record_count: u64,
    pub threads: usize,
    /// Total connections over all threads.
    pub connections: usize,
    /// Total target rate (open loop) or `None` (closed loop).
    pub rate_ops_per_s: Option<f64>,
    pub duration_s: u64,
    pub warmup_s: u64,
    pub seed: u64,
    pub pinning: Pinning,
    /// Per-request deadline; `None` waits forever.
    pub request_timeout: Option<Duration>,
    /// Throttled requests retried at most this often (0: never).
    pub retries_max: u32,
    /// Exponential back-off base of those retries (full jitter).
    pub retry_base: Duration,
}

/// SDK-style back-off before retry `attempt` (0-based): a uniformly random
/// wait in [0, min(base × 2^attempt, 20 s)] ("full jitter").
pub fn backoff(base: Duration, attempt: u32, random: u64) -> Duration {
    let cap = Duration::from_secs(20);
    let ceiling = base
        .checked_mul(1u32 << attempt.min(20))
        .unwrap_or(cap)
        .min(cap);
    let micros = ceiling.as_micros() as u64;
    Duration::from_micros(if micros == 0 {
        0
    } else {
        random % (micros + 1)
    })
}

/// What the main thread gets back.
pub struct RunOutcome {
    /// Statistics of the measured window (warm-up excluded).
    pub totals: Stats,
    pub wall: Duration,
    pub cpu: CpuTimes,
}

struct IntervalMsg {
    index: u64,
    stats: Stats,
}

/// Runs the workload; `on_interval(second_index, merged_interval_stats,
/// is_warmup)` is called on the calling thread once per second, in order.
pub fn run(spec: &RunSpec, mut on_interval: impl FnMut(u64, &Stats, bool)) -> Result<RunOutcome> {
    let spec = Arc::new(spec.clone());
    let threads = spec.threads.max(1);
    let (tx, rx) = mpsc::channel::<IntervalMsg>();
    let inserts = Arc::new(AtomicU64::new(spec.record_count));
    // Give every executor time to start so they share one schedule origin.
    let start = Instant::now() + Duration::from_millis(50);
    let cpu_before = cpu_times();
    let wall_before = Instant::now();

    let exec_spec = Arc::clone(&spec);
    let executors = std::thread::spawn(move || {
        run_on_executors(threads, exec_spec.pinning, move |thread| {
            let spec = Arc::clone(&exec_spec);
            let inserts = Arc::clone(&inserts);
            let tx = tx.clone();
            async move { thread_main(spec, thread, start, inserts, tx).await }
        })
    });

    let mut pending: BTreeMap<u64, (usize, Stats)> = BTreeMap::new();
    let mut totals = Stats::new();
    let mut emit = |index: u64, stats: &Stats, totals: &mut Stats| {
        let warmup = index < spec.warmup_s;
        if !warmup {
            totals.add(stats);
        }
        on_interval(index, stats, warmup);
    };
    let mut next_index = 0u64;
    // Ends when every executor has dropped its sender.
    while let Ok(msg) = rx.recv() {
        let entry = pending
            .entry(msg.index)
            .or_insert_with(|| (0, Stats::new()));
        entry.0 += 1;
        entry.1.add(&msg.stats);
        while let Some(entry) = pending.first_entry() {
            if *entry.key() != next_index || entry.get().0 < threads {
                break;
            }
            let (index, (_, stats)) = entry.remove_entry();
            emit(index, &stats, &mut totals);
            next_index += 1;
        }
    }
    for (index, (_, stats)) in std::mem::take(&mut pending) {
        emit(index, &stats, &mut totals);
    }
    let wall = wall_before.elapsed();
    let cpu_after = cpu_times();
    let results = executors
        .join()
        .map_err(|_| LoadgenError::Runtime("executor supervisor thread panicked".into()))??;
    for r in results {
        r?;
    }
    Ok(RunOutcome {
        totals,
        wall,
        cpu: CpuTimes {
            user: cpu_after.user.saturating_sub(cpu_before.user),
            system: cpu_after.system.saturating_sub(cpu_before.system),
        },
    })
}

/// Per-thread state shared by that thread's workers.
struct ThreadCtx {
    spec: Arc<RunSpec>,
    thread: usize,
    end: Instant,
    schedule: Option<RefCell<OpenLoopSchedule>>,
    stats: RefCell<Stats>,
    inserts: Arc<AtomicU64>,
    pool: ValuePool,
}

async fn thread_main(
    spec: Arc<RunSpec>,
    thread: usize,
    start: Instant,
    inserts: Arc<AtomicU64>,
    tx: mpsc::Sender<IntervalMsg>,
) -> Result<()> {
    let threads = spec.threads.max(1);
    let total_s = spec.warmup_s + spec.duration_s;
    let end = start + Duration::from_secs(total_s);
    let workers = spec.connections / threads + usize::from(thread < spec.connections % threads);
    // Threads split the rate evenly and offset their schedules by a fraction
    // of the gap so the aggregate stream is evenly spaced, not bursty.
    let schedule = spec.rate_ops_per_s.map(|rate| {
        let per_thread = rate / threads as f64;
        let offset = Duration::from_secs_f64(thread as f64 / rate);
        RefCell::new(OpenLoopSchedule::new(start + offset, per_thread))
    });
    let ctx = Rc::new(ThreadCtx {
        spec: Arc::clone(&spec),
        thread,
        end,
        schedule,
        stats: RefCell::new(Stats::new()),
        inserts,
        pool: ValuePool::new(spec.seed ^ thread as u64),
    });

    let reporter = {
        let ctx = Rc::clone(&ctx);
        let tx = tx.clone();
        glommio::spawn_local(async move {
            for index in 0..total_s.saturating_sub(1) {
                sleep_until(start + Duration::from_secs(index + 1)).await;
                let stats = std::mem::replace(&mut *ctx.stats.borrow_mut(), Stats::new());
                // The receiver only goes away if the main thread died.
                let _ = tx.send(IntervalMsg { index, stats });
            }
        })
    };
    sleep_until(start).await;
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let ctx = Rc::clone(&ctx);
        tasks.push(glommio::spawn_local(async move { worker(ctx, w).await }));
    }
    for t in tasks {
        t.await;
    }
    // Open loop: slots due before the end that no worker ever claimed (every
    // connection was stuck) are requests the system under test did not
    // serve; recording them keeps coordinated omission from coming back at
    // the end of an overloaded run.
    if let Some(schedule) = &ctx.schedule {
        let measured_from = start + Duration::from_secs(spec.warmup_s);
        loop {
            let t = schedule.borrow_mut().next();
            if t >= ctx.end {
                break;
            }
            if t >= measured_from {
                let op = spec.mix.pick(&mut crate::keydist::Rng::new(spec.seed));
                record_unsent(&ctx, op, t);
            }
        }
    }
    reporter.await;
    let stats = std::mem::replace(&mut *ctx.stats.borrow_mut(), Stats::new());
    let _ = tx.send(IntervalMsg {
        index: total_s.saturating_sub(1),
        stats,
    });
    Ok(())
}

/// Records an open-loop request intended at `intended` that was never sent
/// before the run ended: a `NotSent` failure with latency up to the end.
fn record_unsent(ctx: &ThreadCtx, op: OpKind, intended: Instant) {
    let latency_us = ctx.end.saturating_duration_since(intended).as_micros() as u64;
    ctx.stats
        .borrow_mut()
        .record_failure(op, "NotSent", false, latency_us);
}

/// Why an operation failed, as counted in the report.
enum OpFailure {
    /// DynamoDB error `__type` (short form).
    Dynamo(String),
    /// Socket or HTTP framing problem; the connection was dropped.
    Transport(&'static str),
}

struct Worker<'a> {
    ctx: &'a ThreadCtx,
    rng: Rng,
    chooser: KeyChooser,
    bodies: BodyWriter<'a>,
    signer: Signer,
    /// `conns[0]` is the main endpoint; `conns[1 + i]` shard `i`.
    conns: Vec<Conn>,
    body: String,
    keys: Vec<u64>,
}

async fn worker(ctx: Rc<ThreadCtx>, w: usize) {
    let spec = &ctx.spec;
    let mut conns = vec![Conn::new(spec.endpoint.clone())];
    if let Some(map) = &spec.shard_map {
        conns.extend(map.endpoints.iter().cloned().map(Conn::new));
    }
    let mut worker = Worker {
        ctx: &ctx,
        rng: Rng::new(spec.seed ^ ((ctx.thread as u64) << 32) ^ (w as u64).wrapping_mul(0x9e37)),
        chooser: KeyChooser::new(spec.distribution, spec.record_count),
        bodies: BodyWriter::new(&spec.shape, &ctx.pool),
        signer: Signer::new(spec.creds.clone(), &spec.region, "dynamodb"),
        conns,
        body: String::with_capacity(2048),
        keys: Vec::new(),
    };
    loop {
        let intended = match &ctx.schedule {
            Some(s) => {
                let t = s.borrow_mut().next();
                if t >= ctx.end {
                    break;
                }
                // Only slots still in the future measure the generator's own
                // lateness; a slot already past means every connection was
                // busy, which is the system under test's doing.
                if t > Instant::now() {
                    sleep_until(t).await;
                    let lag = Instant::now().saturating_duration_since(t);
                    ctx.stats
                        .borrow_mut()
                        .record_send_lag(lag.as_micros() as u64);
                }
                t
            }
            None => Instant::now(),
        };
        // Closed loop: the intended time *is* the send time (one clock read).
        let sent = if ctx.schedule.is_some() {
            Instant::now()
        } else {
            intended
        };
        let op = spec.mix.pick(&mut worker.rng);
        if sent >= ctx.end {
            if ctx.schedule.is_some() {
                // Due inside the run, never sent: charged up to the end.
                record_unsent(&ctx, op, intended);
            }
            break;
        }
        let mut outcome = worker.execute(op).await;
        let mut attempt = 0;
        while attempt < spec.retries_max
            && matches!(&outcome, Err(OpFailure::Dynamo(t)) if is_throttle(t))
        {
            // A throttled attempt that will be retried: counted, not an error.
            ctx.stats.borrow_mut().record_retry();
            sleep_until(Instant::now() + backoff(spec.retry_base, attempt, worker.rng.next_u64()))
                .await;
            attempt += 1;
            outcome = worker.execute(op).await;
        }
        let done = Instant::now();
        let (c, u) = latency_pair_us(intended, sent, done);
        match outcome {
            Ok(()) => {
                ctx.stats.borrow_mut().record(op, c, u);
            }
            Err(OpFailure::Dynamo(t)) => {
                ctx.stats
                    .borrow_mut()
                    .record_failure(op, &t, is_throttle(&t), c);
            }
            Err(OpFailure::Transport(t)) => {
                let mut c = c;
                if t == "RequestTimeout"
                    && let Some(limit) = spec.request_timeout
                {
                    // A timeout is a latency of at least the timeout.
                    c = c.max(limit.as_micros() as u64);
                }
                ctx.stats.borrow_mut().record_failure(op, t, false, c);
                // Don't spin on a dead server: one failed dial per 10 ms.
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

impl Worker<'_> {
    fn known_records(&self) -> u64 {
        self.ctx.inserts.load(Ordering::Relaxed)
    }

    fn next_key(&mut self) -> u64 {
        let n = self.known_records();
        let Some((map, shard)) = &self.ctx.spec.key_filter else {
            return self.chooser.next(&mut self.rng, n);
        };
        // Rejection sampling keeps the distribution's shape within the
        // shard; bounded so a shard owning no key cannot hang the run.
        let table = &self.ctx.spec.shape.table;
        let mut key = self.chooser.next(&mut self.rng, n);
        for _ in 0..10_000 {
            if map.owner_of_string_key(table, self.bodies.key_of(key)) == *shard {
                break;
            }
            key = self.chooser.next(&mut self.rng, n);
        }
        key
    }

    fn route(&mut self, keynum: u64) -> usize {
        match &self.ctx.spec.shard_map {
            Some(map) => {
                let table = &self.ctx.spec.shape.table;
                1 + map.owner_of_string_key(table, self.bodies.key_of(keynum))
            }
            None => 0,
        }
    }

    /// The owning shard of a record (None without a shard map).
    fn owner(&mut self, keynum: u64) -> Option<usize> {
        let map = self.ctx.spec.shard_map.as_ref()?;
        let table = &self.ctx.spec.shape.table;
        Some(map.owner_of_string_key(table, self.bodies.key_of(keynum)))
    }

    /// Fills `self.keys` with `batch_size` distinct record numbers, all on
    /// the first one's shard (`local`) or on at least two shards (`cross`)
    /// when asked and a shard map says where keys live.
    fn transact_keys(&mut self, op: OpKind) {
        self.distinct_keys();
        if !matches!(op, OpKind::TransactLocal | OpKind::TransactCross) {
            return;
        }
        let want = self.keys.len();
        let Some(home) = self.keys.first().copied().and_then(|k| self.owner(k)) else {
            return;
        };
        if want < 2 {
            return;
        }
        for _ in 0..want * 200 {
            let owners: Vec<Option<usize>> = (0..want)
                .map(|i| {
                    let k = self.keys[i];
                    self.owner(k)
                })
                .collect();
            let local = owners.iter().all(|o| *o == Some(home));
            // The key to replace: a foreign one (local), the last (cross).
            let slot = match op {
                OpKind::TransactLocal if local => return,
                OpKind::TransactCross if !local => return,
                OpKind::TransactLocal => owners
                    .iter()
                    .position(|o| *o != Some(home))
                    .unwrap_or(want - 1),
                _ => want - 1,
            };
            let k = self.next_key();
            if !self.keys.contains(&k) {
                self.keys[slot] = k;
            }
        }
    }

    /// Fills `self.keys` with `batch_size` distinct record numbers.
    fn distinct_keys(&mut self) {
        let want = (self.ctx.spec.shape.batch_size as usize).max(1);
        self.keys.clear();
        let mut attempts = 0;
        while self.keys.len() < want && attempts < want * 20 {
            attempts += 1;
            let k = self.next_key();
            if !self.keys.contains(&k) {
                self.keys.push(k);
            }
        }
    }

    async fn call(&mut self, conn: usize, target: &str) -> std::result::Result<(), OpFailure> {
        self.signer.set_now();
        let timeout = self.ctx.spec.request_timeout;
        let conn = self
            .conns
            .get_mut(conn)
            .ok_or(OpFailure::Transport("NoSuchShard"))?;
        match conn
            .call_within(
                &mut self.signer,
                target,
                self.body.as_bytes(),
                false,
                timeout,
            )
            .await
        {
            Ok(resp) if resp.status == 200 => Ok(()),
            Ok(resp) => Err(OpFailure::Dynamo(error_type(&resp.body))),
            Err(LoadgenError::Http(_)) => Err(OpFailure::Transport("HttpProtocolError")),
            Err(LoadgenError::Timeout(_)) => Err(OpFailure::Transport("RequestTimeout")),
            Err(_) => Err(OpFailure::Transport("ConnectionError")),
        }
    }

    async fn execute(&mut self, op: OpKind) -> std::result::Result<(), OpFailure> {
        match op {
            OpKind::Get => {
                let k = self.next_key();
                self.bodies.get_item(&mut self.body, k);
                let c = self.route(k);
                self.call(c, "GetItem").await
            }
            OpKind::Put => {
                let k = self.next_key();
                self.bodies.put_item(&mut self.body, k, &mut self.rng);
                let c = self.route(k);
                self.call(c, "PutItem").await
            }
            OpKind::Update => {
                let k = self.next_key();
                self.bodies.update_item(&mut self.body, k, &mut self.rng);
                let c = self.route(k);
                self.call(c, "UpdateItem").await
            }
            OpKind::Insert => {
                let k = self.ctx.inserts.fetch_add(1, Ordering::Relaxed);
                self.bodies.put_item(&mut self.body, k, &mut self.rng);
                let c = self.route(k);
                self.call(c, "PutItem").await
            }
            OpKind::Query => {
                let k = self.next_key();
                self.bodies.query(&mut self.body, k);
                let c = self.route(k);
                self.call(c, "Query").await
            }
            OpKind::Scan => {
                let k = self.next_key();
                self.bodies.scan(&mut self.body, k, &mut self.rng);
                self.call(0, "Scan").await
            }
            OpKind::BatchGet => {
                self.distinct_keys();
                self.bodies.batch_get(&mut self.body, &self.keys);
                self.call(0, "BatchGetItem").await
            }
            OpKind::BatchWrite => {
                self.distinct_keys();
                self.bodies
                    .batch_write(&mut self.body, &self.keys, &mut self.rng);
                self.call(0, "BatchWriteItem").await
            }
            OpKind::Rmw => {
                let k = self.next_key();
                let c = self.route(k);
                self.bodies.get_item(&mut self.body, k);
                self.call(c, "GetItem").await?;
                self.bodies.update_item(&mut self.body, k, &mut self.rng);
                self.call(c, "UpdateItem").await
            }
            OpKind::Transact | OpKind::TransactLocal | OpKind::TransactCross => {
                self.transact_keys(op);
                self.bodies
                    .transact_write(&mut self.body, &self.keys, &mut self.rng);
                // The first key's shard: the whole transaction for a local
                // one, the coordinator otherwise.
                let first = self.keys.first().copied();
                let c = first.map_or(0, |k| self.route(k));
                self.call(c, "TransactWriteItems").await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    /// A server that accepts and never answers must not hang the run: every
    /// request ends as a RequestTimeout error and the run finishes on time.
    #[test]
    fn hung_server_times_out_instead_of_hanging_the_run() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                held.push(s); // keep the socket open, never reply
            }
        });
        let endpoint = format!("http://{addr}");
        let cli = Cli::try_parse_from([
            "lg",
            "--endpoint",
            &endpoint,
            "--mix",
            "get=1",
            "--skip-load",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--connections",
            "2",
            "--no-pin",
            "--request-timeout-ms",
            "200",
        ])
        .expect("flags");
        let spec = cli.run.workload.to_spec(&endpoint).expect("spec");
        let started = Instant::now();
        let outcome = run(&spec, |_, _, _| {}).expect("run");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(outcome.totals.total_ops(), 0);
        let timeouts = outcome.totals.error_types.get("RequestTimeout").copied();
        assert!(
            timeouts.unwrap_or(0) >= 2,
            "{:?}",
            outcome.totals.error_types
        );
    }

    /// Open loop at 100/s against a server that never answers, 2
    /// connections, 1 s: both requests time out (charged ≥ the timeout) and
    /// the ~98 slots due in the run but never sent are recorded as NotSent,
    /// each with its latency up to the end, so a p99 gate sees them.
    #[test]
    fn open_loop_records_requests_due_but_never_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                held.push(s);
            }
        });
        let endpoint = format!("http://{addr}");
        let cli = Cli::try_parse_from([
            "lg",
            "--endpoint",
            &endpoint,
            "--mix",
            "put=1",
            "--skip-load",
            "--duration",
            "1s",
            "--warmup",
            "0",
            "--connections",
            "2",
            "--threads",
            "1",
            "--rate",
            "100",
            "--no-pin",
            "--request-timeout-ms",
            "1500",
        ])
        .expect("flags");
        let spec = cli.run.workload.to_spec(&endpoint).expect("spec");
        let outcome = run(&spec, |_, _, _| {}).expect("run");
        let types = &outcome.totals.error_types;
        assert_eq!(outcome.totals.total_ops(), 0);
        assert_eq!(types.get("RequestTimeout").copied(), Some(2), "{types:?}");
        let not_sent = types.get("NotSent").copied().unwrap_or(0);
        assert!((90..=100).contains(&not_sent), "{types:?}");
        let all = outcome.totals.overall();
        assert_eq!(all.failed.len(), 2 + not_sent);
        // The timeouts are charged at least the timeout; nothing unsent is
        // charged past the end of the run.
        assert!(all.failed.max() >= 1_495_000, "max {}", all.failed.max());
        assert!(all.failed.value_at_quantile(0.9) <= 1_010_000);
    }
}
