//! Malformed input over raw TCP. After each case the node must still serve a normal client.

mod common;

use std::net::Shutdown;
use std::time::Duration;

use common::*;
use rand::{Rng, SeedableRng};
use rdkafka::message::Message;
use strata_tests::wire::{self, ReadOutcome};
use strata_tests::StrataNode;

/// How long we wait for the server to close a connection it must close.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

#[test]
fn random_bytes_do_not_hurt_the_node() {
    let mut node = StrataNode::start();
    for seed in 0..8u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let len = rng.gen_range(1..4096);
        let junk: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let mut s = wire::connect(node.addr()).expect("connect");
        wire::send(&mut s, &junk).expect("send random bytes");
        // Any reaction is fine (close, error, waiting for more bytes); only the node's
        // survival is checked.
        let _ = wire::read_frame(&mut s, Duration::from_millis(500));
    }
    // Random bytes that start with a small, valid-looking size.
    for seed in 100..104u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let body: Vec<u8> = (0..64).map(|_| rng.gen()).collect();
        let mut s = wire::connect(node.addr()).expect("connect");
        wire::send(&mut s, &wire::frame(&body)).expect("send framed random bytes");
        let _ = wire::read_frame(&mut s, Duration::from_millis(500));
    }
    assert_node_healthy(&mut node, "random bytes");
}

#[test]
fn truncated_frame_then_eof() {
    let mut node = StrataNode::start();
    let full = wire::api_versions_request(3, 7);
    let mut s = wire::connect(node.addr()).expect("connect");
    // Size says the whole request follows, but only part of it is sent before EOF.
    wire::send(&mut s, &full[..full.len() / 2]).expect("send half a frame");
    s.shutdown(Shutdown::Write).expect("half-close");
    match wire::read_frame(&mut s, CLOSE_WAIT).expect("read") {
        ReadOutcome::Frame(f) => panic!("server answered a truncated request: {f:?}"),
        ReadOutcome::Closed | ReadOutcome::TimedOut => {}
    }
    // Only the 4-byte size, then EOF.
    let mut s = wire::connect(node.addr()).expect("connect");
    wire::send(&mut s, &full[..3]).expect("send 3 bytes");
    s.shutdown(Shutdown::Write).expect("half-close");
    let _ = wire::read_frame(&mut s, CLOSE_WAIT);
    assert_node_healthy(&mut node, "a truncated frame");
}

#[test]
fn oversized_or_negative_frame_size_closes_the_connection() {
    let mut node = StrataNode::start();
    for size in [wire::MAX_REQUEST_BYTES + 1, i32::MAX, -1, i32::MIN] {
        let mut s = wire::connect(node.addr()).expect("connect");
        wire::send(&mut s, &size.to_be_bytes()).expect("send size");
        wire::send(&mut s, &[0u8; 64]).expect("send a few body bytes");
        match wire::read_frame(&mut s, CLOSE_WAIT).expect("read") {
            ReadOutcome::Closed => {}
            other => panic!(
                "frame size {size} (limit socket.request.max.bytes = {} bytes): expected the connection to be closed, got {other:?}",
                wire::MAX_REQUEST_BYTES
            ),
        }
    }
    assert_node_healthy(&mut node, "oversized frame sizes");
}

#[test]
fn unknown_api_key_is_answered_or_closed() {
    let mut node = StrataNode::start();
    for key in [9999i16, 32767, -1] {
        let mut s = wire::connect(node.addr()).expect("connect");
        let mut req = wire::header_v1(key, 0, 99);
        req.raw(&[0, 0, 0, 0]);
        wire::send(&mut s, &wire::frame(&req.buf)).expect("send");
        match wire::read_frame(&mut s, CLOSE_WAIT).expect("read") {
            // Kafka closes the connection on an unknown API key.
            ReadOutcome::Closed => {}
            ReadOutcome::Frame(f) => {
                let cid = i32::from_be_bytes(f[..4].try_into().expect("4 bytes"));
                assert_eq!(
                    cid, 99,
                    "API key {key}: an error reply must carry the request's correlation id"
                );
            }
            ReadOutcome::TimedOut => {
                panic!("API key {key}: the server neither answered nor closed the connection within {CLOSE_WAIT:?}")
            }
        }
    }
    assert_node_healthy(&mut node, "unknown API keys");
}

