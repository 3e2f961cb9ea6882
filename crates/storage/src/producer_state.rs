//! Idempotent-producer state (Kafka's `ProducerStateManager` / `ProducerAppendInfo`): per
//! producer id, the current epoch and the metadata of its last few batches, used to drop
//! retried duplicates and refuse sequence gaps.
//!
//! Kept only in memory and rebuilt on open by scanning batch headers (no `.snapshot` files), so
//! opening a log costs one header read per batch. Producers are never expired by time
//! (`producer.id.expiration.ms` is not implemented); they are forgotten when the log start offset
//! moves past their last batch.

use std::collections::{HashMap, VecDeque};

use crate::batch::BatchHeader;
use crate::error::StorageError;

/// Batches remembered per producer for duplicate detection (Kafka's `NUM_BATCHES_TO_RETAIN`).
pub const PRODUCER_BATCHES_RETAINED: usize = 5;
/// "No epoch yet" (Kafka's `RecordBatch.NO_PRODUCER_EPOCH`).
const NO_PRODUCER_EPOCH: i16 = -1;

/// Offsets and sequences of one appended batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub timestamp: i64,
}

#[derive(Clone, Debug, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
}

impl ProducerEntry {
    fn last_seq(&self) -> i32 {
        self.batches.back().map_or(-1, |b| b.last_seq)
    }
    fn last_offset(&self) -> i64 {
        self.batches.back().map_or(-1, |b| b.last_offset)
    }
    fn push(&mut self, meta: BatchMetadata) {
        self.batches.push_back(meta);
        while self.batches.len() > PRODUCER_BATCHES_RETAINED {
            self.batches.pop_front();
        }
    }
}

/// Changes validated by [`ProducerStateManager::prepare`], applied by [`ProducerStateManager::commit`].
pub(crate) struct PendingProducerState {
    entries: HashMap<i64, ProducerEntry>,
}

/// Producer id → state.
#[derive(Default)]
pub(crate) struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

fn metadata(h: &BatchHeader) -> BatchMetadata {
    BatchMetadata {
        first_seq: h.base_sequence,
        last_seq: h.last_sequence(),
        first_offset: h.base_offset,
        last_offset: h.last_offset(),
        timestamp: h.max_timestamp,
    }
}

