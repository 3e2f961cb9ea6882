//! Combining a topic's explicit configs with the broker's defaults into a [`LogConfig`].
//!
//! Values were validated by the controller before they were committed, so a value that does
//! not parse here means a bug or a hand-edited log: it is logged and the default kept rather
//! than failing the partition.

use std::collections::BTreeMap;

use strata_storage::{LogConfig, TimestampType};

/// The storage settings for a topic: `defaults` overridden by the topic's explicit configs.
pub fn log_config_for(defaults: &LogConfig, topic_configs: &BTreeMap<String, String>) -> LogConfig {
    let mut config = defaults.clone();
    for (name, value) in topic_configs {
        if let Err(reason) = apply(&mut config, name, value) {
            tracing::warn!(config = %name, %value, %reason, "ignoring topic config that does not parse");
        }
    }
    config
}

fn apply(config: &mut LogConfig, name: &str, value: &str) -> Result<(), String> {
    fn num<T: std::str::FromStr>(value: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        value.trim().parse::<T>().map_err(|e| e.to_string())
    }
    match name {
        "segment.bytes" => config.segment_bytes = num(value)?,
        "segment.ms" => config.segment_ms = num(value)?,
        "retention.ms" => config.retention_ms = num(value)?,
        "retention.bytes" => config.retention_bytes = num(value)?,
        "index.interval.bytes" => config.index_interval_bytes = num(value)?,
        "segment.index.bytes" => config.segment_index_bytes = num(value)?,
        "max.message.bytes" => config.max_message_bytes = num(value)?,
        "flush.messages" => config.flush_interval_messages = num(value)?,
        "flush.ms" => config.flush_interval_ms = num(value)?,
        "message.timestamp.type" => {
            config.message_timestamp_type = match value {
                "CreateTime" => TimestampType::CreateTime,
                "LogAppendTime" => TimestampType::LogAppendTime,
                other => return Err(format!("unknown timestamp type {other}")),
            }
        }
        // Other topic configs (cleanup.policy, min.insync.replicas, …) are not storage settings.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_overrides_win_over_defaults() {
        let defaults = LogConfig::default();
        let mut topic = BTreeMap::new();
        topic.insert("retention.ms".to_string(), "1000".to_string());
        topic.insert("segment.bytes".to_string(), "not a number".to_string());
        let config = log_config_for(&defaults, &topic);
        assert_eq!(config.retention_ms, 1000);
        assert_eq!(config.segment_bytes, defaults.segment_bytes);
    }
}