#[test]
fn unsupported_api_versions_version_gets_a_v0_error_reply() {
    let mut node = StrataNode::start();
    let mut s = wire::connect(node.addr()).expect("connect");
    wire::send(&mut s, &wire::api_versions_request(127, 31)).expect("send ApiVersions v127");
    let body = match wire::read_frame(&mut s, CLOSE_WAIT).expect("read") {
        ReadOutcome::Frame(b) => b,
        other => panic!(
            "ApiVersions v127: expected a v0-format UNSUPPORTED_VERSION reply, got {other:?}"
        ),
    };
    let (cid, err, apis) = wire::parse_api_versions_v0(&body).unwrap_or_else(|e| {
        panic!("ApiVersions v127 reply is not in v0 format: {e}; bytes {body:?}")
    });
    assert_eq!(cid, 31, "correlation id");
    assert_eq!(
        err,
        wire::ERROR_UNSUPPORTED_VERSION,
        "error code must be UNSUPPORTED_VERSION (35)"
    );
    let av = apis
        .iter()
        .find(|a| a.key == wire::API_VERSIONS)
        .unwrap_or_else(|| {
            panic!("the error reply must list ApiVersions' own range, got {apis:?}")
        });
    assert_eq!(av.min, 0, "ApiVersions min version");
    assert!(av.max >= 3, "ApiVersions max version {} < 3", av.max);

    // The client then retries with a supported version on the same connection.
    wire::send(&mut s, &wire::api_versions_request(0, 32)).expect("send ApiVersions v0");
    match wire::read_frame(&mut s, CLOSE_WAIT).expect("read") {
        ReadOutcome::Frame(b) => {
            let (cid, err, apis) = wire::parse_api_versions_v0(&b).expect("v0 reply");
            assert_eq!((cid, err), (32, 0), "ApiVersions v0 after the negotiation");
            assert!(apis.len() > 5, "ApiVersions v0 lists only {} APIs", apis.len());
        }
        other => panic!("ApiVersions v0 after an unsupported version: got {other:?}, the connection must stay usable"),
    }
    assert_node_healthy(&mut node, "an unsupported ApiVersions version");
}

#[test]
fn produce_with_bad_crc_is_rejected_with_corrupt_message() {
    let mut node = StrataNode::start();
    let topic = unique_topic("crc");
    create_topic(&node, &topic, 1);
    let good1 = wire::record_batch(&[(Some(b"k1"), b"first")], 1_700_000_000_000);
    let good2 = wire::record_batch(
        &[(None, b"second"), (Some(b"k3"), b"third")],
        1_700_000_000_001,
    );
    let bad = wire::corrupt_crc(&wire::record_batch(
        &[(Some(b"kx"), b"corrupt")],
        1_700_000_000_002,
    ));

    let mut s = wire::connect(node.addr()).expect("connect");
    let mut produce = |cid: i32, batch: &[u8]| -> wire::ProducePartitionResult {
        wire::send(&mut s, &wire::produce_request_v3(cid, &topic, 0, -1, batch))
            .expect("send produce");
        let body = match wire::read_frame(&mut s, Duration::from_secs(10)).expect("read") {
            ReadOutcome::Frame(b) => b,
            other => {
                panic!("Produce v3 (correlation id {cid}): expected a response, got {other:?}")
            }
        };
        let (rcid, parts) = wire::parse_produce_v3(&body)
            .unwrap_or_else(|e| panic!("Produce v3 response does not parse: {e}; bytes {body:?}"));
        assert_eq!(rcid, cid, "Produce correlation id");
        assert_eq!(parts.len(), 1, "one partition result, got {parts:?}");
        assert_eq!(
            (parts[0].topic.as_str(), parts[0].partition),
            (topic.as_str(), 0),
            "result names the partition"
        );
        parts[0].clone()
    };
    let r = produce(1, &good1);
    assert_eq!(
        (r.error, r.base_offset),
        (0, 0),
        "a valid hand-built batch must be accepted at offset 0"
    );
    let r = produce(2, &bad);
    assert_eq!(
        r.error,
        wire::ERROR_CORRUPT_MESSAGE,
        "a batch with a bad CRC must fail with CORRUPT_MESSAGE (2)"
    );
    let r = produce(3, &good2);
    assert_eq!(
        (r.error, r.base_offset),
        (0, 1),
        "the next valid batch must land at offset 1"
    );

    let got = consume_partition(&node, &topic, 0, 3);
    let values: Vec<&[u8]> = got
        .iter()
        .map(|m| m.payload().unwrap_or_default())
        .collect();
    assert_eq!(
        values,
        vec![&b"first"[..], b"second", b"third"],
        "the corrupt batch must not be stored"
    );
    assert_eq!(watermarks(&node, &topic, 0).1, 3, "end offset");
    assert_node_healthy(&mut node, "a produce with a bad CRC");
}
