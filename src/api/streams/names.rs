//! The names a Streams client sees, each parsed back strictly (input never
//! panics; anything malformed is None, and the operation answers
//! ValidationException):
//!
//! ```text
//! StreamArn       arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
//! StreamLabel     YYYY-MM-DDTHH:MM:SS.mmm  (UTC, the stream's creation time)
//! ShardId         shardId-<epoch start ms: 20 digits>-<shard: 8 hex><epoch: 8 hex>
//! SequenceNumber  1 ‖ epoch: 10 digits ‖ shard: 5 digits ‖ wal_seq: 20 digits
//!                 ‖ index: 4 digits                         (40 digits)
//! ```
//! A sequence number sorts (as a number and as a string) like its record's
//! key on its shard, and names its epoch, so AT/AFTER_SEQUENCE_NUMBER can
//! check it belongs to the shard asked for. A shard's range is reported as
//! `[its epoch with wal_seq 0, index 0; with wal_seq u64::MAX, index 9999]`:
//! bounds of every record it can hold.

use crate::api::shard::Shard;
use crate::api::shard::streams::Position;
use crate::catalog::StreamDef;

/// The ISO-8601 label of a stream created at `ms` (UTC, milliseconds).
pub fn label(ms: u64) -> String {
    crate::catalog::utc_label(ms)
}

/// The ms a label names (exactly the form [`label`] writes).
pub fn parse_label(label: &str) -> Option<u64> {
    let b = label.as_bytes();
    if b.len() != 23 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || b[19] != b'.' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = label.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    let days = u64::try_from(days).ok()?;
    let out = days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms;
    // Reject dates that do not exist (Feb 30): they do not round-trip.
    (self::label(out) == label).then_some(out)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn stream_arn(shard: &Shard, table: &str, label_ms: u64) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{table}/stream/{}",
        shard.settings.region,
        shard.settings.account_id,
        label(label_ms)
    )
}

/// (table name, label ms) of a stream ARN of any region and account.
pub fn parse_stream_arn(arn: &str) -> Option<(&str, u64)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, aws, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (_region, _account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if arn_ != "arn" || aws != "aws" || service != "dynamodb" {
        return None;
    }
    let rest = resource.strip_prefix("table/")?;
    let (table, label) = rest.split_once("/stream/")?;
    if table.is_empty() || table.contains('/') {
        return None;
    }
    Some((table, parse_label(label)?))
}

pub fn shard_id(stream: &StreamDef, shard: u32, epoch: u32) -> String {
    format!(
        "shardId-{:020}-{shard:08x}{epoch:08x}",
        stream.epoch_start_ms(epoch)
    )
}

/// (Dynacore shard, epoch) of a shard id of `stream`.
pub fn parse_shard_id(stream: &StreamDef, id: &str) -> Option<(u32, u32)> {
    let rest = id.strip_prefix("shardId-")?;
    let (start, tail) = rest.split_once('-')?;
    if start.len() != 20 || tail.len() != 16 || !start.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !tail
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    let shard = u32::from_str_radix(tail.get(..8)?, 16).ok()?;
    let epoch = u32::from_str_radix(tail.get(8..)?, 16).ok()?;
    let start: u64 = start.parse().ok()?;
    (start == stream.epoch_start_ms(epoch)).then_some((shard, epoch))
}

pub fn sequence_number(epoch: u32, shard: u32, position: Position) -> String {
    format!(
        "1{epoch:010}{:05}{:020}{:04}",
        shard % 100_000,
        position.0,
        position.1
    )
}

/// The last sequence number a shard's range can hold.
pub fn ending_sequence_number(epoch: u32, shard: u32) -> String {
    sequence_number(epoch, shard, (u64::MAX, 9999))
}

/// (epoch, shard, position) of a sequence number.
pub fn parse_sequence_number(s: &str) -> Option<(u32, u32, Position)> {
    if s.len() != 40 || !s.starts_with('1') || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let epoch = s.get(1..11)?.parse().ok()?;
    let shard = s.get(11..16)?.parse().ok()?;
    let seq = s.get(16..36)?.parse().ok()?;
    let index = s.get(36..40)?.parse().ok()?;
    Some((epoch, shard, (seq, index)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::StreamViewType;

    #[test]
    fn labels_round_trip() {
        assert_eq!(label(0), "1970-01-01T00:00:00.000");
        assert_eq!(label(1_431_379_293_291), "2015-05-11T21:21:33.291");
        for ms in [0, 1, 951_782_400_000, 1_700_000_000_123, 4_102_444_799_999] {
            assert_eq!(parse_label(&label(ms)), Some(ms));
        }
        for bad in [
            "",
            "2015-02-30T00:00:00.000",
            "2015-05-11 21:21:33.291",
            "2015-05-11T21:21:33.29x",
        ] {
            assert_eq!(parse_label(bad), None, "{bad}");
        }
    }

    #[test]
    fn arns_shard_ids_and_sequence_numbers_round_trip() {
        let arn =
            "arn:aws:dynamodb:us-east-1:000000000000:table/t.1/stream/2015-05-11T21:21:33.291";
        assert_eq!(parse_stream_arn(arn), Some(("t.1", 1_431_379_293_291)));
        assert_eq!(
            parse_stream_arn("arn:aws:dynamodb:us-east-1:0:table/t"),
            None
        );
        assert_eq!(parse_stream_arn("nonsense"), None);
        let stream = StreamDef {
            label_ms: 1000,
            view_type: StreamViewType::KeysOnly,
            rollover_ms: 10,
            disabled_ms: None,
            iterator_key: [0; 16],
        };
        let id = shard_id(&stream, 3, 7);
        assert_eq!(parse_shard_id(&stream, &id), Some((3, 7)));
        assert_eq!(
            parse_shard_id(&stream, "shardId-00000000000000001000-0000000300000008"),
            None
        );
        let seq = sequence_number(7, 3, (42, 2));
        assert_eq!(seq.len(), 40);
        assert_eq!(parse_sequence_number(&seq), Some((7, 3, (42, 2))));
        assert!(sequence_number(7, 3, (42, 3)) > seq);
        assert!(sequence_number(8, 3, (0, 0)) > ending_sequence_number(7, 3));
        assert_eq!(parse_sequence_number("12"), None);
    }
}
