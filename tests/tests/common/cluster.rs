//! A three-process cluster for the integration tests: three combined broker + controller
//! nodes on 127.0.0.1 forming one Raft quorum, and helpers that read it through the Kafka
//! tools (describe rows, the active controller).

use std::process::Command;
use std::time::{Duration, Instant};

use strata_tests::{free_port, strata_bin, StrataNode};

pub const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qk";

pub struct Cluster {
    pub nodes: Vec<StrataNode>,
    pub controller_ports: Vec<u16>,
}

/// `--override`s for cluster member `id` (1-based) given every member's controller port.
pub fn member(id: usize, controller_ports: &[u16], cluster_id: &str) -> Vec<(String, String)> {
    let voters = controller_ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        ("node.id".to_string(), id.to_string()),
        (
            "listeners".to_string(),
            format!(
                "PLAINTEXT://127.0.0.1:{{port}},CONTROLLER://127.0.0.1:{}",
                controller_ports[id - 1]
            ),
        ),
        ("controller.quorum.voters".to_string(), voters),
        ("strata.cluster.id".to_string(), cluster_id.to_string()),
    ]
}

pub fn borrowed(config: &[(String, String)]) -> Vec<(&str, &str)> {
    config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with(&[])
    }

    /// A cluster whose every node also gets the `extra` settings.
    pub fn start_with(extra: &[(&str, &str)]) -> Cluster {
        Cluster::start_configured(|_| extra)
    }

    /// A cluster where only node `id` also gets the `extra` settings (a node configured, or
    /// behaving as a version, unlike the others).
    pub fn start_with_one(id: usize, extra: &[(&str, &str)]) -> Cluster {
        Cluster::start_configured(|node| if node == id { extra } else { &[] })
    }

    fn start_configured<'a>(extra_for: impl Fn(usize) -> &'a [(&'a str, &'a str)]) -> Cluster {
        let controller_ports: Vec<u16> = (0..3).map(|_| free_port().expect("free port")).collect();
        // Each node waits for a quorum before it is ready: start all three at once.
        let configs: Vec<_> = (1..=3)
            .map(|id| {
                let mut config = member(id, &controller_ports, CLUSTER_ID);
                config.extend(
                    extra_for(id)
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string())),
                );
                config
            })
            .collect();
        let nodes = StrataNode::start_many(&configs)
            .unwrap_or_else(|e| panic!("cluster failed to start: {e}"));
        Cluster {
            nodes,
            controller_ports,
        }
    }

    pub fn node(&self, id: i32) -> &StrataNode {
        &self.nodes[usize::try_from(id - 1).expect("node id")]
    }

    pub fn node_mut(&mut self, id: i32) -> &mut StrataNode {
        &mut self.nodes[usize::try_from(id - 1).expect("node id")]
    }
}

/// Every node's bootstrap address, comma-separated (clients that must survive a node's loss).
pub fn bootstrap(cluster: &Cluster) -> String {
    cluster
        .nodes
        .iter()
        .map(|n| n.bootstrap())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn tool(node: &StrataNode, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(strata_bin())
        .arg("kafka-topics")
        .arg("--bootstrap-server")
        .arg(node.bootstrap())
        .args(args)
        .output()
        .expect("run kafka-topics");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `kafka-topics --create` of `topic` through `node` with `partitions`, `rf` and `--config`s;
/// panics with the tool's output when it fails.
pub fn create_with_tool(
    node: &StrataNode,
    topic: &str,
    partitions: u32,
    rf: u32,
    configs: &[&str],
) {
    let (partitions, rf) = (partitions.to_string(), rf.to_string());
    let mut args = vec![
        "--create",
        "--topic",
        topic,
        "--partitions",
        &partitions,
        "--replication-factor",
        &rf,
    ];
    for config in configs {
        args.extend(["--config", config]);
    }
    let (ok, out, err) = tool(node, &args);
    assert!(
        ok,
        "creating {topic} through {} failed: {out}{err}",
        node.bootstrap()
    );
}

pub fn describe(node: &StrataNode, topic: &str) -> String {
    let (ok, out, err) = tool(node, &["--describe", "--topic", topic]);
    assert!(ok, "describe on {} failed: {out}{err}", node.bootstrap());
    out
}

/// Describe output, or the error text when the topic is not (yet) visible on this node.
pub fn describe_or_error(node: &StrataNode, topic: &str) -> String {
    let (_, out, err) = tool(node, &["--describe", "--topic", topic]);
    format!("{out}{err}")
}

/// `(partition, leader, isr)` rows of a describe output.
pub fn leaders(describe: &str) -> Vec<(i32, i32, String)> {
    describe
        .lines()
        .filter(|l| l.starts_with('\t'))
        .map(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            (
                field("Partition: ").parse().unwrap_or(-9),
                field("Leader: ").parse().unwrap_or(-1),
                field("Isr: "),
            )
        })
        .collect()
}

/// Polls `check` against node `id`'s describe output until it holds (a describe error, e.g.
/// a topic this node has not learnt of yet, is just another output that does not hold).
pub fn eventually(
    cluster: &Cluster,
    id: i32,
    topic: &str,
    what: &str,
    check: impl Fn(&[(i32, i32, String)]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = describe_or_error(cluster.node(id), topic);
        if check(&leaders(&out)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened; node {id} describes:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The active controller as `node` reports it (`kafka-metadata-quorum describe --status`), or
/// `None` when it reports none.
pub fn try_active_controller(node: &StrataNode) -> Option<i32> {
    quorum_status(node)
        .0
        .lines()
        .find_map(|l| l.strip_prefix("LeaderId:"))
        .and_then(|v| v.trim().parse().ok())
}

fn quorum_status(node: &StrataNode) -> (String, String) {
    quorum_describe(node, "--status")
}

/// `kafka-metadata-quorum describe <what>` (`--status`, `--replication`) through `node`:
/// (stdout, stderr).
pub fn quorum_describe(node: &StrataNode, what: &str) -> (String, String) {
    let out = Command::new(strata_bin())
        .args([
            "kafka-metadata-quorum",
            "--bootstrap-server",
            &node.bootstrap(),
            "describe",
            what,
        ])
        .output()
        .expect("run kafka-metadata-quorum");
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

pub fn active_controller(node: &StrataNode) -> i32 {
    try_active_controller(node).unwrap_or_else(|| {
        let (out, err) = quorum_status(node);
        panic!("no LeaderId in kafka-metadata-quorum output: {out}\nstderr: {err}")
    })
}
