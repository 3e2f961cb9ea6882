//! `kafka-console-producer`: Kafka's ConsoleProducer with LineMessageReader.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use strata_client::partitioner::partition_for_key;
use strata_client::{
    Client, ClientError, Compression, ProduceOptions, ProduceRecord, ProducerIdentity,
};
use strata_clock::wall_clock_ms;

use crate::args::{self, opt, Arity, OptSpec};
use crate::line_reader::LineReader;
use crate::props::{self, Props};

/// How long to keep retrying a retriable produce error (Kafka: `delivery.timeout.ms`).
pub const DELIVERY_TIMEOUT_MS: u64 = 120_000;
/// Pause between produce retries (Kafka: `retry.backoff.ms`).
pub const RETRY_BACKOFF_MS: u64 = 100;
/// Largest pause between retries.
pub const RETRY_BACKOFF_MAX_MS: u64 = 1_000;
/// Default wait for topic metadata (Kafka: `max.block.ms`).
pub const DEFAULT_MAX_BLOCK_MS: u64 = 60_000;

const SPECS: &[OptSpec] = &[
    opt("bootstrap-server", Arity::Required, "String: server to connect to", "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to."),
    opt("broker-list", Arity::Required, "String: broker-list", "DEPRECATED, use --bootstrap-server instead."),
    opt("topic", Arity::Required, "String: topic", "REQUIRED: The topic id to produce messages to."),
    opt("sync", Arity::Flag, "", "If set message send requests to the brokers are synchronously, one at a time as they arrive."),
    opt("compression-codec", Arity::Optional, "String: compression-codec", "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified without value, then it defaults to 'gzip'"),
    opt("batch-size", Arity::Required, "Integer: size", "Number of messages to send in a single batch if they are not being sent synchronously."),
    opt("message-send-max-retries", Arity::Required, "Integer", "Ignored (retries are bounded by the delivery timeout)."),
    opt("retry-backoff-ms", Arity::Required, "Long", "Ignored."),
    opt("timeout", Arity::Required, "Long: timeout_ms", "If set and the producer is running in asynchronous mode, this gives the maximum amount of time a message will queue awaiting sufficient batch size (linger.ms)."),
    opt("request-required-acks", Arity::Required, "String: request required acks", "The required acks of the producer requests (default: -1)."),
    opt("request-timeout-ms", Arity::Required, "Integer: request timeout ms", "The ack timeout of the producer requests."),
    opt("metadata-expiry-ms", Arity::Required, "Long", "Ignored."),
    opt("max-block-ms", Arity::Required, "Long: max block on send", "The max time that the producer will block for during a send request."),
    opt("max-memory-bytes", Arity::Required, "Long", "Ignored."),
    opt("max-partition-memory-bytes", Arity::Required, "Long", "Ignored."),
    opt("socket-buffer-size", Arity::Required, "Integer", "Ignored."),
    opt("line-reader", Arity::Required, "String: reader_class", "Only Kafka's LineMessageReader is supported."),
    opt("property", Arity::Required, "String: prop", "A mechanism to pass user-defined properties in the form key=value to the message reader."),
    opt("reader-property", Arity::Required, "String: prop", "Same as --property."),
    opt("reader-config", Arity::Required, "String: config file", "Config properties file for the message reader."),
    opt("producer-property", Arity::Required, "String: producer_prop", "A mechanism to pass user-defined properties in the form key=value to the producer."),
    opt("command-property", Arity::Required, "String: producer_prop", "Same as --producer-property."),
    opt("producer.config", Arity::Required, "String: config file", "Producer config properties file."),
    opt("command-config", Arity::Required, "String: config file", "Same as --producer.config."),
    opt("help", Arity::Flag, "", "Print usage information."),
    opt("version", Arity::Flag, "", "Display Kafka version."),
];

