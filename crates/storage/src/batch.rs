//! RecordBatch v2 framing: header parsing, validation of produce payloads, in-place patching.
//!
//! Produce payloads are validated like Kafka's `LogValidator`: the 61-byte header, and for
//! uncompressed batches a non-allocating walk over every record's varint framing. Stored
//! batches (recovery, reads) are only looked at header-deep; records are decoded again solely
//! to answer timestamp lookups inside uncompressed batches.

use crate::config::TimestampType;
use crate::error::StorageError;

/// Size of the fixed RecordBatch v2 header (everything before the first record).
pub const BATCH_HEADER_BYTES: usize = 61;
/// Bytes before `batch_length` counts: base offset (8) + batch length (4).
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// Smallest legal `batch_length` (header minus the log overhead).
pub const MIN_BATCH_LENGTH_BYTES: i32 = (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32;
/// The only supported magic.
pub const MAGIC_V2: i8 = 2;

/// Byte offsets of the header fields (Kafka's DefaultRecordBatch layout).
pub(crate) mod field {
    pub const BASE_OFFSET: usize = 0;
    pub const BATCH_LENGTH: usize = 8;
    pub const PARTITION_LEADER_EPOCH: usize = 12;
    pub const MAGIC: usize = 16;
    pub const CRC: usize = 17;
    pub const ATTRIBUTES: usize = 21;
    pub const LAST_OFFSET_DELTA: usize = 23;
    pub const BASE_TIMESTAMP: usize = 27;
    pub const MAX_TIMESTAMP: usize = 35;
    pub const PRODUCER_ID: usize = 43;
    pub const PRODUCER_EPOCH: usize = 51;
    pub const BASE_SEQUENCE: usize = 53;
    pub const RECORD_COUNT: usize = 57;
}

const COMPRESSION_MASK: i16 = 0x07;
/// Largest compression codec id Kafka knows (4 = zstd); 5..=7 are not codecs.
pub const MAX_COMPRESSION_CODEC_ID: u8 = 4;
/// Upper bound on `record_count / batch_length` for compressed batches, which are not
/// decompressed here. No codec reaches 1024 records per compressed byte (a record is at least
/// 7 bytes uncompressed and zstd's best ratio is far below 1:7000), so a count above
/// `batch_length * 1024` can only be a lie that would move the log end offset by that much.
pub const MAX_RECORDS_PER_COMPRESSED_BATCH_BYTE: i64 = 1024;
/// Longest zigzag varint (i32) in bytes, as Kafka's `ByteUtils.readVarint` enforces.
const MAX_VARINT_BYTES: usize = 5;
/// Longest zigzag varlong (i64) in bytes, as Kafka's `ByteUtils.readVarlong` enforces.
const MAX_VARLONG_BYTES: usize = 10;
/// Attribute bit set when the batch timestamps are log-append times.
pub const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// Header fields of one RecordBatch v2 (the first 61 bytes), parsed without decoding records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record (assigned by the log on append).
    pub base_offset: i64,
    /// Bytes after the length field (total size minus 12).
    pub batch_length: i32,
    /// Leader epoch when the batch was appended (written by the log).
    pub partition_leader_epoch: i32,
    /// Format version; always 2 here.
    pub magic: i8,
    /// CRC-32C of everything from `attributes` to the end of the batch.
    pub crc: u32,
    /// Compression (bits 0-2), timestamp type (3), transactional (4), control (5).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub record_count: i32,
}

impl BatchHeader {
    /// Offset of the last record in the batch. Saturates at `i64::MAX` (never panics on a
    /// header read from disk); use [`BatchHeader::checked_last_offset`] to detect overflow.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// `base_offset + last_offset_delta`, or `None` when that overflows `i64` (only possible for
    /// corrupt headers; the log never assigns such offsets).
    pub fn checked_last_offset(&self) -> Option<i64> {
        self.base_offset
            .checked_add(i64::from(self.last_offset_delta))
    }

