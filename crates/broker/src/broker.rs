//! The [`Broker`]: every partition this node hosts, and the produce/fetch/offset operations on them.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_clock::wall_clock_ms;
use strata_metadata::image::MetadataImage;
use strata_metadata::requests::{CreateTopicSpec, CreatedTopic};
use strata_metadata::ControllerError;
use strata_storage::{AppendInfo, LogConfig, LogManager, StorageError};
use tokio::sync::watch;

use crate::acks::Acks;
use crate::config::{BrokerConfig, MAX_FETCH_RESPONSE_BYTES, MAX_FETCH_WAIT_MS};
use crate::controller_client::ControllerClient;
use crate::error::BrokerError;
use crate::log_config::log_config_for;
use crate::partition::{Partition, PartitionState};

/// ListOffsets special timestamps (Kafka's `ListOffsetsRequest`).
pub const LATEST_TIMESTAMP: i64 = -1;
/// Earliest offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// Offset of the record with the largest timestamp (KIP-734).
pub const MAX_TIMESTAMP: i64 = -3;
/// Earliest offset in local storage (KIP-405); without tiered storage, the earliest offset.
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;
/// Latest tiered offset (KIP-1005); without tiered storage, the earliest offset minus one.
pub const LATEST_TIERED_TIMESTAMP: i64 = -5;

type TopicPartition = (String, i32);

/// One partition of a fetch request.
#[derive(Clone, Debug)]
pub struct FetchPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// First offset wanted.
    pub fetch_offset: i64,
    /// Per-partition byte limit.
    pub max_bytes: i32,
    /// The leader epoch the client believes in, -1 when unknown.
    pub current_leader_epoch: i32,
}

/// The answer for one partition of a fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchedPartition {
    /// Whole record batches, possibly empty.
    pub records: Bytes,
    /// High watermark.
    pub high_watermark: i64,
    /// Last stable offset (no transactions yet: the high watermark).
    pub last_stable_offset: i64,
    /// Log start offset.
    pub log_start_offset: i64,
}

/// The answer to a ListOffsets lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListOffsetResult {
    /// The offset found, -1 when none.
    pub offset: i64,
    /// Its timestamp, -1 when not applicable.
    pub timestamp: i64,
    /// The leader epoch of the partition.
    pub leader_epoch: i32,
}

/// All partitions hosted by this node.
pub struct Broker {
    pub(crate) config: BrokerConfig,
    logs: LogManager,
    pub(crate) controller: Arc<dyn ControllerClient>,
    /// The controller's metadata images (the newest is the broker's view of the cluster).
    images: watch::Receiver<Arc<MetadataImage>>,
    partitions: RwLock<crate::partition::PartitionMap>,
    /// Bumped on every append, high-watermark move and leadership or ISR change: long-polling
    /// fetches (consumers and followers) and acks=all produces waiting for replication wait
    /// for it to change, then re-check what they wait for.
    pub(crate) appended: watch::Sender<u64>,
    /// Bumped when a hosted partition's leader, epoch or ISR changes (replica fetchers).
    leadership: watch::Sender<u64>,
    producer_ids: tokio::sync::Mutex<Range<i64>>,
    /// Serialises `apply_image` (the metadata follower and admin handlers both call it) and
    /// holds the offset of the newest image applied, so an older image never undoes a newer one.
    applying: std::sync::Mutex<i64>,
    /// Leaders this broker's replica fetchers could not reach (see [`crate::reachability`]).
    reachability: crate::reachability::Reachability,
    /// Brokers fenced a moment ago, still listed to clients (see [`crate::reachability`]).
    recently_fenced: crate::reachability::RecentlyFenced,
}

