//! `strata kafka-storage` (Kafka's storage tool) and the start-up check on formatted data dirs:
//! random-uuid, format (Kafka 3.9's files, messages and refusals), info, a node that starts on a
//! formatted dir and refuses an unformatted one or one that belongs to another node or cluster.

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use strata_tests::{free_port, strata_bin};

/// How long a node may take to become ready (debug build, 2 cores, other tests running).
const STARTUP_TIMEOUT_MS: u64 = 30_000;

/// Kafka's documentation example cluster id (its last character has unused bits set, which
/// Kafka's decoder accepts).
const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qk";
const OTHER_CLUSTER_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// A node's files: `server.properties`, `data/` (log.dirs) and `strata.log`.
struct Setup {
    root: tempfile::TempDir,
    client_port: u16,
}

impl Setup {
    /// A combined broker+controller config with a CONTROLLER listener and no static voters
    /// (what Kafka's quickstart `config/server.properties` looks like), plus `extra` lines.
    fn new(extra: &str) -> Setup {
        let root = tempfile::Builder::new()
            .prefix("strata-storage-")
            .tempdir()
            .expect("temp dir");
        let client_port = free_port().expect("free port");
        let controller_port = free_port().expect("free port");
        let config = format!(
            "node.id=1\nprocess.roles=broker,controller\n\
             listeners=PLAINTEXT://127.0.0.1:{client_port},CONTROLLER://127.0.0.1:{controller_port}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{client_port}\n\
             controller.listener.names=CONTROLLER\n\
             log.dirs={}\n{extra}",
            root.path().join("data").display()
        );
        std::fs::write(root.path().join("server.properties"), config).expect("write config");
        Setup { root, client_port }
    }

    fn config(&self) -> PathBuf {
        self.root.path().join("server.properties")
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.path().join("strata.log")
    }

    /// `strata kafka-storage <args…>` with `-c server.properties` appended.
    fn storage(&self, args: &[&str]) -> (i32, String, String) {
        let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        full.push("-c".into());
        full.push(self.config().display().to_string());
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        storage_tool(&refs)
    }

