//! Partition replication, transport-free: what a leader does with its followers' fetches
//! (their positions, the high watermark, ISR changes through the controller) and what a
//! follower does with the leader's answers (append, truncate on divergence, follow the high
//! watermark). The gRPC fetcher and service that carry these calls live in
//! `strata-replication`.
//!
//! Rules, as in Kafka:
//! - The high watermark is the smallest log end offset over the ISR — the committed ISR plus
//!   any member being added, so a replica counts as in sync only once the controller has
//!   committed it, yet is already waited for while its addition is pending. It never moves
//!   back on a leader.
//! - A follower that has not been caught up with the leader's log end for
//!   `replica.lag.time.max.ms` is taken out of the ISR; one that reaches the high watermark
//!   (and the start of the current leader epoch) is added back. Both go through the
//!   controller (AlterPartition with the partition epoch), one change at a time.
//! - A follower sends the epoch of its last batch with each fetch; when the leader's log
//!   diverged from it there (KIP-320), it answers with the end of that epoch and the follower
//!   truncates before fetching again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_clock::wall_clock_ms;
use strata_metadata::requests::AlterPartitionRequest;
use strata_metadata::ControllerError;
use strata_storage::{PartitionLog, StorageError};
use uuid::Uuid;

use crate::broker::Broker;
use crate::error::BrokerError;
use crate::partition::{FollowerProgress, LeaderProgress, Partition, PartitionState, PendingIsr};

/// `replica.lag.time.max.ms` default (Kafka's): a live follower this far behind leaves the
/// ISR. Dead or paused followers leave much sooner, when the controller fences them.
pub const DEFAULT_REPLICA_LAG_TIME_MAX_MS: u64 = 30_000;

/// Longest time a fetch session leaves its quiet partitions unserved (see
/// [`Broker::replica_fetch_in_session`]).
pub const MAX_QUIET_SWEEP_INTERVAL_MS: i64 = 1_000;

/// What a leader keeps between the fetches of one follower's session, so that a round costs
/// what changed rather than the partitions followed: the partitions resolved (valid while the
/// hosted set's generation holds), each one's change count when last served, and whether
/// that answer was the quiet one (follower caught up, nothing to say).
#[derive(Default)]
pub struct SessionMemo {
    hosted: Vec<Option<Arc<Partition>>>,
    seen: Vec<u64>,
    quiet: Vec<bool>,
    generation: Option<u64>,
    last_sweep_ms: i64,
}

impl SessionMemo {
    /// Forgets everything (the session's partitions changed places): the next fetch resolves
    /// and serves every partition.
    pub fn reset(&mut self) {
        self.generation = None;
    }
}

impl std::fmt::Debug for SessionMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMemo")
            .field("partitions", &self.hosted.len())
            .field("generation", &self.generation)
            .field("last_sweep_ms", &self.last_sweep_ms)
            .finish()
    }
}

/// How long an AlterPartition may wait for the controller before the leader gives up on it
/// (and retries on a later fetch or lag check).
pub const ALTER_PARTITION_TIMEOUT_MS: u64 = 5_000;

/// One partition of a follower's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaFetchPartition {
    /// Topic name.
    pub topic: String,
    /// Topic id: a fetch for a re-created topic of the same name is refused.
    pub topic_id: Uuid,
    /// Partition index.
    pub partition: i32,
    /// The leader epoch the follower believes in.
    pub current_leader_epoch: i32,
    /// The follower's log end offset: the first offset it wants.
    pub fetch_offset: i64,
    /// The epoch of the follower's last batch (-1 when its log is empty).
    pub last_fetched_epoch: i32,
    /// The follower's log start offset.
    pub log_start_offset: i64,
    /// The follower's high watermark.
    pub high_watermark: i64,
}

impl ReplicaFetchResult {
    /// Whether the follower that sent `request` learns anything from this answer: records,
    /// an error, a divergence, a new high watermark or log start. Answers that tell it nothing
    /// are left out of the response.
    pub fn is_news_for(&self, request: &ReplicaFetchPartition) -> bool {
        self.error.is_some()
            || self.diverging_epoch.is_some()
            || !self.records.is_empty()
            || self.high_watermark != request.high_watermark
            || self.log_start_offset > request.log_start_offset
    }
}

