//! The local metadata log: metadata records framed as `[u32 len BE][u32 crc32c BE][JSON envelope]`
//! in `<dir>/__cluster_metadata-0/00000000000000000000.log`. A record's offset is its frame index.
//! Appends are fsynced before they return, so committed metadata survives `kill -9`; a torn or
//! corrupt tail (a crash mid-append) is truncated on open.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use crate::error::MetadataError;
use crate::records::{MetadataRecord, RecordEnvelope, RECORD_ENVELOPE_VERSION};

/// Directory (under the metadata log dir) holding the log, named like Kafka's.
pub const METADATA_PARTITION_DIR: &str = "__cluster_metadata-0";
/// The single segment file.
pub const METADATA_LOG_FILE: &str = "00000000000000000000.log";
/// Bytes of frame header: length then CRC-32C.
pub const FRAME_HEADER_BYTES: usize = 8;
/// Largest accepted frame payload; anything larger in a header is treated as corruption.
pub const MAX_METADATA_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Append-only, fsynced, CRC-framed metadata log on local disk.
#[derive(Debug)]
pub struct LocalMetadataLog {
    path: PathBuf,
    file: File,
    /// Bytes of valid frames in the file.
    len_bytes: u64,
    /// Offset the next appended record gets.
    next_offset: i64,
}

fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> MetadataError + 'a {
    move |source| MetadataError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl LocalMetadataLog {
    /// Opens (creating if needed) the log under `dir`, truncates a torn or corrupt tail and
    /// returns the log with every valid record and its offset, to replay into an image.
    pub fn open(
        dir: &Path,
    ) -> Result<(LocalMetadataLog, Vec<(i64, MetadataRecord)>), MetadataError> {
        let part_dir = dir.join(METADATA_PARTITION_DIR);
        std::fs::create_dir_all(&part_dir).map_err(io_err("create directory", &part_dir))?;
        let path = part_dir.join(METADATA_LOG_FILE);
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("open", &path))?;
        if !existed {
            // Make the new file's directory entry durable too.
            sync_dir(&part_dir)?;
            sync_dir(dir)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(io_err("read", &path))?;

        let mut records = Vec::new();
        let mut pos = 0usize;
        // Records of the batch being read and where it started: only whole batches are kept.
        let mut pending: Vec<(i64, MetadataRecord)> = Vec::new();
        let mut batch_start = 0usize;
        let valid_len = loop {
            let offset = (records.len() + pending.len()) as i64;
            let rest = &bytes[pos..];
            if rest.is_empty() {
                if !pending.is_empty() {
                    warn!(path = %path.display(), offset, "incomplete record batch at metadata log tail; truncating");
                }
                break batch_start;
            }
            if rest.len() < FRAME_HEADER_BYTES {
                warn!(path = %path.display(), offset, position = pos, "torn frame header at metadata log tail; truncating");
                break batch_start;
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let crc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
            if len > MAX_METADATA_RECORD_BYTES {
                warn!(path = %path.display(), offset, position = pos, len, "implausible frame length in metadata log; truncating");
                break batch_start;
            }
            if rest.len() < FRAME_HEADER_BYTES + len {
                warn!(path = %path.display(), offset, position = pos, "torn frame at metadata log tail; truncating");
                break batch_start;
            }
            let payload = &rest[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len];
            if crc32c::crc32c(payload) != crc {
                warn!(path = %path.display(), offset, position = pos, "metadata frame CRC mismatch; truncating the log here");
                break batch_start;
            }
            // A frame with a valid CRC that does not decode is not a torn write: refuse to start
            // rather than silently lose metadata.
            let envelope: RecordEnvelope =
                serde_json::from_slice(payload).map_err(|e| MetadataError::Decode {
                    offset,
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if envelope.version > RECORD_ENVELOPE_VERSION {
                return Err(MetadataError::Decode {
                    offset,
                    path: path.clone(),
                    reason: format!(
                        "record envelope version {} is newer than supported version {}",
                        envelope.version, RECORD_ENVELOPE_VERSION
                    ),
                });
            }
            pending.push((offset, envelope.record));
            pos += FRAME_HEADER_BYTES + len;
            if envelope.batch_remaining == 0 {
                records.append(&mut pending);
                batch_start = pos;
            }
        };
        if valid_len < bytes.len() {
            warn!(path = %path.display(), kept_bytes = valid_len, dropped_bytes = bytes.len() - valid_len,
                "truncating metadata log tail");
            file.set_len(valid_len as u64)
                .map_err(io_err("truncate", &path))?;
            file.sync_all().map_err(io_err("fsync", &path))?;
        }
        file.seek(SeekFrom::Start(valid_len as u64))
            .map_err(io_err("seek", &path))?;
        info!(path = %path.display(), records = records.len(), "opened metadata log");
        let log = LocalMetadataLog {
            path,
            file,
            len_bytes: valid_len as u64,
            next_offset: records.len() as i64,
        };
        Ok((log, records))
    }

    /// Appends `records` as one atomic batch (replay keeps all of it or none of it) in one write,
    /// then fsyncs; returns the offset of the last one (or of the last existing record, -1 if
    /// none, when `records` is empty). On failure nothing is considered appended and the file is
    /// cut back to its previous length.
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<i64, MetadataError> {
        if records.is_empty() {
            return Ok(self.next_offset - 1);
        }
        let mut buf = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let envelope = RecordEnvelope {
                version: RECORD_ENVELOPE_VERSION,
                record: record.clone(),
                // Bounded by the caller's slice; a batch of 4 billion records is not plausible.
                batch_remaining: u32::try_from(records.len() - 1 - i).unwrap_or(u32::MAX),
            };
            let payload = serde_json::to_vec(&envelope).map_err(MetadataError::Encode)?;
            if payload.len() > MAX_METADATA_RECORD_BYTES {
                return Err(MetadataError::RecordTooLarge {
                    bytes: payload.len(),
                    max_bytes: MAX_METADATA_RECORD_BYTES,
                });
            }
            // Cannot truncate: bounded by MAX_METADATA_RECORD_BYTES above.
            buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            buf.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
            buf.extend_from_slice(&payload);
        }
        let result = self
            .file
            .write_all(&buf)
            .map_err(io_err("write", &self.path))
            .and_then(|()| self.file.sync_data().map_err(io_err("fsync", &self.path)));
        if let Err(e) = result {
            // Best effort: drop whatever part reached the file so later appends stay framed.
            // If this fails too, the next open truncates the torn tail.
            if self.file.set_len(self.len_bytes).is_ok() {
                let _ = self.file.seek(SeekFrom::Start(self.len_bytes));
            }
            return Err(e);
        }
        self.len_bytes += buf.len() as u64;
        let first = self.next_offset;
        self.next_offset += records.len() as i64;
        debug_assert!(self.next_offset > first, "metadata log offsets must grow");
        Ok(self.next_offset - 1)
    }

    /// Offset the next appended record will get (= number of records in the log).
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn sync_dir(dir: &Path) -> Result<(), MetadataError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::TopicRecord;
    use uuid::Uuid;

    fn topic(n: u128) -> MetadataRecord {
        MetadataRecord::Topic(TopicRecord {
            name: format!("t{n}"),
            topic_id: Uuid::from_u128(n),
        })
    }

    #[test]
    fn append_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert!(recs.is_empty());
        assert_eq!(log.append(&[]).unwrap(), -1);
        assert_eq!(log.append(&[topic(1), topic(2)]).unwrap(), 1);
        assert_eq!(log.append(&[topic(3)]).unwrap(), 2);
        drop(log);
        let (log, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert_eq!(recs, vec![(0, topic(1)), (1, topic(2)), (2, topic(3))]);
        assert_eq!(log.next_offset(), 3);
        assert!(log
            .path()
            .ends_with("__cluster_metadata-0/00000000000000000000.log"));
    }

    fn file_of(dir: &Path) -> PathBuf {
        dir.join(METADATA_PARTITION_DIR).join(METADATA_LOG_FILE)
    }

    #[test]
    fn torn_tail_is_truncated_and_log_stays_appendable() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = LocalMetadataLog::open(dir.path()).unwrap();
        log.append(&[topic(1)]).unwrap();
        log.append(&[topic(2)]).unwrap();
        drop(log);
        let path = file_of(dir.path());
        let full = std::fs::metadata(&path).unwrap().len();
        // Cut the last frame in half.
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(full - 5).unwrap();
        drop(f);
        let (mut log, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert_eq!(recs, vec![(0, topic(1))]);
        assert_eq!(log.append(&[topic(3)]).unwrap(), 1);
        drop(log);
        let (_, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert_eq!(recs, vec![(0, topic(1)), (1, topic(3))]);
    }

    #[test]
    fn incomplete_batch_is_dropped_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = LocalMetadataLog::open(dir.path()).unwrap();
        log.append(&[topic(1)]).unwrap();
        log.append(&[topic(2), topic(3), topic(4)]).unwrap();
        drop(log);
        let path = file_of(dir.path());
        let full = std::fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(full - 1).unwrap(); // tear only the batch's last frame
        drop(f);
        let (mut log, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert_eq!(
            recs,
            vec![(0, topic(1))],
            "the first two frames of the batch go too"
        );
        assert_eq!(log.next_offset(), 1);
        assert_eq!(log.append(&[topic(5), topic(6)]).unwrap(), 2);
        drop(log);
        let (_, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert_eq!(recs, vec![(0, topic(1)), (1, topic(5)), (2, topic(6))]);
    }

    #[test]
    fn envelope_without_batch_field_is_a_whole_batch() {
        let env: RecordEnvelope =
            serde_json::from_str(r#"{"version":1,"record":{"type":"RemoveTopic","topic_id":"00000000-0000-0000-0000-000000000000"}}"#)
                .unwrap();
        assert_eq!(env.batch_remaining, 0);
    }

    #[test]
    fn partial_header_and_bad_crc_are_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = LocalMetadataLog::open(dir.path()).unwrap();
        log.append(&[topic(1)]).unwrap();
        log.append(&[topic(2)]).unwrap();
        drop(log);
        let path = file_of(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        // Flip a payload byte of the last frame.
        let last = bytes.len() - 2;
        bytes[last] ^= 0xff;
        bytes.extend_from_slice(&[0, 0, 0]); // plus a torn header
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs) = LocalMetadataLog::open(dir.path()).unwrap();
        assert_eq!(recs, vec![(0, topic(1))]);
        let len_after = std::fs::metadata(&path).unwrap().len();
        assert!(len_after < bytes.len() as u64);
    }

    #[test]
    fn valid_crc_with_undecodable_payload_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = LocalMetadataLog::open(dir.path()).unwrap();
        drop(log);
        let payload = br#"{"version":9,"record":{"type":"RemoveTopic","topic_id":"00000000-0000-0000-0000-000000000001"}}"#;
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
        bytes.extend_from_slice(payload);
        std::fs::write(file_of(dir.path()), &bytes).unwrap();
        let err = LocalMetadataLog::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, MetadataError::Decode { offset: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn envelope_json_shape() {
        let env = RecordEnvelope {
            version: 1,
            record: MetadataRecord::RemoveTopic {
                topic_id: Uuid::nil(),
            },
            batch_remaining: 0,
        };
        let json = serde_json::to_string(&env).unwrap();
        assert_eq!(
            json,
            r#"{"version":1,"record":{"type":"RemoveTopic","topic_id":"00000000-0000-0000-0000-000000000000"}}"#
        );
    }
}