/// Resolved producer settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerSettings {
    /// Bootstrap servers.
    pub bootstrap: String,
    /// Topic to write.
    pub topic: String,
    /// acks: 0, 1 or -1.
    pub acks: i16,
    /// Batch compression.
    pub compression: Compression,
    /// linger.ms.
    pub linger_ms: u64,
    /// batch.size in bytes.
    pub batch_size: usize,
    /// Send each record on its own and wait for it.
    pub sync: bool,
    /// Use InitProducerId and sequence numbers.
    pub idempotent: bool,
    /// Broker-side ack timeout.
    pub request_timeout_ms: i32,
    /// Metadata wait.
    pub max_block_ms: u64,
    /// client.id.
    pub client_id: String,
    /// Reader properties.
    pub reader_props: Props,
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("{msg}");
    eprint!("{}", args::usage(SPECS));
    1
}

/// Parses a compression name as Kafka's `compression.type`.
pub fn parse_compression(name: &str) -> Result<Compression, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => Err(format!(
            "Invalid value {other} for configuration compression.type: String must be one of: none, gzip, snappy, lz4, zstd"
        )),
    }
}

fn parse_acks(v: &str) -> Result<i16, String> {
    match v.trim() {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        other => Err(format!(
            "Invalid value {other} for configuration acks: String must be one of: all, -1, 0, 1"
        )),
    }
}

