//! Storage behaviour seen through a real node: a torn segment tail left by `kill -9` is
//! truncated on restart (never served), and retention deletes whole old segments in the
//! background, advancing the log start offset.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::admin::{NewTopic, TopicReplication};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use strata_tests::StrataNode;

fn send_values(node: &StrataNode, topic: &str, prefix: &str, n: usize) -> Vec<(i32, i64)> {
    let p = producer(node, &[("acks", "all"), ("linger.ms", "0")]);
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{prefix}-{i:04}-{}", "x".repeat(80)).into_bytes())
        .collect();
    let records = values
        .iter()
        .map(|v| FutureRecord::to(topic).payload(v.as_slice()).partition(0))
        .collect();
    send_all(&p, records)
}

#[test]
fn torn_segment_tail_is_truncated_on_restart() {
    let mut node = StrataNode::start();
    let topic = unique_topic("torn");
    create_topic(&node, &topic, 1);
    send_values(&node, &topic, "before", 100);
    node.kill9();

    // What a crash mid-write leaves: the start of a batch header and some garbage.
    let segment = node
        .data_dir()
        .join(format!("{topic}-0"))
        .join("00000000000000000000.log");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .expect("open the active segment");
    let mut torn = Vec::new();
    torn.extend_from_slice(&100i64.to_be_bytes()); // base offset
    torn.extend_from_slice(&5000i32.to_be_bytes()); // batch length far beyond the file end
    torn.extend_from_slice(&[0xAB; 37]);
    file.write_all(&torn).expect("append a torn batch");
    file.sync_all().expect("sync");
    drop(file);

    node.restart();
    wait_for_partitions(&node, &topic, 1);
    assert_eq!(
        watermarks(&node, &topic, 0),
        (0, 100),
        "the torn tail must not count as records"
    );
    let got = consume_partition(&node, &topic, 0, 100);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.offset(), i as i64);
        let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string();
        assert!(
            value.starts_with(&format!("before-{i:04}-")),
            "record {i} is {value:?}"
        );
    }
    let offsets = send_values(&node, &topic, "after", 1);
    assert_eq!(
        offsets,
        vec![(0, 100)],
        "appends continue right after the last valid batch"
    );
    assert_node_healthy(&mut node, "after recovering a torn tail");
}

#[test]
fn retention_deletes_old_segments_and_advances_log_start() {
    let mut node = StrataNode::start_with(&[("log.retention.check.interval.ms", "300")]);
    let topic = unique_topic("retention");
    let admin = admin(&node);
    let new_topic = NewTopic::new(&topic, 1, TopicReplication::Fixed(1))
        .set("segment.bytes", "4096")
        .set("retention.ms", "1500");
    let results = block_on(admin.create_topics([&new_topic], &admin_opts())).expect("create topic");
    assert!(
        results.iter().all(|r| r.is_ok()),
        "create topic with configs: {results:?}"
    );
    wait_for_partitions(&node, &topic, 1);
    // Produce rounds of ~2.4 KiB: two never fit one 4 KiB segment, so each round rolls a new one.
    // (A batch larger than segment.bytes would be refused: RECORD_LIST_TOO_LARGE, as in Kafka.)
    for round in 0..5 {
        send_values(&node, &topic, &format!("round{round}"), 20);
    }
    let dir = node.data_dir().join(format!("{topic}-0"));
    let segments = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                    .count()
            })
            .unwrap_or(0)
    };
    // On a loaded machine retention (1.5 s) may already have run by now: then the log start
    // has moved, which shows the segments existed.
    let (low_now, _) = watermarks(&node, &topic, 0);
    assert!(
        segments() >= 5 || low_now > 0,
        "expected at least 5 segments, found {} (low watermark {low_now})",
        segments()
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (low, high) = watermarks(&node, &topic, 0);
        assert_eq!(high, 100, "retention must not change the log end");
        if low > 0 && segments() == 1 {
            // Expired segments are gone. As in Kafka, the active segment goes too once it
            // has expired (an empty one is rolled first), so the log may now be empty with
            // the log start offset at the log end offset.
            // (Not consumed here: retention may delete the rest at any moment.)
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention did not run: low watermark {low}, {} segment files",
            segments()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_node_healthy(&mut node, "after retention");
}
