//! `server.properties`: Kafka's file format and key names, plus environment variables and
//! `--override k=v`, resolved into the settings of each layer.
//!
//! Precedence, lowest first: built-in defaults, the config file, environment variables
//! (`KAFKA_LOG_DIRS` / `STRATA_LOG_DIRS` → `log.dirs`, with Kafka's docker-image escaping:
//! `_` → `.`, `__` → `_`, `___` → `-`), then `--override`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Every key this node understands, with Kafka's default (`None` = no default / null).
/// Keys marked `IGNORED` are accepted for compatibility with Kafka's sample configs but have no
/// effect (threads, socket buffers: tokio sizes those itself).
const KNOWN_KEYS: &[(&str, Option<&str>)] = &[
    ("node.id", Some("1")),
    ("broker.id", None),
    ("process.roles", Some("broker,controller")),
    ("listeners", Some("PLAINTEXT://127.0.0.1:9092")),
    ("advertised.listeners", None),
    ("listener.security.protocol.map", Some("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL")),
    ("controller.listener.names", Some("CONTROLLER")),
    ("inter.broker.listener.name", None),
    ("controller.quorum.voters", None),
    ("controller.quorum.bootstrap.servers", None),
    ("controller.quorum.election.timeout.ms", None),
    ("log.dirs", None),
    ("log.dir", Some("/tmp/kafka-logs")),
    ("metadata.log.dir", None),
    ("num.partitions", Some("1")),
    ("default.replication.factor", Some("1")),
    ("min.insync.replicas", Some("1")),
    ("auto.create.topics.enable", Some("true")),
    ("delete.topic.enable", Some("true")),
    ("log.retention.hours", Some("168")),
    ("log.retention.minutes", None),
    ("log.retention.ms", None),
    ("log.retention.bytes", Some("-1")),
    ("log.retention.check.interval.ms", Some("300000")),
    ("log.segment.bytes", Some("1073741824")),
    ("log.roll.hours", Some("168")),
    ("log.roll.ms", None),
    ("log.index.interval.bytes", Some("4096")),
    ("log.index.size.max.bytes", Some("10485760")),
    ("log.flush.interval.messages", Some("9223372036854775807")),
    ("log.flush.interval.ms", None),
    ("log.flush.offset.checkpoint.interval.ms", Some("60000")),
    ("log.message.timestamp.type", Some("CreateTime")),
    ("log.cleanup.policy", Some("delete")),
    ("message.max.bytes", Some("1048588")),
    ("socket.request.max.bytes", Some("104857600")),
    ("broker.rack", None),
    ("broker.session.timeout.ms", Some("500")),
    ("broker.heartbeat.interval.ms", Some("100")),
    ("unclean.leader.election.enable", Some("false")),
    ("replica.lag.time.max.ms", Some("30000")),
    ("replica.high.watermark.checkpoint.interval.ms", Some("5000")),
    ("auto.leader.rebalance.enable", Some("true")),
    ("leader.imbalance.check.interval.seconds", Some("300")),
    ("replica.fetch.wait.max.ms", Some("500")),
    ("replica.fetch.max.bytes", Some("1048576")),
    ("replica.fetch.response.max.bytes", Some("10485760")),
    ("compression.type", Some("producer")),
    ("offsets.topic.replication.factor", Some("3")),
    ("offsets.topic.num.partitions", Some("50")),
    ("transaction.state.log.replication.factor", Some("3")),
    ("transaction.state.log.min.isr", Some("2")),
    ("group.initial.rebalance.delay.ms", Some("3000")),
    ("group.min.session.timeout.ms", Some("6000")),
    ("offsets.retention.minutes", Some("10080")),
    ("offsets.retention.check.interval.ms", Some("600000")),
    ("group.max.session.timeout.ms", Some("1800000")),
    ("share.coordinator.state.topic.replication.factor", Some("3")),
    ("share.coordinator.state.topic.min.isr", Some("2")),
    ("num.network.threads", Some("3")),
    ("num.io.threads", Some("8")),
    ("num.recovery.threads.per.data.dir", Some("1")),
    ("socket.send.buffer.bytes", Some("102400")),
    ("socket.receive.buffer.bytes", Some("102400")),
    // Strata-only: format unformatted log dirs at start instead of refusing to start (tests;
    // implied by `strata server` with no arguments).
    ("strata.auto.format", Some("false")),
    // Strata-only: the cluster id auto-formatting writes, and that meta.properties must match.
    ("strata.cluster.id", None),
    // Strata-only: replicate over one long-lived FetchStream call per leader connection (and
    // serve it). `false` behaves as a version without it: unary Fetch calls only, and
    // FetchStream answered with `Unimplemented` (mixed-version and fallback tests).
    ("strata.replica.fetch.stream", Some("true")),
];

