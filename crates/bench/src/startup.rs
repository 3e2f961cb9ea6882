//! Workload 7, start-up: a node holding `gb` GB of log is restarted, after a clean shutdown
//! (SIGTERM) and after kill -9 (recovery of the unflushed tail); reports the time to its ready
//! line and until every partition answers ListOffsets with the log end it had.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::cluster::LocalCluster;
use crate::workloads::{client_config, create_topic, produce, StderrLog};

/// Value size used to fill the log (bigger values fill it faster).
const FILL_RECORD_BYTES: usize = 1000;
/// Partitions of the filled topic.
const PARTITIONS: i32 = 6;

/// The start-up figures.
pub struct Startup {
    /// Bytes of log on the node (segment files).
    pub log_bytes: u64,
    /// (to ready line, to serving every partition) after a clean shutdown.
    pub clean: (Duration, Duration),
    /// The same after kill -9.
    pub killed: (Duration, Duration),
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// Log end offsets of every partition of `topic`, or None while one does not answer.
fn ends(consumer: &BaseConsumer<StderrLog>, topic: &str) -> Option<Vec<i64>> {
    (0..PARTITIONS)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_millis(500))
                .ok()
                .map(|(_, high)| high)
        })
        .collect()
}

fn restart_and_time(
    cluster: &mut LocalCluster,
    topic: &str,
    expected: &[i64],
) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    cluster.restart(0)?;
    cluster.wait_ready(0)?;
    let ready = started.elapsed();
    let consumer: BaseConsumer<StderrLog> = client_config(&cluster.bootstrap())
        .create_with_context(StderrLog)
        .context("client")?;
    loop {
        if let Some(now) = ends(&consumer, topic) {
            if now.as_slice() == expected {
                return Ok((ready, started.elapsed()));
            }
            if now.iter().zip(expected).any(|(n, e)| n > e) {
                bail!("log ends {now:?} after restart, expected {expected:?}");
            }
        }
        if started.elapsed() > Duration::from_secs(1200) {
            bail!("the restarted node did not serve its partitions within 1200 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Fills a one-node cluster's log with `gb` GB, then restarts it twice.
pub fn run(binary: &std::path::Path, gb: f64) -> anyhow::Result<Startup> {
    let mut cluster = LocalCluster::start(binary, 1, &[]).context("starting the node")?;
    let bootstrap = cluster.bootstrap();
    let topic = format!("bench-startup-{}", std::process::id());
    create_topic(&bootstrap, &topic, PARTITIONS, 1, &[])?;
    let records = (gb * 1e9 / FILL_RECORD_BYTES as f64) as u64;
    let filled = produce(
        &bootstrap,
        &topic,
        PARTITIONS,
        records,
        FILL_RECORD_BYTES,
        "1",
        "fill",
    )?;
    println!(
        "  filled {:.1} GB in {:.0} s",
        filled.bytes as f64 / 1e9,
        filled.elapsed.as_secs_f64()
    );
    let consumer: BaseConsumer<StderrLog> = client_config(&bootstrap)
        .create_with_context(StderrLog)
        .context("client")?;
    let expected = ends(&consumer, &topic).ok_or_else(|| anyhow!("no log ends"))?;
    drop(consumer);
    let log_bytes = dir_size(&cluster.nodes[0].data);
    cluster.terminate(0)?;
    let clean = restart_and_time(&mut cluster, &topic, &expected)?;
    println!(
        "  clean restart: ready {:.2} s, serving {:.2} s",
        clean.0.as_secs_f64(),
        clean.1.as_secs_f64()
    );
    cluster.kill(0)?;
    let killed = restart_and_time(&mut cluster, &topic, &expected)?;
    println!(
        "  restart after kill -9: ready {:.2} s, serving {:.2} s",
        killed.0.as_secs_f64(),
        killed.1.as_secs_f64()
    );
    Ok(Startup {
        log_bytes,
        clean,
        killed,
    })
}
