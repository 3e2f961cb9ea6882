//! Why the controller refused or failed a request, and how that travels between nodes. Here,
//! beside the request types, so brokers and admin handlers can name it without depending on the
//! controller; the protocol crate maps each variant to a Kafka error code.

use std::sync::Arc;

use crate::MetadataError;
use uuid::Uuid;

/// Kafka's default message for UNKNOWN_TOPIC_OR_PARTITION.
pub const UNKNOWN_TOPIC_OR_PARTITION_MESSAGE: &str =
    "This server does not host this topic-partition.";

/// Why an admin operation was refused or failed. Messages follow Apache Kafka's where it has one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ControllerError {
    /// TOPIC_ALREADY_EXISTS.
    #[error("Topic '{0}' already exists.")]
    TopicAlreadyExists(String),
    /// INVALID_TOPIC_EXCEPTION: an illegal name, or one colliding with an existing topic.
    #[error("{reason}")]
    InvalidTopic {
        /// The rejected name.
        name: String,
        /// Kafka's message.
        reason: String,
    },
    /// INVALID_PARTITIONS.
    #[error("{0}")]
    InvalidPartitions(String),
    /// INVALID_REPLICATION_FACTOR.
    #[error("{0}")]
    InvalidReplicationFactor(String),
    /// INVALID_REPLICA_ASSIGNMENT.
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    /// UNKNOWN_TOPIC_OR_PARTITION, with the message to report.
    #[error("{0}")]
    UnknownTopicOrPartition(String),
    /// UNKNOWN_TOPIC_ID.
    #[error("This server does not host this topic ID: {0}")]
    UnknownTopicId(Uuid),
    /// INVALID_CONFIG.
    #[error("{0}")]
    InvalidConfig(String),
    /// INVALID_REQUEST.
    #[error("{0}")]
    InvalidRequest(String),
    /// BROKER_ID_NOT_REGISTERED (e.g. a producer-id request from an unknown broker).
    #[error("Broker {0} is not registered.")]
    BrokerIdNotRegistered(i32),
    /// NOT_CONTROLLER: this node cannot decide (used once metadata is replicated).
    #[error("This node is not the active controller.")]
    NotController,
    /// UNKNOWN_SERVER_ERROR: the 64-bit producer id space is used up.
    #[error("Exhausted all producer ids: the next block would exceed {0}")]
    ProducerIdsExhausted(i64),
    /// UNKNOWN_SERVER_ERROR (or KAFKA_STORAGE_ERROR): the metadata log could not be written
    /// or read; nothing was committed.
    #[error("metadata storage failed: {0}")]
    Storage(#[source] Arc<MetadataError>),
    /// UNKNOWN_SERVER_ERROR: a bug or a panicked background task.
    #[error("internal controller error: {0}")]
    Internal(String),
    /// Another live process is registered with the same node id (Kafka's
    /// DUPLICATE_BROKER_REGISTRATION).
    #[error("{0}")]
    DuplicateBrokerRegistration(String),
    /// FENCED_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER on AlterPartition: the sender is not (or
    /// no longer) the leader of this epoch.
    #[error("{0}")]
    FencedLeaderEpoch(String),
    /// INVALID_UPDATE_VERSION on AlterPartition: the partition changed since the sender saw it.
    #[error("{0}")]
    InvalidUpdateVersion(String),
    /// INELIGIBLE_REPLICA on AlterPartition: a proposed ISR member is fenced or unknown.
    #[error("{0}")]
    IneligibleReplica(String),
    /// ELECTION_NOT_NEEDED on ElectLeaders: the preferred replica already leads (preferred
    /// election) or the partition has a leader (unclean election).
    #[error("{0}")]
    ElectionNotNeeded(String),
    /// PREFERRED_LEADER_NOT_AVAILABLE on ElectLeaders: the preferred replica is fenced or
    /// outside the ISR.
    #[error("{0}")]
    PreferredLeaderNotAvailable(String),
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE on ElectLeaders: no live replica can lead.
    #[error("{0}")]
    EligibleLeadersNotAvailable(String),
}

impl From<MetadataError> for ControllerError {
    fn from(e: MetadataError) -> Self {
        ControllerError::Storage(Arc::new(e))
    }
}

impl ControllerError {
    /// UNKNOWN_TOPIC_OR_PARTITION with Kafka's default message.
    pub fn unknown_topic() -> Self {
        ControllerError::UnknownTopicOrPartition(UNKNOWN_TOPIC_OR_PARTITION_MESSAGE.to_string())
    }
}

/// A [`ControllerError`] as it travels between nodes (forwarded requests): the variant's name
/// and its message. Storage errors arrive as `Internal` with the remote message.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WireError {
    /// Variant name.
    pub kind: String,
    /// The message (`Display` of the error, or the variant's payload).
    pub message: String,
    /// Topic name or id where the variant carries one.
    pub subject: Option<String>,
}

