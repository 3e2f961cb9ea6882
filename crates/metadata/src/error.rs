//! Errors of the metadata crate. The protocol crate maps them to Kafka error codes.

/// Everything that can go wrong validating metadata.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// A topic name breaks Kafka's naming rules (INVALID_TOPIC_EXCEPTION).
    #[error("{reason}")]
    InvalidTopicName {
        /// The rejected name.
        name: String,
        /// Kafka's message for the violated rule.
        reason: String,
    },
    /// A config value does not parse or is out of range (INVALID_CONFIG).
    #[error("Invalid value {value} for configuration {name}: {reason}")]
    InvalidConfig {
        /// Config key.
        name: String,
        /// Rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A config key that topics do not have (INVALID_CONFIG).
    #[error("Unknown topic config name: {name}")]
    UnknownConfig {
        /// The unknown key.
        name: String,
    },
}
