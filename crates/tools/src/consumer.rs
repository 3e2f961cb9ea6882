//! `kafka-console-consumer`: Kafka's ConsoleConsumer. Without `--group` it assigns itself the
//! partitions (no group); with `--group G` (or `group.id`) it joins the group (classic
//! protocol, range assignor), starts from the group's committed offsets, commits as it goes
//! (`enable.auto.commit`, every `auto.commit.interval.ms`) and on exit, then leaves the group.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use strata_client::error::codes;
use strata_client::membership::{GroupMember, REBALANCE_IN_PROGRESS};
use strata_client::{
    Client, FetchTarget, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, READ_COMMITTED, READ_UNCOMMITTED,
};

use crate::args::{self, opt, Arity, OptSpec};
use crate::formatter::MessageFormatter;
use crate::interrupt::Interrupt;
use crate::props::{self, Props};

/// Broker-side long-poll per fetch round.
pub const FETCH_MAX_WAIT_MS: i32 = 500;
/// Bytes per partition per fetch (Kafka's `max.partition.fetch.bytes`).
pub const FETCH_MAX_BYTES: i32 = 1024 * 1024;
/// Pause after a failed round before trying again.
pub const ERROR_BACKOFF_MS: u64 = 200;

/// Kafka's `auto.commit.interval.ms` default.
pub const AUTO_COMMIT_INTERVAL_MS: u64 = 5_000;

const SPECS: &[OptSpec] = &[
    opt("bootstrap-server", Arity::Required, "String: server to connect to", "REQUIRED: The server(s) to connect to."),
    opt("topic", Arity::Required, "String: topic", "The topic to consume on."),
    opt("include", Arity::Required, "String: Java regex (String)", "Regular expression specifying list of topics to include for consumption."),
    opt("whitelist", Arity::Required, "String: Java regex (String)", "DEPRECATED, use --include instead."),
    opt("partition", Arity::Required, "Integer: partition", "The partition to consume from."),
    opt("offset", Arity::Required, "String: consume offset", "The offset to consume from (a non-negative number), or 'earliest' which means from beginning, or 'latest' which means from end"),
    opt("consumer-property", Arity::Required, "String: consumer_prop", "A mechanism to pass user-defined properties in the form key=value to the consumer."),
    opt("command-property", Arity::Required, "String: consumer_prop", "Same as --consumer-property."),
    opt("consumer.config", Arity::Required, "String: config file", "Consumer config properties file."),
    opt("command-config", Arity::Required, "String: config file", "Same as --consumer.config."),
    opt("formatter", Arity::Required, "String: class", "The name of a class to use for formatting kafka messages for display."),
    opt("formatter-config", Arity::Required, "String: config file", "Config properties file to initialize the message formatter."),
    opt("property", Arity::Required, "String: prop", "The properties to initialize the message formatter."),
    opt("formatter-property", Arity::Required, "String: prop", "Same as --property."),
    opt("from-beginning", Arity::Flag, "", "If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message."),
    opt("max-messages", Arity::Required, "Integer: num_messages", "The maximum number of messages to consume before exiting. If not set, consumption is continual."),
    opt("timeout-ms", Arity::Required, "Long: timeout_ms", "If specified, exit if no message is available for consumption for the specified interval."),
    opt("skip-message-on-error", Arity::Flag, "", "If there is an error when processing a message, skip it instead of halt."),
    opt("key-deserializer", Arity::Required, "String: deserializer for keys", "Ignored: keys are printed as bytes."),
    opt("value-deserializer", Arity::Required, "String: deserializer for values", "Ignored: values are printed as bytes."),
    opt("enable-systest-events", Arity::Flag, "", "Log lifecycle events of the consumer."),
    opt("isolation-level", Arity::Required, "String", "Set to read_committed in order to filter out transactional messages which are not committed. Set to read_uncommitted to read all messages."),
    opt("group", Arity::Required, "String: consumer group id", "The consumer group id of the consumer."),
    opt("help", Arity::Flag, "", "Print usage information."),
    opt("version", Arity::Flag, "", "Display Kafka version."),
];