/// Why the leader refused one partition of a follower's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaFetchError {
    /// This node does not lead the partition (or does not know it).
    NotLeader,
    /// The follower's leader epoch is older than the leader's: it must refresh its metadata.
    FencedLeaderEpoch,
    /// The follower's leader epoch is newer: the leader has not seen the change yet.
    UnknownLeaderEpoch,
    /// The fetch offset is outside the leader's log.
    OffsetOutOfRange,
    /// The topic or partition is unknown (or the topic id differs).
    UnknownTopicOrPartition,
    /// The leader's storage failed.
    Storage(String),
}

/// The leader's answer for one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaFetchResult {
    /// Set when the partition could not be served.
    pub error: Option<ReplicaFetchError>,
    /// The leader's high watermark.
    pub high_watermark: i64,
    /// The leader's log start offset.
    pub log_start_offset: i64,
    /// The leader's log end offset.
    pub log_end_offset: i64,
    /// `(epoch, end offset)` when the follower's log diverges from the leader's: it must
    /// truncate to at most that end offset.
    pub diverging_epoch: Option<(i32, i64)>,
    /// Whole batches as stored, from the fetch offset.
    pub records: Bytes,
}

impl ReplicaFetchResult {
    fn error(error: ReplicaFetchError) -> Self {
        ReplicaFetchResult {
            error: Some(error),
            high_watermark: -1,
            log_start_offset: -1,
            log_end_offset: -1,
            ..Default::default()
        }
    }
}

/// Resets the leader-side state after a leadership change: a new leader knows nothing of its
/// followers yet, but treats the ISR members as caught up now (so none leaves the ISR before
/// it had `replica.lag.time.max.ms` to fetch).
pub(crate) fn reset_progress(
    partition: &Partition,
    log: &PartitionLog,
    state: &PartitionState,
    node: i32,
) {
    let mut progress = partition.progress();
    *progress = LeaderProgress::default();
    if state.leader != node {
        return;
    }
    let now = wall_clock_ms();
    progress.epoch_start_offset = log.log_end_offset();
    for &replica in state.replicas.iter().filter(|&&r| r != node) {
        progress.followers.insert(
            replica,
            FollowerProgress {
                log_end_offset: -1,
                last_caught_up_ms: if state.isr.contains(&replica) {
                    now
                } else {
                    -1
                },
                last_fetch_leader_leo: -1,
                last_fetch_ms: -1,
                seen_changes: u64::MAX,
            },
        );
    }
}

/// A new ISR arrived in the metadata: the pending change it answers is over.
pub(crate) fn isr_committed(partition: &Partition, state: &PartitionState) {
    let mut progress = partition.progress();
    if progress
        .pending
        .as_ref()
        .is_some_and(|p| state.partition_epoch > p.partition_epoch)
    {
        progress.pending = None;
    }
}

/// The replicas the high watermark waits for: the committed ISR and any member being added.
fn maximal_isr(state: &PartitionState, progress: &LeaderProgress) -> Vec<i32> {
    let mut isr = state.isr.clone();
    if let Some(pending) = &progress.pending {
        for member in &pending.isr {
            if !isr.contains(member) {
                isr.push(*member);
            }
        }
    }
    isr
}

/// Recomputes the high watermark of a partition this node leads from the ISR's log end
/// offsets. Returns whether it moved.
pub(crate) fn maybe_advance_high_watermark(partition: &Partition, node: i32) -> bool {
    let state = partition.state();
    if state.leader != node {
        return false;
    }
    let leo = partition.log().log_end_offset();
    let progress = partition.progress();
    let mut candidate = leo;
    for member in maximal_isr(&state, &progress) {
        if member == node {
            continue;
        }
        let follower_leo = progress
            .followers
            .get(&member)
            .map_or(-1, |f| f.log_end_offset);
        candidate = candidate.min(follower_leo);
    }
    drop(progress);
    debug_assert!(candidate <= leo, "HW <= LEO");
    candidate >= 0 && partition.update_high_watermark(candidate)
}

