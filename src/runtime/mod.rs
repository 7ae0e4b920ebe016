//! The runtime: one pinned glommio executor per shard, the inter-core mesh,
//! and the HTTP front end. This is the only module that names glommio
//! (besides the engine's direct-I/O implementation).
//!
//! Start-up order per shard: join the mesh (so every shard can reach every
//! other before any client can), open the shard's store (recovery), bind
//! the shared port with SO_REUSEPORT (and the shard's own port, if
//! configured), then serve until SIGINT/SIGTERM. If any shard fails to
//! start, all stop and the process exits non-zero with the reason. If any
//! thread panics, the main thread's supervisor (`health.rs`) stops every
//! shard and the process exits non-zero with the panic message, promptly:
//! never half a keyspace served.

pub mod admin;
pub mod auth;
pub mod encryption;
pub mod error;
pub mod files;
pub mod health;
pub mod http;
pub mod mesh;
pub mod server;
pub mod tls;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorBuilder, Placement};

use crate::api::{ApiSettings, Counters, Shard};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::engine::Store;
use crate::routing::PartitionMap;
use error::{RuntimeError, ShardFailure};

const CATALOG_FILE: &str = "catalog.json";

/// CPUs this process may run on, from /proc/self/status (honours taskset).
pub fn allowed_cpus() -> Vec<usize> {
    let parsed = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let list = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
                .trim()
                .to_string();
            let mut cpus = Vec::new();
            for part in list.split(',') {
                match part.split_once('-') {
                    Some((a, b)) => cpus
                        .extend(a.trim().parse::<usize>().ok()?..=b.trim().parse::<usize>().ok()?),
                    None => cpus.push(part.trim().parse::<usize>().ok()?),
                }
            }
            Some(cpus)
        })
        .unwrap_or_default();
    if parsed.is_empty() { vec![0] } else { parsed }
}

