//! The records inside a produced batch, for the checks that need more than its header (parts
//! of Kafka's `LogValidator`): today, that every record sent to a compacted topic has a key.
//!
//! This reads client input, and a few compressed bytes can expand without limit, so
//! decompression stops at [`MAX_DECOMPRESSED_BATCH_BYTES`]. Records are decoded by
//! kafka-protocol; only the decompression is done here, to bound it.

use std::io::Read;

use bytes::Bytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};

/// The most bytes one produced batch may decompress to when its records must be read: far
/// above what a client's `batch.size` (default 16 KiB, at most `message.max.bytes`) compresses,
/// low enough that a crafted batch cannot exhaust memory.
pub const MAX_DECOMPRESSED_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// The stream header snappy-java (Kafka's Java client) writes before its blocks: magic,
/// version and compatible version.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

/// Why a batch's records could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// Kafka's CORRUPT_MESSAGE: the batch or its compressed payload does not decode.
    #[error("record batch is corrupt: {0}")]
    Corrupt(String),
    /// The payload decompresses to more than [`MAX_DECOMPRESSED_BATCH_BYTES`].
    #[error("record batch decompresses to more than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> RecordsError {
    RecordsError::Corrupt(format!("{what}: {e}"))
}

/// The positions in `batch` (one v2 record batch) of its records without a key, as Kafka's
/// `batchIndex` counts them (from 0).
pub fn keyless_records(batch: &Bytes) -> Result<Vec<i32>, RecordsError> {
    let mut buf = batch.clone();
    let decompress = |data: &mut Bytes, compression: Compression| -> anyhow::Result<Bytes> {
        decompress(data, compression, MAX_DECOMPRESSED_BATCH_BYTES).map_err(anyhow::Error::from)
    };
    let set = RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(decompress))
        .map_err(|e| match e.downcast::<RecordsError>() {
            Ok(records_error) => records_error,
            Err(other) => corrupt("cannot decode its records", format!("{other:#}")),
        })?;
    Ok(set
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.key.is_none())
        .map(|(i, _)| i32::try_from(i).unwrap_or(i32::MAX))
        .collect())
}

/// The uncompressed records payload of a batch, at most `max` bytes.
fn decompress(data: &Bytes, compression: Compression, max: usize) -> Result<Bytes, RecordsError> {
    match compression {
        Compression::None => Ok(data.clone()),
        Compression::Gzip => read_bounded(flate2::read::GzDecoder::new(&data[..]), max, "gzip"),
        Compression::Lz4 => {
            let decoder = lz4::Decoder::new(&data[..]).map_err(|e| corrupt("lz4", e))?;
            read_bounded(decoder, max, "lz4")
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(&data[..])
                .map_err(|e| corrupt("zstd", e))?;
            read_bounded(decoder, max, "zstd")
        }
        Compression::Snappy => snappy(data, max),
    }
}

fn read_bounded(reader: impl Read, max: usize, codec: &str) -> Result<Bytes, RecordsError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > max {
        return Err(RecordsError::TooLarge { max });
    }
    Ok(Bytes::from(out))
}

/// Snappy as Kafka clients write it: snappy-java's framing (a header, then blocks each
/// prefixed with its big-endian length) or, without the header, one raw block (librdkafka).
fn snappy(data: &[u8], max: usize) -> Result<Bytes, RecordsError> {
    let mut out = Vec::new();
    let mut decoder = snap::raw::Decoder::new();
    let mut block_into = |block: &[u8], out: &mut Vec<u8>| -> Result<(), RecordsError> {
        let len = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
        if out.len().saturating_add(len) > max {
            return Err(RecordsError::TooLarge { max });
        }
        let start = out.len();
        out.resize(start + len, 0);
        decoder
            .decompress(block, &mut out[start..])
            .map_err(|e| corrupt("snappy", e))?;
        Ok(())
    };
    if !data.starts_with(XERIAL_MAGIC) {
        block_into(data, &mut out)?;
        return Ok(Bytes::from(out));
    }
    let mut rest = data
        .get(XERIAL_HEADER_LEN..)
        .ok_or_else(|| corrupt("snappy", "truncated stream header"))?;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("snappy", "truncated block length"))?;
        let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
        let block = tail
            .get(..len)
            .ok_or_else(|| corrupt("snappy", format!("block of {len} bytes past the end")))?;
        block_into(block, &mut out)?;
        rest = &tail[len..];
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_client::records::encode_batch;
    use strata_client::ProduceRecord;

    fn record(key: Option<&'static [u8]>) -> ProduceRecord {
        ProduceRecord {
            key: key.map(Bytes::from_static),
            value: Some(Bytes::from_static(b"v")),
            headers: Vec::new(),
            timestamp: 0,
        }
    }

    fn batch(records: &[ProduceRecord], compression: Compression) -> Bytes {
        encode_batch("t", 0, records, None, compression).expect("encode")
    }

    #[test]
    fn finds_keyless_records_with_every_codec() {
        let records = [
            record(Some(b"k")),
            record(None),
            record(Some(b"")),
            record(None),
        ];
        for compression in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert_eq!(
                keyless_records(&batch(&records, compression)).expect("decodes"),
                vec![1, 3],
                "{compression:?}"
            );
        }
    }

    #[test]
    fn raw_snappy_blocks_decode_too() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello snappy")
            .expect("compress");
        assert_eq!(&snappy(&raw, 100).expect("decodes")[..], b"hello snappy");
        assert!(matches!(
            snappy(&raw, 5),
            Err(RecordsError::TooLarge { max: 5 })
        ));
    }

    #[test]
    fn decompression_is_bounded() {
        let zeros = vec![0u8; 1 << 20];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &zeros).expect("compress");
        let gz = Bytes::from(gz.finish().expect("finish"));
        assert!(gz.len() < 4096, "a small input that expands 256-fold");
        assert!(matches!(
            decompress(&gz, Compression::Gzip, 64 * 1024),
            Err(RecordsError::TooLarge { .. })
        ));
        assert_eq!(
            decompress(&gz, Compression::Gzip, 1 << 20)
                .expect("fits")
                .len(),
            1 << 20
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let good = batch(&[record(None)], Compression::Zstd);
        for cut in [0, 10, 40, good.len() - 1] {
            assert!(keyless_records(&good.slice(..cut)).is_err(), "cut at {cut}");
        }
        let mut flipped = good.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(matches!(
            keyless_records(&Bytes::from(flipped)),
            Err(RecordsError::Corrupt(_))
        ));
        // A header claiming two billion records in a few bytes.
        let mut huge = batch(&[record(None)], Compression::None).to_vec();
        huge[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        let crc = crc32c::crc32c(&huge[21..]);
        huge[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(keyless_records(&Bytes::from(huge)).is_err());
    }
}
