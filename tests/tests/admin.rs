//! Admin API through rdkafka's AdminClient: create, describe (metadata), add partitions and
//! delete topics, and the error codes Kafka returns for bad requests.

mod common;

use std::time::Duration;

use common::*;
use rdkafka::admin::{NewPartitions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::types::RDKafkaErrorCode;
use strata_tests::StrataNode;

/// Sends one CreateTopics request for one topic and returns its per-topic result.
fn create(
    node: &StrataNode,
    name: &str,
    partitions: i32,
    rf: i32,
    validate_only: bool,
) -> Result<(), RDKafkaErrorCode> {
    let admin = admin(node);
    let opts = admin_opts().validate_only(validate_only);
    let res = block_on(admin.create_topics(
        &[NewTopic::new(name, partitions, TopicReplication::Fixed(rf))],
        &opts,
    ))
    .unwrap_or_else(|e| panic!("CreateTopics request for {name:?} failed as a whole: {e}"));
    assert_eq!(res.len(), 1, "one result per topic");
    match &res[0] {
        Ok(n) => {
            assert_eq!(n, name, "result names the topic");
            Ok(())
        }
        Err((n, code)) => {
            assert_eq!(n, name, "error result names the topic");
            Err(*code)
        }
    }
}

fn delete(node: &StrataNode, name: &str) -> Result<(), RDKafkaErrorCode> {
    let admin = admin(node);
    let res = block_on(admin.delete_topics(&[name], &admin_opts()))
        .unwrap_or_else(|e| panic!("DeleteTopics request for {name:?} failed as a whole: {e}"));
    match &res[0] {
        Ok(_) => Ok(()),
        Err((_, code)) => Err(*code),
    }
}

fn listed_topics(node: &StrataNode) -> Vec<String> {
    let md = consumer(node)
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("Metadata request for all topics failed: {e}"));
    md.topics().iter().map(|t| t.name().to_string()).collect()
}

#[test]
fn create_describe_grow_and_delete_topics() {
    let node = StrataNode::start();
    let topic = unique_topic("admin");
    assert_eq!(
        create(&node, &topic, 3, 1, false),
        Ok(()),
        "create {topic} with 3 partitions"
    );
    wait_for_partitions(&node, &topic, 3);
    assert!(
        listed_topics(&node).contains(&topic),
        "{topic} missing from the topic list"
    );

    assert_eq!(
        create(&node, &topic, 3, 1, false),
        Err(RDKafkaErrorCode::TopicAlreadyExists),
        "creating {topic} twice must fail with TOPIC_ALREADY_EXISTS (36)"
    );

    let admin = admin(&node);
    let res = block_on(admin.create_partitions(&[NewPartitions::new(&topic, 5)], &admin_opts()))
        .unwrap_or_else(|e| panic!("CreatePartitions request failed: {e}"));
    assert!(
        res[0].is_ok(),
        "growing {topic} to 5 partitions failed: {:?}",
        res[0]
    );
    wait_for_partitions(&node, &topic, 5);
    let res = block_on(admin.create_partitions(&[NewPartitions::new(&topic, 2)], &admin_opts()))
        .unwrap_or_else(|e| panic!("CreatePartitions request failed: {e}"));
    assert!(
        matches!(res[0], Err((_, RDKafkaErrorCode::InvalidPartitions))),
        "shrinking {topic} to 2 partitions must fail with INVALID_PARTITIONS (37), got {:?}",
        res[0]
    );

    assert_eq!(delete(&node, &topic), Ok(()), "delete {topic}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while listed_topics(&node).contains(&topic) {
        assert!(
            std::time::Instant::now() < deadline,
            "{topic} still listed 10 s after deletion"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        delete(&node, &topic),
        Err(RDKafkaErrorCode::UnknownTopicOrPartition),
        "deleting a missing topic must fail with UNKNOWN_TOPIC_OR_PARTITION (3)"
    );
    // The name can be reused after deletion.
    assert_eq!(
        create(&node, &topic, 1, 1, false),
        Ok(()),
        "re-create {topic} after deletion"
    );
    wait_for_partitions(&node, &topic, 1);
}

#[test]
fn create_topic_errors() {
    let node = StrataNode::start();
    for bad in ["bad name", "bad/name", "..", &"x".repeat(250)] {
        assert_eq!(
            create(&node, bad, 1, 1, false),
            Err(RDKafkaErrorCode::InvalidTopic),
            "topic name {bad:?} must be rejected with INVALID_TOPIC_EXCEPTION (17)"
        );
    }
    let t = unique_topic("zero-partitions");
    assert_eq!(
        create(&node, &t, 0, 1, false),
        Err(RDKafkaErrorCode::InvalidPartitions),
        "0 partitions must be rejected with INVALID_PARTITIONS (37)"
    );
    let t = unique_topic("rf3");
    assert_eq!(
        create(&node, &t, 1, 3, false),
        Err(RDKafkaErrorCode::InvalidReplicationFactor),
        "replication factor 3 on a 1-node cluster must be rejected with INVALID_REPLICATION_FACTOR (38)"
    );
    assert!(
        !listed_topics(&node).contains(&t),
        "a rejected topic must not be created"
    );

    let t = unique_topic("validate-only");
    assert_eq!(
        create(&node, &t, 2, 1, true),
        Ok(()),
        "validate_only create of a valid topic"
    );
    assert!(
        !listed_topics(&node).contains(&t),
        "validate_only must not create {t}"
    );
}
