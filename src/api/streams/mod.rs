//! DynamoDB Streams: the records the write path publishes, their storage,
//! and the Streams API (`DynamoDBStreams_20120810.<Op>` on the same
//! endpoint): one file per operation (`list_streams`, `describe_stream`,
//! `get_shard_iterator`, `get_records`), the names clients see (`names`:
//! ARNs, labels, shard ids, sequence numbers), the iterator tokens
//! (`iterator`), the record codec (`record`) and retention (`trim`).
//!
//! **Shards.** Each Dynacore shard publishes the records of the items it
//! owns (its hash range) to its own stream shard. A stream shard lives for
//! `rollover_ms` (fixed in the stream's catalog entry): epoch `k` of
//! Dynacore shard `s` covers `[label + k·rollover, label + (k+1)·rollover)`
//! and its parent is epoch `k-1` of `s`. The shard list is therefore a
//! pure function of the catalog and the clock (any shard answers
//! DescribeStream without asking the others); reading a shard's records is
//! forwarded to the Dynacore shard that stores them.
//!
//! **Records join the write's batch.** `write::apply` adds one record per
//! changed item (never for a write that changes nothing) to the same engine
//! batch as the item, so a crash keeps both or neither. A record's sequence
//! number is built from the WAL sequence of that batch (and its index in
//! the batch), so it increases in log order on each shard, and continues
//! after a restart. GetRecords waits until what it read is durable before
//! answering, so no reader sees a record a crash could take back.
//!
//! **Storage layout** (on the owning shard's engine, under the system
//! prefix `00 00 00 00` that no table id uses):
//!
//! ```text
//! record key   := 00 00 00 00 ‖ 'S' ‖ table_id:u32 BE ‖ label_ms:u64 BE
//!                 ‖ epoch:u32 BE ‖ wal_seq:u64 BE ‖ index:u16 BE     (31 bytes)
//! record value := version:u8 (1) ‖ created_ms:u64 LE ‖ event:u8 (1 INSERT,
//!                 2 MODIFY, 3 REMOVE) ‖ origin:u8 (0 client, 1 TTL)
//!                 ‖ keys_len:u32 LE ‖ keys (model::codec item)
//!                 ‖ old_len:u32 LE ‖ old image     (u32::MAX and nothing: none)
//!                 ‖ new_len:u32 LE ‖ new image     (u32::MAX and nothing: none)
//! ```
//! Big-endian key fields make key order = (stream, epoch, log order), so a
//! shard's records are one contiguous range read in order, and trimming
//! deletes a prefix of each stream's range. Images are stored only as the
//! stream's view type asks. Table data is dropped by a range tombstone on
//! `table_id:u32 BE` (never 0), so a DeleteTable leaves these records: a
//! deleted table's streams stay readable (DISABLED) for the retention,
//! from `Catalog::deleted_streams`.
//!
//! **Trim horizon** (one per stream, on each shard that trimmed it; written
//! in the same batch as the deletions it records, so it survives a
//! restart exactly when they do):
//!
//! ```text
//! horizon key   := 00 00 00 00 ‖ 'T' ‖ table_id:u32 BE ‖ label_ms:u64 BE
//!                                                                (17 bytes)
//! horizon value := version:u8 (1) ‖ epoch:u32 LE ‖ wal_seq:u64 LE
//!                  ‖ index:u16 LE     (the last record trimmed; 15 bytes)
//! ```

pub mod describe_stream;
pub mod get_records;
pub mod get_shard_iterator;
pub mod iterator;
pub mod list_streams;
pub mod names;
pub mod params;
pub mod record;
pub mod trim;

use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::streams::{Position, StreamKey};
use crate::catalog::{Catalog, StreamDef, TableDef};

/// Prefix of every stream record.
pub const STREAM_PREFIX: [u8; 5] = [0, 0, 0, 0, b'S'];
/// Length of a record key.
pub const RECORD_KEY_LEN: usize = 31;
/// Length of a stream's key prefix (`STREAM_PREFIX ‖ table_id ‖ label_ms`).
pub const STREAM_KEY_PREFIX_LEN: usize = 17;
/// Prefix of every trim horizon (after the records' `'S'`, so a walk of
/// the records never meets one).
pub const HORIZON_PREFIX: [u8; 5] = [0, 0, 0, 0, b'T'];

/// The key prefix of one stream's records.
pub fn stream_prefix(key: StreamKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_KEY_LEN);
    out.extend_from_slice(&STREAM_PREFIX);
    out.extend_from_slice(&key.0.to_be_bytes());
    out.extend_from_slice(&key.1.to_be_bytes());
    out
}

/// The key prefix of one stream shard's records.
pub fn epoch_prefix(key: StreamKey, epoch: u32) -> Vec<u8> {
    let mut out = stream_prefix(key);
    out.extend_from_slice(&epoch.to_be_bytes());
    out
}

