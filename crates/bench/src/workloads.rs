//! The workloads, driven by librdkafka (rdkafka): produce with per-record latency, and
//! consume from the beginning.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use hdrhistogram::Histogram;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use crate::report::Mark;

/// What one workload measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Workload name.
    pub name: String,
    /// Records moved.
    pub records: u64,
    /// Bytes of values moved.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Latency percentiles in microseconds (p50, p99, p99.9, max), when measured.
    pub latency_us: Option<[u64; 4]>,
}

impl Outcome {
    /// Records per second.
    pub fn records_per_sec(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A client configuration for `bootstrap`; `STRATA_BENCH_CLIENT_DEBUG` (e.g. `fetch,msg`)
/// turns on librdkafka's debug contexts for looking into a run.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    if let Ok(debug) = std::env::var("STRATA_BENCH_CLIENT_DEBUG") {
        config.set("debug", debug);
        config.set_log_level(RDKafkaLogLevel::Debug);
    }
    config
}

/// A consumer of group `group` reading a backlog (no auto-commit), with `extra` librdkafka
/// settings and then the `key=value` pairs of `STRATA_BENCH_CONSUMER_CONFIG` (`;`-separated)
/// set over the defaults below: for trying librdkafka's consumer settings without a rebuild.
fn backlog_consumer(
    bootstrap: &str,
    group: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<BaseConsumer<StderrLog>> {
    let mut config = client_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        // librdkafka stops fetching for fetch.queue.backoff.ms (1 s by default) whenever its
        // local queue holds queued.min.messages: with the application draining ~1M records/s
        // that pause, not the broker, would set the pace.
        .set("fetch.queue.backoff.ms", "5")
        .set("queued.min.messages", "200000");
    for (key, value) in extra {
        config.set(*key, *value);
    }
    if let Ok(pairs) = std::env::var("STRATA_BENCH_CONSUMER_CONFIG") {
        for (key, value) in parse_overrides(&pairs) {
            config.set(key, value);
        }
    }
    Ok(config.create_with_context(StderrLog)?)
}

/// The `key=value` pairs of a `;`-separated list, trimmed; pairs without `=` or with an
/// empty key are skipped (librdkafka would refuse an empty name anyway).
fn parse_overrides(pairs: &str) -> Vec<(&str, &str)> {
    pairs
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Creates `topic` and waits until it is usable.
pub fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    rf: i32,
    configs: &[(&str, &str)],
) -> anyhow::Result<()> {
    create_topic_with(
        bootstrap,
        topic,
        partitions,
        TopicReplication::Fixed(rf),
        configs,
    )
}

/// Creates `topic` with the given replication (a factor, or replicas per partition) and
/// topic configs.
pub fn create_topic_with(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replication: TopicReplication<'_>,
    configs: &[(&str, &str)],
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(bootstrap).create().context("admin client")?;
    let mut new = NewTopic::new(topic, partitions, replication);
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let results =
        block_on(admin.create_topics([&new], &AdminOptions::new())).context("CreateTopics")?;
    for r in results {
        if let Err((name, code)) = r {
            bail!("creating {name}: {code}");
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

/// Runs an rdkafka admin future to completion on this thread (a tiny executor: no async
/// runtime is needed for a handful of admin calls).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Enqueues `record`, waiting while librdkafka's queue is full.
fn send_blocking<C: ProducerContext<DeliveryOpaque = Box<Instant>>>(
    producer: &ThreadedProducer<C>,
    mut record: BaseRecord<'_, (), [u8], Box<Instant>>,
) {
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((_, back)) => {
                record = back;
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

/// Calls `send(n)` for records n = 0, 1, … at `rate` per second for `duration`; returns how
/// many were sent.
fn paced(rate: u64, duration: Duration, mut send: impl FnMut(u64)) -> u64 {
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            send(sent);
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    sent
}

/// p50, p99, p99.9 and max of a latency histogram.
pub fn percentiles(h: &Histogram<u64>) -> [u64; 4] {
    [
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
    ]
}

/// The first part of an end-to-end run that is sent but not counted.
const E2E_WARMUP: Duration = Duration::from_secs(1);

/// A consumer context that prints librdkafka's log lines (debug contexts included) to stderr.
#[derive(Clone, Copy)]
pub struct StderrLog;

impl ClientContext for StderrLog {
    fn log(&self, _level: RDKafkaLogLevel, fac: &str, message: &str) {
        // Connection errors while a node is down are expected in failover runs: only shown
        // when asked for.
        if std::env::var_os("STRATA_BENCH_CLIENT_DEBUG").is_some() {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            let at = START.get_or_init(Instant::now).elapsed();
            eprintln!("{:>10.3} librdkafka {fac}: {message}", at.as_secs_f64());
        }
    }
}

impl ConsumerContext for StderrLog {}

/// Delivery reports into a latency histogram.
struct LatencyState {
    histogram: Mutex<Histogram<u64>>,
    failed: Mutex<u64>,
}

/// The producer context: shares the state with the workload.
#[derive(Clone)]
struct Latencies(Arc<LatencyState>);

impl ClientContext for Latencies {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        StderrLog.log(level, fac, message);
    }
}

impl ProducerContext for Latencies {
    type DeliveryOpaque = Box<Instant>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Self::DeliveryOpaque) {
        match result {
            Ok(_) => {
                let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                if let Ok(mut h) = self.0.histogram.lock() {
                    let _ = h.record(us.max(1));
                }
            }
            Err(_) => {
                if let Ok(mut f) = self.0.failed.lock() {
                    *f += 1;
                }
            }
        }
    }
}

/// Produces `records` values of `size` bytes round-robin over `partitions`.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    size: usize,
    acks: &str,
    name: &str,
) -> anyhow::Result<Outcome> {
    let latencies = Latencies(Arc::new(LatencyState {
        histogram: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        failed: Mutex::new(0),
    }));
    let producer: ThreadedProducer<Latencies> = client_config(bootstrap)
        .set("acks", acks)
        .set(
            "enable.idempotence",
            if acks == "all" { "true" } else { "false" },
        )
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "60000")
        .create_with_context(latencies.clone())
        .context("producer")?;
    let value = vec![b'x'; size];
    let started = Instant::now();
    for i in 0..records {
        let partition =
            i32::try_from(i % u64::try_from(partitions.max(1)).unwrap_or(1)).unwrap_or(0);
        send_blocking(
            &producer,
            BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
                .payload(&value[..])
                .partition(partition),
        );
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| anyhow!("flush: {e}"))?;
    let elapsed = started.elapsed();
    let failed = latencies.0.failed.lock().map(|f| *f).unwrap_or(0);
    if failed > 0 {
        bail!("{failed} of {records} records failed");
    }
    let h = latencies
        .0
        .histogram
        .lock()
        .map_err(|_| anyhow!("latency histogram poisoned"))?;
    Ok(Outcome {
        name: name.to_string(),
        records,
        bytes: records * size as u64,
        elapsed,
        latency_us: Some(percentiles(&h)),
    })
}

/// A consumer that receives nothing for this long has stalled (a broker whose fetch answers
/// the client rejects): the workload fails instead of waiting out its 300 s.
const CONSUME_STALL: Duration = Duration::from_secs(30);
/// Consume loops look at the clock (deadlines) once per this many records.
const CLOCK_CHECK_EVERY: u64 = 4096;

/// librdkafka settings that bound the consumer's prefetch queue to about 20,000 records
/// (4 MiB) instead of [`consume`]'s 200,000. The client's CPU per record grows with the depth
/// of that queue (docs/PERFORMANCE.md, "The client's prefetch queue"), and the queue is deep only when the
/// broker answers faster than the application drains it: the peers comparison therefore
/// measures consume both ways.
pub const BOUNDED_CLIENT_QUEUE: &[(&str, &str)] = &[
    ("queued.min.messages", "20000"),
    ("queued.max.messages.kbytes", "4096"),
];

/// Consumes `records` records from the beginning of every partition (assign, no group), with
/// `extra` librdkafka settings over the defaults below. The rate and the CPU (`mark`) count
/// from the first record, as for the group; the time from assign to it (librdkafka's leader
/// and offset look-ups) is returned apart.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    extra: &[(&str, &str)],
    name: &str,
    mark: &Mark,
) -> anyhow::Result<(Outcome, Duration)> {
    let consumer = backlog_consumer(bootstrap, "strata-bench", extra).context("consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let assigned = Instant::now();
    let deadline = assigned + Duration::from_secs(300);
    let (mut count, mut bytes) = (0u64, 0u64);
    // The clock is read only when a poll comes back empty: at a million records a second,
    // three clock reads per record were a tenth of the client's CPU (and the client sets the
    // pace of this workload).
    let mut idle_since: Option<Instant> = None;
    while count < records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                use rdkafka::message::Message;
                idle_since = None;
                if count == 0 {
                    mark.start();
                }
                count += 1;
                bytes += m.payload().map_or(0, |p| p.len() as u64);
                if count % CLOCK_CHECK_EVERY == 0 && Instant::now() > deadline {
                    bail!("consumed {count} of {records} records in 300 s");
                }
            }
            _ => {
                let now = Instant::now();
                if now > deadline {
                    bail!("consumed {count} of {records} records in 300 s");
                }
                let since = *idle_since.get_or_insert(now);
                if now.duration_since(since) > CONSUME_STALL {
                    bail!(
                        "consumed {count} of {records} records, then nothing for {CONSUME_STALL:?}"
                    );
                }
            }
        }
    }
    let started = mark.started().unwrap_or(assigned);
    Ok((
        Outcome {
            name: name.to_string(),
            records: count,
            bytes,
            elapsed: started.elapsed(),
            latency_us: None,
        },
        started.saturating_duration_since(assigned),
    ))
}

