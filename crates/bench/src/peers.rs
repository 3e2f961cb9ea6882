//! Side by side with peers: the single-node workloads against a fresh one-node Strata, Tansu
//! and noida-db in turn (installed and started by `bench/peers.sh`), alternating, several
//! rounds, each broker's medians reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cluster::LocalCluster;
use crate::report::{measure, measure_marked, Measured};
use crate::workloads::{consume, create_topic, end_to_end, produce, BOUNDED_CLIENT_QUEUE};

/// The fixed rate of the end-to-end comparison (records/s).
pub const E2E_RATE: u64 = 20_000;
/// How long the end-to-end comparison produces.
const E2E_SECONDS: u64 = 10;
/// Partitions of every topic.
const PARTITIONS: i32 = 6;
/// Port a peer listens on (below the ephemeral range, see bench/peers.sh).
const PEER_PORT: u16 = 21_092;

/// Which broker a round runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A one-node Strata (disk).
    Strata,
    /// Tansu 0.6.0 (memory storage).
    Tansu,
    /// noida-db 0.2.3.
    Noida,
}

impl Peer {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Strata => "strata",
            Peer::Tansu => "tansu",
            Peer::Noida => "noida",
        }
    }
}

/// A started broker: its address, pids and how to stop it.
enum Running {
    Strata(LocalCluster),
    Peer { pid: u32, script: PathBuf },
}

impl Running {
    fn stop(self) -> anyhow::Result<()> {
        match self {
            Running::Strata(cluster) => drop(cluster),
            Running::Peer { pid, script } => {
                let status = Command::new(script)
                    .args(["stop", &pid.to_string()])
                    .status()
                    .context("bench/peers.sh stop")?;
                if !status.success() {
                    bail!("bench/peers.sh stop {pid} failed");
                }
            }
        }
        Ok(())
    }
}

/// Installs the peers (idempotent).
pub fn install(script: &Path) -> anyhow::Result<()> {
    let status = Command::new(script)
        .arg("install")
        .status()
        .with_context(|| format!("running {} install", script.display()))?;
    if !status.success() {
        bail!("{} install failed", script.display());
    }
    Ok(())
}

fn start(
    peer: Peer,
    binary: &Path,
    script: &Path,
    dir: &Path,
) -> anyhow::Result<(Running, String, Vec<u32>)> {
    if peer == Peer::Strata {
        let cluster = LocalCluster::start(binary, 1, &[])?;
        let (bootstrap, pids) = (cluster.bootstrap(), cluster.pids());
        return Ok((Running::Strata(cluster), bootstrap, pids));
    }
    let out = Command::new(script)
        .args([
            "start",
            peer.name(),
            &PEER_PORT.to_string(),
            &dir.display().to_string(),
        ])
        .output()
        .context("bench/peers.sh start")?;
    if !out.status.success() {
        bail!(
            "starting {}: {}",
            peer.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("pid printed by bench/peers.sh start {}", peer.name()))?;
    Ok((
        Running::Peer {
            pid,
            script: script.to_path_buf(),
        },
        format!("127.0.0.1:{PEER_PORT}"),
        vec![pid],
    ))
}

/// One round against one broker: produce acks=1, produce acks=all idempotent, consume (with a
/// deep and with a bounded client queue), and end-to-end at [`E2E_RATE`]. Also returns the
/// end-to-end histogram.
pub fn round(
    peer: Peer,
    binary: &Path,
    script: &Path,
    records: u64,
) -> anyhow::Result<(Vec<Measured>, hdrhistogram::Histogram<u64>)> {
    let dir = tempfile::tempdir().context("peer data dir")?;
    let (running, bootstrap, pids) = start(peer, binary, script, dir.path())?;
    let result = (|| {
        let name = peer.name();
        let (t1, t2, t3) = ("peers-acks1", "peers-acksall", "peers-e2e");
        for t in [t1, t2, t3] {
            create_topic(&bootstrap, t, PARTITIONS, 1, &[])?;
        }
        let mut rows = vec![measure(&pids, || {
            produce(
                &bootstrap,
                t1,
                PARTITIONS,
                records,
                100,
                "1",
                &format!("{name}: produce acks=1"),
            )
        })?];
        rows.push(measure(&pids, || {
            produce(
                &bootstrap,
                t2,
                PARTITIONS,
                records,
                100,
                "all",
                &format!("{name}: produce acks=all idempotent"),
            )
        })?);
        // Consumed twice: with the bench's deep client queue, then with a bounded one (see
        // BOUNDED_CLIENT_QUEUE: the client's cost per record depends on it).
        for (extra, label) in [
            (&[][..], "consume"),
            (BOUNDED_CLIENT_QUEUE, "consume, bounded client queue"),
        ] {
            rows.push(measure_marked(&pids, |mark| {
                consume(
                    &bootstrap,
                    t1,
                    PARTITIONS,
                    records,
                    extra,
                    &format!("{name}: {label}"),
                    mark,
                )
                .map(|(outcome, _)| outcome)
            })?);
        }
        let mut histogram = None;
        rows.push(measure(&pids, || {
            let (outcome, h) = end_to_end(
                &bootstrap,
                t3,
                PARTITIONS,
                E2E_RATE,
                Duration::from_secs(E2E_SECONDS),
                100,
                "1",
                &format!("{name}: end-to-end at {E2E_RATE}/s"),
            )?;
            histogram = Some(h);
            Ok(outcome)
        })?);
        let histogram = histogram.context("no end-to-end histogram")?;
        Ok((rows, histogram))
    })();
    running.stop()?;
    result
}

/// Per workload (by position), the run with the median records/s — or, for latency runs, the
/// median p99.
pub fn medians(rounds: &[Vec<Measured>]) -> Vec<Measured> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    (0..first.len())
        .filter_map(|i| {
            let mut runs: Vec<&Measured> = rounds.iter().filter_map(|r| r.get(i)).collect();
            let latency_run = runs
                .first()
                .is_some_and(|m| m.outcome.name.contains("end-to-end"));
            if latency_run {
                runs.sort_by_key(|m| m.outcome.latency_us.map_or(0, |l| l[1]));
            } else {
                runs.sort_by(|a, b| {
                    a.outcome
                        .records_per_sec()
                        .total_cmp(&b.outcome.records_per_sec())
                });
            }
            runs.get(runs.len() / 2).map(|m| (*m).clone())
        })
        .collect()
}
