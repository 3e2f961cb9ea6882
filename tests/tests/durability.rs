//! Restarts: a clean restart keeps topics and records; a `kill -9` during an acks=all load
//! loses no acknowledged record.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use strata_tests::StrataNode;

/// How long the produce load runs before the node is killed.
const LOAD_BEFORE_KILL_MS: u64 = 1_500;

#[test]
fn restart_keeps_topics_and_records() {
    let mut node = StrataNode::start();
    let topic = unique_topic("restart");
    create_topic(&node, &topic, 3);
    let p = producer(&node, &[("acks", "all")]);
    let n = 300;
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("before-restart-{i}").into_bytes())
        .collect();
    let recs = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            FutureRecord::to(&topic)
                .payload(v.as_slice())
                .partition((i % 3) as i32)
        })
        .collect();
    send_all(&p, recs);
    drop(p);

    for how in ["graceful restart", "kill -9 and restart"] {
        if how == "graceful restart" {
            node.restart();
        } else {
            node.kill9();
            node.restart();
        }
        wait_for_partitions(&node, &topic, 3);
        for part in 0..3 {
            let want: Vec<&Vec<u8>> = values.iter().skip(part).step_by(3).collect();
            let got = consume_partition(&node, &topic, part as i32, want.len());
            for (i, m) in got.iter().enumerate() {
                assert_eq!(m.offset(), i as i64, "{how}: partition {part} offset");
                assert_eq!(
                    m.payload(),
                    Some(want[i].as_slice()),
                    "{how}: partition {part} record #{i}"
                );
            }
            assert_eq!(
                watermarks(&node, &topic, part as i32).1,
                want.len() as i64,
                "{how}: partition {part} end offset"
            );
        }
    }
    // New records continue after the recovered end offset.
    let p = producer(&node, &[("acks", "all")]);
    let d = send_all(
        &p,
        vec![FutureRecord::to(&topic).payload(&b"after"[..]).partition(0)],
    );
    assert_eq!(
        d[0],
        (0, 100),
        "first record after restarts must get offset 100 on partition 0"
    );
}

#[test]
fn kill9_during_acks_all_load_loses_no_acknowledged_record() {
    let mut node = StrataNode::start();
    let topic = unique_topic("crash");
    let partitions = 2;
    create_topic(&node, &topic, partitions);
    let p = producer(
        &node,
        &[
            ("acks", "all"),
            ("linger.ms", "2"),
            ("message.timeout.ms", "5000"),
            ("retries", "0"),
        ],
    );
    /// Records enqueued after the kill, so that requests are in flight when it lands.
    const RECORDS_AFTER_KILL: usize = 200;
    let start = Instant::now();
    let mut futures = Vec::new();
    let mut killed = false;
    let mut after_kill = 0usize;
    for i in 0usize.. {
        if !killed && start.elapsed() >= Duration::from_millis(LOAD_BEFORE_KILL_MS) {
            node.kill9();
            killed = true;
        }
        if killed {
            after_kill += 1;
            if after_kill > RECORDS_AFTER_KILL {
                break;
            }
        }
        let v = format!("crash-load-{i:07}").into_bytes();
        let part = (i % partitions as usize) as i32;
        let rec = FutureRecord::<[u8], [u8]>::to(&topic)
            .payload(v.as_slice())
            .partition(part);
        match p.send_result(rec) {
            Ok(f) => futures.push((v, f)),
            Err((e, _)) => panic!("enqueue of record #{i} failed during load: {e}"),
        }
        // Throttle (about 20k records/s at most) so the local queue never fills.
        if i % 20 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // Collect delivery reports: only acknowledged records count.
    let mut acked: Vec<(i32, i64, Vec<u8>)> = Vec::new();
    let mut failed = 0usize;
    block_on(async {
        for (v, f) in futures {
            match f.await {
                Ok(Ok(d)) => acked.push((d.partition, d.offset, v)),
                _ => failed += 1,
            }
        }
    });
    assert!(
        !acked.is_empty(),
        "no record was acknowledged in {LOAD_BEFORE_KILL_MS} ms before the kill"
    );
    eprintln!(
        "crash test: {} acknowledged, {failed} failed/unacknowledged",
        acked.len()
    );
    drop(p);

    node.restart();
    wait_for_partitions(&node, &topic, partitions as usize);
    let mut by_part: HashMap<i32, Vec<(i64, Vec<u8>)>> = HashMap::new();
    for (part, off, v) in acked {
        by_part.entry(part).or_default().push((off, v));
    }
    for (part, recs) in by_part {
        let (_, high) = watermarks(&node, &topic, part);
        let max_acked = recs.iter().map(|r| r.0).max().unwrap_or(-1);
        assert!(
            high > max_acked,
            "partition {part}: end offset after recovery is {high} but offset {max_acked} was acknowledged"
        );
        let got = consume_partition(&node, &topic, part, high as usize);
        let stored: HashMap<i64, Vec<u8>> = got
            .iter()
            .map(|m| (m.offset(), m.payload().unwrap_or_default().to_vec()))
            .collect();
        for (off, v) in recs {
            match stored.get(&off) {
                Some(s) if *s == v => {}
                Some(s) => panic!(
                    "partition {part} offset {off}: acknowledged {:?} but found {:?} after kill -9",
                    String::from_utf8_lossy(&v),
                    String::from_utf8_lossy(s)
                ),
                None => panic!(
                    "partition {part} offset {off}: acknowledged record missing after kill -9"
                ),
            }
        }
    }
}
