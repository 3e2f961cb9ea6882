//! [`StrataNode`]: one real `strata server` process on a free 127.0.0.1 port, with its own
//! temporary data directory, killed when dropped.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::NodeError;

/// How long a node may take from spawn to "ready line printed and port accepting".
/// Generous because CI runs a debug build on 2 cores next to other tests.
pub const STARTUP_TIMEOUT_MS: u64 = 30_000;

/// If the port accepts connections but no line containing [`READY_MARKER`] appeared for this
/// long, the node is treated as ready anyway (with a warning), so a changed log line does not
/// fail every test.
pub const READY_LINE_GRACE_MS: u64 = 3_000;

/// How long a graceful stop (SIGTERM) may take before the process is killed with SIGKILL.
pub const GRACEFUL_STOP_TIMEOUT_MS: u64 = 10_000;

/// How many lines of the node's output are printed when a test panics.
pub const LOG_TAIL_LINES: usize = 60;

/// What the server's ready line contains ("Strata node 1 started (cluster …), listeners …").
/// Not just "started": the controller's own "controller started" line comes earlier, before
/// the node has registered and been unfenced.
pub const READY_MARKER: &str = " started (cluster ";

/// The node id every test node uses.
pub const NODE_ID: i32 = 1;

/// Finds the `strata` binary: `$STRATA_BIN`, else `$CARGO_TARGET_DIR/debug/strata`, else
/// `<workspace>/target/debug/strata`.
pub fn strata_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("STRATA_BIN") {
        return PathBuf::from(p);
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t),
        // tests/ sits directly in the workspace root.
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target"),
    };
    target.join("debug").join("strata")
}

/// Returns a port that was free on 127.0.0.1 a moment ago (bind to port 0, read, release).
pub fn free_port() -> Result<u16, NodeError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| NodeError::io("bind 127.0.0.1:0 to pick a free port", e))?;
    let port = l
        .local_addr()
        .map_err(|e| NodeError::io("read the picked port", e))?
        .port();
    Ok(port)
}

/// A running (or stopped, between `kill9`/`stop` and `restart`) strata server process.
///
/// The data directory and listener port stay the same across restarts, so clients can keep
/// their bootstrap address and the node must recover its topics and records from disk.
pub struct StrataNode {
    bin: PathBuf,
    /// The subcommand that starts the node: `server`, or Kafka's `kafka-server-start`.
    command: String,
    port: u16,
    overrides: Vec<(String, String)>,
    /// Holds `data/` (log.dirs) and `strata.log` (the process's stdout+stderr).
    root: Option<tempfile::TempDir>,
    child: Option<Child>,
    /// Byte offset in `strata.log` where the current incarnation's output begins.
    log_start: u64,
}

impl StrataNode {
    /// Starts a single node with the default overrides; panics with the node's output if it
    /// fails to start (tests want a loud, explained failure).
    pub fn start() -> StrataNode {
        Self::start_with(&[])
    }

    /// Starts a node with extra `--override key=value` settings (after the defaults, so they
    /// win); panics with the node's output if it fails to start.
    pub fn start_with(extra: &[(&str, &str)]) -> StrataNode {
        match Self::try_start(extra) {
            Ok(n) => n,
            Err(e) => panic!("could not start a strata node: {e}"),
        }
    }

    /// Starts a node, returning an error instead of panicking.
    pub fn try_start(extra: &[(&str, &str)]) -> Result<StrataNode, NodeError> {
        Self::try_start_bin(strata_bin(), extra)
    }

    /// Starts a node from a given binary (e.g. a release build), returning an error instead
    /// of panicking.
    pub fn try_start_bin(bin: PathBuf, extra: &[(&str, &str)]) -> Result<StrataNode, NodeError> {
        let mut node = Self::prepare(bin, extra)?;
        node.spawn()?;
        Ok(node)
    }

    /// Starts a node with `strata <command>` (`kafka-server-start`, `kafka-server-start.sh`)
    /// instead of `strata server`, returning an error instead of panicking.
    pub fn try_start_with_command(
        command: &str,
        extra: &[(&str, &str)],
    ) -> Result<StrataNode, NodeError> {
        let mut node = Self::prepare(strata_bin(), extra)?;
        node.command = command.to_string();
        node.spawn()?;
        Ok(node)
    }

