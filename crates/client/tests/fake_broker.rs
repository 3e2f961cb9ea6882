//! Wire-level tests of the client against a minimal in-process fake broker built from
//! kafka-protocol's own response encoders.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    api_versions_response::ApiVersion,
    fetch_response::{FetchableTopicResponse, PartitionData},
    metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic},
    produce_response::{PartitionProduceResponse, TopicProduceResponse},
    ApiKey, ApiVersionsResponse, BrokerId, FetchRequest, FetchResponse, MetadataRequest,
    MetadataResponse, ProduceRequest, ProduceResponse, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Decodable, Encodable, StrBytes};
use strata_client::{Client, Compression, ProduceOptions, ProduceRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct State {
    port: u16,
    rejected_v3: AtomicBool,
    log: Mutex<Vec<Bytes>>,
}

fn encode_response<T: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(&mut buf, key.response_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    buf.freeze()
}

fn api(key: ApiKey, min: i16, max: i16) -> ApiVersion {
    let mut a = ApiVersion::default();
    a.api_key = key as i16;
    a.min_version = min;
    a.max_version = max;
    a
}

async fn serve(mut sock: TcpStream, state: Arc<State>) {
    loop {
        let mut size = [0u8; 4];
        if sock.read_exact(&mut size).await.is_err() {
            return;
        }
        let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
        sock.read_exact(&mut frame).await.unwrap();
        let mut buf = Bytes::from(frame);
        let header = decode_request_header_from_buffer(&mut buf).unwrap();
        let key = ApiKey::try_from(header.request_api_key).unwrap();
        let v = header.request_api_version;
        let cid = header.correlation_id;
        let out = match key {
            ApiKey::ApiVersions => {
                let mut resp = ApiVersionsResponse::default();
                if v >= 3 && !state.rejected_v3.swap(true, Ordering::SeqCst) {
                    // Like an old broker: UNSUPPORTED_VERSION, in the v0 body format.
                    resp.error_code = 35;
                    resp.api_keys = vec![api(ApiKey::ApiVersions, 0, 2)];
                    encode_response(key, 0, cid, &resp)
                } else {
                    resp.api_keys = vec![
                        api(ApiKey::ApiVersions, 0, 3),
                        api(ApiKey::Metadata, 0, 12),
                        api(ApiKey::Produce, 3, 11),
                        api(ApiKey::Fetch, 4, 16),
                    ];
                    encode_response(key, v, cid, &resp)
                }
            }
            ApiKey::Metadata => {
                let req = MetadataRequest::decode(&mut buf, v).unwrap();
                let mut resp = MetadataResponse::default();
                let mut b = MetadataResponseBroker::default();
                b.node_id = BrokerId(1);
                b.host = StrBytes::from_static_str("127.0.0.1");
                b.port = i32::from(state.port);
                resp.brokers = vec![b];
                resp.controller_id = BrokerId(1);
                for t in req.topics.unwrap_or_default() {
                    let mut topic = MetadataResponseTopic::default();
                    topic.name = t.name;
                    topic.topic_id = uuid::Uuid::from_u128(7);
                    let mut p = MetadataResponsePartition::default();
                    p.partition_index = 0;
                    p.leader_id = BrokerId(1);
                    p.replica_nodes = vec![BrokerId(1)];
                    p.isr_nodes = vec![BrokerId(1)];
                    topic.partitions = vec![p];
                    resp.topics.push(topic);
                }
                encode_response(key, v, cid, &resp)
            }
            ApiKey::Produce => {
                assert_eq!(v, 11, "min(our max 11, broker max 11)");
                let req = ProduceRequest::decode(&mut buf, v).unwrap();
                let records = req.topic_data[0].partition_data[0].records.clone().unwrap();
                state.log.lock().unwrap().push(records);
                let mut p = PartitionProduceResponse::default();
                p.index = 0;
                p.base_offset = 0;
                let mut t = TopicProduceResponse::default();
                t.name = req.topic_data[0].name.clone();
                t.partition_responses = vec![p];
                let mut resp = ProduceResponse::default();
                resp.responses = vec![t];
                encode_response(key, v, cid, &resp)
            }
            ApiKey::Fetch => {
                assert_eq!(v, 12, "min(our max 12, broker max 16)");
                let req = FetchRequest::decode(&mut buf, v).unwrap();
                assert_eq!(req.session_epoch, -1);
                let mut p = PartitionData::default();
                p.partition_index = 0;
                p.high_watermark = 2;
                p.records = state.log.lock().unwrap().first().cloned();
                let mut t = FetchableTopicResponse::default();
                t.topic = TopicName(StrBytes::from_static_str("t"));
                t.partitions = vec![p];
                let mut resp = FetchResponse::default();
                resp.responses = vec![t];
                encode_response(key, v, cid, &resp)
            }
            other => panic!("unexpected request {other:?}"),
        };
        sock.write_all(&out).await.unwrap();
    }
}

async fn start() -> Arc<State> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = Arc::new(State {
        port: listener.local_addr().unwrap().port(),
        rejected_v3: AtomicBool::new(false),
        log: Mutex::new(Vec::new()),
    });
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::spawn(serve(sock, s.clone()));
        }
    });
    state
}

#[tokio::test]
async fn negotiates_down_and_round_trips_produce_and_fetch() {
    let state = start().await;
    let mut client = Client::connect(&format!("127.0.0.1:{}", state.port))
        .await
        .unwrap();
    assert!(state.rejected_v3.load(Ordering::SeqCst));
    let md = client
        .metadata(Some(vec!["t".into()]), false)
        .await
        .unwrap();
    assert_eq!(md.controller_id, 1);
    assert_eq!(md.topics[0].name, "t");
    assert_eq!(md.topics[0].partitions[0].leader, 1);

    let records = vec![
        ProduceRecord {
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v1")),
            headers: vec![],
            timestamp: 1_700_000_000_000,
        },
        ProduceRecord {
            key: None,
            value: Some(Bytes::from_static(b"v2")),
            headers: vec![("h".into(), None)],
            timestamp: 1_700_000_000_001,
        },
    ];
    let options = ProduceOptions {
        acks: -1,
        compression: Compression::Lz4,
        timeout_ms: 1500,
        producer: None,
    };
    let res = client.produce("t", 0, &records, &options).await.unwrap();
    assert_eq!(res.base_offset, 0);

    let fetched = client.fetch("t", 0, 0, 100, 1 << 20).await.unwrap();
    assert!(fetched.error.is_none());
    assert_eq!(fetched.records.len(), 2);
    assert_eq!(fetched.records[0].value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(fetched.records[1].key, None);
    assert_eq!(fetched.records[1].headers, vec![("h".to_string(), None)]);
    assert_eq!(fetched.next_offset, Some(2));
}
