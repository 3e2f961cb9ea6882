//! Record batches (v2) for produce and fetch, on top of kafka-protocol's encoder and decoder.

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

use crate::error::{ClientError, Result};

/// Bytes before the batch length field ends: base offset (8) + batch length (4).
const BATCH_LENGTH_END_BYTES: usize = 12;
/// Offset of `lastOffsetDelta` inside a v2 batch header.
const LAST_OFFSET_DELTA_POS: usize = 23;
/// Offset of the magic byte inside a batch header.
const MAGIC_POS: usize = 16;
/// Size of the fixed v2 batch header.
const BATCH_HEADER_BYTES: usize = 61;

/// How a record's timestamp was assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampKind {
    /// Set by the producer (Kafka's `CreateTime`).
    CreateTime,
    /// Set by the broker at append (Kafka's `LogAppendTime`).
    LogAppendTime,
}

impl std::fmt::Display for TimestampKind {
    /// Kafka's `TimestampType.toString()` names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimestampKind::CreateTime => "CreateTime",
            TimestampKind::LogAppendTime => "LogAppendTime",
        })
    }
}

/// A record read from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp in ms since the epoch.
    pub timestamp: i64,
    /// Meaning of `timestamp`.
    pub timestamp_type: TimestampKind,
    /// Key bytes, `None` for a null key.
    pub key: Option<Bytes>,
    /// Value bytes, `None` for a null value (tombstone).
    pub value: Option<Bytes>,
    /// Headers in record order; values may be null.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A record to produce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceRecord {
    /// Key bytes, `None` for a null key.
    pub key: Option<Bytes>,
    /// Value bytes, `None` for a null value.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Create time in ms since the epoch.
    pub timestamp: i64,
}

impl ProduceRecord {
    /// Rough encoded size, used for batch-size accounting (Kafka's estimate is similar).
    pub fn estimated_size_bytes(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()) + 4)
            .sum();
        self.key.as_ref().map_or(0, |k| k.len())
            + self.value.as_ref().map_or(0, |v| v.len())
            + headers
            + 16
    }
}

/// Idempotent-producer identity for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdentity {
    /// Producer id from InitProducerId.
    pub producer_id: i64,
    /// Producer epoch from InitProducerId.
    pub producer_epoch: i16,
    /// Sequence number of the batch's first record.
    pub base_sequence: i32,
}

/// Encodes `records` as one RecordBatch v2 (base offset 0; the broker assigns offsets).
pub fn encode_batch(
    topic: &str,
    partition: i32,
    records: &[ProduceRecord],
    producer: Option<ProducerIdentity>,
    compression: Compression,
) -> Result<Bytes> {
    let records_err = |message: String| ClientError::Records {
        topic: topic.to_string(),
        partition,
        message,
    };
    if records.is_empty() {
        return Err(records_err("cannot encode an empty batch".to_string()));
    }
    let converted: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let offset = i as i64;
            // kafka-protocol starts a new batch whenever (offset - sequence) changes, so
            // non-idempotent records use sequence = offset - 1, which encodes base sequence -1.
            let sequence = match producer {
                Some(p) => p.base_sequence.wrapping_add(i as i32),
                None => (i as i32) - 1,
            };
            let mut headers = IndexMap::new();
            for (k, v) in &r.headers {
                headers.insert(StrBytes::from_string(k.clone()), v.clone());
            }
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
                producer_id: producer.map_or(NO_PRODUCER_ID, |p| p.producer_id),
                producer_epoch: producer.map_or(NO_PRODUCER_EPOCH, |p| p.producer_epoch),
                timestamp_type: TimestampType::Creation,
                offset,
                sequence,
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, converted.iter(), &options)
        .map_err(|e| records_err(format!("encode failed: {e}")))?;
    Ok(buf.freeze())
}

/// Records decoded from a fetch response's `records` field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedRecords {
    /// Data records at or after the requested offset (control records removed).
    pub records: Vec<ConsumedRecord>,
    /// Offset after the last complete batch, if any complete batch was present.
    pub next_offset: Option<i64>,
}

