//! Executors and process accounting: the only module (with `conn`,
//! `runner`, `load` and `fake_server`) that knows about glommio.
//!
//! One pinned `LocalExecutor` per `--threads`, each on its own OS thread,
//! nothing shared between them but an atomic insert counter and a channel to
//! the main thread. glommio locks io_uring buffers in memory, so the
//! executors ask for a small `io_memory` to stay far below a typical
//! `ulimit -l` of 8 MiB (we do no file I/O; network I/O does not need it).

use std::future::Future;
use std::time::{Duration, Instant};

use glommio::{LocalExecutorBuilder, Placement};

use crate::error::{LoadgenError, Result};

/// io_uring registered-buffer memory per executor.
const IO_MEMORY_BYTES: usize = 1 << 20;

/// Where executor threads go and how they idle.
#[derive(Clone, Copy, Debug)]
pub struct Pinning {
    pub enabled: bool,
    /// Thread `i` runs on CPU `(cpu_offset + i) % cpus`.
    pub cpu_offset: usize,
    /// Busy-poll this long before parking an idle executor: lower wake-up
    /// latency (tighter open-loop pacing) for a core's worth of CPU. Only
    /// sensible on dedicated cores; zero parks at once.
    pub spin_before_park: Duration,
}

fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `make(i)` on `threads` executors and returns their results in order.
pub fn run_on_executors<T, F, G>(threads: usize, pinning: Pinning, make: G) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Future<Output = T> + 'static,
    G: Fn(usize) -> F + Send + Clone + 'static,
{
    let cpus = online_cpus();
    let mut handles = Vec::with_capacity(threads);
    for i in 0..threads {
        let placement = if pinning.enabled {
            Placement::Fixed((pinning.cpu_offset + i) % cpus)
        } else {
            Placement::Unbound
        };
        let make = make.clone();
        let mut builder = LocalExecutorBuilder::new(placement)
            .name(&format!("loadgen-{i}"))
            .io_memory(IO_MEMORY_BYTES);
        if !pinning.spin_before_park.is_zero() {
            builder = builder.spin_before_park(pinning.spin_before_park);
        }
        let handle = builder
            .spawn(move || make(i))
            .map_err(|e| LoadgenError::Runtime(format!("cannot start executor {i}: {e}")))?;
        handles.push(handle);
    }
    let mut results = Vec::with_capacity(threads);
    for (i, h) in handles.into_iter().enumerate() {
        results.push(
            h.join()
                .map_err(|e| LoadgenError::Runtime(format!("executor {i} failed: {e}")))?,
        );
    }
    Ok(results)
}

/// Sleeps until `deadline` on the current executor (returns at once if past).
pub async fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        glommio::timer::sleep(deadline - now).await;
    }
}

/// Process CPU time (user, system) so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    pub user: Duration,
    pub system: Duration,
}

#[allow(unsafe_code)]
pub fn cpu_times() -> CpuTimes {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` points to writable memory of the right size for
    // getrusage, which fully initializes it when it returns 0; we only read
    // it in that case.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return CpuTimes::default();
    }
    // SAFETY: getrusage returned 0, so the struct is initialized.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    CpuTimes {
        user: tv(usage.ru_utime),
        system: tv(usage.ru_stime),
    }
}