fn load_catalog(
    data_dir: &Path,
    key: Option<&crate::engine::seal::MasterKey>,
) -> Result<Catalog, RuntimeError> {
    let path = data_dir.join(CATALOG_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes = match key {
                None => bytes,
                Some(key) => encryption::open_catalog(key, &bytes)
                    .map_err(|_| RuntimeError::CatalogTampered { path: path.clone() })?,
            };
            Catalog::from_bytes(&bytes)
                .map_err(|source| RuntimeError::CorruptCatalog { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Catalog::default()),
        Err(source) => Err(RuntimeError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// SO_REUSEPORT would let us silently share a port with another running
/// server; a plain bind would refuse ports whose old connections linger in
/// FIN_WAIT after a restart. So: refuse only if something accepts there.
fn refuse_if_listening(listen: &str) -> Result<(), RuntimeError> {
    use std::net::ToSocketAddrs;
    let addrs = listen
        .to_socket_addrs()
        .map_err(|source| RuntimeError::InvalidListenAddress {
            listen: listen.to_string(),
            source,
        })?;
    // A previous process's listeners can outlive it briefly: io_uring tears
    // down its pending accepts asynchronously after exit. Give them 5 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    for addr in addrs {
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            if std::time::Instant::now() > deadline {
                return Err(RuntimeError::AlreadyServed {
                    listen: listen.to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// Runs the server until SIGINT/SIGTERM. Blocks the calling thread.
pub fn run(config: Config) -> Result<(), RuntimeError> {
    let cpus = allowed_cpus();
    let shard_count = config.shards.unwrap_or(cpus.len() as u32).max(1);
    let master_key = match &config.encryption_key_file {
        Some(path) => Some(encryption::load_key(path)?),
        None => None,
    };
    // Before LAYOUT: a new directory is marked encrypted before anything else.
    encryption::check_data_dir(&config.data_dir, master_key.as_deref())?;
    files::check_layout(&config.data_dir, shard_count)?;
    // glommio opens directories relative to nothing useful (a relative path
    // fails with EBADF), so every shard gets the absolute path.
    let mut config = config;
    config.engine.master_key = master_key;
    config.data_dir =
        std::fs::canonicalize(&config.data_dir).map_err(|source| RuntimeError::Io {
            action: "resolve data directory",
            path: config.data_dir.clone(),
            source,
        })?;
    if !config.listen.is_empty() {
        refuse_if_listening(&config.listen)?;
    }
    let certificates = match &config.tls_listen {
        None if config.listen.is_empty() => return Err(RuntimeError::NoListener),
        None => None,
        Some(tls_listen) => {
            let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
                return Err(RuntimeError::TlsFilesMissing);
            };
            refuse_if_listening(tls_listen)?;
            Some(tls::Certificates::open(tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })?)
        }
    };
    if let Some(admin) = config.admin_address() {
        refuse_if_listening(admin)?;
    }
    let auth = auth::Shared::start(&config, &listen_addrs(&config, shard_count))?;
    auth::spawn_reloader(auth.clone())?;
    let catalog = Arc::new(load_catalog(
        &config.data_dir,
        config.engine.master_key.as_deref(),
    )?);
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, shutdown.clone()).map_err(RuntimeError::Signal)?;
    }
    if let Some(certificates) = &certificates {
        tls::spawn_reload_on_sighup(certificates.clone(), shutdown.clone())
            .map_err(RuntimeError::Signal)?;
    }
    let config = Arc::new(config);
    let health = Arc::new(health::Health::new(
        shard_count,
        config.shard_heartbeat_stale_ms,
    ));
    health::install_panic_hook(health.clone());
    let mesh =
        MeshBuilder::<mesh::Envelope, _>::full(shard_count as usize, config.mesh_queue_depth);
    let mut handles = Vec::new();
    // Executors are created in shard order, so glommio's mesh peer ids
    // (ordered by executor id) equal shard ids; checked at join.
    for id in 0..shard_count {
        let cpu = cpus[id as usize % cpus.len()];
        let (config, catalog, mesh, shutdown, health, auth, certificates) = (
            config.clone(),
            catalog.clone(),
            mesh.clone(),
            shutdown.clone(),
            health.clone(),
            auth.clone(),
            certificates.clone(),
        );
        let handle = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("shard-{id}"))
            .io_memory(config.io_memory_bytes)
            .spin_before_park(Duration::from_micros(config.spin_before_park_us))
            .preempt_timer(Duration::from_micros(config.preempt_timer_us.max(100)))
            .spawn(move || async move {
                // Marks the shard stopped, or dead if this future unwinds.
                let _guard = health::ShardGuard {
                    health: &health,
                    shard: id,
                };
                let result = shard_main(
                    id,
                    shard_count,
                    config,
                    catalog,
                    mesh,
                    shutdown.clone(),
                    health.clone(),
                    auth,
                    certificates,
                )
                .await;
                if let Err(error) = &result {
                    shutdown.store(true, Ordering::SeqCst);
                    health.record_failure(id, error.to_string());
                }
                result
            })
            .map_err(|e| RuntimeError::ShardStart {
                shard: id,
                cpu,
                reason: e.to_string(),
            })?;
        handles.push(handle);
    }
    tracing::info!(shards = shard_count, listen = %config.listen, tls_listen = config.tls_listen.as_deref().unwrap_or(""), data_dir = %config.data_dir.display(), "dynacore serving");
    // A panic: do not join (a shard may wait forever on the dead one).
    health::supervise(
        &health,
        &shutdown,
        Duration::from_millis(health::PANIC_EXIT_GRACE_MS),
    )?;
    let mut failures = Vec::new();
    for (id, handle) in (0u32..).zip(handles) {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push((id, ShardFailure::Error(Box::new(e)))),
            Err(e) => failures.push((id, ShardFailure::Panicked(e.to_string()))),
        }
    }
    if failures.is_empty() {
        tracing::info!("dynacore stopped cleanly");
        Ok(())
    } else {
        Err(RuntimeError::ShardsFailed { failures })
    }
}

/// Shard `id`'s own address (`--shard-port-base`), on the listen host.
fn shard_addr(config: &Config, base: u16, id: u32) -> String {
    let host = config
        .listen
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h);
    format!("{host}:{}", u32::from(base) + id)
}

/// Every address the server will listen on (the shared port, the TLS and
/// admin ports, and the shards' own ports): the start rule without credentials checks them all.
fn listen_addrs(config: &Config, shard_count: u32) -> Vec<String> {
    let mut addrs = if config.listen.is_empty() {
        Vec::new()
    } else {
        vec![config.listen.clone()]
    };
    addrs.extend(config.tls_listen.iter().cloned());
    addrs.extend(config.admin_address().map(str::to_string));
    if let Some(base) = config.shard_port_base {
        addrs.extend((0..shard_count).map(|id| shard_addr(config, base, id)));
    }
    addrs
}

// Each argument is one process-wide handle the shard takes ownership of;
// a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn shard_main(
    id: u32,
    shard_count: u32,
    config: Arc<Config>,
    catalog: Arc<Catalog>,
    mesh: MeshBuilder<mesh::Envelope, glommio::channels::channel_mesh::Full>,
    shutdown: Arc<AtomicBool>,
    health: Arc<health::Health>,
    auth: Arc<auth::Shared>,
    certificates: Option<Arc<tls::Certificates>>,
) -> Result<(), RuntimeError> {
    let (senders, receivers) = mesh.join().await.map_err(|_| RuntimeError::MeshJoin)?;
    if senders.peer_id() != id as usize {
        return Err(RuntimeError::MeshPeerMismatch {
            peer: senders.peer_id(),
            shard: id,
        });
    }
    crate::engine::io::dma::set_background_shares(config.background_shares);
    let dir = config.data_dir.join(format!("shard-{id:03}"));
    let store = Rc::new(Store::open(&dir, &config.engine).await.map_err(|source| {
        RuntimeError::StoreOpen {
            dir: dir.clone(),
            source,
        }
    })?);
    let counters = Rc::new(Counters::default());
    let services = mesh::MeshServices::new(
        senders,
        shard_count,
        config.data_dir.join(CATALOG_FILE),
        counters.clone(),
        &config,
    );
    let shard = Rc::new(Shard {
        id,
        map: PartitionMap::new(shard_count),
        settings: ApiSettings {
            region: config.region.clone(),
            account_id: "000000000000".to_string(),
            item_collection_bytes_max: config.item_collection_bytes_max,
            index_outbox_records_max: config.index_outbox_records_max,
            gsi_backpressure_wait: Duration::from_millis(config.gsi_backpressure_wait_ms),
            tables_max: config.tables_max,
            table_status_transition: Duration::from_millis(config.table_status_transition_ms),
            streams: crate::api::shard::StreamSettings {
                shard_rollover_ms: config.stream_shard_rollover_ms.max(1),
                retention_ms: config.stream_retention_ms,
                trim_interval_ms: config.stream_trim_interval_ms.max(1),
                iterator_lifetime_ms: config.stream_iterator_lifetime_ms,
            },
            ttl_change_interval_ms: config.ttl_change_interval_ms,
            resource_policy_change_interval_ms: config.resource_policy_change_interval_ms,
            ttl_scan_interval: Duration::from_millis(config.ttl_scan_interval_ms),
            ttl_deletes_per_second_max: config.ttl_deletes_per_second_max,
            ttl_idle_backoff_max: config.ttl_idle_backoff_max,
            backup_cut_wait: Duration::from_millis(config.backup_cut_wait_ms),
            backup_chunk_bytes: config.backup_chunk_bytes.max(4096),
            backup_copy_bytes_per_s: config.backup_copy_bytes_per_s,
            backup_operations_max: config.backup_operations_max,
            pitr: crate::api::shard::PitrSettings {
                base_interval_ms: config.pitr_base_interval_ms.max(1),
                tick_ms: config.pitr_tick_ms.max(1),
                day_ms: config.pitr_day_ms.max(1),
                export_history_bytes_max: config.pitr_export_history_bytes_max,
            },
            capacity_decreases: crate::catalog::DecreaseRule {
                free_per_day: 4,
                interval_s: config.capacity.decrease_interval_s as f64,
                day_s: config.capacity.decrease_day_s.max(1) as f64,
            },
            encrypted_at_rest: config.engine.master_key.is_some(),
            backup_key: config.engine.master_key.clone(),
            transfer_operations_max: config.transfer_operations_max,
        },
        catalog: RefCell::new(catalog),
        store: store.clone(),
        services: Rc::new(services),
        locks: Default::default(),
        counters,
        inbound: crate::api::inbound,
        outbox: crate::api::shard::outbox::Outbox::new(config.index_outbox_records_max),
        backfills: Default::default(),
        expiry: Default::default(),
        backups: Default::default(),
        pitr: Default::default(),
        transfers: Default::default(),
        cut: Default::default(),
        txns: crate::api::shard::txns::Txns::new(
            Duration::from_millis(config.transaction_lock_wait_ms),
            config.transaction_tokens_max,
        ),
        streams: Default::default(),
        meter: crate::api::shard::capacity::Meter::new(
            crate::api::shard::capacity::CapacitySettings {
                enforce: config.capacity.enforce,
                burst_s: config.capacity.burst_s as f64,
                partition_read_units_max: config.capacity.partition_read_units_max as f64,
                partition_write_units_max: config.capacity.partition_write_units_max as f64,
                partition_buckets_max: config.capacity.partition_buckets_max,
                shards: shard_count,
                shard: id,
                rebalance_interval: Duration::from_millis(config.capacity.rebalance_interval_ms),
                instant: crate::api::shard::capacity::InstantCapacity {
                    enabled: config.capacity.on_demand_instant,
                    initial_read_units: config.capacity.on_demand_initial_read_units as f64,
                    initial_write_units: config.capacity.on_demand_initial_write_units as f64,
                    peak_window: Duration::from_secs(config.capacity.on_demand_peak_window_s),
                },
            },
            &config.region,
            "000000000000",
        ),
        metrics: crate::metrics::RequestMetrics::new(
            config.metrics_enabled,
            config.metrics_tables_max,
        ),
    });
    crate::api::index::open(&shard)
        .await
        .map_err(|e| RuntimeError::OutboxOpen {
            shard: id,
            reason: e.message,
        })?;
    // Tables left CREATING or DELETING by the previous run finish now.
    crate::api::table::ddl::resume(&shard);
    // Expired items of TTL-enabled tables go in the background.
    crate::api::ttl::start(&shard);
    // Capacity shares follow each table's traffic over the shards.
    crate::api::shard::rebalance::start(&shard);
    crate::api::backup::restore::resume(&shard);
    crate::api::pitr::base::start(&shard);
    crate::api::transfer::import::resume(&shard);
    // Prepared transactions re-lock their items before anyone is served.
    crate::api::txn::open(&shard)
        .await
        .map_err(|e| RuntimeError::TransactionsOpen {
            shard: id,
            reason: e.to_string(),
        })?;
    // Trim horizons are known before a stream read is served; records
    // past their retention are trimmed in the background.
    crate::api::streams::trim::open(&shard)
        .await
        .map_err(|e| RuntimeError::StreamsOpen {
            shard: id,
            reason: e.message,
        })?;
    crate::api::streams::trim::start(&shard);
    // Peers are served only once this shard's recovery is done (none of
    // it waits on a peer): no request meets an item whose prepared
    // transaction is not locked again yet.
    mesh::spawn_receivers(shard.clone(), receivers);
    let local_config = Rc::new((*config).clone());
    let shard_auth = auth::ShardAuth::new(auth.clone(), &config);
    let front = server::Front::new(shard.clone(), local_config, health.clone(), shard_auth);
    let mut addrs = Vec::new();
    if !config.listen.is_empty() {
        addrs.push(config.listen.clone());
    }
    if let Some(base) = config.shard_port_base {
        addrs.push(shard_addr(&config, base, id));
    }
    let tls = certificates.map(|c| Rc::new(tls::ShardTls::new(c)));
    let mut listeners: Vec<(String, Option<Rc<tls::ShardTls>>)> =
        addrs.into_iter().map(|a| (a, None)).collect();
    if let (Some(addr), Some(tls)) = (&config.tls_listen, &tls) {
        listeners.push((addr.clone(), Some(tls.clone())));
    }
    for (addr, tls) in listeners {
        let listener = server::bind(&addr).map_err(|source| RuntimeError::Listen {
            listen: addr.clone(),
            source,
        })?;
        glommio::spawn_local(server::accept_loop(front.clone(), listener, tls)).detach();
    }
    // The admin listener (Prometheus /metrics, /dynacore/*) on shard 0:
    // scrapes are rare, and a single listener is never shared by accident.
    if id == 0
        && let Some(addr) = config.admin_address()
    {
        let admin = server::Front::admin(
            shard.clone(),
            Rc::new((*config).clone()),
            health.clone(),
            auth::ShardAuth::new(auth, &config),
        );
        let listener = server::bind_exclusive(addr).map_err(|source| RuntimeError::Listen {
            listen: addr.to_string(),
            source,
        })?;
        glommio::spawn_local(server::accept_loop(admin, listener, None)).detach();
    }
    health.set_state(id, health::ShardState::Serving);
    #[cfg(debug_assertions)]
    let debug_panic = std::env::var("DYNACORE_DEBUG_PANIC_SHARD").ok() == Some(id.to_string());
    while !shutdown.load(Ordering::SeqCst) {
        health.beat(id, store.poisoned().is_some(), front.buffer_bytes() as u64);
        front.auth.refresh();
        // Debug builds only (tests/health.rs): the real panic → exit path,
        // with no way to reach it in a release build.
        #[cfg(debug_assertions)]
        if debug_panic {
            panic!("debug panic requested by DYNACORE_DEBUG_PANIC_SHARD={id}");
        }
        glommio::timer::sleep(Duration::from_millis(50)).await;
    }
    store
        .close()
        .await
        .map_err(|source| RuntimeError::StoreClose { dir, source })
}
