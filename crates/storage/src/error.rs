//! `StorageError`: everything the storage layer can refuse or fail with.
//!
//! Variants are kept distinct because the protocol crate maps each to a different Kafka error code.

use std::path::PathBuf;

/// An error from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Bytes that do not form valid record batches (bad length, CRC mismatch, truncated batch).
    /// Kafka: `CORRUPT_MESSAGE` (2).
    #[error("corrupt record batch at byte {position} of the payload: {reason}")]
    CorruptMessage {
        /// Byte position of the offending batch inside the payload or segment.
        position: usize,
        /// What was wrong.
        reason: String,
    },
    /// Well-formed bytes whose content Kafka refuses (bad counts, control batch from a client, …).
    /// Kafka: `INVALID_RECORD` (87).
    #[error("invalid record batch at byte {position} of the payload: {reason}")]
    InvalidRecord {
        /// Byte position of the offending batch inside the payload.
        position: usize,
        /// What was wrong.
        reason: String,
    },
    /// One batch is larger than `max.message.bytes`. Kafka: `MESSAGE_TOO_LARGE` (10).
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge {
        /// Size of the batch in bytes.
        size: usize,
        /// The configured limit.
        max: u32,
    },
    /// The whole append is larger than a segment may be. Kafka: `RECORD_LIST_TOO_LARGE` (18).
    #[error("append of {size} bytes exceeds segment.bytes {segment_bytes}")]
    RecordListTooLarge {
        /// Size of the appended payload in bytes.
        size: usize,
        /// The configured segment size.
        segment_bytes: u64,
    },
    /// A batch with a magic other than 2. Kafka answers produce v3+ carrying such a batch with
    /// `INVALID_RECORD` (87) (`ProduceRequest.validateRecords`); map it to that.
    #[error(
        "unsupported record batch magic {magic} at byte {position} (only magic 2 is supported)"
    )]
    UnsupportedMagic {
        /// The magic byte found.
        magic: i8,
        /// Byte position of the batch inside the payload.
        position: usize,
    },
    /// A read outside `[log_start, log_end]`. Kafka: `OFFSET_OUT_OF_RANGE` (1).
    #[error("offset {requested} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        requested: i64,
        /// Current log start offset.
        log_start: i64,
        /// Current log end offset.
        log_end: i64,
    },
    /// A duplicate idempotent batch whose original offsets are no longer known.
    /// Kafka: `DUPLICATE_SEQUENCE_NUMBER` (46). Not produced today: duplicates of cached batches
    /// return `AppendInfo { duplicate: true, .. }` instead.
    #[error("duplicate sequence {first_seq}..={last_seq} for producer {producer_id}")]
    DuplicateSequence {
        /// The producer id.
        producer_id: i64,
        /// First sequence of the batch.
        first_seq: i32,
        /// Last sequence of the batch.
        last_seq: i32,
    },
    /// The batch's first sequence does not follow the producer's last one.
    /// Kafka: `OUT_OF_ORDER_SEQUENCE_NUMBER` (45).
    #[error("out of order sequence for producer {producer_id}: expected {expected}, got {got}")]
    OutOfOrderSequence {
        /// The producer id.
        producer_id: i64,
        /// Sequence the broker expected next (last sequence + 1, or 0 for a new epoch).
        expected: i32,
        /// First sequence of the batch.
        got: i32,
    },
    /// The batch's producer epoch is older than the current one. Kafka: `INVALID_PRODUCER_EPOCH` (47).
    #[error("producer {producer_id} epoch {got} is older than current epoch {current}")]
    InvalidProducerEpoch {
        /// The producer id.
        producer_id: i64,
        /// The epoch the log knows.
        current: i16,
        /// The epoch in the batch.
        got: i16,
    },
    /// Kafka: `UNKNOWN_PRODUCER_ID` (59). Not produced: since KIP-360 Kafka accepts any sequence
    /// from a producer the log no longer knows, and so does this crate.
    #[error("unknown producer id {producer_id}")]
    UnknownProducerId {
        /// The producer id.
        producer_id: i64,
    },
    /// A timestamp Kafka would refuse. Kafka: `INVALID_TIMESTAMP` (32).
    #[error("invalid timestamp {timestamp}: {reason}")]
    InvalidTimestamp {
        /// The timestamp.
        timestamp: i64,
        /// Why it was refused.
        reason: String,
    },
    /// A filesystem operation failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An index file that cannot be used (rebuilt on open; this surfaces only when rebuilding fails).
    #[error("corrupt index {}: {reason}", path.display())]
    CorruptIndex {
        /// The index file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A checkpoint file that does not parse.
    #[error("corrupt checkpoint file {} line {line}: {reason}", path.display())]
    CorruptCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A partition directory whose name is not `<topic>-<partition>` or that cannot be used.
    #[error("invalid log directory {}: {reason}", path.display())]
    InvalidLogDir {
        /// The directory.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The log was closed or deleted; it accepts no more operations.
    #[error("log {topic}-{partition} is closed")]
    LogClosed {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// A truncation below the log start offset or similar impossible request from the caller.
    #[error("invalid offset {offset}: {reason}")]
    InvalidOffset {
        /// The offset requested.
        offset: i64,
        /// Why it cannot be honoured.
        reason: String,
    },
}

impl StorageError {
    /// Wraps an `std::io::Error` with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.into(),
            source,
        }
    }
}
