//! A three-process cluster: one Raft quorum of combined nodes.
//!
//! Checks, with real processes and `kill -9`: an RF 3 topic created through a node that is
//! not the active controller is described identically by every node; killing the active
//! controller elects a new one and admin requests work again; killing a broker moves the
//! leaderships it held to live ISR members; a restarted broker is unfenced and back in the
//! ISR; a full stop and restart keeps topics, ids and configs; the dead active controller's
//! named successor (lowest surviving id) takes over promptly.

mod common;

use common::cluster::*;

use std::time::{Duration, Instant};

use strata_tests::{free_port, StrataNode};

#[test]
fn three_node_cluster_survives_node_loss() {
    let mut cluster = Cluster::start();
    let controller = active_controller(cluster.node(1));
    let other = (1..=3)
        .find(|id| *id != controller)
        .expect("a non-controller node");

    // Create through a node that is not the active controller: the request is forwarded.
    create_with_tool(
        cluster.node(other),
        "replicated",
        3,
        3,
        &["retention.ms=3600000"],
    );
    // Every node describes the same leaders, replicas and ISR.
    // Other nodes learn the commit with the next Raft heartbeat (milliseconds).
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let (ok, out, err) = tool(cluster.node(1), &["--describe", "--topic", "replicated"]);
        if ok {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "node 1 never saw the topic: {out}{err}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    for id in 2..=3 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while describe_or_error(cluster.node(id), "replicated") != first {
            assert!(
                Instant::now() < deadline,
                "node {id} disagrees with node 1:\n{first}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(
        first.contains("ReplicationFactor: 3") && first.contains("retention.ms=3600000"),
        "{first}"
    );
    let topic_id_line = first.lines().next().unwrap_or_default().to_string();

    // kill -9 the active controller: a new one is elected and admin requests work again.
    cluster.node_mut(controller).kill9();
    let survivor = (1..=3).find(|id| *id != controller).expect("a survivor");
    create_with_tool(cluster.node(survivor), "after-controller-loss", 2, 2, &[]);
    // Partitions the dead node led moved to live ISR members; it left every ISR.
    eventually(
        &cluster,
        survivor,
        "replicated",
        "re-election after kill -9",
        |rows| {
            rows.len() == 3
                && rows.iter().all(|(_, leader, isr)| {
                    *leader != controller
                        && *leader > 0
                        && !isr.split(',').any(|r| r == controller.to_string())
                })
        },
    );

    // Restart: the node registers again, is unfenced and back in every ISR.
    cluster.node_mut(controller).restart();
    eventually(
        &cluster,
        survivor,
        "replicated",
        "rejoin after restart",
        |rows: &[(i32, i32, String)]| {
            rows.len() == 3 && rows.iter().all(|(_, _, isr)| isr.split(',').count() == 3)
        },
    );

    // Stop and restart all three: topics, ids and configs are intact.
    for id in 1..=3 {
        cluster.node_mut(id).stop();
    }
    StrataNode::restart_many(&mut cluster.nodes);
    let again = describe(cluster.node(2), "replicated");
    assert_eq!(
        again.lines().next().unwrap_or_default(),
        topic_id_line,
        "topic id and configs after a full restart"
    );
    let (ok, list, _) = tool(cluster.node(3), &["--list"]);
    assert!(ok && list.contains("after-controller-loss"), "{list}");
}

/// kill -9 of the active controller: the lowest surviving voter id, its named successor,
/// campaigns as soon as the leader lease allows and becomes the active controller; every
/// acks=all record acknowledged before the kill is still there, and writes and admin requests
/// work again. The election timeout is stretched (lease 2 s; Raft's own campaigns start at 3 s
/// at the earliest) so that the prompt campaign, at about 2.1 s, wins on a loaded machine too.
#[test]
fn a_dead_active_controllers_named_successor_takes_over() {
    let mut cluster = Cluster::start_with(&[("controller.quorum.election.timeout.ms", "1000")]);
    let controller = active_controller(cluster.node(1));
    let successor = (1..=3).find(|id| *id != controller).expect("a survivor");
    let topic = common::unique_topic("successor");
    create_with_tool(
        cluster.node(successor),
        &topic,
        1,
        3,
        &["min.insync.replicas=2"],
    );
    eventually(&cluster, successor, &topic, "a full ISR", |rows| {
        rows.len() == 1 && rows[0].2.split(',').count() == 3
    });
    let everyone = bootstrap(&cluster);
    let producer = common::producer(
        cluster.node(successor),
        // Idempotent: a send retried across the failover must not be written twice, as
        // the read-back compares every record.
        &[
            ("bootstrap.servers", &everyone),
            ("acks", "all"),
            ("enable.idempotence", "true"),
        ],
    );
    // Sends records `from..from + 100` with acks=all and returns their values.
    let send_batch = |from: usize| {
        let values: Vec<Vec<u8>> = (from..from + 100)
            .map(|i| format!("record-{i}").into_bytes())
            .collect();
        common::send_all(
            &producer,
            values
                .iter()
                .map(|v| rdkafka::producer::FutureRecord::to(&topic).payload(v.as_slice()))
                .collect(),
        );
        values
    };
    let before = send_batch(0);

    let log_before_kill = cluster.node(successor).output().len();
    cluster.node_mut(controller).kill9();
    let deadline = Instant::now() + Duration::from_secs(20);
    let elected = loop {
        match try_active_controller(cluster.node(successor)) {
            Some(id) if id != controller => break id,
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "no new active controller 20 s after killing node {controller}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert_eq!(
        elected, successor,
        "node {successor}, the lowest surviving id, should have won the prompt election"
    );
    assert!(
        cluster
            .node(successor)
            .output()
            .contains("campaigning now as its named successor"),
        "node {successor} never logged its prompt campaign"
    );

    // The partition moves off the dead node; writes go on and nothing acknowledged is lost.
    eventually(&cluster, successor, &topic, "re-election", |rows| {
        rows.len() == 1 && rows[0].1 > 0 && rows[0].1 != controller
    });
    let after = send_batch(100);
    // The consumer also learns of the dead node and reports its connection failing: that
    // error is not about the records, so read past it.
    let consumer = common::consumer(cluster.node(successor));
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, 0, rdkafka::Offset::Beginning)
        .expect("assignment");
    rdkafka::consumer::Consumer::assign(&consumer, &assignment).expect("assign");
    let mut values: Vec<Vec<u8>> = Vec::new();
    let deadline = Instant::now() + common::IO_TIMEOUT;
    while values.len() < 200 && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => values.push(rdkafka::Message::payload(&m).unwrap_or_default().to_vec()),
            Some(Err(rdkafka::error::KafkaError::MessageConsumption(
                rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure,
            ))) => {}
            Some(Err(e)) => panic!("consuming {topic}: {e} after {} records", values.len()),
            None => {}
        }
    }
    assert_eq!(values, [before, after].concat());
    create_with_tool(cluster.node(successor), "after-prompt-election", 1, 2, &[]);

    // The new active controller fenced the dead node only: the survivors' heartbeats, which
    // reach every voter, kept their sessions alive across the takeover.
    let log = cluster.node(successor).output();
    let since_kill = log.get(log_before_kill..).unwrap_or_default();
    let wrongly_fenced: Vec<&str> = since_kill
        .lines()
        .filter(|l| {
            l.contains("fencing a broker whose session expired")
                && !l.contains(&format!("broker_id={controller} "))
        })
        .collect();
    assert!(
        wrongly_fenced.is_empty(),
        "node {successor} fenced a live node: {wrongly_fenced:?}"
    );
}

