//! A request abandoned mid-flight (its future dropped: a long-poll fetch cut short by Ctrl-C
//! in the console consumer) must not leave the connection out of step: the next request on
//! it gets its own answer, not the abandoned fetch's. Before the fix the next request read the
//! fetch's response (a correlation mismatch), or waited for the rest of a half-read frame
//! until its 30 s timeout, which is how a console consumer stopped with Ctrl-C hung.

mod common;

use std::time::Duration;

use strata_client::types::NewTopic;
use strata_client::Client;
use strata_tests::StrataNode;

#[test]
fn a_request_after_an_abandoned_fetch_gets_its_own_answer() {
    let node = StrataNode::start();
    let bootstrap = node.bootstrap();
    common::block_on(async {
        let mut client = Client::connect(&bootstrap).await.expect("connect");
        let created = client
            .create_topics(
                vec![NewTopic {
                    name: "abandoned".to_string(),
                    num_partitions: 1,
                    replication_factor: 1,
                    assignments: Vec::new(),
                    configs: Vec::new(),
                }],
                false,
            )
            .await
            .expect("create");
        assert!(created.iter().all(|(_, r)| r.is_ok()), "{created:?}");
        let mut first = None;
        for _ in 0..50 {
            match client.fetch("abandoned", 0, 0, 0, 1024).await {
                Ok(f) => {
                    first = Some(f);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        assert!(first.is_some(), "the new partition never answered a fetch");
        for round in 0..3 {
            // A long poll on an empty partition, dropped after 200 ms: the broker answers it
            // 800 ms later on the same connection.
            let abandoned = tokio::time::timeout(
                Duration::from_millis(200),
                client.fetch("abandoned", 0, 0, 1_000, 1024),
            )
            .await;
            assert!(
                abandoned.is_err(),
                "round {round}: the long poll ended early"
            );
            tokio::time::sleep(Duration::from_millis(1_200)).await;
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
                client.fetch("abandoned", 0, 0, 0, 1024),
            )
            .await
            .unwrap_or_else(|_| panic!("round {round}: the next fetch hung"));
            let answer =
                answer.unwrap_or_else(|e| panic!("round {round}: the next fetch failed: {e}"));
            assert_eq!(answer.high_watermark, 0, "round {round}");
        }
    });
}
