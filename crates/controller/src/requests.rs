//! The controller's settings; the request types it accepts are `strata_metadata::requests`
//! (re-exported here).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Kafka's `num.partitions` default.
pub const DEFAULT_NUM_PARTITIONS: i32 = 1;
/// Kafka's `default.replication.factor` default.
pub const DEFAULT_REPLICATION_FACTOR: i16 = 1;

/// Static controller settings.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// This node's `node.id`.
    pub node_id: i32,
    /// The cluster id reported to clients.
    pub cluster_id: String,
    /// `metadata.log.dir`: the metadata log lives in `<metadata_dir>/__cluster_metadata-0/`.
    pub metadata_dir: PathBuf,
    /// `num.partitions`: partitions of a topic created with `num_partitions = -1`.
    pub num_partitions: i32,
    /// `default.replication.factor`: used when a topic is created with `replication_factor = -1`.
    pub default_replication_factor: i16,
    /// Broker-level `log.*` (and other topic-synonym) settings from the static config, reported by
    /// DescribeConfigs as STATIC_BROKER_CONFIG.
    pub broker_defaults: BTreeMap<String, String>,
    /// The controller quorum this node belongs to.
    pub quorum: QuorumConfig,
    /// `auto.leader.rebalance.enable`: the active controller moves leaderships back to
    /// preferred replicas once they are live and in sync again.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds` (in ms): how often it looks.
    pub leader_imbalance_check_interval_ms: u64,
}

/// The Raft quorum: who votes, and the timing of heartbeats and elections.
#[derive(Clone, Debug)]
pub struct QuorumConfig {
    /// Voters by node id with their controller endpoint (`host:port`), from
    /// `controller.quorum.voters`; a single-node quorum has only this node (endpoint unused).
    pub voters: BTreeMap<i32, String>,
    /// Raft leader heartbeat interval.
    pub heartbeat_interval_ms: u64,
    /// Election timeout range: a follower that hears no leader for this long stands.
    pub election_timeout_min_ms: u64,
    /// Upper end of the randomised election timeout.
    pub election_timeout_max_ms: u64,
    /// A snapshot of the metadata image is taken every this many log entries.
    pub snapshot_every_entries: u64,
    /// `broker.session.timeout.ms`: a broker not heard from for this long is fenced.
    pub broker_session_timeout_ms: u64,
}

impl QuorumConfig {
    /// A quorum of one: this node alone.
    pub fn single(node_id: i32) -> Self {
        let mut voters = BTreeMap::new();
        voters.insert(node_id, String::new());
        QuorumConfig {
            voters,
            heartbeat_interval_ms: DEFAULT_RAFT_HEARTBEAT_INTERVAL_MS,
            election_timeout_min_ms: DEFAULT_ELECTION_TIMEOUT_MIN_MS,
            election_timeout_max_ms: DEFAULT_ELECTION_TIMEOUT_MAX_MS,
            snapshot_every_entries: DEFAULT_SNAPSHOT_EVERY_ENTRIES,
            broker_session_timeout_ms: DEFAULT_BROKER_SESSION_TIMEOUT_MS,
        }
    }
}

/// Raft heartbeats: frequent enough that followers learn commits within ~50 ms.
pub const DEFAULT_RAFT_HEARTBEAT_INTERVAL_MS: u64 = 50;
/// Election timeouts: a dead leader is replaced in about 0.3–0.6 s plus one election round,
/// well clear of the heartbeat interval so a loaded 2-core machine does not flap.
pub const DEFAULT_ELECTION_TIMEOUT_MIN_MS: u64 = 300;
/// Upper end of the election timeout range.
pub const DEFAULT_ELECTION_TIMEOUT_MAX_MS: u64 = 600;
/// `broker.session.timeout.ms` default. Kafka's is 9 s (heartbeats every 2 s); Strata's
/// brokers heartbeat every [`DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS`], so 5 missed heartbeats
/// take 500 ms: a dead node is fenced well under a second after its last heartbeat, while a
/// live one on a loaded machine has five chances to be heard.
pub const DEFAULT_BROKER_SESSION_TIMEOUT_MS: u64 = 500;
/// `broker.heartbeat.interval.ms` default (Kafka: 2 s).
pub const DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS: u64 = 100;
/// `leader.imbalance.check.interval.seconds` default (Kafka's: 300 s), in ms.
pub const DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_MS: u64 = 300_000;
/// Snapshot every this many metadata log entries.
pub const DEFAULT_SNAPSHOT_EVERY_ENTRIES: u64 = 1000;

impl ControllerConfig {
    /// A config with Kafka's defaults for everything but identity and location.
    pub fn new(
        node_id: i32,
        cluster_id: impl Into<String>,
        metadata_dir: impl Into<PathBuf>,
    ) -> Self {
        ControllerConfig {
            node_id,
            cluster_id: cluster_id.into(),
            metadata_dir: metadata_dir.into(),
            num_partitions: DEFAULT_NUM_PARTITIONS,
            default_replication_factor: DEFAULT_REPLICATION_FACTOR,
            broker_defaults: BTreeMap::new(),
            quorum: QuorumConfig::single(node_id),
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_ms: DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_MS,
        }
    }
}

pub use strata_metadata::requests::*;
