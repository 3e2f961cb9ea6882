//! The broker's settings: what `server.properties` says about partitions and logs.

use std::path::PathBuf;

use strata_storage::LogConfig;

/// How often retention is checked by default (`log.retention.check.interval.ms`, Kafka: 5 minutes).
pub const DEFAULT_RETENTION_CHECK_INTERVAL_MS: u64 = 300_000;
/// `replica.high.watermark.checkpoint.interval.ms` default (Kafka's).
pub const DEFAULT_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS: u64 = 5_000;
/// How often the recovery-point and log-start checkpoints are written
/// (`log.flush.offset.checkpoint.interval.ms`, Kafka: 60 s).
pub const DEFAULT_CHECKPOINT_INTERVAL_MS: u64 = 60_000;
/// Upper bound on a fetch long-poll wait, whatever the client asks (`max.wait.ms`).
pub const MAX_FETCH_WAIT_MS: u64 = 30_000;
/// Upper bound on the bytes one fetch response (and one partition in it) may carry, whatever
/// the client asks: Kafka's `fetch.max.bytes` default (55 MiB). The first batch is still
/// returned whole when it is larger (KIP-74).
pub const MAX_FETCH_RESPONSE_BYTES: i32 = 57_671_680;
/// `replica.fetch.wait.max.ms` default (Kafka's).
pub const DEFAULT_REPLICA_FETCH_WAIT_MAX_MS: u64 = 500;
/// `replica.fetch.max.bytes` default (Kafka's, 1 MiB).
pub const DEFAULT_REPLICA_FETCH_MAX_BYTES: usize = 1_048_576;
/// `replica.fetch.response.max.bytes` default (Kafka's, 10 MiB).
pub const DEFAULT_REPLICA_FETCH_RESPONSE_MAX_BYTES: usize = 10_485_760;
/// How often a leader checks its followers' lag.
pub const ISR_CHECK_INTERVAL_MS: u64 = 250;
/// Size of the producer-id blocks a broker takes from the controller (Kafka: 1000).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// Settings of one broker.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// `node.id`.
    pub node_id: i32,
    /// `log.dirs`: where partition directories live.
    pub log_dirs: Vec<PathBuf>,
    /// Broker-level log defaults (`log.segment.bytes`, `log.retention.ms`, …) as a LogConfig.
    pub default_log_config: LogConfig,
    /// `auto.create.topics.enable`.
    pub auto_create_topics_enable: bool,
    /// `num.partitions`: partitions of auto-created topics.
    pub num_partitions: i32,
    /// `default.replication.factor`.
    pub default_replication_factor: i16,
    /// `min.insync.replicas` broker default.
    pub min_insync_replicas: i32,
    /// `delete.topic.enable`.
    pub delete_topic_enable: bool,
    /// `log.retention.check.interval.ms`.
    pub retention_check_interval_ms: u64,
    /// `log.flush.offset.checkpoint.interval.ms`.
    pub checkpoint_interval_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms` (Kafka: 5 s): the checkpoints are
    /// written at the shorter of the two intervals.
    pub high_watermark_checkpoint_interval_ms: u64,
    /// This process's broker incarnation, as registered with the controller. Stray-log
    /// detection waits until the metadata image contains this registration.
    pub incarnation_id: Option<uuid::Uuid>,
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR.
    pub replica_lag_time_max_ms: u64,
    /// `inter.broker.listener.name`: the listener followers fetch from (its registered
    /// endpoint) and the one that accepts replication RPCs.
    pub inter_broker_listener_name: String,
    /// `replica.fetch.wait.max.ms`: how long a follower's fetch waits for data.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.max.bytes`: bytes per partition of a follower's fetch.
    pub replica_fetch_max_bytes: usize,
    /// `replica.fetch.response.max.bytes`: bytes of a whole follower fetch response.
    pub replica_fetch_response_max_bytes: usize,
    /// `strata.replica.fetch.stream`: fetch over (and serve) one long-lived `FetchStream` call
    /// per leader connection; `false` acts as a version without it (unary calls only).
    pub replica_fetch_stream: bool,
}

impl BrokerConfig {
    /// A config with Kafka's defaults for one node storing data under `log_dir`.
    pub fn with_defaults(node_id: i32, log_dir: PathBuf) -> Self {
        BrokerConfig {
            node_id,
            log_dirs: vec![log_dir],
            default_log_config: LogConfig::default(),
            auto_create_topics_enable: true,
            num_partitions: 1,
            default_replication_factor: 1,
            min_insync_replicas: 1,
            delete_topic_enable: true,
            retention_check_interval_ms: DEFAULT_RETENTION_CHECK_INTERVAL_MS,
            checkpoint_interval_ms: DEFAULT_CHECKPOINT_INTERVAL_MS,
            high_watermark_checkpoint_interval_ms: DEFAULT_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS,
            incarnation_id: None,
            replica_lag_time_max_ms: crate::replication::DEFAULT_REPLICA_LAG_TIME_MAX_MS,
            inter_broker_listener_name: "PLAINTEXT".to_string(),
            replica_fetch_wait_max_ms: DEFAULT_REPLICA_FETCH_WAIT_MAX_MS,
            replica_fetch_max_bytes: DEFAULT_REPLICA_FETCH_MAX_BYTES,
            replica_fetch_response_max_bytes: DEFAULT_REPLICA_FETCH_RESPONSE_MAX_BYTES,
            replica_fetch_stream: true,
        }
    }
}
