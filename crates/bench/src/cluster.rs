//! Local Strata processes for a benchmark run: N combined nodes on 127.0.0.1 forming one
//! quorum, each with its own data dir, and their CPU time from /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a node may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The cluster id every benchmark cluster uses.
const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qk";

/// One running node.
pub struct Node {
    child: Child,
    log: PathBuf,
    /// `host:port` of its Kafka listener.
    pub bootstrap: String,
}

/// A local cluster; the processes are killed when it is dropped.
pub struct LocalCluster {
    /// The nodes.
    pub nodes: Vec<Node>,
    _root: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl LocalCluster {
    /// Starts `n` nodes of `binary` and waits until each is ready.
    pub fn start(binary: &Path, n: usize, extra: &[String]) -> anyhow::Result<LocalCluster> {
        let root = tempfile::tempdir().context("creating a temporary data dir")?;
        let client: Vec<u16> = (0..n).map(|_| free_port()).collect::<Result<_, _>>()?;
        let controller: Vec<u16> = (0..n).map(|_| free_port()).collect::<Result<_, _>>()?;
        let voters = controller
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for i in 0..n {
            let dir = root.path().join(format!("node-{}", i + 1));
            std::fs::create_dir_all(&dir)?;
            let log = dir.join("strata.log");
            let out = std::fs::File::create(&log)?;
            let mut args = vec![
                "server".to_string(),
                "--override".into(),
                format!("node.id={}", i + 1),
                "--override".into(),
                format!("log.dirs={}", dir.join("data").display()),
                "--override".into(),
                format!(
                    "listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                    client[i], controller[i]
                ),
                "--override".into(),
                format!("controller.quorum.voters={voters}"),
                "--override".into(),
                "strata.auto.format=true".into(),
                "--override".into(),
                format!("strata.cluster.id={CLUSTER_ID}"),
            ];
            for e in extra {
                args.push("--override".into());
                args.push(e.clone());
            }
            let child = Command::new(binary)
                .args(&args)
                .stdout(out.try_clone()?)
                .stderr(out)
                .stdin(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            nodes.push(Node {
                child,
                log,
                bootstrap: format!("127.0.0.1:{}", client[i]),
            });
        }
        let deadline = Instant::now() + START_TIMEOUT;
        for node in &nodes {
            loop {
                let text = std::fs::read_to_string(&node.log).unwrap_or_default();
                if text.contains(" started (cluster ") {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("node at {} did not start; its log:\n{text}", node.bootstrap);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(LocalCluster { nodes, _root: root })
    }

    /// Every node's bootstrap address, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.bootstrap.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Total user + system CPU time of all nodes so far, in microseconds.
    pub fn cpu_micros(&self) -> u64 {
        self.nodes.iter().map(|n| cpu_micros(n.child.id())).sum()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

/// utime + stime of process `pid` from /proc (0 when unreadable), in microseconds.
pub fn cpu_micros(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let ticks: u64 = [11usize, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .unwrap_or(100)
        .max(1);
    ticks * 1_000_000 / hz
}

/// This process's own CPU time (the load client), in microseconds.
pub fn self_cpu_micros() -> u64 {
    cpu_micros(std::process::id())
}
