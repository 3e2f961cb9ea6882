//! Topic config definitions (Kafka 3.9's `TopicConfig`/`LogConfig` names, defaults and validators),
//! their broker-level synonyms (`log.retention.ms` → `retention.ms`, …) and the effective-config
//! computation DescribeConfigs needs.

use std::collections::BTreeMap;

use crate::error::MetadataError;

/// Kafka's `ConfigDef.Type`: how a value is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    /// `true`/`false`, case-insensitive.
    Boolean,
    /// 32-bit signed integer.
    Int,
    /// 64-bit signed integer.
    Long,
    /// Floating point.
    Double,
    /// Free-form string.
    String,
    /// Comma-separated list of strings.
    List,
    /// Java class name.
    Class,
    /// Secret string, never echoed back.
    Password,
}

impl ConfigKind {
    /// Kafka's name for the type, as DescribeConfigs v3+ reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::Boolean => "BOOLEAN",
            ConfigKind::Int => "INT",
            ConfigKind::Long => "LONG",
            ConfigKind::Double => "DOUBLE",
            ConfigKind::String => "STRING",
            ConfigKind::List => "LIST",
            ConfigKind::Class => "CLASS",
            ConfigKind::Password => "PASSWORD",
        }
    }
}

/// Kafka's value validators, reduced to the ones topic configs use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConfigValidator {
    /// Anything that parses as the kind.
    Any,
    /// Integer `>= min` (`Range.atLeast`).
    AtLeast(i64),
    /// Integer in `[min, max]` (`Range.between`).
    IntBetween(i64, i64),
    /// Double in `[min, max]` (`Range.between`).
    DoubleBetween(f64, f64),
    /// One of these strings, case-sensitive (`ValidString.in`).
    OneOf(&'static [&'static str]),
    /// A list whose every element is one of these strings (`ValidList.in`).
    ListOf(&'static [&'static str]),
    /// gzip level: -1 (default) or 1..=9.
    GzipLevel,
    /// `*` or a list of `partition:broker` pairs (Kafka's `ThrottledReplicaListValidator`).
    ThrottledReplicas,
}

/// Where an effective config value came from (Kafka's DescribeConfigs `ConfigSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ConfigSource {
    /// Set explicitly on the topic (DYNAMIC_TOPIC_CONFIG).
    TopicOverride,
    /// Taken from the broker's static configuration (STATIC_BROKER_CONFIG).
    StaticBroker,
    /// Kafka's built-in default (DEFAULT_CONFIG).
    Default,
}

/// Definition of one topic-level config.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfigDef {
    /// Topic-level key, e.g. `retention.ms`.
    pub name: &'static str,
    /// Built-in default; `None` means null.
    pub default: Option<&'static str>,
    /// How values parse.
    pub kind: ConfigKind,
    /// What values are legal.
    pub validator: ConfigValidator,
    /// The broker-level key providing the cluster default, e.g. `log.retention.ms`.
    pub broker_synonym: Option<&'static str>,
    /// Lower-priority broker keys in coarser units, with the factor converting them to this
    /// config's unit (e.g. `log.retention.hours` × 3 600 000).
    pub broker_unit_synonyms: &'static [(&'static str, i64)],
    /// One-line description.
    pub doc: &'static str,
}

/// `Long.MAX_VALUE` as Kafka prints it.
const LONG_MAX: &str = "9223372036854775807";
/// Smallest legal `segment.bytes`: Kafka's `LegacyRecord.RECORD_OVERHEAD_V0`.
pub const MIN_SEGMENT_BYTES: i64 = 14;
/// Smallest legal `segment.index.bytes`: one offset-index entry is 8 bytes but Kafka checks 4.
pub const MIN_SEGMENT_INDEX_BYTES: i64 = 4;

const CLEANUP_POLICIES: &[&str] = &["compact", "delete"];
const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_HOUR: i64 = 3_600_000;

macro_rules! def {
    ($name:expr, $default:expr, $kind:ident, $validator:expr, $syn:expr, $units:expr, $doc:expr) => {
        ConfigDef {
            name: $name,
            default: $default,
            kind: ConfigKind::$kind,
            validator: $validator,
            broker_synonym: $syn,
            broker_unit_synonyms: $units,
            doc: $doc,
        }
    };
}