/// The resolved key/value settings of a node.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    values: BTreeMap<String, String>,
    /// Keys set explicitly (file, environment or override), for DescribeConfigs sources.
    explicit: BTreeMap<String, String>,
}

impl Settings {
    /// Built-in defaults only.
    pub fn defaults() -> Self {
        let values = KNOWN_KEYS
            .iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.to_string())))
            .collect();
        Settings {
            values,
            explicit: BTreeMap::new(),
        }
    }

    /// Sets `key` explicitly, warning about keys Strata does not know.
    pub fn set(&mut self, key: &str, value: &str, origin: &str) {
        if !KNOWN_KEYS.iter().any(|(k, _)| *k == key) {
            tracing::warn!(key, value, origin, "unknown config key (ignored)");
        }
        self.values.insert(key.to_string(), value.to_string());
        self.explicit.insert(key.to_string(), value.to_string());
    }

    /// Loads a Java properties file (the tools' parser: one set of Java's rules for every
    /// properties file Strata reads). Values are trimmed, as Kafka's ConfigDef does.
    pub fn load_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        for (key, value) in strata_tools::props::parse_properties(&text) {
            self.set(&key, value.trim(), "config file");
        }
        Ok(())
    }

    /// Applies `KAFKA_*` and `STRATA_*` environment variables.
    pub fn load_env(&mut self, vars: impl Iterator<Item = (String, String)>) {
        for (name, value) in vars {
            let Some(rest) = name
                .strip_prefix("STRATA_")
                .or_else(|| name.strip_prefix("KAFKA_"))
            else {
                continue;
            };
            // Variables of the container images and tooling that are not settings.
            if matches!(
                rest,
                "BIN"
                    | "HOME"
                    | "OPTS"
                    | "HEAP_OPTS"
                    | "JVM_PERFORMANCE_OPTS"
                    | "LOG4J_OPTS"
                    | "CLUSTER_ID"
                    | "LOG"
                    | "DATA"
            ) {
                continue;
            }
            let key = env_to_key(rest);
            // STRATA_* also names tooling variables (STRATA_BIN, STRATA_KEEP_DATA, …): only
            // known keys are settings. KAFKA_* follows Kafka's images: every one is a setting.
            if name.starts_with("STRATA_") && !KNOWN_KEYS.iter().any(|(k, _)| *k == key) {
                continue;
            }
            self.set(&key, &value, "environment");
        }
    }

    /// Applies one `--override k=v`.
    pub fn apply_override(&mut self, pair: &str) -> anyhow::Result<()> {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--override {pair:?} is not of the form key=value");
        };
        self.set(key.trim(), value.trim(), "--override");
        Ok(())
    }

    /// The value of `key`, if set or defaulted.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Parses `key` as a number, naming the key and value when it is not one.
    pub fn parse<T: std::str::FromStr>(&self, key: &str) -> anyhow::Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|e| anyhow::anyhow!("invalid value {v:?} for config {key}: {e}")),
        }
    }

    /// Parses `key` as a boolean (`true`/`false`, as Kafka).
    pub fn parse_bool(&self, key: &str) -> anyhow::Result<Option<bool>> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if v == "true" => Ok(Some(true)),
            Some(v) if v == "false" => Ok(Some(false)),
            Some(v) => bail!("invalid value {v:?} for config {key}: expected true or false"),
        }
    }

    /// Every setting with whether it is a default and whether it is sensitive.
    pub fn describe(&self) -> Vec<(String, String, bool, bool)> {
        self.values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.clone(),
                    !self.explicit.contains_key(k),
                    k.contains("password"),
                )
            })
            .collect()
    }
}

