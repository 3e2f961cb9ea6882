//! `kafka-leader-election`: Kafka's LeaderElectionCommand (preferred and unclean elections).

use strata_client::{Client, ClientError};

use crate::args::{self, opt, Arity, OptSpec, Parsed};
use crate::props;
use crate::KAFKA_COMPAT_VERSION;

const SPECS: &[OptSpec] = &[
    opt("bootstrap-server", Arity::Required, "String: host:port", "A hostname and port for the broker to connect to, in the form host:port. Multiple comma separated URLs can be given. REQUIRED."),
    opt("admin.config", Arity::Required, "String: config file", "(DEPRECATED) Configuration properties files to pass to the admin client. This option will be removed in a future version. Use --command-config instead."),
    opt("command-config", Arity::Required, "String: Config file", "Config properties file to pass to the admin client."),
    opt("path-to-json-file", Arity::Required, "String: Path to JSON file", "The JSON file with the list  of partition for which leader elections should be performed. This is an example format. {\"partitions\": [{\"topic\": \"foo\", \"partition\": 1}, {\"topic\": \"foobar\", \"partition\": 2}]} Not allowed if --all-topic-partitions or --topic flags are specified."),
    opt("topic", Arity::Required, "String: topic name", "Name of topic for which to perform an election. Not allowed if --path-to-json-file or --all-topic-partitions is specified."),
    opt("partition", Arity::Required, "Integer: partition id", "Partition id for which to perform an election. REQUIRED if --topic is specified."),
    opt("all-topic-partitions", Arity::Flag, "", "Perform election on all of the eligible topic partitions based on the type of election (see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified."),
    opt("election-type", Arity::Required, "[PREFERRED,UNCLEAN]: election type", "Type of election to attempt. Possible values are \"preferred\" for preferred leader election or \"unclean\" for unclean leader election. If preferred election is selection, the election is only performed if the current leader is not the preferred leader for the topic partition. If unclean election is selected, the election is only performed if there are no leader for the topic partition. REQUIRED."),
    opt("help", Arity::Flag, "", "Print usage information."),
    opt("version", Arity::Flag, "", "Display Kafka version."),
];

const DESCRIPTION: &str = "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.";

/// Kafka's `ElectionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Election {
    /// Preferred replica election.
    Preferred,
    /// Unclean election.
    Unclean,
}

impl Election {
    fn code(self) -> i8 {
        match self {
            Election::Preferred => 0,
            Election::Unclean => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Election::Preferred => "PREFERRED",
            Election::Unclean => "UNCLEAN",
        }
    }
}

/// Validated options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionOptions {
    /// Bootstrap servers.
    pub bootstrap: String,
    /// Preferred or unclean.
    pub election: Election,
    /// The partitions; `None` for `--all-topic-partitions`.
    pub partitions: Option<Vec<(String, i32)>>,
}

/// How a run ends when it does not succeed: the message Kafka's `mainNoExit` prints on stderr
/// (the exception's message), exit code 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionFailure(pub String);

/// Parses and validates the command line as Kafka's `LeaderElectionCommandOptions` does.
/// `Ok(None)`: help or version was printed.
pub fn parse_options(args: &[String]) -> Result<Option<ElectionOptions>, ElectionFailure> {
    if args.is_empty() {
        eprintln!("{DESCRIPTION}");
        eprint!("{}", args::usage(SPECS));
        return Err(ElectionFailure(String::new()));
    }
    let p = args::parse(SPECS, args).map_err(ElectionFailure)?;
    if p.has("help") {
        println!("{DESCRIPTION}");
        print!("{}", args::usage(SPECS));
        return Ok(None);
    }
    if p.has("version") {
        println!("{KAFKA_COMPAT_VERSION}");
        return Ok(None);
    }
    let missing: Vec<&str> = ["bootstrap-server", "election-type"]
        .into_iter()
        .filter(|o| !p.has(o))
        .collect();
    if !missing.is_empty() {
        return Err(ElectionFailure(format!(
            "Missing required option(s): {}",
            missing.join(", ")
        )));
    }
    if p.has("admin.config") && p.has("command-config") {
        return Err(ElectionFailure(
            "Option \"[admin.config]\" can't be used with option \"[command-config]\"".into(),
        ));
    }
    let exclusive = ["topic", "all-topic-partitions", "path-to-json-file"];
    if exclusive.iter().filter(|o| p.has(o)).count() != 1 {
        return Err(ElectionFailure(format!(
            "One and only one of the following options is required: {}",
            exclusive.join(", ")
        )));
    }
    if p.has("topic") && !p.has("partition") {
        return Err(ElectionFailure(
            "Missing required option(s): partition".into(),
        ));
    }
    if !p.has("topic") && p.has("partition") {
        return Err(ElectionFailure(
            "Option partition is only allowed if topic is used".into(),
        ));
    }
    let election = parse_election(&p)?;
    let partitions = if let Some(path) = p.value("path-to-json-file") {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ElectionFailure(format!("java.nio.file.NoSuchFileException: {path}: {e}"))
        })?;
        Some(parse_election_json(&text).map_err(ElectionFailure)?)
    } else if let (Some(topic), Some(partition)) = (p.value("topic"), p.value("partition")) {
        let partition: i32 = partition.parse().map_err(|_| {
            ElectionFailure(format!(
                "Cannot parse argument '{partition}' of option partition"
            ))
        })?;
        Some(vec![(topic.to_string(), partition)])
    } else {
        None
    };
    if p.has("admin.config") {
        println!("Option --admin.config has been deprecated and will be removed in a future version. Use --command-config instead.");
    }
    let config_file = p.value("command-config").or(p.value("admin.config"));
    if let Some(file) = config_file {
        let props = props::load_file(file).map_err(ElectionFailure)?;
        props::warn_unsupported_security(&props);
    }
    let bootstrap = p.value("bootstrap-server").unwrap_or_default().to_string();
    Ok(Some(ElectionOptions {
        bootstrap,
        election,
        partitions,
    }))
}