/// Parses arguments into settings (Kafka's `ConsoleProducerOptions` + `producerProps`).
/// `Ok(None)` means help/version was printed.
pub fn parse_settings(args: &[String]) -> Result<Option<ProducerSettings>, String> {
    let p = args::parse(SPECS, args)?;
    if p.has("help") {
        println!("This tool helps to read data from standard input and publish it to Kafka.");
        print!("{}", args::usage(SPECS));
        return Ok(None);
    }
    if p.has("version") {
        println!("{}", crate::KAFKA_COMPAT_VERSION);
        return Ok(None);
    }
    let topic = p
        .value("topic")
        .ok_or("Missing required argument \"[topic]\"")?
        .to_string();
    let bootstrap = p
        .value("bootstrap-server")
        .or_else(|| p.value("broker-list"))
        .ok_or("Missing required argument \"[bootstrap-server]\"")?
        .to_string();
    if let Some(r) = p.value("line-reader") {
        if !r.ends_with("LineMessageReader") {
            return Err(format!(
                "Unsupported --line-reader {r}: only LineMessageReader is available"
            ));
        }
    }
    let files: Vec<&str> = p
        .values("producer.config")
        .into_iter()
        .chain(p.values("command-config"))
        .collect();
    let mut extra = p.values("producer-property");
    extra.extend(p.values("command-property"));
    let producer_props = props::load_and_merge(&files, &extra)?;
    props::warn_unsupported_security(&producer_props);

    let mut rp = p.values("property");
    rp.extend(p.values("reader-property"));
    let reader_props = props::load_and_merge(
        &p.value("reader-config").into_iter().collect::<Vec<_>>(),
        &rp,
    )?;

    // Kafka's maybeMergeOptions: an explicit flag wins, else the property, else the flag default.
    let merged = |flag: &str, key: &str, default: &str| -> String {
        p.value(flag)
            .map(str::to_string)
            .or_else(|| producer_props.get(key).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let acks = parse_acks(&merged("request-required-acks", "acks", "-1"))?;
    let compression = if p.has("compression-codec") {
        parse_compression(p.value("compression-codec").unwrap_or("gzip"))?
    } else {
        parse_compression(
            producer_props
                .get("compression.type")
                .map_or("none", |s| s.as_str()),
        )?
    };
    let num = |s: String, what: &str| -> Result<u64, String> {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("Invalid value {s} for configuration {what}"))
    };
    let linger_ms = num(merged("timeout", "linger.ms", "1000"), "linger.ms")?;
    let batch_size = num(merged("batch-size", "batch.size", "16384"), "batch.size")? as usize;
    let request_timeout_ms = num(
        merged("request-timeout-ms", "request.timeout.ms", "1500"),
        "request.timeout.ms",
    )?;
    let max_block_ms = num(
        merged(
            "max-block-ms",
            "max.block.ms",
            &DEFAULT_MAX_BLOCK_MS.to_string(),
        ),
        "max.block.ms",
    )?;
    let idempotence_prop = producer_props
        .get("enable.idempotence")
        .map(|v| props::is_true(v));
    if idempotence_prop == Some(true) && acks != -1 {
        return Err("Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.".into());
    }
    Ok(Some(ProducerSettings {
        bootstrap,
        topic,
        acks,
        compression,
        linger_ms,
        batch_size: batch_size.max(1),
        sync: p.has("sync"),
        idempotent: acks == -1 && idempotence_prop != Some(false),
        request_timeout_ms: i32::try_from(request_timeout_ms).unwrap_or(i32::MAX),
        max_block_ms,
        client_id: producer_props
            .get("client.id")
            .cloned()
            .unwrap_or_else(|| "console-producer".to_string()),
        reader_props,
    }))
}

/// Producer state across batches.
struct Sender {
    client: Client,
    settings: ProducerSettings,
    num_partitions: Option<i32>,
    producer: Option<(i64, i16)>,
    next_sequence: HashMap<i32, i32>,
    sticky_partition: Option<i32>,
    sticky_bytes: usize,
}

impl Sender {
    /// Partition count, waiting for the topic to appear (auto-creation) up to max.block.ms.
    async fn partitions(&mut self) -> Result<i32, String> {
        if let Some(n) = self.num_partitions {
            return Ok(n);
        }
        let deadline = Instant::now() + Duration::from_millis(self.settings.max_block_ms);
        loop {
            let md = self
                .client
                .metadata(Some(vec![self.settings.topic.clone()]), true)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(t) = md.topics.iter().find(|t| t.name == self.settings.topic) {
                if t.error_code == 0 && !t.partitions.is_empty() {
                    let n = t.partitions.len() as i32;
                    self.num_partitions = Some(n);
                    return Ok(n);
                }
                if t.error_code != 0 && !strata_client::error::is_retriable_code(t.error_code) {
                    return Err(ClientError::kafka(t.error_code, None, "Metadata").to_string());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "org.apache.kafka.common.errors.TimeoutException: Topic {} not present in metadata after {} ms.",
                    self.settings.topic, self.settings.max_block_ms
                ));
            }
            tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
        }
    }

    async fn ensure_producer_id(&mut self) {
        if !self.settings.idempotent || self.producer.is_some() {
            return;
        }
        match self.client.init_producer_id().await {
            Ok(id) => self.producer = Some(id),
            Err(e) => {
                // Without a producer id we still deliver, just without duplicate protection.
                tracing::warn!(error = %e, "InitProducerId failed; producing without idempotence");
                self.settings.idempotent = false;
            }
        }
    }

    /// Kafka's BuiltInPartitioner: murmur2 for keyed records, a sticky random partition
    /// (switched after `batch.size` bytes) for unkeyed ones.
    fn choose_partition(&mut self, key: Option<&Bytes>, size: usize, n: i32) -> i32 {
        if let Some(k) = key {
            return partition_for_key(k, n);
        }
        let p = match self.sticky_partition {
            Some(p) => p,
            None => {
                let mut rng = rand::thread_rng();
                let mut p = rng.gen_range(0..n);
                if n > 1 {
                    // Move off the previous partition when switching.
                    while Some(p) == self.sticky_partition {
                        p = rng.gen_range(0..n);
                    }
                }
                self.sticky_partition = Some(p);
                p
            }
        };
        self.sticky_bytes += size;
        if self.sticky_bytes >= self.settings.batch_size {
            self.sticky_bytes = 0;
            self.sticky_partition = None;
        }
        p
    }

    /// Sends one batch, retrying retriable errors until the delivery timeout.
    async fn send(&mut self, partition: i32, records: &[ProduceRecord]) -> Result<(), ClientError> {
        self.ensure_producer_id().await;
        let producer = self.producer.map(|(id, epoch)| ProducerIdentity {
            producer_id: id,
            producer_epoch: epoch,
            base_sequence: *self.next_sequence.get(&partition).unwrap_or(&0),
        });
        let options = ProduceOptions {
            acks: self.settings.acks,
            compression: self.settings.compression,
            timeout_ms: self.settings.request_timeout_ms,
            producer,
        };
        let deadline = Instant::now() + Duration::from_millis(DELIVERY_TIMEOUT_MS);
        let mut backoff = RETRY_BACKOFF_MS;
        loop {
            match self
                .client
                .produce(&self.settings.topic, partition, records, &options)
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_retriable() && Instant::now() < deadline => {
                    tracing::debug!(error = %e, partition, "retrying produce");
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                    backoff = (backoff * 2).min(RETRY_BACKOFF_MAX_MS);
                    let _ = self
                        .client
                        .metadata(Some(vec![self.settings.topic.clone()]), false)
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(p) = producer {
            let next = p.base_sequence.wrapping_add(records.len() as i32) & i32::MAX;
            self.next_sequence.insert(partition, next);
        }
        Ok(())
    }
}

fn describe_len(b: &Option<Bytes>) -> String {
    match b {
        Some(b) => format!("{} bytes", b.len()),
        None => "null".to_string(),
    }
}

fn report_send_failure(topic: &str, records: &[ProduceRecord], err: &str) {
    for r in records {
        eprintln!(
            "ERROR Error when sending message to topic {topic} with key: {}, value: {} with error: {err} (org.apache.kafka.clients.producer.internals.ErrorLoggingCallback)",
            describe_len(&r.key),
            describe_len(&r.value)
        );
    }
}

enum Input {
    Line(String),
    Failed(String),
}

/// Reads stdin on a plain thread (stdin is blocking) and forwards lines.
fn spawn_stdin_reader(tx: tokio::sync::mpsc::Sender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let prompt = stdin.is_terminal();
        let mut lock = stdin.lock();
        let mut buf = Vec::new();
        loop {
            if prompt {
                print!(">");
                let _ = std::io::stdout().flush();
            }
            buf.clear();
            match lock.read_until(b'\n', &mut buf) {
                Ok(0) => return,
                Ok(_) => {
                    // BufferedReader.readLine strips \n, \r\n or \r.
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.blocking_send(Input::Line(line)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Input::Failed(e.to_string()));
                    return;
                }
            }
        }
    });
}

