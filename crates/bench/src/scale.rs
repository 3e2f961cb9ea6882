//! Workload 6, scale: 100 topics × 100 partitions (10,000 partitions, RF 3) created on the
//! cluster — the time it takes, each node's RSS, Metadata latency for all topics — then a low
//! rate of acks=all produce spread over all of them.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::cluster::rss_bytes;
use crate::report::{measure, Measured};
use crate::workloads::{block_on, client_config, produce_at_rate, StderrLog};

/// Topics created per CreateTopics request.
const TOPICS_PER_REQUEST: usize = 10;
/// Metadata requests timed.
const METADATA_SAMPLES: usize = 20;

/// The scale figures.
pub struct Scale {
    /// Partitions created.
    pub partitions: usize,
    /// Time to create them all (every CreateTopics answered) and see them led in Metadata.
    pub create: Duration,
    /// RSS per node after creation, bytes.
    pub rss_after_create: Vec<u64>,
    /// Metadata (all topics) latency p50 and max.
    pub metadata_latency: (Duration, Duration),
    /// The low-rate produce over every partition.
    pub produce: Measured,
    /// RSS per node after the produce, bytes.
    pub rss_after_produce: Vec<u64>,
}

/// Runs the scale workload with `topics` × `partitions_per_topic`.
pub fn run(
    bootstrap: &str,
    pids: &[u32],
    topics: usize,
    partitions_per_topic: i32,
    rate: u64,
    duration: Duration,
) -> anyhow::Result<Scale> {
    let bootstrap = bootstrap.to_string();
    let names: Vec<String> = (0..topics)
        .map(|i| format!("bench-scale-{}-{i}", std::process::id()))
        .collect();
    let admin: AdminClient<DefaultClientContext> =
        client_config(&bootstrap).create().context("admin client")?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(60)));
    let started = Instant::now();
    for chunk in names.chunks(TOPICS_PER_REQUEST) {
        let new: Vec<NewTopic> = chunk
            .iter()
            .map(|n| NewTopic::new(n, partitions_per_topic, TopicReplication::Fixed(3)))
            .collect();
        for result in block_on(admin.create_topics(&new, &options)).context("CreateTopics")? {
            if let Err((name, code)) = result {
                bail!("creating {name}: {code}");
            }
        }
    }
    // Created means every partition has a leader in the metadata clients see.
    let meta: BaseConsumer<StderrLog> = client_config(&bootstrap)
        .create_with_context(StderrLog)
        .context("metadata client")?;
    let want = topics * usize::try_from(partitions_per_topic).unwrap_or(0);
    loop {
        let md = meta
            .fetch_metadata(None, Duration::from_secs(30))
            .context("Metadata")?;
        let led: usize = md
            .topics()
            .iter()
            .filter(|t| names.iter().any(|n| n == t.name()))
            .map(|t| t.partitions().iter().filter(|p| p.leader() >= 0).count())
            .sum();
        if led >= want {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {led} of {want} partitions have a leader after 600 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let create = started.elapsed();
    let rss_after_create = pids.iter().map(|&p| rss_bytes(p)).collect();
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for _ in 0..METADATA_SAMPLES {
        let t = Instant::now();
        meta.fetch_metadata(None, Duration::from_secs(30))
            .context("Metadata")?;
        let _ = h.record(
            u64::try_from(t.elapsed().as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        );
    }
    let metadata_latency = (
        Duration::from_micros(h.value_at_quantile(0.5)),
        Duration::from_micros(h.max()),
    );
    let produce = measure(pids, || {
        produce_at_rate(
            &bootstrap,
            &names,
            partitions_per_topic,
            rate,
            duration,
            100,
            &format!("produce acks=all over {want} partitions"),
        )
    })?;
    let rss_after_produce = pids.iter().map(|&p| rss_bytes(p)).collect();
    Ok(Scale {
        partitions: want,
        create,
        rss_after_create,
        metadata_latency,
        produce,
        rss_after_produce,
    })
}