impl ControllerError {
    /// The error as sent to another node.
    pub fn to_wire(&self) -> WireError {
        let (kind, message, subject) = match self {
            ControllerError::TopicAlreadyExists(t) => ("TopicAlreadyExists", t.clone(), None),
            ControllerError::InvalidTopic { name, reason } => {
                ("InvalidTopic", reason.clone(), Some(name.clone()))
            }
            ControllerError::InvalidPartitions(m) => ("InvalidPartitions", m.clone(), None),
            ControllerError::InvalidReplicationFactor(m) => {
                ("InvalidReplicationFactor", m.clone(), None)
            }
            ControllerError::InvalidReplicaAssignment(m) => {
                ("InvalidReplicaAssignment", m.clone(), None)
            }
            ControllerError::UnknownTopicOrPartition(m) => {
                ("UnknownTopicOrPartition", m.clone(), None)
            }
            ControllerError::UnknownTopicId(id) => {
                ("UnknownTopicId", String::new(), Some(id.to_string()))
            }
            ControllerError::InvalidConfig(m) => ("InvalidConfig", m.clone(), None),
            ControllerError::InvalidRequest(m) => ("InvalidRequest", m.clone(), None),
            ControllerError::BrokerIdNotRegistered(id) => {
                ("BrokerIdNotRegistered", String::new(), Some(id.to_string()))
            }
            ControllerError::NotController => ("NotController", String::new(), None),
            ControllerError::ProducerIdsExhausted(n) => {
                ("ProducerIdsExhausted", String::new(), Some(n.to_string()))
            }
            ControllerError::FencedLeaderEpoch(m) => ("FencedLeaderEpoch", m.clone(), None),
            ControllerError::InvalidUpdateVersion(m) => ("InvalidUpdateVersion", m.clone(), None),
            ControllerError::IneligibleReplica(m) => ("IneligibleReplica", m.clone(), None),
            ControllerError::ElectionNotNeeded(m) => ("ElectionNotNeeded", m.clone(), None),
            ControllerError::PreferredLeaderNotAvailable(m) => {
                ("PreferredLeaderNotAvailable", m.clone(), None)
            }
            ControllerError::EligibleLeadersNotAvailable(m) => {
                ("EligibleLeadersNotAvailable", m.clone(), None)
            }
            other => ("Internal", other.to_string(), None),
        };
        WireError {
            kind: kind.to_string(),
            message,
            subject,
        }
    }

    /// The error a remote node sent.
    pub fn from_wire(wire: WireError) -> Self {
        let subject = wire.subject.unwrap_or_default();
        match wire.kind.as_str() {
            "TopicAlreadyExists" => ControllerError::TopicAlreadyExists(wire.message),
            "InvalidTopic" => ControllerError::InvalidTopic {
                name: subject,
                reason: wire.message,
            },
            "InvalidPartitions" => ControllerError::InvalidPartitions(wire.message),
            "InvalidReplicationFactor" => ControllerError::InvalidReplicationFactor(wire.message),
            "InvalidReplicaAssignment" => ControllerError::InvalidReplicaAssignment(wire.message),
            "UnknownTopicOrPartition" => ControllerError::UnknownTopicOrPartition(wire.message),
            "UnknownTopicId" => match subject.parse() {
                Ok(id) => ControllerError::UnknownTopicId(id),
                Err(_) => ControllerError::UnknownTopicOrPartition(wire.message),
            },
            "InvalidConfig" => ControllerError::InvalidConfig(wire.message),
            "InvalidRequest" => ControllerError::InvalidRequest(wire.message),
            "BrokerIdNotRegistered" => {
                ControllerError::BrokerIdNotRegistered(subject.parse().unwrap_or(-1))
            }
            "NotController" => ControllerError::NotController,
            "DuplicateBrokerRegistration" => {
                ControllerError::DuplicateBrokerRegistration(wire.message)
            }
            "ProducerIdsExhausted" => {
                ControllerError::ProducerIdsExhausted(subject.parse().unwrap_or(-1))
            }
            "FencedLeaderEpoch" => ControllerError::FencedLeaderEpoch(wire.message),
            "InvalidUpdateVersion" => ControllerError::InvalidUpdateVersion(wire.message),
            "IneligibleReplica" => ControllerError::IneligibleReplica(wire.message),
            "ElectionNotNeeded" => ControllerError::ElectionNotNeeded(wire.message),
            "PreferredLeaderNotAvailable" => {
                ControllerError::PreferredLeaderNotAvailable(wire.message)
            }
            "EligibleLeadersNotAvailable" => {
                ControllerError::EligibleLeadersNotAvailable(wire.message)
            }
            _ => ControllerError::Internal(wire.message),
        }
    }
}
