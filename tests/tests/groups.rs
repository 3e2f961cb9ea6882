//! Consumer groups, classic protocol: librdkafka consumers that
//! subscribe() share a topic's partitions through the group coordinator (the leader of the
//! group's `__consumer_offsets` partition), two groups read the same topic independently, and
//! a consumer that committed resumes after its commit.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use common::cluster::*;
use common::{send_all, unique_topic};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

const PARTITIONS: i32 = 6;
const RECORDS: usize = 60;

fn group_consumer(cluster: &Cluster, group: &str, topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap(cluster))
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Polls every consumer until `until` holds for what they read together (values by consumer).
fn poll_all(
    consumers: &[&BaseConsumer],
    timeout: Duration,
    until: impl Fn(&[Vec<String>]) -> bool,
) -> Vec<Vec<String>> {
    let deadline = Instant::now() + timeout;
    let mut read = vec![Vec::new(); consumers.len()];
    while !until(&read) {
        assert!(
            Instant::now() < deadline,
            "consumers read {:?} records",
            read.iter().map(Vec::len).collect::<Vec<_>>()
        );
        for (i, c) in consumers.iter().enumerate() {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                read[i].push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
            }
        }
    }
    read
}

fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment()
        .map(|tpl| tpl.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

#[test]
fn groups_share_partitions_and_read_independently() {
    let cluster = Cluster::start_with(&[("group.initial.rebalance.delay.ms", "500")]);
    let topic = unique_topic("inventory_purchases");
    let (ok, out, err) = tool(
        cluster.node(1),
        &[
            "--create",
            "--topic",
            &topic,
            "--partitions",
            &PARTITIONS.to_string(),
            "--replication-factor",
            "3",
        ],
    );
    assert!(ok, "{out}{err}");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap(&cluster))
        .set("acks", "all")
        .create()
        .expect("producer");
    let values: Vec<String> = (0..RECORDS).map(|i| format!("purchase-{i}")).collect();
    let delivered = send_all(
        &producer,
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                FutureRecord::to(&topic)
                    .payload(v.as_bytes())
                    .partition(i as i32 % PARTITIONS)
            })
            .collect(),
    );
    assert_eq!(delivered.len(), RECORDS);
    let everything: HashSet<String> = values.iter().cloned().collect();

    // group1: one consumer gets all six partitions and every record.
    let g1 = group_consumer(&cluster, "group1", &topic);
    let read = poll_all(&[&g1], Duration::from_secs(60), |r| r[0].len() >= RECORDS);
    assert_eq!(read[0].iter().cloned().collect::<HashSet<_>>(), everything);
    assert_eq!(assigned(&g1), (0..PARTITIONS).collect());

    // group2: two consumers split the partitions 3 + 3 and together read every record, again.
    let a = group_consumer(&cluster, "group2", &topic);
    let b = group_consumer(&cluster, "group2", &topic);
    let read = poll_all(&[&a, &b], Duration::from_secs(60), |r| {
        r[0].len() + r[1].len() >= RECORDS
    });
    let (pa, pb) = (assigned(&a), assigned(&b));
    assert_eq!(pa.len(), 3, "a: {pa:?}, b: {pb:?}");
    assert_eq!(pb.len(), 3, "a: {pa:?}, b: {pb:?}");
    assert!(pa.is_disjoint(&pb));
    let together: HashSet<String> = read.concat().into_iter().collect();
    assert_eq!(together, everything);

    // Commit, leave, come back: the group resumes after the commit.
    g1.commit_consumer_state(CommitMode::Sync).expect("commit");
    drop(g1);
    let more: Vec<String> = (0..6).map(|i| format!("later-{i}")).collect();
    send_all(
        &producer,
        more.iter()
            .enumerate()
            .map(|(i, v)| {
                FutureRecord::to(&topic)
                    .payload(v.as_bytes())
                    .partition(i as i32)
            })
            .collect(),
    );
    let again = group_consumer(&cluster, "group1", &topic);
    let read = poll_all(&[&again], Duration::from_secs(60), |r| {
        r[0].len() >= more.len()
    });
    assert_eq!(
        read[0].iter().cloned().collect::<HashSet<_>>(),
        more.iter().cloned().collect::<HashSet<_>>(),
        "after the commit only the new records are read"
    );
}

