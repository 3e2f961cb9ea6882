//! Hand-written Kafka frames for the bad-input tests: just enough of the wire format
//! (request header v1/v2, ApiVersions, Produce v3 with a RecordBatch v2) to send valid,
//! corrupt and nonsensical requests and to read the answers, independent of the server's
//! own protocol code.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Kafka error code CORRUPT_MESSAGE (bad CRC).
pub const ERROR_CORRUPT_MESSAGE: i16 = 2;
/// Kafka error code UNSUPPORTED_VERSION.
pub const ERROR_UNSUPPORTED_VERSION: i16 = 35;
/// API key of Produce.
pub const API_PRODUCE: i16 = 0;
/// API key of ApiVersions.
pub const API_VERSIONS: i16 = 18;
/// Kafka's default `socket.request.max.bytes` (100 MiB): larger frames close the connection.
pub const MAX_REQUEST_BYTES: i32 = 100 * 1024 * 1024;
/// Largest response frame these helpers accept, to fail clearly on a garbage size.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Appends big-endian Kafka primitives to a byte vector.
#[derive(Default, Debug, Clone)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// INT8.
    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.buf.push(v as u8);
        self
    }
    /// INT16.
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// INT32.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// INT64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// UNSIGNED_VARINT.
    pub fn uvarint(&mut self, mut v: u32) -> &mut Self {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
        self
    }
    /// VARINT (zig-zag).
    pub fn varint(&mut self, v: i32) -> &mut Self {
        self.uvarint(((v << 1) ^ (v >> 31)) as u32)
    }
    /// VARLONG (zig-zag).
    pub fn varlong(&mut self, v: i64) -> &mut Self {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            self.buf.push((z as u8) | 0x80);
            z >>= 7;
        }
        self.buf.push(z as u8);
        self
    }
    /// STRING (i16 length).
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.i16(s.len() as i16);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    /// NULLABLE_STRING null.
    pub fn null_string(&mut self) -> &mut Self {
        self.i16(-1)
    }
    /// COMPACT_STRING.
    pub fn compact_string(&mut self, s: &str) -> &mut Self {
        self.uvarint(s.len() as u32 + 1);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    /// BYTES (i32 length).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.i32(b.len() as i32);
        self.buf.extend_from_slice(b);
        self
    }
    /// Raw bytes.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
}

/// Reads big-endian Kafka primitives; every read fails with `UnexpectedEof` on short input.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "response too short: need {n} bytes at {}, have {}",
                    self.pos,
                    self.buf.len()
                ),
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// INT16.
    pub fn i16(&mut self) -> io::Result<i16> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().map_err(io::Error::other)?,
        ))
    }
    /// INT32.
    pub fn i32(&mut self) -> io::Result<i32> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().map_err(io::Error::other)?,
        ))
    }
    /// INT64.
    pub fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().map_err(io::Error::other)?,
        ))
    }
    /// STRING (i16 length, -1 = null → empty).
    pub fn string(&mut self) -> io::Result<String> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(String::new());
        }
        Ok(String::from_utf8_lossy(self.take(n as usize)?).into_owned())
    }
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// Prefixes `payload` with its i32 size.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.bytes(payload);
    w.buf
}

/// Request header v1: api key, version, correlation id, client id (non-flexible requests).
pub fn header_v1(api_key: i16, api_version: i16, correlation_id: i32) -> Writer {
    let mut w = Writer::new();
    w.i16(api_key)
        .i16(api_version)
        .i32(correlation_id)
        .string("strata-tests");
    w
}

/// Request header v2: header v1 plus an empty tagged-field section (flexible requests).
pub fn header_v2(api_key: i16, api_version: i16, correlation_id: i32) -> Writer {
    let mut w = header_v1(api_key, api_version, correlation_id);
    w.uvarint(0);
    w
}