/// Consumes `records` records of `topic` with `members` consumers in one group (the classic
/// protocol), each on its own thread. The rate counts from the first record to the last, so
/// the group's join (and `group.initial.rebalance.delay.ms`) is reported apart, as `joined`,
/// and so is the CPU (`mark`).
pub fn consume_group(
    bootstrap: &str,
    topic: &str,
    members: usize,
    records: u64,
    name: &str,
    mark: &Mark,
) -> anyhow::Result<(Outcome, Duration)> {
    use rdkafka::message::Message;
    use std::sync::atomic::{AtomicU64, Ordering};
    let group = format!("strata-bench-group-{}", std::process::id());
    let count = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    let mut threads = Vec::new();
    for _ in 0..members.max(1) {
        let consumer = backlog_consumer(bootstrap, &group, &[]).context("group consumer")?;
        consumer.subscribe(&[topic])?;
        let (count, bytes, mark) = (count.clone(), bytes.clone(), mark.clone());
        threads.push(std::thread::spawn(move || {
            // Counted locally and added to the shared totals every CLOCK_CHECK_EVERY records:
            // a shared atomic, a mutex and a clock read per record made the three consumer
            // threads contend with each other, which is client cost, not broker cost.
            let (mut mine, mut my_bytes, mut seen_first) = (0u64, 0u64, false);
            loop {
                let polled = consumer.poll(Duration::from_millis(50));
                if let Some(Ok(m)) = &polled {
                    if !seen_first {
                        seen_first = true;
                        mark.start();
                    }
                    mine += 1;
                    my_bytes += m.payload().map_or(0, |p| p.len() as u64);
                    if mine < CLOCK_CHECK_EVERY {
                        continue;
                    }
                }
                count.fetch_add(mine, Ordering::Relaxed);
                bytes.fetch_add(my_bytes, Ordering::Relaxed);
                (mine, my_bytes) = (0, 0);
                if count.load(Ordering::Relaxed) >= records || Instant::now() >= deadline {
                    break;
                }
            }
            Instant::now()
        }));
    }
    let mut last = started;
    for t in threads {
        let done = t.join().map_err(|_| anyhow!("a group consumer panicked"))?;
        last = last.max(done);
    }
    let consumed = count.load(Ordering::Relaxed);
    if consumed < records {
        bail!("the group consumed {consumed} of {records} records in 300 s");
    }
    let first = mark
        .started()
        .ok_or_else(|| anyhow!("no record consumed"))?;
    Ok((
        Outcome {
            name: name.to_string(),
            records: consumed,
            bytes: bytes.load(Ordering::Relaxed),
            elapsed: last.saturating_duration_since(first),
            latency_us: None,
        },
        first.saturating_duration_since(started),
    ))
}