/// `LOG_DIRS` → `log.dirs`; Kafka's docker escaping for `_`, `-`.
fn env_to_key(rest: &str) -> String {
    rest.to_ascii_lowercase()
        .replace("___", "\u{1}")
        .replace("__", "\u{2}")
        .replace('_', ".")
        .replace('\u{1}', "-")
        .replace('\u{2}', "_")
}

/// One `NAME://host:port` listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// Listener name (`PLAINTEXT`, `CONTROLLER`, …).
    pub name: String,
    /// Host; empty means all interfaces.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// Parses a `listeners`-style list.
pub fn parse_listeners(key: &str, value: &str) -> anyhow::Result<Vec<Listener>> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, rest)) = item.split_once("://") else {
            bail!("invalid value {value:?} for config {key}: {item:?} is not NAME://host:port");
        };
        let Some((host, port)) = rest.rsplit_once(':') else {
            bail!("invalid value {value:?} for config {key}: {item:?} has no port");
        };
        let port: u16 = port.parse().map_err(|e| {
            anyhow::anyhow!("invalid value {value:?} for config {key}: port {port:?}: {e}")
        })?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        out.push(Listener {
            name: name.to_ascii_uppercase(),
            host,
            port,
        });
    }
    if out.is_empty() {
        bail!("invalid value {value:?} for config {key}: no listeners");
    }
    Ok(out)
}

/// `log.dirs` (or `log.dir`) as paths.
pub fn log_dirs(settings: &Settings) -> Vec<PathBuf> {
    let value = settings
        .get("log.dirs")
        .or_else(|| settings.get("log.dir"))
        .unwrap_or("/tmp/kafka-logs");
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties_and_env_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("server.properties");
        std::fs::write(
            &path,
            "# c\nnode.id=1 \nlisteners PLAINTEXT://host:9092\nlog.dirs: /a,\\\n /b\n! x\nk\\u0041 v\\tw\n",
        )
        .expect("write");
        let mut settings = Settings::defaults();
        settings.load_file(&path).expect("load");
        assert_eq!(settings.get("node.id"), Some("1"));
        // The key ends at the first unescaped separator: the value keeps its colons.
        assert_eq!(settings.get("listeners"), Some("PLAINTEXT://host:9092"));
        assert_eq!(settings.get("log.dirs"), Some("/a,/b"));
        assert_eq!(settings.get("kA"), Some("v\tw"));
        assert_eq!(env_to_key("LOG_DIRS"), "log.dirs");
        assert_eq!(
            env_to_key("LISTENER_SECURITY_PROTOCOL_MAP"),
            "listener.security.protocol.map"
        );
        assert_eq!(env_to_key("A__B___C"), "a_b-c");
    }

    #[test]
    fn parses_listeners() {
        let l =
            parse_listeners("listeners", "PLAINTEXT://:9092,controller://localhost:9093").unwrap();
        assert_eq!(
            l[0],
            Listener {
                name: "PLAINTEXT".into(),
                host: String::new(),
                port: 9092
            }
        );
        assert_eq!(l[1].name, "CONTROLLER");
        assert!(parse_listeners("listeners", "PLAINTEXT://host:notaport").is_err());
        assert!(parse_listeners("listeners", "nonsense").is_err());
    }

    #[test]
    fn invalid_numbers_name_key_and_value() {
        let mut s = Settings::defaults();
        s.apply_override("num.partitions=abc").unwrap();
        let err = s.parse::<i32>("num.partitions").unwrap_err().to_string();
        assert!(
            err.contains("num.partitions") && err.contains("abc"),
            "{err}"
        );
    }
}