#[test]
fn committed_offsets_survive_the_coordinators_death() {
    let mut cluster = Cluster::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let topic = unique_topic("durable");
    let (ok, out, err) = tool(
        cluster.node(1),
        &[
            "--create",
            "--topic",
            &topic,
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
    );
    assert!(ok, "{out}{err}");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap(&cluster))
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    let first: Vec<String> = (0..30).map(|i| format!("first-{i}")).collect();
    send_all(
        &producer,
        first
            .iter()
            .enumerate()
            .map(|(i, v)| {
                FutureRecord::to(&topic)
                    .payload(v.as_bytes())
                    .partition(i as i32 % 3)
            })
            .collect(),
    );
    let group = "durable-group";
    let c = group_consumer(&cluster, group, &topic);
    let read = poll_all(&[&c], Duration::from_secs(60), |r| {
        r[0].len() >= first.len()
    });
    assert_eq!(read[0].len(), first.len());
    c.commit_consumer_state(CommitMode::Sync).expect("commit");
    drop(c);

    // The coordinator is the leader of the group's __consumer_offsets partition: kill it.
    let partition = strata_group_partition(group, 50);
    let rows = leaders(&describe(cluster.node(1), "__consumer_offsets"));
    let coordinator = rows
        .iter()
        .find(|(p, ..)| *p == partition)
        .map(|(_, leader, _)| *leader)
        .expect("the group's offsets partition");
    assert!(coordinator > 0, "{rows:?}");
    cluster.node_mut(coordinator).kill9();

    let later: Vec<String> = (0..3).map(|i| format!("later-{i}")).collect();
    send_all(
        &producer,
        later
            .iter()
            .enumerate()
            .map(|(i, v)| {
                FutureRecord::to(&topic)
                    .payload(v.as_bytes())
                    .partition(i as i32)
            })
            .collect(),
    );
    let again = group_consumer(&cluster, group, &topic);
    let read = poll_all(&[&again], Duration::from_secs(60), |r| {
        r[0].len() >= later.len()
    });
    assert_eq!(
        read[0].iter().cloned().collect::<HashSet<_>>(),
        later.iter().cloned().collect::<HashSet<_>>(),
        "the new coordinator (node {coordinator} was killed) serves the committed offsets"
    );
}

/// Kafka's `abs(groupId.hashCode()) % partitions` (as strata-group computes it).
fn strata_group_partition(group: &str, partitions: i32) -> i32 {
    let mut hash: i32 = 0;
    for unit in group.encode_utf16() {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    (if hash == i32::MIN { 0 } else { hash.abs() }) % partitions
}

#[test]
fn nothing_is_skipped_through_rebalances_and_the_coordinators_death() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let mut cluster = Cluster::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let topic = unique_topic("alo");
    let (ok, out, err) = tool(
        cluster.node(1),
        &[
            "--create",
            "--topic",
            &topic,
            "--partitions",
            "4",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
        ],
    );
    assert!(ok, "{out}{err}");
    let group = "alo-group";
    // The coordinator's node is killed mid-way; find it now (creating __consumer_offsets).
    let first = group_consumer(&cluster, group, &topic);
    let _ = poll_all(&[&first], Duration::from_secs(30), |_| {
        !assigned(&first).is_empty()
    });
    let partition = strata_group_partition(group, 50);
    let coordinator = leaders(&describe(cluster.node(1), "__consumer_offsets"))
        .iter()
        .find(|(p, ..)| *p == partition)
        .map(|(_, leader, _)| *leader)
        .expect("the group's offsets partition");

    // Produce for a while, recording what was acknowledged.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let producer_thread = {
        let (acked, stop, topic) = (acked.clone(), stop.clone(), topic.clone());
        let servers = bootstrap(&cluster);
        std::thread::spawn(move || {
            let producer: FutureProducer = ClientConfig::new()
                .set("bootstrap.servers", servers)
                .set("acks", "all")
                .set("enable.idempotence", "true")
                .set("message.timeout.ms", "30000")
                .create()
                .expect("producer");
            let mut i = 0u64;
            let mut pending = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let value = format!("alo-{i}");
                if let Ok(f) =
                    producer.send_result(FutureRecord::<(), _>::to(&topic).payload(&value))
                {
                    pending.push((value, f));
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(3));
            }
            for (value, f) in pending {
                if let Ok(Ok(_)) = futures_block(f) {
                    acked.lock().expect("acked").push(value);
                }
            }
        })
    };

    // Consume, committing after each batch is processed (at-least-once); a second member
    // joins and leaves, and the coordinator's node dies.
    let mut read: HashSet<String> = HashSet::new();
    let mut second: Option<BaseConsumer> = None;
    let started = Instant::now();
    let mut joined = false;
    let mut left = false;
    let mut killed = false;
    let drain = |c: &BaseConsumer, read: &mut HashSet<String>| {
        let mut n = 0;
        while let Some(Ok(m)) = c.poll(Duration::from_millis(20)) {
            read.insert(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
            n += 1;
            if n >= 50 {
                break;
            }
        }
        if n > 0 {
            let _ = c.commit_consumer_state(CommitMode::Sync);
        }
    };
    while started.elapsed() < Duration::from_secs(8) {
        drain(&first, &mut read);
        if let Some(c) = &second {
            drain(c, &mut read);
        }
        let t = started.elapsed();
        if !joined && t > Duration::from_secs(2) {
            second = Some(group_consumer(&cluster, group, &topic));
            joined = true;
        }
        if !left && t > Duration::from_secs(4) {
            second = None; // closes the consumer: it leaves the group
            left = true;
        }
        if !killed && t > Duration::from_secs(5) {
            cluster.node_mut(coordinator).kill9();
            killed = true;
        }
    }
    stop.store(true, Ordering::Relaxed);
    producer_thread.join().expect("producer thread");
    let acked: Vec<String> = acked.lock().expect("acked").clone();
    assert!(
        acked.len() > 500,
        "only {} records acknowledged",
        acked.len()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.iter().any(|v| !read.contains(v)) {
        assert!(
            Instant::now() < deadline,
            "{} of {} acknowledged records never read (coordinator node {coordinator} killed)",
            acked.iter().filter(|v| !read.contains(*v)).count(),
            acked.len()
        );
        drain(&first, &mut read);
    }
}

/// Waits for an rdkafka delivery future from a plain thread.
fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    common::block_on(f)
}
