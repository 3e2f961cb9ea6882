//! A paused active controller (SIGSTOP) must not make its successor fence the live brokers:
//! heartbeats reach every voter with a short timeout, so none is stuck behind the paused one
//! and the new controller already knows who is alive. Only the paused node is fenced; once
//! resumed (SIGCONT) it rejoins and every ISR is full again.

mod common;

use std::time::{Duration, Instant};

use common::cluster::*;
use common::unique_topic;

#[test]
fn pausing_the_active_controller_fences_only_that_node() {
    let mut cluster = Cluster::start();
    let topic = unique_topic("pause");
    create_with_tool(cluster.node(1), &topic, 6, 3, &[]);
    eventually(&cluster, 1, &topic, "full ISRs", |rows| {
        rows.len() == 6
            && rows
                .iter()
                .all(|(_, l, isr)| *l > 0 && isr.split(',').count() == 3)
    });
    for round in 0..2 {
        let paused = active_controller(cluster.node(1));
        let live: Vec<i32> = (1..=3).filter(|id| *id != paused).collect();
        let before = leaders(&describe(cluster.node(live[0]), &topic));
        cluster.node_mut(paused).signal(libc::SIGSTOP);
        // Wait for a new active controller, then for the paused node's leaderships to move.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let rows = leaders(&describe_or_error(cluster.node(live[0]), &topic));
            if rows.len() == 6 && rows.iter().all(|(_, l, _)| *l > 0 && *l != paused) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: leaders never moved off {paused}: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Watch for a while: partitions the live nodes led keep their leader, and both live
        // nodes stay in every ISR (a fenced broker leaves every ISR at once).
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            let rows = leaders(&describe_or_error(cluster.node(live[0]), &topic));
            if rows.len() == 6 {
                for (p, leader, isr) in &rows {
                    let was = before.iter().find(|r| r.0 == *p).map(|r| r.1);
                    if was != Some(paused) {
                        assert_eq!(Some(*leader), was, "round {round}: partition {p} changed leader: a live node was fenced ({rows:?})");
                    }
                    for id in &live {
                        assert!(
                            isr.split(',').any(|m| m.trim() == id.to_string()),
                            "round {round}: live node {id} left the ISR of partition {p}: {rows:?}"
                        );
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for id in &live {
            let log = cluster.node(*id).output();
            for other in &live {
                assert!(
                    !log.contains(&format!("session expired broker_id={other} ")),
                    "round {round}: node {id} fenced live node {other}"
                );
            }
        }
        cluster.node_mut(paused).signal(libc::SIGCONT);
        eventually(
            &cluster,
            live[0],
            &topic,
            "full ISRs after SIGCONT",
            |rows| {
                rows.len() == 6
                    && rows
                        .iter()
                        .all(|(_, l, isr)| *l > 0 && isr.split(',').count() == 3)
            },
        );
    }
}