const ACCEPTED_FORMATTERS: &[&str] = &[
    "kafka.tools.DefaultMessageFormatter",
    "org.apache.kafka.tools.consumer.DefaultMessageFormatter",
];

/// Where a partition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// Log start.
    Earliest,
    /// High watermark.
    Latest,
    /// An explicit offset.
    At(i64),
}

/// Resolved consumer settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerSettings {
    /// Bootstrap servers.
    pub bootstrap: String,
    /// `--topic`.
    pub topic: Option<String>,
    /// `--include` regex.
    pub include: Option<String>,
    /// `--partition`.
    pub partition: Option<i32>,
    /// Start position for assigned partitions.
    pub start: StartOffset,
    /// Reset policy when an offset is out of range (`auto.offset.reset`).
    pub reset_to_earliest: bool,
    /// `--max-messages`.
    pub max_messages: Option<u64>,
    /// `--timeout-ms`.
    pub timeout_ms: Option<u64>,
    /// 0 = read_uncommitted, 1 = read_committed.
    pub isolation_level: i8,
    /// client.id.
    pub client_id: String,
    /// Output formatter.
    pub formatter: MessageFormatter,
    /// `--group` / `group.id`: consume as a member of this group.
    pub group: Option<String>,
    /// `enable.auto.commit` (Kafka's default: true) with its interval.
    pub auto_commit_ms: Option<u64>,
    /// `session.timeout.ms` for a group member (Kafka's consumer default: 45 s).
    pub session_timeout_ms: i32,
    /// `heartbeat.interval.ms` (Kafka's consumer default: 3 s).
    pub heartbeat_interval_ms: u64,
}

/// What parsing decided.
#[derive(Debug)]
pub enum ParseOutcome {
    /// Run with these settings.
    Run(Box<ConsumerSettings>),
    /// Help or version printed; exit 0.
    Done,
    /// Print the message (and usage if `with_usage`) and exit 1.
    Fail {
        /// Message for stderr.
        message: String,
        /// Whether to print usage after it.
        with_usage: bool,
    },
}

fn usage_fail(message: impl Into<String>) -> ParseOutcome {
    ParseOutcome::Fail {
        message: message.into(),
        with_usage: true,
    }
}