impl Broker {
    /// A follower's fetch in its session (the leader side): for each partition due a look,
    /// checks the follower's epoch and divergence, records its position (moving the high
    /// watermark and perhaps adding it back to the ISR), and returns the batches after its
    /// fetch offset, up to the log end. Waits up to `max_wait` for data when there is none.
    ///
    /// A partition is due when the follower described it anew (`requested`), when it changed
    /// on this leader since it was last served, when its last answer was not the quiet one,
    /// or on a sweep ([`quiet_sweep_interval_ms`]). The rest are followers caught up with a
    /// partition that has not moved: serving them would only refresh the follower's
    /// caught-up time, which the sweep does often enough for `replica.lag.time.max.ms`. So a
    /// round costs what changed, not the thousands of partitions a session may hold.
    ///
    /// Returns `(index in partitions, result)` for the partitions served; the others have
    /// nothing to say.
    #[allow(clippy::too_many_arguments)]
    pub async fn replica_fetch_in_session(
        &self,
        replica_id: i32,
        partitions: &[ReplicaFetchPartition],
        requested: &[bool],
        memo: &mut SessionMemo,
        max_wait: Duration,
        max_bytes_per_partition: usize,
        max_bytes: usize,
    ) -> Vec<(usize, ReplicaFetchResult)> {
        let deadline = Instant::now() + max_wait;
        let mut appended = self.appended.subscribe();
        appended.borrow_and_update();
        // Kafka's `isReplicaIsrEligible`: a fenced broker is not proposed for the ISR (the
        // controller would refuse it, and proposing on every fetch floods the quorum).
        let isr_eligible = self
            .image()
            .brokers
            .get(&replica_id)
            .is_some_and(|b| !b.fenced);
        let n = partitions.len();
        if memo.generation != Some(self.partitions_generation()) || memo.hosted.len() != n {
            let (hosted, generation) =
                self.resolve_partitions(partitions.iter().map(|p| (p.topic.as_str(), p.partition)));
            memo.hosted = hosted;
            memo.seen = vec![u64::MAX; n];
            memo.quiet = vec![false; n];
            memo.generation = Some(generation);
        }
        let now = wall_clock_ms();
        let sweep = now.saturating_sub(memo.last_sweep_ms) >= self.quiet_sweep_interval_ms();
        if sweep {
            memo.last_sweep_ms = now;
        }
        // Where each served partition's result sits in `results`.
        let mut slot: Vec<Option<usize>> = vec![None; n];
        let mut results: Vec<(usize, ReplicaFetchResult)> = Vec::new();
        let mut remaining = max_bytes;
        for (i, request) in partitions.iter().enumerate() {
            let hosted = memo.hosted[i].as_ref();
            let changes = hosted.map_or(0, |p| p.changes());
            let due = sweep
                || requested.get(i).copied().unwrap_or(true)
                || !memo.quiet[i]
                || changes != memo.seen[i];
            if !due {
                continue;
            }
            memo.seen[i] = changes;
            let (result, quiet) =
                match hosted.and_then(|p| Self::quiet_fetch(p, replica_id, request)) {
                    Some(nothing_new) => (nothing_new, true),
                    None => (
                        self.replica_fetch_one(
                            replica_id,
                            request,
                            hosted,
                            Some(isr_eligible),
                            max_bytes_per_partition.min(remaining),
                        ),
                        false,
                    ),
                };
            memo.quiet[i] = quiet;
            remaining = remaining.saturating_sub(result.records.len());
            slot[i] = Some(results.len());
            results.push((i, result));
        }
        loop {
            let ready = results.iter().any(|(_, r)| {
                r.error.is_some() || r.diverging_epoch.is_some() || !r.records.is_empty()
            });
            let now = Instant::now();
            if ready || now >= deadline {
                return results;
            }
            if tokio::time::timeout(deadline - now, appended.changed())
                .await
                .is_err()
            {
                return results;
            }
            appended.borrow_and_update();
            for (i, request) in partitions.iter().enumerate() {
                let Some(partition) = &memo.hosted[i] else {
                    continue;
                };
                let changes = partition.changes();
                if changes == memo.seen[i] {
                    continue;
                }
                memo.seen[i] = changes;
                let result = self.replica_fetch_one(
                    replica_id,
                    request,
                    Some(partition),
                    None,
                    max_bytes_per_partition.min(remaining),
                );
                // Served without recording the follower's position: look again next round.
                memo.quiet[i] = false;
                remaining = remaining.saturating_sub(result.records.len());
                match slot[i] {
                    Some(at) => results[at].1 = result,
                    None => {
                        slot[i] = Some(results.len());
                        results.push((i, result));
                    }
                }
            }
        }
    }

