//! Start-up configuration: an invalid value stops the node with a message naming the key and
//! the value; Kafka's `kafka-server-start` is a subcommand too, and `strata version` prints the
//! version.

use std::process::Command;

use strata_tests::{strata_bin, NodeError, StrataNode};

#[test]
fn kafka_server_start_is_a_subcommand() {
    for command in ["kafka-server-start", "kafka-server-start.sh"] {
        let node = StrataNode::try_start_with_command(command, &[])
            .unwrap_or_else(|e| panic!("strata {command} did not start a node: {e}"));
        let out = Command::new(strata_bin())
            .args([
                "kafka-topics",
                "--bootstrap-server",
                &node.bootstrap(),
                "--list",
            ])
            .output()
            .expect("run kafka-topics");
        assert!(out.status.success(), "{command}: {out:?}");
    }
}

#[test]
fn version_is_a_subcommand() {
    let run = |arg: &str| {
        let out = Command::new(strata_bin()).arg(arg).output().expect("run");
        assert!(out.status.success(), "strata {arg}: {out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let version = run("version");
    assert_eq!(version, format!("strata {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(version, run("--version"));
}

#[test]
fn invalid_config_values_stop_start_up_naming_key_and_value() {
    for (key, value) in [
        ("num.partitions", "abc"),
        ("log.segment.bytes", "-5"),
        ("auto.create.topics.enable", "maybe"),
        ("listeners", "PLAINTEXT://127.0.0.1:notaport"),
    ] {
        match StrataNode::try_start(&[(key, value)]) {
            Ok(_) => panic!("the node started with {key}={value}"),
            Err(error) => {
                let text = error.to_string();
                assert!(
                    text.contains(key) && text.contains(value),
                    "the start-up error for {key}={value} must name both: {text}"
                );
                assert!(
                    matches!(error, NodeError::ExitedEarly { .. }),
                    "{key}={value}: {text}"
                );
            }
        }
    }
}