    /// Size of the whole batch on disk / on the wire (`batch_length + 12`).
    pub fn total_size(&self) -> usize {
        // batch_length was validated non-negative by every parser in this module.
        usize::try_from(self.batch_length).unwrap_or(0) + LOG_OVERHEAD_BYTES
    }

    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> u8 {
        (self.attributes & COMPRESSION_MASK) as u8
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Whether the batch comes from an idempotent / transactional producer.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// The timestamp type recorded in the attributes.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Sequence number of the last record (wrapping past `i32::MAX` to 0 as Kafka does), or -1.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// `seq + increment` wrapping from `i32::MAX` to 0 (Kafka's `DefaultRecordBatch.incrementSequence`).
///
/// Computed in `i64` and reduced modulo 2^31, which equals Kafka's formula for non-negative
/// inputs and cannot overflow for any input (headers read from disk may hold negative deltas).
pub fn increment_sequence(seq: i32, increment: i32) -> i32 {
    const SEQUENCE_SPACE: i64 = 1 << 31;
    // rem_euclid by 2^31 lands in [0, i32::MAX], so the conversion cannot fail.
    i32::try_from((i64::from(seq) + i64::from(increment)).rem_euclid(SEQUENCE_SPACE)).unwrap_or(0)
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Decodes the 61 header bytes. `bytes` must hold at least [`BATCH_HEADER_BYTES`].
pub(crate) fn decode_header(bytes: &[u8]) -> BatchHeader {
    debug_assert!(bytes.len() >= BATCH_HEADER_BYTES);
    BatchHeader {
        base_offset: be_i64(bytes, field::BASE_OFFSET),
        batch_length: be_i32(bytes, field::BATCH_LENGTH),
        partition_leader_epoch: be_i32(bytes, field::PARTITION_LEADER_EPOCH),
        magic: bytes[field::MAGIC] as i8,
        crc: be_i32(bytes, field::CRC) as u32,
        attributes: be_i16(bytes, field::ATTRIBUTES),
        last_offset_delta: be_i32(bytes, field::LAST_OFFSET_DELTA),
        base_timestamp: be_i64(bytes, field::BASE_TIMESTAMP),
        max_timestamp: be_i64(bytes, field::MAX_TIMESTAMP),
        producer_id: be_i64(bytes, field::PRODUCER_ID),
        producer_epoch: be_i16(bytes, field::PRODUCER_EPOCH),
        base_sequence: be_i32(bytes, field::BASE_SEQUENCE),
        record_count: be_i32(bytes, field::RECORD_COUNT),
    }
}

/// CRC-32C of a batch's checksummed region (attributes..end).
pub(crate) fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[field::ATTRIBUTES..])
}

/// Structural check of the batch starting at `position` in `bytes`: complete, sane length,
/// magic 2, CRC matches. Returns the header. Used both for produce payloads and recovery.
pub(crate) fn check_batch_at(bytes: &[u8], position: usize) -> Result<BatchHeader, StorageError> {
    let rest = &bytes[position..];
    let corrupt = |reason: String| StorageError::CorruptMessage { position, reason };
    if rest.len() < LOG_OVERHEAD_BYTES + 5 {
        return Err(corrupt(format!(
            "{} trailing bytes are too few for a batch header",
            rest.len()
        )));
    }
    let batch_length = be_i32(rest, field::BATCH_LENGTH);
    let magic = rest[field::MAGIC] as i8;
    if magic != MAGIC_V2 {
        return Err(StorageError::UnsupportedMagic { magic, position });
    }
    if batch_length < MIN_BATCH_LENGTH_BYTES {
        return Err(corrupt(format!(
            "batch length {batch_length} is below the minimum {MIN_BATCH_LENGTH_BYTES}"
        )));
    }
    let total = batch_length as usize + LOG_OVERHEAD_BYTES;
    if rest.len() < total {
        return Err(corrupt(format!(
            "batch length {batch_length} needs {total} bytes but only {} remain",
            rest.len()
        )));
    }
    let batch = &rest[..total];
    let header = decode_header(batch);
    let actual = compute_crc(batch);
    if actual != header.crc {
        return Err(corrupt(format!(
            "CRC-32C mismatch: stored {:#010x}, computed {actual:#010x}",
            header.crc
        )));
    }
    if header.record_count < 0 || header.last_offset_delta < 0 {
        return Err(StorageError::InvalidRecord {
            position,
            reason: format!(
                "negative record count {} or last offset delta {}",
                header.record_count, header.last_offset_delta
            ),
        });
    }
    Ok(header)
}

/// Kafka's `LogValidator.validateBatch` checks for batches written by clients.
pub(crate) fn check_client_batch(h: &BatchHeader, position: usize) -> Result<(), StorageError> {
    let invalid = |reason: String| StorageError::InvalidRecord { position, reason };
    if h.record_count <= 0 {
        return Err(invalid(format!(
            "invalid reported record count {}",
            h.record_count
        )));
    }
    if i64::from(h.last_offset_delta) + 1 != i64::from(h.record_count) {
        return Err(invalid(format!(
            "inconsistent batch offset range: last offset delta {} but {} records",
            h.last_offset_delta, h.record_count
        )));
    }
    if h.is_control() {
        return Err(invalid("clients may not write control batches".to_string()));
    }
    if h.has_producer_id() && h.base_sequence < 0 {
        return Err(invalid(format!(
            "invalid base sequence {} for producer {}",
            h.base_sequence, h.producer_id
        )));
    }
    if h.compression() > MAX_COMPRESSION_CODEC_ID {
        return Err(invalid(format!(
            "unknown compression codec id {}",
            h.compression()
        )));
    }
    if h.compression() != 0 {
        let max_records =
            i64::from(h.batch_length).saturating_mul(MAX_RECORDS_PER_COMPRESSED_BATCH_BYTE);
        if i64::from(h.record_count) > max_records {
            return Err(invalid(format!(
                "compressed batch of {} bytes claims {} records (at most {max_records})",
                h.batch_length, h.record_count
            )));
        }
    }
    Ok(())
}

/// Reads a zigzag varint of at most [`MAX_VARINT_BYTES`] (Kafka's `readVarint`).
fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<i32> {
    let mut value: u32 = 0;
    for i in 0..MAX_VARINT_BYTES {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(((value >> 1) as i32) ^ -((value & 1) as i32));
        }
    }
    None
}