impl Broker {
    /// Opens the logs under `log.dirs` and starts following the controller's metadata images.
    pub fn start(
        config: BrokerConfig,
        controller: Arc<dyn ControllerClient>,
    ) -> Result<Arc<Broker>, BrokerError> {
        let logs = LogManager::open(config.log_dirs.clone(), config.default_log_config.clone())?;
        let (appended, _) = watch::channel(0);
        let (leadership, _) = watch::channel(0);
        let images = controller.images();
        let broker = Arc::new(Broker {
            config,
            logs,
            controller,
            images: images.clone(),
            partitions: RwLock::new(crate::partition::PartitionMap::default()),
            appended,
            leadership,
            producer_ids: tokio::sync::Mutex::new(0..0),
            applying: std::sync::Mutex::new(i64::MIN),
            reachability: Default::default(),
            recently_fenced: Default::default(),
        });
        let image = broker.image();
        broker.apply_image(&image);
        tokio::spawn(follow_metadata(Arc::downgrade(&broker), images));
        crate::background::spawn(&broker);
        Ok(broker)
    }

    /// This node's id.
    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }

    /// The broker's configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Leaders this broker's replica fetchers could not reach: the fetchers record, the
    /// Metadata handler reads.
    pub fn reachability(&self) -> &crate::reachability::Reachability {
        &self.reachability
    }

    /// Brokers the controller fenced a moment ago: Metadata still lists them for a while.
    pub fn recently_fenced(&self) -> &crate::reachability::RecentlyFenced {
        &self.recently_fenced
    }

    /// The newest metadata image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.images.borrow().clone()
    }

    /// The metadata images from now on (to wait for a newer one).
    pub fn subscribe_images(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.images.clone()
    }

    /// The log manager (for log-dir descriptions and checkpoints).
    pub fn logs(&self) -> &LogManager {
        &self.logs
    }

    /// Creates topics that clients asked for implicitly (Metadata with auto-create, Produce).
    pub async fn auto_create_topics(
        self: &Arc<Self>,
        names: Vec<String>,
    ) -> Vec<Result<CreatedTopic, ControllerError>> {
        let specs = names
            .into_iter()
            .map(|name| CreateTopicSpec {
                name,
                num_partitions: self.config.num_partitions,
                replication_factor: self.config.default_replication_factor,
                assignments: Vec::new(),
                configs: Vec::new(),
            })
            .collect();
        let results = self.controller.create_topics(specs).await;
        self.apply_latest_image().await;
        results
    }

    /// [`Broker::apply_image`] of the newest image, on a blocking thread: creating or opening
    /// hundreds of logs does file I/O that must not stall the async workers (the Raft RPCs and
    /// heartbeats they serve would time out).
    pub async fn apply_latest_image(self: &Arc<Self>) {
        let broker = Arc::clone(self);
        let applied = tokio::task::spawn_blocking(move || {
            let image = broker.image();
            broker.apply_image(&image);
        })
        .await;
        if let Err(error) = applied {
            tracing::error!(%error, "applying the metadata image failed");
        }
    }

    /// Makes the local partitions match `image`: creates logs for partitions assigned to this
    /// node, updates leadership and configs, and deletes logs of topics that are gone.
    pub fn apply_image(&self, image: &MetadataImage) {
        let mut applied = crate::partition::lock(&self.applying);
        if image.offset < *applied {
            return;
        }
        *applied = image.offset;
        self.recently_fenced.observe(image);
        let node = self.config.node_id;
        let mut changed = false;
        let mut wanted: HashMap<TopicPartition, ()> = HashMap::new();
        for topic in image.topics() {
            let topic_configs = image.topic_configs(&topic.name);
            let log_config = log_config_for(&self.config.default_log_config, &topic_configs);
            for (index, record) in &topic.partitions {
                if !record.replicas.contains(&node) {
                    continue;
                }
                let key = (topic.name.clone(), *index);
                wanted.insert(key.clone(), ());
                let state = PartitionState {
                    leader: record.leader,
                    leader_epoch: record.leader_epoch,
                    replicas: record.replicas.clone(),
                    isr: record.isr.clone(),
                    partition_epoch: record.partition_epoch,
                };
                let existing = read(&self.partitions).get(&key.0, key.1).cloned();
                match existing {
                    Some(partition) if partition.topic_id == topic.topic_id => {
                        let previous = partition.state();
                        if *previous != state {
                            let mut log = partition.log();
                            let leadership_changed = previous.leader != state.leader
                                || previous.leader_epoch != state.leader_epoch;
                            if leadership_changed {
                                if state.leader == node {
                                    become_leader(
                                        &mut log,
                                        &topic.name,
                                        *index,
                                        state.leader_epoch,
                                    );
                                }
                                crate::replication::reset_progress(&partition, &log, &state, node);
                            } else {
                                crate::replication::isr_committed(&partition, &state);
                            }
                            let leads = state.leader == node;
                            partition.set_state(state);
                            drop(log);
                            if leads {
                                crate::replication::maybe_advance_high_watermark(&partition, node);
                            }
                            changed = true;
                        }
                        let mut log = partition.log();
                        if log.config() != &log_config {
                            log.update_config(log_config.clone());
                        }
                    }
                    existing => {
                        if let Some(old) = existing {
                            // Same name, different topic id: the topic was deleted and
                            // re-created. The old log must never serve the new topic.
                            tracing::info!(topic = %topic.name, partition = index, old_id = %old.topic_id, new_id = %topic.topic_id, "topic re-created: dropping the old log");
                            write(&self.partitions).remove(&key.0, key.1);
                            if let Err(error) = self.logs.remove(&topic.name, *index) {
                                tracing::error!(topic = %topic.name, partition = index, %error, "cannot delete the old log");
                                continue;
                            }
                        }
                        match self
                            .logs
                            .get_or_create(&topic.name, *index, log_config.clone())
                        {
                            Ok(log) => {
                                if state.leader == node {
                                    become_leader(
                                        &mut crate::partition::lock(&log),
                                        &topic.name,
                                        *index,
                                        state.leader_epoch,
                                    );
                                }
                                let partition = Arc::new(Partition::new(
                                    topic.name.clone(),
                                    *index,
                                    topic.topic_id,
                                    log,
                                    state.clone(),
                                ));
                                {
                                    let log = partition.log();
                                    crate::replication::reset_progress(
                                        &partition, &log, &state, node,
                                    );
                                }
                                if state.leader == node {
                                    crate::replication::maybe_advance_high_watermark(
                                        &partition, node,
                                    );
                                }
                                write(&self.partitions).insert(&key.0, key.1, partition);
                                changed = true;
                            }
                            Err(error) => {
                                tracing::error!(topic = %topic.name, partition = index, %error, "cannot open partition log");
                            }
                        }
                    }
                }
            }
        }
        let stale: Vec<TopicPartition> = read(&self.partitions)
            .values()
            .map(|p| (p.topic.clone(), p.index))
            .filter(|key| !wanted.contains_key(key))
            .collect();
        if changed {
            self.notify_change();
            self.leadership
                .send_modify(|generation| *generation = generation.wrapping_add(1));
        }
        for key in stale {
            write(&self.partitions).remove(&key.0, key.1);
            if let Err(error) = self.logs.remove(&key.0, key.1) {
                tracing::error!(topic = %key.0, partition = key.1, %error, "cannot delete partition log");
            } else {
                tracing::info!(topic = %key.0, partition = key.1, "deleted partition log");
            }
        }
        // Logs on disk that the image does not mention: topics deleted while this node was
        // down, or a metadata dir that was wiped. Only judged once the image contains this
        // incarnation's own registration: before that it may lag the logs on disk (a crash
        // right after a topic was created). They are set aside as `-stray`, never deleted
        // (Kafka's KIP-858).
        let caught_up = self.config.incarnation_id.is_some_and(|ours| {
            image
                .brokers
                .get(&node)
                .is_some_and(|b| b.incarnation_id == ours)
        });
        if caught_up {
            for ((topic, index), _) in self.logs.all() {
                if !wanted.contains_key(&(topic.clone(), index)) {
                    match self.logs.mark_stray(&topic, index) {
                        Ok(path) => {
                            tracing::warn!(%topic, partition = index, path = %path.display(), "partition log not in the metadata: kept aside as stray")
                        }
                        Err(error) => {
                            tracing::error!(%topic, partition = index, %error, "cannot set aside a stray partition log")
                        }
                    }
                }
            }
        }
    }

    /// The partition if this node hosts it and leads it.
    pub fn leader_partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Arc<Partition>, BrokerError> {
        let found = read(&self.partitions).get(topic, partition).cloned();
        let Some(found) = found else {
            let image = self.image();
            let known = image
                .topic(topic)
                .map(|t| t.partitions.contains_key(&partition))
                .unwrap_or(false);
            return Err(if known {
                BrokerError::NotLeaderOrFollower {
                    topic: topic.to_string(),
                    partition,
                    node_id: self.config.node_id,
                }
            } else {
                BrokerError::UnknownTopicOrPartition {
                    topic: topic.to_string(),
                    partition,
                }
            });
        };
        let state = found.state();
        if state.leader == -1 {
            return Err(BrokerError::LeaderNotAvailable {
                topic: topic.to_string(),
                partition,
            });
        }
        if state.leader != self.config.node_id {
            return Err(BrokerError::NotLeaderOrFollower {
                topic: topic.to_string(),
                partition,
                node_id: self.config.node_id,
            });
        }
        Ok(found)
    }

    /// Checks the client's view of the leader epoch against the partition's.
    fn check_leader_epoch(partition: &Partition, requested: i32) -> Result<(), BrokerError> {
        if requested < 0 {
            return Ok(());
        }
        let current = partition.state().leader_epoch;
        if requested < current {
            return Err(BrokerError::FencedLeaderEpoch {
                topic: partition.topic.clone(),
                partition: partition.index,
                requested,
                current,
            });
        }
        if requested > current {
            return Err(BrokerError::UnknownLeaderEpoch {
                topic: partition.topic.clone(),
                partition: partition.index,
                requested,
                current,
            });
        }
        Ok(())
    }

    /// The partition if this node hosts it (leader or follower).
    pub fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        read(&self.partitions).get(topic, partition).cloned()
    }

    /// Resolves many partitions under one lock, with the hosted set's generation: while
    /// [`Broker::partitions_generation`] stays equal, the answer stays true.
    pub(crate) fn resolve_partitions<'a>(
        &self,
        keys: impl Iterator<Item = (&'a str, i32)>,
    ) -> (Vec<Option<Arc<Partition>>>, u64) {
        let map = read(&self.partitions);
        (
            keys.map(|(t, p)| map.get(t, p).cloned()).collect(),
            map.generation(),
        )
    }

    /// Bumped whenever a partition starts or stops being hosted here.
    pub(crate) fn partitions_generation(&self) -> u64 {
        read(&self.partitions).generation()
    }

    /// Appends one partition's batches and waits as `acks` asks: acks=all answers once the
    /// write is committed (see [`Broker::wait_for_replication`]); acks=0/1 once it is in the
    /// leader's log. For the broker's own writers (committed offsets); a produce request uses
    /// [`Broker::append_without_wake`] for all its partitions, then waits for each.
    pub async fn produce_and_replicate(
        &self,
        topic: &str,
        partition: i32,
        records: Bytes,
        acks: Acks,
        timeout: Duration,
    ) -> Result<AppendInfo, BrokerError> {
        let (info, leader_epoch) = self.append_without_wake(topic, partition, records, acks)?;
        if !info.duplicate {
            self.notify_change();
        }
        if acks == Acks::All {
            self.wait_for_replication(
                topic,
                partition,
                info.last_offset + 1,
                leader_epoch,
                timeout,
            )
            .await?;
        }
        Ok(info)
    }

    /// Appends a produce payload (already framed as record batches) to a partition this node
    /// leads, returning where it went and the leader epoch it was written in (for
    /// [`Broker::wait_for_replication`]). It does not wake the fetches waiting for data: a
    /// produce request appends all its partitions, then wakes them once with
    /// [`Broker::wake_fetches`], so followers fetch the whole request in one round instead of
    /// one round per partition.
    pub fn append_without_wake(
        &self,
        topic: &str,
        partition: i32,
        records: Bytes,
        acks: Acks,
    ) -> Result<(AppendInfo, i32), BrokerError> {
        let partition = self.leader_partition(topic, partition)?;
        let state = partition.state();
        if acks == Acks::All {
            let min = self.min_insync_replicas(topic);
            if state.isr.len() < min {
                return Err(BrokerError::NotEnoughReplicas {
                    topic: topic.to_string(),
                    partition: partition.index,
                    isr: state.isr.len(),
                    min,
                });
            }
        }
        let info = {
            let mut log = partition.log();
            let info = log.append(records, state.leader_epoch, wall_clock_ms())?;
            let leo = log.log_end_offset();
            debug_assert!(
                info.duplicate || info.last_offset < leo,
                "appended offsets are below the LEO"
            );
            drop(log);
            partition.touch();
            crate::replication::maybe_advance_high_watermark(&partition, self.config.node_id);
            info
        };
        Ok((info, state.leader_epoch))
    }

    /// Wakes long-polling fetches (consumers, followers) and acks=all waiters after appends
    /// made with [`Broker::append_without_wake`].
    pub fn wake_fetches(&self) {
        self.notify_change();
    }

    /// Notifications of leadership and ISR changes of hosted partitions.
    pub fn subscribe_leadership(&self) -> watch::Receiver<u64> {
        self.leadership.subscribe()
    }

    /// `host:port` of `node`'s inter-broker listener as registered (the first endpoint when
    /// it registered none of that name).
    pub fn inter_broker_address(&self, node: i32) -> Option<String> {
        let image = self.image();
        let registration = image.brokers.get(&node)?;
        let endpoint = registration
            .endpoints
            .iter()
            .find(|e| e.listener_name == self.config.inter_broker_listener_name)
            .or_else(|| registration.endpoints.first())?;
        Some(format!("{}:{}", endpoint.host, endpoint.port))
    }

    /// Wakes everything waiting on [`Broker::appended`].
    pub(crate) fn notify_change(&self) {
        self.appended
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// The effective `min.insync.replicas` of a topic.
    pub(crate) fn min_insync_replicas(&self, topic: &str) -> usize {
        let configured = self
            .image()
            .topic_configs(topic)
            .get("min.insync.replicas")
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(self.config.min_insync_replicas);
        usize::try_from(configured.max(1)).unwrap_or(1)
    }

    /// Reads from the partitions of a fetch, waiting up to `max_wait_ms` for `min_bytes`.
    ///
    /// Results come back in request order. The response-wide `max_bytes` is shared in order;
    /// the first partition with data always returns at least one whole batch (KIP-74).
    pub async fn fetch(
        &self,
        partitions: &[FetchPartition],
        max_wait_ms: i32,
        min_bytes: i32,
        max_bytes: i32,
    ) -> Vec<Result<FetchedPartition, BrokerError>> {
        if partitions.is_empty() {
            // Nothing servable (e.g. only unknown topic ids): answer at once, as Kafka.
            return Vec::new();
        }
        let max_bytes = max_bytes.clamp(0, MAX_FETCH_RESPONSE_BYTES);
        let wait = Duration::from_millis(
            u64::try_from(max_wait_ms.max(0))
                .unwrap_or(0)
                .min(MAX_FETCH_WAIT_MS),
        );
        let deadline = Instant::now() + wait;
        let mut appended = self.appended.subscribe();
        loop {
            appended.borrow_and_update();
            let results = self.read_once(partitions, max_bytes);
            let total: usize = results
                .iter()
                .map(|r| r.as_ref().map(|p| p.records.len()).unwrap_or(0))
                .sum();
            let any_error = results.iter().any(|r| r.is_err());
            if any_error
                || total >= usize::try_from(min_bytes.max(0)).unwrap_or(0)
                || min_bytes <= 0
            {
                return results;
            }
            let now = Instant::now();
            if now >= deadline {
                return results;
            }
            // Wake on the next append anywhere, then re-read: simple and correct; a
            // per-partition wait list would avoid re-reading untouched partitions.
            if tokio::time::timeout(deadline - now, appended.changed())
                .await
                .is_err()
            {
                return self.read_once(partitions, max_bytes);
            }
        }
    }

    fn read_once(
        &self,
        partitions: &[FetchPartition],
        max_bytes: i32,
    ) -> Vec<Result<FetchedPartition, BrokerError>> {
        let mut remaining = usize::try_from(max_bytes.max(0)).unwrap_or(0);
        let mut min_one_batch = true;
        partitions
            .iter()
            .map(|request| {
                let partition = self.leader_partition(&request.topic, request.partition)?;
                Self::check_leader_epoch(&partition, request.current_leader_epoch)?;
                let limit = usize::try_from(request.max_bytes.clamp(0, MAX_FETCH_RESPONSE_BYTES))
                    .unwrap_or(0)
                    .min(remaining);
                let high_watermark = partition.high_watermark();
                let info = partition.log().read(
                    request.fetch_offset,
                    limit,
                    high_watermark,
                    min_one_batch,
                )?;
                if !info.records.is_empty() {
                    min_one_batch = false;
                    remaining = remaining.saturating_sub(info.records.len());
                }
                Ok(FetchedPartition {
                    records: info.records,
                    high_watermark,
                    last_stable_offset: high_watermark,
                    log_start_offset: info.log_start_offset,
                })
            })
            .collect()
    }

    /// ListOffsets for one partition.
    pub fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
        current_leader_epoch: i32,
    ) -> Result<ListOffsetResult, BrokerError> {
        let partition = self.leader_partition(topic, partition)?;
        Self::check_leader_epoch(&partition, current_leader_epoch)?;
        let high_watermark = partition.high_watermark();
        // A new leader learns the high watermark from its followers' fetches; until it has
        // reached the start of its epoch the latest offset could be below one a client has
        // already seen, so clients are told to retry (Kafka's OFFSET_NOT_AVAILABLE).
        let epoch_start = partition.progress().epoch_start_offset;
        if high_watermark < epoch_start
            && !matches!(timestamp, EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP)
        {
            return Err(BrokerError::OffsetNotAvailable {
                topic: topic.to_string(),
                partition: partition.index,
            });
        }
        let log = partition.log();
        // Kafka answers with the epoch of the batch holding the offset (KIP-320), so
        // consumers can detect log divergence.
        let epochs = log.epoch_entries();
        let epoch_of = |offset: i64| {
            epochs
                .iter()
                .rev()
                .find(|(_, start)| *start <= offset)
                .map(|(epoch, _)| *epoch)
                .unwrap_or(-1)
        };
        let found = match timestamp {
            LATEST_TIMESTAMP => Some((high_watermark, -1)),
            EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP => Some((log.log_start_offset(), -1)),
            LATEST_TIERED_TIMESTAMP => Some((log.log_start_offset() - 1, -1)),
            MAX_TIMESTAMP => log
                .max_timestamp_offset()
                .filter(|(offset, _)| *offset < high_watermark),
            ts => log
                .offset_for_timestamp(ts)?
                .filter(|(offset, _)| *offset < high_watermark),
        };
        Ok(match found {
            Some((offset, timestamp)) => ListOffsetResult {
                offset,
                timestamp,
                // The latest offset belongs to the latest epoch; others to their batch's.
                leader_epoch: if offset >= high_watermark {
                    log.latest_epoch().unwrap_or(-1)
                } else {
                    epoch_of(offset)
                },
            },
            None => ListOffsetResult {
                offset: -1,
                timestamp: -1,
                leader_epoch: -1,
            },
        })
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1 means the high watermark).
    pub fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<i64, BrokerError> {
        let partition = self.leader_partition(topic, partition)?;
        let high_watermark = partition.high_watermark();
        let target = if offset == -1 { high_watermark } else { offset };
        if target > high_watermark || target < 0 {
            return Err(BrokerError::OffsetBeyondHighWatermark {
                topic: topic.to_string(),
                partition: partition.index,
                offset,
                high_watermark,
            });
        }
        let log_start_offset = partition.log().delete_records_before(target)?;
        partition.touch();
        Ok(log_start_offset)
    }

    /// OffsetForLeaderEpoch: the end offset of `epoch` on this leader.
    pub fn end_offset_for_epoch(
        &self,
        topic: &str,
        partition: i32,
        epoch: i32,
        current_leader_epoch: i32,
    ) -> Result<(i32, i64), BrokerError> {
        let partition = self.leader_partition(topic, partition)?;
        Self::check_leader_epoch(&partition, current_leader_epoch)?;
        let log = partition.log();
        Ok(log.end_offset_for_epoch(epoch).unwrap_or((-1, -1)))
    }

    /// A new producer id for InitProducerId (idempotent producers; epoch 0).
    pub async fn next_producer_id(&self) -> Result<i64, BrokerError> {
        let mut block = self.producer_ids.lock().await;
        if block.is_empty() {
            *block = self
                .controller
                .allocate_producer_ids(self.config.node_id)
                .await?;
        }
        let id = block.start;
        block.start += 1;
        Ok(id)
    }

    /// Every hosted partition.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        read(&self.partitions).values().cloned().collect()
    }

    /// Applies retention to every log.
    pub fn apply_retention(&self) {
        let now = wall_clock_ms();
        for partition in self.partitions() {
            let high_watermark = partition.high_watermark();
            let mut log = partition.log();
            match log.apply_retention(now) {
                Ok(0) => {}
                Ok(deleted) => {
                    partition.touch();
                    tracing::info!(topic = %partition.topic, partition = partition.index, deleted, log_start_offset = log.log_start_offset(), "retention deleted segments");
                }
                Err(error) => {
                    tracing::error!(topic = %partition.topic, partition = partition.index, %error, "retention failed")
                }
            }
            debug_assert!(log.log_start_offset() <= high_watermark.max(log.log_start_offset()));
        }
    }

    /// Flushes and closes every log cleanly (SIGTERM), with the high watermarks recorded.
    pub fn shutdown(&self) -> Result<(), StorageError> {
        self.record_high_watermarks();
        self.logs.shutdown()
    }

    /// Copies each partition's high watermark into its log for the next
    /// `replication-offset-checkpoint`.
    pub fn record_high_watermarks(&self) {
        for partition in self.partitions() {
            let high_watermark = partition.high_watermark();
            partition.log().set_high_watermark_hint(high_watermark);
        }
    }

    /// Writes the log-dir checkpoints (recovery points, log starts, high watermarks).
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        self.record_high_watermarks();
        self.logs.checkpoint()
    }

    /// Effective storage settings for a topic.
    pub fn log_config(&self, topic: &str) -> LogConfig {
        log_config_for(
            &self.config.default_log_config,
            &self.image().topic_configs(topic),
        )
    }
}

/// Records the new leader epoch in the log's epoch cache, as Kafka does on becoming leader,
/// so OffsetForLeaderEpoch answers for it before the first append.
fn become_leader(log: &mut strata_storage::PartitionLog, topic: &str, partition: i32, epoch: i32) {
    if let Err(error) = log.assign_leader_epoch(epoch) {
        tracing::error!(%topic, partition, epoch, %error, "cannot record the leader epoch");
    }
}

async fn follow_metadata(
    broker: std::sync::Weak<Broker>,
    mut images: watch::Receiver<Arc<MetadataImage>>,
) {
    while images.changed().await.is_ok() {
        let image = images.borrow_and_update().clone();
        let Some(broker) = broker.upgrade() else {
            return;
        };
        // File I/O for new or removed partitions: off the async workers (see
        // `apply_latest_image`).
        let applied = tokio::task::spawn_blocking(move || broker.apply_image(&image)).await;
        if let Err(error) = applied {
            tracing::error!(%error, "applying the metadata image failed");
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
