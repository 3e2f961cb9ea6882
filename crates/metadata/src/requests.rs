//! What brokers and admin handlers ask the controller for, and what it answers (wire-format
//! free). Here, not in the controller, so that a broker can make its requests without
//! depending on the controller (its Raft, storage and RPC stack).

use uuid::Uuid;

use crate::ConfigSource;

/// One topic of a CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreateTopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count; -1 = `num.partitions`.
    pub num_partitions: i32,
    /// Replication factor; -1 = `default.replication.factor`.
    pub replication_factor: i16,
    /// Manual assignment: (partition, broker ids). When non-empty, both counts must be -1.
    pub assignments: Vec<(i32, Vec<i32>)>,
    /// Topic configs; a `None` value is rejected as Kafka does.
    pub configs: Vec<(String, Option<String>)>,
}

impl CreateTopicSpec {
    /// A spec with default partitions and replication factor, no assignment and no configs.
    pub fn new(name: impl Into<String>) -> Self {
        CreateTopicSpec {
            name: name.into(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: Vec::new(),
            configs: Vec::new(),
        }
    }
}

/// A successfully created (or, with `validate_only`, creatable) topic.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CreatedTopic {
    /// Topic name.
    pub name: String,
    /// Its id (with `validate_only`, the id it would have had).
    pub topic_id: Uuid,
    /// Partition count.
    pub num_partitions: i32,
    /// Replication factor.
    pub replication_factor: i16,
    /// Every topic config: name, effective value, source (CreateTopics v5+ returns them).
    pub configs: Vec<(String, String, ConfigSource)>,
}

/// A topic named in a DeleteTopics request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TopicRef {
    /// By name (DeleteTopics v0–v5, or v6+ with a name).
    Name(String),
    /// By id (DeleteTopics v6+).
    Id(Uuid),
}

/// One topic of a CreatePartitions request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatePartitionsSpec {
    /// Topic name.
    pub topic: String,
    /// New total partition count.
    pub count: i32,
    /// Broker ids of each new partition, in order; `None` = let the controller place them.
    pub assignments: Option<Vec<Vec<i32>>>,
}

/// What to do to one config key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConfigOpKind {
    /// Set the value.
    Set(String),
    /// Remove the override (back to the default).
    Delete,
    /// Add comma-separated elements to a LIST config (skipping ones already present).
    Append(String),
    /// Remove comma-separated elements from a LIST config.
    Subtract(String),
}

/// One config change of an (Incremental)AlterConfigs request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigOp {
    /// Config key.
    pub name: String,
    /// The change.
    pub op: ConfigOpKind,
}

/// Kafka's `ElectionType` for ElectLeaders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ElectionType {
    /// Move leadership to the preferred (first) replica when it is live and in the ISR.
    Preferred,
    /// Give a leaderless partition a leader, from outside the ISR if need be (may lose
    /// committed records: the operator's explicit choice).
    Unclean,
}

impl ElectionType {
    /// The election type as the protocol numbers it (0 preferred, 1 unclean).
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }

    /// Kafka's name for it (`PREFERRED`, `UNCLEAN`), as its tools print it.
    pub fn name(self) -> &'static str {
        match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        }
    }
}

/// One partition named in an ElectLeaders request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElectionTarget {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

/// A partition leader's request to change the ISR (Kafka's AlterPartition).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlterPartitionRequest {
    /// The leader sending it.
    pub broker_id: i32,
    /// Topic id.
    pub topic_id: uuid::Uuid,
    /// Partition index.
    pub partition: i32,
    /// The leader epoch the leader holds.
    pub leader_epoch: i32,
    /// The partition epoch the leader last saw: a request based on an older state is refused.
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub new_isr: Vec<i32>,
}