use ConfigValidator as V;

static TOPIC_CONFIG_DEFS: &[ConfigDef] = &[
    def!("cleanup.policy", Some("delete"), List, V::ListOf(CLEANUP_POLICIES), Some("log.cleanup.policy"), &[],
        "Retention policy for old log segments: \"delete\", \"compact\" or both."),
    def!("compression.gzip.level", Some("-1"), Int, V::GzipLevel, Some("compression.gzip.level"), &[],
        "Compression level when compression.type is gzip."),
    def!("compression.lz4.level", Some("9"), Int, V::IntBetween(1, 17), Some("compression.lz4.level"), &[],
        "Compression level when compression.type is lz4."),
    def!("compression.type", Some("producer"), String, V::OneOf(COMPRESSION_TYPES), Some("compression.type"), &[],
        "Final compression of the topic's data; \"producer\" keeps the producer's codec."),
    def!("compression.zstd.level", Some("3"), Int, V::IntBetween(-131_072, 22), Some("compression.zstd.level"), &[],
        "Compression level when compression.type is zstd."),
    def!("delete.retention.ms", Some("86400000"), Long, V::AtLeast(0), Some("log.cleaner.delete.retention.ms"), &[],
        "How long delete tombstones are retained in compacted topics."),
    def!("file.delete.delay.ms", Some("60000"), Long, V::AtLeast(0), Some("log.segment.delete.delay.ms"), &[],
        "Time to wait before deleting a file from the filesystem."),
    def!("flush.messages", Some(LONG_MAX), Long, V::AtLeast(1), Some("log.flush.interval.messages"), &[],
        "Messages accumulated before the log is fsynced."),
    def!("flush.ms", Some(LONG_MAX), Long, V::AtLeast(0), Some("log.flush.interval.ms"), &[],
        "Maximum time data stays unfsynced."),
    def!("follower.replication.throttled.replicas", Some(""), List, V::ThrottledReplicas, None, &[],
        "Replicas whose follower replication is throttled."),
    def!("index.interval.bytes", Some("4096"), Int, V::AtLeast(0), Some("log.index.interval.bytes"), &[],
        "Bytes written between offset-index entries."),
    def!("leader.replication.throttled.replicas", Some(""), List, V::ThrottledReplicas, None, &[],
        "Replicas whose leader replication is throttled."),
    def!("local.retention.bytes", Some("-2"), Long, V::AtLeast(-2), Some("log.local.retention.bytes"), &[],
        "Local bytes retained when tiered storage is enabled (-2 = retention.bytes)."),
    def!("local.retention.ms", Some("-2"), Long, V::AtLeast(-2), Some("log.local.retention.ms"), &[],
        "Local time retained when tiered storage is enabled (-2 = retention.ms)."),
    def!("max.compaction.lag.ms", Some(LONG_MAX), Long, V::AtLeast(1), Some("log.cleaner.max.compaction.lag.ms"), &[],
        "Maximum time a message stays ineligible for compaction."),
    def!("max.message.bytes", Some("1048588"), Int, V::AtLeast(0), Some("message.max.bytes"), &[],
        "Largest record batch size allowed."),
    def!("message.downconversion.enable", Some("true"), Boolean, V::Any, Some("log.message.downconversion.enable"), &[],
        "Whether fetches may down-convert message formats."),
    def!("message.format.version", Some("3.0-IV1"), String, V::Any, Some("log.message.format.version"), &[],
        "Deprecated message format version."),
    def!("message.timestamp.after.max.ms", Some(LONG_MAX), Long, V::AtLeast(0), Some("log.message.timestamp.after.max.ms"), &[],
        "Largest allowed amount a record timestamp may be ahead of the broker's clock."),
    def!("message.timestamp.before.max.ms", Some(LONG_MAX), Long, V::AtLeast(0), Some("log.message.timestamp.before.max.ms"), &[],
        "Largest allowed amount a record timestamp may lag the broker's clock."),
    def!("message.timestamp.difference.max.ms", Some(LONG_MAX), Long, V::AtLeast(0), Some("log.message.timestamp.difference.max.ms"), &[],
        "Deprecated: largest allowed difference between record and broker timestamps."),
    def!("message.timestamp.type", Some("CreateTime"), String, V::OneOf(TIMESTAMP_TYPES), Some("log.message.timestamp.type"), &[],
        "Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime)."),
    def!("min.cleanable.dirty.ratio", Some("0.5"), Double, V::DoubleBetween(0.0, 1.0), Some("log.cleaner.min.cleanable.ratio"), &[],
        "Dirty ratio above which the log cleaner compacts."),
    def!("min.compaction.lag.ms", Some("0"), Long, V::AtLeast(0), Some("log.cleaner.min.compaction.lag.ms"), &[],
        "Minimum time a message stays uncompacted."),
    def!("min.insync.replicas", Some("1"), Int, V::AtLeast(1), Some("min.insync.replicas"), &[],
        "Minimum ISR size for acks=all produce to succeed."),
    def!("preallocate", Some("false"), Boolean, V::Any, Some("log.preallocate"), &[],
        "Whether new segment files are preallocated."),
    def!("remote.storage.enable", Some("false"), Boolean, V::Any, None, &[],
        "Whether tiered storage is enabled for the topic."),
    def!("retention.bytes", Some("-1"), Long, V::Any, Some("log.retention.bytes"), &[],
        "Maximum partition size before old segments are deleted (-1 = unlimited)."),
    def!("retention.ms", Some("604800000"), Long, V::AtLeast(-1), Some("log.retention.ms"),
        &[("log.retention.minutes", MS_PER_MINUTE), ("log.retention.hours", MS_PER_HOUR)],
        "Maximum age of a segment before it is deleted (-1 = unlimited)."),
    def!("segment.bytes", Some("1073741824"), Int, V::AtLeast(MIN_SEGMENT_BYTES), Some("log.segment.bytes"), &[],
        "Segment file size."),
    def!("segment.index.bytes", Some("10485760"), Int, V::AtLeast(MIN_SEGMENT_INDEX_BYTES), Some("log.index.size.max.bytes"), &[],
        "Size of the offset index per segment."),
    def!("segment.jitter.ms", Some("0"), Long, V::AtLeast(0), Some("log.roll.jitter.ms"),
        &[("log.roll.jitter.hours", MS_PER_HOUR)],
        "Random jitter subtracted from segment.ms."),
    def!("segment.ms", Some("604800000"), Long, V::AtLeast(1), Some("log.roll.ms"),
        &[("log.roll.hours", MS_PER_HOUR)],
        "Time after which a segment is rolled even if not full."),
    def!("unclean.leader.election.enable", Some("false"), Boolean, V::Any, Some("unclean.leader.election.enable"), &[],
        "Whether out-of-sync replicas may become leader."),
];

