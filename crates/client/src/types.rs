//! Plain data types returned by and passed to [`crate::Client`].

use kafka_protocol::records::Compression;

use crate::error::ClientError;
use crate::records::{ConsumedRecord, ProducerIdentity};

/// A broker from Metadata or DescribeCluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if configured.
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port` for connecting.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition's replica state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Per-partition error code (0 = none).
    pub error_code: i16,
    /// Leader node id, -1 if none.
    pub leader: i32,
    /// Leader epoch, -1 if unknown.
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Offline replica node ids.
    pub offline_replicas: Vec<i32>,
    /// Eligible leader replicas (KIP-966), only from DescribeTopicPartitions.
    pub elr: Option<Vec<i32>>,
    /// Last known ELR (KIP-966), only from DescribeTopicPartitions.
    pub last_known_elr: Option<Vec<i32>>,
}

/// One topic from Metadata or DescribeTopicPartitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Topic id (nil if the broker sent none).
    pub topic_id: uuid::Uuid,
    /// True for internal topics such as `__consumer_offsets`.
    pub is_internal: bool,
    /// Topic-level error code (0 = none; 3 = unknown topic).
    pub error_code: i16,
    /// Partitions, in the broker's order.
    pub partitions: Vec<PartitionInfo>,
}

/// A Metadata response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller node id, -1 if unknown.
    pub controller_id: i32,
    /// Live brokers.
    pub brokers: Vec<BrokerInfo>,
    /// Topics.
    pub topics: Vec<TopicInfo>,
}

/// A DescribeCluster response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// Cluster id.
    pub cluster_id: String,
    /// Controller node id, -1 if unknown.
    pub controller_id: i32,
    /// Live brokers.
    pub brokers: Vec<BrokerInfo>,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partition count, -1 for the broker default (must be -1 when `assignments` is set).
    pub num_partitions: i32,
    /// Replication factor, -1 for the broker default (must be -1 when `assignments` is set).
    pub replication_factor: i16,
    /// Manual assignment: replica broker ids per partition, partition 0 first.
    pub assignments: Vec<Vec<i32>>,
    /// Topic config overrides.
    pub configs: Vec<(String, String)>,
}

/// A partition-count increase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartitions {
    /// Topic name.
    pub topic: String,
    /// New total partition count.
    pub total_count: i32,
    /// Replica assignments for the new partitions only.
    pub assignments: Option<Vec<Vec<i32>>>,
}

/// Kafka's `ConfigEntry.ConfigSource` codes (DescribeConfigs v1+).
pub mod config_source {
    /// Set on the topic itself.
    pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
    /// From the broker's static configuration file.
    pub const STATIC_BROKER_CONFIG: i8 = 4;
    /// Kafka's built-in default.
    pub const DEFAULT_CONFIG: i8 = 5;
}

/// One config entry from DescribeConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Config name.
    pub name: String,
    /// Value, `None` for sensitive or unset.
    pub value: Option<String>,
    /// Source code, see [`config_source`].
    pub source: i8,
    /// Read-only flag.
    pub read_only: bool,
    /// Sensitive flag.
    pub is_sensitive: bool,
}

impl ConfigEntry {
    /// Java `ConfigEntry.isDefault()`: only the built-in default source counts as default.
    pub fn is_default(&self) -> bool {
        self.source == config_source::DEFAULT_CONFIG
    }
}

/// Configs of one topic, in the broker's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfigs {
    /// Topic name.
    pub topic: String,
    /// Entries.
    pub entries: Vec<ConfigEntry>,
}

/// Options for one produce call.
#[derive(Debug, Clone, Copy)]
pub struct ProduceOptions {
    /// 0, 1 or -1 (all).
    pub acks: i16,
    /// Batch compression.
    pub compression: Compression,
    /// Broker-side timeout for acks.
    pub timeout_ms: i32,
    /// Idempotent producer identity and base sequence, if idempotence is on.
    pub producer: Option<ProducerIdentity>,
}

/// Outcome of a successful produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceResult {
    /// Offset assigned to the first record; -1 with acks=0.
    pub base_offset: i64,
    /// Log append time, -1 unless the topic uses LogAppendTime.
    pub log_append_time_ms: i64,
}

/// A partition to fetch from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTarget {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Offset to read from.
    pub offset: i64,
}

/// Result of fetching one partition.
#[derive(Debug)]
pub struct FetchedPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Partition-level error, if any (records are then empty).
    pub error: Option<ClientError>,
    /// High watermark, -1 if unknown.
    pub high_watermark: i64,
    /// Log start offset, -1 if unknown.
    pub log_start_offset: i64,
    /// Decoded data records at or after the fetch offset.
    pub records: Vec<ConsumedRecord>,
    /// Offset to fetch next, if any complete batch was returned.
    pub next_offset: Option<i64>,
}