    /// Starts `strata server -c server.properties <extra…>`: `Ok` once it is ready (the
    /// process is killed when the guard drops), `Err` with its exit status and output when it
    /// exits first.
    fn start(&self, extra: &[&str]) -> Result<NodeGuard, (ExitStatus, String)> {
        let log = File::create(self.log()).expect("log file");
        let child = Command::new(strata_bin())
            .arg("server")
            .arg("--config")
            .arg(self.config())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn strata");
        let mut guard = NodeGuard { child };
        let deadline = Instant::now() + Duration::from_millis(STARTUP_TIMEOUT_MS);
        loop {
            let output = std::fs::read_to_string(self.log()).unwrap_or_default();
            if let Ok(Some(status)) = guard.child.try_wait() {
                return Err((status, output));
            }
            // The server's ready line ("controller started" comes earlier and is not it).
            if output.contains("Strata node 1 started")
                && TcpStream::connect(("127.0.0.1", self.client_port)).is_ok()
            {
                return Ok(guard);
            }
            assert!(
                Instant::now() < deadline,
                "strata neither started nor exited in {STARTUP_TIMEOUT_MS} ms:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

/// Kills the server process on drop.
struct NodeGuard {
    child: Child,
}

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `strata kafka-storage <args>`: (exit code, stdout, stderr).
fn storage_tool(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(strata_bin())
        .arg("kafka-storage")
        .args(args)
        .output()
        .expect("run strata kafka-storage");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn is_kafka_uuid(id: &str) -> bool {
    id.len() == 22
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn random_uuid_prints_a_new_kafka_uuid_also_as_kafka_storage_sh() {
    let (code, first, err) = storage_tool(&["random-uuid"]);
    assert_eq!(code, 0, "{err}");
    let first = first.trim_end_matches('\n');
    assert!(is_kafka_uuid(first), "{first:?}");
    let (_, second, _) = storage_tool(&["random-uuid"]);
    assert_ne!(first, second.trim_end());

    // Busybox style: a link named kafka-storage.sh runs the tool (the quickstart's
    // `KAFKA_CLUSTER_ID="$(bin/kafka-storage.sh random-uuid)"`).
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("kafka-storage.sh");
    std::os::unix::fs::symlink(strata_bin(), &link).expect("symlink");
    let out = Command::new(&link)
        .arg("random-uuid")
        .output()
        .expect("run kafka-storage.sh");
    assert!(out.status.success());
    assert!(is_kafka_uuid(
        String::from_utf8_lossy(&out.stdout).trim_end()
    ));
}

#[test]
fn format_standalone_then_start_then_info() {
    let setup = Setup::new("");
    let (code, out, err) = setup.storage(&["format", "--standalone", "-t", CLUSTER_ID]);
    assert_eq!(code, 0, "format failed: {out}{err}");
    assert_eq!(
        out,
        format!(
            "Formatting dynamic metadata voter directory {} with metadata.version 3.9-IV0.\n",
            setup.data().display()
        )
    );
    // Kafka 3.9's meta.properties: a blank comment, a date comment, then the keys.
    let meta = read(&setup.data().join("meta.properties"));
    let lines: Vec<&str> = meta.lines().collect();
    assert_eq!(lines.len(), 6, "{meta}");
    assert_eq!(lines[0], "#");
    assert!(
        lines[1].starts_with('#') && lines[1].contains(" UTC "),
        "{meta}"
    );
    assert_eq!(lines[2], format!("cluster.id={CLUSTER_ID}"));
    let directory_id = lines[3]
        .strip_prefix("directory.id=")
        .expect("directory.id");
    assert!(is_kafka_uuid(directory_id), "{meta}");
    assert_eq!(&lines[4..], ["node.id=1", "version=1"]);
    // The one-voter quorum, on the CONTROLLER listener.
    let bootstrap = read(&setup.data().join("__cluster_metadata-0/bootstrap.json"));
    assert!(
        bootstrap.contains("\"standalone\":true") && bootstrap.contains("\"id\":1"),
        "{bootstrap}"
    );
    assert!(
        bootstrap.contains("\"endpoint\":\"127.0.0.1:"),
        "{bootstrap}"
    );
    assert!(bootstrap.contains(directory_id), "{bootstrap}");

    // The node starts on the formatted dir with the formatted cluster id.
    let node = setup
        .start(&[])
        .unwrap_or_else(|(s, out)| panic!("node exited with {s}:\n{out}"));
    assert!(
        setup
            .output()
            .contains(&format!("started (cluster {CLUSTER_ID})")),
        "{}",
        setup.output()
    );
    drop(node);
    assert_eq!(read(&setup.data().join("meta.properties")), meta);

    let (code, out, err) = setup.storage(&["info"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!(
            "Found log directory:\n  {}\n\nFound metadata: {{cluster.id={CLUSTER_ID}, directory.id={directory_id}, node.id=1, version=1}}\n\n",
            setup.data().display()
        )
    );
}

#[test]
fn start_on_an_unformatted_dir_without_opt_in_fails_saying_what_to_run() {
    let setup = Setup::new("");
    let (status, out) = match setup.start(&[]) {
        Ok(_) => panic!(
            "the node started on an unformatted dir:\n{}",
            setup.output()
        ),
        Err(e) => e,
    };
    assert!(!status.success());
    let expected = format!(
        "No `meta.properties` found in {} (have you run `strata kafka-storage format`",
        setup.data().display()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(!setup.data().join("meta.properties").exists());

    let (code, out, _) = setup.storage(&["info"]);
    assert_eq!(code, 1);
    assert!(out.contains("Found problem:\n  "), "{out}");

    // The opt-in formats it (the test helpers' mode).
    let node = setup
        .start(&["--override", "strata.auto.format=true"])
        .unwrap_or_else(|(s, out)| panic!("node exited with {s}:\n{out}"));
    drop(node);
    let meta = read(&setup.data().join("meta.properties"));
    assert!(meta.contains("node.id=1\nversion=1\n"), "{meta}");
}

#[test]
fn format_twice_fails_unless_ignore_formatted() {
    let setup = Setup::new("");
    let (code, _, err) = setup.storage(&["format", "--standalone", "-t", CLUSTER_ID]);
    assert_eq!(code, 0, "{err}");
    let before = read(&setup.data().join("meta.properties"));

    let (code, out, err) = setup.storage(&["format", "--standalone", "-t", CLUSTER_ID]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        err.trim_end(),
        format!(
            "Log directory {} is already formatted. Use --ignore-formatted to ignore this directory and format the others.",
            setup.data().display()
        )
    );
    let (code, out, err) = setup.storage(&[
        "format",
        "--standalone",
        "--ignore-formatted",
        "-t",
        CLUSTER_ID,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "All of the log directories are already formatted.\n");
    // Even -g refuses to mix clusters.
    let (code, _, err) = setup.storage(&["format", "-s", "-g", "-t", OTHER_CLUSTER_ID]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "Expected {OTHER_CLUSTER_ID}, but read {CLUSTER_ID}"
        )),
        "{err}"
    );
    assert_eq!(read(&setup.data().join("meta.properties")), before);
}

#[test]
fn format_checks_cluster_id_and_quorum_flags_like_kafka() {
    let setup = Setup::new("");
    let (code, _, err) = setup.storage(&["format", "-t", CLUSTER_ID]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim_end(),
        "Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers."
    );
    let (code, _, err) = setup.storage(&["format", "--standalone", "-t", "not-a-cluster-id"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Cluster ID string not-a-cluster-id does not appear to be a valid UUID: "),
        "{err}"
    );
    let (code, _, err) = setup.storage(&["format", "--standalone"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("argument --cluster-id/-t is required"),
        "{err}"
    );
    assert!(!setup.data().exists(), "failed formats must write nothing");

    let voters = Setup::new("controller.quorum.voters=1@127.0.0.1:9093\n");
    let (code, _, err) = voters.storage(&["format", "--standalone", "-t", CLUSTER_ID]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("You cannot specify controller.quorum.voters and format the node with --initial-controllers or --standalone."),
        "{err}"
    );
    // Static voters need no flag.
    let (code, out, err) = voters.storage(&["format", "-t", CLUSTER_ID]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "Formatting metadata directory {} with metadata.version 3.9-IV0.\n",
            voters.data().display()
        )
    );
}

#[test]
fn a_dir_of_another_node_or_cluster_is_refused() {
    let setup = Setup::new("");
    let (code, _, err) = setup.storage(&["format", "--standalone", "-t", CLUSTER_ID]);
    assert_eq!(code, 0, "{err}");
    let meta = setup.data().join("meta.properties");

    let (_, out) = match setup.start(&["--override", "node.id=2"]) {
        Ok(_) => panic!("node 2 started on node 1's data:\n{}", setup.output()),
        Err(e) => e,
    };
    assert!(
        out.contains(&format!(
            "Stored node id 1 doesn't match previous node id 2 in {}",
            meta.display()
        )),
        "{out}"
    );

    let (_, out) = match setup.start(&[
        "--override",
        &format!("strata.cluster.id={OTHER_CLUSTER_ID}"),
    ]) {
        Ok(_) => panic!("a node of another cluster started:\n{}", setup.output()),
        Err(e) => e,
    };
    assert!(
        out.contains(&format!(
            "Invalid cluster.id in: {}. Expected {OTHER_CLUSTER_ID}, but read {CLUSTER_ID}",
            meta.display()
        )),
        "{out}"
    );
    // The opt-in never reformats a dir that belongs to someone else.
    let (_, out) = match setup.start(&[
        "--override",
        "node.id=2",
        "--override",
        "strata.auto.format=true",
    ]) {
        Ok(_) => panic!("auto-format took over node 1's data:\n{}", setup.output()),
        Err(e) => e,
    };
    assert!(out.contains("Stored node id 1"), "{out}");
}