/// Parses arguments like Kafka's `ConsoleConsumerOptions`.
pub fn parse_settings(args: &[String]) -> ParseOutcome {
    let p = match args::parse(SPECS, args) {
        Ok(p) => p,
        Err(e) => return usage_fail(e),
    };
    if p.has("help") {
        println!(
            "This tool helps to read data from Kafka topics and outputs it to standard output."
        );
        print!("{}", args::usage(SPECS));
        return ParseOutcome::Done;
    }
    if p.has("version") {
        println!("{}", crate::KAFKA_COMPAT_VERSION);
        return ParseOutcome::Done;
    }
    let topic = p.value("topic").map(str::to_string);
    let include = p
        .value("include")
        .or_else(|| p.value("whitelist"))
        .map(str::to_string);
    if topic.is_some() == include.is_some() {
        return usage_fail("Exactly one of whitelist/topic is required.");
    }
    let partition = match p.value("partition") {
        None => None,
        Some(v) => match v.trim().parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return usage_fail(format!("Cannot parse argument '{v}' of option partition"))
            }
        },
    };
    let from_beginning = p.has("from-beginning");
    if partition.is_some() {
        if topic.is_none() {
            return usage_fail("The topic is required when partition is specified.");
        }
        if from_beginning && p.has("offset") {
            return usage_fail("Options from-beginning and offset cannot be specified together.");
        }
    } else if p.has("offset") {
        return usage_fail("The partition is required when offset is specified.");
    }
    let Some(bootstrap) = p.value("bootstrap-server").map(str::to_string) else {
        return usage_fail("Missing required argument \"[bootstrap-server]\"");
    };

    let mut consumer_props = Props::new();
    let files: Vec<&str> = p
        .values("consumer.config")
        .into_iter()
        .chain(p.values("command-config"))
        .collect();
    let mut extra = p.values("consumer-property");
    extra.extend(p.values("command-property"));
    match props::load_and_merge(&files, &extra) {
        Ok(x) => consumer_props.extend(x),
        Err(e) => return usage_fail(e),
    }
    props::warn_unsupported_security(&consumer_props);
    let group = match (p.value("group"), consumer_props.get("group.id")) {
        (Some(a), Some(b)) if a != b => {
            return ParseOutcome::Fail {
                message: format!(
                    "Option [group] conflicts with consumer property group.id ({a} != {b})"
                ),
                with_usage: false,
            }
        }
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b.cloned(),
    };
    if group.is_some() && partition.is_some() {
        return usage_fail("Options group and partition cannot be specified together.");
    }
    let auto_commit_ms = match consumer_props.get("enable.auto.commit").map(String::as_str) {
        Some("false") => None,
        _ => Some(
            consumer_props
                .get("auto.commit.interval.ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(AUTO_COMMIT_INTERVAL_MS),
        ),
    };
    let reset = consumer_props.get("auto.offset.reset").cloned();
    if let Some(r) = &reset {
        if from_beginning && r != "earliest" {
            return ParseOutcome::Fail {
                message: format!("Can't simultaneously specify --from-beginning and 'auto.offset.reset={r}', please remove one option"),
                with_usage: false,
            };
        }
    }
    let reset_to_earliest = match reset.as_deref() {
        Some("earliest") => true,
        Some(_) => false,
        None => from_beginning,
    };
    let start = match p.value("offset") {
        Some(o) => match o.to_ascii_lowercase().as_str() {
            "earliest" => StartOffset::Earliest,
            "latest" => StartOffset::Latest,
            _ => match o.parse::<i64>() {
                Ok(n) if n >= 0 => StartOffset::At(n),
                _ => {
                    return usage_fail(format!("The provided offset value '{o}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."))
                }
            },
        },
        None if partition.is_some() && from_beginning => StartOffset::Earliest,
        None if partition.is_some() => StartOffset::Latest,
        None if reset_to_earliest => StartOffset::Earliest,
        None => StartOffset::Latest,
    };
    let max_messages = match p.value("max-messages") {
        None => None,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u64),
            Ok(_) => None,
            Err(_) => {
                return usage_fail(format!(
                    "Cannot parse argument '{v}' of option max-messages"
                ))
            }
        },
    };
    let timeout_ms = match p.value("timeout-ms") {
        None => None,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u64),
            Ok(_) => None,
            Err(_) => {
                return usage_fail(format!("Cannot parse argument '{v}' of option timeout-ms"))
            }
        },
    };
    let isolation = p
        .value("isolation-level")
        .map(str::to_string)
        .or_else(|| consumer_props.get("isolation.level").cloned())
        .unwrap_or_else(|| "read_uncommitted".into());
    let isolation_level = match isolation.as_str() {
        "read_committed" => READ_COMMITTED,
        "read_uncommitted" => READ_UNCOMMITTED,
        other => {
            return usage_fail(format!("Invalid value {other} for configuration isolation.level: String must be one of: read_committed, read_uncommitted"))
        }
    };
    if let Some(f) = p.value("formatter") {
        if !ACCEPTED_FORMATTERS.contains(&f) {
            return usage_fail(format!(
                "strata: formatter {f} is not supported; only DefaultMessageFormatter is available"
            ));
        }
    }
    let mut fp = p.values("property");
    fp.extend(p.values("formatter-property"));
    let formatter_config: Vec<&str> = p.value("formatter-config").into_iter().collect();
    let formatter_props = match props::load_and_merge(&formatter_config, &fp) {
        Ok(x) => x,
        Err(e) => return usage_fail(e),
    };
    ParseOutcome::Run(Box::new(ConsumerSettings {
        bootstrap,
        topic,
        include,
        partition,
        start,
        reset_to_earliest,
        max_messages,
        timeout_ms,
        isolation_level,
        client_id: consumer_props
            .get("client.id")
            .cloned()
            .unwrap_or_else(|| "console-consumer".into()),
        formatter: MessageFormatter::from_props(&formatter_props),
        group,
        auto_commit_ms,
        session_timeout_ms: consumer_props
            .get("session.timeout.ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(strata_client::membership::SESSION_TIMEOUT_MS),
        heartbeat_interval_ms: consumer_props
            .get("heartbeat.interval.ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(3_000),
    }))
}

/// Resolves the partitions to read, waiting for the topic to exist (or the timeout).
async fn assignment(
    client: &mut Client,
    s: &ConsumerSettings,
    deadline: Option<Instant>,
) -> Result<Option<Vec<(String, i32)>>, String> {
    loop {
        let mut found: Vec<(String, i32)> = Vec::new();
        if let Some(topic) = &s.topic {
            let md = client
                .metadata(Some(vec![topic.clone()]), true)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(t) = md
                .topics
                .iter()
                .find(|t| &t.name == topic && t.error_code == 0)
            {
                for p in &t.partitions {
                    if s.partition.is_none_or(|want| want == p.partition) {
                        found.push((topic.clone(), p.partition));
                    }
                }
            }
        } else if let Some(inc) = &s.include {
            let re = regex::Regex::new(&format!("^(?:{inc})$"))
                .map_err(|e| format!("invalid --include regex {inc:?}: {e}"))?;
            let md = client
                .metadata(None, false)
                .await
                .map_err(|e| e.to_string())?;
            for t in md
                .topics
                .iter()
                .filter(|t| t.error_code == 0 && !t.is_internal)
            {
                if re.is_match(&t.name) {
                    found.extend(t.partitions.iter().map(|p| (t.name.clone(), p.partition)));
                }
            }
        }
        if !found.is_empty() {
            found.sort();
            return Ok(Some(found));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(ERROR_BACKOFF_MS)).await;
    }
}

async fn resolve_offset(
    client: &mut Client,
    topic: &str,
    partition: i32,
    start: StartOffset,
    isolation_level: i8,
) -> Result<i64, String> {
    let ts = match start {
        StartOffset::At(o) => return Ok(o),
        StartOffset::Earliest => EARLIEST_TIMESTAMP,
        StartOffset::Latest => LATEST_TIMESTAMP,
    };
    client
        .list_offsets_isolated(topic, partition, ts, isolation_level)
        .await
        .map_err(|e| e.to_string())
}

fn timeout_exit() {
    eprintln!("ERROR Error processing message, terminating consumer process:  (org.apache.kafka.tools.consumer.ConsoleConsumer)");
    eprintln!("org.apache.kafka.common.errors.TimeoutException");
}

/// Runs the consume loop; returns (messages printed, exit code).
async fn consume(s: &ConsumerSettings) -> (u64, i32) {
    let interrupt = Interrupt::listen();
    let mut count: u64 = 0;
    let started = Instant::now();
    let deadline = s.timeout_ms.map(|t| started + Duration::from_millis(t));
    let mut client = match Client::connect_with_client_id(&s.bootstrap, &s.client_id).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR Unknown error when running consumer: {e}");
            return (0, 1);
        }
    };
    let parts = tokio::select! {
        r = assignment(&mut client, s, deadline) => r,
        _ = interrupt.wait() => return (0, 0),
    };
    let parts = match parts {
        Ok(Some(p)) => p,
        Ok(None) => {
            timeout_exit();
            return (0, 0);
        }
        Err(e) => {
            eprintln!("ERROR Unknown error when running consumer: {e}");
            return (0, 1);
        }
    };
    if let Some(group) = &s.group {
        let mut topics: Vec<String> = parts.iter().map(|(t, _)| t.clone()).collect();
        topics.dedup();
        return consume_group(&mut client, s, group, topics, &interrupt).await;
    }
    let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (t, p) in &parts {
        let mut attempts = 0;
        loop {
            match resolve_offset(&mut client, t, *p, s.start, s.isolation_level).await {
                Ok(o) => {
                    positions.insert((t.clone(), *p), o);
                    break;
                }
                Err(e) => {
                    attempts += 1;
                    if attempts > 50 || deadline.is_some_and(|d| Instant::now() >= d) {
                        eprintln!("ERROR Unknown error when running consumer: {e}");
                        return (0, 1);
                    }
                    tokio::time::sleep(Duration::from_millis(ERROR_BACKOFF_MS)).await;
                }
            }
        }
    }
    let mut last_record = Instant::now();
    loop {
        match fetch_step(
            &mut client,
            s,
            &mut positions,
            &mut count,
            &mut last_record,
            &interrupt,
        )
        .await
        {
            Step::Continue => {}
            Step::Stop => return (count, 0),
        }
    }
}