/// Skips `len` bytes when `len` is non-negative (negative lengths mean null, as in Kafka's
/// `DefaultRecord.readFrom`). `None` if the bytes are not there.
fn skip_nullable(bytes: &[u8], pos: &mut usize, len: i32) -> Option<()> {
    if let Ok(len) = usize::try_from(len) {
        let end = pos.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        *pos = end;
    }
    Some(())
}

/// Walks one record body (everything after its length varint), checking Kafka's framing.
/// Returns the record's offset delta. `body` is exactly the record's declared bytes.
fn check_record_body(body: &[u8]) -> Result<i32, String> {
    let truncated = |field: &str| format!("record body ends inside the {field}");
    let mut pos = 0usize;
    // attributes (unused, one byte)
    if body.is_empty() {
        return Err(truncated("attributes"));
    }
    pos += 1;
    read_varlong(body, &mut pos).ok_or_else(|| truncated("timestamp delta"))?;
    let offset_delta = read_varint(body, &mut pos).ok_or_else(|| truncated("offset delta"))?;
    let key_len = read_varint(body, &mut pos).ok_or_else(|| truncated("key length"))?;
    skip_nullable(body, &mut pos, key_len).ok_or_else(|| truncated("key"))?;
    let value_len = read_varint(body, &mut pos).ok_or_else(|| truncated("value length"))?;
    skip_nullable(body, &mut pos, value_len).ok_or_else(|| truncated("value"))?;
    let headers = read_varint(body, &mut pos).ok_or_else(|| truncated("header count"))?;
    if headers < 0 {
        return Err(format!("invalid number of record headers {headers}"));
    }
    for _ in 0..headers {
        let key_len = read_varint(body, &mut pos).ok_or_else(|| truncated("header key length"))?;
        if key_len < 0 {
            return Err(format!("invalid negative header key size {key_len}"));
        }
        skip_nullable(body, &mut pos, key_len).ok_or_else(|| truncated("header key"))?;
        let value_len =
            read_varint(body, &mut pos).ok_or_else(|| truncated("header value length"))?;
        skip_nullable(body, &mut pos, value_len).ok_or_else(|| truncated("header value"))?;
    }
    if pos != body.len() {
        return Err(format!(
            "record declares {} bytes but its fields use {pos}",
            body.len()
        ));
    }
    Ok(offset_delta)
}

