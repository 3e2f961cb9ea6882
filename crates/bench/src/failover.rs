//! Workload 5, failover: kill -9 of a partition's leader while a background acks=all load
//! runs, then the time until a produce to that partition is acknowledged again. The killed
//! node is restarted and the ISR must be full again before the next run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rdkafka::admin::TopicReplication;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::cluster::LocalCluster;
use crate::workloads::{client_config, create_topic, create_topic_with, Counted, StderrLog};

/// How long one run may wait for the first acknowledged produce.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a restarted node may take to be back in the ISR.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Records per second of the background load.
const BACKGROUND_RATE: u64 = 20_000;

/// Which node each failover run kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Victim {
    /// The probe partition's leader, wherever the cluster placed it (usually not the active
    /// controller).
    Leader,
    /// The active controller, made the probe partition's leader first (each run creates a
    /// probe topic whose first replica is the active controller): a Raft election on top of
    /// the partition's.
    Controller,
}

/// The failover figures.
pub struct Failover {
    /// kill -9 → first acknowledged produce (librdkafka), one per run.
    pub runs: Vec<Duration>,
    /// kill -9 → a new leader in Metadata (polled every 10 ms), one per run.
    pub leader_runs: Vec<Duration>,
    /// Whether the killed leader was also the active controller (a Raft election on top of
    /// the broker session), one per run; `None` when the quorum could not be asked.
    pub victim_was_controller: Vec<Option<bool>>,
    /// Background records acknowledged / failed over all runs.
    pub background_acked: u64,
    /// Background records whose delivery failed (after librdkafka's retries).
    pub background_failed: u64,
}

/// The leader and ISR of partition 0 of `topic`.
fn leader_and_isr(consumer: &BaseConsumer<StderrLog>, topic: &str) -> Option<(i32, usize)> {
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(2))
        .ok()?;
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    let p = t.partitions().iter().find(|p| p.id() == 0)?;
    (p.error().is_none() && p.leader() >= 0).then(|| (p.leader(), p.isr().len()))
}