    /// A node with its temp dir and port chosen, not yet started.
    fn prepare(bin: PathBuf, extra: &[(&str, &str)]) -> Result<StrataNode, NodeError> {
        if !bin.is_file() {
            return Err(NodeError::BinaryNotFound { path: bin });
        }
        let root = tempfile::Builder::new()
            .prefix("strata-test-")
            .tempdir()
            .map_err(|e| NodeError::io("create a temp dir for the node", e))?;
        let data = root.path().join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| NodeError::io(format!("create {}", data.display()), e))?;
        Ok(StrataNode {
            bin,
            command: "server".to_string(),
            port: free_port()?,
            overrides: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            root: Some(root),
            child: None,
            log_start: 0,
        })
    }

    /// `"127.0.0.1:<port>"`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The listener port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The listener address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The directory given as `log.dirs`.
    pub fn data_dir(&self) -> PathBuf {
        self.root_path().join("data")
    }

    /// The file holding the process's stdout and stderr (all incarnations, appended).
    pub fn log_path(&self) -> PathBuf {
        self.root_path().join("strata.log")
    }

    /// Everything the node printed so far (all incarnations).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the process with SIGKILL (a crash: no flush, no clean shutdown) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (e.g. `libc::SIGSTOP`, `libc::SIGCONT`) to the running process.
    pub fn signal(&mut self, signal: i32) {
        if let Some(pid) = self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()) {
            // SAFETY: plain kill(2) on our own child's pid, which we have not reaped yet.
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// Stops the process with SIGTERM and waits for it to exit (SIGKILL after
    /// [`GRACEFUL_STOP_TIMEOUT_MS`]).
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(c.id()) {
            // SAFETY: plain kill(2) on our own child's pid, which we have not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_millis(GRACEFUL_STOP_TIMEOUT_MS);
        loop {
            match c.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    eprintln!("strata did not exit {GRACEFUL_STOP_TIMEOUT_MS} ms after SIGTERM; sending SIGKILL");
                    let _ = c.kill();
                    let _ = c.wait();
                    return;
                }
            }
        }
    }

    /// Stops the node gracefully if it is running, then starts it again on the same port with
    /// the same data directory and waits until it is ready. Panics if it does not come back.
    /// Starts several nodes at once (cluster members: each waits for a quorum before it is
    /// ready, so they cannot start one after another). The processes are spawned from the
    /// calling thread, which must outlive them (PR_SET_PDEATHSIG follows the spawning thread).
    pub fn start_many(configs: &[Vec<(String, String)>]) -> Result<Vec<StrataNode>, NodeError> {
        let mut nodes = Vec::new();
        for extra in configs {
            let extra: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut node = Self::prepare(strata_bin(), &extra)?;
            node.spawn_process()?;
            nodes.push(node);
        }
        for node in &mut nodes {
            node.wait_ready()?;
        }
        Ok(nodes)
    }

    /// Starts a node without waiting for it to become ready (a node expected to hang or be
    /// refused).
    pub fn start_no_wait(extra: &[(&str, &str)]) -> Result<StrataNode, NodeError> {
        let mut node = Self::prepare(strata_bin(), extra)?;
        node.spawn_process()?;
        Ok(node)
    }

    /// Restarts several stopped nodes at once (see [`StrataNode::start_many`]).
    pub fn restart_many(nodes: &mut [StrataNode]) {
        for node in nodes.iter_mut() {
            node.stop();
            if let Err(e) = node.spawn_process() {
                panic!("strata did not restart: {e}");
            }
        }
        for node in nodes.iter_mut() {
            if let Err(e) = node.wait_ready() {
                panic!("strata did not restart: {e}");
            }
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn() {
            panic!("strata did not restart: {e}");
        }
    }

    fn root_path(&self) -> &Path {
        match &self.root {
            Some(r) => r.path(),
            None => Path::new("/nonexistent"),
        }
    }

    fn spawn(&mut self) -> Result<(), NodeError> {
        self.spawn_process()?;
        self.wait_ready()
    }

    /// Starts the process without waiting for it to become ready.
    fn spawn_process(&mut self) -> Result<(), NodeError> {
        let log_path = self.log_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| NodeError::io(format!("open {}", log_path.display()), e))?;
        self.log_start = log
            .metadata()
            .map_err(|e| NodeError::io(format!("stat {}", log_path.display()), e))?
            .len();
        let log_err = log
            .try_clone()
            .map_err(|e| NodeError::io("dup the log file handle", e))?;

        let listener = format!("PLAINTEXT://127.0.0.1:{}", self.port);
        let mut cmd = Command::new(&self.bin);
        cmd.arg(&self.command)
            .arg("--override")
            .arg(format!("node.id={NODE_ID}"))
            .arg("--override")
            .arg(format!("listeners={listener}"))
            .arg("--override")
            .arg(format!("advertised.listeners={listener}"))
            .arg("--override")
            .arg(format!("log.dirs={}", self.data_dir().display()))
            // A fresh temp dir per node: format it at first start instead of running
            // `strata kafka-storage format` first.
            .arg("--override")
            .arg("strata.auto.format=true");
        for (k, v) in &self.overrides {
            // `{port}` stands for this node's client port (cluster tests need it in listeners).
            let v = v.replace("{port}", &self.port.to_string());
            cmd.arg("--override").arg(format!("{k}={v}"));
        }
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
        // SAFETY: prctl(2) is async-signal-safe. It makes the kernel SIGKILL the server when
        // the test thread that spawned it dies, so a crashed or timed-out test leaves no
        // orphan server holding ports.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| NodeError::io(format!("spawn {}", self.bin.display()), e))?;
        self.child = Some(child);
        Ok(())
    }

    fn current_output(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.log_path()) {
            use std::io::{Seek, SeekFrom};
            if f.seek(SeekFrom::Start(self.log_start)).is_ok() {
                let mut buf = Vec::new();
                let _ = f.read_to_end(&mut buf);
                s = String::from_utf8_lossy(&buf).into_owned();
            }
        }
        s
    }

    fn wait_ready(&mut self) -> Result<(), NodeError> {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(STARTUP_TIMEOUT_MS);
        let mut accepting_since: Option<Instant> = None;
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    return Err(NodeError::ExitedEarly {
                        status,
                        output: self.current_output(),
                    });
                }
            }
            let line_seen = self
                .current_output()
                .lines()
                .any(|l| l.contains(READY_MARKER));
            let accepting =
                TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok();
            if accepting {
                if line_seen {
                    return Ok(());
                }
                let since = *accepting_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(READY_LINE_GRACE_MS) {
                    eprintln!(
                        "WARNING: strata accepts on {} but printed no line containing {READY_MARKER:?}",
                        self.bootstrap()
                    );
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                let output = self.current_output();
                self.kill9();
                return Err(NodeError::NotReady {
                    port: self.port,
                    waited_ms: start.elapsed().as_millis(),
                    output,
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for StrataNode {
    fn drop(&mut self) {
        self.kill9();
        let keep = std::env::var_os("STRATA_KEEP_DATA").is_some();
        if std::thread::panicking() || keep {
            let out = self.output();
            let lines: Vec<&str> = out.lines().collect();
            let from = lines.len().saturating_sub(LOG_TAIL_LINES);
            eprintln!(
                "---- last {} lines of strata output ({}) ----\n{}\n---- end of strata output ----",
                lines.len() - from,
                self.log_path().display(),
                lines[from..].join("\n")
            );
        }
        if keep {
            if let Some(root) = self.root.take() {
                eprintln!("STRATA_KEEP_DATA: keeping {}", root.keep().display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in server: prints the ready line, then accepts connections on the port taken
    /// from `listeners=PLAINTEXT://127.0.0.1:<port>` and records its args in log.dirs.
    const FAKE_SERVER: &str = r#"#!/usr/bin/env python3
import os, socket, sys
args = sys.argv[1:]
assert args[0] == "server", args
ov = dict(a.split("=", 1) for a in args[2::2])
port = int(ov["listeners"].rsplit(":", 1)[1])
with open(os.path.join(ov["log.dirs"], "starts"), "a") as f:
    f.write(" ".join(args) + "\n")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen()
print(f"Strata node {ov['node.id']} started (cluster fake), listeners {ov['listeners']}", flush=True)
while True:
    s.accept()[0].close()
"#;

    fn fake_bin(dir: &Path) -> PathBuf {
        let p = dir.join("fake-strata");
        std::fs::write(&p, FAKE_SERVER).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn start_kill9_restart_keeps_port_and_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let mut node =
            StrataNode::try_start_bin(fake_bin(dir.path()), &[("num.partitions", "3")]).unwrap();
        assert!(node.is_running());
        let (port, data) = (node.port(), node.data_dir());
        assert_eq!(node.bootstrap(), format!("127.0.0.1:{port}"));
        let starts = std::fs::read_to_string(data.join("starts")).unwrap();
        assert!(
            starts.contains(&format!("listeners=PLAINTEXT://127.0.0.1:{port}")),
            "{starts}"
        );
        assert!(
            starts.contains(&format!(
                "advertised.listeners=PLAINTEXT://127.0.0.1:{port}"
            )),
            "{starts}"
        );
        assert!(
            starts.contains("node.id=1") && starts.contains("num.partitions=3"),
            "{starts}"
        );
        node.kill9();
        assert!(!node.is_running());
        node.restart();
        assert!(node.is_running());
        assert_eq!((node.port(), node.data_dir()), (port, data.clone()));
        node.restart(); // graceful stop (SIGTERM) then start
        assert_eq!(
            std::fs::read_to_string(data.join("starts"))
                .unwrap()
                .lines()
                .count(),
            3
        );
        assert!(TcpStream::connect(node.addr()).is_ok());
        assert_eq!(node.output().matches("started").count(), 3);
        drop(node);
        assert!(!data.exists(), "data dir must be removed on drop");
    }

    #[test]
    fn early_exit_is_reported_with_output() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad-strata");
        std::fs::write(
            &p,
            "#!/bin/sh\necho 'config error: bad listener' >&2\nexit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        match StrataNode::try_start_bin(p, &[]) {
            Err(NodeError::ExitedEarly { output, .. }) => {
                assert!(output.contains("bad listener"), "{output}")
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a failing binary must not start"),
        }
        let missing = StrataNode::try_start_bin(dir.path().join("nope"), &[]);
        assert!(matches!(missing, Err(NodeError::BinaryNotFound { .. })));
    }
}
