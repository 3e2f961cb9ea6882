//! The seeds' consumer-group hands-on, with the tools as the tutorial runs them: while records
//! are produced continuously to `inventory_purchases` (6 partitions, RF 3, three nodes),
//! `kafka-console-consumer --group 1` alone, then two `--group 2` consumers side by side, each
//! stopped with Ctrl-C (SIGINT). Group 1's consumer reads every partition without a gap; the two
//! of group 2 share the partitions and together read without a gap; `kafka-consumer-groups`
//! lists the groups, shows the 3 + 3 assignment and, once group 1 caught up, zero lag.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::cluster::*;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use strata_tests::strata_bin;

const PARTITIONS: i32 = 6;

fn console_consumer(cluster: &Cluster, group: &str, out: &std::path::Path) -> Child {
    console_consumer_with(cluster, group, out, &[])
}

fn console_consumer_with(
    cluster: &Cluster,
    group: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> Child {
    Command::new(strata_bin())
        .args([
            "kafka-console-consumer",
            "--bootstrap-server",
            &cluster.node(1).bootstrap(),
            "--topic",
            "inventory_purchases",
            "--group",
            group,
        ])
        .args(extra)
        .stdout(std::fs::File::create(out).expect("output file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kafka-console-consumer")
}

/// How long a console consumer may take to exit (after Ctrl-C, or its `--timeout-ms`).
const EXIT_LIMIT: Duration = Duration::from_secs(60);

/// Waits for `child` to exit and collects its output; a child still running after
/// [`EXIT_LIMIT`] is killed and the test fails saying so, instead of hanging.
fn wait_bounded(child: Child, what: &str) -> std::process::Output {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(EXIT_LIMIT) {
        Ok(output) => output.expect("consumer exit"),
        Err(_) => {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{what} did not exit within {EXIT_LIMIT:?}");
        }
    }
}

/// Ctrl-C, then the consumer's "Processed a total of N messages".
fn interrupt(child: Child) -> String {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = wait_bounded(child, "a console consumer after Ctrl-C");
    assert!(
        output.status.success(),
        "consumer exit status {:?}",
        output.status
    );
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// `strata kafka-consumer-groups --bootstrap-server <node 1> <args>`: (ok, stdout, stderr).
fn consumer_groups(cluster: &Cluster, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(strata_bin())
        .args([
            "kafka-consumer-groups",
            "--bootstrap-server",
            &cluster.node(1).bootstrap(),
        ])
        .args(args)
        .output()
        .expect("run kafka-consumer-groups");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The data rows of `kafka-consumer-groups --describe` (after the GROUP header), split on
/// whitespace: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID.
fn describe_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip_while(|l| !l.starts_with("GROUP "))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Produces "product: p<P>, quantity: <N>" to every partition until `stop`.
fn spawn_producer(cluster: &Cluster, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let servers = cluster.node(1).bootstrap();
    std::thread::spawn(move || {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", servers)
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        let mut seq = vec![0u64; PARTITIONS as usize];
        while !stop.load(Ordering::Relaxed) {
            for p in 0..PARTITIONS {
                let value = format!("product: p{p}, quantity: {}", seq[p as usize]);
                if producer
                    .send(
                        BaseRecord::<(), _>::to("inventory_purchases")
                            .payload(&value)
                            .partition(p),
                    )
                    .is_ok()
                {
                    seq[p as usize] += 1;
                }
            }
            producer.poll(Duration::from_millis(20));
        }
        let _ = producer.flush(Duration::from_secs(10));
    })
}

/// Polls `done` every 200 ms until it holds or `timeout` passes (the assertions after it say
/// what was missing).
fn wait_for(timeout: Duration, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `(partition, sequence)` of every line: the producer writes "product: p<P>, quantity: <N>".
fn read_lines(path: &std::path::Path) -> Vec<(i32, u64)> {
    std::fs::read_to_string(path)
        .expect("output")
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("product: p")?;
            let (p, n) = rest.split_once(", quantity: ")?;
            Some((p.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

/// Per partition the sequence numbers read are consecutive (no gap; repeats allowed).
fn assert_no_gaps(read: &[(i32, u64)], what: &str) {
    let mut by_partition: BTreeMap<i32, BTreeSet<u64>> = BTreeMap::new();
    for (p, n) in read {
        by_partition.entry(*p).or_default().insert(*n);
    }
    for (p, seqs) in &by_partition {
        let (first, last) = (
            seqs.first().copied().unwrap_or(0),
            seqs.last().copied().unwrap_or(0),
        );
        assert_eq!(
            seqs.len() as u64,
            last - first + 1,
            "{what}: partition {p} has a gap between {first} and {last}"
        );
    }
}

#[test]
fn seed_hands_on_consuming_with_multiple_consumer_groups() {
    let cluster = Cluster::start_with(&[("group.initial.rebalance.delay.ms", "500")]);
    let (ok, out, err) = tool(
        cluster.node(1),
        &[
            "--create",
            "--replication-factor",
            "3",
            "--partitions",
            "6",
            "--topic",
            "inventory_purchases",
        ],
    );
    assert!(ok, "{out}{err}");
    let stop = Arc::new(AtomicBool::new(false));
    let producer = spawn_producer(&cluster, stop.clone());
    let dir = tempfile::tempdir().expect("temp dir");

    // Group 1: one consumer for a few seconds.
    let g1 = dir.path().join("group1_consumer1.txt");
    let c = console_consumer(&cluster, "1", &g1);
    // "Let it run for a few seconds": until it has read from every partition.
    wait_for(Duration::from_secs(30), || {
        let read = read_lines(&g1);
        read.len() > 50 && read.iter().map(|(p, _)| *p).collect::<BTreeSet<_>>().len() == 6
    });
    let said = interrupt(c);
    let read = read_lines(&g1);
    assert!(
        said.contains(&format!("Processed a total of {} messages", read.len())),
        "{said}"
    );
    assert!(read.len() > 50, "group 1 read {} records", read.len());
    let partitions: BTreeSet<i32> = read.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        partitions.len(),
        PARTITIONS as usize,
        "the sole consumer reads every partition"
    );
    assert_no_gaps(&read, "group 1");

    // Group 2: two consumers, the second started a little later; both stopped with Ctrl-C.
    let (f1, f2) = (
        dir.path().join("group2_consumer1.txt"),
        dir.path().join("group2_consumer2.txt"),
    );
    let c1 = console_consumer(&cluster, "2", &f1);
    std::thread::sleep(Duration::from_secs(2));
    let c2 = console_consumer(&cluster, "2", &f2);
    // Both have joined and the second reads its share.
    wait_for(Duration::from_secs(30), || {
        read_lines(&f2)
            .iter()
            .map(|(p, _)| *p)
            .collect::<BTreeSet<_>>()
            .len()
            == 3
    });
    std::thread::sleep(Duration::from_secs(2));
    // kafka-consumer-groups shows the two members with three partitions each.
    let (ok, described, err) = consumer_groups(&cluster, &["--describe", "--group", "2"]);
    assert!(ok, "{described}{err}");
    let rows = describe_rows(&described);
    assert_eq!(rows.len(), 6, "{described}");
    let mut per_member: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *per_member.entry(r[6].clone()).or_default() += 1;
    }
    assert_eq!(
        per_member.values().copied().collect::<Vec<_>>(),
        vec![3, 3],
        "{described}"
    );
    interrupt(c2);
    interrupt(c1);
    stop.store(true, Ordering::Relaxed);
    producer.join().expect("producer");
    // Group 1 catches up (and commits on exit): zero lag everywhere, no active member.
    let drain = dir.path().join("group1_drain.txt");
    let c = console_consumer_with(&cluster, "1", &drain, &["--timeout-ms", "4000"]);
    let out = wait_bounded(c, "the draining console consumer (--timeout-ms 4000)");
    assert!(out.status.success());
    let (ok, described, err) = consumer_groups(&cluster, &["--describe", "--group", "1"]);
    assert!(ok, "{described}{err}");
    assert!(
        err.contains("Consumer group '1' has no active members."),
        "{err}"
    );
    let rows = describe_rows(&described);
    assert_eq!(rows.len(), 6, "{described}");
    assert!(
        rows.iter().all(|r| r[5] == "0" && r[6] == "-"),
        "zero lag: {described}"
    );
    let (ok, listed, _) = consumer_groups(&cluster, &["--list"]);
    assert!(ok);
    let listed: BTreeSet<&str> = listed.lines().collect();
    assert!(listed.contains("1") && listed.contains("2"), "{listed:?}");
    let (r1, r2) = (read_lines(&f1), read_lines(&f2));
    assert!(
        !r1.is_empty() && !r2.is_empty(),
        "both consumers read: {} and {}",
        r1.len(),
        r2.len()
    );
    let p2: BTreeSet<i32> = r2.iter().map(|(p, _)| *p).collect();
    assert!(
        p2.len() == 3,
        "the second consumer of group 2 got half of the six partitions: {p2:?}"
    );
    let together: Vec<(i32, u64)> = r1.iter().chain(r2.iter()).copied().collect();
    assert_no_gaps(&together, "group 2");

    // A member that dies without leaving (kill -9) is dropped when its session expires, and
    // the survivor takes over its partitions, from the last commit: no gap.
    let session = [
        "--consumer-property",
        "session.timeout.ms=6000",
        "--consumer-property",
        "auto.commit.interval.ms=1000",
    ];
    let (k1, k2) = (
        dir.path().join("group3_consumer1.txt"),
        dir.path().join("group3_consumer2.txt"),
    );
    stop.store(false, Ordering::Relaxed);
    let producer = spawn_producer(&cluster, stop.clone());
    let survivor = console_consumer_with(&cluster, "3", &k1, &session);
    wait_for(Duration::from_secs(30), || !read_lines(&k1).is_empty());
    let mut victim = console_consumer_with(&cluster, "3", &k2, &session);
    wait_for(Duration::from_secs(30), || {
        read_lines(&k2)
            .iter()
            .map(|(p, _)| *p)
            .collect::<BTreeSet<_>>()
            .len()
            == 3
    });
    std::thread::sleep(Duration::from_secs(2));
    victim.kill().expect("kill -9 the second consumer");
    let _ = victim.wait();
    let killed_at = std::time::Instant::now();
    let before = read_lines(&k1).len();
    // The survivor must be reading all six partitions again within session + rebalance time.
    wait_for(Duration::from_secs(30), || {
        let lines = read_lines(&k1);
        lines[before.min(lines.len())..]
            .iter()
            .map(|(p, _)| *p)
            .collect::<BTreeSet<_>>()
            .len()
            == 6
    });
    let took = killed_at.elapsed();
    let after: BTreeSet<i32> = read_lines(&k1)[before..].iter().map(|(p, _)| *p).collect();
    assert_eq!(
        after.len(),
        6,
        "the survivor took over every partition ({took:?} after the kill)"
    );
    interrupt(survivor);
    stop.store(true, Ordering::Relaxed);
    producer.join().expect("producer");
    let together: Vec<(i32, u64)> = read_lines(&k1).into_iter().chain(read_lines(&k2)).collect();
    assert_no_gaps(&together, "group 3");
    eprintln!("survivor owned all partitions {took:?} after kill -9 (session.timeout.ms=6000)");
}