/// All topic-level configs, sorted by name.
pub fn topic_config_defs() -> &'static [ConfigDef] {
    TOPIC_CONFIG_DEFS
}

/// The definition of one topic config.
pub fn topic_config_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIG_DEFS.iter().find(|d| d.name == name)
}

/// The topic config that a broker-level key provides the default for (`log.retention.hours` →
/// `retention.ms`), if any.
pub fn topic_config_for_broker_key(broker_key: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIG_DEFS.iter().find(|d| {
        d.broker_synonym == Some(broker_key)
            || d.broker_unit_synonyms.iter().any(|(k, _)| *k == broker_key)
    })
}

/// Splits a LIST value the way Kafka does: empty (after trim) is the empty list, otherwise
/// elements are separated by commas with surrounding whitespace dropped.
pub fn split_list(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(|s| s.trim().to_string()).collect()
}

/// Validates one topic config key and value with Kafka's parse rules and validators.
pub fn validate_topic_config(name: &str, value: &str) -> Result<(), MetadataError> {
    let def = topic_config_def(name).ok_or_else(|| MetadataError::UnknownConfig {
        name: name.to_string(),
    })?;
    validate_value(def, value)
}

fn validate_value(def: &ConfigDef, value: &str) -> Result<(), MetadataError> {
    let invalid = |bad: &str, reason: String| MetadataError::InvalidConfig {
        name: def.name.to_string(),
        value: bad.to_string(),
        reason,
    };
    let trimmed = value.trim();
    // Parse first, as Kafka's ConfigDef.parseType does, keeping the number for range checks.
    let mut int_value: Option<i64> = None;
    let mut double_value: Option<f64> = None;
    match def.kind {
        ConfigKind::Boolean => {
            if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                return Err(invalid(
                    value,
                    "Expected value to be either true or false".into(),
                ));
            }
        }
        ConfigKind::Int => {
            let n: i32 = trimmed
                .parse()
                .map_err(|_| invalid(value, "Not a number of type INT".into()))?;
            int_value = Some(i64::from(n));
        }
        ConfigKind::Long => {
            let n: i64 = trimmed
                .parse()
                .map_err(|_| invalid(value, "Not a number of type LONG".into()))?;
            int_value = Some(n);
        }
        ConfigKind::Double => {
            let n: f64 = trimmed
                .parse()
                .map_err(|_| invalid(value, "Not a number of type DOUBLE".into()))?;
            double_value = Some(n);
        }
        ConfigKind::String | ConfigKind::List | ConfigKind::Class | ConfigKind::Password => {}
    }
    match def.validator {
        ConfigValidator::Any => Ok(()),
        ConfigValidator::AtLeast(min) => match int_value {
            Some(n) if n < min => Err(invalid(value, format!("Value must be at least {min}"))),
            _ => Ok(()),
        },
        ConfigValidator::IntBetween(min, max) => match int_value {
            Some(n) if n < min => Err(invalid(value, format!("Value must be at least {min}"))),
            Some(n) if n > max => Err(invalid(value, format!("Value must be no more than {max}"))),
            _ => Ok(()),
        },
        ConfigValidator::DoubleBetween(min, max) => match double_value {
            Some(n) if n.is_nan() || n < min => {
                Err(invalid(value, format!("Value must be at least {min}")))
            }
            Some(n) if n > max => Err(invalid(value, format!("Value must be no more than {max}"))),
            _ => Ok(()),
        },
        ConfigValidator::OneOf(allowed) => {
            // Kafka's STRING parse trims, ValidString compares case-sensitively.
            if allowed.contains(&trimmed) {
                Ok(())
            } else {
                Err(invalid(
                    value,
                    format!("String must be one of: {}", allowed.join(", ")),
                ))
            }
        }
        ConfigValidator::ListOf(allowed) => {
            for element in split_list(value) {
                if !allowed.contains(&element.as_str()) {
                    return Err(invalid(
                        &element,
                        format!("String must be one of: {}", allowed.join(", ")),
                    ));
                }
            }
            Ok(())
        }
        ConfigValidator::GzipLevel => match int_value {
            Some(n) if n == -1 || (1..=9).contains(&n) => Ok(()),
            _ => Err(invalid(
                value,
                "Value must be between 1 and 9 or equal to -1".into(),
            )),
        },
        ConfigValidator::ThrottledReplicas => {
            let items = split_list(value);
            let ok = (items.len() == 1 && items[0] == "*")
                || items.iter().all(|item| {
                    item.split_once(':').is_some_and(|(p, b)| {
                        !p.is_empty()
                            && !b.is_empty()
                            && p.bytes().all(|c| c.is_ascii_digit())
                            && b.bytes().all(|c| c.is_ascii_digit())
                    })
                });
            if ok {
                Ok(())
            } else {
                Err(invalid(
                    value,
                    "must be the literal '*' or a list of replicas in the following format: \
                     [partitionId]:[brokerId],[partitionId]:[brokerId],..."
                        .into(),
                ))
            }
        }
    }
}