/// What the consume loop does after one fetch round.
enum Step {
    Continue,
    Stop,
}

/// One fetch round over `positions`: prints what arrived, advances the positions, and says
/// whether to stop (max messages, timeout, Ctrl-C, stdout closed).
async fn fetch_step(
    client: &mut Client,
    s: &ConsumerSettings,
    positions: &mut BTreeMap<(String, i32), i64>,
    count: &mut u64,
    last_record: &mut Instant,
    interrupt: &Interrupt,
) -> Step {
    if interrupt.raised() {
        return Step::Stop;
    }
    if s.max_messages.is_some_and(|m| *count >= m) {
        return Step::Stop;
    }
    if let Some(t) = s.timeout_ms {
        if last_record.elapsed() > Duration::from_millis(t) {
            timeout_exit();
            return Step::Stop;
        }
    }
    let targets: Vec<FetchTarget> = positions
        .iter()
        .map(|((t, p), o)| FetchTarget {
            topic: t.clone(),
            partition: *p,
            offset: *o,
        })
        .collect();
    let wait = match s.timeout_ms {
        Some(t) => {
            let left = Duration::from_millis(t).saturating_sub(last_record.elapsed());
            (left.as_millis() as i32).clamp(0, FETCH_MAX_WAIT_MS)
        }
        None => FETCH_MAX_WAIT_MS,
    };
    if targets.is_empty() {
        // A group member with no partitions: wait like a fetch would.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))) => {}
            _ = interrupt.wait() => return Step::Stop,
        }
        return Step::Continue;
    }
    let fetched = tokio::select! {
        r = client.fetch_many(&targets, wait, FETCH_MAX_BYTES, s.isolation_level) => r,
        _ = interrupt.wait() => return Step::Stop,
    };
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!(error = %e, "fetch failed; retrying");
            tokio::time::sleep(Duration::from_millis(ERROR_BACKOFF_MS)).await;
            return Step::Continue;
        }
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut stop = false;
    for fp in fetched {
        let key = (fp.topic.clone(), fp.partition);
        if let Some(err) = &fp.error {
            if err.kafka_code() == Some(codes::OFFSET_OUT_OF_RANGE) {
                let start = if s.reset_to_earliest {
                    StartOffset::Earliest
                } else {
                    StartOffset::Latest
                };
                if let Ok(o) =
                    resolve_offset(client, &fp.topic, fp.partition, start, s.isolation_level).await
                {
                    positions.insert(key, o);
                }
            } else {
                tracing::debug!(error = %err, topic = %fp.topic, partition = fp.partition, "partition fetch error");
            }
            continue;
        }
        for r in &fp.records {
            if s.max_messages.is_some_and(|m| *count >= m) {
                stop = true;
                break;
            }
            s.formatter.write(r, &mut buf);
            *count += 1;
            *last_record = Instant::now();
            positions.insert(key.clone(), r.offset + 1);
        }
        if !stop {
            if let Some(next) = fp.next_offset {
                let pos = positions.entry(key).or_insert(next);
                debug_assert!(next >= 0);
                if next > *pos {
                    *pos = next;
                }
            }
        }
    }
    if !buf.is_empty() {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if out.write_all(&buf).and_then(|_| out.flush()).is_err() {
            eprintln!("Unable to write to standard out, closing consumer.");
            return Step::Stop;
        }
    }
    if stop || s.max_messages.is_some_and(|m| *count >= m) {
        Step::Stop
    } else {
        Step::Continue
    }
}