/// A framed ApiVersions request. Versions 0..=2 use header v1 and an empty body; 3 and above
/// (including unsupported ones such as 127) use header v2 and the v3 body, as librdkafka and
/// the Java client send it.
pub fn api_versions_request(version: i16, correlation_id: i32) -> Vec<u8> {
    if version <= 2 {
        return frame(&header_v1(API_VERSIONS, version, correlation_id).buf);
    }
    let mut w = header_v2(API_VERSIONS, version, correlation_id);
    w.compact_string("strata-tests")
        .compact_string("0.1")
        .uvarint(0);
    frame(&w.buf)
}

/// One API's version range from an ApiVersions response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRange {
    /// API key.
    pub key: i16,
    /// Lowest supported version.
    pub min: i16,
    /// Highest supported version.
    pub max: i16,
}

/// Parses an ApiVersions response in v0 format (the format of the UNSUPPORTED_VERSION reply):
/// correlation id, error code, array of (key, min, max). Returns (correlation id, error code,
/// ranges).
pub fn parse_api_versions_v0(resp: &[u8]) -> io::Result<(i32, i16, Vec<ApiRange>)> {
    let mut r = Reader::new(resp);
    let correlation_id = r.i32()?;
    let error = r.i16()?;
    let n = r.i32()?;
    if !(0..=1000).contains(&n) {
        return Err(io::Error::other(format!(
            "ApiVersions v0 array length {n} is not plausible"
        )));
    }
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(ApiRange {
            key: r.i16()?,
            min: r.i16()?,
            max: r.i16()?,
        });
    }
    Ok((correlation_id, error, out))
}

/// One record for [`record_batch`]: key (None = null) and value.
pub type RawRecord<'a> = (Option<&'a [u8]>, &'a [u8]);

