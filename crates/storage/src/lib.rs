//! Partition logs on disk: Kafka-format segments, offset/time indexes, crash recovery, retention
//! and idempotent-producer state. Knows nothing of the wire protocol or cluster metadata.
//!
//! This crate owns the bytes under each `log.dir`: `<topic>-<partition>/` directories with
//! `<20-digit base offset>.log/.index/.timeindex` segments and `leader-epoch-checkpoint`, and the
//! log-dir-level `recovery-point-offset-checkpoint` / `log-start-offset-checkpoint` files.
//! Partition directories set aside as `<topic>-<partition>.<hex>-stray` (KIP-858) are kept
//! but never loaded nor deleted.
//! It must never decode request frames, consult cluster metadata, or hand out a torn or
//! unvalidated batch; batches are stored as received except for the offset / leader-epoch
//! prefix (and the timestamp for LogAppendTime).
//!
//! Modules: [`config`] (LogConfig), [`error`], [`batch`] (RecordBatch v2 headers),
//! [`log`] (PartitionLog), [`manager`] (LogManager), [`checkpoint`] (text checkpoint files),
//! and the internal `segment`, `index`, `producer_state`, `epoch_cache`.

pub mod batch;
pub mod checkpoint;
pub mod config;
mod epoch_cache;
pub mod error;
mod index;
pub mod log;
pub mod manager;
mod producer_state;
mod segment;

pub use batch::{parse_batch_headers, parse_replicated_batches, BatchHeader};
pub use config::{LogConfig, TimestampType};
pub use epoch_cache::LEADER_EPOCH_CHECKPOINT_FILE;
pub use error::StorageError;
pub use log::{AppendInfo, OpenHints, PartitionLog, ReadInfo};
pub use manager::{LogManager, SharedLog, STRAY_DIR_SUFFIX};
pub use producer_state::PRODUCER_BATCHES_RETAINED;