/// The group consume loop: join, start from the committed offsets (else the reset policy),
/// heartbeat and commit while fetching, rejoin on a rebalance; commit and leave at the end.
async fn consume_group(
    client: &mut Client,
    s: &ConsumerSettings,
    group: &str,
    topics: Vec<String>,
    interrupt: &Interrupt,
) -> (u64, i32) {
    let mut member = GroupMember::new(group, topics);
    member.session_timeout_ms = s.session_timeout_ms;
    member.heartbeat_interval = Duration::from_millis(s.heartbeat_interval_ms.max(1));
    let mut count: u64 = 0;
    let mut last_record: Instant;
    let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
    'rejoin: loop {
        let joined = tokio::select! {
            r = member.join(client) => r,
            _ = interrupt.wait() => return (count, 0),
        };
        let parts = match joined {
            Ok(p) => p,
            Err(e) => {
                eprintln!("ERROR Unknown error when running consumer: {e}");
                return (count, 1);
            }
        };
        let committed = match member.committed(client, &parts).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "cannot fetch committed offsets; rejoining");
                tokio::time::sleep(Duration::from_millis(ERROR_BACKOFF_MS)).await;
                continue 'rejoin;
            }
        };
        positions.clear();
        for (t, p) in &parts {
            let key = (t.clone(), *p);
            let offset = match committed.get(&key) {
                Some(o) if *o >= 0 => *o,
                _ => {
                    let start = if s.reset_to_earliest {
                        StartOffset::Earliest
                    } else {
                        StartOffset::Latest
                    };
                    match resolve_offset(client, t, *p, start, s.isolation_level).await {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::debug!(error = %e, "cannot resolve a start offset; rejoining");
                            tokio::time::sleep(Duration::from_millis(ERROR_BACKOFF_MS)).await;
                            continue 'rejoin;
                        }
                    }
                }
            };
            positions.insert(key, offset);
        }
        // --timeout-ms counts from here: waiting for the group (its initial rebalance delay,
        // other members) is not a silent topic.
        last_record = Instant::now();
        let mut last_heartbeat = Instant::now();
        let mut last_commit = Instant::now();
        loop {
            let step = fetch_step(
                client,
                s,
                &mut positions,
                &mut count,
                &mut last_record,
                interrupt,
            )
            .await;
            if let Step::Stop = step {
                if let Err(e) = member.commit(client, &positions).await {
                    tracing::warn!(error = %e, "final offset commit failed");
                }
                let _ = member.leave(client).await;
                return (count, 0);
            }
            if s.auto_commit_ms
                .is_some_and(|ms| last_commit.elapsed() >= Duration::from_millis(ms))
            {
                if let Err(e) = member.commit(client, &positions).await {
                    tracing::debug!(error = %e, "offset commit failed");
                }
                last_commit = Instant::now();
            }
            if last_heartbeat.elapsed() >= member.heartbeat_interval {
                last_heartbeat = Instant::now();
                match member.heartbeat(client).await {
                    Ok(0) => {}
                    Ok(code) => {
                        tracing::debug!(code, "heartbeat: rejoining the group");
                        if code == REBALANCE_IN_PROGRESS && s.auto_commit_ms.is_some() {
                            let _ = member.commit(client, &positions).await;
                        }
                        continue 'rejoin;
                    }
                    Err(e) => tracing::debug!(error = %e, "heartbeat failed"),
                }
            }
        }
    }
}