fn wait_for_output(node: &StrataNode, needle: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !node.output().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{what}: no {needle:?} in the node output:\n{}",
            node.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_node_of_another_cluster_is_refused() {
    let controller_ports: Vec<u16> = (0..3).map(|_| free_port().expect("free port")).collect();
    // Node 3 belongs to another cluster: nodes 1 and 2 still form a quorum (2 of 3).
    let stranger = member(3, &controller_ports, "AAAAAAAAAAAAAAAAAAAAAQ");
    let stranger = StrataNode::start_no_wait(&borrowed(&stranger)).expect("spawn the stranger");
    let configs: Vec<_> = (1..=2)
        .map(|id| member(id, &controller_ports, CLUSTER_ID))
        .collect();
    let nodes = StrataNode::start_many(&configs).expect("nodes 1 and 2 form a quorum");
    // The stranger's Raft RPCs are refused with a log line naming both clusters.
    let refused = || {
        nodes
            .iter()
            .any(|n| n.output().contains("refusing") && n.output().contains("another cluster"))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !refused() {
        assert!(
            Instant::now() < deadline,
            "no refusal logged; node 1 says:\n{}",
            nodes[0].output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !stranger.output().contains("Strata node 3 started"),
        "the stranger must never join:\n{}",
        stranger.output()
    );
    // The real cluster works and knows only its own brokers.
    let (ok, out, err) = tool(
        &nodes[0],
        &["--create", "--topic", "ours", "--replication-factor", "2"],
    );
    assert!(ok, "{out}{err}");
}

#[test]
fn garbled_raft_rpcs_and_id_clashes_are_refused() {
    use std::io::Write;
    let mut cluster = Cluster::start();
    // Random bytes, and an HTTP/2 preface followed by junk, at every controller port.
    for port in cluster.controller_ports.clone() {
        for payload in [
            vec![0x17u8; 300],
            [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), vec![0xff; 64]].concat(),
        ] {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(&payload);
            }
        }
    }
    let (ok, out, err) = tool(
        cluster.node(1),
        &[
            "--create",
            "--topic",
            "still-works",
            "--replication-factor",
            "3",
        ],
    );
    assert!(
        ok,
        "the quorum must survive garbage on its controller port: {out}{err}"
    );

    // A second process claiming node 2's id (with its own controller port) is refused at start.
    let mut ports = cluster.controller_ports.clone();
    ports[1] = free_port().expect("free port");
    let mut clash = member(2, &ports, CLUSTER_ID);
    // ... but the voters list everyone at their real ports.
    clash[2].1 = member(2, &cluster.controller_ports, CLUSTER_ID)[2]
        .1
        .clone();
    match StrataNode::try_start(&borrowed(&clash)) {
        Ok(_) => panic!("a second node 2 started"),
        Err(e) => assert!(
            e.to_string().contains("node.id"),
            "the refusal must say what is wrong: {e}"
        ),
    }
    // A node with a different voter list is refused by the quorum, which keeps working.
    let mut odd = member(3, &cluster.controller_ports, CLUSTER_ID);
    odd[2].1 = format!("{},4@127.0.0.1:1", odd[2].1);
    cluster.node_mut(3).kill9();
    let odd_node = StrataNode::start_no_wait(&borrowed(&odd)).expect("spawn");
    wait_for_output(
        cluster.node(1),
        "different controller.quorum.voters",
        "voter-list mismatch",
    );
    drop(odd_node);
    let (ok, out, err) = tool(
        cluster.node(2),
        &[
            "--create",
            "--topic",
            "after-odd-voters",
            "--replication-factor",
            "2",
        ],
    );
    assert!(ok, "{out}{err}");
}

/// `process.roles=controller` voters plus a `process.roles=broker` node that is not a voter:
/// the broker registers through the remote quorum, is unfenced, leads the partitions it is
/// given and serves produce/consume, while the controllers serve no clients.
#[test]
fn controller_only_and_broker_only_nodes() {
    let controller_ports: Vec<u16> = (0..3).map(|_| free_port().expect("free port")).collect();
    let voters = controller_ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let controllers: Vec<StrataNode> = (1..=3)
        .map(|id| {
            let config = [
                ("node.id", id.to_string()),
                ("process.roles", "controller".to_string()),
                (
                    "listeners",
                    format!("CONTROLLER://127.0.0.1:{}", controller_ports[id - 1]),
                ),
                ("controller.quorum.voters", voters.clone()),
                ("strata.cluster.id", CLUSTER_ID.to_string()),
            ];
            let config: Vec<(&str, &str)> = config.iter().map(|(k, v)| (*k, v.as_str())).collect();
            StrataNode::start_no_wait(&config).expect("spawn a controller")
        })
        .collect();
    // The harness's readiness check needs a client port, which controllers do not have.
    for (i, node) in controllers.iter().enumerate() {
        wait_for_output(
            node,
            &format!("Strata controller {} started", i + 1),
            "controller start",
        );
        assert!(
            std::net::TcpStream::connect(node.addr()).is_err(),
            "a controller-only node must not serve clients"
        );
    }

    let broker = StrataNode::start_with(&[
        ("node.id", "4"),
        ("process.roles", "broker"),
        ("controller.quorum.voters", &voters),
        ("strata.cluster.id", CLUSTER_ID),
    ]);
    let topic = common::unique_topic("isolated");
    create_with_tool(&broker, &topic, 1, 1, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = describe_or_error(&broker, &topic);
        if leaders(&out) == vec![(0, 4, "4".to_string())] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broker never led {topic}-0:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let producer = common::producer(&broker, &[]);
    let records: Vec<_> = (0..10).map(|i| format!("value-{i}").into_bytes()).collect();
    let sent = common::send_all(
        &producer,
        records
            .iter()
            .map(|v| {
                rdkafka::producer::FutureRecord::<[u8], [u8]>::to(&topic)
                    .partition(0)
                    .payload(v.as_slice())
            })
            .collect(),
    );
    assert_eq!(sent.len(), 10);
    let got = common::consume_partition(&broker, &topic, 0, 10);
    let values: Vec<Vec<u8>> = got
        .iter()
        .map(|m| rdkafka::Message::payload(m).unwrap_or_default().to_vec())
        .collect();
    assert_eq!(values, records);
    // The quorum is the three controllers; the broker sees who leads it.
    let leader = active_controller(&broker);
    assert!((1..=3).contains(&leader), "active controller {leader}");

    // SIGTERM: the broker shuts down through the remote quorum, then the controllers stop Raft.
    let mut broker = broker;
    broker.stop();
    let out = broker.output();
    assert!(
        out.contains("controlled shutdown: leaderships moved away")
            && out.contains("Strata node 4 stopped"),
        "broker did not shut down cleanly:\n{out}"
    );
    for (i, mut node) in controllers.into_iter().enumerate() {
        node.stop();
        let stopped = format!("Strata controller {} stopped", i + 1);
        assert!(node.output().contains(&stopped), "{}", node.output());
    }
}