/// Validates a whole set of explicit topic configs: each key and value, then the cross-key rules
/// Kafka's `LogConfig.validateValues` enforces.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<(), MetadataError> {
    for (name, value) in configs {
        validate_topic_config(name, value)?;
    }
    let long_of = |name: &str| -> Option<i64> {
        configs
            .get(name)
            .map(String::as_str)
            .or_else(|| topic_config_def(name).and_then(|d| d.default))
            .and_then(|v| v.trim().parse().ok())
    };
    if let (Some(min_lag), Some(max_lag)) = (
        long_of("min.compaction.lag.ms"),
        long_of("max.compaction.lag.ms"),
    ) {
        if min_lag > max_lag {
            return Err(MetadataError::InvalidConfig {
                name: "min.compaction.lag.ms".to_string(),
                value: min_lag.to_string(),
                reason: format!(
                    "conflict topic config setting min.compaction.lag.ms ({min_lag}) > max.compaction.lag.ms ({max_lag})"
                ),
            });
        }
    }
    Ok(())
}

/// The value a topic config takes from the broker-level settings, if any of its synonyms is set
/// (the `*.ms` key wins over `*.minutes` over `*.hours`, as in Kafka).
pub fn broker_default_for(
    def: &ConfigDef,
    broker_overrides: &BTreeMap<String, String>,
) -> Option<String> {
    if let Some(v) = def.broker_synonym.and_then(|k| broker_overrides.get(k)) {
        return Some(v.clone());
    }
    for (key, factor) in def.broker_unit_synonyms {
        if let Some(v) = broker_overrides.get(*key) {
            // A value that does not parse is reported as-is rather than hidden.
            return Some(match v.trim().parse::<i64>() {
                Ok(n) if n < 0 => n.to_string(),
                Ok(n) => n.saturating_mul(*factor).to_string(),
                Err(_) => v.clone(),
            });
        }
    }
    None
}

