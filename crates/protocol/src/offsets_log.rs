//! Committed offsets as records of `__consumer_offsets`, in Kafka's own key/value layout (so
//! Kafka's tools could read the topic), and the loader that rebuilds a coordinator's offsets
//! from the partitions this node starts to lead.
//!
//! Key (OffsetCommitKey, version 1): `int16 version, string group, string topic, int32
//! partition`. Value (OffsetCommitValue, version 3): `int16 version, int64 offset, int32
//! leader epoch, string metadata, int64 commit timestamp`; a null value deletes the offset.
//! Keys of version 2 (group metadata) are skipped: members rejoin a new coordinator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};
use strata_broker::{Acks, Broker};
use strata_group::{partition_for, CommittedOffset, GroupCoordinator, OFFSETS_TOPIC};

/// Bytes read from the log per step while loading a partition.
const LOAD_READ_BYTES: usize = 1 << 20;
/// How often the loader looks at leadership besides change notifications.
const LOADER_POLL_MS: u64 = 500;

/// `(group, (topic, partition), offset or None for a deletion)`.
pub type OffsetRecord = (String, (String, i32), Option<CommittedOffset>);

/// A group's offset changes: `((topic, partition), offset or None for a deletion)`.
pub type OffsetChanges = Vec<((String, i32), Option<CommittedOffset>)>;

fn put_string(buf: &mut BytesMut, s: &str) {
    let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
    buf.put_i16(len);
    buf.put_slice(&s.as_bytes()[..usize::try_from(len).unwrap_or(0)]);
}

fn get_string(buf: &mut Bytes) -> Option<String> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = usize::try_from(buf.get_i16()).ok()?;
    if buf.remaining() < len {
        return None;
    }
    let s = buf.split_to(len);
    Some(String::from_utf8_lossy(&s).to_string())
}

fn key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(1);
    put_string(&mut buf, group);
    put_string(&mut buf, topic);
    buf.put_i32(partition);
    buf.freeze()
}

fn value(offset: &CommittedOffset) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(3);
    buf.put_i64(offset.offset);
    buf.put_i32(offset.leader_epoch);
    put_string(&mut buf, &offset.metadata);
    buf.put_i64(offset.commit_timestamp_ms);
    buf.freeze()
}

/// One record batch holding `records` (a `None` offset is a tombstone).
pub fn encode(group: &str, records: &[((String, i32), Option<CommittedOffset>)]) -> Option<Bytes> {
    let now = strata_clock::wall_clock_ms();
    let converted: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, ((topic, partition), offset))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // One batch: kafka-protocol starts a new batch when offset - sequence changes.
            sequence: (i as i32) - 1,
            timestamp: now,
            key: Some(key(group, topic, *partition)),
            value: offset.as_ref().map(value),
            headers: IndexMap::new(),
        })
        .collect();
    if converted.is_empty() {
        return None;
    }
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, converted.iter(), &options).ok()?;
    Some(buf.freeze())
}

/// The offset records in `batches` (whole batches as stored). Unknown or malformed records
/// are skipped: the log is ours, but a bad record must never stop a coordinator loading.
pub fn decode(batches: Bytes) -> Vec<OffsetRecord> {
    let mut out = Vec::new();
    let mut buf = batches;
    let Ok(sets) = RecordBatchDecoder::decode_all(&mut buf) else {
        tracing::warn!("undecodable batch in __consumer_offsets: skipped");
        return out;
    };
    for set in sets {
        for record in set.records {
            let Some(mut k) = record.key else { continue };
            if k.remaining() < 2 {
                continue;
            }
            let version = k.get_i16();
            if !(0..=1).contains(&version) {
                continue; // group metadata (version 2) or unknown
            }
            let (Some(group), Some(topic)) = (get_string(&mut k), get_string(&mut k)) else {
                continue;
            };
            if k.remaining() < 4 {
                continue;
            }
            let partition = k.get_i32();
            let offset = match record.value {
                None => None,
                Some(mut v) => {
                    if v.remaining() < 10 {
                        continue;
                    }
                    let version = v.get_i16();
                    let offset = v.get_i64();
                    let leader_epoch = if version >= 3 && v.remaining() >= 4 {
                        v.get_i32()
                    } else {
                        -1
                    };
                    let metadata = get_string(&mut v).unwrap_or_default();
                    let commit_timestamp_ms = if v.remaining() >= 8 { v.get_i64() } else { -1 };
                    Some(CommittedOffset {
                        offset,
                        leader_epoch,
                        metadata,
                        commit_timestamp_ms,
                    })
                }
            };
            out.push((group, (topic, partition), offset));
        }
    }
    out
}

/// Which `__consumer_offsets` partitions this node has loaded, at which leader epoch; a group
/// whose partition is led but not loaded gets COORDINATOR_LOAD_IN_PROGRESS.
#[derive(Clone, Default)]
pub struct Loaded(Arc<Mutex<HashMap<i32, i32>>>);

impl Loaded {
    /// The leader epoch `partition` was loaded at.
    pub fn epoch(&self, partition: i32) -> Option<i32> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&partition)
            .copied()
    }

    fn set(&self, partition: i32, epoch: Option<i32>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match epoch {
            Some(e) => map.insert(partition, e),
            None => map.remove(&partition),
        };
    }

    fn all(&self) -> HashMap<i32, i32> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Reads `partition` of `__consumer_offsets` from its start to its end and hands the offsets
