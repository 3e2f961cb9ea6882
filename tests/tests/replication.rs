//! Partition replication across three real processes: with RF 3 and
//! `min.insync.replicas=2`, every record an idempotent acks=all producer had acknowledged is
//! still there, once and at its offset, after partition leaders are killed with `kill -9`
//! under load; with two of three nodes down nothing is acknowledged; followers hold the same
//! log as their leader (a follower that takes over serves the same records); a rolling restart
//! (SIGTERM, one node at a time) under that load fails no send and loses nothing. A node
//! without the FetchStream call (as an older version) replicates with the others both ways.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cluster::*;
use common::{block_on, unique_topic};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

const PARTITIONS: i32 = 3;

fn create_replicated_topic(cluster: &Cluster, topic: &str) {
    create_replicated_topic_with_min_isr(cluster, topic, 2);
}

/// [`PARTITIONS`] partitions, RF 3, `min.insync.replicas=min_isr`; waits for a full ISR.
fn create_replicated_topic_with_min_isr(cluster: &Cluster, topic: &str, min_isr: usize) {
    let (ok, out, err) = tool(
        cluster.node(1),
        &[
            "--create",
            "--topic",
            topic,
            "--partitions",
            &PARTITIONS.to_string(),
            "--replication-factor",
            "3",
            "--config",
            &format!("min.insync.replicas={min_isr}"),
        ],
    );
    assert!(ok, "create {topic}: {out}{err}");
    wait_for_full_isr(cluster, topic);
}

fn wait_for_full_isr(cluster: &Cluster, topic: &str) {
    eventually(cluster, 1, topic, "a full ISR on every partition", |rows| {
        rows.len() == PARTITIONS as usize
            && rows
                .iter()
                .all(|(_, leader, isr)| *leader > 0 && isr.split(',').count() == 3)
    });
}

fn idempotent_producer(cluster: &Cluster) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap(cluster))
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "20000")
        .set("retry.backoff.ms", "50")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("producer")
}

/// Reads partition `partition` from the beginning to its high watermark.
fn read_partition(cluster: &Cluster, topic: &str, partition: i32) -> Vec<(i64, Vec<u8>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap(cluster))
        .set("group.id", "replication-test-reader")
        .set("enable.auto.commit", "false")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("consumer");
    let deadline = Instant::now() + Duration::from_secs(30);
    let high = loop {
        match consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)) {
            Ok((_, high)) => break high,
            Err(e) => assert!(Instant::now() < deadline, "watermarks of {partition}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .expect("assignment");
    consumer.assign(&tpl).expect("assign");
    let mut records = Vec::new();
    while (records.len() as i64) < high {
        assert!(
            Instant::now() < deadline,
            "partition {partition}: read {} of {high} records",
            records.len()
        );
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => records.push((m.offset(), m.payload().unwrap_or_default().to_vec())),
            Some(Err(e)) => eprintln!("partition {partition}: consume error (retrying): {e}"),
            None => {}
        }
    }
    records
}

type Acked = Vec<(i32, i64, Vec<u8>)>;

