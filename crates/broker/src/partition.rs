//! One partition replica hosted by this broker: its log, leadership state and high watermark.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use strata_storage::PartitionLog;
use uuid::Uuid;

/// Leadership state of a partition, as last seen in the metadata image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// Leader node id, -1 when offline.
    pub leader: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Assigned replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
}

/// A partition replica on this broker.
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    /// Topic id.
    pub topic_id: Uuid,
    log: Arc<Mutex<PartitionLog>>,
    state: Mutex<PartitionState>,
    /// Offset up to which records are committed and visible to consumers.
    high_watermark: AtomicI64,
}

impl Partition {
    /// Wraps an opened log. On a single replica the high watermark starts at the log end.
    pub fn new(
        topic: String,
        index: i32,
        topic_id: Uuid,
        log: Arc<Mutex<PartitionLog>>,
        state: PartitionState,
    ) -> Self {
        let leo = lock(&log).log_end_offset();
        Partition {
            topic,
            index,
            topic_id,
            log,
            state: Mutex::new(state),
            high_watermark: AtomicI64::new(leo),
        }
    }

    /// The partition's log, locked.
    pub fn log(&self) -> MutexGuard<'_, PartitionLog> {
        lock(&self.log)
    }

    /// The current leadership state.
    pub fn state(&self) -> PartitionState {
        lock(&self.state).clone()
    }

    /// Replaces the leadership state with what the newest metadata image says.
    pub fn set_state(&self, state: PartitionState) {
        let mut current = lock(&self.state);
        debug_assert!(
            state.leader_epoch >= current.leader_epoch,
            "leader epochs only grow"
        );
        *current = state;
    }

    /// The high watermark.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// Recomputes the high watermark after the log changed. With this node as the only
    /// in-sync replica, everything appended is committed; replication (a later issue) will
    /// advance it from follower fetch positions instead.
    pub fn update_high_watermark(&self, log_end_offset: i64) {
        let previous = self
            .high_watermark
            .fetch_max(log_end_offset, Ordering::AcqRel);
        debug_assert!(
            previous <= log_end_offset.max(previous),
            "HW never goes back"
        );
    }

    /// Lowers the high watermark after truncation (only when the log shrank below it).
    pub fn clamp_high_watermark(&self, log_end_offset: i64) {
        self.high_watermark
            .fetch_min(log_end_offset, Ordering::AcqRel);
    }
}

/// Locks a std mutex, recovering the data if a panicking thread poisoned it: the partition's
/// state stays consistent because every mutation is a single assignment or a storage call
/// that leaves the log valid on error.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