/// Entry point for `kafka-console-consumer` (arguments without the program name).
pub fn kafka_console_consumer(args: Vec<String>) -> i32 {
    let settings = match parse_settings(&args) {
        ParseOutcome::Run(s) => s,
        ParseOutcome::Done => return 0,
        ParseOutcome::Fail {
            message,
            with_usage,
        } => {
            eprintln!("{message}");
            if with_usage {
                eprint!("{}", args::usage(SPECS));
            }
            return 1;
        }
    };
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ERROR {e}");
            return 1;
        }
    };
    let (count, code) = rt.block_on(consume(&settings));
    eprintln!("Processed a total of {count} messages");
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn run_settings(args: &[&str]) -> ConsumerSettings {
        match parse_settings(&sv(args)) {
            ParseOutcome::Run(s) => *s,
            other => panic!("expected settings, got {other:?}"),
        }
    }

    fn fail_message(args: &[&str]) -> String {
        match parse_settings(&sv(args)) {
            ParseOutcome::Fail { message, .. } => message,
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn start_positions() {
        let s = run_settings(&["--bootstrap-server", "h:1", "--topic", "t"]);
        assert_eq!(s.start, StartOffset::Latest);
        let s = run_settings(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--from-beginning",
        ]);
        assert_eq!(s.start, StartOffset::Earliest);
        let s = run_settings(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--partition",
            "2",
            "--offset",
            "7",
            "--max-messages",
            "3",
            "--timeout-ms",
            "100",
        ]);
        assert_eq!((s.partition, s.start), (Some(2), StartOffset::At(7)));
        assert_eq!((s.max_messages, s.timeout_ms), (Some(3), Some(100)));
        let s = run_settings(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--partition",
            "0",
            "--offset",
            "earliest",
        ]);
        assert_eq!(s.start, StartOffset::Earliest);
    }

    #[test]
    fn kafka_error_messages() {
        assert_eq!(
            fail_message(&["--bootstrap-server", "h:1", "--topic", "t", "--offset", "1"]),
            "The partition is required when offset is specified."
        );
        assert_eq!(
            fail_message(&["--bootstrap-server", "h:1", "--topic", "t", "--partition", "0", "--offset", "-5"]),
            "The provided offset value '-5' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
        );
        assert_eq!(
            fail_message(&["--topic", "t"]),
            "Missing required argument \"[bootstrap-server]\""
        );
        assert_eq!(
            run_settings(&["--bootstrap-server", "h:1", "--topic", "t", "--group", "g"]).group,
            Some("g".to_string())
        );
        assert_eq!(
            fail_message(&[
                "--bootstrap-server",
                "h:1",
                "--topic",
                "t",
                "--group",
                "g",
                "--partition",
                "0"
            ]),
            "Options group and partition cannot be specified together."
        );
        assert_eq!(
            fail_message(&[
                "--bootstrap-server",
                "h:1",
                "--topic",
                "t",
                "--formatter",
                "x.Y"
            ]),
            "strata: formatter x.Y is not supported; only DefaultMessageFormatter is available"
        );
    }

    #[test]
    fn formatter_properties_and_ignored_keys() {
        let s = run_settings(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--formatter",
            "kafka.tools.DefaultMessageFormatter",
            "--property",
            "print.key=true",
            "--property",
            "timestamp.print=true",
            "--property",
            "key.separator=:",
        ]);
        let mut out = Vec::new();
        let r = strata_client::ConsumedRecord {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            timestamp: 1,
            timestamp_type: strata_client::TimestampKind::CreateTime,
            key: Some(bytes::Bytes::from_static(b"k")),
            value: Some(bytes::Bytes::from_static(b"v")),
            headers: vec![],
        };
        s.formatter.write(&r, &mut out);
        assert_eq!(out, b"k:v\n");
    }
}