/// Produces unique values to every partition until `stop`, returning the acknowledged
/// records and the number of failed sends.
fn produce_until(producer: FutureProducer, topic: String, stop: Arc<AtomicBool>) -> (Acked, usize) {
    let mut pending = Vec::new();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let value = format!("v-{i:08}").into_bytes();
        let record = FutureRecord::<[u8], [u8]>::to(&topic)
            .payload(value.as_slice())
            .partition((i % PARTITIONS as u64) as i32);
        if let Ok(f) = producer.send_result(record) {
            pending.push((value, f));
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut acked = Vec::new();
    let mut failed = 0;
    block_on(async {
        for (value, f) in pending {
            match f.await {
                Ok(Ok(d)) => acked.push((d.partition, d.offset, value)),
                Ok(Err((e, _))) => {
                    if failed < 5 {
                        eprintln!("send of {} failed: {e}", String::from_utf8_lossy(&value));
                    }
                    failed += 1
                }
                Err(_) => failed += 1,
            }
        }
    });
    (acked, failed)
}

/// Every acknowledged record is read back at its offset; no value appears twice; offsets
/// are dense and increasing. A record acknowledged without an offset (-1001: librdkafka's
/// idempotent producer acknowledges in-flight messages implicitly when the answer to a later
/// batch proves they were written, without learning their offsets) must be in its partition.
fn check_history(
    cluster: &Cluster,
    topic: &str,
    acked: &Acked,
) -> BTreeMap<i32, Vec<(i64, Vec<u8>)>> {
    let mut logs = BTreeMap::new();
    let mut seen: HashMap<Vec<u8>, (i32, i64)> = HashMap::new();
    for partition in 0..PARTITIONS {
        let log = read_partition(cluster, topic, partition);
        for (i, (offset, value)) in log.iter().enumerate() {
            assert_eq!(
                *offset, i as i64,
                "partition {partition}: offsets must be dense"
            );
            if let Some((p, o)) = seen.insert(value.clone(), (partition, *offset)) {
                panic!(
                    "value {} read twice: {p}@{o} and {partition}@{offset}",
                    String::from_utf8_lossy(value)
                );
            }
        }
        logs.insert(partition, log);
    }
    let stored: HashMap<(i32, i64), &Vec<u8>> = logs
        .iter()
        .flat_map(|(p, log)| log.iter().map(move |(o, v)| ((*p, *o), v)))
        .collect();
    for (partition, offset, value) in acked {
        if *offset < 0 {
            assert_eq!(
                seen.get(value).map(|(p, _)| p),
                Some(partition),
                "{partition}@?: implicitly acknowledged {} is lost",
                String::from_utf8_lossy(value)
            );
            continue;
        }
        match stored.get(&(*partition, *offset)) {
            Some(v) if *v == value => {}
            Some(v) => panic!(
                "{partition}@{offset}: acknowledged {} but read {}",
                String::from_utf8_lossy(value),
                String::from_utf8_lossy(v)
            ),
            None => panic!(
                "{partition}@{offset}: acknowledged {} is lost",
                String::from_utf8_lossy(value)
            ),
        }
    }
    logs
}

fn leader_of(cluster: &Cluster, via: i32, topic: &str, partition: i32) -> i32 {
    leaders(&describe(cluster.node(via), topic))
        .into_iter()
        .find(|(p, _, _)| *p == partition)
        .map(|(_, leader, _)| leader)
        .unwrap_or(-1)
}

/// kill -9 of the leader of `partition` (as node 1 sees it), then waits until a survivor
/// names another leader for it.
fn kill_leader_and_wait_for_another(cluster: &mut Cluster, topic: &str, partition: i32) {
    let victim = leader_of(cluster, 1, topic, partition);
    cluster.node_mut(victim).kill9();
    let survivor = (1..=3).find(|id| *id != victim).expect("a survivor");
    eventually(
        cluster,
        survivor,
        topic,
        &format!("a new leader of {partition}"),
        |rows| {
            rows.iter()
                .any(|(p, leader, _)| *p == partition && *leader > 0 && *leader != victim)
        },
    );
}

#[test]
fn acked_writes_survive_kill9_of_partition_leaders_under_load() {
    let mut cluster = Cluster::start();
    kill_each_leader_under_load_and_check(&mut cluster);
}

/// A node without FetchStream (`strata.replica.fetch.stream=false` behaves as a version that
/// predates it: unary Fetch calls only, FetchStream answered `Unimplemented`) replicates with
/// nodes that have it, both ways: their fetchers fall back to unary calls for it, and acked
/// writes survive kill -9 of every partition leader in turn, as in the test above.
#[test]
fn a_node_without_fetch_streams_replicates_with_the_others() {
    let mut cluster = Cluster::start_with_one(1, &[("strata.replica.fetch.stream", "false")]);
    kill_each_leader_under_load_and_check(&mut cluster);
    let fell_back = (2..=3).any(|id| {
        cluster
            .node(id)
            .output()
            .contains("the leader has no FetchStream")
    });
    assert!(
        fell_back,
        "neither node 2 nor node 3 logged falling back to unary fetches from node 1"
    );
}

/// Kills the leader of each partition in turn under an idempotent acks=all load (one node down
/// at a time, restarted before the next), then checks every acknowledged record is in the log
/// once, at its offset, and that a follower taking over serves the same log.
fn kill_each_leader_under_load_and_check(cluster: &mut Cluster) {
    let topic = unique_topic("replicated");
    create_replicated_topic(cluster, &topic);

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (producer, topic, stop) = (idempotent_producer(cluster), topic.clone(), stop.clone());
        std::thread::spawn(move || produce_until(producer, topic, stop))
    };
    // Kill the leader of each partition in turn (one node down at a time), then bring it back
    // and wait until it is in sync again. Nodes are spawned from this thread (PDEATHSIG).
    for round in 0..PARTITIONS {
        std::thread::sleep(Duration::from_millis(700));
        let alive = if round == 0 { 1 } else { round };
        let victim = leader_of(cluster, alive, &topic, round);
        assert!(victim > 0, "partition {round} has no leader");
        cluster.node_mut(victim).kill9();
        let survivor = (1..=3).find(|id| *id != victim).expect("a survivor");
        eventually(cluster, survivor, &topic, "a new leader", |rows| {
            rows.len() == PARTITIONS as usize
                && rows
                    .iter()
                    .all(|(_, leader, _)| *leader > 0 && *leader != victim)
        });
        std::thread::sleep(Duration::from_millis(500));
        cluster.node_mut(victim).restart();
        wait_for_full_isr(cluster, &topic);
    }
    stop.store(true, Ordering::Relaxed);
    let (acked, failed) = load.join().expect("producer thread");
    eprintln!("{} acknowledged, {failed} failed", acked.len());
    assert!(
        acked.len() > 300,
        "too few writes were acknowledged: {}",
        acked.len()
    );
    let logs = check_history(cluster, &topic, &acked);

    // The followers hold the leader's log: kill the leader of partition 0 and read the same
    // records from whichever follower takes over.
    kill_leader_and_wait_for_another(cluster, &topic, 0);
    let again = read_partition(cluster, &topic, 0);
    assert_eq!(again, logs[&0], "the new leader serves the same log");
}