    /// How often a fetch session serves its quiet partitions anyway, refreshing their
    /// followers' caught-up times: a tenth of `replica.lag.time.max.ms`, at most a second, so
    /// skipping them never makes a follower look lagging.
    fn quiet_sweep_interval_ms(&self) -> i64 {
        let lag = i64::try_from(self.config.replica_lag_time_max_ms).unwrap_or(i64::MAX);
        (lag / 10).clamp(1, MAX_QUIET_SWEEP_INTERVAL_MS)
    }

    /// One partition of a follower's fetch, past the quiet path ([`Broker::quiet_fetch`]).
    fn replica_fetch_one(
        &self,
        replica_id: i32,
        request: &ReplicaFetchPartition,
        hosted: Option<&Arc<Partition>>,
        // Some(whether the follower may join the ISR) records its position; None does not.
        record_progress: Option<bool>,
        max_bytes: usize,
    ) -> ReplicaFetchResult {
        let node = self.config.node_id;
        let led = match hosted {
            Some(p) if p.state().leader == node => Ok(Arc::clone(p)),
            _ => self.leader_partition(&request.topic, request.partition),
        };
        let partition = match led {
            Ok(p) if p.topic_id == request.topic_id => p,
            Ok(_) | Err(BrokerError::UnknownTopicOrPartition { .. }) => {
                return ReplicaFetchResult::error(ReplicaFetchError::UnknownTopicOrPartition)
            }
            Err(_) => return ReplicaFetchResult::error(ReplicaFetchError::NotLeader),
        };
        let changes = partition.changes();
        let state = partition.state();
        if !state.replicas.contains(&replica_id) {
            return ReplicaFetchResult::error(ReplicaFetchError::NotLeader);
        }
        if request.current_leader_epoch < state.leader_epoch {
            return ReplicaFetchResult::error(ReplicaFetchError::FencedLeaderEpoch);
        }
        if request.current_leader_epoch > state.leader_epoch {
            return ReplicaFetchResult::error(ReplicaFetchError::UnknownLeaderEpoch);
        }
        let log = partition.log();
        let (log_start, leo) = (log.log_start_offset(), log.log_end_offset());
        let mut result = ReplicaFetchResult {
            error: None,
            high_watermark: partition.high_watermark(),
            log_start_offset: log_start,
            log_end_offset: leo,
            diverging_epoch: None,
            records: Bytes::new(),
        };
        // KIP-320: the follower's last epoch must end, on the leader, at or after its fetch
        // offset; otherwise the logs diverged there.
        if request.last_fetched_epoch >= 0 {
            let (epoch, end) = log
                .end_offset_for_epoch(request.last_fetched_epoch)
                .unwrap_or((-1, -1));
            // Kafka's rule: diverged when the leader's epoch there is older, or ends before.
            if epoch < request.last_fetched_epoch || end < request.fetch_offset {
                result.diverging_epoch = Some((epoch, end));
                return result;
            }
        }
        if request.fetch_offset < log_start || request.fetch_offset > leo {
            result.error = Some(ReplicaFetchError::OffsetOutOfRange);
            return result;
        }
        match log.read(request.fetch_offset, max_bytes, leo, true) {
            Ok(read) => result.records = read.records,
            Err(StorageError::OffsetOutOfRange { .. }) => {
                result.error = Some(ReplicaFetchError::OffsetOutOfRange);
                return result;
            }
            Err(error) => {
                tracing::error!(topic = %request.topic, partition = request.partition, %error, "reading for a follower failed");
                result.error = Some(ReplicaFetchError::Storage(error.to_string()));
                return result;
            }
        }
        drop(log);
        if let Some(isr_eligible) = record_progress {
            self.record_follower_position(
                &partition,
                &state,
                changes,
                isr_eligible,
                replica_id,
                request.fetch_offset,
                leo,
            );
            if maybe_advance_high_watermark(&partition, node) {
                self.notify_change();
            }
            result.high_watermark = partition.high_watermark();
        }
        result
    }

