//! `strata kafka-consumer-groups --reset-offsets` and `--delete` against a real node: dry run
//! changes nothing, --execute commits the plan, an active group is refused, deletion of an
//! active group fails and of an inactive one succeeds.

mod common;

use std::process::{Command, Stdio};

use strata_tests::{strata_bin, StrataNode};

fn run(
    node: &StrataNode,
    tool: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new(strata_bin())
        .arg(tool)
        .arg("--bootstrap-server")
        .arg(node.bootstrap())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tool");
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        input.write_all(text.as_bytes()).expect("stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("tool output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `(partition, current offset, lag)` rows of `--describe`.
fn offsets(node: &StrataNode, group: &str) -> Vec<(String, String, String)> {
    let (ok, out, err) = run(
        node,
        "kafka-consumer-groups",
        &["--describe", "--group", group],
        None,
    );
    assert!(ok, "{out}{err}");
    out.lines()
        .skip_while(|l| !l.starts_with("GROUP "))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].to_string(), f[3].to_string(), f[5].to_string())
        })
        .collect()
}

#[test]
fn reset_offsets_and_delete() {
    let node = StrataNode::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let topic = common::unique_topic("reset");
    let (ok, out, err) = run(
        &node,
        "kafka-topics",
        &["--create", "--topic", &topic, "--partitions", "1"],
        None,
    );
    assert!(ok, "{out}{err}");
    let (ok, _, err) = run(
        &node,
        "kafka-console-producer",
        &["--topic", &topic],
        Some("a\nb\nc\nd\ne\n"),
    );
    assert!(ok, "{err}");
    let (ok, out, _) = run(
        &node,
        "kafka-console-consumer",
        &[
            "--topic",
            &topic,
            "--group",
            "g",
            "--from-beginning",
            "--max-messages",
            "5",
            "--timeout-ms",
            "20000",
        ],
        None,
    );
    assert!(ok);
    assert_eq!(out.lines().count(), 5);
    assert_eq!(
        offsets(&node, "g"),
        vec![("0".into(), "5".into(), "0".into())]
    );

    // Dry run (the default, with Kafka's warning): the plan, nothing committed.
    let (ok, out, _) = run(
        &node,
        "kafka-consumer-groups",
        &[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            &topic,
            "--to-earliest",
        ],
        None,
    );
    assert!(ok);
    assert!(
        out.starts_with("WARN: No action will be performed as the --execute option is missing."),
        "{out}"
    );
    assert!(
        out.contains("NEW-OFFSET") && out.lines().last().unwrap_or_default().ends_with(" 0"),
        "{out}"
    );
    assert_eq!(offsets(&node, "g")[0].1, "5");

    for (args, expect) in [
        (vec!["--to-earliest"], "0"),
        (vec!["--shift-by", "2"], "2"),
        (vec!["--to-offset", "4"], "4"),
        (vec!["--shift-by", "-9"], "0"),
        (vec!["--to-latest"], "5"),
        (vec!["--to-datetime", "2000-01-01T00:00:00.000"], "0"),
    ] {
        let mut all = vec![
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            &topic,
            "--execute",
        ];
        all.extend(args.iter().copied());
        let (ok, out, err) = run(&node, "kafka-consumer-groups", &all, None);
        assert!(ok, "{out}{err}");
        assert_eq!(offsets(&node, "g")[0].1, expect, "after {args:?}: {out}");
    }

    // An active group is refused; so is deleting it.
    let mut member = Command::new(strata_bin())
        .args([
            "kafka-console-consumer",
            "--bootstrap-server",
            &node.bootstrap(),
            "--topic",
            &topic,
            "--group",
            "g",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("console consumer");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, out, _) = run(
            &node,
            "kafka-consumer-groups",
            &["--describe", "--group", "g", "--state"],
            None,
        );
        if out.contains("Stable") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the member never joined: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (_, out, _) = run(
        &node,
        "kafka-consumer-groups",
        &[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            &topic,
            "--to-earliest",
            "--execute",
        ],
        None,
    );
    assert!(
        out.contains("Error: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable."),
        "{out}"
    );
    let (ok, out, _) = run(
        &node,
        "kafka-consumer-groups",
        &["--delete", "--group", "g"],
        None,
    );
    assert!(!ok);
    assert!(out.contains("* Group 'g' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty."), "{out}");
    let _ = member.kill();
    let _ = member.wait();
    // The killed member's session (45 s) would keep the group busy: a fresh group to delete.
    let (ok, _, _) = run(
        &node,
        "kafka-console-consumer",
        &[
            "--topic",
            &topic,
            "--group",
            "h",
            "--from-beginning",
            "--max-messages",
            "1",
            "--timeout-ms",
            "20000",
        ],
        None,
    );
    assert!(ok);
    let (ok, out, err) = run(
        &node,
        "kafka-consumer-groups",
        &["--delete", "--group", "h"],
        None,
    );
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        "Deletion of requested consumer groups ('h') was successful.\n"
    );
    let (ok, out, _) = run(&node, "kafka-consumer-groups", &["--list"], None);
    assert!(ok);
    assert!(!out.lines().any(|l| l == "h"), "{out}");
}