fn parse_election(p: &Parsed) -> Result<Election, ElectionFailure> {
    let value = p.value("election-type").unwrap_or_default();
    match value.to_ascii_uppercase().as_str() {
        "PREFERRED" => Ok(Election::Preferred),
        "UNCLEAN" => Ok(Election::Unclean),
        _ => Err(ElectionFailure(format!(
            "Cannot parse argument '{value}' of option election-type"
        ))),
    }
}

/// Parses `{"partitions": [{"topic": "foo", "partition": 1}, ...]}` with Kafka's checks and
/// messages (a missing field, duplicates).
pub fn parse_election_json(text: &str) -> Result<Vec<(String, i32)>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("Replica election data is not valid JSON: {e}"))?;
    let list = value
        .get("partitions")
        .ok_or_else(|| "Replica election data is missing \"partitions\" field".to_string())?
        .as_array()
        .ok_or_else(|| "Replica election data: \"partitions\" is not an array".to_string())?;
    let mut partitions = Vec::new();
    for entry in list {
        let topic = entry
            .get("topic")
            .and_then(|t| t.as_str())
            .ok_or_else(|| format!("No such field exists: `topic` in {entry}"))?;
        let partition = entry
            .get("partition")
            .and_then(|p| p.as_i64())
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| format!("No such field exists: `partition` in {entry}"))?;
        partitions.push((topic.to_string(), partition));
    }
    let mut duplicates: Vec<String> = partitions
        .iter()
        .filter(|x| partitions.iter().filter(|y| y == x).count() > 1)
        .map(|(t, p)| format!("{t}-{p}"))
        .collect();
    duplicates.sort();
    duplicates.dedup();
    if !duplicates.is_empty() {
        return Err(format!(
            "Replica election data contains duplicate partitions: [{}]",
            duplicates.join(", ")
        ));
    }
    Ok(partitions)
}

/// The Java exception class Kafka's Admin client raises for an error code (the tool prints
/// `Throwable.toString()`).
fn exception_class(code: Option<i16>) -> &'static str {
    match code {
        Some(3) => "org.apache.kafka.common.errors.UnknownTopicOrPartitionException",
        Some(7) => "org.apache.kafka.common.errors.TimeoutException",
        Some(41) => "org.apache.kafka.common.errors.NotControllerException",
        Some(42) => "org.apache.kafka.common.errors.InvalidRequestException",
        Some(80) => "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException",
        Some(83) => "org.apache.kafka.common.errors.EligibleLeadersNotAvailableException",
        Some(84) => "org.apache.kafka.common.errors.ElectionNotNeededException",
        _ => "org.apache.kafka.common.errors.UnknownServerException",
    }
}

fn error_text(e: &ClientError) -> String {
    match e {
        ClientError::Kafka { code, message, .. } => {
            format!("{}: {message}", exception_class(Some(*code)))
        }
        other => format!("{}: {other}", exception_class(None)),
    }
}

/// ELECTION_NOT_NEEDED.
const ELECTION_NOT_NEEDED: i16 = 84;