/// to the coordinator.
fn load_partition(broker: &Broker, groups: &GroupCoordinator, partition: i32) -> usize {
    let Some(p) = broker.partition(OFFSETS_TOPIC, partition) else {
        return 0;
    };
    let mut by_group: HashMap<String, OffsetChanges> = HashMap::new();
    let mut offset = p.log().log_start_offset();
    let mut count = 0;
    loop {
        let read = p.log().read(offset, LOAD_READ_BYTES, i64::MAX, true);
        let info = match read {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(partition, offset, %error, "cannot read __consumer_offsets while loading");
                break;
            }
        };
        if info.records.is_empty() {
            break;
        }
        let next = last_offset(&info.records).map_or(info.log_end_offset, |o| o + 1);
        for (group, key, value) in decode(info.records) {
            by_group.entry(group).or_default().push((key, value));
            count += 1;
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    for (group, offsets) in by_group {
        groups.load_offsets(&group, offsets);
    }
    count
}

/// The last offset of the last whole batch in `batches` (storage's batch framing).
fn last_offset(batches: &Bytes) -> Option<i64> {
    strata_storage::parse_replicated_batches(batches)
        .ok()
        .and_then(|headers| headers.last().map(|h| h.last_offset()))
}

/// How the offsets of a coordinator's groups expire.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// `offsets.retention.minutes` (Kafka: 7 days), in ms.
    pub retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (Kafka: 10 min).
    pub check_interval: Duration,
}

/// Writes tombstones for offsets that expired (`offsets.retention.minutes`).
async fn expire(broker: &Broker, groups: &GroupCoordinator, partitions: i32, retention_ms: i64) {
    for (group, keys) in groups.expire_offsets(retention_ms) {
        let records: Vec<_> = keys.into_iter().map(|k| (k, None)).collect();
        let Some(batch) = encode(&group, &records) else {
            continue;
        };
        let partition = partition_for(&group, partitions);
        if let Err(error) = broker
            .produce_and_replicate(
                OFFSETS_TOPIC,
                partition,
                batch,
                Acks::All,
                Duration::from_secs(5),
            )
            .await
        {
            tracing::warn!(%group, %error, "cannot write tombstones for expired offsets");
        }
    }
}

/// Follows this node's leadership of `__consumer_offsets` partitions: loads a partition it
/// starts to lead, unloads the groups of one it stops leading; expires old offsets of empty
/// groups. Ends with the broker.
pub fn spawn_loader(
    broker: std::sync::Weak<Broker>,
    groups: GroupCoordinator,
    loaded: Loaded,
    partitions: i32,
    node_id: i32,
    retention: Retention,
) {
    tokio::spawn(async move {
        let Some(mut changes) = broker.upgrade().map(|b| b.subscribe_leadership()) else {
            return;
        };
        let mut last_expiry = std::time::Instant::now();
        loop {
            let Some(b) = broker.upgrade() else { return };
            if last_expiry.elapsed() >= retention.check_interval {
                last_expiry = std::time::Instant::now();
                expire(&b, &groups, partitions, retention.retention_ms).await;
            }
            let mut led = HashMap::new();
            for partition in 0..partitions {
                if let Some(p) = b.partition(OFFSETS_TOPIC, partition) {
                    let state = p.state();
                    if state.leader == node_id {
                        led.insert(partition, state.leader_epoch);
                    }
                }
            }
            let before = loaded.all();
            let dropped: Vec<i32> = before
                .keys()
                .filter(|p| led.get(p) != before.get(p))
                .copied()
                .collect();
            for partition in &dropped {
                loaded.set(*partition, None);
            }
            if !dropped.is_empty() {
                groups.unload(|g| {
                    let p = partition_for(g, partitions);
                    led.contains_key(&p) && before.get(&p) == led.get(&p)
                });
            }
            for (partition, epoch) in &led {
                if before.get(partition) == Some(epoch) {
                    continue;
                }
                let count = load_partition(&b, &groups, *partition);
                tracing::info!(
                    partition,
                    epoch,
                    records = count,
                    "coordinator: loaded __consumer_offsets partition"
                );
                loaded.set(*partition, Some(*epoch));
            }
            drop(b);
            let _ = tokio::time::timeout(Duration::from_millis(LOADER_POLL_MS), changes.changed())
                .await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_through_a_batch() {
        let committed = CommittedOffset {
            offset: 42,
            leader_epoch: 3,
            metadata: "m".to_string(),
            commit_timestamp_ms: 1_700_000_000_000,
        };
        let batch = encode(
            "g",
            &[
                (("t".to_string(), 0), Some(committed.clone())),
                (("t".to_string(), 1), None),
            ],
        )
        .unwrap();
        assert_eq!(last_offset(&batch), Some(1));
        let records = decode(batch);
        assert_eq!(
            records,
            vec![
                ("g".to_string(), ("t".to_string(), 0), Some(committed)),
                ("g".to_string(), ("t".to_string(), 1), None),
            ]
        );
        assert!(decode(Bytes::from_static(b"garbage")).is_empty());
    }
}