/// The active controller's node id, asked with `strata kafka-metadata-quorum` (the tool
/// users run), or `None` when it cannot tell.
fn active_controller(binary: &std::path::Path, bootstrap: &str) -> Option<i32> {
    let out = std::process::Command::new(binary)
        .args([
            "kafka-metadata-quorum",
            "--bootstrap-server",
            bootstrap,
            "describe",
            "--status",
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("LeaderId:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs `runs` failovers on `cluster` (which must have 3 nodes).
pub fn run(cluster: &mut LocalCluster, runs: usize, victim: Victim) -> anyhow::Result<Failover> {
    let bootstrap = cluster.bootstrap();
    let base_topic = format!("bench-failover-{}", std::process::id());
    let load_topic = format!("bench-failover-load-{}", std::process::id());
    if victim == Victim::Leader {
        create_topic(
            &bootstrap,
            &base_topic,
            1,
            3,
            &[("min.insync.replicas", "2")],
        )?;
    }
    create_topic(
        &bootstrap,
        &load_topic,
        6,
        3,
        &[("min.insync.replicas", "2")],
    )?;
    let meta: BaseConsumer<StderrLog> = client_config(&bootstrap)
        .create_with_context(StderrLog)
        .context("metadata client")?;

    // The background load: an idempotent acks=all producer at a fixed rate.
    let stop = Arc::new(AtomicBool::new(false));
    let background = Counted::default();
    let load = {
        let stop = stop.clone();
        let producer: BaseProducer<Counted> = client_config(&bootstrap)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "60000")
            .create_with_context(background.clone())
            .context("background producer")?;
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let due = (started.elapsed().as_secs_f64() * BACKGROUND_RATE as f64) as u64;
                while sent < due {
                    let record = BaseRecord::<(), [u8]>::to(&load_topic).payload(&[b'x'; 100]);
                    if producer.send(record).is_err() {
                        break;
                    }
                    sent += 1;
                }
                producer.poll(Duration::from_millis(1));
            }
            let _ = producer.flush(Duration::from_secs(60));
        })
    };

    let mut times = Vec::new();
    let mut leader_times = Vec::new();
    let mut victim_was_controller = Vec::new();
    let outcome = (|| -> anyhow::Result<()> {
        for run in 0..runs {
            let deadline = Instant::now() + REJOIN_TIMEOUT;
            let (topic, wanted) = match victim {
                Victim::Leader => (base_topic.clone(), None),
                Victim::Controller => {
                    let controller = loop {
                        match active_controller(cluster.binary(), &bootstrap) {
                            Some(c) => break c,
                            None if Instant::now() > deadline => {
                                bail!("run {run}: no active controller")
                            }
                            None => std::thread::sleep(Duration::from_millis(100)),
                        }
                    };
                    let mut replicas: Vec<i32> = cluster.nodes.iter().map(|n| n.id).collect();
                    replicas.sort_by_key(|&id| id != controller);
                    let topic = format!("{base_topic}-{run}");
                    create_topic_with(
                        &bootstrap,
                        &topic,
                        1,
                        TopicReplication::Variable(&[replicas.as_slice()]),
                        &[("min.insync.replicas", "2")],
                    )?;
                    (topic, Some(controller))
                }
            };
            let leader = loop {
                match leader_and_isr(&meta, &topic) {
                    Some((leader, 3)) if wanted.is_none_or(|w| w == leader) => break leader,
                    _ if Instant::now() > deadline => bail!("run {run}: the ISR is not full"),
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            };
            let index = cluster
                .nodes
                .iter()
                .position(|n| n.id == leader)
                .ok_or_else(|| anyhow!("leader {leader} is not one of our nodes"))?;
            // A fresh producer per run, connected before the kill (as a running client is).
            let counts = Counted::default();
            let producer: BaseProducer<Counted> = client_config(&bootstrap)
                .set("acks", "all")
                .set("linger.ms", "0")
                .set("retry.backoff.ms", "10")
                .set("retry.backoff.max.ms", "50")
                .set("message.timeout.ms", "30000")
                .create_with_context(counts.clone())
                .context("failover producer")?;
            producer
                .send(
                    BaseRecord::<(), [u8]>::to(&topic)
                        .payload(b"warm")
                        .partition(0),
                )
                .map_err(|(e, _)| anyhow!("warm-up produce: {e}"))?;
            producer
                .flush(Duration::from_secs(10))
                .map_err(|e| anyhow!("warm-up produce: {e}"))?;
            let controller = active_controller(cluster.binary(), &bootstrap);
            victim_was_controller.push(controller.map(|c| c == leader));
            // The broker-side figure: a separate client, connected before the kill (as a
            // running client is), polls Metadata every 10 ms until the partition has a live
            // leader again.
            let watch_client: BaseConsumer<StderrLog> = client_config(&bootstrap)
                .create_with_context(StderrLog)
                .context("metadata watcher")?;
            let _ = leader_and_isr(&watch_client, &topic);
            let killed = Instant::now();
            cluster.kill(index)?;
            let watcher = {
                let topic = topic.clone();
                let meta = watch_client;
                std::thread::spawn(move || -> Option<Duration> {
                    while killed.elapsed() < RUN_TIMEOUT {
                        if let Some((l, _)) = leader_and_isr(&meta, &topic) {
                            if l != leader {
                                return Some(killed.elapsed());
                            }
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    None
                })
            };
            if std::env::var_os("STRATA_BENCH_CLIENT_DEBUG").is_some() {
                eprintln!("killed node {leader}");
            }
            loop {
                producer
                    .send(
                        BaseRecord::<(), [u8]>::to(&topic)
                            .payload(b"probe")
                            .partition(0),
                    )
                    .map_err(|(e, _)| anyhow!("probe produce: {e}"))?;
                let _ = producer.flush(Duration::from_secs(10));
                if counts.0.acked.load(Ordering::Relaxed) >= 2 {
                    break;
                }
                if killed.elapsed() > RUN_TIMEOUT {
                    bail!("run {run}: no produce acknowledged within {RUN_TIMEOUT:?}");
                }
            }
            let took = killed.elapsed();
            let seen = watcher
                .join()
                .map_err(|_| anyhow!("the metadata watcher panicked"))?
                .ok_or_else(|| anyhow!("run {run}: no new leader in metadata"))?;
            let role = match controller {
                Some(c) if c == leader => " (the active controller)",
                Some(_) => "",
                None => " (active controller unknown)",
            };
            println!(
                "  failover run {:>2}: killed leader {leader}{role}; new leader in metadata after {:.0} ms, produce acknowledged after {:.0} ms",
                run + 1,
                seen.as_secs_f64() * 1000.0,
                took.as_secs_f64() * 1000.0
            );
            times.push(took);
            leader_times.push(seen);
            cluster.restart(index)?;
            cluster.wait_ready(index)?;
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    load.join()
        .map_err(|_| anyhow!("the background producer panicked"))?;
    outcome?;
    Ok(Failover {
        runs: times,
        leader_runs: leader_times,
        victim_was_controller,
        background_acked: background.0.acked.load(Ordering::Relaxed),
        background_failed: background.0.failed.load(Ordering::Relaxed),
    })
}