    /// The fast path of a follower's fetch at scale: the partition has not changed since this
    /// follower's previous fetch, the follower is in the ISR, at the log end it was at then and
    /// knows the high watermark. Only its caught-up time moves; the answer says nothing (and is
    /// left out of the response). Saves the log read and bookkeeping for each of thousands of
    /// quiet partitions on every fetch.
    fn quiet_fetch(
        partition: &Partition,
        replica_id: i32,
        request: &ReplicaFetchPartition,
    ) -> Option<ReplicaFetchResult> {
        let changes = partition.changes();
        let high_watermark = partition.high_watermark();
        if request.high_watermark != high_watermark || !partition.state().isr.contains(&replica_id)
        {
            return None;
        }
        let mut progress = partition.progress();
        let follower = progress.followers.get_mut(&replica_id)?;
        if follower.seen_changes != changes
            || follower.log_end_offset != request.fetch_offset
            || follower.last_fetch_leader_leo != request.fetch_offset
        {
            return None;
        }
        let now = wall_clock_ms();
        follower.last_caught_up_ms = now;
        follower.last_fetch_ms = now;
        Some(ReplicaFetchResult {
            error: None,
            high_watermark,
            log_start_offset: request.log_start_offset,
            log_end_offset: request.fetch_offset,
            diverging_epoch: None,
            records: Bytes::new(),
        })
    }

    /// Records a follower's fetch offset and, when it has caught up, proposes adding it back
    /// to the ISR.
    #[allow(clippy::too_many_arguments)] // what one fetch observed, passed as read
    fn record_follower_position(
        &self,
        partition: &Arc<Partition>,
        state: &PartitionState,
        changes: u64,
        isr_eligible: bool,
        replica_id: i32,
        fetch_offset: i64,
        leader_leo: i64,
    ) {
        let now = wall_clock_ms();
        let high_watermark = partition.high_watermark();
        let mut progress = partition.progress();
        let epoch_start = progress.epoch_start_offset;
        let follower = progress
            .followers
            .entry(replica_id)
            .or_insert(FollowerProgress {
                log_end_offset: -1,
                last_caught_up_ms: -1,
                last_fetch_leader_leo: -1,
                last_fetch_ms: -1,
                seen_changes: u64::MAX,
            });
        follower.log_end_offset = fetch_offset;
        // Kafka's rule: caught up now when at the log end, or caught up as of the previous
        // fetch when it reached the log end of that time.
        if fetch_offset >= leader_leo {
            follower.last_caught_up_ms = now;
        } else if follower.last_fetch_leader_leo >= 0
            && fetch_offset >= follower.last_fetch_leader_leo
        {
            follower.last_caught_up_ms = follower.last_caught_up_ms.max(follower.last_fetch_ms);
        }
        follower.last_fetch_leader_leo = leader_leo;
        follower.seen_changes = changes;
        follower.last_fetch_ms = now;
        let rejoins = isr_eligible
            && !state.isr.contains(&replica_id)
            && progress.pending.is_none()
            && fetch_offset >= high_watermark
            && fetch_offset >= epoch_start;
        if rejoins {
            let mut isr = state.isr.clone();
            isr.push(replica_id);
            progress.pending = Some(PendingIsr {
                isr: isr.clone(),
                partition_epoch: state.partition_epoch,
            });
            drop(progress);
            tracing::info!(topic = %partition.topic, partition = partition.index, replica = replica_id, ?isr, "follower caught up: expanding the ISR");
            self.send_alter_partition(partition, state, isr);
        }
    }

    /// Takes followers that have not caught up for `replica.lag.time.max.ms` out of the ISR
    /// of every partition this node leads (run periodically).
    pub fn shrink_lagging_isrs(&self) {
        let node = self.config.node_id;
        let now = wall_clock_ms();
        let max_lag = i64::try_from(self.config.replica_lag_time_max_ms).unwrap_or(i64::MAX);
        for partition in self.partitions() {
            let state = partition.state();
            if state.leader != node || state.isr.len() <= 1 {
                continue;
            }
            let mut progress = partition.progress();
            if progress.pending.is_some() {
                continue;
            }
            let lagging: Vec<i32> = state
                .isr
                .iter()
                .copied()
                .filter(|&r| r != node)
                .filter(|r| {
                    progress
                        .followers
                        .get(r)
                        .is_none_or(|f| now.saturating_sub(f.last_caught_up_ms) > max_lag)
                })
                .collect();
            if lagging.is_empty() {
                continue;
            }
            let isr: Vec<i32> = state
                .isr
                .iter()
                .copied()
                .filter(|r| !lagging.contains(r))
                .collect();
            progress.pending = Some(PendingIsr {
                isr: isr.clone(),
                partition_epoch: state.partition_epoch,
            });
            drop(progress);
            tracing::warn!(topic = %partition.topic, partition = partition.index, ?lagging, ?isr, max_lag_ms = max_lag, "followers fell behind: shrinking the ISR");
            self.send_alter_partition(&partition, &state, isr);
        }
    }