/// End-to-end latency: produces `rate` records/s for `duration` to `topic` (each value
/// carries its send time) while one consumer reads them; records the time from send to
/// receipt. The first second of sending ([`E2E_WARMUP`]) is not counted. Returns the outcome
/// and the histogram (for the chart).
#[allow(clippy::too_many_arguments)]
pub fn end_to_end(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    rate: u64,
    duration: Duration,
    size: usize,
    acks: &str,
    name: &str,
) -> anyhow::Result<(Outcome, Histogram<u64>)> {
    use rdkafka::message::Message;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let epoch = Instant::now();
    let size = size.max(16);
    let consumer: BaseConsumer<StderrLog> = client_config(bootstrap)
        .set("group.id", "strata-bench-e2e")
        .set("enable.auto.commit", "false")
        // Long polls: the broker must answer as soon as data arrives, not after the wait.
        .set("fetch.wait.max.ms", "500")
        .set("fetch.min.bytes", "1")
        .create_with_context(StderrLog)
        .context("consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::End)?;
    }
    consumer.assign(&tpl)?;
    // Records stamped before this (ns since `epoch`) are the warm-up and not counted: set
    // when sending starts, so the producer's connections and first metadata look-up (tens of
    // milliseconds) stay out of the distribution.
    let counted_from = Arc::new(AtomicU64::new(u64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let counted_from = counted_from.clone();
        std::thread::spawn(move || -> anyhow::Result<(Histogram<u64>, u64)> {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut seen = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(20)) {
                    let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    let Some(sent) = m
                        .payload()
                        .and_then(|p| p.get(..8))
                        .and_then(|b| <[u8; 8]>::try_from(b).ok())
                        .map(u64::from_be_bytes)
                    else {
                        continue;
                    };
                    seen += 1;
                    if sent >= counted_from.load(Ordering::Relaxed) {
                        let _ = h.record((now.saturating_sub(sent) / 1000).max(1));
                    }
                }
            }
            Ok((h, seen))
        })
    };
    // Let the consumer find its partitions' ends before the first record is sent.
    std::thread::sleep(Duration::from_millis(1500));
    // linger.ms=1: batches what arrives within a millisecond, as a latency-minded client
    // would set it; with 0, librdkafka sends one request per record (20,000 a second).
    let producer: ThreadedProducer<Latencies> = client_config(bootstrap)
        .set("acks", acks)
        .set("linger.ms", "1")
        .set(
            "enable.idempotence",
            if acks == "all" { "true" } else { "false" },
        )
        .create_with_context(Latencies(Arc::new(LatencyState {
            histogram: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
            failed: Mutex::new(0),
        })))
        .context("producer")?;
    let mut value = vec![b'x'; size];
    let partitions_u = u64::try_from(partitions.max(1)).unwrap_or(1);
    let start_ns = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let warmup_ns = u64::try_from(E2E_WARMUP.as_nanos()).unwrap_or(u64::MAX);
    counted_from.store(start_ns.saturating_add(warmup_ns), Ordering::Relaxed);
    let sent = paced(rate, duration, |n| {
        let stamp = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        value[..8].copy_from_slice(&stamp.to_be_bytes());
        let partition = i32::try_from(n % partitions_u).unwrap_or(0);
        send_blocking(
            &producer,
            BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
                .payload(&value[..])
                .partition(partition),
        );
    });
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| anyhow!("flush: {e}"))?;
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let (h, seen) = reader
        .join()
        .map_err(|_| anyhow!("the end-to-end consumer panicked"))??;
    if seen < sent {
        bail!("end-to-end: {sent} records sent but only {seen} received");
    }
    Ok((
        Outcome {
            name: name.to_string(),
            records: sent,
            bytes: sent * size as u64,
            elapsed: duration,
            latency_us: Some(percentiles(&h)),
        },
        h,
    ))
}