#[test]
fn nothing_is_acknowledged_without_min_insync_replicas() {
    let mut cluster = Cluster::start();
    let topic = unique_topic("minority");
    create_replicated_topic(&cluster, &topic);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap(&cluster))
        .set("acks", "all")
        .set("message.timeout.ms", "3000")
        .create()
        .expect("producer");
    let before = block_on(
        producer.send(
            FutureRecord::<[u8], [u8]>::to(&topic)
                .payload(&b"with-quorum"[..])
                .partition(0),
            Duration::from_secs(10),
        ),
    );
    assert!(before.is_ok(), "acks=all with three nodes: {before:?}");

    // Keep node 1 (whichever it leads); kill the others.
    cluster.node_mut(2).kill9();
    cluster.node_mut(3).kill9();
    let results: Vec<_> = (0..PARTITIONS)
        .map(|p| {
            block_on(
                producer.send(
                    FutureRecord::<[u8], [u8]>::to(&topic)
                        .payload(&b"minority"[..])
                        .partition(p),
                    Duration::from_secs(10),
                ),
            )
            .map_err(|(e, _)| e)
        })
        .collect();
    for (p, r) in results.iter().enumerate() {
        assert!(
            r.is_err(),
            "partition {p}: a write was acknowledged by a minority: {r:?}"
        );
    }
    drop(producer);
    cluster.node_mut(2).restart();
    cluster.node_mut(3).restart();
    wait_for_full_isr(&cluster, &topic);
    let log = read_partition(&cluster, &topic, 0);
    assert_eq!(
        log.first().map(|(_, v)| v.as_slice()),
        Some(&b"with-quorum"[..])
    );
}

#[test]
fn rolling_restart_under_load_loses_nothing_and_fails_no_send() {
    let mut cluster = Cluster::start();
    let topic = unique_topic("rolling");
    create_replicated_topic(&cluster, &topic);

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (producer, topic, stop) = (idempotent_producer(&cluster), topic.clone(), stop.clone());
        std::thread::spawn(move || produce_until(producer, topic, stop))
    };
    // SIGTERM each node in turn: controlled shutdown moves its leaderships first, so the
    // producer sees only retriable errors (NOT_LEADER_OR_FOLLOWER and the like, which
    // librdkafka retries) and every send succeeds.
    let mut stop_times = Vec::new();
    for id in 1..=3 {
        std::thread::sleep(Duration::from_millis(700));
        let t0 = Instant::now();
        cluster.node_mut(id).stop();
        let took = t0.elapsed();
        stop_times.push((id, took));
        assert!(
            took < Duration::from_secs(8),
            "node {id} took {took:?} to stop after SIGTERM"
        );
        let survivor = if id == 1 { 2 } else { 1 };
        eventually(
            &cluster,
            survivor,
            &topic,
            "leaders off the stopped node",
            |rows| {
                rows.len() == PARTITIONS as usize
                    && rows
                        .iter()
                        .all(|(_, leader, _)| *leader > 0 && *leader != id)
            },
        );
        std::thread::sleep(Duration::from_millis(300));
        cluster.node_mut(id).restart();
        wait_for_full_isr(&cluster, &topic);
    }
    stop.store(true, Ordering::Relaxed);
    let (acked, failed) = load.join().expect("producer thread");
    eprintln!(
        "rolling restart: {} acknowledged, {failed} failed; stop times {stop_times:?}",
        acked.len()
    );
    assert_eq!(failed, 0, "a send failed during a rolling restart");
    assert!(acked.len() > 300, "too few writes: {}", acked.len());
    check_history(&cluster, &topic, &acked);
}