    /// Sends an ISR change to the controller in the background. A refusal (stale epochs: the
    /// metadata moved on) ends the pending change so the next fetch or check can retry.
    fn send_alter_partition(
        &self,
        partition: &Arc<Partition>,
        state: &PartitionState,
        isr: Vec<i32>,
    ) {
        let request = AlterPartitionRequest {
            broker_id: self.config.node_id,
            topic_id: partition.topic_id,
            partition: partition.index,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr: isr,
        };
        let controller = self.controller.clone();
        let partition = partition.clone();
        tokio::spawn(async move {
            // Bounded: a change stuck on an unreachable controller must not block every later
            // ISR change of the partition.
            let outcome = tokio::time::timeout(
                Duration::from_millis(ALTER_PARTITION_TIMEOUT_MS),
                controller.alter_partition(request.clone()),
            )
            .await
            .unwrap_or_else(|_| {
                Err(ControllerError::Internal(format!(
                    "no answer from the controller within {ALTER_PARTITION_TIMEOUT_MS} ms"
                )))
            });
            if let Err(error) = outcome {
                tracing::info!(topic = %partition.topic, partition = partition.index, isr = ?request.new_isr, %error, "ISR change refused");
                let mut progress = partition.progress();
                if progress
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.partition_epoch == request.partition_epoch)
                {
                    progress.pending = None;
                }
            }
        });
    }

    /// Node ids of the leaders this node follows for at least one partition.
    pub fn followed_leaders(&self) -> Vec<i32> {
        let node = self.config.node_id;
        let mut leaders: Vec<i32> = self
            .partitions()
            .iter()
            .map(|p| p.state())
            .filter(|s| s.leader >= 0 && s.leader != node && s.replicas.contains(&node))
            .map(|s| s.leader)
            .collect();
        leaders.sort_unstable();
        leaders.dedup();
        leaders
    }

    /// What to ask `leader` for: every partition this node follows it for, from its log end.
    pub fn replica_fetch_requests(&self, leader: i32) -> Vec<ReplicaFetchPartition> {
        self.partitions()
            .iter()
            .filter_map(|p| self.fetch_request_for(p, leader))
            .collect()
    }

    /// [`Broker::replica_fetch_requests`] for one partition: what this node would ask `leader`
    /// for it now, `None` when it does not follow `leader` for it (any more).
    pub fn replica_fetch_request(
        &self,
        topic: &str,
        partition: i32,
        leader: i32,
    ) -> Option<ReplicaFetchPartition> {
        let p = self.partition(topic, partition)?;
        self.fetch_request_for(&p, leader)
    }

    fn fetch_request_for(&self, p: &Partition, leader: i32) -> Option<ReplicaFetchPartition> {
        let node = self.config.node_id;
        let state = p.state();
        if state.leader != leader || leader == node || !state.replicas.contains(&node) {
            return None;
        }
        let log = p.log();
        Some(ReplicaFetchPartition {
            topic: p.topic.clone(),
            topic_id: p.topic_id,
            partition: p.index,
            current_leader_epoch: state.leader_epoch,
            fetch_offset: log.log_end_offset(),
            last_fetched_epoch: log.latest_epoch().unwrap_or(-1),
            log_start_offset: log.log_start_offset(),
            high_watermark: p.high_watermark(),
        })
    }

    /// Applies the leader's answer for one partition this node follows: appends the batches,
    /// or truncates where the logs diverged or fell out of range, then follows the leader's
    /// high watermark and log start. Answers for an older leader epoch are ignored.
    pub fn apply_replica_fetch(
        &self,
        request: &ReplicaFetchPartition,
        result: ReplicaFetchResult,
    ) -> Result<(), BrokerError> {
        let key = (request.topic.clone(), request.partition);
        let Some(partition) = self.partition(&key.0, key.1) else {
            return Ok(());
        };
        // Lock the log before reading the state: a leadership change takes the log lock to
        // record its epoch and set the state, so under the lock the state is the one the log
        // matches. Read before it, a new leader could append its predecessor's batch after
        // starting its own epoch (and its followers would then diverge forever).
        let mut log = partition.log();
        let state = partition.state();
        if partition.topic_id != request.topic_id
            || state.leader_epoch != request.current_leader_epoch
            || state.leader == self.config.node_id
        {
            return Ok(());
        }
        if log.log_end_offset() != request.fetch_offset {
            // The log changed since the request was built (cannot happen with one fetcher
            // per partition, but never append at the wrong place).
            return Ok(());
        }
        if let Some((epoch, leader_end)) = result.diverging_epoch {
            let target = if epoch < 0 {
                // The leader knows nothing of our epoch: keep only what was committed.
                partition.high_watermark()
            } else {
                let ours = log
                    .end_offset_for_epoch(epoch)
                    .map_or(log.log_end_offset(), |(_, end)| end);
                leader_end.min(ours)
            };
            tracing::info!(topic = %partition.topic, partition = partition.index, epoch, leader_end, from = log.log_end_offset(), to = target, "log diverged from the leader: truncating");
            log.truncate_to(target)?;
            partition.clamp_high_watermark(log.log_end_offset());
            return Ok(());
        }
        match result.error {
            None => {}
            Some(ReplicaFetchError::OffsetOutOfRange) => {
                let leo = log.log_end_offset();
                if result.log_end_offset >= 0 && leo > result.log_end_offset {
                    tracing::info!(topic = %partition.topic, partition = partition.index, from = leo, to = result.log_end_offset, "follower ahead of the leader: truncating");
                    log.truncate_to(result.log_end_offset)?;
                } else if result.log_start_offset > leo {
                    tracing::info!(topic = %partition.topic, partition = partition.index, start = result.log_start_offset, "follower behind the leader's log start: starting over there");
                    log.truncate_fully_and_start_at(result.log_start_offset)?;
                }
                partition.clamp_high_watermark(log.log_end_offset());
                return Ok(());
            }
            Some(_) => return Ok(()),
        }
        if !result.records.is_empty() {
            log.append_replicated(&result.records, wall_clock_ms())?;
        }
        let leo = log.log_end_offset();
        if result.log_start_offset > log.log_start_offset() && result.log_start_offset <= leo {
            log.delete_records_before(result.log_start_offset)?;
        }
        drop(log);
        partition.touch();
        let moved = partition.update_high_watermark(result.high_watermark.min(leo));
        if moved {
            self.notify_change();
        }
        Ok(())
    }

    /// Waits until an acks=all write ending at `end_offset` (exclusive) is committed: the
    /// high watermark reached it with at least `min.insync.replicas` in the ISR. Fails when
    /// this node stops leading at `leader_epoch`, or after `timeout`.
    pub async fn wait_for_replication(
        &self,
        topic: &str,
        partition_index: i32,
        end_offset: i64,
        leader_epoch: i32,
        timeout: Duration,
    ) -> Result<(), BrokerError> {
        let deadline = Instant::now() + timeout;
        let mut changes = self.appended.subscribe();
        loop {
            changes.borrow_and_update();
            let partition = self.leader_partition(topic, partition_index)?;
            let state = partition.state();
            if state.leader_epoch != leader_epoch {
                return Err(BrokerError::NotLeaderOrFollower {
                    topic: topic.to_string(),
                    partition: partition_index,
                    node_id: self.config.node_id,
                });
            }
            if partition.high_watermark() >= end_offset {
                let min = self.min_insync_replicas(topic);
                if state.isr.len() < min {
                    return Err(BrokerError::NotEnoughReplicasAfterAppend {
                        topic: topic.to_string(),
                        partition: partition_index,
                        isr: state.isr.len(),
                        min,
                    });
                }
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline
                || tokio::time::timeout(deadline - now, changes.changed())
                    .await
                    .is_err()
            {
                return Err(BrokerError::RequestTimedOut {
                    topic: topic.to_string(),
                    partition: partition_index,
                    offset: end_offset - 1,
                    timeout_ms: i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX),
                });
            }
        }
    }
}
