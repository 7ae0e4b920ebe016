//! Recovery classification tests over hand-built segments: torn tail of
//! the in-flight group vs damage to synced records, sequence gaps, and stale
//! records in recycled segments.

use crate::engine::EngineError;
use crate::engine::io::dma::block_on;
use crate::engine::io::mem::MemFs;
use crate::engine::wal;

fn run<T>(future: impl Future<Output = T>) -> T {
    block_on(future).expect("executor")
}

fn key(table: u32, k: u64) -> Vec<u8> {
    let mut out = table.to_be_bytes().to_vec();
    out.extend_from_slice(&k.to_be_bytes());
    out
}

fn segment_bytes(records: &[(u64, u64)], segment: u64) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for &(seq, group) in records {
        offsets.push(bytes.len());
        let body = wal::record::encode_batch(&vec![(key(1, seq), Some(vec![seq as u8; 30]))]);
        wal::record::encode_record(&mut bytes, segment, seq, group, &body);
    }
    bytes.resize(bytes.len().div_ceil(4096) * 4096, 0);
    (bytes, offsets)
}

async fn recover_last_seq(fs: &MemFs, segments: &[u64]) -> Result<u64, EngineError> {
    wal::recover(fs, segments, 0, None, |_, _| {})
        .await
        .map(|r| r.last_seq)
}

#[test]
fn wal_recovery_tells_torn_groups_from_damaged_synced_records() {
    run(async {
        // Group 1 = {1}, group 2 = {2, 3, 4}; record 3 damaged.
        let (mut bytes, offsets) = segment_bytes(&[(1, 1), (2, 2), (3, 2), (4, 2)], 5);
        bytes[offsets[2] + 40] ^= 0xFF;
        let fs = MemFs::new();
        fs.put_durable(&wal::segment_name(5), &bytes);
        // The damaged record is in the last (unsynced) group: torn tail.
        assert_eq!(recover_last_seq(&fs, &[5]).await.expect("torn tail"), 2);

        // Same damage, but a later segment holds records: group 2 was synced.
        let (next, _) = segment_bytes(&[(5, 5)], 6);
        fs.put_durable(&wal::segment_name(6), &next);
        let error = recover_last_seq(&fs, &[5, 6])
            .await
            .expect_err("corruption");
        assert!(
            matches!(error, EngineError::Corruption { ref path, .. } if path == &wal::segment_name(5)),
            "{error}"
        );

        // Damage in group 1 with group 2 after it: corruption.
        let (mut bytes, offsets) = segment_bytes(&[(1, 1), (2, 1), (3, 3), (4, 3)], 7);
        bytes[offsets[1] + 40] ^= 0xFF;
        let fs = MemFs::new();
        fs.put_durable(&wal::segment_name(7), &bytes);
        match recover_last_seq(&fs, &[7]).await {
            Err(EngineError::Corruption { offset, .. }) => assert_eq!(offset, offsets[1] as u64),
            other => panic!("expected corruption, got {other:?}"),
        }

        // A sequence gap between segments: corruption.
        let fs = MemFs::new();
        fs.put_durable(
            &wal::segment_name(1),
            &segment_bytes(&[(1, 1), (2, 2)], 1).0,
        );
        fs.put_durable(&wal::segment_name(2), &segment_bytes(&[(4, 4)], 2).0);
        assert!(matches!(
            recover_last_seq(&fs, &[1, 2]).await,
            Err(EngineError::Corruption { .. })
        ));

        // Stale records of a recycled segment are not this segment's.
        let fs = MemFs::new();
        let (mut fresh, _) = segment_bytes(&[(9, 9)], 3);
        let (stale, _) = segment_bytes(&[(1, 1), (2, 2), (3, 3)], 1);
        fresh.truncate(100);
        fresh.extend_from_slice(&stale[100..]);
        fs.put_durable(&wal::segment_name(3), &fresh);
        let recovered = wal::recover(&fs, &[3], 8, None, |_, _| {})
            .await
            .expect("stale data ignored");
        assert_eq!(recovered.last_seq, 9);
    });
}
