//! One stream record: built by the write path from a write's old and new
//! images (in the write's own batch), stored as the module doc lays out,
//! and written as DynamoDB's `Record` JSON by GetRecords.

use crate::api::shard::Shard;
use crate::api::shard::streams::Position;
use crate::catalog::{StreamViewType, TableDef};
use crate::engine::WriteBatch;
use crate::model::Item;
use crate::model::codec::{DecodeError, encode_item, write_item_json};
use crate::model::value::write_json_str;

use super::names::sequence_number;
use super::record_key;

const RECORD_VERSION: u8 = 1;
const ABSENT: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Insert = 1,
    Modify = 2,
    Remove = 3,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Insert => "INSERT",
            Event::Modify => "MODIFY",
            Event::Remove => "REMOVE",
        }
    }

    fn from_u8(b: u8) -> Option<Event> {
        match b {
            1 => Some(Event::Insert),
            2 => Some(Event::Modify),
            3 => Some(Event::Remove),
            _ => None,
        }
    }
}

/// The event a write is, or None if it changes nothing (a put of the
/// identical item, a delete of an absent one): DynamoDB publishes none.
pub fn event_of(old: Option<&Item>, new: Option<&Item>) -> Option<Event> {
    match (old, new) {
        (None, None) => None,
        (None, Some(_)) => Some(Event::Insert),
        (Some(_), None) => Some(Event::Remove),
        (Some(o), Some(n)) if o == n => None,
        (Some(_), Some(_)) => Some(Event::Modify),
    }
}

/// What the write path knows of one change.
pub struct Change<'a> {
    pub old: Option<&'a Item>,
    pub new: Option<&'a Item>,
    /// A TTL deletion (the record names the service as its user).
    pub by_service: bool,
}

/// Adds the records of `changes` (one per change that changes something)
/// of `table`'s enabled stream to `batch`, numbered from `wal_seq` — the
/// sequence the batch will get: call this in the synchronous section that
/// writes `batch`. Returns how many were added.
pub fn push_records(
    shard: &Shard,
    table: &TableDef,
    changes: &[Change<'_>],
    wal_seq: u64,
    first_index: u16,
    now_ms: u64,
    batch: &mut WriteBatch,
) -> u16 {
    let Some(stream) = table.enabled_stream() else {
        return 0;
    };
    let key = (table.id, stream.label_ms);
    let epoch = shard.streams.open_epoch(key, stream, now_ms);
    let mut index = first_index;
    for change in changes {
        let Some(event) = event_of(change.old, change.new) else {
            continue;
        };
        let Some(keys) = change.new.or(change.old).map(|item| key_of(table, item)) else {
            continue;
        };
        let view = stream.view_type;
        let old = change.old.filter(|_| view.old_image());
        let new = change.new.filter(|_| view.new_image());
        let value = encode(now_ms, event, change.by_service, &keys, old, new);
        batch.push((record_key(key, epoch, wal_seq, index), Some(value)));
        index = index.saturating_add(1);
    }
    let added = index - first_index;
    shard
        .streams
        .records_written
        .set(shard.streams.records_written.get() + u64::from(added));
    added
}

/// The key attributes of `item` in `table`.
pub fn key_of(table: &TableDef, item: &Item) -> Item {
    table
        .key_attrs()
        .filter_map(|k| item.get(&k.name).map(|v| (k.name.clone(), v.clone())))
        .collect()
}

fn encode(
    now_ms: u64,
    event: Event,
    by_service: bool,
    keys: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(RECORD_VERSION);
    out.extend_from_slice(&now_ms.to_le_bytes());
    out.push(event as u8);
    out.push(u8::from(by_service));
    for part in [Some(keys), old, new] {
        match part {
            Some(item) => {
                let bytes = encode_item(item);
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
            None => out.extend_from_slice(&ABSENT.to_le_bytes()),
        }
    }
    out
}

/// A stored record, its images still encoded.
pub struct Stored<'a> {
    pub created_ms: u64,
    pub event: Event,
    pub by_service: bool,
    pub keys: &'a [u8],
    pub old: Option<&'a [u8]>,
    pub new: Option<&'a [u8]>,
}

pub fn decode(bytes: &[u8]) -> Result<Stored<'_>, DecodeError> {
    const BAD: DecodeError = DecodeError("malformed stream record");
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], DecodeError> {
        if rest.len() < n {
            return Err(BAD);
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    if take(1)? != [RECORD_VERSION] {
        return Err(BAD);
    }
    let created_ms = u64::from_le_bytes(take(8)?.try_into().map_err(|_| BAD)?);
    let event = Event::from_u8(take(1)?[0]).ok_or(BAD)?;
    let by_service = take(1)?[0] == 1;
    let mut parts: [Option<&[u8]>; 3] = [None; 3];
    for part in &mut parts {
        let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| BAD)?);
        if len != ABSENT {
            *part = Some(take(len as usize)?);
        }
    }
    if !rest.is_empty() {
        return Err(BAD);
    }
    let [keys, old, new] = parts;
    Ok(Stored {
        created_ms,
        event,
        by_service,
        keys: keys.ok_or(BAD)?,
        old,
        new,
    })
}

