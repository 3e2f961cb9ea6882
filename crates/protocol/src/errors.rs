//! Broker, storage and controller errors as Kafka error codes (with their messages).

use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use strata_broker::BrokerError;
use strata_controller::ControllerError;
use strata_storage::StorageError;

/// A Kafka error code with the message that explains it.
#[derive(Clone, Debug)]
pub struct KafkaError {
    /// The protocol error.
    pub code: ResponseError,
    /// Human-readable detail, sent where the response has an error message field.
    pub message: String,
}

impl KafkaError {
    /// An error with a message.
    pub fn new(code: ResponseError, message: impl Into<String>) -> Self {
        KafkaError {
            code,
            message: message.into(),
        }
    }

    /// The error code as sent on the wire.
    pub fn code(&self) -> i16 {
        self.code.code()
    }

    /// The message as a protocol string.
    pub fn message(&self) -> Option<StrBytes> {
        Some(StrBytes::from_string(self.message.clone()))
    }
}

impl From<&StorageError> for KafkaError {
    fn from(error: &StorageError) -> Self {
        let code = match error {
            StorageError::CorruptMessage { .. } => ResponseError::CorruptMessage,
            StorageError::InvalidRecord { .. } => ResponseError::InvalidRecord,
            StorageError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
            // Kafka answers a non-v2 batch on Produce v3+ with INVALID_RECORD.
            StorageError::UnsupportedMagic { .. } => ResponseError::InvalidRecord,
            StorageError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
            // The log was closed under the request (topic deleted, shutdown).
            StorageError::LogClosed { .. } => ResponseError::NotLeaderOrFollower,
            StorageError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            StorageError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
            StorageError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            StorageError::UnknownProducerId { .. } => ResponseError::UnknownProducerId,
            StorageError::InvalidTimestamp { .. } => ResponseError::InvalidTimestamp,
            _ => ResponseError::KafkaStorageError,
        };
        KafkaError::new(code, error.to_string())
    }
}

impl From<&ControllerError> for KafkaError {
    fn from(error: &ControllerError) -> Self {
        let code = match error {
            ControllerError::TopicAlreadyExists(_) => ResponseError::TopicAlreadyExists,
            ControllerError::InvalidTopic { .. } => ResponseError::InvalidTopicException,
            ControllerError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
            ControllerError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
            ControllerError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
            ControllerError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
            ControllerError::UnknownTopicId(_) => ResponseError::UnknownTopicId,
            ControllerError::InvalidConfig(_) => ResponseError::InvalidConfig,
            ControllerError::InvalidRequest(_) => ResponseError::InvalidRequest,
            ControllerError::ElectionNotNeeded(_) => ResponseError::ElectionNotNeeded,
            ControllerError::PreferredLeaderNotAvailable(_) => {
                ResponseError::PreferredLeaderNotAvailable
            }
            ControllerError::EligibleLeadersNotAvailable(_) => {
                ResponseError::EligibleLeadersNotAvailable
            }
            _ => ResponseError::UnknownServerError,
        };
        KafkaError::new(code, error.to_string())
    }
}

impl From<&BrokerError> for KafkaError {
    fn from(error: &BrokerError) -> Self {
        let code = match error {
            BrokerError::UnknownTopicOrPartition { .. } => ResponseError::UnknownTopicOrPartition,
            BrokerError::NotLeaderOrFollower { .. } => ResponseError::NotLeaderOrFollower,
            BrokerError::LeaderNotAvailable { .. } => ResponseError::LeaderNotAvailable,
            BrokerError::InvalidRequiredAcks(_) => ResponseError::InvalidRequiredAcks,
            BrokerError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
            BrokerError::NotEnoughReplicasAfterAppend { .. } => {
                ResponseError::NotEnoughReplicasAfterAppend
            }
            BrokerError::RequestTimedOut { .. } => ResponseError::RequestTimedOut,
            BrokerError::OffsetNotAvailable { .. } => ResponseError::OffsetNotAvailable,
            BrokerError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
            BrokerError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
            BrokerError::OffsetBeyondHighWatermark { .. } => ResponseError::OffsetOutOfRange,
            BrokerError::Storage(storage) => return KafkaError::from(storage),
            BrokerError::Controller(controller) => return KafkaError::from(controller),
        };
        KafkaError::new(code, error.to_string())
    }
}
