//! Test helpers: a small RecordBatch v2 encoder (header + varint records + CRC-32C).
#![allow(dead_code)]

use bytes::Bytes;

/// Producer fields of a batch: (producer id, epoch, base sequence).
pub type Producer = (i64, i16, i32);

fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// Encodes one batch with `values`, record i having timestamp `timestamps[i]`.
pub fn batch_with(values: &[&[u8]], timestamps: &[i64], producer: Option<Producer>) -> Vec<u8> {
    assert_eq!(values.len(), timestamps.len());
    let base_ts = timestamps.first().copied().unwrap_or(0);
    let max_ts = timestamps.iter().copied().max().unwrap_or(-1);
    let mut records = Vec::new();
    for (i, (v, ts)) in values.iter().zip(timestamps).enumerate() {
        let mut body = vec![0u8]; // attributes
        put_varlong(&mut body, ts - base_ts);
        put_varlong(&mut body, i as i64);
        put_varlong(&mut body, -1); // null key
        put_varlong(&mut body, v.len() as i64);
        body.extend_from_slice(v);
        put_varlong(&mut body, 0); // no headers
        put_varlong(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let (pid, epoch, seq) = producer.unwrap_or((-1, -1, -1));
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&0i32.to_be_bytes()); // length, patched below
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&0u32.to_be_bytes()); // crc, patched below
    b.extend_from_slice(&0i16.to_be_bytes()); // attributes
    b.extend_from_slice(&((values.len() as i32) - 1).to_be_bytes());
    b.extend_from_slice(&base_ts.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&pid.to_be_bytes());
    b.extend_from_slice(&epoch.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(values.len() as i32).to_be_bytes());
    b.extend_from_slice(&records);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// A batch of `n` records of `value_len` bytes, all with timestamp `ts`.
pub fn batch(n: usize, value_len: usize, ts: i64) -> Bytes {
    let value = vec![b'x'; value_len];
    let values: Vec<&[u8]> = (0..n).map(|_| value.as_slice()).collect();
    Bytes::from(batch_with(&values, &vec![ts; n], None))
}

/// An idempotent batch of `n` records.
pub fn idempotent_batch(n: usize, producer: Producer) -> Bytes {
    let values: Vec<&[u8]> = (0..n).map(|_| b"v".as_slice()).collect();
    Bytes::from(batch_with(&values, &vec![1000; n], Some(producer)))
}

/// Recomputes the CRC of a single batch after a test edited it.
pub fn fix_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Appends Kafka's zigzag varint encoding of `v` (test-side encoder for hand-made records).
pub fn varint(out: &mut Vec<u8>, v: i64) {
    put_varlong(out, v);
}

/// One encoded record (length prefix included) with the given offset delta, key, value and
/// headers (`None` = null).
pub fn record(
    offset_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&[u8], Option<&[u8]>)],
) -> Vec<u8> {
    let mut body = vec![0u8];
    put_varlong(&mut body, 0); // timestamp delta
    put_varlong(&mut body, offset_delta);
    for field in [key, value] {
        match field {
            Some(b) => {
                put_varlong(&mut body, b.len() as i64);
                body.extend_from_slice(b);
            }
            None => put_varlong(&mut body, -1),
        }
    }
    put_varlong(&mut body, headers.len() as i64);
    for (k, v) in headers {
        put_varlong(&mut body, k.len() as i64);
        body.extend_from_slice(k);
        match v {
            Some(v) => {
                put_varlong(&mut body, v.len() as i64);
                body.extend_from_slice(v);
            }
            None => put_varlong(&mut body, -1),
        }
    }
    let mut out = Vec::new();
    put_varlong(&mut out, body.len() as i64);
    out.extend_from_slice(&body);
    out
}

/// A batch with a hand-made record section and header counts, with a valid CRC.
pub fn raw_batch(
    records: &[u8],
    record_count: i32,
    last_offset_delta: i32,
    attributes: i16,
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&last_offset_delta.to_be_bytes());
    b.extend_from_slice(&1000i64.to_be_bytes());
    b.extend_from_slice(&1000i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&record_count.to_be_bytes());
    b.extend_from_slice(records);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    fix_crc(&mut b);
    b
}

/// Sets the base offset (outside the CRC) of a single stored batch.
pub fn set_base_offset(b: &mut [u8], base_offset: i64) {
    b[..8].copy_from_slice(&base_offset.to_be_bytes());
}
