//! Leader elections on three real processes: `kafka-leader-election` (Kafka's
//! ElectLeaders) moves leaderships back to preferred replicas and gives an offline partition
//! an unclean leader, with Kafka 3.9's output (so does turning `unclean.leader.election.enable`
//! on for a topic with an offline partition); `auto.leader.rebalance.enable` brings preferred
//! leaders back on its own after a restart.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::*;
use common::{admin, admin_opts, block_on, unique_topic};
use rdkafka::admin::{AlterConfig, ResourceSpecifier};
use strata_tests::strata_bin;

/// `(partition, leader, replicas, isr)` of every partition, from `kafka-topics --describe`.
fn partitions(cluster: &Cluster, via: i32, topic: &str) -> Vec<(i32, i32, Vec<i32>, Vec<i32>)> {
    let out = describe_or_error(cluster.node(via), topic);
    out.lines()
        .filter(|l| l.starts_with('\t'))
        .map(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            let ids = |s: String| -> Vec<i32> {
                s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
            };
            (
                field("Partition: ").parse().unwrap_or(-9),
                field("Leader: ").parse().unwrap_or(-1),
                ids(field("Replicas: ")),
                ids(field("Isr: ")),
            )
        })
        .collect()
}

/// Polls until `check` holds for the partitions as node `via` describes them.
fn wait_until(
    cluster: &Cluster,
    via: i32,
    topic: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&[(i32, i32, Vec<i32>, Vec<i32>)]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let rows = partitions(cluster, via, topic);
        if !rows.is_empty() && check(&rows) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened; node {via} describes {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn preferred_lead(rows: &[(i32, i32, Vec<i32>, Vec<i32>)]) -> bool {
    rows.iter()
        .all(|(_, leader, replicas, _)| replicas.first() == Some(leader))
}

fn full_isr(rows: &[(i32, i32, Vec<i32>, Vec<i32>)]) -> bool {
    rows.iter()
        .all(|(_, leader, replicas, isr)| *leader > 0 && isr.len() == replicas.len())
}

fn create(cluster: &Cluster, topic: &str, args: &[&str]) {
    let mut all = vec!["--create", "--topic", topic];
    all.extend_from_slice(args);
    let (ok, out, err) = tool(cluster.node(1), &all);
    assert!(ok, "create {topic}: {out}{err}");
}

/// `strata kafka-leader-election --bootstrap-server <node> <args>`: (exit ok, stdout, stderr).
fn elect(node: &strata_tests::StrataNode, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(strata_bin())
        .arg("kafka-leader-election")
        .arg("--bootstrap-server")
        .arg(node.bootstrap())
        .args(args)
        .output()
        .expect("run kafka-leader-election");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn preferred_and_unclean_elections_with_the_tool() {
    // The balancer off: leaderships move only when the tool asks.
    let mut cluster = Cluster::start_with(&[("auto.leader.rebalance.enable", "false")]);
    let topic = unique_topic("elect");
    create(
        &cluster,
        &topic,
        &["--partitions", "3", "--replication-factor", "3"],
    );
    wait_until(
        &cluster,
        1,
        &topic,
        "full ISRs",
        Duration::from_secs(20),
        |r| r.len() == 3 && full_isr(r) && preferred_lead(r),
    );

    // Nothing to do yet.
    let (ok, out, err) = elect(
        cluster.node(2),
        &[
            "--election-type",
            "preferred",
            "--topic",
            &topic,
            "--partition",
            "0",
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        format!("Valid replica already elected for partitions {topic}-0\n")
    );
    let (ok, out, err) = elect(
        cluster.node(2),
        &["--election-type", "preferred", "--all-topic-partitions"],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(out, "", "no partition needed an election: {err}");

    // Restart node 1: the partition it led moves to another replica and stays there.
    let rows = partitions(&cluster, 2, &topic);
    let led_by_1: Vec<i32> = rows.iter().filter(|r| r.1 == 1).map(|r| r.0).collect();
    assert!(!led_by_1.is_empty(), "node 1 leads a partition: {rows:?}");
    cluster.node_mut(1).kill9();
    wait_until(
        &cluster,
        2,
        &topic,
        "leaders moved off node 1",
        Duration::from_secs(20),
        |r| r.iter().all(|row| row.1 > 1),
    );
    cluster.node_mut(1).restart();
    wait_until(
        &cluster,
        2,
        &topic,
        "node 1 back in every ISR",
        Duration::from_secs(30),
        full_isr,
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !preferred_lead(&partitions(&cluster, 2, &topic)),
        "with auto.leader.rebalance.enable=false leaderships stay where they moved"
    );

    // A preferred election over every partition moves them back, and says which.
    let (ok, out, err) = elect(
        cluster.node(3),
        &["--election-type", "PREFERRED", "--all-topic-partitions"],
    );
    assert!(ok, "{out}{err}");
    let moved: Vec<String> = led_by_1.iter().map(|p| format!("{topic}-{p}")).collect();
    assert_eq!(
        out,
        format!(
            "Successfully completed leader election (PREFERRED) for partitions {}\n",
            moved.join(", ")
        )
    );
    wait_until(
        &cluster,
        3,
        &topic,
        "preferred leaders",
        Duration::from_secs(10),
        preferred_lead,
    );

    // Failures: an unknown topic, and a preferred replica that is down.
    let (ok, out, err) = elect(
        cluster.node(2),
        &[
            "--election-type",
            "preferred",
            "--topic",
            "no-such-topic",
            "--partition",
            "0",
        ],
    );
    assert!(!ok, "an unknown topic fails: {out}");
    assert_eq!(
        out,
        "Error completing leader election (PREFERRED) for partition: no-such-topic-0: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: No such topic as no-such-topic\n"
    );
    assert!(
        err.starts_with("1 replica(s) could not be elected\n"),
        "{err}"
    );
    let p = led_by_1[0];
    cluster.node_mut(1).kill9();
    wait_until(
        &cluster,
        2,
        &topic,
        "leaders moved off node 1",
        Duration::from_secs(20),
        |r| r.iter().all(|row| row.1 > 1),
    );
    let (ok, out, _) = elect(
        cluster.node(2),
        &[
            "--election-type",
            "preferred",
            "--topic",
            &topic,
            "--partition",
            &p.to_string(),
        ],
    );
    assert!(!ok);
    assert_eq!(
        out,
        format!("Error completing leader election (PREFERRED) for partition: {topic}-{p}: org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: The preferred leader was not available.\n")
    );
    cluster.node_mut(1).restart();

    // Unclean: partitions on nodes 2 and 3 whose last ISR member (2) is down while 3 is up.
    // One gets its leader from the tool, the other from turning the topic config on.
    let offline = unique_topic("unclean");
    let by_config = unique_topic("unclean-config");
    for t in [&offline, &by_config] {
        create(&cluster, t, &["--replica-assignment", "2:3"]);
        wait_until(
            &cluster,
            1,
            t,
            "a full ISR",
            Duration::from_secs(20),
            full_isr,
        );
    }
    let (ok, out, err) = elect(
        cluster.node(1),
        &[
            "--election-type",
            "unclean",
            "--topic",
            &offline,
            "--partition",
            "0",
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        format!("Valid replica already elected for partitions {offline}-0\n")
    );
    cluster.node_mut(3).kill9();
    for t in [&offline, &by_config] {
        wait_until(&cluster, 1, t, "ISR [2]", Duration::from_secs(20), |r| {
            r[0].1 == 2 && r[0].3 == vec![2]
        });
    }
    // Node 2 goes down while node 3 is away; the quorum (1 + 3) is whole again once 3 is back.
    cluster.node_mut(2).kill9();
    cluster.node_mut(3).restart();
    for t in [&offline, &by_config] {
        wait_until(
            &cluster,
            1,
            t,
            "the partition offline",
            Duration::from_secs(20),
            |r| r[0].1 == -1,
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        partitions(&cluster, 1, &offline)[0].1,
        -1,
        "without unclean.leader.election.enable node 3 (out of sync) does not lead"
    );
    let (ok, out, err) = elect(
        cluster.node(3),
        &[
            "--election-type",
            "unclean",
            "--topic",
            &offline,
            "--partition",
            "0",
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        format!("Successfully completed leader election (UNCLEAN) for partitions {offline}-0\n")
    );
    wait_until(
        &cluster,
        1,
        &offline,
        "node 3 leads",
        Duration::from_secs(10),
        |r| r[0].1 == 3 && r[0].3 == vec![3],
    );
    assert_eq!(
        partitions(&cluster, 1, &by_config)[0].1,
        -1,
        "only the named partition"
    );
    let config = AlterConfig::new(ResourceSpecifier::Topic(&by_config))
        .set("unclean.leader.election.enable", "true");
    let altered = block_on(admin(cluster.node(1)).alter_configs(&[config], &admin_opts()))
        .expect("AlterConfigs");
    assert!(altered.iter().all(|r| r.is_ok()), "{altered:?}");
    wait_until(
        &cluster,
        1,
        &by_config,
        "node 3 leads after the config change",
        Duration::from_secs(10),
        |r| r[0].1 == 3 && r[0].3 == vec![3],
    );
    // The old leader comes back as a follower and rejoins.
    cluster.node_mut(2).restart();
    for t in [&offline, &by_config] {
        wait_until(
            &cluster,
            1,
            t,
            "node 2 back in the ISR",
            Duration::from_secs(30),
            |r| r[0].1 == 3 && r[0].3.len() == 2,
        );
    }
}

#[test]
fn preferred_leaders_come_back_after_a_restart() {
    let mut cluster = Cluster::start_with(&[
        ("auto.leader.rebalance.enable", "true"),
        ("leader.imbalance.check.interval.seconds", "1"),
    ]);
    let topic = unique_topic("rebalance");
    // min.insync.replicas=3: an acks=all write needs every replica fetching from its leader.
    create(
        &cluster,
        &topic,
        &[
            "--partitions",
            "6",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=3",
        ],
    );
    wait_until(
        &cluster,
        1,
        &topic,
        "full ISRs",
        Duration::from_secs(20),
        |r| r.len() == 6 && full_isr(r) && preferred_lead(r),
    );
    for victim in 1..=3 {
        let other = if victim == 1 { 2 } else { 1 };
        // A graceful stop (controlled shutdown) and a crash: both must end balanced.
        if victim == 2 {
            cluster.node_mut(victim).stop();
        } else {
            cluster.node_mut(victim).kill9();
        }
        wait_until(
            &cluster,
            other,
            &topic,
            "leaders moved off the victim",
            Duration::from_secs(20),
            |r| r.iter().all(|row| row.1 > 0 && row.1 != victim),
        );
        cluster.node_mut(victim).restart();
        wait_until(
            &cluster,
            other,
            &topic,
            "preferred leaders back",
            Duration::from_secs(30),
            |r| full_isr(r) && preferred_lead(r),
        );
        // Every follower fetches from the returned leaders again (a fetcher that idled while
        // its leader led nothing must wake up for the new leaderships): acks=all writes to
        // every partition are acknowledged.
        let producer = common::producer(cluster.node(other), &[("acks", "all")]);
        let records = (0..6)
            .map(|p| {
                rdkafka::producer::FutureRecord::<[u8], [u8]>::to(&topic)
                    .partition(p)
                    .payload(b"after the restart".as_slice())
            })
            .collect();
        let delivered = common::send_all(&producer, records);
        assert_eq!(delivered.len(), 6, "victim {victim}: {delivered:?}");
    }
}