/// A producer context counting acknowledged and failed deliveries.
#[derive(Clone, Default)]
pub struct Counted(pub Arc<DeliveryCounts>);

/// The counts behind [`Counted`].
#[derive(Default)]
pub struct DeliveryCounts {
    /// Acknowledged records.
    pub acked: std::sync::atomic::AtomicU64,
    /// Records whose delivery failed for good.
    pub failed: std::sync::atomic::AtomicU64,
}

impl ClientContext for Counted {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        StderrLog.log(level, fac, message);
    }
}

impl ProducerContext for Counted {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        use std::sync::atomic::Ordering;
        match result {
            Ok(_) => self.0.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.0.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Produces `rate` records/s of `size` bytes for `duration`, round-robin over every partition
/// of `topics` (each with `partitions`), and reports acknowledged records and latencies.
pub fn produce_at_rate(
    bootstrap: &str,
    topics: &[String],
    partitions: i32,
    rate: u64,
    duration: Duration,
    size: usize,
    name: &str,
) -> anyhow::Result<Outcome> {
    let latencies = Latencies(Arc::new(LatencyState {
        histogram: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        failed: Mutex::new(0),
    }));
    let producer: ThreadedProducer<Latencies> = client_config(bootstrap)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .create_with_context(latencies.clone())
        .context("producer")?;
    let value = vec![b'x'; size];
    let targets: Vec<(&str, i32)> = topics
        .iter()
        .flat_map(|t| (0..partitions).map(move |p| (t.as_str(), p)))
        .collect();
    if targets.is_empty() {
        bail!("no partitions to produce to");
    }
    let started = Instant::now();
    let sent = paced(rate, duration, |n| {
        let (topic, partition) = targets[usize::try_from(n).unwrap_or(0) % targets.len()];
        send_blocking(
            &producer,
            BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
                .payload(&value[..])
                .partition(partition),
        );
    });
    producer
        .flush(Duration::from_secs(60))
        .map_err(|e| anyhow!("flush: {e}"))?;
    let failed = latencies.0.failed.lock().map(|f| *f).unwrap_or(0);
    if failed > 0 {
        bail!("{failed} of {sent} records failed");
    }
    let h = latencies
        .0
        .histogram
        .lock()
        .map_err(|_| anyhow!("latency histogram poisoned"))?;
    Ok(Outcome {
        name: name.to_string(),
        records: sent,
        bytes: sent * size as u64,
        elapsed: started.elapsed(),
        latency_us: Some(percentiles(&h)),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_overrides;

    #[test]
    fn consumer_overrides_are_trimmed_pairs() {
        assert_eq!(
            parse_overrides(" queued.min.messages = 20000 ;fetch.queue.backoff.ms=5;;novalue; =x"),
            vec![
                ("queued.min.messages", "20000"),
                ("fetch.queue.backoff.ms", "5"),
            ]
        );
        assert!(parse_overrides("").is_empty());
    }
}
