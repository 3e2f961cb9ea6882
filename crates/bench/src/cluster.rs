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
    args: Vec<String>,
    /// How many times it has printed its ready line (restarts append to the same log).
    starts: usize,
    /// `host:port` of its Kafka listener.
    pub bootstrap: String,
    /// Its `node.id`.
    pub id: i32,
    /// Its data directory (`log.dirs`).
    pub data: PathBuf,
}

/// A local cluster; the processes are killed when it is dropped.
pub struct LocalCluster {
    /// The nodes.
    pub nodes: Vec<Node>,
    binary: PathBuf,
    _root: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl LocalCluster {
    /// Starts `n` nodes of `binary` and waits until each is ready.
    pub fn start(binary: &Path, n: usize, extra: &[String]) -> anyhow::Result<LocalCluster> {
        let mut root = tempfile::tempdir().context("creating a temporary data dir")?;
        if std::env::var_os("STRATA_BENCH_KEEP_DATA").is_some() {
            // For looking into a run afterwards: the nodes' logs and data stay.
            eprintln!("strata-bench: cluster data in {}", root.path().display());
            root.disable_cleanup(true);
        }
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
            let child = spawn(binary, &args, &log)?;
            nodes.push(Node {
                child,
                log,
                args,
                starts: 0,
                bootstrap: format!("127.0.0.1:{}", client[i]),
                id: i32::try_from(i + 1).unwrap_or(i32::MAX),
                data: dir.join("data"),
            });
        }
        let mut cluster = LocalCluster {
            nodes,
            binary: binary.to_path_buf(),
            _root: root,
        };
        for i in 0..n {
            cluster.wait_ready(i)?;
        }
        Ok(cluster)
    }

    /// Waits until node `i` has printed one more ready line than it had.
    pub fn wait_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let node = &mut self.nodes[i];
        loop {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            if text.matches(READY_LINE).count() > node.starts {
                node.starts += 1;
                return Ok(());
            }
            if let Ok(Some(status)) = node.child.try_wait() {
                bail!(
                    "node {} exited ({status}) before it was ready; its log:\n{text}",
                    node.id
                );
            }
            if Instant::now() > deadline {
                bail!("node {} did not start; its log:\n{text}", node.id);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// kill -9 of node `i`.
    pub fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        node.child.kill().context("kill -9")?;
        node.child.wait().context("reaping a killed node")?;
        Ok(())
    }

    /// SIGTERM to node `i` (a controlled shutdown); waits for it to exit.
    pub fn terminate(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        let pid = libc::pid_t::try_from(node.child.id()).context("pid")?;
        // SAFETY: kill(2) with a pid we started and have not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        node.child.wait().context("waiting for a node to stop")?;
        Ok(())
    }

    /// Starts node `i` again with the same settings (after [`Self::kill`] or
    /// [`Self::terminate`]); does not wait for it to be ready.
    pub fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        node.child = spawn(&self.binary, &node.args, &node.log)?;
        Ok(())
    }

    /// The pids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.child.id()).collect()
    }

    /// The strata binary the nodes run (its tools ask the cluster things).
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Every node's bootstrap address, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.bootstrap.clone())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What a node prints once it serves clients.
const READY_LINE: &str = " started (cluster ";

fn spawn(binary: &Path, args: &[String], log: &Path) -> anyhow::Result<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    Command::new(binary)
        .args(args)
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

/// Resident set size of process `pid` in bytes (0 when unreadable).
pub fn rss_bytes(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Total user + system CPU time of `pids` so far, in microseconds.
pub fn cpu_micros_of(pids: &[u32]) -> u64 {
    pids.iter().map(|&p| cpu_micros(p)).sum()
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
