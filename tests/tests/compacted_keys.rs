//! A compacted topic (`cleanup.policy` with `compact`) refuses records without a key, as
//! Kafka does: INVALID_RECORD, with one KIP-467 record error per keyless record naming its
//! index in the batch, and nothing of the refused batch appended.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{
    admin, admin_opts, block_on, consume_partition, producer, unique_topic, wait_for_partitions,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use strata_client::records::encode_batch;
use strata_client::{Client, Compression, ProduceRecord};
use strata_tests::StrataNode;

const INVALID_RECORD: i16 = 87;

fn create(node: &StrataNode, topic: &str, policy: &str) {
    let admin = admin(node);
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1)).set("cleanup.policy", policy);
    let results = block_on(admin.create_topics(&[new], &admin_opts())).expect("CreateTopics");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    wait_for_partitions(node, topic, 1);
}

#[test]
fn librdkafka_keyless_records_are_refused_on_compacted_topics() {
    let node = StrataNode::start();
    let compacted = unique_topic("compacted");
    let both = unique_topic("compact-delete");
    let plain = unique_topic("plain");
    create(&node, &compacted, "compact");
    create(&node, &both, "compact,delete");
    create(&node, &plain, "delete");
    let p = producer(&node, &[]);
    let send = |topic: &str, key: Option<&str>| {
        let mut record = FutureRecord::<str, str>::to(topic).payload("v");
        if let Some(k) = key {
            record = record.key(k);
        }
        block_on(p.send(record, Duration::from_secs(10)))
            .map(|d| d.offset)
            .map_err(|(e, _)| e)
    };
    for topic in [&compacted, &both] {
        assert_eq!(send(topic, Some("k1")), Ok(0));
        match send(topic, None) {
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord)) => {}
            other => panic!("a keyless record on {topic}: {other:?}"),
        }
        assert_eq!(
            send(topic, Some("k2")),
            Ok(1),
            "nothing of the refused batch was appended"
        );
        let read: Vec<_> = consume_partition(&node, topic, 0, 2)
            .iter()
            .map(|m| m.key().map(<[u8]>::to_vec))
            .collect();
        assert_eq!(read, vec![Some(b"k1".to_vec()), Some(b"k2".to_vec())]);
    }
    assert_eq!(
        send(&plain, None),
        Ok(0),
        "keyless records are fine elsewhere"
    );
}

#[test]
fn the_response_names_each_keyless_record() {
    let node = StrataNode::start();
    let topic = unique_topic("compacted-wire");
    create(&node, &topic, "compact");
    let record = |key: Option<&'static str>| ProduceRecord {
        key: key.map(|k| Bytes::from_static(k.as_bytes())),
        value: Some(Bytes::from_static(b"v")),
        headers: Vec::new(),
        timestamp: 1_700_000_000_000,
    };
    let records = [
        record(Some("a")),
        record(None),
        record(Some("b")),
        record(None),
    ];
    for compression in [Compression::None, Compression::Snappy, Compression::Zstd] {
        let batch = encode_batch(&topic, 0, &records, None, compression).expect("encode");
        let request = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.clone())))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch))])]);
        let response = block_on(async {
            let mut client = Client::connect(&node.bootstrap()).await.expect("connect");
            client
                .any_connection()
                .send_version(&request, 9, 0)
                .await
                .expect("Produce v9")
        });
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!(partition.error_code, INVALID_RECORD, "{compression:?}");
        let indexes: Vec<i32> = partition
            .record_errors
            .iter()
            .map(|e| e.batch_index)
            .collect();
        assert_eq!(indexes, vec![1, 3], "{compression:?}");
        let expected = format!(
            "Compacted topic cannot accept message without key in topic partition {topic}-0"
        );
        for e in &partition.record_errors {
            assert_eq!(
                e.batch_index_error_message.as_ref().map(|m| m.as_str()),
                Some(expected.as_str())
            );
        }
        let message = partition.error_message.as_ref().map(|m| m.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                format!(
                    "One or more records have been rejected due to 2 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='{expected}'), RecordError(batchIndex=3, message='{expected}')]"
                )
                .as_str()
            )
        );
        assert_eq!(partition.base_offset, -1);
    }
}