impl ProducerStateManager {
    /// A cached batch of the same producer and epoch with the same sequence range, if any
    /// (Kafka's `ProducerStateEntry.findDuplicateBatch`).
    pub(crate) fn find_duplicate(&self, h: &BatchHeader) -> Option<BatchMetadata> {
        if !h.has_producer_id() {
            return None;
        }
        let entry = self.producers.get(&h.producer_id)?;
        if entry.epoch != h.producer_epoch {
            return None;
        }
        let last_seq = h.last_sequence();
        entry
            .batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq)
            .copied()
    }

    /// Validates client batches (headers carry their assigned offsets) against the current
    /// state, Kafka's `checkProducerEpoch` + `checkSequence`: an older epoch is refused; a new
    /// epoch must start at sequence 0 unless the producer is unknown; the same epoch must
    /// continue the sequence. A producer the log does not know is accepted at any sequence
    /// (KIP-360: its state may have been removed by retention or DeleteRecords).
    pub(crate) fn prepare(
        &self,
        headers: &[BatchHeader],
    ) -> Result<PendingProducerState, StorageError> {
        // Per producer: the entry being built for this append, starting from the current epoch
        // with no batches (Kafka's `updatedEntry`).
        let mut updated: HashMap<i64, ProducerEntry> = HashMap::new();
        for h in headers.iter().filter(|h| h.has_producer_id()) {
            let current = self.producers.get(&h.producer_id);
            let current_epoch = current.map_or(NO_PRODUCER_EPOCH, |e| e.epoch);
            let entry = updated
                .entry(h.producer_id)
                .or_insert_with(|| ProducerEntry {
                    epoch: current_epoch,
                    batches: VecDeque::new(),
                });
            if h.producer_epoch < entry.epoch {
                return Err(StorageError::InvalidProducerEpoch {
                    producer_id: h.producer_id,
                    current: entry.epoch,
                    got: h.producer_epoch,
                });
            }
            if h.producer_epoch != entry.epoch {
                if h.base_sequence != 0 && entry.epoch != NO_PRODUCER_EPOCH {
                    return Err(StorageError::OutOfOrderSequence {
                        producer_id: h.producer_id,
                        expected: 0,
                        got: h.base_sequence,
                    });
                }
                entry.epoch = h.producer_epoch;
                entry.batches.clear();
            } else {
                let last_seq = if let Some(b) = entry.batches.back() {
                    b.last_seq
                } else if current.is_some_and(|c| c.epoch == h.producer_epoch) {
                    current.map_or(-1, ProducerEntry::last_seq)
                } else {
                    -1
                };
                if current_epoch != NO_PRODUCER_EPOCH && !in_sequence(last_seq, h.base_sequence) {
                    return Err(StorageError::OutOfOrderSequence {
                        producer_id: h.producer_id,
                        expected: last_seq.wrapping_add(1).max(0),
                        got: h.base_sequence,
                    });
                }
            }
            entry.push(metadata(h));
        }
        Ok(PendingProducerState { entries: updated })
    }

    /// Applies state prepared for batches that were then written.
    pub(crate) fn commit(&mut self, pending: PendingProducerState) {
        for (producer_id, staged) in pending.entries {
            let entry = self.producers.entry(producer_id).or_default();
            if entry.epoch != staged.epoch {
                entry.epoch = staged.epoch;
                entry.batches.clear();
            }
            for b in staged.batches {
                entry.push(b);
            }
        }
    }

    /// Replays a batch already in the log (open/truncation): no validation, epochs only move
    /// forward as in Kafka's replication origin.
    pub(crate) fn replay(&mut self, h: &BatchHeader) {
        if !h.has_producer_id() || h.is_control() {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::new(),
            });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.push(metadata(h));
    }

    /// Forgets producers whose last batch is entirely below `log_start_offset`.
    pub(crate) fn truncate_head(&mut self, log_start_offset: i64) {
        self.producers
            .retain(|_, e| e.last_offset() >= log_start_offset);
    }

    /// Forgets everything (before a full rebuild).
    pub(crate) fn clear(&mut self) {
        self.producers.clear();
    }

    /// Number of producers tracked.
    pub(crate) fn len(&self) -> usize {
        self.producers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: count,
        }
    }

    #[test]
    fn sequences_wrap_and_only_five_batches_are_cached() {
        let mut m = ProducerStateManager::default();
        let first = header(1, 0, i32::MAX - 1, 2, 0);
        assert_eq!(first.last_sequence(), i32::MAX);
        let p = m.prepare(&[first]).unwrap();
        m.commit(p);
        // After i32::MAX comes 0.
        let next = header(1, 0, 0, 1, 2);
        let p = m.prepare(&[next]).unwrap();
        m.commit(p);
        for i in 1..=5 {
            let p = m.prepare(&[header(1, 0, i, 1, 2 + i64::from(i))]).unwrap();
            m.commit(p);
        }
        assert!(
            m.find_duplicate(&first).is_none(),
            "evicted after 5 newer batches"
        );
        assert!(m.find_duplicate(&header(1, 0, 5, 1, 99)).is_some());
        // Two batches of one producer in one append are checked against each other.
        assert!(m
            .prepare(&[header(1, 0, 6, 1, 8), header(1, 0, 7, 1, 9)])
            .is_ok());
        assert!(matches!(
            m.prepare(&[header(1, 0, 6, 1, 8), header(1, 0, 9, 1, 9)]),
            Err(StorageError::OutOfOrderSequence {
                expected: 7,
                got: 9,
                ..
            })
        ));
        m.truncate_head(100);
        assert_eq!(m.len(), 0);
    }
}