/// An uncompressed RecordBatch v2 at base offset 0 with a correct CRC-32C, no producer id.
pub fn record_batch(records: &[RawRecord<'_>], base_timestamp_ms: i64) -> Vec<u8> {
    record_batch_with_producer(records, base_timestamp_ms, -1, -1, -1)
}

/// Like [`record_batch`], from an idempotent producer: producer id, epoch and base sequence.
pub fn record_batch_with_producer(
    records: &[RawRecord<'_>],
    base_timestamp_ms: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Vec<u8> {
    let mut recs = Writer::new();
    for (i, (key, value)) in records.iter().enumerate() {
        let mut body = Writer::new();
        body.i8(0).varlong(0).varint(i as i32);
        match key {
            Some(k) => body.varint(k.len() as i32).raw(k),
            None => body.varint(-1),
        };
        body.varint(value.len() as i32).raw(value).varint(0);
        recs.varint(body.buf.len() as i32).raw(&body.buf);
    }
    // Everything after the CRC field: attributes .. records.
    let mut after_crc = Writer::new();
    after_crc
        .i16(0) // attributes: no compression, CreateTime
        .i32(records.len() as i32 - 1) // lastOffsetDelta
        .i64(base_timestamp_ms)
        .i64(base_timestamp_ms)
        .i64(producer_id)
        .i16(producer_epoch)
        .i32(base_sequence)
        .i32(records.len() as i32)
        .raw(&recs.buf);
    let crc = crc32c::crc32c(&after_crc.buf);
    // batchLength counts from partitionLeaderEpoch (4) + magic (1) + crc (4) + the rest.
    let batch_len = 4 + 1 + 4 + after_crc.buf.len();
    let mut w = Writer::new();
    w.i64(0)
        .i32(batch_len as i32)
        .i32(-1)
        .i8(2)
        .i32(crc as i32)
        .raw(&after_crc.buf);
    w.buf
}

/// Byte offset of the CRC field inside a RecordBatch v2.
pub const BATCH_CRC_OFFSET: usize = 17;

/// Returns `batch` with its CRC field altered (every bit flipped), the rest unchanged.
pub fn corrupt_crc(batch: &[u8]) -> Vec<u8> {
    let mut b = batch.to_vec();
    for byte in &mut b[BATCH_CRC_OFFSET..BATCH_CRC_OFFSET + 4] {
        *byte = !*byte;
    }
    b
}

/// A framed Produce v3 request for one partition of one topic.
pub fn produce_request_v3(
    correlation_id: i32,
    topic: &str,
    partition: i32,
    acks: i16,
    batch: &[u8],
) -> Vec<u8> {
    let mut w = header_v1(API_PRODUCE, 3, correlation_id);
    w.null_string() // transactional id
        .i16(acks)
        .i32(10_000) // timeout ms
        .i32(1)
        .string(topic)
        .i32(1)
        .i32(partition)
        .bytes(batch);
    frame(&w.buf)
}

/// One partition's result in a Produce response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartitionResult {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Kafka error code (0 = none).
    pub error: i16,
    /// Offset of the first record written, or -1.
    pub base_offset: i64,
}

/// Parses a Produce v3 response: correlation id, then results.
pub fn parse_produce_v3(resp: &[u8]) -> io::Result<(i32, Vec<ProducePartitionResult>)> {
    let mut r = Reader::new(resp);
    let correlation_id = r.i32()?;
    let mut out = Vec::new();
    for _ in 0..r.i32()? {
        let topic = r.string()?;
        for _ in 0..r.i32()? {
            let partition = r.i32()?;
            let error = r.i16()?;
            let base_offset = r.i64()?;
            let _log_append_time = r.i64()?;
            out.push(ProducePartitionResult {
                topic: topic.clone(),
                partition,
                error,
                base_offset,
            });
        }
    }
    Ok((correlation_id, out))
}

/// How a read of one response frame ended.
#[derive(Debug)]
pub enum ReadOutcome {
    /// A full frame (without its size prefix).
    Frame(Vec<u8>),
    /// The server closed the connection (EOF or reset) before a full frame arrived.
    Closed,
    /// Nothing complete arrived within the timeout while the connection stayed open.
    TimedOut,
}

/// Reads one size-prefixed response frame, waiting at most `timeout`.
pub fn read_frame(stream: &mut TcpStream, timeout: Duration) -> io::Result<ReadOutcome> {
    stream.set_read_timeout(Some(timeout))?;
    let mut size = [0u8; 4];
    match read_full(stream, &mut size)? {
        Some(ReadOutcome::Frame(_)) | None => {}
        Some(other) => return Ok(other),
    }
    let n = i32::from_be_bytes(size);
    if n < 0 || n as usize > MAX_RESPONSE_BYTES {
        return Err(io::Error::other(format!(
            "response frame size {n} is not plausible"
        )));
    }
    let mut body = vec![0u8; n as usize];
    match read_full(stream, &mut body)? {
        Some(ReadOutcome::Frame(_)) | None => Ok(ReadOutcome::Frame(body)),
        Some(other) => Ok(other),
    }
}

/// Fills `buf`; `Ok(None)` when filled, `Ok(Some(Closed|TimedOut))` otherwise.
fn read_full(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<Option<ReadOutcome>> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Ok(Some(ReadOutcome::Closed)),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Some(ReadOutcome::TimedOut))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(Some(ReadOutcome::Closed))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Connects to `addr` with a short timeout.
pub fn connect(addr: std::net::SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Writes all of `bytes`; a reset or broken pipe (the server already closed) is not an error.
pub fn send(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    match stream.write_all(bytes) {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_kafka_encoding() {
        let mut w = Writer::new();
        w.varint(-1).varint(1).varint(300).varlong(-2);
        assert_eq!(w.buf, vec![0x01, 0x02, 0xd8, 0x04, 0x03]);
    }

    #[test]
    fn batch_length_and_crc_are_consistent() {
        let b = record_batch(&[(Some(b"k"), b"v"), (None, b"value-2")], 1_700_000_000_000);
        let len = i32::from_be_bytes(b[8..12].try_into().unwrap()) as usize;
        assert_eq!(len + 12, b.len());
        let crc = u32::from_be_bytes(b[17..21].try_into().unwrap());
        assert_eq!(crc, crc32c::crc32c(&b[21..]));
        let bad = corrupt_crc(&b);
        assert_ne!(bad[17..21], b[17..21]);
        assert_eq!(bad[21..], b[21..]);
    }
}
