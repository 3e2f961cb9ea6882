//! Start-up configuration: an invalid value stops the node with a message naming the key and
//! the value.

use strata_tests::{NodeError, StrataNode};

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
