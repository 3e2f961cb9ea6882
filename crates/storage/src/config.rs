//! Per-partition storage settings (`LogConfig`) with Apache Kafka's defaults.

/// Default `segment.bytes`: 1 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1024 * 1024 * 1024;
/// Default `segment.ms` / `retention.ms`: 7 days.
pub const DEFAULT_SEVEN_DAYS_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Default `index.interval.bytes`.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u32 = 4096;
/// Default `segment.index.bytes`: 10 MiB.
pub const DEFAULT_SEGMENT_INDEX_BYTES: u32 = 10 * 1024 * 1024;
/// Default `max.message.bytes` (1 MiB + the 12-byte log overhead, as in Kafka).
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1_048_588;

/// How the timestamps of appended batches are set (`message.timestamp.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Keep the producer's timestamps.
    #[default]
    CreateTime,
    /// The broker stamps each batch with its append time (re-encodes the batch's CRC).
    LogAppendTime,
}

/// Storage settings of one partition log; field names follow Kafka's topic configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: the active segment is rolled before it would exceed this size.
    pub segment_bytes: u64,
    /// `segment.ms` (`log.roll.ms`): the active segment is rolled once it is this old.
    pub segment_ms: i64,
    /// `retention.ms`: segments whose newest timestamp is older than this are deleted; -1 = infinite.
    pub retention_ms: i64,
    /// `retention.bytes`: oldest segments are deleted while the log is larger than this; -1 = infinite.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: bytes appended between two offset/time index entries.
    pub index_interval_bytes: u32,
    /// `segment.index.bytes`: maximum size of one `.index` / `.timeindex` file.
    pub segment_index_bytes: u32,
    /// `max.message.bytes`: largest record batch accepted.
    pub max_message_bytes: u32,
    /// `flush.messages`: fsync after this many appended records (default: leave it to the OS).
    pub flush_interval_messages: u64,
    /// `flush.ms`: fsync when the last flush is this old (checked on append).
    pub flush_interval_ms: i64,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: DEFAULT_SEVEN_DAYS_MS,
            retention_ms: DEFAULT_SEVEN_DAYS_MS,
            retention_bytes: -1,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            segment_index_bytes: DEFAULT_SEGMENT_INDEX_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            flush_interval_messages: u64::MAX,
            flush_interval_ms: i64::MAX,
            message_timestamp_type: TimestampType::CreateTime,
        }
    }
}
