//! One partition replica hosted by this broker: its log, leadership state, high watermark and,
//! while it leads, what it knows of its followers (the input of the high watermark and of ISR
//! changes).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
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
    /// Partition epoch: bumped by every committed change (AlterPartition must name it).
    pub partition_epoch: i32,
}

/// What the leader knows of one follower, from its fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset (its last fetch offset); -1 until it fetched in this
    /// leader epoch.
    pub log_end_offset: i64,
    /// When the follower was last caught up with the leader's log end (ms since the epoch).
    pub last_caught_up_ms: i64,
    /// The leader's log end offset at the follower's previous fetch, and when that was:
    /// reaching it means the follower was caught up at that time (Kafka's rule).
    pub last_fetch_leader_leo: i64,
    /// Time of the previous fetch.
    pub last_fetch_ms: i64,
    /// The partition's change count when this follower's last fetch was served: equal now,
    /// with the follower still at that log end, means the fetch has nothing to do.
    pub seen_changes: u64,
}

/// An ISR change sent to the controller and not yet seen in the metadata image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingIsr {
    /// The proposed ISR.
    pub isr: Vec<i32>,
    /// The partition epoch it was based on: the image moving past it ends the wait.
    pub partition_epoch: i32,
}

/// Leader-side replication state; reset on every leadership change.
#[derive(Clone, Debug, Default)]
pub struct LeaderProgress {
    /// Followers by node id.
    pub followers: HashMap<i32, FollowerProgress>,
    /// The in-flight ISR change, at most one at a time (as Kafka).
    pub pending: Option<PendingIsr>,
    /// First offset of this leader's epoch: a follower must reach it before it may rejoin
    /// the ISR, and the high watermark must reach it before the latest offset is known.
    pub epoch_start_offset: i64,
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
    state: Mutex<Arc<PartitionState>>,
    /// Offset up to which records are committed and visible to consumers.
    high_watermark: AtomicI64,
    /// Bumped on every append, truncation, high-watermark move and state change: a long-poll
    /// over thousands of partitions re-reads only those whose count moved.
    changes: AtomicU64,
    progress: Mutex<LeaderProgress>,
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
        let (leo, log_start, checkpointed) = {
            let log = lock(&log);
            (
                log.log_end_offset(),
                log.log_start_offset(),
                log.high_watermark_hint(),
            )
        };
        let single_replica = state.replicas.len() <= 1;
        Partition {
            topic,
            index,
            topic_id,
            log,
            state: Mutex::new(Arc::new(state)),
            changes: AtomicU64::new(0),
            // A single replica has committed everything it holds. A replica of several starts
            // from the high watermark it checkpointed (`replication-offset-checkpoint`, clamped
            // to what recovery kept), else from its log start, and learns the rest from its
            // leader or, leading, from its followers' fetches. A checkpointed HW was committed,
            // so starting there never exposes a record the other in-sync replicas lack.
            high_watermark: AtomicI64::new(if single_replica {
                leo
            } else {
                checkpointed.map_or(log_start, |hw| hw.clamp(log_start, leo))
            }),
            progress: Mutex::new(LeaderProgress::default()),
        }
    }

    /// Leader-side replication state, locked. Lock order: log, then progress.
    pub fn progress(&self) -> MutexGuard<'_, LeaderProgress> {
        lock(&self.progress)
    }

    /// The partition's log, locked.
    pub fn log(&self) -> MutexGuard<'_, PartitionLog> {
        lock(&self.log)
    }

    /// The current leadership state.
    pub fn state(&self) -> Arc<PartitionState> {
        Arc::clone(&lock(&self.state))
    }

    /// Replaces the leadership state with what the newest metadata image says.
    pub fn set_state(&self, state: PartitionState) {
        let mut current = lock(&self.state);
        debug_assert!(
            state.leader_epoch >= current.leader_epoch,
            "leader epochs only grow"
        );
        *current = Arc::new(state);
        drop(current);
        self.touch();
    }

    /// The change count (see the field): equal counts mean nothing a fetch sees has changed.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Records a change of the log or of what fetches see.
    pub fn touch(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// The high watermark.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// Moves the high watermark up to `offset` (never down). Returns whether it moved.
    pub fn update_high_watermark(&self, offset: i64) -> bool {
        let previous = self.high_watermark.fetch_max(offset, Ordering::AcqRel);
        if previous < offset {
            self.touch();
        }
        previous < offset
    }

    /// Lowers the high watermark after truncation (only when the log shrank below it).
    pub fn clamp_high_watermark(&self, log_end_offset: i64) {
        self.high_watermark
            .fetch_min(log_end_offset, Ordering::AcqRel);
        self.touch();
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

/// The hosted partitions by topic, then index: looked up by `&str` without building a key
/// (a replica fetch looks up thousands per request).
#[derive(Default)]
pub(crate) struct PartitionMap {
    by_topic: HashMap<String, HashMap<i32, Arc<Partition>>>,
    /// Bumped by every insert and remove: what was resolved at an equal generation is still
    /// what a lookup would return (fetch sessions keep their partitions resolved).
    generation: u64,
}

impl PartitionMap {
    /// The partition, if hosted.
    pub(crate) fn get(&self, topic: &str, index: i32) -> Option<&Arc<Partition>> {
        self.by_topic.get(topic)?.get(&index)
    }

    /// Adds or replaces a partition.
    pub(crate) fn insert(&mut self, topic: &str, index: i32, partition: Arc<Partition>) {
        self.generation += 1;
        self.by_topic
            .entry(topic.to_string())
            .or_default()
            .insert(index, partition);
    }

    /// Removes a partition.
    pub(crate) fn remove(&mut self, topic: &str, index: i32) {
        self.generation += 1;
        if let Some(partitions) = self.by_topic.get_mut(topic) {
            partitions.remove(&index);
            if partitions.is_empty() {
                self.by_topic.remove(topic);
            }
        }
    }

    /// The count of inserts and removes so far.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Every hosted partition.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<Partition>> {
        self.by_topic.values().flat_map(|m| m.values())
    }
}