async fn flush_all(
    sender: &mut Sender,
    pending: &mut BTreeMap<i32, (Vec<ProduceRecord>, usize)>,
) -> Result<(), String> {
    let batches = std::mem::take(pending);
    for (partition, (records, _)) in batches {
        if let Err(e) = sender.send(partition, &records).await {
            report_send_failure(&sender.settings.topic, &records, &e.to_string());
            return Err(e.to_string());
        }
    }
    Ok(())
}

async fn run(settings: ProducerSettings) -> i32 {
    let reader = match LineReader::from_props(&settings.reader_props) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("org.apache.kafka.common.KafkaException: {e}");
            return 1;
        }
    };
    let client =
        match Client::connect_with_client_id(&settings.bootstrap, &settings.client_id).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ERROR {e}");
                return 1;
            }
        };
    let mut sender = Sender {
        client,
        settings,
        num_partitions: None,
        producer: None,
        next_sequence: HashMap::new(),
        sticky_partition: None,
        sticky_bytes: 0,
    };
    let interrupt = crate::interrupt::Interrupt::listen();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Input>(1024);
    spawn_stdin_reader(tx);
    let mut pending: BTreeMap<i32, (Vec<ProduceRecord>, usize)> = BTreeMap::new();
    let mut line_number: u64 = 0;
    let mut linger_deadline: Option<tokio::time::Instant> = None;
    let linger = Duration::from_millis(sender.settings.linger_ms);
    let mut exit_code = 0;
    loop {
        let sleep_until = linger_deadline
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            input = rx.recv() => {
                let line = match input {
                    None => break,
                    Some(Input::Failed(e)) => {
                        eprintln!("org.apache.kafka.common.KafkaException: {e}");
                        exit_code = 1;
                        break;
                    }
                    Some(Input::Line(l)) => l,
                };
                line_number += 1;
                let parsed = match reader.parse(&line, line_number) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("org.apache.kafka.common.KafkaException: {e}");
                        exit_code = 1;
                        break;
                    }
                };
                let n = match sender.partitions().await {
                    Ok(n) => n,
                    Err(e) => {
                        let r = ProduceRecord { key: parsed.key, value: parsed.value, headers: parsed.headers, timestamp: 0 };
                        report_send_failure(&sender.settings.topic, &[r], &e);
                        exit_code = 1;
                        break;
                    }
                };
                let record = ProduceRecord {
                    key: parsed.key,
                    value: parsed.value,
                    headers: parsed.headers,
                    timestamp: wall_clock_ms(),
                };
                let size = record.estimated_size_bytes();
                let partition = sender.choose_partition(record.key.as_ref(), size, n);
                let entry = pending.entry(partition).or_insert_with(|| (Vec::new(), 0));
                entry.0.push(record);
                entry.1 += size;
                let full = entry.1 >= sender.settings.batch_size;
                if sender.settings.sync || full {
                    let records = pending.remove(&partition).map(|e| e.0).unwrap_or_default();
                    if let Err(e) = sender.send(partition, &records).await {
                        report_send_failure(&sender.settings.topic, &records, &e.to_string());
                        exit_code = 1;
                        break;
                    }
                }
                if pending.is_empty() {
                    linger_deadline = None;
                } else if linger_deadline.is_none() {
                    linger_deadline = Some(tokio::time::Instant::now() + linger);
                }
            }
            _ = tokio::time::sleep_until(sleep_until), if linger_deadline.is_some() => {
                linger_deadline = None;
                if flush_all(&mut sender, &mut pending).await.is_err() {
                    exit_code = 1;
                    break;
                }
            }
            _ = interrupt.wait() => break,
        }
    }
    // Like Kafka's producer.close(): deliver whatever is still queued.
    if flush_all(&mut sender, &mut pending).await.is_err() {
        exit_code = 1;
    }
    exit_code
}