pub fn record_key(key: StreamKey, epoch: u32, wal_seq: u64, index: u16) -> Vec<u8> {
    let mut out = epoch_prefix(key, epoch);
    out.extend_from_slice(&wal_seq.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out
}

/// The key of one stream's trim horizon on a shard.
pub fn horizon_key(key: StreamKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(STREAM_KEY_PREFIX_LEN);
    out.extend_from_slice(&HORIZON_PREFIX);
    out.extend_from_slice(&key.0.to_be_bytes());
    out.extend_from_slice(&key.1.to_be_bytes());
    out
}

/// The stream a horizon key names.
pub fn parse_horizon_key(key: &[u8]) -> Option<StreamKey> {
    if key.len() != STREAM_KEY_PREFIX_LEN || !key.starts_with(&HORIZON_PREFIX) {
        return None;
    }
    let table = u32::from_be_bytes(key.get(5..9)?.try_into().ok()?);
    let label = u64::from_be_bytes(key.get(9..17)?.try_into().ok()?);
    Some((table, label))
}

const HORIZON_VERSION: u8 = 1;
const HORIZON_VALUE_LEN: usize = 15;

/// A trim horizon's value: the (epoch, position) of the last record trimmed.
pub fn encode_horizon(epoch: u32, position: Position) -> Vec<u8> {
    let mut out = Vec::with_capacity(HORIZON_VALUE_LEN);
    out.push(HORIZON_VERSION);
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(&position.0.to_le_bytes());
    out.extend_from_slice(&position.1.to_le_bytes());
    out
}

pub fn decode_horizon(value: &[u8]) -> Option<(u32, Position)> {
    if value.len() != HORIZON_VALUE_LEN || value[0] != HORIZON_VERSION {
        return None;
    }
    let epoch = u32::from_le_bytes(value.get(1..5)?.try_into().ok()?);
    let seq = u64::from_le_bytes(value.get(5..13)?.try_into().ok()?);
    let index = u16::from_le_bytes(value.get(13..15)?.try_into().ok()?);
    Some((epoch, (seq, index)))
}

/// The parts of a record key: (stream, epoch, wal_seq, index).
pub fn parse_record_key(key: &[u8]) -> Option<(StreamKey, u32, u64, u16)> {
    if key.len() != RECORD_KEY_LEN || !key.starts_with(&STREAM_PREFIX) {
        return None;
    }
    let table = u32::from_be_bytes(key.get(5..9)?.try_into().ok()?);
    let label = u64::from_be_bytes(key.get(9..17)?.try_into().ok()?);
    let epoch = u32::from_be_bytes(key.get(17..21)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(21..29)?.try_into().ok()?);
    let index = u16::from_be_bytes(key.get(29..31)?.try_into().ok()?);
    Some(((table, label), epoch, seq, index))
}

/// A stream and its table, as the catalog has them.
pub struct Found<'c> {
    pub table: &'c TableDef,
    pub stream: &'c StreamDef,
}

impl Found<'_> {
    pub fn key(&self) -> StreamKey {
        (self.table.id, self.stream.label_ms)
    }
}

/// The stream named by its (table, label), if the catalog still has it
/// (its table live, or deleted less than the retention ago) and it is
/// within retention.
pub fn find<'c>(
    catalog: &'c Catalog,
    key: StreamKey,
    shard: &Shard,
    now_ms: u64,
) -> Option<Found<'c>> {
    let table = catalog.stream_table_by_id(key.0)?;
    let stream = table.stream(key.1)?;
    visible(stream, shard, now_ms).then_some(Found { table, stream })
}

/// Whether a stream is still listed: enabled, or disabled for less than
/// the retention.
pub fn visible(stream: &StreamDef, shard: &Shard, now_ms: u64) -> bool {
    stream
        .disabled_ms
        .is_none_or(|d| d.saturating_add(shard.settings.streams.retention_ms) > now_ms)
}

/// The oldest epoch still listed at `now_ms`: older ones end before the
/// retention horizon, so all their records are trimmed.
pub fn first_epoch(stream: &StreamDef, shard: &Shard, now_ms: u64) -> u32 {
    let horizon = now_ms.saturating_sub(shard.settings.streams.retention_ms);
    if horizon <= stream.label_ms {
        return 0;
    }
    // Epoch k ends at start(k+1); it is listed while that end > horizon.
    let k = (horizon - stream.label_ms) / stream.rollover_ms.max(1);
    u32::try_from(k).unwrap_or(u32::MAX)
}

/// Whether `epoch` is an epoch of `stream` listed at `now_ms`.
pub fn epoch_listed(stream: &StreamDef, shard: &Shard, epoch: u32, now_ms: u64) -> bool {
    epoch >= first_epoch(stream, shard, now_ms) && epoch <= stream.epoch_at(now_ms)
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// ResourceNotFoundException for a stream ARN that names no stream.
pub fn stream_not_found(arn: &str) -> ApiError {
    ApiError::resource_not_found_message(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

/// The stream a StreamArn names: ValidationException if it is not a stream
/// ARN, ResourceNotFoundException if no readable stream has it.
pub fn resolve<'c>(
    catalog: &'c Catalog,
    shard: &Shard,
    arn: &str,
    now_ms: u64,
) -> Result<Found<'c>, ApiError> {
    let (name, label_ms) = names::parse_stream_arn(arn)
        .ok_or_else(|| ApiError::validation(format!("Invalid StreamArn: {arn}")))?;
    // The live table of that name, or a deleted one: a deleted table's
    // stream stays readable for the retention (the label tells apart the
    // streams of tables of the same name).
    catalog
        .stream_tables_named(name)
        .find_map(|table| {
            let stream = table
                .stream(label_ms)
                .filter(|s| visible(s, shard, now_ms))?;
            Some(Found { table, stream })
        })
        .ok_or_else(|| stream_not_found(arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_round_trip_and_sort_apart_from_records() {
        let stream = (7, 1_700_000_000_123);
        let key = horizon_key(stream);
        assert_eq!(key.len(), STREAM_KEY_PREFIX_LEN);
        assert_eq!(parse_horizon_key(&key), Some(stream));
        assert_eq!(parse_horizon_key(&stream_prefix(stream)), None);
        assert!(key.as_slice() > record_key(stream, u32::MAX, u64::MAX, u16::MAX).as_slice());
        let value = encode_horizon(3, (42, 9));
        assert_eq!(decode_horizon(&value), Some((3, (42, 9))));
        assert_eq!(decode_horizon(&value[1..]), None);
        assert_eq!(decode_horizon(&[2; 15]), None);
    }
}
