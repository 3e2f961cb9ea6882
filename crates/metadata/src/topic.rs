//! Kafka's topic-name rules (`org.apache.kafka.common.internals.Topic`).

use crate::error::MetadataError;

/// Longest legal topic name, in characters (Kafka's `Topic.MAX_NAME_LENGTH`).
pub const MAX_TOPIC_NAME_LEN: usize = 249;
/// Internal topic holding consumer group offsets.
pub const GROUP_METADATA_TOPIC_NAME: &str = "__consumer_offsets";
/// Internal topic holding transaction state.
pub const TRANSACTION_STATE_TOPIC_NAME: &str = "__transaction_state";
/// The metadata log's "topic"; it can never be created as a regular topic.
pub const CLUSTER_METADATA_TOPIC_NAME: &str = "__cluster_metadata";

/// Checks `name` against Kafka's `Topic.validate`, with Kafka's messages.
pub fn validate_topic_name(name: &str) -> Result<(), MetadataError> {
    let invalid = |reason: String| {
        Err(MetadataError::InvalidTopicName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("Topic name is illegal, it can't be empty".to_string());
    }
    if name == "." || name == ".." {
        return invalid("Topic name cannot be \".\" or \"..\"".to_string());
    }
    // Kafka counts UTF-16 code units; any non-ASCII name is rejected below anyway.
    if name.chars().count() > MAX_TOPIC_NAME_LEN {
        return invalid(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LEN} characters, topic name: {name}"
        ));
    }
    if !name.chars().all(is_valid_char) {
        return invalid(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

fn is_valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'
}

/// True for the topics Kafka treats as internal (hidden from `--exclude-internal` listings,
/// `is_internal` in Metadata responses).
pub fn is_internal(name: &str) -> bool {
    name == GROUP_METADATA_TOPIC_NAME
        || name == TRANSACTION_STATE_TOPIC_NAME
        || name == CLUSTER_METADATA_TOPIC_NAME
}

/// True when the name contains '.' or '_', which metric names cannot tell apart.
pub fn has_collision_chars(name: &str) -> bool {
    name.contains('.') || name.contains('_')
}

/// The name with '.' replaced by '_' (Kafka's `Topic.unifyCollisionChars`).
pub fn unify_collision_chars(name: &str) -> String {
    name.replace('.', "_")
}

/// True when the two distinct names map to the same metric name.
pub fn has_collision(a: &str, b: &str) -> bool {
    a != b && unify_collision_chars(a) == unify_collision_chars(b)
}

/// The first existing name that `name` collides with, if any (Kafka rejects such a topic with
/// INVALID_TOPIC_EXCEPTION "Topic 'a.b' collides with existing topic: a_b").
pub fn find_collision<'a, I>(name: &str, existing: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    if !has_collision_chars(name) {
        return None;
    }
    existing
        .into_iter()
        .find(|other| has_collision(name, other))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(name: &str) -> String {
        match validate_topic_name(name) {
            Err(MetadataError::InvalidTopicName { reason, .. }) => reason,
            other => panic!("expected invalid name for {name:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_legal_names() {
        for name in [
            "a",
            "orders",
            "A-b_c.d",
            "__consumer_offsets",
            &"x".repeat(249),
        ] {
            validate_topic_name(name).unwrap();
        }
    }

    #[test]
    fn rejects_illegal_names_with_kafka_messages() {
        assert_eq!(reason(""), "Topic name is illegal, it can't be empty");
        assert_eq!(reason("."), "Topic name cannot be \".\" or \"..\"");
        assert_eq!(reason(".."), "Topic name cannot be \".\" or \"..\"");
        assert!(reason(&"x".repeat(250)).contains("can't be longer than 249 characters"));
        assert_eq!(
            reason("a b"),
            "Topic name \"a b\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        );
        assert!(reason("é").contains("is illegal"));
        assert!(reason("a/b").contains("is illegal"));
    }

    #[test]
    fn internal_and_collisions() {
        assert!(is_internal("__consumer_offsets"));
        assert!(is_internal("__transaction_state"));
        assert!(!is_internal("orders"));
        assert!(has_collision_chars("a.b"));
        assert!(!has_collision_chars("ab"));
        assert!(has_collision("a.b", "a_b"));
        assert!(!has_collision("a.b", "a.b"));
        assert_eq!(find_collision("a.b", ["x", "a_b"]), Some("a_b"));
        assert_eq!(find_collision("ab", ["ab"]), None);
    }
}
