//! Regression tests: record-level validation of produce payloads (Kafka's `LogValidator`) and
//! overflow-free handling of client-controlled and on-disk offsets.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{batch, raw_batch, record, set_base_offset, varint};
use strata_storage::{parse_batch_headers, LogConfig, PartitionLog, StorageError};

const NOW: i64 = 1_700_000_000_000;
const GZIP: i16 = 1;

fn open(tmp: &tempfile::TempDir) -> PartitionLog {
    PartitionLog::open(tmp.path().join("v-0"), LogConfig::default()).unwrap()
}

fn assert_invalid(log: &mut PartitionLog, payload: Vec<u8>, what: &str) {
    let result = log.append(Bytes::from(payload), 0, NOW);
    assert!(
        matches!(result, Err(StorageError::InvalidRecord { .. })),
        "{what}: {result:?}"
    );
    assert_eq!(log.log_end_offset(), 0, "{what}: log end moved");
}

#[test]
fn header_only_batch_claiming_i32_max_records_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = open(&tmp);
    // 61 bytes, valid CRC, no records at all.
    let lie = raw_batch(&[], i32::MAX, i32::MAX - 1, 0);
    assert_eq!(lie.len(), 61);
    assert_invalid(&mut log, lie, "empty batch claiming i32::MAX records");
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn record_walk_refuses_every_framing_lie() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = open(&tmp);
    let r0 = record(0, None, Some(b"a"), &[]);
    let r1 = record(1, None, Some(b"b"), &[]);

    let two = [r0.clone(), r1.clone()].concat();
    assert_invalid(
        &mut log,
        raw_batch(&two, 1, 0, 0),
        "more records than declared",
    );
    assert_invalid(
        &mut log,
        raw_batch(&two, 3, 2, 0),
        "fewer records than declared",
    );
    let same_delta = [r0.clone(), record(0, None, Some(b"b"), &[])].concat();
    assert_invalid(
        &mut log,
        raw_batch(&same_delta, 2, 1, 0),
        "repeated offset delta",
    );
    let from_one = [record(1, None, None, &[]), record(2, None, None, &[])].concat();
    assert_invalid(&mut log, raw_batch(&from_one, 2, 1, 0), "deltas not from 0");

    // A record whose length runs past the batch end.
    let mut overrun = Vec::new();
    varint(&mut overrun, 200);
    overrun.extend_from_slice(&r0[1..]);
    assert_invalid(
        &mut log,
        raw_batch(&overrun, 1, 0, 0),
        "record overruns batch",
    );

    // Declared body longer than its fields (one stray byte inside the record).
    let mut padded_body = r0[1..].to_vec();
    padded_body.push(0);
    let mut padded = Vec::new();
    varint(&mut padded, padded_body.len() as i64);
    padded.extend_from_slice(&padded_body);
    assert_invalid(
        &mut log,
        raw_batch(&padded, 1, 0, 0),
        "record with trailing byte",
    );

    // Value length larger than what is left in the record.
    let mut body = vec![0u8];
    varint(&mut body, 0);
    varint(&mut body, 0);
    varint(&mut body, -1);
    varint(&mut body, 50);
    body.extend_from_slice(b"short");
    varint(&mut body, 0);
    let mut short_value = Vec::new();
    varint(&mut short_value, body.len() as i64);
    short_value.extend_from_slice(&body);
    assert_invalid(
        &mut log,
        raw_batch(&short_value, 1, 0, 0),
        "value overruns record",
    );

    // Negative header count and negative header key size.
    for (count, key_len) in [(-1i64, None), (1, Some(-2i64))] {
        let mut body = vec![0u8];
        varint(&mut body, 0);
        varint(&mut body, 0);
        varint(&mut body, -1);
        varint(&mut body, -1);
        varint(&mut body, count);
        if let Some(k) = key_len {
            varint(&mut body, k);
            varint(&mut body, -1);
        }
        let mut rec = Vec::new();
        varint(&mut rec, body.len() as i64);
        rec.extend_from_slice(&body);
        assert_invalid(&mut log, raw_batch(&rec, 1, 0, 0), "bad headers");
    }

    // A varint longer than 5 bytes.
    let long_varint = [0xffu8, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert_invalid(
        &mut log,
        raw_batch(&long_varint, 1, 0, 0),
        "overlong varint",
    );

    // Trailing garbage after the declared records.
    let mut trailing = r0.clone();
    trailing.extend_from_slice(&[0, 0, 0]);
    assert_invalid(&mut log, raw_batch(&trailing, 1, 0, 0), "trailing bytes");

    // Well-formed records with keys, null values and headers (one with a null value) pass.
    let good_records = [
        record(0, Some(b"k"), None, &[(b"h1", Some(b"v")), (b"h2", None)]),
        record(1, None, Some(b""), &[]),
        record(2, None, Some(b"c"), &[]),
    ]
    .concat();
    let info = log
        .append(Bytes::from(raw_batch(&good_records, 3, 2, 0)), 0, NOW)
        .unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 2));
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn compressed_batches_get_a_record_count_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = open(&tmp);
    let body = vec![0xabu8; 10];
    let batch_length = (61 - 12 + body.len()) as i32;
    let too_many = batch_length * 1024 + 1;
    assert_invalid(
        &mut log,
        raw_batch(&body, too_many, too_many - 1, GZIP),
        "compressed count above bound",
    );
    assert_invalid(
        &mut log,
        raw_batch(&body, 2, 0, GZIP),
        "compressed last offset delta mismatch",
    );
    assert_invalid(&mut log, raw_batch(&body, 1, 0, 5), "unknown codec id");
    // Not decompressed: a plausible count is accepted at header level.
    let info = log
        .append(Bytes::from(raw_batch(&body, 100, 99, GZIP)), 0, NOW)
        .unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 99));
}

#[test]
fn stored_batches_near_i64_max_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v-0");
    std::fs::create_dir_all(&dir).unwrap();
    let good = batch(2, 5, NOW).to_vec();
    let mut overflowing = batch(3, 5, NOW).to_vec();
    // base + last_offset_delta overflows i64.
    set_base_offset(&mut overflowing, i64::MAX - 1);
    let mut file = good.clone();
    file.extend_from_slice(&overflowing);
    std::fs::write(dir.join("00000000000000000000.log"), &file).unwrap();

    let mut log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    // The overflowing batch is treated as a corrupt tail, not a panic.
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(log.size_bytes(), good.len() as u64);
    assert_eq!(log.offset_for_timestamp(NOW).unwrap(), Some((0, NOW)));
    assert_eq!(log.append(batch(1, 5, NOW), 0, NOW).unwrap().base_offset, 2);

    let h = parse_batch_headers(&good).unwrap()[0];
    let mut huge = h;
    huge.base_offset = i64::MAX;
    assert_eq!(huge.last_offset(), i64::MAX);
    assert_eq!(huge.checked_last_offset(), None);
    assert_eq!(h.checked_last_offset(), Some(1));
}

#[test]
fn sequence_increment_never_overflows() {
    use strata_storage::batch::increment_sequence;
    assert_eq!(increment_sequence(5, 3), 8);
    assert_eq!(increment_sequence(i32::MAX, 1), 0);
    assert_eq!(increment_sequence(i32::MAX - 1, 4), 2);
    // Negative deltas only come from corrupt headers: any value, but no panic.
    let _ = increment_sequence(0, i32::MIN);
    let _ = increment_sequence(i32::MAX, i32::MAX);
}