/// Kafka's record-level checks (`DefaultRecord.readFrom` driven by `LogValidator`) for one
/// client batch: `batch` is the whole batch. For uncompressed batches every record is walked
/// without allocating: exactly `record_count` records, record `i` with offset delta `i`,
/// well-formed varint framing, and the last record ending exactly at the batch end.
///
/// Compressed batches are checked at header level only; Kafka decompresses them and walks
/// their records, which this crate cannot do without codec dependencies. Their record count
/// is bounded by [`MAX_RECORDS_PER_COMPRESSED_BATCH_BYTE`] in [`check_client_batch`] and
/// `last_offset_delta == record_count - 1` is still enforced there, so a compressed batch can
/// lie about its content but cannot move the log end offset by more than it could hold.
pub(crate) fn check_client_records(
    batch: &[u8],
    h: &BatchHeader,
    position: usize,
) -> Result<(), StorageError> {
    if h.compression() != 0 {
        return Ok(());
    }
    let invalid = |reason: String| StorageError::InvalidRecord { position, reason };
    let mut pos = BATCH_HEADER_BYTES;
    let mut index: i32 = 0;
    while pos < batch.len() {
        if index >= h.record_count {
            return Err(invalid(format!(
                "incorrect declared batch size: {} bytes remain after the {} declared records",
                batch.len() - pos,
                h.record_count
            )));
        }
        let record_at = pos;
        let length = read_varint(batch, &mut pos)
            .ok_or_else(|| invalid(format!("record {index} at byte {record_at}: bad length")))?;
        let body_end = usize::try_from(length)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&end| end <= batch.len())
            .ok_or_else(|| {
                invalid(format!(
                    "record {index} at byte {record_at}: length {length} overruns the batch ({} bytes left)",
                    batch.len() - pos
                ))
            })?;
        let offset_delta = check_record_body(&batch[pos..body_end])
            .map_err(|r| invalid(format!("record {index} at byte {record_at}: {r}")))?;
        if offset_delta != index {
            return Err(invalid(format!(
                "record {index} at byte {record_at} has offset delta {offset_delta}; \
                 client batches must use consecutive deltas from 0"
            )));
        }
        pos = body_end;
        index += 1;
    }
    if index != h.record_count {
        return Err(invalid(format!(
            "incorrect declared batch size: {} records declared but the batch holds {index}",
            h.record_count
        )));
    }
    Ok(())
}

/// Validates a produce payload (one or more concatenated batches) and returns their headers.
///
/// Checks, per batch: complete framing with no trailing partial batch (Kafka silently trims a
/// partial tail; refusing it is stricter), magic 2 ([`StorageError::UnsupportedMagic`], which
/// Kafka reports as `INVALID_RECORD`), CRC-32C over attributes..end
/// ([`StorageError::CorruptMessage`]), and Kafka's client checks: `record_count > 0`,
/// `last_offset_delta == record_count - 1`, no control batches, a non-negative base sequence when
/// a producer id is set, a known compression codec, and the record-level walk of
/// `check_client_records` (uncompressed batches; compressed ones only get a record-count bound)
/// ([`StorageError::InvalidRecord`]). The size limit `max.message.bytes` is a per-log setting,
/// so it is checked by [`crate::PartitionLog::append`].
pub fn parse_batch_headers(bytes: &[u8]) -> Result<Vec<BatchHeader>, StorageError> {
    if bytes.is_empty() {
        return Err(StorageError::InvalidRecord {
            position: 0,
            reason: "produce payload holds no record batch".to_string(),
        });
    }
    let mut headers = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let header = check_batch_at(bytes, position)?;
        check_client_batch(&header, position)?;
        check_client_records(
            &bytes[position..position + header.total_size()],
            &header,
            position,
        )?;
        position += header.total_size();
        headers.push(header);
    }
    Ok(headers)
}