async fn run(opts: ElectionOptions) -> Result<(), ElectionFailure> {
    let mut client = Client::connect(&opts.bootstrap)
        .await
        .map_err(|e| ElectionFailure(e.to_string()))?;
    let results = match client
        .elect_leaders(opts.election.code(), opts.partitions.clone())
        .await
    {
        Ok(results) => results,
        Err(e) if e.kafka_code() == Some(7) || matches!(e, ClientError::Timeout { .. }) => {
            println!("Timeout waiting for election results");
            return Err(ElectionFailure(
                "Timeout waiting for election results".into(),
            ));
        }
        Err(e) => return Err(ElectionFailure(error_text(&e))),
    };
    let mut succeeded = Vec::new();
    let mut noop = Vec::new();
    let mut failed = Vec::new();
    for ((topic, partition), result) in results {
        let name = format!("{topic}-{partition}");
        match result {
            Ok(()) => succeeded.push(name),
            Err(e) if e.kafka_code() == Some(ELECTION_NOT_NEEDED) => noop.push(name),
            Err(e) => failed.push((name, error_text(&e))),
        }
    }
    succeeded.sort();
    noop.sort();
    failed.sort();
    if !succeeded.is_empty() {
        println!(
            "Successfully completed leader election ({}) for partitions {}",
            opts.election.name(),
            succeeded.join(", ")
        );
    }
    if !noop.is_empty() {
        println!(
            "Valid replica already elected for partitions {}",
            noop.join(", ")
        );
    }
    if !failed.is_empty() {
        for (name, error) in &failed {
            println!(
                "Error completing leader election ({}) for partition: {name}: {error}",
                opts.election.name()
            );
        }
        return Err(ElectionFailure(format!(
            "{} replica(s) could not be elected",
            failed.len()
        )));
    }
    Ok(())
}

/// Entry point: returns the process exit code (0 success, 1 failure).
pub fn kafka_leader_election(args: Vec<String>) -> i32 {
    let outcome = match parse_options(&args) {
        Ok(None) => return 0,
        Ok(Some(opts)) => match crate::runtime() {
            Ok(rt) => rt.block_on(run(opts)),
            Err(e) => Err(ElectionFailure(e)),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => 0,
        Err(ElectionFailure(message)) => {
            // Kafka's mainNoExit prints the exception's message, then its stack trace.
            if !message.is_empty() {
                eprintln!("{message}");
                eprintln!("org.apache.kafka.server.common.AdminCommandFailedException: {message}");
            }
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn failure(args: &[&str]) -> String {
        match parse_options(&sv(args)) {
            Err(ElectionFailure(m)) => m,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn validation_messages_match_kafka() {
        assert_eq!(
            failure(&["--all-topic-partitions"]),
            "Missing required option(s): bootstrap-server, election-type"
        );
        assert_eq!(
            failure(&["--bootstrap-server", "h:1", "--election-type", "preferred"]),
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"
        );
        assert_eq!(
            failure(&[
                "--bootstrap-server",
                "h:1",
                "--election-type",
                "preferred",
                "--topic",
                "t"
            ]),
            "Missing required option(s): partition"
        );
        assert_eq!(
            failure(&[
                "--bootstrap-server",
                "h:1",
                "--election-type",
                "preferred",
                "--all-topic-partitions",
                "--partition",
                "1"
            ]),
            "Option partition is only allowed if topic is used"
        );
        assert_eq!(
            failure(&[
                "--bootstrap-server",
                "h:1",
                "--election-type",
                "nope",
                "--all-topic-partitions"
            ]),
            "Cannot parse argument 'nope' of option election-type"
        );
    }

    #[test]
    fn options() {
        let opts = parse_options(&sv(&[
            "--bootstrap-server",
            "h:1",
            "--election-type",
            "UNCLEAN",
            "--topic",
            "t",
            "--partition",
            "2",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(opts.election, Election::Unclean);
        assert_eq!(opts.partitions, Some(vec![("t".to_string(), 2)]));
        let all = parse_options(&sv(&[
            "--bootstrap-server",
            "h:1",
            "--election-type",
            "preferred",
            "--all-topic-partitions",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(all.partitions, None);
    }

    #[test]
    fn json_file() {
        assert_eq!(
            parse_election_json(r#"{"partitions": [{"topic": "foo", "partition": 1}, {"topic": "bar", "partition": 0}]}"#)
                .unwrap(),
            vec![("foo".to_string(), 1), ("bar".to_string(), 0)]
        );
        assert_eq!(
            parse_election_json(r#"{"x": []}"#).unwrap_err(),
            "Replica election data is missing \"partitions\" field"
        );
        assert_eq!(
            parse_election_json(r#"{"partitions": [{"topic": "foo", "partition": 1}, {"topic": "foo", "partition": 1}]}"#)
                .unwrap_err(),
            "Replica election data contains duplicate partitions: [foo-1]"
        );
    }
}
