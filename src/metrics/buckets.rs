// The latency bucket edges every Dynacore histogram uses, shared with the
// load generator (`loadgen/src/stats.rs` includes this file), so a figure
// the load generator prints lines up with the server's
// `dynacore_request_duration_seconds` buckets. Plain items only: this file
// is `include!`d by another crate.

/// Upper bounds (inclusive, in microseconds) of the latency buckets, from
/// 50 µs to 10 s; a `+Inf` bucket follows.
pub const LATENCY_BUCKETS_US: [u64; 17] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// The bucket a latency of `micros` falls in (`LATENCY_BUCKETS_US.len()`
/// is `+Inf`).
pub fn latency_bucket(micros: u64) -> usize {
    LATENCY_BUCKETS_US.partition_point(|edge| *edge < micros)
}