/// Parses the batches a follower receives from its leader: whole batches with offsets and
/// leader epochs already assigned. Checks framing, magic and CRC (as recovery does), and that
/// offsets only grow; not the client rules of [`parse_batch_headers`] (a leader's log may hold
/// control batches, and the offsets are the leader's, not to be reassigned).
pub fn parse_replicated_batches(bytes: &[u8]) -> Result<Vec<BatchHeader>, StorageError> {
    let mut headers: Vec<BatchHeader> = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let header = check_batch_at(bytes, position)?;
        let last = header
            .checked_last_offset()
            .ok_or_else(|| StorageError::CorruptMessage {
                position,
                reason: format!(
                    "batch at offset {} with last offset delta {} overflows the offset space",
                    header.base_offset, header.last_offset_delta
                ),
            })?;
        if header.base_offset < 0 || last < header.base_offset {
            return Err(StorageError::CorruptMessage {
                position,
                reason: format!("batch offsets {}..={last} are invalid", header.base_offset),
            });
        }
        if let Some(previous) = headers.last() {
            if header.base_offset <= previous.last_offset() {
                return Err(StorageError::CorruptMessage {
                    position,
                    reason: format!(
                        "batch at offset {} does not follow the previous batch ending at {}",
                        header.base_offset,
                        previous.last_offset()
                    ),
                });
            }
        }
        position += header.total_size();
        headers.push(header);
    }
    Ok(headers)
}

/// Encodes the 16-byte prefix of a batch with its assigned base offset and leader epoch.
/// Both fields are outside the CRC, so the rest of the batch can be written verbatim.
pub(crate) fn patched_prefix(batch: &[u8], base_offset: i64, leader_epoch: i32) -> [u8; 16] {
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&batch[..16]);
    prefix[field::BASE_OFFSET..field::BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    prefix[field::PARTITION_LEADER_EPOCH..field::PARTITION_LEADER_EPOCH + 4]
        .copy_from_slice(&leader_epoch.to_be_bytes());
    prefix
}