/// Entry point for `kafka-console-producer` (arguments without the program name).
pub fn kafka_console_producer(args: Vec<String>) -> i32 {
    let settings = match parse_settings(&args) {
        Ok(Some(s)) => s,
        Ok(None) => return 0,
        Err(e) => return usage_error(&e),
    };
    match crate::runtime() {
        Ok(rt) => rt.block_on(run(settings)),
        Err(e) => {
            eprintln!("ERROR {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let s = parse_settings(&sv(&["--bootstrap-server", "h:1", "--topic", "t"]))
            .unwrap()
            .unwrap();
        assert_eq!(s.acks, -1);
        assert!(s.idempotent);
        assert_eq!(s.compression, Compression::None);
        assert_eq!(s.linger_ms, 1000);
        assert_eq!(s.batch_size, 16384);
        let s = parse_settings(&sv(&[
            "--broker-list",
            "h:1",
            "--topic",
            "t",
            "--producer-property",
            "acks=1",
            "--producer-property",
            "linger.ms=5",
            "--compression-codec",
            "--property",
            "parse.key=true",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.bootstrap, "h:1");
        assert_eq!(s.acks, 1);
        assert!(!s.idempotent);
        assert_eq!(s.linger_ms, 5);
        assert_eq!(s.compression, Compression::Gzip);
        assert_eq!(s.reader_props["parse.key"], "true");
        let s = parse_settings(&sv(&[
            "--bootstrap-server=h:1",
            "--topic=t",
            "--request-required-acks",
            "0",
            "--compression-codec",
            "zstd",
            "--sync",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.acks, 0);
        assert_eq!(s.compression, Compression::Zstd);
        assert!(s.sync);
    }

    #[test]
    fn required_options() {
        assert_eq!(
            parse_settings(&sv(&["--topic", "t"])).unwrap_err(),
            "Missing required argument \"[bootstrap-server]\""
        );
        assert_eq!(
            parse_settings(&sv(&["--bootstrap-server", "h:1"])).unwrap_err(),
            "Missing required argument \"[topic]\""
        );
        assert!(parse_settings(&sv(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--compression-codec",
            "brotli"
        ]))
        .is_err());
    }
}