/// The value and source of one topic config: topic override, else broker setting, else default.
pub fn resolve_topic_config(
    def: &ConfigDef,
    explicit: &BTreeMap<String, String>,
    broker_overrides: &BTreeMap<String, String>,
) -> (Option<String>, ConfigSource) {
    if let Some(v) = explicit.get(def.name) {
        return (Some(v.clone()), ConfigSource::TopicOverride);
    }
    if let Some(v) = broker_default_for(def, broker_overrides) {
        return (Some(v), ConfigSource::StaticBroker);
    }
    (def.default.map(str::to_string), ConfigSource::Default)
}

/// Every topic config with its effective value and source, sorted by name (for DescribeConfigs
/// and CreateTopics responses). Null defaults are reported as the empty string.
pub fn effective_topic_config(
    explicit: &BTreeMap<String, String>,
    broker_overrides: &BTreeMap<String, String>,
) -> Vec<(ConfigDef, String, ConfigSource)> {
    TOPIC_CONFIG_DEFS
        .iter()
        .map(|def| {
            let (value, source) = resolve_topic_config(def, explicit, broker_overrides);
            (*def, value.unwrap_or_default(), source)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str, value: &str) -> String {
        validate_topic_config(name, value).unwrap_err().to_string()
    }

    #[test]
    fn defs_are_sorted_unique_and_defaults_valid() {
        let names: Vec<_> = topic_config_defs().iter().map(|d| d.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        for def in topic_config_defs() {
            if let Some(d) = def.default {
                validate_topic_config(def.name, d)
                    .unwrap_or_else(|e| panic!("default of {} invalid: {e}", def.name));
            }
        }
        for required in [
            "cleanup.policy",
            "compression.type",
            "delete.retention.ms",
            "file.delete.delay.ms",
            "flush.messages",
            "flush.ms",
            "index.interval.bytes",
            "max.compaction.lag.ms",
            "max.message.bytes",
            "message.timestamp.type",
            "message.timestamp.difference.max.ms",
            "message.timestamp.before.max.ms",
            "message.timestamp.after.max.ms",
            "min.cleanable.dirty.ratio",
            "min.compaction.lag.ms",
            "min.insync.replicas",
            "preallocate",
            "retention.bytes",
            "retention.ms",
            "segment.bytes",
            "segment.index.bytes",
            "segment.jitter.ms",
            "segment.ms",
            "unclean.leader.election.enable",
        ] {
            assert!(topic_config_def(required).is_some(), "{required}");
        }
    }

    #[test]
    fn accepts_valid_values() {
        for (k, v) in [
            ("cleanup.policy", "compact,delete"),
            ("cleanup.policy", "compact, delete"),
            ("cleanup.policy", "compact"),
            ("compression.type", "zstd"),
            ("segment.bytes", "14"),
            ("segment.ms", "1"),
            ("retention.ms", "-1"),
            ("retention.bytes", "-5"),
            ("preallocate", "TRUE"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("message.timestamp.type", "LogAppendTime"),
            ("leader.replication.throttled.replicas", "*"),
            ("leader.replication.throttled.replicas", "0:1,1:2"),
            ("compression.gzip.level", "-1"),
            ("max.message.bytes", " 100 "),
        ] {
            validate_topic_config(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
    }

    #[test]
    fn rejects_invalid_values_with_kafka_messages() {
        assert_eq!(
            err("segment.bytes", "13"),
            "Invalid value 13 for configuration segment.bytes: Value must be at least 14"
        );
        assert_eq!(
            err("segment.ms", "0"),
            "Invalid value 0 for configuration segment.ms: Value must be at least 1"
        );
        assert_eq!(
            err("cleanup.policy", "compact,nope"),
            "Invalid value nope for configuration cleanup.policy: String must be one of: compact, delete"
        );
        assert_eq!(
            err("compression.type", "brotli"),
            "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"
        );
        assert_eq!(
            err("retention.ms", "abc"),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            err("segment.bytes", "3000000000"),
            "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT"
        );
        assert_eq!(
            err("preallocate", "yes"),
            "Invalid value yes for configuration preallocate: Expected value to be either true or false"
        );
        assert!(err("min.cleanable.dirty.ratio", "1.5").contains("no more than 1"));
        assert!(err("retention.ms", "-2").contains("at least -1"));
        assert!(err("compression.gzip.level", "0").contains("between 1 and 9"));
        assert!(err("leader.replication.throttled.replicas", "x").contains("literal '*'"));
        assert_eq!(
            err("no.such.config", "1"),
            "Unknown topic config name: no.such.config"
        );
        assert!(matches!(
            validate_topic_config("no.such", "1"),
            Err(MetadataError::UnknownConfig { .. })
        ));
    }

    #[test]
    fn cross_key_compaction_lag_rule() {
        let mut m = BTreeMap::new();
        m.insert("min.compaction.lag.ms".to_string(), "10".to_string());
        m.insert("max.compaction.lag.ms".to_string(), "5".to_string());
        let e = validate_topic_configs(&m).unwrap_err().to_string();
        assert!(
            e.contains("min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"),
            "{e}"
        );
        m.insert("max.compaction.lag.ms".to_string(), "10".to_string());
        validate_topic_configs(&m).unwrap();
    }

    #[test]
    fn effective_config_layers_and_unit_synonyms() {
        let mut explicit = BTreeMap::new();
        explicit.insert("cleanup.policy".to_string(), "compact".to_string());
        let mut broker = BTreeMap::new();
        broker.insert("log.retention.hours".to_string(), "1".to_string());
        broker.insert("log.segment.bytes".to_string(), "1024".to_string());
        let eff = effective_topic_config(&explicit, &broker);
        let get = |n: &str| {
            eff.iter()
                .find(|(d, _, _)| d.name == n)
                .map(|(_, v, s)| (v.clone(), *s))
                .unwrap()
        };
        assert_eq!(
            get("cleanup.policy"),
            ("compact".into(), ConfigSource::TopicOverride)
        );
        assert_eq!(
            get("retention.ms"),
            ("3600000".into(), ConfigSource::StaticBroker)
        );
        assert_eq!(
            get("segment.bytes"),
            ("1024".into(), ConfigSource::StaticBroker)
        );
        assert_eq!(
            get("segment.ms"),
            ("604800000".into(), ConfigSource::Default)
        );
        // The *.ms key beats the coarser one.
        broker.insert("log.retention.ms".to_string(), "5".to_string());
        let (v, _) = resolve_topic_config(
            topic_config_def("retention.ms").unwrap(),
            &explicit,
            &broker,
        );
        assert_eq!(v.as_deref(), Some("5"));
        assert_eq!(
            topic_config_for_broker_key("log.retention.hours").map(|d| d.name),
            Some("retention.ms")
        );
    }
}
