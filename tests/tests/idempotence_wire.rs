//! The idempotent producer protocol byte by byte: a retried batch (same producer id, epoch and
//! sequence) gets its original offset back and is stored once; a sequence gap is refused with
//! OUT_OF_ORDER_SEQUENCE_NUMBER.

mod common;

use std::time::Duration;

use common::*;
use rdkafka::message::Message;
use strata_tests::wire::{self, ReadOutcome};
use strata_tests::StrataNode;

const ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const PRODUCER_ID: i64 = 4242;

#[test]
fn retried_batch_is_deduplicated_and_gaps_are_refused() {
    let mut node = StrataNode::start();
    let topic = unique_topic("idem");
    create_topic(&node, &topic, 1);
    let mut s = wire::connect(node.addr()).expect("connect");
    let mut produce = |cid: i32, seq: i32, value: &[u8]| -> (i16, i64) {
        let batch = wire::record_batch_with_producer(
            &[(None, value)],
            1_700_000_000_000,
            PRODUCER_ID,
            0,
            seq,
        );
        wire::send(
            &mut s,
            &wire::produce_request_v3(cid, &topic, 0, -1, &batch),
        )
        .expect("send produce");
        let body = match wire::read_frame(&mut s, Duration::from_secs(10)).expect("read") {
            ReadOutcome::Frame(b) => b,
            other => panic!("Produce (correlation id {cid}): expected a response, got {other:?}"),
        };
        let (_, parts) = wire::parse_produce_v3(&body).expect("produce response parses");
        (parts[0].error, parts[0].base_offset)
    };
    assert_eq!(produce(1, 0, b"a"), (0, 0), "first batch");
    assert_eq!(produce(2, 1, b"b"), (0, 1), "next sequence");
    assert_eq!(
        produce(3, 1, b"b"),
        (0, 1),
        "a retry of sequence 1 gets its original offset"
    );
    assert_eq!(
        produce(4, 0, b"a"),
        (0, 0),
        "an older retry still in the 5-batch window too"
    );
    assert_eq!(
        produce(5, 5, b"gap").0,
        ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER,
        "a sequence gap"
    );
    assert_eq!(
        produce(6, 2, b"c"),
        (0, 2),
        "the producer continues after the refused gap"
    );

    assert_eq!(
        watermarks(&node, &topic, 0),
        (0, 3),
        "retries stored nothing"
    );
    let values: Vec<Vec<u8>> = consume_partition(&node, &topic, 0, 3)
        .iter()
        .map(|m| m.payload().unwrap_or_default().to_vec())
        .collect();
    assert_eq!(values, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);

    // Producer state survives a restart: the retry is still recognised afterwards.
    node.kill9();
    node.restart();
    wait_for_partitions(&node, &topic, 1);
    let mut s = wire::connect(node.addr()).expect("reconnect");
    let batch =
        wire::record_batch_with_producer(&[(None, b"c")], 1_700_000_000_000, PRODUCER_ID, 0, 2);
    wire::send(&mut s, &wire::produce_request_v3(7, &topic, 0, -1, &batch)).expect("send produce");
    let ReadOutcome::Frame(body) = wire::read_frame(&mut s, Duration::from_secs(10)).expect("read")
    else {
        panic!("no produce response after restart");
    };
    let (_, parts) = wire::parse_produce_v3(&body).expect("parses");
    assert_eq!(
        (parts[0].error, parts[0].base_offset),
        (0, 2),
        "retry after restart is deduplicated"
    );
    assert_eq!(watermarks(&node, &topic, 0), (0, 3));
}