/// Marks a batch as LogAppendTime with `now_ms` as its max timestamp and recomputes the CRC,
/// as Kafka's `DefaultRecordBatch.setMaxTimestamp` does (the base timestamp is left as is;
/// readers use the max timestamp for every record of a LogAppendTime batch).
pub(crate) fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attributes = be_i16(batch, field::ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
    batch[field::ATTRIBUTES..field::ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[field::MAX_TIMESTAMP..field::MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = compute_crc(batch);
    batch[field::CRC..field::CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Reads a zigzag varlong of at most [`MAX_VARLONG_BYTES`] (Kafka's `readVarlong`) at `*pos`,
/// advancing it.
fn read_varlong(bytes: &[u8], pos: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for i in 0..MAX_VARLONG_BYTES {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// First record of a whole batch (`batch` = its bytes) with timestamp >= `target_ms`, as
/// `(offset, timestamp)`.
///
/// Uncompressed CreateTime batches are decoded record by record (Kafka's exact answer).
/// For LogAppendTime batches every record carries the max timestamp, so the base offset is exact.
/// Compressed batches are not decompressed: the batch's base offset and max timestamp are returned
/// (the offset may be earlier than Kafka's answer, which is safe for consumers: they skip ahead).
/// Records that do not decode, or whose offset delta lies outside `0..=last_offset_delta`,
/// also fall back to the batch's base offset: stored bytes never make this panic.
pub(crate) fn first_record_at_or_after(batch: &[u8], target_ms: i64) -> Option<(i64, i64)> {
    if batch.len() < BATCH_HEADER_BYTES {
        return None;
    }
    let h = decode_header(batch);
    if h.max_timestamp < target_ms {
        return None;
    }
    let fallback = (h.base_offset, h.max_timestamp);
    if h.timestamp_type() == TimestampType::LogAppendTime || h.compression() != 0 {
        return Some(fallback);
    }
    let mut pos = BATCH_HEADER_BYTES;
    for _ in 0..h.record_count.max(0) {
        let Some(length) = read_varint(batch, &mut pos) else {
            break;
        };
        let start = pos;
        pos += 1; // record attributes
        let Some(ts_delta) = read_varlong(batch, &mut pos) else {
            break;
        };
        let Some(offset_delta) = read_varint(batch, &mut pos) else {
            break;
        };
        let ts = h.base_timestamp.saturating_add(ts_delta);
        if ts >= target_ms {
            if !(0..=h.last_offset_delta).contains(&offset_delta) {
                return Some(fallback);
            }
            let offset = h.base_offset.checked_add(i64::from(offset_delta));
            return Some(offset.map_or(fallback, |o| (o, ts)));
        }
        let Some(next) = usize::try_from(length)
            .ok()
            .and_then(|l| start.checked_add(l))
        else {
            break;
        };
        pos = next;
    }
    // Records disagree with the header's max timestamp or do not decode; fall back to the batch.
    Some(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }

    /// A stored batch at `base_offset` holding one record with the given offset delta.
    fn stored(base_offset: i64, last_offset_delta: i32, offset_delta: i64) -> Vec<u8> {
        let mut body = vec![0u8];
        put_varint(&mut body, 0);
        put_varint(&mut body, offset_delta);
        put_varint(&mut body, -1);
        put_varint(&mut body, -1);
        put_varint(&mut body, 0);
        let mut b = vec![0u8; BATCH_HEADER_BYTES];
        b[field::BASE_OFFSET..field::BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
        b[field::MAGIC] = MAGIC_V2 as u8;
        b[field::LAST_OFFSET_DELTA..field::LAST_OFFSET_DELTA + 4]
            .copy_from_slice(&last_offset_delta.to_be_bytes());
        b[field::BASE_TIMESTAMP..field::BASE_TIMESTAMP + 8].copy_from_slice(&100i64.to_be_bytes());
        b[field::MAX_TIMESTAMP..field::MAX_TIMESTAMP + 8].copy_from_slice(&100i64.to_be_bytes());
        b[field::RECORD_COUNT..field::RECORD_COUNT + 4].copy_from_slice(&1i32.to_be_bytes());
        put_varint(&mut b, body.len() as i64);
        b.extend_from_slice(&body);
        let len = (b.len() - LOG_OVERHEAD_BYTES) as i32;
        b[field::BATCH_LENGTH..field::BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
        b
    }

    #[test]
    fn timestamp_lookup_uses_checked_in_range_offset_deltas() {
        assert_eq!(
            first_record_at_or_after(&stored(10, 3, 2), 50),
            Some((12, 100))
        );
        // Delta beyond the header's last offset delta, negative, or overflowing i64: the
        // batch's base offset is returned instead (no panic in debug builds).
        assert_eq!(
            first_record_at_or_after(&stored(10, 3, 4), 50),
            Some((10, 100))
        );
        assert_eq!(
            first_record_at_or_after(&stored(10, 3, -1), 50),
            Some((10, 100))
        );
        let near_max = i64::MAX - 1;
        assert_eq!(
            first_record_at_or_after(&stored(near_max, i32::MAX, 1_000), 50),
            Some((near_max, 100))
        );
        // Undecodable records fall back too.
        let mut cut = stored(10, 3, 2);
        cut.truncate(BATCH_HEADER_BYTES + 2);
        assert_eq!(first_record_at_or_after(&cut, 50), Some((10, 100)));
    }
}
