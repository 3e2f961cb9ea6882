//! Produce/consume round trips through a real node with librdkafka 2.12: keys, headers,
//! timestamps, the four compression codecs, acks 0/1/all and the idempotent producer.

mod common;

use common::*;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::Timestamp;
use strata_tests::StrataNode;

#[test]
fn keys_headers_and_timestamps_round_trip() {
    let node = StrataNode::start();
    let topic = unique_topic("roundtrip");
    create_topic(&node, &topic, 1);
    let p = producer(&node, &[]);
    let base_ts = 1_700_000_000_000i64;
    let n = 50;
    let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("key-{i}").into_bytes()).collect();
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("value-{i}-{}", "x".repeat(i)).into_bytes())
        .collect();
    let mut recs = Vec::new();
    for i in 0..n {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "h-index",
                value: Some(format!("{i}").as_bytes()),
            })
            .insert(Header {
                key: "h-null",
                value: None::<&[u8]>,
            })
            .insert(Header {
                key: "h-empty",
                value: Some(&b""[..]),
            });
        let mut r = FutureRecord::to(&topic)
            .payload(values[i].as_slice())
            .timestamp(base_ts + i as i64)
            .headers(headers)
            .partition(0);
        // Every fifth record has a null key.
        if i % 5 != 0 {
            r = r.key(keys[i].as_slice());
        }
        recs.push(r);
    }
    let delivered = send_all(&p, recs);
    for (i, (part, off)) in delivered.iter().enumerate() {
        assert_eq!(*part, 0, "record #{i} partition");
        assert_eq!(
            *off, i as i64,
            "record #{i} offset: offsets must be assigned 0,1,2,… in order"
        );
    }
    let got = consume_partition(&node, &topic, 0, n);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.offset(), i as i64, "consumed offset");
        assert_eq!(
            m.payload(),
            Some(values[i].as_slice()),
            "value of record #{i}"
        );
        if i % 5 == 0 {
            assert_eq!(m.key(), None, "record #{i} was sent with a null key");
        } else {
            assert_eq!(m.key(), Some(keys[i].as_slice()), "key of record #{i}");
        }
        assert_eq!(
            m.timestamp(),
            Timestamp::CreateTime(base_ts + i as i64),
            "timestamp of record #{i}"
        );
        let h = m
            .headers()
            .unwrap_or_else(|| panic!("record #{i} lost its headers"));
        assert_eq!(h.count(), 3, "header count of record #{i}");
        let h0 = h.get(0);
        assert_eq!(
            (h0.key, h0.value),
            ("h-index", Some(format!("{i}").as_bytes()))
        );
        let h1 = h.get(1);
        assert_eq!(
            (h1.key, h1.value),
            ("h-null", None),
            "null header value must stay null"
        );
        let h2 = h.get(2);
        assert_eq!(
            (h2.key, h2.value),
            ("h-empty", Some(&b""[..])),
            "empty header value must stay empty"
        );
    }
    let (low, high) = watermarks(&node, &topic, 0);
    assert_eq!((low, high), (0, n as i64), "watermarks after {n} records");
}