/// Decodes the complete batches in `data`, skipping a trailing partial batch (brokers may cut the
/// last batch at `max_bytes`), control records, and records before `fetch_offset`.
pub fn decode_batches(
    topic: &str,
    partition: i32,
    mut data: Bytes,
    fetch_offset: i64,
) -> Result<DecodedRecords> {
    let mut out = DecodedRecords::default();
    let records_err = |message: String| ClientError::Records {
        topic: topic.to_string(),
        partition,
        message,
    };
    while data.len() >= BATCH_LENGTH_END_BYTES {
        let base_offset = i64::from_be_bytes(data[0..8].try_into().unwrap_or([0; 8]));
        let batch_len = i32::from_be_bytes(data[8..12].try_into().unwrap_or([0; 4]));
        if batch_len < 0 {
            return Err(records_err(format!(
                "negative batch length {batch_len} at base offset {base_offset}"
            )));
        }
        let total = BATCH_LENGTH_END_BYTES + batch_len as usize;
        if data.len() < total {
            break; // partial trailing batch
        }
        let mut batch = data.split_to(total);
        if total < BATCH_HEADER_BYTES {
            return Err(records_err(format!(
                "batch at base offset {base_offset} is only {total} bytes"
            )));
        }
        let magic = batch[MAGIC_POS] as i8;
        if magic != 2 {
            return Err(records_err(format!(
                "message format v{magic} at offset {base_offset} is not supported (only v2)"
            )));
        }
        let last_delta = i32::from_be_bytes(
            batch[LAST_OFFSET_DELTA_POS..LAST_OFFSET_DELTA_POS + 4]
                .try_into()
                .unwrap_or([0; 4]),
        );
        let next = base_offset + i64::from(last_delta) + 1;
        debug_assert!(out.next_offset.is_none_or(|prev| next >= prev));
        out.next_offset = Some(next);
        let set = RecordBatchDecoder::decode(&mut batch)
            .map_err(|e| records_err(format!("batch at base offset {base_offset}: {e}")))?;
        for r in set.records {
            if r.control || r.offset < fetch_offset {
                continue;
            }
            out.records.push(ConsumedRecord {
                topic: topic.to_string(),
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                timestamp_type: match r.timestamp_type {
                    TimestampType::Creation => TimestampKind::CreateTime,
                    TimestampType::LogAppend => TimestampKind::LogAppendTime,
                },
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: Option<&str>, v: &str) -> ProduceRecord {
        ProduceRecord {
            key: k.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: vec![("h".to_string(), Some(Bytes::from_static(b"1")))],
            timestamp: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trip_non_idempotent_is_one_batch() {
        let records = vec![rec(Some("k"), "a"), rec(None, "b"), rec(None, "c")];
        let data = encode_batch("t", 0, &records, None, Compression::None).unwrap();
        // One batch: base sequence -1, producer id -1.
        let infos = RecordBatchDecoder::decode_batch_info(&mut data.clone()).unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].base_sequence, -1);
        assert_eq!(infos[0].producer_id, -1);
        let decoded = decode_batches("t", 0, data, 0).unwrap();
        assert_eq!(decoded.next_offset, Some(3));
        assert_eq!(decoded.records.len(), 3);
        assert_eq!(decoded.records[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(decoded.records[2].value.as_deref(), Some(&b"c"[..]));
        assert_eq!(decoded.records[1].headers[0].0, "h");
    }

    #[test]
    fn idempotent_batch_carries_sequence() {
        let records = vec![rec(None, "a"), rec(None, "b")];
        let p = ProducerIdentity {
            producer_id: 7,
            producer_epoch: 2,
            base_sequence: 10,
        };
        let data = encode_batch("t", 0, &records, Some(p), Compression::Gzip).unwrap();
        let infos = RecordBatchDecoder::decode_batch_info(&mut data.clone()).unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].base_sequence, 10);
        assert_eq!(infos[0].producer_id, 7);
        assert_eq!(infos[0].producer_epoch, 2);
        let decoded = decode_batches("t", 0, data, 0).unwrap();
        assert_eq!(decoded.records.len(), 2);
    }

    #[test]
    fn partial_trailing_batch_and_offset_filter() {
        let a = encode_batch(
            "t",
            0,
            &[rec(None, "a"), rec(None, "b")],
            None,
            Compression::None,
        )
        .unwrap();
        let mut joined = BytesMut::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&a[..20]);
        let decoded = decode_batches("t", 0, joined.freeze(), 1).unwrap();
        assert_eq!(decoded.records.len(), 1);
        assert_eq!(decoded.records[0].offset, 1);
        assert_eq!(decoded.next_offset, Some(2));
    }
}
