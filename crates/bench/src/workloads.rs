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

/// Creates `topic` and waits until it is usable.
pub fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    rf: i32,
    configs: &[(&str, &str)],
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(bootstrap).create().context("admin client")?;
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(rf));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let runtime = tokio_runtime()?;
    let results = runtime
        .block_on(admin.create_topics([&new], &AdminOptions::new()))
        .context("CreateTopics")?;
    for r in results {
        if let Err((name, code)) = r {
            bail!("creating {name}: {code}");
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

fn tokio_runtime() -> anyhow::Result<rdkafka_runtime::Runtime> {
    rdkafka_runtime::Runtime::new()
}

/// A tiny blocking executor for rdkafka's admin futures (no tokio dependency needed).
mod rdkafka_runtime {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::Thread;

    struct ThreadWaker(Thread);

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Blocks the calling thread on futures.
    pub struct Runtime;

    impl Runtime {
        pub fn new() -> anyhow::Result<Runtime> {
            Ok(Runtime)
        }

        pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
            let mut fut = pin!(fut);
            let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            loop {
                match fut.as_mut().poll(&mut cx) {
                    Poll::Ready(v) => return v,
                    Poll::Pending => std::thread::park(),
                }
            }
        }
    }
}

/// A consumer context that prints librdkafka's log lines (debug contexts included) to stderr.
#[derive(Clone, Copy)]
pub struct StderrLog;

impl ClientContext for StderrLog {
    fn log(&self, _level: RDKafkaLogLevel, fac: &str, message: &str) {
        eprintln!("librdkafka {fac}: {message}");
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
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
            .payload(&value[..])
            .partition(partition);
        loop {
            match producer.send::<(), [u8]>(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
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
        latency_us: Some([
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
        ]),
    })
}

/// Consumes `records` records from the beginning of every partition (assign, no group).
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    name: &str,
) -> anyhow::Result<Outcome> {
    let consumer: BaseConsumer<StderrLog> = client_config(bootstrap)
        .set("group.id", "strata-bench")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        // librdkafka stops fetching for fetch.queue.backoff.ms (1 s by default) whenever its
        // local queue holds queued.min.messages: with the application draining ~1M records/s
        // that pause, not the broker, would set the pace.
        .set("fetch.queue.backoff.ms", "5")
        .set("queued.min.messages", "200000")
        .create_with_context(StderrLog)
        .context("consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    let (mut count, mut bytes) = (0u64, 0u64);
    while count < records {
        if Instant::now() > deadline {
            bail!("consumed {count} of {records} records in 300 s");
        }
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            use rdkafka::message::Message;
            count += 1;
            bytes += m.payload().map_or(0, |p| p.len() as u64);
        }
    }
    Ok(Outcome {
        name: name.to_string(),
        records: count,
        bytes,
        elapsed: started.elapsed(),
        latency_us: None,
    })
}