fn codec_round_trip(codec: &str) {
    let node = StrataNode::start();
    let topic = unique_topic(&format!("codec-{codec}"));
    create_topic(&node, &topic, 1);
    // Large, compressible batches: linger lets many records share one compressed batch.
    let p = producer(&node, &[("compression.type", codec), ("linger.ms", "50")]);
    let n = 500;
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{codec} record {i:05} {}", "abc".repeat(30)).into_bytes())
        .collect();
    let recs = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            FutureRecord::to(&topic)
                .payload(v.as_slice())
                .key(&b"k"[..])
                .partition(0)
                .timestamp(1_000 + i as i64)
        })
        .collect();
    let delivered = send_all(&p, recs);
    let offsets: Vec<i64> = delivered.iter().map(|d| d.1).collect();
    assert_eq!(
        offsets,
        (0..n as i64).collect::<Vec<_>>(),
        "{codec}: offsets must be 0..{n} in order"
    );
    let got = consume_partition(&node, &topic, 0, n);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.offset(), i as i64, "{codec}: offset of record #{i}");
        assert_eq!(
            m.payload(),
            Some(values[i].as_slice()),
            "{codec}: value of record #{i}"
        );
        assert_eq!(
            m.timestamp(),
            Timestamp::CreateTime(1_000 + i as i64),
            "{codec}: timestamp of record #{i}"
        );
    }
    // Reading from the middle of a compressed batch must still start at the asked offset.
    let mid = consume_partition_from(
        &node,
        &topic,
        0,
        rdkafka::Offset::Offset(n as i64 / 2 + 1),
        3,
    );
    assert_eq!(
        mid[0].offset(),
        n as i64 / 2 + 1,
        "{codec}: fetch from the middle of a batch"
    );
}

#[test]
fn compression_gzip() {
    codec_round_trip("gzip");
}

#[test]
fn compression_snappy() {
    codec_round_trip("snappy");
}

#[test]
fn compression_lz4() {
    codec_round_trip("lz4");
}

#[test]
fn compression_zstd() {
    codec_round_trip("zstd");
}

fn acks_round_trip(acks: &str) {
    let node = StrataNode::start();
    let topic = unique_topic(&format!("acks-{acks}"));
    create_topic(&node, &topic, 1);
    let p = producer(&node, &[("acks", acks)]);
    let n = 200;
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("acks={acks} #{i}").into_bytes())
        .collect();
    let recs = values
        .iter()
        .map(|v| FutureRecord::to(&topic).payload(v.as_slice()).partition(0))
        .collect();
    let delivered = send_all(&p, recs);
    if acks != "0" {
        let offsets: Vec<i64> = delivered.iter().map(|d| d.1).collect();
        assert_eq!(
            offsets,
            (0..n as i64).collect::<Vec<_>>(),
            "acks={acks}: acknowledged offsets"
        );
    }
    // With acks=0 nothing is acknowledged; the records must still arrive, in order.
    let got = consume_partition(&node, &topic, 0, n);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(
            m.payload(),
            Some(values[i].as_slice()),
            "acks={acks}: value of record #{i}"
        );
    }
}

#[test]
fn acks_0() {
    acks_round_trip("0");
}

#[test]
fn acks_1() {
    acks_round_trip("1");
}

#[test]
fn acks_all() {
    acks_round_trip("all");
}

#[test]
fn idempotent_producer_writes_each_record_once_in_order() {
    let node = StrataNode::start();
    let topic = unique_topic("idempotent");
    create_topic(&node, &topic, 2);
    let p = producer(
        &node,
        &[
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "5"),
            ("linger.ms", "1"),
        ],
    );
    let n = 1000;
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("idem-{i:05}").into_bytes())
        .collect();
    let recs = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            FutureRecord::to(&topic)
                .payload(v.as_slice())
                .partition((i % 2) as i32)
        })
        .collect();
    let delivered = send_all(&p, recs);
    for part in 0..2 {
        let expect: Vec<&Vec<u8>> = values
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == part)
            .map(|(_, v)| v)
            .collect();
        let offsets: Vec<i64> = delivered
            .iter()
            .filter(|d| d.0 == part as i32)
            .map(|d| d.1)
            .collect();
        assert_eq!(
            offsets,
            (0..expect.len() as i64).collect::<Vec<_>>(),
            "partition {part}: acknowledged offsets"
        );
        let got = consume_partition(&node, &topic, part as i32, expect.len());
        for (i, m) in got.iter().enumerate() {
            assert_eq!(
                m.payload(),
                Some(expect[i].as_slice()),
                "partition {part}: record #{i}"
            );
        }
        let (_, high) = watermarks(&node, &topic, part as i32);
        assert_eq!(
            high,
            expect.len() as i64,
            "partition {part}: no duplicates may be written"
        );
    }
}
