//! Client-side helpers shared by the integration tests (rdkafka producers, consumers without a
//! group, admin calls, Kafka's murmur2 partitioner, a health check).
//!
//! Every test starts its own node: cargo-nextest runs each test in its own process, so a node
//! cannot be shared across tests of one file, and a debug node starts in well under a second.
#![allow(dead_code)]

pub mod cluster;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use strata_tests::wire;
use strata_tests::StrataNode;

/// How long a test waits for records to be delivered or consumed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a future to completion on a small current-thread runtime. rdkafka resolves its
/// futures from its own threads, so no reactor is needed.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
        .block_on(f)
}

/// A topic name unique within this test process.
pub fn unique_topic(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The base client config: bootstrap address plus short timeouts so failures surface fast.
pub fn client_config(node: &StrataNode) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", node.bootstrap())
        .set("socket.timeout.ms", "10000")
        .set("reconnect.backoff.max.ms", "1000");
    c
}

/// A producer with `extra` settings on top of the defaults (linger 5 ms, 20 s message timeout).
pub fn producer(node: &StrataNode, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = client_config(node);
    c.set("linger.ms", "5").set("message.timeout.ms", "20000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create()
        .unwrap_or_else(|e| panic!("create producer with {extra:?}: {e}"))
}

/// A consumer that only assign()s partitions (no subscribe, no commits) and reads from the
/// beginning. librdkafka's assign() needs a group.id to exist, but no group is joined.
pub fn consumer(node: &StrataNode) -> BaseConsumer {
    let mut c = client_config(node);
    c.set("group.id", unique_topic("strata-tests-assign-only"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100");
    c.create()
        .unwrap_or_else(|e| panic!("create consumer: {e}"))
}

/// An admin client.
pub fn admin(node: &StrataNode) -> AdminClient<DefaultClientContext> {
    client_config(node)
        .create()
        .unwrap_or_else(|e| panic!("create admin client: {e}"))
}

/// Admin options with an operation timeout.
pub fn admin_opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

/// Creates `topic` with `partitions` partitions (replication factor 1) and waits until the
/// metadata shows every partition with a leader.
pub fn create_topic(node: &StrataNode, topic: &str, partitions: i32) {
    let admin = admin(node);
    let results = block_on(admin.create_topics(
        &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
        &admin_opts(),
    ))
    .unwrap_or_else(|e| panic!("CreateTopics request for {topic} failed: {e}"));
    for r in results {
        if let Err((name, code)) = r {
            panic!("creating topic {name} with {partitions} partitions failed: {code:?}");
        }
    }
    wait_for_partitions(node, topic, partitions as usize);
}

/// Waits until metadata lists `topic` with `n` partitions, each with leader = node 1.
pub fn wait_for_partitions(node: &StrataNode, topic: &str, n: usize) {
    let c = consumer(node);
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut last = String::new();
    while Instant::now() < deadline {
        match c.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            Ok(md) => {
                if let Some(t) = md.topics().iter().find(|t| t.name() == topic) {
                    let ok = t.error().is_none()
                        && t.partitions().len() == n
                        && t.partitions()
                            .iter()
                            .all(|p| p.leader() == 1 && p.error().is_none());
                    if ok {
                        return;
                    }
                    last = format!(
                        "error {:?}, partitions {:?}",
                        t.error(),
                        t.partitions()
                            .iter()
                            .map(|p| (p.id(), p.leader(), p.error()))
                            .collect::<Vec<_>>()
                    );
                }
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("topic {topic} did not show {n} partitions led by node 1 in metadata: last seen {last}");
}

/// Sends every record and waits for all delivery reports; panics on any failure.
/// Returns (partition, offset) per record in input order.
pub fn send_all(p: &FutureProducer, records: Vec<FutureRecord<'_, [u8], [u8]>>) -> Vec<(i32, i64)> {
    let mut futs = Vec::with_capacity(records.len());
    for r in records {
        let f = p.send_result(r).unwrap_or_else(|(e, _)| {
            panic!("enqueue failed (local queue full or bad record): {e}")
        });
        futs.push(f);
    }
    block_on(async {
        let mut out = Vec::with_capacity(futs.len());
        for (i, f) in futs.into_iter().enumerate() {
            match f.await {
                Ok(Ok(d)) => out.push((d.partition, d.offset)),
                Ok(Err((e, _))) => panic!("record #{i} was not delivered: {e}"),
                Err(_) => panic!("record #{i}: delivery future cancelled"),
            }
        }
        out
    })
}

/// Reads `count` records from one partition starting at its beginning; panics (showing what
/// did arrive) if fewer arrive within [`IO_TIMEOUT`].
pub fn consume_partition(
    node: &StrataNode,
    topic: &str,
    partition: i32,
    count: usize,
) -> Vec<OwnedMessage> {
    consume_partition_from(node, topic, partition, Offset::Beginning, count)
}

/// Like [`consume_partition`] from a given offset.
pub fn consume_partition_from(
    node: &StrataNode,
    topic: &str,
    partition: i32,
    from: Offset,
    count: usize,
) -> Vec<OwnedMessage> {
    let c = consumer(node);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, from)
        .expect("add partition to assignment");
    c.assign(&tpl)
        .unwrap_or_else(|e| panic!("assign {topic}-{partition}: {e}"));
    let mut out = Vec::with_capacity(count);
    let deadline = Instant::now() + IO_TIMEOUT;
    while out.len() < count && Instant::now() < deadline {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(m.detach()),
            Some(Err(e)) => panic!(
                "consuming {topic}-{partition}: {e} (after {} records)",
                out.len()
            ),
            None => {}
        }
    }
    assert_eq!(
        out.len(),
        count,
        "expected {count} records from {topic}-{partition}, got {} within {IO_TIMEOUT:?}",
        out.len()
    );
    out
}

/// Low and high watermark of a partition.
pub fn watermarks(node: &StrataNode, topic: &str, partition: i32) -> (i64, i64) {
    consumer(node)
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("ListOffsets for {topic}-{partition}: {e}"))
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`, seed 0x9747b28c).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    match tail.len() {
        3 => {
            h ^= (tail[2] as u32) << 16;
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a keyed record.
pub fn murmur2_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// Asserts the node still serves normal clients: a raw ApiVersions v0 exchange on a new
/// connection, then an rdkafka produce + consume round trip on a fresh topic.
pub fn assert_node_healthy(node: &mut StrataNode, context: &str) {
    assert!(node.is_running(), "strata process died after {context}");
    let mut s = wire::connect(node.addr()).unwrap_or_else(|e| {
        panic!(
            "after {context}: cannot connect to {}: {e}",
            node.bootstrap()
        )
    });
    wire::send(&mut s, &wire::api_versions_request(0, 4242)).expect("send ApiVersions v0");
    match wire::read_frame(&mut s, Duration::from_secs(10)).expect("read ApiVersions v0 response") {
        wire::ReadOutcome::Frame(body) => {
            let (cid, err, apis) = wire::parse_api_versions_v0(&body)
                .unwrap_or_else(|e| panic!("after {context}: bad ApiVersions v0 response: {e}"));
            assert_eq!(cid, 4242, "after {context}: ApiVersions correlation id");
            assert_eq!(err, 0, "after {context}: ApiVersions v0 error code");
            assert!(
                apis.iter().any(|a| a.key == wire::API_PRODUCE),
                "after {context}: Produce not advertised"
            );
        }
        other => panic!("after {context}: ApiVersions v0 got {other:?} instead of a response"),
    }
    let topic = unique_topic("health");
    let p = producer(node, &[]);
    let rec = FutureRecord::to(&topic)
        .key(&b"hk"[..])
        .payload(&b"healthy"[..])
        .partition(0);
    // auto.create.topics.enable=true: the producer's metadata request creates the topic.
    send_all(&p, vec![rec]);
    let got = consume_partition(node, &topic, 0, 1);
    assert_eq!(
        got[0].payload(),
        Some(&b"healthy"[..]),
        "after {context}: round trip payload"
    );
}

/// Counts records per partition.
pub fn count_by_partition(offsets: &[(i32, i64)]) -> HashMap<i32, usize> {
    let mut m = HashMap::new();
    for (p, _) in offsets {
        *m.entry(*p).or_insert(0) += 1;
    }
    m
}