/// Writes `record` (at `position` of `epoch` on `shard_id`) as DynamoDB's
/// Record JSON; returns its SizeBytes.
pub fn write_json(
    out: &mut Vec<u8>,
    shard: &Shard,
    view: StreamViewType,
    (epoch, shard_id, position): (u32, u32, Position),
    record: &Stored<'_>,
) -> Result<usize, DecodeError> {
    out.extend_from_slice(b"{\"awsRegion\":");
    write_json_str(out, &shard.settings.region);
    out.extend_from_slice(b",\"dynamodb\":{");
    out.extend_from_slice(
        format!(
            "\"ApproximateCreationDateTime\":{}",
            record.created_ms / 1000
        )
        .as_bytes(),
    );
    out.extend_from_slice(b",\"Keys\":");
    let mut size = write_item_json(record.keys, out)?;
    if let Some(new) = record.new {
        out.extend_from_slice(b",\"NewImage\":");
        size += write_item_json(new, out)?;
    }
    if let Some(old) = record.old {
        out.extend_from_slice(b",\"OldImage\":");
        size += write_item_json(old, out)?;
    }
    out.extend_from_slice(b",\"SequenceNumber\":");
    write_json_str(out, &sequence_number(epoch, shard_id, position));
    out.extend_from_slice(format!(",\"SizeBytes\":{size},\"StreamViewType\":").as_bytes());
    write_json_str(out, view.as_str());
    out.extend_from_slice(b"},\"eventID\":");
    write_json_str(
        out,
        &format!(
            "{shard_id:08x}{epoch:08x}{:016x}{:04x}",
            position.0, position.1
        ),
    );
    out.extend_from_slice(b",\"eventName\":");
    write_json_str(out, record.event.name());
    out.extend_from_slice(b",\"eventSource\":\"aws:dynamodb\",\"eventVersion\":\"1.1\"");
    if record.by_service {
        out.extend_from_slice(
            b",\"userIdentity\":{\"PrincipalId\":\"dynamodb.amazonaws.com\",\"Type\":\"Service\"}",
        );
    }
    out.push(b'}');
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::Value;

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::S(v.to_string())))
            .collect()
    }

    #[test]
    fn events_and_the_record_format_round_trip() {
        let a = item(&[("pk", "1"), ("x", "a")]);
        let b = item(&[("pk", "1"), ("x", "b")]);
        assert_eq!(event_of(None, None), None);
        assert_eq!(event_of(Some(&a), Some(&a)), None);
        assert_eq!(event_of(None, Some(&a)), Some(Event::Insert));
        assert_eq!(event_of(Some(&a), Some(&b)), Some(Event::Modify));
        assert_eq!(event_of(Some(&a), None), Some(Event::Remove));
        let keys = item(&[("pk", "1")]);
        let bytes = encode(1234, Event::Modify, true, &keys, Some(&a), None);
        let stored = decode(&bytes).expect("decodes");
        assert_eq!(stored.created_ms, 1234);
        assert_eq!(stored.event, Event::Modify);
        assert!(stored.by_service);
        assert!(stored.old.is_some() && stored.new.is_none());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
