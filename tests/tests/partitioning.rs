//! Keyed records land on the partition of Kafka's default partitioner (murmur2) and keep
//! their order within each partition.

mod common;

use std::collections::HashMap;

use common::*;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use strata_tests::StrataNode;

/// A record's key and value.
type KeyValue = (Vec<u8>, Vec<u8>);

#[test]
fn murmur2_matches_kafka_reference_values() {
    // Values from Apache Kafka's UtilsTest.testMurmur2.
    assert_eq!(murmur2(b"21"), -973932308);
    assert_eq!(murmur2(b"foobar"), -790332482);
    assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
    assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
    assert_eq!(
        murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
        -58897971
    );
    assert_eq!(murmur2(b"abc"), 479470107);
}

#[test]
fn keyed_records_follow_murmur2_and_keep_per_partition_order() {
    let node = StrataNode::start();
    let topic = unique_topic("keyed");
    let partitions = 6;
    create_topic(&node, &topic, partitions);
    // librdkafka's default is consistent_random (CRC32); murmur2_random is the Java default.
    let p = producer(&node, &[("partitioner", "murmur2_random")]);
    let n = 600;
    let records: Vec<KeyValue> = (0..n)
        .map(|i| {
            (
                format!("customer-{}", i % 37).into_bytes(),
                format!("event-{i:04}").into_bytes(),
            )
        })
        .collect();
    let recs = records
        .iter()
        .map(|(k, v)| {
            FutureRecord::to(&topic)
                .key(k.as_slice())
                .payload(v.as_slice())
        })
        .collect();
    let delivered = send_all(&p, recs);

    let mut expected: HashMap<i32, Vec<&KeyValue>> = HashMap::new();
    for (i, rec) in records.iter().enumerate() {
        let want = murmur2_partition(&rec.0, partitions);
        assert_eq!(
            delivered[i].0,
            want,
            "record #{i} with key {:?} was delivered to partition {}, murmur2 says {want}",
            String::from_utf8_lossy(&rec.0),
            delivered[i].0
        );
        expected.entry(want).or_default().push(rec);
    }
    for (part, want) in &expected {
        let got = consume_partition(&node, &topic, *part, want.len());
        for (i, m) in got.iter().enumerate() {
            assert_eq!(m.offset(), i as i64, "partition {part}: offsets are dense");
            assert_eq!(
                m.key(),
                Some(want[i].0.as_slice()),
                "partition {part}: key of record #{i}"
            );
            assert_eq!(
                m.payload(),
                Some(want[i].1.as_slice()),
                "partition {part}: record #{i} out of order (per-partition order must be kept)"
            );
        }
        let (_, high) = watermarks(&node, &topic, *part);
        assert_eq!(high, want.len() as i64, "partition {part}: high watermark");
    }
    for part in 0..partitions {
        if !expected.contains_key(&part) {
            assert_eq!(
                watermarks(&node, &topic, part).1,
                0,
                "partition {part} should be empty"
            );
        }
    }
}