/// A leader's fetch session serves a caught-up, quiet partition only on a sweep (every tenth
/// of `replica.lag.time.max.ms`): its followers must stay in the ISR while another partition
/// is busy for several lag times, and what is then written to the quiet partitions (acks=all
/// with `min.insync.replicas=3`) must survive a kill -9 of their leader.
#[test]
fn quiet_partitions_keep_a_full_isr_while_another_is_busy() {
    let mut cluster = Cluster::start_with(&[("replica.lag.time.max.ms", "1500")]);
    let topic = unique_topic("quiet");
    create_replicated_topic_with_min_isr(&cluster, &topic, 3);
    let producer = idempotent_producer(&cluster);
    // Partition 0 is written for four lag times; 1 and 2 are left alone meanwhile.
    let busy_until = Instant::now() + Duration::from_secs(6);
    let mut sent = 0u32;
    while Instant::now() < busy_until {
        let value = format!("busy-{sent}");
        let acked = block_on(
            producer.send(
                FutureRecord::<[u8], [u8]>::to(&topic)
                    .payload(value.as_bytes())
                    .partition(0),
                Duration::from_secs(10),
            ),
        );
        assert!(acked.is_ok(), "busy write {sent}: {acked:?}");
        sent += 1;
        if sent.is_multiple_of(50) {
            let rows = leaders(&describe(cluster.node(1), &topic));
            for (p, _, isr) in &rows {
                assert_eq!(
                    isr.split(',').count(),
                    3,
                    "partition {p} lost an ISR member while quiet: {rows:?}"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for p in 1..PARTITIONS {
        let acked = block_on(
            producer.send(
                FutureRecord::<[u8], [u8]>::to(&topic)
                    .payload(format!("after-quiet-{p}").as_bytes())
                    .partition(p),
                Duration::from_secs(10),
            ),
        );
        assert!(
            acked.is_ok(),
            "acks=all with min.insync.replicas=3 to the quiet partition {p}: {acked:?}"
        );
    }
    drop(producer);
    kill_leader_and_wait_for_another(&mut cluster, &topic, 1);
    let log = read_partition(&cluster, &topic, 1);
    assert_eq!(
        log.iter().map(|(_, v)| v.as_slice()).collect::<Vec<_>>(),
        vec![&b"after-quiet-1"[..]],
        "the acknowledged write to a quiet partition survives its leader"
    );
}

/// While the controller has not yet moved a killed leader's partitions (a 3 s broker session
/// here), survivors whose fetches to it fail keep naming it: Metadata waits a little for a new
/// leader but never reports none. A leader reported as none with an unchanged epoch strands the
/// partition in librdkafka (confluentinc/librdkafka#4804) when the same leader is named again.
/// Then the new leader takes writes.
#[test]
fn survivors_never_report_a_killed_leaders_partitions_leaderless() {
    let mut cluster = Cluster::start_with(&[("broker.session.timeout.ms", "3000")]);
    let topic = unique_topic("unreachable");
    create_replicated_topic(&cluster, &topic);
    let before = leaders(&describe(cluster.node(1), &topic));
    let victim = leader_of(&cluster, 1, &topic, 0);
    let survivor = (1..=3).find(|id| *id != victim).expect("a survivor");
    cluster.node_mut(victim).kill9();
    let killed = Instant::now();
    // Well inside the session: the image still names the victim, and so must every answer.
    while killed.elapsed() < Duration::from_millis(1_500) {
        let out = describe_or_error(cluster.node(survivor), &topic);
        let rows = leaders(&out);
        assert_eq!(
            rows.len(),
            before.len(),
            "node {survivor} describes:\n{out}"
        );
        assert!(
            rows.iter().all(|(_, leader, _)| *leader > 0),
            "a partition reported without a leader right after the kill:\n{out}"
        );
    }
    eventually(
        &cluster,
        survivor,
        &topic,
        "a new leader of partition 0",
        |rows| {
            rows.iter()
                .any(|(p, leader, _)| *p == 0 && *leader > 0 && *leader != victim)
        },
    );
    let acked = block_on(
        idempotent_producer(&cluster).send(
            FutureRecord::<[u8], [u8]>::to(&topic)
                .payload(&b"after-failover"[..])
                .partition(0),
            Duration::from_secs(10),
        ),
    );
    assert!(acked.is_ok(), "a write to the new leader: {acked:?}");
}
