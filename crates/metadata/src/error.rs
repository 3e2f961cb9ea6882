//! Errors of the metadata crate. The protocol crate maps them to Kafka error codes.

use std::path::PathBuf;

/// Everything that can go wrong validating or persisting metadata.
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
    /// Reading, writing or syncing a metadata file failed.
    #[error("metadata log I/O failed: {op} {path}: {source}")]
    Io {
        /// What was being done (open, read, write, fsync, truncate…).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be serialized.
    #[error("cannot encode metadata record: {0}")]
    Encode(#[source] serde_json::Error),
    /// A frame with a valid checksum holds something this build cannot decode
    /// (written by a newer version, or a bug): refusing to start beats silently dropping metadata.
    #[error("cannot decode metadata record at offset {offset} in {path}: {reason}")]
    Decode {
        /// Offset of the record in the metadata log.
        offset: i64,
        /// The log file.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// A single encoded record exceeds the frame size limit.
    #[error("metadata record of {bytes} bytes exceeds the limit of {max_bytes} bytes")]
    RecordTooLarge {
        /// Encoded size.
        bytes: usize,
        /// The limit.
        max_bytes: usize,
    },
}
