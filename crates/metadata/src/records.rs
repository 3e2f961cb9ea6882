//! Metadata records: the only way cluster metadata changes. The Raft quorum replicates them in
//! order (one log entry per controller decision) and each node applies them to its
//! [`crate::image::MetadataImage`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One change to cluster metadata (Kafka's metadata record types, reduced to what Strata needs).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// A broker (re-)registers; replaces any previous registration of the same id.
    RegisterBroker(BrokerRegistration),
    /// The broker may no longer lead or be in ISRs.
    FenceBroker {
        /// The broker being fenced.
        broker_id: i32,
        /// Must match the registered epoch, otherwise the record is ignored.
        broker_epoch: i64,
    },
    /// The broker may lead partitions again.
    UnfenceBroker {
        /// The broker being unfenced.
        broker_id: i32,
        /// Must match the registered epoch, otherwise the record is ignored.
        broker_epoch: i64,
    },
    /// A topic is created (its partitions follow as [`MetadataRecord::Partition`] records).
    Topic(TopicRecord),
    /// A partition is created (or wholly replaced).
    Partition(PartitionRecord),
    /// A partition's leader, ISR or replicas change.
    PartitionChange(PartitionChangeRecord),
    /// A topic, its partitions and its configs are removed.
    RemoveTopic {
        /// Id of the topic to remove.
        topic_id: Uuid,
    },
    /// A config key is set or deleted on a topic or broker resource.
    Config(ConfigRecord),
    /// A block of producer ids was handed to a broker.
    ProducerIds {
        /// The broker that received the block.
        broker_id: i32,
        /// Its epoch at the time.
        broker_epoch: i64,
        /// First producer id of the next block to hand out (= end of the block just given).
        next_producer_id_block_start: i64,
    },
}

/// A broker's registration: identity, epoch and where clients reach it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BrokerRegistration {
    /// `node.id` of the broker.
    pub broker_id: i32,
    /// Random id of this broker process incarnation.
    pub incarnation_id: Uuid,
    /// Epoch of this registration (in Kafka, the offset of the registration record).
    pub broker_epoch: i64,
    /// Advertised listeners.
    pub endpoints: Vec<Endpoint>,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
    /// Whether the broker is fenced (may not lead partitions).
    pub fenced: bool,
}

/// One advertised listener of a broker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Listener name, e.g. `PLAINTEXT`.
    pub listener_name: String,
    /// Advertised host name.
    pub host: String,
    /// Advertised port.
    pub port: u16,
    /// Security protocol name, e.g. `PLAINTEXT`.
    pub security_protocol: String,
}

/// Creation of a topic.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TopicRecord {
    /// Topic name (validated by the controller).
    pub name: String,
    /// Topic id, unique for the life of the cluster.
    pub topic_id: Uuid,
}

/// Full state of one partition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PartitionRecord {
    /// Owning topic.
    pub topic_id: Uuid,
    /// Partition index.
    pub partition: i32,
    /// Replica broker ids, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Current leader, -1 when none.
    pub leader: i32,
    /// Bumped whenever the leader changes.
    pub leader_epoch: i32,
    /// Bumped on every change to this partition.
    pub partition_epoch: i32,
    /// Eligible leader replicas (KIP-966); empty for now.
    #[serde(default)]
    pub elr: Vec<i32>,
    /// Last known eligible leader replicas (KIP-966); empty for now.
    #[serde(default)]
    pub last_known_elr: Vec<i32>,
}

/// A change to a partition; `None` fields are unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PartitionChangeRecord {
    /// Owning topic.
    pub topic_id: Uuid,
    /// Partition index.
    pub partition: i32,
    /// New leader (-1 = none). A different leader bumps the leader epoch.
    pub leader: Option<i32>,
    /// New ISR.
    pub isr: Option<Vec<i32>>,
    /// New replica list.
    pub replicas: Option<Vec<i32>>,
}

/// Kind of resource a config applies to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigResourceType {
    /// A topic, named by topic name.
    Topic,
    /// A broker, named by its id in decimal, or `""` for the cluster-wide default.
    Broker,
}

/// Set or delete one config key of one resource.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConfigRecord {
    /// Kind of resource.
    pub resource_type: ConfigResourceType,
    /// Topic name, or broker id (`""` = cluster default).
    pub resource_name: String,
    /// Config key.
    pub name: String,
    /// New value; `None` deletes the key (back to the default).
    pub value: Option<String>,
}
